"""Pareto-smoothed importance sampling (PSIS): grade an approximation q of the posterior p, and correct it.

Given draws ``z ~ q`` and log-weights ``log p(z, y) - log q(z)``, the largest weights are replaced by
quantiles of a generalised Pareto distribution fitted to them; its shape ``k`` (k-hat) says whether
importance sampling from ``q``, and so ``q`` itself, can be trusted, and the smoothed weights correct
``q``'s estimates toward ``p``'s (Vehtari, Simpson, Gelman, Yao and Gabry 2024, *Pareto smoothed
importance sampling*, JMLR 25). With ``S`` draws, estimates are reliable below
``min(1 - 1/log10(S), 0.7)`` (:func:`khat_threshold`).

* :func:`pareto_khat`, :func:`khat_threshold`, :func:`khat_reading` -- grade; :func:`khat_over_draws` -- the grade's own
  spread on one fixed ``q``, over fresh sets of draws;
* :func:`psis_smooth`, :func:`psis_resample_indices` -- the smoothed weights, and draws resampled by them.

These work on arrays; :func:`~pp_vae.inference.result.psis_resample` applies them to a result (PSIS's correction).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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


def khat_over_draws(
    sample: Callable[[int], tuple[np.ndarray, np.ndarray]], log_p: Callable[[np.ndarray], np.ndarray], draws: int, repeats: int
) -> np.ndarray:
    """k-hat of one fixed ``q`` over ``repeats`` fresh sets of ``draws`` draws: how much of a k-hat is the estimate's own noise.

    ``sample(n)`` returns ``n`` draws of ``q`` (rows) and their ``log q``; ``log_p(draws)`` the target's log density at
    each row (up to a constant). ``q`` is not refitted between sets, so the spread is PSIS's alone.
    """
    from pp_vae.validation import integer_at_least

    integer_at_least("draws", draws, low=20)
    khats = np.empty(integer_at_least("repeats", repeats))
    for i in range(khats.size):
        points, log_q = sample(draws)
        khats[i] = pareto_khat(np.asarray(log_p(points), dtype=float) - np.asarray(log_q, dtype=float))
    return khats
