"""Synthetic data for lectures 2-3, simulated from known parameters so a fit can be checked against them."""

from __future__ import annotations

from typing import Any

import numpy as np

from pp_vae.validation import finite_vector, integer_at_least


def logistic_regression_data(
    n: int, coefficients: Any = (1.0, -2.0), intercept: float = 0.5, prior_sd: float = 2.5, seed: int | None = 0
) -> dict[str, Any]:
    """Synthetic logistic regression in Stan's data format (``N, K, X, y, prior_sd``) with standard-normal features.

    The truth used to simulate ``y`` is returned under ``"true_alpha"`` / ``"true_beta"``; drop those
    keys (:func:`without_truth`) before passing the dict to Stan.
    """
    integer_at_least("n", n)
    beta = finite_vector("coefficients", coefficients)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, beta.size))
    p = 1 / (1 + np.exp(-(intercept + X @ beta)))
    y = (rng.random(n) < p).astype(np.int64)
    return {
        "N": int(n),
        "K": int(beta.size),
        "X": X,
        "y": y,
        "prior_sd": float(prior_sd),
        "true_alpha": float(intercept),
        "true_beta": beta,
    }


def without_truth(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the ``true_*`` keys that record a simulation's truth."""
    return {k: v for k, v in data.items() if not k.startswith("true_")}
