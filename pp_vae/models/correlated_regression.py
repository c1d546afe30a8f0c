"""A regression on an uncentred predictor (lecture 3): the intercept and slope are -0.99 correlated.

``stan_models/correlated_regression.stan``: ``y[n] ~ Normal(alpha + beta x[n], sigma)`` with
``alpha ~ Normal(0, 100)``, ``beta ~ Normal(0, 10)``, ``sigma ~ Exponential(0.1)``. The predictor sits near
100 with sd 15 (as mothers' IQ in posteriordb's kid-IQ), so the posterior correlation of ``alpha`` and
``beta`` is about ``-mean(x) / sqrt(mean(x^2)) = -0.99``: mean-field VI shrinks their sds about sevenfold.
The example data are simulated here, so the lecture needs no downloaded data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
from scipy import stats

from pp_vae.models.registry import BundledModel, LogDensity


def simulate(n: int = 200, alpha: float = 20.0, beta: float = 0.6, sigma: float = 15.0, seed: int = 0) -> dict[str, Any]:
    """Stan data: ``x ~ Normal(100, 15)`` (an IQ-like predictor), ``y = alpha + beta x + Normal(0, sigma)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(100.0, 15.0, n)
    return {"N": n, "x": x.round(1).tolist(), "y": (alpha + beta * x + rng.normal(0.0, sigma, n)).round(1).tolist()}


def pyro_model(data: dict[str, Any]) -> None:
    """``alpha ~ N(0, 100)``, ``beta ~ N(0, 10)``, ``sigma ~ Exponential(0.1)``, ``y ~ N(alpha + beta x, sigma)``."""
    x, y = data["x"], data["y"]
    zero = x.new_zeros(())
    alpha = pyro.sample("alpha", dist.Normal(zero, 100.0))
    beta = pyro.sample("beta", dist.Normal(zero, 10.0))
    sigma = pyro.sample("sigma", dist.Exponential(zero + 0.1))
    with pyro.plate("obs", x.shape[0], device=x.device):
        pyro.sample("y", dist.Normal(alpha + beta * x, sigma), obs=y)


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = (alpha, beta, log sigma)``, with the Jacobian ``log sigma``."""
    x, y = np.asarray(data["x"], dtype=float), np.asarray(data["y"], dtype=float)

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        alpha, beta, log_sigma = u[..., 0], u[..., 1], u[..., 2]
        sigma = np.exp(log_sigma)
        mean = alpha[..., None] + beta[..., None] * x
        likelihood = stats.norm.logpdf(y, mean, sigma[..., None]).sum(-1)
        prior = stats.norm.logpdf(alpha, 0, 100) + stats.norm.logpdf(beta, 0, 10) + stats.expon.logpdf(sigma, scale=10.0)
        return prior + likelihood + log_sigma

    return density


MODEL = BundledModel(
    name="correlated_regression",
    description="a regression on an uncentred predictor: intercept and slope -0.99 correlated (no closed form)",
    pyro_model=pyro_model,
    log_density=log_density,
    example_data=simulate(),
)
