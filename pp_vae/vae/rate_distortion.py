"""Rate and distortion: the two terms of the ELBO read as a communication problem (lectures 7-8; Alemi et al. 2018).

For a VAE, ``-ELBO = R + D`` with the **rate** ``R = E_x KL(q(z|x) || p(z))`` (nats the code carries about an
image) and the **distortion** ``D = -E_x E_q log p(x|z)`` (nats still needed to describe the image given its
code). Every beta-VAE trades one for the other; the ELBO alone cannot say which trade a model should make.

Two exact references live here:

* :func:`independent_pixel_log_likelihood`: the best model that ignores ``z`` altogether, a Binomial per pixel
  fitted to the training counts. A VAE whose code carries nothing (``R = 0``) can do no better than this
  decoder with a factorised likelihood: it is where full posterior collapse lands.
* :func:`tabular_rate_distortion`: a discrete world small enough to enumerate, where ``p(x)`` is known and a
  decoder may be *universal* (any table ``p(x|z)``). With the best decoder and prior for a given encoder,
  ``R + D = H(X)`` exactly, whatever the encoder: the ELBO is the same for every amount of information in
  the code, from none (collapse) to all of it. That is the indeterminacy of the VAE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy import special, stats

from pp_vae.validation import integer_at_least, probability_vector

if TYPE_CHECKING:
    import torch

    from pp_vae.vae.family import VAEFamily


def _counts(name: str, images: Any, trials: int) -> np.ndarray:
    array = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of images (rows) by pixels, got shape {array.shape}")
    counts = array * trials
    if np.any(np.abs(counts - np.round(counts)) > 1e-3) or np.any(counts < -1e-9) or np.any(counts > trials + 1e-9):
        raise ValueError(f"{name} must hold grey levels k / {trials} for counts k in 0..{trials}")
    return np.round(counts)


def independent_pixel_log_likelihood(train: Any, test: Any, trials: int, model: str = "binomial") -> np.ndarray:
    """Each test image's ``log p(x)`` (nats) under a model that treats the pixels as independent, fitted to ``train``.

    ``model="binomial"``: one Binomial(``trials``, ``p_j``) per pixel, ``p_j`` the training images' ink rate in
    pixel ``j`` -- the best decoder of a Binomial VAE whose code carries nothing (rate 0): where full posterior
    collapse lands. ``model="categorical"``: each pixel's own frequency table over the ``trials + 1`` counts,
    the best code of any kind that ignores how pixels go together. Both are smoothed by half a count, so a
    value never seen in training keeps a finite probability.
    """
    integer_at_least("trials", trials)
    train_counts, test_counts = _counts("train", train, trials), _counts("test", test, trials)
    if train_counts.shape[1] != test_counts.shape[1]:
        raise ValueError(f"train has {train_counts.shape[1]} pixels per image and test {test_counts.shape[1]}")
    if model == "binomial":
        p = (train_counts.sum(0) + 0.5) / (train_counts.shape[0] * trials + 1.0)
        return np.asarray(stats.binom.logpmf(test_counts, trials, p).sum(1))
    if model == "categorical":
        levels = np.arange(trials + 1)
        table = (train_counts[:, :, None] == levels).sum(0) + 0.5  # (pixels, levels)
        log_table = np.log(table / table.sum(1, keepdims=True))
        pixels = np.arange(test_counts.shape[1])
        return np.asarray(log_table[pixels, test_counts.astype(int)].sum(1))
    raise ValueError(f"model must be 'binomial' or 'categorical', got {model!r}")


class RateDistortion(NamedTuple):
    """The two terms of ``-ELBO`` (nats), averaged over ``x``."""

    rate: float
    """``E_x KL(q(z | x) || p(z))``."""
    distortion: float
    """``-E_x E_q log p(x | z)``."""

    @property
    def elbo(self) -> float:
        """``-(rate + distortion)``."""
        return -(self.rate + self.distortion)


def _encoder(encoder: Any, states: int) -> np.ndarray:
    table = np.asarray(encoder, dtype=float)
    if table.ndim != 2 or table.shape[0] != states:
        raise ValueError(f"encoder must be a table with one row q(z | x) per outcome x ({states} rows), got shape {table.shape}")
    for row, values in enumerate(table):
        probability_vector(f"encoder row {row}", values)
    return table


def tabular_rate_distortion(p_x: Any, encoder: Any, decoder: Any | None = None, prior: Any | None = None) -> RateDistortion:
    """Rate and distortion of a discrete VAE with data distribution ``p_x`` and encoder table ``q(z | x)``.

    ``decoder`` is a table ``p(x | z)`` (one column per code ``z``) and ``prior`` a vector ``p(z)``. Left out,
    each is the best one for this encoder: the prior is the aggregate ``q(z) = sum_x p(x) q(z | x)`` and the
    decoder the encoder's own Bayes inverse ``q(x | z)``. Then ``R = I(X; Z)`` and ``D = H(X | Z)``, and
    ``R + D = H(X)`` for every encoder.
    """
    p = probability_vector("p_x", p_x)
    q = _encoder(encoder, p.size)
    aggregate = p @ q
    prior = aggregate if prior is None else probability_vector("prior", prior)
    if decoder is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            decoder = np.where(aggregate > 0, p[:, None] * q / aggregate, 0.0)
    decoder = np.asarray(decoder, dtype=float)
    rate = float(p @ special.rel_entr(q, prior).sum(1))
    with np.errstate(divide="ignore"):
        distortion = float(-(p[:, None] * special.xlogy(q, decoder)).sum())
    return RateDistortion(rate, distortion)


def rate_and_distortion(vae: VAEFamily, x: torch.Tensor, num_samples: int = 100) -> tuple[RateDistortion, np.ndarray]:
    """A trained VAE's rate and distortion on images ``x`` (averages), and each image's ELBO ``-(rate + distortion)``.

    The rate is the closed-form (or chain-rule) KL of :meth:`VAEFamily.kl_per_dim`; the distortion is what is left
    of the ELBO, estimated with ``num_samples`` draws per image.
    """
    import torch

    with torch.no_grad():
        elbo = vae.elbo(x, num_samples=num_samples).double().cpu().numpy()
        kl = vae.kl_per_dim(x).sum(-1).double().cpu().numpy()
    return RateDistortion(float(kl.mean()), float(-(elbo + kl).mean())), elbo
