"""The no-latent baseline every VAE score stands beside: the best model of the pixels that has no code at all.

For binary images, an independent Bernoulli per pixel; for grey levels that are counts, each pixel's own
frequency table over its levels. Both are fitted on the training images (smoothed by half a count, so a
value never seen in training keeps a finite probability) and score each test image's ``log p(x)`` in nats.
A VAE's latent code is worth the margin by which its bound on ``log p(x)`` beats this number.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from pp_vae.data.images import ImageData
from pp_vae.vae.rate_distortion import independent_pixel_log_likelihood


def bernoulli_pixels_log_likelihood(train_means: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Each binary test image's ``log p(x)`` under independent Bernoulli pixels whose rates are the training means.

    ``train_means`` may hold grey levels (dynamic binarisation: a pixel's expected value) or 0/1 images.
    """
    p = (train_means.sum(0) + 0.5) / (train_means.shape[0] + 1.0)
    return np.asarray(test @ np.log(p) + (1.0 - test) @ np.log1p(-p))


def no_latent_log_likelihood(data: ImageData, test_images: ImageData | None = None) -> np.ndarray:
    """Each test image's ``log p(x)`` (nats) under the no-latent model of ``data``'s kind, fitted on its training images.

    The test images are ``data.test``, or ``test_images.test`` (another dataset's, prepared as ``data`` was).
    """
    scored = data if test_images is None else test_images
    train, test = (np.asarray(split.detach().cpu(), dtype=float) for split in (data.train, scored.test))
    if train.shape[0] == 0:
        raise ValueError(f"{data.name}: the no-latent baseline is fitted on training images, and this dataset has none")
    if data.levels == 1:
        return bernoulli_pixels_log_likelihood(train, test)
    if data.levels is None:
        raise ValueError(f"{data.name}: pixels without integer grey levels have no discrete no-latent baseline; binarise them")
    return independent_pixel_log_likelihood(train, test, data.levels, model="categorical")


def gaussian_pixels_log_density(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, float]:
    """Each test pixel's ``log N(x; its pixel's training mean, sigma^2)``, shape ``(n, D)``, and the one ``sigma`` fitted to them all."""
    mean = train.mean(0)
    sigma = float(np.sqrt(((train - mean) ** 2).mean()))
    return np.asarray(stats.norm.logpdf(test, mean, sigma)), sigma


def frequency_table_log_probs(train: np.ndarray, test: np.ndarray, levels: int) -> np.ndarray:
    """Each test pixel's log-probability ``(n, D)`` under its pixel's training table of ``levels + 1`` counts (half-count smoothed)."""
    train_counts, test_counts = (np.rint(np.asarray(a) * levels).astype(int) for a in (train, test))
    table = (train_counts[:, :, None] == np.arange(levels + 1)).sum(0) + 0.5
    log_table = np.log(table / table.sum(1, keepdims=True))
    return np.asarray(log_table[np.arange(test_counts.shape[1]), test_counts])
