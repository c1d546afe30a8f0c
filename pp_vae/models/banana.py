"""A banana-shaped posterior (lecture 3): ``x[1] ~ Normal(0, 1)``, ``x[2] | x[1] ~ Normal(b x[1]^2, 1)``.

``stan_models/banana.stan``. The mode is at the origin with the curvature of a standard normal, but the
mass bends along ``x[2] = b x[1]^2``: ``E[x[2]] = b`` and ``sd(x[2]) = sqrt(1 + 2 b^2)``. No Gaussian follows
the curve, whatever its covariance; a normalising flow can. ``x[1]``'s marginal is exactly ``Normal(0, 1)``;
``x[2]``'s has no named form, but :func:`exact_draws` draws from the joint exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
from scipy import stats

from pp_vae.bayes.conjugate import FrozenDistribution
from pp_vae.models.registry import BundledModel, LogDensity


def pyro_model(data: dict[str, Any]) -> None:
    """``x`` in R^2 (one site, as Stan's ``vector[2] x``) scored by ``log N(x[1] | 0, 1) + log N(x[2] | b x[1]^2, 1)``."""
    b = float(data["b"])
    # a flat prior: a masked normal (it can be sampled, for shapes and autoguides, and adds nothing to log p)
    x = pyro.sample("x", dist.Normal(0.0, 1.0).expand([2]).to_event(1).mask(False))
    pyro.factor("banana", dist.Normal(0.0, 1.0).log_prob(x[..., 0]) + dist.Normal(b * x[..., 0] ** 2, 1.0).log_prob(x[..., 1]))


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = x`` (unconstrained already)."""
    b = float(data["b"])

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        return np.asarray(stats.norm.logpdf(u[..., 0]) + stats.norm.logpdf(u[..., 1], b * u[..., 0] ** 2))

    return density


def exact_posterior(data: dict[str, Any]) -> dict[str, FrozenDistribution]:
    """``x[1] ~ Normal(0, 1)``; ``x[2]``'s marginal (mean ``b``, sd ``sqrt(1 + 2 b^2)``) has no closed form."""
    return {"x[1]": stats.norm(0.0, 1.0)}


def exact_draws(data: dict[str, Any], n: int, seed: int = 0) -> np.ndarray:
    """``n`` exact joint draws, shape ``(n, 2)``: ``x[1]`` first, then ``x[2]`` given it."""
    rng = np.random.default_rng(seed)
    first = rng.standard_normal(n)
    return np.column_stack([first, float(data["b"]) * first**2 + rng.standard_normal(n)])


MODEL = BundledModel(
    name="banana",
    description="a banana: x[2] ~ Normal(b x[1]^2, 1), curved beyond any Gaussian (x[1] ~ Normal(0, 1) exactly)",
    pyro_model=pyro_model,
    log_density=log_density,
    exact_posterior=exact_posterior,
    example_data={"b": 1.0},
)
