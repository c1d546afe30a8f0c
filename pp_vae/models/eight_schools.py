"""Eight schools (Rubin 1981), centred and non-centred (lectures 2-3); ``stan_models/eight_schools_*.stan``.

``theta_j ~ Normal(mu, tau)``, ``y_j ~ Normal(theta_j, sigma_j)``, ``mu ~ Normal(0, 5)``, ``tau ~ half-Cauchy(0, 5)``.
The centred form samples ``theta`` directly (a funnel NUTS diverges in); the non-centred one samples
``theta_raw ~ Normal(0, 1)`` and sets ``theta = mu + tau theta_raw`` (the same model, an easy geometry).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
from scipy import stats

from pp_vae.models.registry import BundledModel, LogDensity
from pp_vae.validation import finite_vector, integer_at_least

SCHOOLS = {"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], "sigma": [15, 10, 16, 11, 9, 11, 10, 18]}
"""The data of Rubin (1981): estimated coaching effects and their standard errors."""


def noncentered_pyro_model(data: dict[str, Any]) -> None:
    """``theta_raw ~ N(0, 1)``, ``theta = mu + tau theta_raw`` (deterministic), ``y ~ N(theta, sigma)``."""
    y, sigma = data["y"], data["sigma"]
    zero = y.new_zeros(())
    mu = pyro.sample("mu", dist.Normal(zero, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(zero + 5.0))
    with pyro.plate("schools", y.shape[0], device=y.device):
        theta_raw = pyro.sample("theta_raw", dist.Normal(zero, 1.0))
        theta = pyro.deterministic("theta", mu + tau * theta_raw)
        pyro.sample("y", dist.Normal(theta, sigma), obs=y)


def centered_pyro_model(data: dict[str, Any]) -> None:
    """``theta ~ N(mu, tau)``, ``y ~ N(theta, sigma)``."""
    y, sigma = data["y"], data["sigma"]
    zero = y.new_zeros(())
    mu = pyro.sample("mu", dist.Normal(zero, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(zero + 5.0))
    with pyro.plate("schools", y.shape[0], device=y.device):
        theta = pyro.sample("theta", dist.Normal(mu, tau))
        pyro.sample("y", dist.Normal(theta, sigma), obs=y)


def _hyperprior(mu: np.ndarray, log_tau: np.ndarray) -> np.ndarray:
    """``log p(mu) + log p(tau) + log |d tau / d log tau|`` (tau = exp(u))."""
    return stats.norm.logpdf(mu, 0, 5) + stats.cauchy.logpdf(np.exp(log_tau), 0, 5) + log_tau


def noncentered_log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = (mu, log tau, theta_raw[1..J])``, Stan's order."""
    y, sigma = np.asarray(data["y"], dtype=float), np.asarray(data["sigma"], dtype=float)

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        mu, log_tau, raw = u[..., 0], u[..., 1], u[..., 2:]
        theta = mu[..., None] + np.exp(log_tau)[..., None] * raw
        return _hyperprior(mu, log_tau) + stats.norm.logpdf(raw).sum(-1) + stats.norm.logpdf(y, theta, sigma).sum(-1)

    return density


def centered_log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = (mu, log tau, theta[1..J])``, Stan's order."""
    y, sigma = np.asarray(data["y"], dtype=float), np.asarray(data["sigma"], dtype=float)

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)
        mu, log_tau, theta = u[..., 0], u[..., 1], u[..., 2:]
        group = stats.norm.logpdf(theta, mu[..., None], np.exp(log_tau)[..., None]).sum(-1)
        return _hyperprior(mu, log_tau) + group + stats.norm.logpdf(y, theta, sigma).sum(-1)

    return density


def _simulate(rng: np.random.Generator, data: dict[str, Any], noncentered: bool) -> tuple[dict[str, float], dict[str, Any]]:
    """``mu ~ N(0, 5)``, ``tau ~ half-Cauchy(0, 5)``, ``theta_raw ~ N(0, 1)``, ``theta = mu + tau theta_raw``, ``y ~ N(theta, sigma)``."""
    sigma = np.asarray(data["sigma"], dtype=float)
    mu, tau = rng.normal(0.0, 5.0), abs(5.0 * rng.standard_cauchy())
    raw = rng.normal(size=sigma.size)
    theta = mu + tau * raw
    truth = {"mu": float(mu), "tau": float(tau)}
    truth.update({f"theta[{j + 1}]": float(t) for j, t in enumerate(theta)})
    if noncentered:
        truth.update({f"theta_raw[{j + 1}]": float(r) for j, r in enumerate(raw)})
    return truth, {"J": int(sigma.size), "y": rng.normal(theta, sigma).tolist(), "sigma": sigma.tolist()}


def prior_predictive(sigma: Any, draws: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``draws`` worlds from the priors: ``mu`` and ``tau`` ``(draws,)``, ``theta`` and ``y`` ``(draws, J)`` with the schools' ``sigma``."""
    sigma = finite_vector("sigma", sigma)
    integer_at_least("draws", draws, 1)
    if np.any(sigma <= 0):
        raise ValueError(f"sigma must be positive, got {sigma.tolist()}")
    rng = np.random.default_rng(seed)
    mu, tau = rng.normal(0.0, 5.0, draws), np.abs(5.0 * rng.standard_cauchy(draws))
    theta = mu[:, None] + tau[:, None] * rng.normal(size=(draws, sigma.size))
    return {"mu": mu, "tau": tau, "theta": theta, "y": rng.normal(theta, sigma)}


def noncentered_simulate(rng: np.random.Generator, data: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Prior draws of ``mu``, ``tau``, ``theta_raw`` (and ``theta``), then ``y`` with the schools' own ``sigma``."""
    return _simulate(rng, data, noncentered=True)


def centered_simulate(rng: np.random.Generator, data: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Prior draws of ``mu``, ``tau``, ``theta``, then ``y`` with the schools' own ``sigma``."""
    return _simulate(rng, data, noncentered=False)


NONCENTERED = BundledModel(
    name="eight_schools_noncentered",
    description="eight schools, non-centred: theta = mu + tau theta_raw (no closed form)",
    pyro_model=noncentered_pyro_model,
    log_density=noncentered_log_density,
    example_data=SCHOOLS,
    simulate=noncentered_simulate,
)
CENTERED = BundledModel(
    name="eight_schools_centered",
    description="eight schools, centred: theta ~ Normal(mu, tau), a funnel NUTS diverges in",
    pyro_model=centered_pyro_model,
    log_density=centered_log_density,
    example_data=SCHOOLS,
    simulate=centered_simulate,
)
