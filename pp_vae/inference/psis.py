"""Pareto-smoothed importance sampling (PSIS): how far an approximation q is from the posterior p.

Given draws ``z ~ q`` and log-weights ``log p(z, y) - log q(z)``, arviz-stats fits a generalised
Pareto distribution to the largest weights; its shape ``k`` (k-hat) says whether importance sampling
from q, and so q itself, can be trusted (Vehtari, Simpson, Gelman, Yao, Gabry 2024).
"""

from __future__ import annotations

import numpy as np


def pareto_khat(log_weights: np.ndarray) -> float:
    """Pareto k-hat of importance log-weights ``log p(z, y) - log q(z)`` with ``z ~ q`` (NaN for fewer than 20)."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)
    import xarray as xr

    log_weights = np.asarray(log_weights, dtype=float).ravel()
    if log_weights.size < 20 or np.any(np.isnan(log_weights)) or np.any(log_weights == np.inf):
        return float("nan")
    finite = log_weights[np.isfinite(log_weights)]
    if finite.size < 20:
        return float("nan")
    log_weights = np.where(np.isfinite(log_weights), log_weights, finite.min() - 50)  # weight ~0 where p = 0
    # arviz-stats' psislw follows the PSIS-LOO convention: it takes log-likelihoods and uses their
    # negatives as log importance ratios, so pass -log_weights to have it smooth log_weights.
    _, khat = xr.DataArray(-log_weights, dims=["sample"]).azstats.psislw(dim="sample")
    return float(khat)


def khat_threshold(draws: int) -> float:
    """The sample-size-aware k-hat threshold ``min(1 - 1 / log10(S), 0.7)`` for ``S`` draws."""
    return float(min(1 - 1 / np.log10(draws), 0.7)) if draws > 10 else 0.0


def khat_reading(khat: float, draws: int | None = None) -> str:
    """What a PSIS k-hat says about ``q`` as an importance-sampling proposal for ``p``."""
    if not np.isfinite(khat):
        return "k-hat could not be computed"
    limit = 0.7 if draws is None else khat_threshold(draws)
    if khat < 0.5:
        return f"k-hat {khat:.2f} < 0.5: good, q covers the posterior well"
    if khat <= limit:
        return f"k-hat {khat:.2f} in 0.5-{limit:.2f}: usable, but q is off in the tails"
    return f"k-hat {khat:.2f} > {limit:.2f}: unreliable, q misses a part of the posterior that matters"
