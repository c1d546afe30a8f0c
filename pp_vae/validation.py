"""Input checks shared by every model: each failure is a ``ValueError`` naming the argument."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def positive_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    number = finite_scalar(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return number


def finite_scalar(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, np.ndarray) and value.shape == ():
            return finite_scalar(name, value.item())
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def integer_at_least(name: str, value: Any, low: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``low`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def finite_vector(name: str, data: Any) -> np.ndarray:
    """Return ``data`` as a 1-D float array, or raise on non-numbers, NaN, inf or wrong shape."""
    try:
        array = np.asarray(data)
    except Exception as error:  # ragged lists and the like
        raise ValueError(f"{name} must be a 1-D sequence of numbers: {error}") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype == bool:
        array = array.astype(int)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        bad = next((v for v in array.tolist() if not _is_real(v)), array.dtype)
        raise ValueError(f"{name} must contain real numbers, got {bad!r}")
    array = array.astype(float)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name} must be finite, got {array[bad[0]].item()!r} at index {bad[0]}")
    return array


def binary_vector(name: str, data: Any) -> np.ndarray:
    """Return 0/1 ``data`` as an int array, or raise naming the first value that is not 0 or 1."""
    array = finite_vector(name, data)
    bad = np.flatnonzero((array != 0) & (array != 1))
    if bad.size:
        value = float(array[bad[0]])
        kind = "an integer" if value != int(value) else "0 or 1"
        shown = int(value) if value == int(value) else value
        raise ValueError(f"{name} must hold Bernoulli outcomes (0 or 1); value {shown!r} at index {bad[0]} is not {kind}")
    return array.astype(int)


def probability_vector(name: str, p: Any, atol: float = 1e-9) -> np.ndarray:
    """Return ``p`` as a float array of probabilities that sum to one, or raise."""
    array = finite_vector(name, p)
    if array.size == 0:
        raise ValueError(f"{name} must hold at least one probability")
    bad = np.flatnonzero((array < 0) | (array > 1))
    if bad.size:
        raise ValueError(f"{name} must hold probabilities in [0, 1], got {array[bad[0]].item()!r} at index {bad[0]}")
    total = float(array.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1 (within {atol:g}), got a sum of {total!r} (off by {total - 1.0:.3g})")
    return array


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
