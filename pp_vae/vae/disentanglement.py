"""What a beta-VAE's axes do not promise, measured (Higgins et al. 2017; Locatello et al. 2019; lecture 5).

Two measurements. :func:`identity_changes`: does sweeping one latent dimension change *which digit* the decoder
draws? A pixel classifier (:func:`pixel_classifier`) labels every image of a traversal; a dimension that changes the
label along its sweep mixes the digit's identity with whatever else it moves. :func:`match_axes`: does a second
training run find the same axes? Each dimension of one run is matched to one of the other's by the correlation of
their posterior means on the same images (the best one-to-one matching); if the objective identified the axes, each
would correlate almost perfectly with its match. Beside it, how much of the dimension a linear map of *all* the other
run's dimensions explains (``R^2``): the same information rotated gives a high ``R^2`` and a low matched correlation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from pp_vae.vae.family import VAEFamily


def pixel_classifier(images: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> Any:
    """A multinomial logistic regression of the label on the pixels (scikit-learn), fitted to ``images`` ``(n, D)``."""
    from sklearn.linear_model import LogisticRegression

    if len(images) != len(labels):
        raise ValueError(f"images and labels must pair up: {len(images)} images, {len(labels)} labels")
    return LogisticRegression(max_iter=max_iter).fit(np.asarray(images), np.asarray(labels))


@torch.no_grad()
def identity_changes(
    vae: VAEFamily, x: torch.Tensor, predict: Callable[[np.ndarray], np.ndarray], dims: Sequence[int], extent: float = 3.0, steps: int = 9
) -> np.ndarray:
    """Per image (rows) and dimension of ``dims`` (columns), the share of its traversal whose predicted class differs from the start's.

    The start is the image decoded at ``x``'s posterior mean; its traversal decodes that code with one dimension
    swept over ``steps`` values in ``[-extent, extent]`` (the figure of lecture 5's section 5). ``predict`` labels
    decoded images ``(m, D)``.
    """
    if steps < 2 or not extent > 0:
        raise ValueError(f"a traversal needs steps >= 2 and extent > 0, got steps={steps!r}, extent={extent!r}")
    start_codes = vae.posterior_mean(x)
    n, width = start_codes.shape
    for dim in dims:
        if not 0 <= int(dim) < width:
            raise ValueError(f"dims holds {dim!r}, but the code has dimensions 0..{width - 1}")
    start = np.asarray(predict(vae.decode(start_codes).cpu().numpy()))
    values = torch.linspace(-extent, extent, steps, device=start_codes.device)
    shares = np.empty((n, len(dims)))
    for column, dim in enumerate(dims):
        codes = start_codes[:, None, :].repeat(1, steps, 1)
        codes[:, :, int(dim)] = values
        labels = np.asarray(predict(vae.decode(codes.reshape(-1, width)).cpu().numpy())).reshape(n, steps)
        shares[:, column] = (labels != start[:, None]).mean(1)
    return shares


@dataclass(frozen=True)
class AxisMatch:
    """How the dimensions of one run's code (``a``) line up with another's (``b``) on the same images.

    ``correlation[i, j]``: ``|corr(a_i, b_j)|``; ``assignment[i]``: the ``b`` dimension matched to ``a_i`` (the one-to-one
    matching of largest total ``|corr|``); ``matched[i]``: ``|corr|`` with that match; ``explained[i]``: ``R^2`` of
    ``a_i`` from a linear map of all of ``b``; the ``*_se``: bootstrap standard errors of their means over the images.
    """

    correlation: np.ndarray
    assignment: np.ndarray
    matched: np.ndarray
    explained: np.ndarray
    matched_se: float
    explained_se: float


def _matched_and_explained(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|corr|`` matrix, the best one-to-one matching's ``|corr|`` per ``a`` dimension, and each ``a`` dimension's ``R^2`` from ``b``."""
    width = a.shape[1]
    correlation = np.abs(np.corrcoef(a, b, rowvar=False)[:width, width:])
    rows, columns = linear_sum_assignment(correlation, maximize=True)
    matched = np.full(width, np.nan)
    matched[rows] = correlation[rows, columns]
    design = np.column_stack([np.ones(len(b)), b])
    residual = a - design @ np.linalg.lstsq(design, a, rcond=None)[0]
    explained = 1 - residual.var(0) / a.var(0)
    return correlation, matched, explained


def match_axes(a: np.ndarray, b: np.ndarray, draws: int = 200, seed: int = 0) -> AxisMatch:
    """Match the columns of ``a`` ``(n, d_a)`` to those of ``b`` ``(n, d_b)`` (posterior means of two runs on the same ``n`` images)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 2 or b.ndim != 2 or len(a) != len(b):
        raise ValueError(f"a and b must be (images, dimensions) arrays of the same images, got shapes {a.shape} and {b.shape}")
    if a.shape[1] > b.shape[1]:
        raise ValueError(f"each of a's {a.shape[1]} dimensions needs its own match among b's {b.shape[1]}")
    if len(a) <= b.shape[1] + 1 or np.any(a.std(0) == 0) or np.any(b.std(0) == 0):
        raise ValueError("match_axes needs more images than dimensions, and every dimension must vary across them")
    correlation, matched, explained = _matched_and_explained(a, b)
    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(draws):
        pick = rng.integers(0, len(a), len(a))
        _, m, e = _matched_and_explained(a[pick], b[pick])
        resampled.append((m.mean(), e.mean()))
    spread = np.std(resampled, axis=0) if resampled else np.full(2, np.nan)
    assignment = linear_sum_assignment(correlation, maximize=True)[1]
    return AxisMatch(correlation, assignment, matched, explained, float(spread[0]), float(spread[1]))
