"""Exact posterior predictive p-values of a coin by enumerating every replicated sequence (lecture 2's check of Stan's).

Under ``theta ~ Beta(a, b)`` after ``k`` heads in ``n`` flips, a replicated sequence with ``h`` heads has probability
``B(a + k + h, b + n - k + n - h) / B(a + k, b + n - k)``: a sum over all ``2^n`` sequences gives
``P(T(y_rep) >= T(y) | y)`` exactly for any statistic ``T`` of the sequence, whether or not the model fits it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from pp_vae.validation import binary_vector, positive_scalar

MAX_FLIPS = 20
"""Enumeration visits ``2^n`` sequences: refused above this many flips."""


def coin_predictive_pvalue(alpha: float, beta: float, flips: Any, statistic: Callable[[np.ndarray], np.ndarray]) -> float:
    """Exact ``P(T(y_rep) >= T(y) | y)`` for a Beta(alpha, beta) coin; ``statistic`` maps sequences ``(m, n)`` to ``(m,)``."""
    a, b = positive_scalar("alpha", alpha), positive_scalar("beta", beta)
    y = binary_vector("flips", flips)
    n = y.size
    if not 1 <= n <= MAX_FLIPS:
        raise ValueError(f"flips must hold 1 to {MAX_FLIPS} outcomes for enumeration, got {n}")
    sequences = np.array(list(itertools.product((0, 1), repeat=n)))
    heads, k = sequences.sum(axis=1), int(y.sum())
    log_p = special.betaln(a + k + heads, b + (n - k) + (n - heads)) - special.betaln(a + k, b + n - k)
    observed = np.asarray(statistic(y[None, :])).ravel()[0]
    return float(np.exp(log_p)[np.asarray(statistic(sequences)) >= observed].sum())


def switches(sequences: Any) -> np.ndarray:
    """Number of changes between neighbouring flips, per sequence (last axis)."""
    return np.sum(np.diff(np.asarray(sequences), axis=-1) != 0, axis=-1)
