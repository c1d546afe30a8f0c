"""The mean of Normal data with known noise sd (lectures 1-3); ``stan_models/normal_known_variance.stan``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from scipy import stats
from torch.distributions import constraints

from pp_vae.bayes.conjugate import FrozenDistribution, NormalKnownVariance
from pp_vae.models.registry import BundledModel, LogDensity


def pyro_model(data: dict[str, Any]) -> None:
    """``mu ~ Normal(prior_mean, prior_sd)``, ``y[n] ~ Normal(mu, noise_sd)``."""
    y = data["y"]
    mu = pyro.sample("mu", dist.Normal(y.new_tensor(data["prior_mean"]), y.new_tensor(data["prior_sd"])))
    with pyro.plate("obs", y.shape[0], device=y.device):
        pyro.sample("y", dist.Normal(mu, data["noise_sd"]), obs=y)


def guide(data: dict[str, Any]) -> None:
    """Mean-field guide ``q(mu) = Normal(m, s)``."""
    y = data["y"]
    m = pyro.param("q_loc", torch.tensor(0.0, device=y.device))
    s = pyro.param("q_scale", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    pyro.sample("mu", dist.Normal(m, s))


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = mu`` (unconstrained already): prior plus likelihood."""
    y = np.asarray(data["y"], dtype=float)
    prior_mean, prior_sd, noise_sd = (float(data[k]) for k in ("prior_mean", "prior_sd", "noise_sd"))

    def density(u: np.ndarray) -> np.ndarray:
        mu = np.asarray(u)[..., 0]
        return stats.norm.logpdf(mu, prior_mean, prior_sd) + stats.norm.logpdf(y, mu[..., None], noise_sd).sum(-1)

    return density


def exact_posterior(data: dict[str, Any]) -> dict[str, FrozenDistribution]:
    """``mu | y ~ Normal(mu_n, sigma_n^2)``: precisions add (lecture 1)."""
    model = NormalKnownVariance(prior_mean=data["prior_mean"], prior_sd=data["prior_sd"], noise_sd=data["noise_sd"])
    return {"mu": model.posterior(data["y"])}


def simulate(rng: np.random.Generator, data: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """``mu ~ Normal(prior_mean, prior_sd)``, then ``N`` observations."""
    mu = rng.normal(data["prior_mean"], data["prior_sd"])
    return {"mu": float(mu)}, {**data, "y": rng.normal(mu, data["noise_sd"], size=int(data["N"])).tolist()}


MODEL = BundledModel(
    name="normal_known_variance",
    description="the mean of Normal data with known sd (closed form: Normal posterior)",
    pyro_model=pyro_model,
    guide=guide,
    log_density=log_density,
    exact_posterior=exact_posterior,
    example_data={"N": 5, "y": [2.1, 3.4, 0.7, 2.9, 1.8], "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0},
    simulate=simulate,
)
