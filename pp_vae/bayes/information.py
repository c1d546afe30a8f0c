"""Information theory of lecture 1: surprise, entropy, cross-entropy and KL divergence.

Discrete quantities take probability vectors and report bits (base 2) or nats (base e).
:func:`gaussian_kl` is the closed-form KL between Gaussians that reappears as the VAE's KL
term; it accepts NumPy arrays or torch tensors (and keeps gradients for the latter).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy import special

from pp_vae.validation import probability_vector

Unit = Literal["bits", "nats"]


def _scale(unit: Unit) -> float:
    if unit == "bits":
        return 1.0 / np.log(2.0)
    if unit == "nats":
        return 1.0
    raise ValueError(f"unit must be 'bits' or 'nats', got {unit!r}")


def surprise(p: Any, unit: Unit = "bits") -> np.ndarray | float:
    """Surprise ``-log p`` of an outcome of probability ``p``: rare outcomes are surprising."""
    scale = _scale(unit)
    array = np.asarray(p, dtype=float)
    if np.any(np.isnan(array)) or np.any((array < 0) | (array > 1)):
        raise ValueError(f"p must hold probabilities in [0, 1], got {p!r}")
    with np.errstate(divide="ignore"):
        value = -np.log(array) * scale + 0.0  # + 0.0: a certain event's -0.0 (minus log 1) prints as 0.00
    return float(value) if value.ndim == 0 else value


def entropy(p: Any, unit: Unit = "bits") -> float:
    """Entropy ``H(p) = -sum p log p``: the expected surprise (``0 log 0 = 0``)."""
    p = probability_vector("p", p)
    return float(special.entr(p).sum() * _scale(unit))


def binary_entropy(p: Any, unit: Unit = "bits") -> np.ndarray | float:
    """Entropy of a coin with ``P(heads) = p``, elementwise over an array of ``p``."""
    array = np.asarray(p, dtype=float)
    if np.any(np.isnan(array)) or np.any((array < 0) | (array > 1)):
        raise ValueError(f"p must hold probabilities in [0, 1], got {p!r}")
    value = (special.entr(array) + special.entr(1 - array)) * _scale(unit)
    return float(value) if value.ndim == 0 else value


def _pair(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    p, q = probability_vector("p", p), probability_vector("q", q)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same length, got {p.size} and {q.size}")
    return p, q


def cross_entropy(p: Any, q: Any, unit: Unit = "bits") -> float:
    """Cross-entropy ``H(p, q) = -sum p log q``: the expected surprise under ``q`` of outcomes from ``p``."""
    p, q = _pair(p, q)
    with np.errstate(divide="ignore"):
        terms = -special.xlogy(p, q)
    return float(terms.sum() * _scale(unit))


def kl_divergence(p: Any, q: Any, unit: Unit = "bits") -> float:
    """``KL(p || q) = sum p log(p / q)`` = cross-entropy minus entropy; ``inf`` where ``q = 0 < p``."""
    p, q = _pair(p, q)
    return float(special.rel_entr(p, q).sum() * _scale(unit))


def huffman_code_lengths(q: Any) -> np.ndarray:
    """Codeword lengths (bits) of a Huffman code built for outcomes of probability ``q``: the shortest prefix code on average.

    Merging the two least likely outcomes, again and again, gives each outcome a length close to its
    surprise ``-log2 q`` (exactly that when every ``q`` is a power of 1/2). Coding outcomes that follow
    ``p`` with a code built for ``q`` costs ``sum p * length`` bits on average: :func:`cross_entropy`,
    ``H(p) + KL(p || q)``, for such dyadic ``q``. The KL is the price of the wrong code.
    """
    import heapq

    q = probability_vector("q", q)
    lengths = np.zeros(q.size, dtype=int)
    if q.size == 1:
        return lengths
    heap = [(float(prob), i, [i]) for i, prob in enumerate(q)]
    heapq.heapify(heap)
    tiebreak = q.size
    while len(heap) > 1:
        p1, _, group1 = heapq.heappop(heap)
        p2, _, group2 = heapq.heappop(heap)
        lengths[group1 + group2] += 1  # each merge adds one bit to every codeword beneath it
        heapq.heappush(heap, (p1 + p2, tiebreak, group1 + group2))
        tiebreak += 1
    return lengths


def _log(x: Any) -> Any:
    return x.log() if hasattr(x, "log") and not isinstance(x, np.ndarray) else np.log(x)


def gaussian_kl(loc_q: Any, scale_q: Any, loc_p: Any = 0.0, scale_p: Any = 1.0) -> Any:
    """Elementwise ``KL(N(loc_q, scale_q^2) || N(loc_p, scale_p^2))`` in nats.

    ``log(scale_p / scale_q) + (scale_q^2 + (loc_q - loc_p)^2) / (2 scale_p^2) - 1/2``.
    Works on NumPy arrays and torch tensors alike (broadcasting, gradients kept).
    """
    for name, scale in (("scale_q", scale_q), ("scale_p", scale_p)):
        if isinstance(scale, (int, float)) and not scale > 0:  # arrays are left unchecked: a hot path
            raise ValueError(f"{name} must be positive, got {scale!r}")
    ratio = scale_q / scale_p
    return -_log(ratio) + (ratio**2 + ((loc_q - loc_p) / scale_p) ** 2 - 1) / 2


def diagonal_gaussian_kl(loc_q: Any, scale_q: Any, loc_p: Any = 0.0, scale_p: Any = 1.0) -> Any:
    """KL between diagonal Gaussians: :func:`gaussian_kl` summed over the last axis (the VAE's KL term)."""
    return gaussian_kl(loc_q, scale_q, loc_p, scale_p).sum(-1)
