"""Logistic regression with Normal priors (lectures 2-3): no closed form; ``stan_models/logistic_regression.stan``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
from scipy import stats

from pp_vae.data.synthetic import logistic_regression_data, without_truth
from pp_vae.models.registry import BundledModel, LogDensity


def pyro_model(data: dict[str, Any], subsample_size: int | None = None) -> None:
    """``alpha, beta[k] ~ N(0, prior_sd)``, ``y[n] ~ Bernoulli(logit^-1(alpha + X[n] beta))``; optional data subsampling.

    With ``subsample_size`` the plate draws a random mini-batch of rows and scales their log-likelihood
    by ``N / subsample_size``: an unbiased estimate of the whole sum (lecture 3's subsampling).
    """
    X, y = data["X"], data["y"]
    scale = X.new_tensor(data["prior_sd"])
    alpha = pyro.sample("alpha", dist.Normal(X.new_zeros(()), scale))
    beta = pyro.sample("beta", dist.Normal(X.new_zeros(X.shape[1]), scale).to_event(1))
    with pyro.plate("obs", X.shape[0], subsample_size=subsample_size, device=X.device) as index:
        # (X * beta).sum(-1) rather than X @ beta: it broadcasts over draws of beta, so the model vectorises
        pyro.sample("y", dist.Bernoulli(logits=alpha + (X[index] * beta).sum(-1)), obs=y[index])


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = (alpha, beta[1..K])`` (unconstrained already)."""
    X, y = np.asarray(data["X"], dtype=float), np.asarray(data["y"], dtype=float)
    prior_sd = float(data["prior_sd"])

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        eta = u[..., :1] + u[..., 1:] @ X.T
        return stats.norm.logpdf(u, 0, prior_sd).sum(-1) + (y * eta - np.logaddexp(0, eta)).sum(-1)

    return density


def simulate(rng: np.random.Generator, data: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """``alpha, beta ~ Normal(0, prior_sd)``, then outcomes for the data's own covariates ``X``."""
    X = np.asarray(data["X"], dtype=float)
    alpha, beta = rng.normal(0, data["prior_sd"]), rng.normal(0, data["prior_sd"], size=X.shape[1])
    y = (rng.random(X.shape[0]) < 1 / (1 + np.exp(-(alpha + X @ beta)))).astype(int)
    truth = {"alpha": float(alpha)} | {f"beta[{k + 1}]": float(b) for k, b in enumerate(beta)}
    return truth, {**data, "y": y.tolist()}


MODEL = BundledModel(
    name="logistic_regression",
    description="logistic regression with Normal(0, prior_sd) priors (no closed form)",
    pyro_model=pyro_model,
    log_density=log_density,
    example_data=without_truth(logistic_regression_data(200, coefficients=[1.0, -2.0], intercept=0.5, seed=0)),
    simulate=simulate,
)
