"""Pareto-smoothed importance sampling (PSIS): grade an approximation q of the posterior p, and correct it.

Given draws ``z ~ q`` and log-weights ``log p(z, y) - log q(z)``, the largest weights are replaced by
quantiles of a generalised Pareto distribution fitted to them; its shape ``k`` (k-hat) says whether
importance sampling from ``q``, and so ``q`` itself, can be trusted, and the smoothed weights correct
``q``'s estimates toward ``p``'s (Vehtari, Simpson, Gelman, Yao and Gabry 2024, *Pareto smoothed
importance sampling*, JMLR 25). With ``S`` draws, estimates are reliable below
``min(1 - 1/log10(S), 0.7)`` (:func:`khat_threshold`).

* :func:`pareto_khat`, :func:`khat_threshold`, :func:`khat_reading` -- grade;
* :func:`psis_smooth`, :func:`psis_resample_indices` -- the smoothed weights, and draws resampled by them;
* :func:`psis_resample` -- any approximation's result, importance-resampled: the corrected draws, as the
  one result type, beside the raw ones (``pp-vae compare --psis``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xarray import DataTree


def psis_smooth(log_weights: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed log-weights, normalised to sum to one, and k-hat; a non-finite log-weight gets weight zero.

    k-hat is ``inf`` when fewer than 10 weights are finite, NaN when the largest weights are all equal.
    """
    from arviz_stats.base import array_stats
    from scipy.special import logsumexp

    log_weights = np.asarray(log_weights, dtype=float).ravel()
    finite = np.isfinite(log_weights)
    smoothed = np.full(log_weights.shape, -np.inf)
    if finite.sum() < 10:
        if finite.any():
            smoothed[finite] = log_weights[finite] - logsumexp(log_weights[finite])
        return smoothed, float("inf")
    # arviz-stats' psislw follows the PSIS-LOO convention: it takes log-likelihoods and uses their
    # negatives as log importance ratios, so pass -log_weights to have it smooth log_weights.
    shifted = log_weights[finite] - log_weights[finite].max()
    try:
        values, khat = array_stats.psislw(-shifted)
    except ValueError:  # the largest weights are all equal (constant weights): nothing to smooth, no tail to fit
        values, khat = shifted, float("nan")
    values = np.asarray(values, dtype=float)
    smoothed[finite] = values - logsumexp(values)
    return smoothed, float(khat)


def pareto_khat(log_weights: np.ndarray) -> float:
    """Pareto k-hat of importance log-weights ``log p(z, y) - log q(z)`` with ``z ~ q`` (NaN for fewer than 20, NaN or +inf)."""
    log_weights = np.asarray(log_weights, dtype=float).ravel()
    if log_weights.size < 20 or np.any(np.isnan(log_weights)) or np.any(log_weights == np.inf):
        return float("nan")
    if np.isfinite(log_weights).sum() < 20:
        return float("nan")
    return psis_smooth(log_weights)[1]


def psis_resample_indices(log_weights: np.ndarray, draws: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Indices of ``draws`` draws resampled with replacement in proportion to their Pareto-smoothed weights."""
    smoothed, _ = psis_smooth(log_weights)
    weights = np.exp(smoothed)
    if not weights.sum() > 0:
        raise ValueError("no draw has a finite importance weight: p is not finite anywhere q put its draws")
    return np.random.default_rng(seed).choice(weights.size, size=int(draws), replace=True, p=weights / weights.sum())


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


def psis_resample(result: DataTree, draws: int | None = None, seed: int = 0) -> DataTree:
    """An approximation's draws importance-resampled by their Pareto-smoothed weights: PSIS's correction, as the one result type.

    ``draws`` defaults to as many as the result has. The new result's ``method`` is ``"<method>+psis"``; it
    keeps the raw draws' ``khat`` (whether to believe the correction: above :func:`khat_threshold` it is
    not to be trusted either) and adds ``psis_ess``, the effective sample size ``1 / sum(w^2)`` of the
    smoothed weights, and ``unique_draws``. A result that is already importance-resampled (multi-path
    Pathfinder) or has no ``lp_approx`` (MCMC) is a ``ValueError``.
    """
    from pp_vae.inference.result import from_draws, info, log_weights
    from pp_vae.validation import integer_at_least

    start = time.perf_counter()
    meta = info(result)
    if result.posterior.attrs.get("psis_resampled"):
        raise ValueError(f"the {meta.method!r} result is already importance-resampled; resample its raw draws (resample=False) instead")
    weights = log_weights(result)
    size = weights.size if draws is None else integer_at_least("draws", draws)
    smoothed, khat = psis_smooth(weights)
    index = psis_resample_indices(weights, size, seed)
    posterior = {
        name: np.asarray(values).reshape(-1, *np.shape(values)[2:])[index][None] for name, values in result.posterior.data_vars.items()
    }
    stats = {name: np.ravel(np.asarray(result.sample_stats[name]))[index][None] for name in ("lp", "lp_approx")}
    attrs: dict[str, Any] = {
        k: v for k, v in result.posterior.attrs.items() if k not in ("method", "model", "seconds", "gradient_evaluations", "elbo")
    }
    attrs.update(
        {
            "khat": khat,
            "psis_resampled": True,
            "psis_ess": float(1 / np.sum(np.exp(2 * smoothed))),
            "unique_draws": int(np.unique(index).size),
        }
    )
    return from_draws(
        posterior,
        method=f"{meta.method}+psis",
        model=meta.model,
        seconds=meta.seconds + time.perf_counter() - start,
        gradient_evaluations=meta.gradient_evaluations,
        sample_stats=stats,
        elbo=meta.elbo,
        **attrs,
    )
