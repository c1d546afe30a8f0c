"""A 2-D Gaussian with correlation ``rho`` (lecture 3): mean-field VI's sds shrink to ``sqrt(1 - rho^2)``.

``stan_models/correlated_gaussian.stan``. Its "posterior" is the target itself, so each marginal is
exactly ``Normal(0, 1)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from scipy import stats

from pp_vae.bayes.conjugate import FrozenDistribution
from pp_vae.models.registry import BundledModel, LogDensity


def _covariance(rho: float) -> np.ndarray:
    return np.array([[1.0, rho], [rho, 1.0]])


def pyro_model(data: dict[str, Any]) -> None:
    """``z ~ MultivariateNormal(0, [[1, rho], [rho, 1]])``."""
    covariance = torch.as_tensor(_covariance(float(data["rho"])), dtype=torch.get_default_dtype())
    pyro.sample("z", dist.MultivariateNormal(torch.zeros(2, dtype=covariance.dtype), covariance))


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = z`` (unconstrained already)."""
    target = stats.multivariate_normal(np.zeros(2), _covariance(float(data["rho"])))

    def density(u: np.ndarray) -> np.ndarray:
        return np.asarray(target.logpdf(np.asarray(u)))

    return density


def exact_posterior(data: dict[str, Any]) -> dict[str, FrozenDistribution]:
    """Both marginals are ``Normal(0, 1)`` whatever ``rho``."""
    return {"z[1]": stats.norm(0.0, 1.0), "z[2]": stats.norm(0.0, 1.0)}


MODEL = BundledModel(
    name="correlated_gaussian",
    description="a 2-D Gaussian with correlation rho (closed form: Normal(0, 1) marginals)",
    pyro_model=pyro_model,
    log_density=log_density,
    exact_posterior=exact_posterior,
    example_data={"rho": 0.9},
)
