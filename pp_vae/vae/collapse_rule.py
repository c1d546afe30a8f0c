"""The collapse rule PPCA predicts (Lucas et al. 2019): with ``sigma^2`` fixed, a direction survives only above ``sigma^2``.

At a fixed noise variance ``sigma^2`` PPCA's likelihood is maximised by ``W = U_q (Lambda_q - sigma^2 I)_+^{1/2} R``
(Tipping and Bishop 1999), ``Lambda`` the data covariance's eigenvalues: a direction whose eigenvalue is at most
``sigma^2`` gets a zero column, because the noise already explains its variance, and its latent is then the prior
for every image (collapsed). A linear VAE with a Gaussian decoder of that fixed ``sigma`` reaches the same optimum
(its encoder's family holds PPCA's posterior), so the same count of directions stays active. For an active
direction the exact posterior's KL to the prior, averaged over the data, is ``(1/2) log(lambda_i / sigma^2)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg

from pp_vae.vae.ppca import LinearGaussian, _images
from pp_vae.validation import finite_vector, integer_at_least, positive_scalar


def covariance_spectrum(x: Any) -> np.ndarray:
    """The eigenvalues of the rows' covariance (divisor ``n``, as PPCA's maximum likelihood uses), largest first."""
    array = _images("x", x)
    if array.shape[0] < 2:
        raise ValueError(f"x needs at least 2 images to have a covariance, got {array.shape[0]}")
    return np.asarray(linalg.eigvalsh(np.cov(array, rowvar=False, bias=True)))[::-1].copy()


def _spectrum(spectrum: Any) -> np.ndarray:
    values = finite_vector("spectrum", spectrum)
    if (values < -1e-12 * max(1.0, float(np.abs(values).max()))).any() or np.any(np.diff(values) > 0):
        raise ValueError("spectrum must be a covariance's eigenvalues: non-negative and sorted largest first")
    return values


def predicted_active(spectrum: Any, noise_variance: float) -> int:
    """How many directions stay active at fixed ``sigma^2 = noise_variance``: the eigenvalues above it."""
    return int((_spectrum(spectrum) > positive_scalar("noise_variance", noise_variance)).sum())


def predicted_kl(spectrum: Any, noise_variance: float, latent_dim: int) -> np.ndarray:
    """Each of ``latent_dim`` latents' KL to the prior at the optimum, largest first: ``(1/2) log(lambda_i / sigma^2)`` or 0."""
    values = _spectrum(spectrum)
    q = integer_at_least("latent_dim", latent_dim)
    if q > values.size:
        raise ValueError(f"latent_dim must be at most the {values.size} eigenvalues, got {q}")
    return 0.5 * np.log(np.maximum(values[:q] / positive_scalar("noise_variance", noise_variance), 1.0))


def fixed_noise_ppca(x: Any, latent_dim: int, noise_variance: float) -> LinearGaussian:
    """PPCA's maximum-likelihood ``W = U_q (Lambda_q - sigma^2 I)_+^{1/2}`` with ``sigma^2 = noise_variance`` held fixed."""
    array = _images("x", x)
    q = integer_at_least("latent_dim", latent_dim)
    if q > array.shape[1]:
        raise ValueError(f"latent_dim must be at most the {array.shape[1]} pixels per image, got {q}")
    noise = positive_scalar("noise_variance", noise_variance)
    values, vectors = linalg.eigh(np.cov(array, rowvar=False, bias=True))
    values, vectors = values[::-1][:q], vectors[:, ::-1][:, :q]
    return LinearGaussian(vectors * np.sqrt(np.maximum(values - noise, 0.0)), array.mean(0), noise)
