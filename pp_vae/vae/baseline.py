"""The no-latent baseline every VAE score stands beside: the best model of the pixels that has no code at all.

For binary images, an independent Bernoulli per pixel; for grey levels that are counts, each pixel's own
frequency table over its levels. Both are fitted on the training images (smoothed by half a count, so a
value never seen in training keeps a finite probability) and score each test image's ``log p(x)`` in nats.
A VAE's latent code is worth the margin by which its bound on ``log p(x)`` beats this number. For a density on
grey levels, the no-latent model of the same kind (a Gaussian, a continuous Bernoulli per pixel) also says what
the code is worth within its family.
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


def continuous_bernoulli_pixels_log_density(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each test pixel's log density ``(n, D)`` under its own continuous Bernoulli fitted to ``train``, and the ``D`` logits.

    The decoder that ignores ``z``: each pixel's logit maximises its training log-likelihood (the continuous
    Bernoulli is an exponential family in its logit, so its mean matches the pixel's training mean), within the
    logits that torch's float32 continuous Bernoulli can use (it clamps its probability to ``[eps, 1 - eps]``, so
    ``|logit| <= log((1 - eps) / eps)``, about 15.9): the best any float32 continuous-Bernoulli VAE's decoder can do
    without a code. Pixels must lie in ``(0, 1)`` (dequantised grey levels); the log densities are torch's.
    """
    import torch

    train, test = np.asarray(train, dtype=float), np.asarray(test, dtype=float)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1] or train.shape[0] == 0:
        raise ValueError(f"train and test must be images (rows) of the same pixels, got shapes {train.shape} and {test.shape}")
    if not (train.min() > 0 and train.max() < 1 and test.min() > 0 and test.max() < 1):
        raise ValueError("the pixels must lie in (0, 1), as dequantised grey levels do: at 0 or 1 the density is unbounded")
    eps = float(np.finfo(np.float32).eps)
    cap = float(np.log((1 - eps) / eps))

    def mean(logit: np.ndarray) -> np.ndarray:  # E x = 1 / (1 - e^-t) - 1 / t, with its limit 1/2 + t / 12 near t = 0
        t = np.where(np.abs(logit) < 1e-4, 1e-4, logit)
        return np.where(np.abs(logit) < 1e-4, 0.5 + logit / 12, -1.0 / np.expm1(-t) - 1.0 / t)

    target = train.mean(0)
    low, high = np.full(target.shape, -cap), np.full(target.shape, cap)
    for _ in range(60):  # bisection: the mean rises with the logit; outside [-cap, cap] the clamp keeps the end
        middle = (low + high) / 2
        below = mean(middle) < target
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    logits = (low + high) / 2
    dist = torch.distributions.ContinuousBernoulli(logits=torch.as_tensor(logits, dtype=torch.float32))
    return dist.log_prob(torch.as_tensor(test, dtype=torch.float32)).double().numpy(), logits
