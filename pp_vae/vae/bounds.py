"""Bounds on ``log p(x)`` for any member of the VAE family: the ELBO and the importance-weighted bound (IWAE).

``ELBO = E_q[log p(x, z) - log q(z | x)]``; ``IWAE_K = E log (1/K sum_k p(x, z_k) / q(z_k | x))`` rises from
the ELBO (K = 1) towards ``log p(x)`` as K grows (Burda et al. 2016). Both are in nats per image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pyro.distributions as dist
import torch

from pp_vae.bayes.information import diagonal_gaussian_kl

if TYPE_CHECKING:
    from pp_vae.vae.family import VAEFamily


def gaussian_q_log_weights(vae: VAEFamily, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``log p(x, z_k) - log q(z_k)`` for ``z_k ~ q = N(loc, scale)`` (any diagonal Gaussian q, amortised or not)."""
    q = dist.Normal(loc, scale).to_event(1)
    z = q.rsample((num_samples,))
    return vae.log_joint(x, z) - q.log_prob(z)


@torch.no_grad()
def gaussian_q_elbo(vae: VAEFamily, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
    """ELBO of each image under ``q(z) = N(loc, scale)``: ``E_q[log p(x, z)] + H(q)``, i.e. reconstruction minus the closed-form KL."""
    z = loc + scale * torch.randn((num_samples, *loc.shape), device=loc.device, dtype=loc.dtype)
    prior_term = dist.Normal(0.0, 1.0).log_prob(z).sum(-1)
    reconstruction = (vae.log_joint(x, z) - prior_term).mean(0)
    return reconstruction - diagonal_gaussian_kl(loc, scale)


def sampled_in_chunks(log_weights: Callable[[int], torch.Tensor], num_samples: int, chunk: int = 250) -> torch.Tensor:
    """``log_weights(k)`` called for chunks of ``k <= chunk`` draws and stacked: ``(num_samples, n)`` in bounded memory."""
    return torch.cat([log_weights(min(chunk, num_samples - k)) for k in range(0, num_samples, chunk)])


def importance_weighted(terms: torch.Tensor) -> torch.Tensor:
    """``log (1/K sum_k exp(terms_k))`` per image: the IWAE estimate from ``K`` log weights."""
    return torch.logsumexp(terms, dim=0) - math.log(terms.shape[0])


@torch.no_grad()
def per_image_bounds(
    vae: VAEFamily, x: torch.Tensor, num_samples: int, batch_size: int = 100, chunk: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Each image's ELBO (mean of its ``K`` log weights) and IWAE bound (their log-mean-exp), from the same ``K`` draws of ``q(z | x)``."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    elbos, iwaes = [], []
    for start in range(0, x.shape[0], batch_size):
        terms = sampled_in_chunks(partial(vae.log_weights, x[start : start + batch_size]), num_samples, chunk)
        elbos.append(terms.mean(0).cpu())
        iwaes.append(importance_weighted(terms).cpu())
    return torch.cat(elbos).double().numpy(), torch.cat(iwaes).double().numpy()


@torch.no_grad()
def prior_sampling_bound(vae: VAEFamily, x: torch.Tensor, num_samples: int = 1000, batch_size: int = 10, chunk: int = 250) -> np.ndarray:
    """Each image's naive Monte Carlo ``log (1/K sum_k p(x | z_k))`` with ``z_k ~ p(z) = N(0, I)``, drawn afresh for every image.

    The importance-weighted bound with the prior as proposal: below ``log p(x)`` on average, by far when the
    posterior occupies a small part of the prior (lecture 7). Seed torch's generator for reproducible draws.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    estimates = []
    for start in range(0, x.shape[0], batch_size):
        images = x[start : start + batch_size]

        def log_likelihoods(k: int, images: torch.Tensor = images) -> torch.Tensor:
            z = vae.prior_sample(k * images.shape[0]).reshape(k, images.shape[0], -1)  # (k, n, latent): fresh codes per image
            return vae.likelihood.log_prob(vae.decoder(z), images)

        estimates.append(importance_weighted(sampled_in_chunks(log_likelihoods, num_samples, chunk)).cpu())
    return torch.cat(estimates).double().numpy()


def iwae_bound(vae: VAEFamily, x: torch.Tensor, num_samples: int = 1000, batch_size: int = 100, chunk: int = 250) -> float:
    """Importance-weighted bound per image (nats), with ``K = num_samples`` draws from the VAE's own ``q(z | x)``."""
    return float(per_image_bounds(vae, x, num_samples, batch_size, chunk)[1].mean())


@torch.no_grad()
def elbo_per_image(vae: VAEFamily, x: torch.Tensor, num_samples: int = 10, batch_size: int = 500) -> float:
    """ELBO per image (nats) with the VAE's own ``q(z|x)``: the average over ``x`` of :meth:`VAEFamily.elbo`."""
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        total += float(vae.elbo(x[start : start + batch_size], num_samples=num_samples).sum())
    return total / x.shape[0]
