"""The amortised VAE of lecture 4: a diagonal Gaussian guide, a standard Normal prior (after Pyro's ``examples/vae/vae.py``).

``model(x)``: ``z ~ N(0, I)``, ``x ~ p(x | decoder(z))``. ``guide(x)``: ``z ~ N(encoder(x))`` -- one network
outputs every image's variational parameters (amortisation). The KL term has a closed form, so
``TraceMeanField_ELBO`` trains the pair with it and :meth:`VAE.elbo` evaluates it exactly.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from torch.distributions import Distribution

from pp_vae.bayes.information import gaussian_kl
from pp_vae.vae.bounds import gaussian_q_elbo
from pp_vae.vae.family import VAEFamily, standard_normal, standard_normal_log_prob
from pp_vae.vae.made import MADEDecoder
from pp_vae.vae.networks import decoder_logits, make_decoder, make_encoder
from pp_vae.vae.spec import VAESpec


class VAE(VAEFamily):
    """A variational autoencoder with a diagonal Gaussian ``q(z | x)`` (see :class:`~pp_vae.vae.family.VAEFamily`)."""

    kind = "vae"

    def __init__(self, spec: VAESpec) -> None:
        super().__init__(spec)
        self.encoder = make_encoder(spec.arch, spec.input_dim, spec.hidden_dim, spec.latent_dim, spec.image_shape)
        self.decoder = make_decoder(spec.arch, spec.latent_dim, spec.hidden_dim, spec.input_dim, spec.image_shape)

    @property
    def code_dim(self) -> int:
        return self.latent_dim

    def model(self, x: torch.Tensor) -> None:
        """``p(x, z) = N(z; 0, I) p(x | decoder(z))`` for a batch of images ``x`` (shape ``(n, input_dim)``)."""
        pyro.module("decoder", self.decoder)
        pyro.module("likelihood", self.likelihood)
        with pyro.plate("data", x.shape[0], device=x.device):
            z = pyro.sample("z", dist.Normal(x.new_zeros(self.latent_dim), x.new_ones(self.latent_dim)).to_event(1))
            pyro.sample("x", self.likelihood.distribution(decoder_logits(self.decoder, z, x), x), obs=self.likelihood.observed(x))

    def guide(self, x: torch.Tensor) -> None:
        """``q(z | x)``, :meth:`posterior`'s ``N(z; encoder(x))``: amortised, one network for every image."""
        pyro.module("encoder", self.encoder)
        with pyro.plate("data", x.shape[0], device=x.device):
            pyro.sample("z", self.posterior(x))

    def elbo_estimator(self) -> Trace_ELBO:
        """``TraceMeanField_ELBO``: the KL of the guide to the prior in closed form (Gaussian here; bits in ``BinaryVAE``)."""
        return TraceMeanField_ELBO()

    def posterior(self, x: torch.Tensor) -> Distribution:
        """``q(z | x) = N(encoder(x))``: batch shape ``(n,)``, event shape ``(latent_dim,)``."""
        return dist.Normal(*self.encoder(x)).to_event(1)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.log_prob(decoder_logits(self.decoder, z, x), x) + standard_normal_log_prob(z)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """Each image's ELBO: ``E_q[log p(x|z)]`` by ``num_samples`` draws minus the closed-form KL."""
        loc, scale = self.encoder(x)
        return gaussian_q_elbo(self, x, loc, scale, num_samples=num_samples)

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """``KL(q(z_i | x) || N(0, 1))`` for each image and dimension (the guide factorises, so no conditioning)."""
        return gaussian_kl(*self.encoder(x))

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return standard_normal((n, self.latent_dim), generator, self.device)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``E[x | z]``, or for the autoregressive (``made``) decoder each pixel's probability along one drawn image.

        That decoder's mean has no closed form; its image is drawn pixel by pixel from torch's global generator.
        """
        if isinstance(self.decoder, MADEDecoder):
            return self.decoder.draw(z)[1]
        return self.likelihood.mean(self.decoder(z))
