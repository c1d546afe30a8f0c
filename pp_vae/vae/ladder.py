"""A two-layer hierarchical VAE with the ladder VAE's inference (Sonderby et al. 2016; lecture 6).

Model: ``z2 ~ N(0, I)``, ``z1 ~ N(top_down(z2))``, ``x ~ p(x | decoder(z1))``. Guide: a bottom-up pass
gives ``(mu_hat, sigma_hat)`` for each layer; ``q(z2|x) = N(mu_hat2, sigma_hat2)``; ``q(z1|z2, x)`` merges the
bottom-up ``N(mu_hat1, sigma_hat1)`` with the model's top-down prior by precision weighting
(:func:`precision_weighted`), so the guide and the model share the top-down network. An image's code
is ``[z1, z2]``: ``latent_dim`` numbers of ``z1`` then ``top_dim`` of ``z2``.
"""

from __future__ import annotations

from collections.abc import Callable

import pyro
import pyro.distributions as dist
import torch
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from torch.distributions import Distribution, constraints

from pp_vae.bayes.information import diagonal_gaussian_kl, gaussian_kl
from pp_vae.vae.family import VAEFamily, standard_normal, standard_normal_log_prob
from pp_vae.vae.networks import Encoder, make_decoder, make_encoder
from pp_vae.vae.spec import VAESpec

Gaussian = tuple[torch.Tensor, torch.Tensor]


def precision_weighted(loc_a: torch.Tensor, scale_a: torch.Tensor, loc_b: torch.Tensor, scale_b: torch.Tensor) -> Gaussian:
    """Product of two Gaussians, renormalised: precisions add, means are precision-weighted (the ladder merge)."""
    precision_a, precision_b = scale_a.pow(-2), scale_b.pow(-2)
    variance = 1.0 / (precision_a + precision_b)
    return (loc_a * precision_a + loc_b * precision_b) * variance, variance.sqrt()


class LadderPosterior(Distribution):
    """``q(z1, z2 | x) = q(z2 | x) q(z1 | z2, x)`` over codes ``[z1, z2]``: sampled top-down, scored layer by layer."""

    arg_constraints: dict[str, constraints.Constraint] = {}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, bottom: Gaussian, top: Gaussian, top_down: Callable[[torch.Tensor], Gaussian]) -> None:
        self.bottom, self.top, self.top_down = bottom, top, top_down
        self.split = bottom[0].shape[-1]
        super().__init__(bottom[0].shape[:-1], torch.Size([self.split + top[0].shape[-1]]), validate_args=False)

    def layers(self, z2: torch.Tensor) -> Gaussian:
        """``q(z1 | z2, x)``: the bottom-up guess merged with the prior ``p(z1 | z2)``."""
        return precision_weighted(*self.bottom, *self.top_down(z2))

    def rsample(self, sample_shape: torch.Size | list[int] | tuple[int, ...] = ()) -> torch.Tensor:
        loc2, scale2 = self.top
        z2 = loc2 + scale2 * torch.randn((*sample_shape, *loc2.shape), device=loc2.device, dtype=loc2.dtype)
        loc1, scale1 = self.layers(z2)
        return torch.cat([loc1 + scale1 * torch.randn_like(loc1), z2], -1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        z1, z2 = value[..., : self.split], value[..., self.split :]
        return dist.Normal(*self.top).log_prob(z2).sum(-1) + dist.Normal(*self.layers(z2)).log_prob(z1).sum(-1)


class LadderVAE(VAEFamily):
    """A ladder VAE: ``latent_dim`` is the size of ``z1``, ``top_dim`` that of ``z2``."""

    kind = "ladder"
    generative = ("decoder", "top_down", "likelihood")

    def __init__(self, spec: VAESpec) -> None:
        super().__init__(spec)
        self.top_dim = spec.top_dim
        input_dim, latent_dim, hidden_dim, top_dim = spec.input_dim, spec.latent_dim, spec.hidden_dim, spec.top_dim
        upper = max(hidden_dim // 2, 8)
        # bottom-up: x -> (mu_hat1, sigma_hat1) and the features the top layer reads
        self.encoder = make_encoder(spec.arch, input_dim, hidden_dim, latent_dim, spec.image_shape)
        self.encoder_top = Encoder(hidden_dim, upper, top_dim)  # reads the bottom encoder's hidden features
        self.top_down = Encoder(top_dim, upper, latent_dim)  # z2 -> (mu_p1, sigma_p1), shared by model and guide
        self.decoder = make_decoder(spec.arch, latent_dim, hidden_dim, input_dim, spec.image_shape)

    @property
    def code_dim(self) -> int:
        return self.latent_dim + self.top_dim

    def config(self) -> dict[str, object]:
        return {**super().config(), "top_dim": self.top_dim}

    def model(self, x: torch.Tensor) -> None:
        pyro.module("decoder", self.decoder)
        pyro.module("top_down", self.top_down)
        pyro.module("likelihood", self.likelihood)
        with pyro.plate("data", x.shape[0], device=x.device):
            z2 = pyro.sample("z2", dist.Normal(x.new_zeros(self.top_dim), x.new_ones(self.top_dim)).to_event(1))
            z1 = pyro.sample("z1", dist.Normal(*self.top_down(z2)).to_event(1))
            pyro.sample("x", self.likelihood.distribution(self.decoder(z1), x), obs=self.likelihood.observed(x))

    def bottom_up(self, x: torch.Tensor) -> tuple[Gaussian, Gaussian]:
        """The deterministic upward pass: ``(mu_hat1, sigma_hat1)`` and ``(mu_hat2, sigma_hat2)``."""
        h = self.encoder.hidden(x)
        return self.encoder.heads(h), self.encoder_top(h)

    def guide(self, x: torch.Tensor) -> None:
        pyro.module("encoder", self.encoder)
        pyro.module("encoder_top", self.encoder_top)
        pyro.module("top_down", self.top_down)
        q = self.posterior(x)
        with pyro.plate("data", x.shape[0], device=x.device):
            z2 = pyro.sample("z2", dist.Normal(*q.top).to_event(1))
            pyro.sample("z1", dist.Normal(*q.layers(z2)).to_event(1))

    def elbo_estimator(self) -> Trace_ELBO:
        """``TraceMeanField_ELBO``: both layers' KLs in closed form, ``z1``'s given the sampled ``z2``."""
        return TraceMeanField_ELBO()

    def posterior(self, x: torch.Tensor) -> LadderPosterior:
        bottom, top = self.bottom_up(x)
        return LadderPosterior(bottom, top, self.top_down)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        z1, z2 = z[..., : self.latent_dim], z[..., self.latent_dim :]
        return (
            self.likelihood.log_prob(self.decoder(z1), x)
            + standard_normal_log_prob(z2)
            + dist.Normal(*self.top_down(z2)).log_prob(z1).sum(-1)
        )

    def _draw_layers(self, x: torch.Tensor, num_samples: int) -> tuple[LadderPosterior, torch.Tensor, Gaussian, Gaussian]:
        """Draws of ``z2`` from the guide with ``q(z1 | z2, x)`` and ``p(z1 | z2)`` at each draw."""
        q = self.posterior(x)
        loc2, scale2 = q.top
        z2 = loc2 + scale2 * torch.randn((num_samples, *loc2.shape), device=x.device, dtype=x.dtype)
        return q, z2, q.layers(z2), self.top_down(z2)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """``E_q[log p(x|z1)] - KL(q(z2|x) || p(z2)) - E_q(z2)[KL(q(z1|z2,x) || p(z1|z2))]``, KLs in closed form."""
        q, z2, q1, prior1 = self._draw_layers(x, num_samples)
        z1 = q1[0] + q1[1] * torch.randn_like(q1[0])
        reconstruction = self.likelihood.log_prob(self.decoder(z1), x)
        return (reconstruction - diagonal_gaussian_kl(*q1, *prior1)).mean(0) - diagonal_gaussian_kl(*q.top)

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, num_samples: int = 64) -> torch.Tensor:
        """``E_q[z1 | x]`` (averaged over ``q(z2|x)``) and ``E_q[z2 | x]`` side by side."""
        q, _, q1, _ = self._draw_layers(x, num_samples)
        return torch.cat([q1[0].mean(0), q.top[0]], -1)

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor, num_samples: int = 16) -> torch.Tensor:
        """``z1``'s dimensions (``KL(q(z1_i|z2,x) || p(z1_i|z2))`` averaged over ``q(z2|x)``), then ``z2``'s."""
        q, _, q1, prior1 = self._draw_layers(x, num_samples)
        return torch.cat([gaussian_kl(*q1, *prior1).mean(0), gaussian_kl(*q.top)], -1)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z2 = standard_normal((n, self.top_dim), generator, self.device)
        loc, scale = self.top_down(z2)
        return torch.cat([loc + scale * standard_normal(tuple(loc.shape), generator, self.device), z2], -1)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The image of a code's bottom layer ``z1`` (``z2`` acts through ``z1``)."""
        return self.likelihood.mean(self.decoder(z[..., : self.latent_dim]))
