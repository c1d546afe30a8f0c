"""NumPy log densities of the bundled Stan programs, on Stan's unconstrained scale.

Each factory takes the program's data and returns ``log_density(u)`` for an array ``u`` of
shape ``(..., dim)`` (a batch of points, e.g. one per chain), equal to Stan's ``log_prob(u)``
with the Jacobian adjustment up to an additive constant (the tests check this). They let a
NumPy sampler such as :func:`pp_vae.metropolis.random_walk_metropolis` run on the same target as
NUTS without a round trip to Stan per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

LogDensity = Callable[[np.ndarray], np.ndarray]


def beta_bernoulli(data: dict[str, Any]) -> LogDensity:
    """``theta ~ Beta(alpha, beta)``, ``y ~ Bernoulli(theta)``; ``u = logit(theta)``."""
    y = np.asarray(data["y"])
    ones, zeros = y.sum(), y.size - y.sum()
    a, b = float(data["alpha"]) + ones, float(data["beta"]) + zeros

    def log_density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)[..., 0]
        # log theta^(a-1) (1-theta)^(b-1) + log |d theta / d u| = a log theta + b log(1 - theta)
        return -a * np.logaddexp(0, -u) - b * np.logaddexp(0, u)

    return log_density


def normal_known_variance(data: dict[str, Any]) -> LogDensity:
    """``mu ~ Normal(prior_mean, prior_sd)``, ``y ~ Normal(mu, noise_sd)``; ``u = mu``."""
    y = np.asarray(data["y"], dtype=float)
    prior_mean, prior_sd, noise_sd = (float(data[k]) for k in ("prior_mean", "prior_sd", "noise_sd"))

    def log_density(u: np.ndarray) -> np.ndarray:
        mu = np.asarray(u)[..., 0]
        return stats.norm.logpdf(mu, prior_mean, prior_sd) + stats.norm.logpdf(y, mu[..., None], noise_sd).sum(-1)

    return log_density


def eight_schools_noncentered(data: dict[str, Any]) -> LogDensity:
    """Non-centred eight schools; ``u = (mu, log tau, theta_raw[1..J])``, Stan's order."""
    y, sigma = np.asarray(data["y"], dtype=float), np.asarray(data["sigma"], dtype=float)

    def log_density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        mu, log_tau, raw = u[..., 0], u[..., 1], u[..., 2:]
        tau = np.exp(log_tau)
        theta = mu[..., None] + tau[..., None] * raw
        return (
            stats.norm.logpdf(mu, 0, 5)
            + stats.cauchy.logpdf(tau, 0, 5) + log_tau  # Jacobian of tau = exp(u)
            + stats.norm.logpdf(raw).sum(-1)
            + stats.norm.logpdf(y, theta, sigma).sum(-1)
        )

    return log_density


def logistic_regression(data: dict[str, Any]) -> LogDensity:
    """``alpha, beta ~ Normal(0, prior_sd)``, ``y ~ Bernoulli(logit^-1(alpha + X beta))``; ``u = (alpha, beta)``."""
    X, y = np.asarray(data["X"], dtype=float), np.asarray(data["y"], dtype=float)
    prior_sd = float(data["prior_sd"])

    def log_density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        eta = u[..., :1] + u[..., 1:] @ X.T
        return stats.norm.logpdf(u, 0, prior_sd).sum(-1) + (y * eta - np.logaddexp(0, eta)).sum(-1)

    return log_density


FACTORIES: dict[str, Callable[[dict[str, Any]], LogDensity]] = {
    "beta_bernoulli": beta_bernoulli,
    "normal_known_variance": normal_known_variance,
    "eight_schools_noncentered": eight_schools_noncentered,
    "logistic_regression": logistic_regression,
}
