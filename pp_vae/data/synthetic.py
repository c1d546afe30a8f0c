"""Synthetic data for lectures 2-3, simulated from known parameters so a fit can be checked against them."""

from __future__ import annotations

from typing import Any

import numpy as np

from pp_vae.data.images import ImageData, tensor_data
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


def _spectrum(eigenvalues: Any) -> np.ndarray:
    values = finite_vector("eigenvalues", eigenvalues)
    if (values <= 0).any():
        raise ValueError(f"eigenvalues must be positive, got {values[values <= 0][0].item()!r}")
    return values


def _rotation(d: int, seed: int) -> np.ndarray:
    """A random ``d x d`` rotation, a function of ``seed`` alone (so held-out rows share the training rows' axes)."""
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return rotation


def gaussian_with_spectrum(eigenvalues: Any, n: int, seed: int = 0) -> np.ndarray:
    """``n`` rows in ``D = len(eigenvalues)`` dimensions whose sample covariance (divisor ``n``) has exactly these eigenvalues.

    Gaussian draws, centred and whitened to an identity sample covariance, scaled by ``sqrt(eigenvalues)`` and turned
    by a random rotation: data whose spectrum, the truth a PPCA or linear-VAE fit is checked against, is known exactly.
    """
    values = _spectrum(eigenvalues)
    if integer_at_least("n", n) <= values.size:
        raise ValueError(f"n must exceed the {values.size} dimensions to whiten the draws, got {n}")
    draws = np.random.default_rng((seed, 1)).standard_normal((n, values.size))
    draws -= draws.mean(0)
    root = np.linalg.cholesky(draws.T @ draws / n)
    white = np.linalg.solve(root, draws.T).T
    return (white * np.sqrt(values)) @ _rotation(values.size, seed).T


def spectrum_data(eigenvalues: Any, n: int, n_test: int = 200, seed: int = 0) -> ImageData:
    """:func:`gaussian_with_spectrum`'s ``n`` rows as training "images" (one row of ``D`` pixels each), for :func:`pp_vae.vae.train`.

    The ``n_test`` test rows are plain draws from the same population ``N(0, R diag(eigenvalues) R^T)``; labels are 0.
    """
    values = _spectrum(eigenvalues)
    train = gaussian_with_spectrum(values, n, seed)
    test = (np.random.default_rng((seed, 2)).standard_normal((integer_at_least("n_test", n_test), values.size)) * np.sqrt(values)) @ (
        _rotation(values.size, seed).T
    )
    return tensor_data("spectrum", train, np.zeros(n), test, np.zeros(n_test), (1, values.size), None)
