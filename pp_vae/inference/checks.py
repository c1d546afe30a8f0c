"""Posterior (and prior) predictive p-values with their Monte Carlo standard error (lecture 2)."""

from __future__ import annotations

from typing import Any

import numpy as np


def predictive_pvalue(replicated: Any, observed: float) -> tuple[float, float]:
    """``(P(T(y_rep) >= T(y)), its MCSE)`` from a statistic's replications shaped ``(chain, draw)`` (ESS-based MCSE)."""
    import arviz as az

    values = np.asarray(replicated, dtype=float)
    if values.ndim != 2 or min(values.shape) < 1:
        raise ValueError(f"replicated must have shape (chain, draw), got {values.shape}")
    if not np.isfinite(observed):
        raise ValueError(f"observed must be a finite statistic, got {observed!r}")
    exceeds = (values >= observed).astype(float)
    p = float(exceeds.mean())
    if p in (0.0, 1.0):
        return p, 0.0
    return p, float(az.mcse(exceeds, method="mean"))
