"""Pyro versions of the bundled Stan programs: same priors, same data conventions, same names.

Each model takes the Stan-format data dict (``N``, ``y``, ...) and samples sites named as the Stan
parameters (``theta``, ``mu``, ``tau``, ``theta_raw``, ``alpha``, ``beta``); transformed parameters
are ``pyro.deterministic`` sites. ``tests/test_models.py`` checks that each joint log density equals
Stan's ``log_prob`` up to a constant. Hand-written mean-field guides for the conjugate models sit
beside their models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyro
import pyro.distributions as dist
import torch
from torch.distributions import constraints


def as_tensors(data: dict[str, Any], device: str | torch.device = "cpu") -> dict[str, Any]:
    """Stan-format data with arrays as float tensors on ``device`` (integers stay Python ints)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = torch.as_tensor(value, dtype=torch.get_default_dtype(), device=device)
    return out


def beta_bernoulli(data: dict[str, Any]) -> None:
    """``theta ~ Beta(alpha, beta)``, ``y[n] ~ Bernoulli(theta)``."""
    y = data["y"]
    alpha = torch.as_tensor(data["alpha"], dtype=y.dtype, device=y.device)
    beta = torch.as_tensor(data["beta"], dtype=y.dtype, device=y.device)
    theta = pyro.sample("theta", dist.Beta(alpha, beta))
    with pyro.plate("obs", y.shape[0], device=y.device):
        pyro.sample("y", dist.Bernoulli(theta), obs=y)


def beta_bernoulli_guide(data: dict[str, Any]) -> None:
    """Mean-field guide ``q(theta) = Beta(a, b)``: the exact posterior's family, so VI can be exact."""
    y = data["y"]
    a = pyro.param("q_alpha", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    b = pyro.param("q_beta", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    pyro.sample("theta", dist.Beta(a, b))


def normal_known_variance(data: dict[str, Any]) -> None:
    """``mu ~ Normal(prior_mean, prior_sd)``, ``y[n] ~ Normal(mu, noise_sd)``."""
    y = data["y"]
    prior_mean = torch.as_tensor(data["prior_mean"], dtype=y.dtype, device=y.device)
    prior_sd = torch.as_tensor(data["prior_sd"], dtype=y.dtype, device=y.device)
    mu = pyro.sample("mu", dist.Normal(prior_mean, prior_sd))
    with pyro.plate("obs", y.shape[0], device=y.device):
        pyro.sample("y", dist.Normal(mu, data["noise_sd"]), obs=y)


def normal_known_variance_guide(data: dict[str, Any]) -> None:
    """Mean-field guide ``q(mu) = Normal(m, s)``."""
    y = data["y"]
    m = pyro.param("q_loc", torch.tensor(0.0, device=y.device))
    s = pyro.param("q_scale", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    pyro.sample("mu", dist.Normal(m, s))


def eight_schools_noncentered(data: dict[str, Any]) -> None:
    """``mu ~ N(0, 5)``, ``tau ~ half-Cauchy(5)``, ``theta_raw ~ N(0, 1)``, ``theta = mu + tau theta_raw``, ``y ~ N(theta, sigma)``."""
    y, sigma = data["y"], data["sigma"]
    zero = y.new_zeros(())
    mu = pyro.sample("mu", dist.Normal(zero, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(zero + 5.0))
    with pyro.plate("schools", y.shape[0], device=y.device):
        theta_raw = pyro.sample("theta_raw", dist.Normal(zero, 1.0))
        theta = pyro.deterministic("theta", mu + tau * theta_raw)
        pyro.sample("y", dist.Normal(theta, sigma), obs=y)


def logistic_regression(data: dict[str, Any], subsample_size: int | None = None) -> None:
    """``alpha, beta[k] ~ N(0, prior_sd)``, ``y[n] ~ Bernoulli(logit^-1(alpha + X[n] beta))``; optional data subsampling."""
    X, y = data["X"], data["y"]
    scale = torch.as_tensor(data["prior_sd"], dtype=X.dtype, device=X.device)
    alpha = pyro.sample("alpha", dist.Normal(torch.zeros((), device=X.device), scale))
    beta = pyro.sample("beta", dist.Normal(torch.zeros(X.shape[1], device=X.device), scale).to_event(1))
    with pyro.plate("obs", X.shape[0], subsample_size=subsample_size, device=X.device) as index:
        pyro.sample("y", dist.Bernoulli(logits=alpha + X[index] @ beta), obs=y[index])


MODELS: dict[str, Callable[..., None]] = {
    "beta_bernoulli": beta_bernoulli,
    "normal_known_variance": normal_known_variance,
    "eight_schools_noncentered": eight_schools_noncentered,
    "logistic_regression": logistic_regression,
}
MANUAL_GUIDES: dict[str, Callable[..., None]] = {
    "beta_bernoulli": beta_bernoulli_guide,
    "normal_known_variance": normal_known_variance_guide,
}
