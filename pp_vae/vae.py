"""The amortised VAE as a Pyro model/guide pair (after Pyro's ``examples/vae/vae.py``).

``VAE.model(x)``: ``z ~ N(0, I)``, ``x ~ Bernoulli(decoder(z))`` (or a Gaussian of fixed sigma).
``VAE.guide(x)``: ``z ~ N(encoder(x))`` -- one network outputs every datapoint's variational
parameters (amortisation). Training (:mod:`pp_vae.vae_training`) runs SVI with
``TraceMeanField_ELBO``, whose KL term is the closed-form Gaussian KL of lecture 1.
"""

from __future__ import annotations

import math
from typing import Any

import pyro
import pyro.distributions as dist
import torch
from torch import nn

from pp_vae.validation import integer_at_least

LIKELIHOODS = ("bernoulli", "gaussian")


class Encoder(nn.Module):
    """``x -> (loc, scale)`` of the Gaussian ``q(z | x)``: an MLP with one hidden layer."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus())
        self.loc = nn.Linear(hidden_dim, latent_dim)
        self.log_scale = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x)
        return self.loc(h), torch.exp(self.log_scale(h))


class Decoder(nn.Module):
    """``z -> `` pixel logits (Bernoulli) or means (Gaussian): an MLP with one hidden layer."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, output_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """A variational autoencoder with ``model`` and ``guide`` methods for Pyro's SVI.

    Parameters
    ----------
    input_dim
        Pixels per (flattened) image.
    latent_dim, hidden_dim
        Size of ``z`` and of the encoder's and decoder's hidden layer.
    likelihood
        ``"bernoulli"`` (grey levels in [0, 1] as Bernoulli means: the usual VAE) or ``"gaussian"``
        with fixed ``sigma`` (the lectures' "MSE" view: ``-log p(x|z) = ||x - mean||^2 / (2 sigma^2) + const``).
    """

    def __init__(self, input_dim: int, latent_dim: int = 10, hidden_dim: int = 256, likelihood: str = "bernoulli", sigma: float = 0.1) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim), ("hidden_dim", hidden_dim)):
            integer_at_least(name, value)
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        self.input_dim, self.latent_dim, self.hidden_dim = input_dim, latent_dim, hidden_dim
        self.likelihood, self.sigma = likelihood, float(sigma)
        self.encoder = Encoder(input_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(latent_dim, hidden_dim, input_dim)

    def config(self) -> dict[str, Any]:
        """The constructor arguments (stored in checkpoints)."""
        return {"input_dim": self.input_dim, "latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim,
                "likelihood": self.likelihood, "sigma": self.sigma}

    def likelihood_dist(self, decoded: torch.Tensor) -> dist.Distribution:
        """``p(x | z)`` given the decoder's output, with the pixels as one event."""
        if self.likelihood == "bernoulli":
            # grey levels are not 0/1: skip the support check, as Pyro's VAE example does
            return dist.Bernoulli(logits=decoded, validate_args=False).to_event(1)
        return dist.Normal(decoded, self.sigma).to_event(1)

    def model(self, x: torch.Tensor) -> None:
        """``p(x, z) = N(z; 0, I) p(x | decoder(z))`` for a batch of images ``x`` (shape ``(n, input_dim)``)."""
        pyro.module("decoder", self.decoder)
        with pyro.plate("data", x.shape[0], device=x.device):
            prior = dist.Normal(x.new_zeros(self.latent_dim), x.new_ones(self.latent_dim)).to_event(1)
            z = pyro.sample("z", prior)
            pyro.sample("x", self.likelihood_dist(self.decoder(z)), obs=x)

    def guide(self, x: torch.Tensor) -> None:
        """``q(z | x) = N(z; encoder(x))``: amortised, one network for every image."""
        pyro.module("encoder", self.encoder)
        with pyro.plate("data", x.shape[0], device=x.device):
            loc, scale = self.encoder(x)
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``p(x | z)`` at ``z`` = the encoder's mean: what the VAE makes of ``x``."""
        return self.mean_image(self.encoder(x)[0])

    @torch.no_grad()
    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel means (probabilities for Bernoulli) decoded from latent codes ``z``."""
        decoded = self.decoder(z)
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """New images: draw ``z`` from the prior and decode it (pixel means)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device)
        return self.mean_image(z)


def log_likelihood_terms(vae: VAE, x: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``log p(x, z_k) - log q(z_k | x)`` for ``z_k ~ q(z | x)``, shape ``(num_samples, batch)``."""
    loc, scale = vae.encoder(x)
    q = dist.Normal(loc, scale).to_event(1)
    z = q.rsample((num_samples,))
    prior = dist.Normal(torch.zeros_like(loc), torch.ones_like(scale)).to_event(1)
    return vae.likelihood_dist(vae.decoder(z)).log_prob(x) + prior.log_prob(z) - q.log_prob(z)


@torch.no_grad()
def iwae_bound(vae: VAE, x: torch.Tensor, num_samples: int = 1000, batch_size: int = 100, chunk: int = 250) -> float:
    """Importance-weighted bound ``E log (1/K sum_k p(x, z_k) / q(z_k | x))`` per image (nats).

    With ``K = num_samples`` it lies above the ELBO (K = 1) and rises towards ``log p(x)`` as K grows.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        batch = x[start:start + batch_size]
        terms = torch.cat([log_likelihood_terms(vae, batch, min(chunk, num_samples - k)) for k in range(0, num_samples, chunk)])
        total += float((torch.logsumexp(terms, dim=0) - math.log(num_samples)).sum())
    return total / x.shape[0]


@torch.no_grad()
def gaussian_q_elbo(vae: VAE, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
    """ELBO of each image under ``q(z) = N(loc, scale)``: ``E_q[log p(x|z)]`` by sampling minus the closed-form KL."""
    from pp_vae.info import diagonal_gaussian_kl

    z = loc + scale * torch.randn((num_samples, *loc.shape), device=loc.device, dtype=loc.dtype)
    reconstruction = vae.likelihood_dist(vae.decoder(z)).log_prob(x).mean(0)
    return reconstruction - diagonal_gaussian_kl(loc, scale)


@torch.no_grad()
def elbo_per_image(vae: VAE, x: torch.Tensor, num_samples: int = 10, batch_size: int = 500) -> float:
    """ELBO per image (nats) with the encoder's ``q(z|x)``, ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``."""
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        batch = x[start:start + batch_size]
        total += float(gaussian_q_elbo(vae, batch, *vae.encoder(batch), num_samples=num_samples).sum())
    return total / x.shape[0]
