"""A regression on an uncentred predictor (lecture 3): the intercept and slope are -0.99 correlated.

``stan_models/correlated_regression.stan``: ``y[n] ~ Normal(alpha + beta x[n], sigma)`` with
``alpha ~ Normal(0, 100)``, ``beta ~ Normal(0, 10)``, ``sigma ~ Exponential(0.1)``. The predictor sits near
100 with sd 15 (as mothers' IQ in posteriordb's kid-IQ), so the posterior correlation of ``alpha`` and
``beta`` is about ``-mean(x) / sqrt(mean(x^2)) = -0.99``: mean-field VI shrinks their sds about sevenfold.
The example data are simulated here, so the lecture needs no downloaded data.

Given ``sigma`` the model is a conjugate Gaussian regression, so the posterior is exact up to one 1-D
integral: :func:`sigma_posterior` puts ``p(sigma | y)`` on a grid, and :func:`exact_draws` draws ``sigma`` from
it and ``(alpha, beta)`` from their Gaussian given ``sigma`` (lecture 3's reference for costs at equal accuracy).
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


PRIOR_SDS = np.array([100.0, 10.0])
"""The prior sds of ``alpha`` and ``beta`` (means 0); ``sigma``'s prior is Exponential(0.1)."""


def _design(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The design matrix ``[1, x]`` and ``y``, checked to be the same length."""
    x, y = np.asarray(data["x"], dtype=float), np.asarray(data["y"], dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 1:
        raise ValueError(f"x and y must be 1-D and of one length, got shapes {x.shape} and {y.shape}")
    return np.column_stack([np.ones_like(x), x]), y


def _given_sigma(design: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sigma: ``(alpha, beta)``'s posterior mean and covariance given it, and ``log p(y | sigma)``."""
    s2 = sigma[:, None, None] ** 2
    precision = np.diag(PRIOR_SDS**-2.0) + design.T @ design / s2
    covariance = np.linalg.inv(precision)
    mean = np.einsum("sij,j->si", covariance, design.T @ y) / sigma[:, None] ** 2
    log_evidence = (
        -0.5 * y.size * np.log(2 * np.pi * sigma**2)
        - np.log(PRIOR_SDS).sum()
        - 0.5 * np.linalg.slogdet(precision)[1]
        - 0.5 * (y @ y) / sigma**2
        + 0.5 * np.einsum("si,sij,sj->s", mean, precision, mean)
    )
    return mean, covariance, log_evidence


def sigma_posterior(data: dict[str, Any], points: int = 4001) -> tuple[np.ndarray, np.ndarray]:
    """``p(sigma | y)`` on a grid of ``points`` values covering its mass: the grid and the density, normalised on it."""
    design, y = _design(data)
    scale = max(float(np.std(y)), 1e-6)
    coarse = np.exp(np.linspace(np.log(scale) - 12, np.log(scale) + 6, 2000))
    log_post = _given_sigma(design, y, coarse)[2] + stats.expon.logpdf(coarse, scale=10.0)
    kept = coarse[log_post > log_post.max() - 50]  # everything within e^-50 of the mode
    grid = np.linspace(kept.min() * 0.9, kept.max() * 1.1, points)
    log_post = _given_sigma(design, y, grid)[2] + stats.expon.logpdf(grid, scale=10.0)
    density = np.exp(log_post - log_post.max())
    return grid, density / np.trapezoid(density, grid)


def exact_draws(data: dict[str, Any], n: int, seed: int = 0) -> np.ndarray:
    """``n`` exact joint draws, shape ``(n, 3)``: ``alpha, beta, sigma`` (sigma by the inverse CDF of its grid, then the Gaussian)."""
    design, y = _design(data)
    grid, density = sigma_posterior(data)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    rng = np.random.default_rng(seed)
    sigma = np.interp(rng.uniform(0.0, cdf[-1], n), cdf, grid)
    mean, covariance, _ = _given_sigma(design, y, sigma)
    coefficients = mean + np.einsum("sij,sj->si", np.linalg.cholesky(covariance), rng.standard_normal((n, 2)))
    return np.column_stack([coefficients, sigma])


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
    description="a regression on an uncentred predictor: intercept and slope -0.99 correlated (exact up to a 1-D integral over sigma)",
    pyro_model=pyro_model,
    log_density=log_density,
    example_data=simulate(),
)
