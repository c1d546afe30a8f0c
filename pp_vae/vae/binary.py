"""A VAE whose code is a vector of bits, trained with the straight-through estimator (lecture 8).

``z ~ Bernoulli(1/2)^d``, ``x ~ p(x | decoder(z))``; the guide ``q(z | x) = prod_j Bernoulli(sigmoid(logit_j(x)))``.
A bit has no reparameterisation: ``z`` does not move smoothly with the logits. The **straight-through**
estimator (Bengio et al. 2013) draws the hard bit in the forward pass and, in the backward pass, lets the
gradient through as if the bit were its relaxed (Concrete, Maddison et al. 2017) version: biased, but of
low variance. Pyro's ``RelaxedBernoulliStraightThrough`` does exactly that; :class:`StraightThroughBernoulli`
wraps it so that the *values* keep the exact Bernoulli probabilities (a hard draw from the relaxed
Bernoulli is 1 with probability ``sigmoid(logit)``), its ``log_prob`` is the Bernoulli's, and its KL to
the prior has the Bernoulli's closed form.

With ``d`` bits there are only ``2^d`` codes, so for small ``d`` everything the Gaussian VAE can only bound
is computed exactly by enumeration: ``log p(x)``, the ELBO, and the gap between them.
"""

from __future__ import annotations

import itertools
import math

import pyro
import pyro.distributions as dist
import torch
from pyro.distributions import RelaxedBernoulliStraightThrough
from torch.distributions import Distribution

from pp_vae.vae.family import standard_normal
from pp_vae.vae.gaussian import VAE

TEMPERATURE = 0.5
"""The relaxation's temperature: it shapes the straight-through gradient only, never the bits drawn."""
MAX_ENUMERATED_BITS = 16


class StraightThroughBernoulli(dist.Bernoulli):
    """``Bernoulli(logits)`` with an ``rsample``: a hard 0/1 draw whose gradient is the relaxed draw's (straight-through)."""

    has_rsample = True

    def rsample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> torch.Tensor:
        """Hard bits, distributed exactly as ``Bernoulli(sigmoid(logits))``, differentiable through their relaxation."""
        temperature = self.logits.new_full((), TEMPERATURE)  # made on the device: no copy from the host (a recorded step forbids one)
        relaxed = RelaxedBernoulliStraightThrough(temperature, logits=self.logits)
        return relaxed.rsample(torch.Size(sample_shape))

    def expand(self, batch_shape: torch.Size | tuple[int, ...], _instance: dist.Distribution | None = None) -> StraightThroughBernoulli:
        new = self._get_checked_instance(StraightThroughBernoulli, _instance)
        expanded: StraightThroughBernoulli = super().expand(batch_shape, _instance=new)
        return expanded


def bernoulli_kl(logits: torch.Tensor) -> torch.Tensor:
    """``KL(Bernoulli(sigmoid(logits)) || Bernoulli(1/2))`` per bit: ``log 2 - H(p)`` nats."""
    p = torch.sigmoid(logits)
    entropy = -(p * torch.nn.functional.logsigmoid(logits) + (1 - p) * torch.nn.functional.logsigmoid(-logits))
    return math.log(2) - entropy


class BinaryVAE(VAE):
    """The VAE with ``latent_dim`` Bernoulli bits as its code: its networks, guide and decoding, another prior and ``q``.

    The encoder's loc head gives the bits' logits; ``guide`` (the :class:`~pp_vae.vae.gaussian.VAE`'s) draws ``z`` from
    :meth:`posterior`, here straight-through bits, and ``TraceMeanField_ELBO`` takes their KL in closed form.
    """

    kind = "binary"

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's bit logits, shape ``(n, latent_dim)``."""
        return self.encoder.heads(self.encoder.hidden(x))[0]

    def model(self, x: torch.Tensor) -> None:
        """``p(x, z) = Bernoulli(z; 1/2) p(x | decoder(z))``."""
        pyro.module("decoder", self.decoder)
        pyro.module("likelihood", self.likelihood)
        with pyro.plate("data", x.shape[0], device=x.device):
            z = pyro.sample("z", dist.Bernoulli(x.new_full((self.latent_dim,), 0.5)).to_event(1))
            pyro.sample("x", self.likelihood.distribution(self.decoder(z), x), obs=self.likelihood.observed(x))

    def posterior(self, x: torch.Tensor) -> Distribution:
        """``q(z | x)``: independent bits, drawn straight-through so SVI can differentiate the reconstruction."""
        return StraightThroughBernoulli(logits=self.logits(x)).to_event(1)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.log_prob(self.decoder(z), x) - self.latent_dim * math.log(2)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """Each image's ELBO: the reconstruction by ``num_samples`` draws minus the closed-form KL of the bits."""
        logits = self.logits(x)
        z = StraightThroughBernoulli(logits=logits).sample((num_samples,))
        return self.likelihood.log_prob(self.decoder(z), x).mean(0) - bernoulli_kl(logits).sum(-1)

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        return bernoulli_kl(self.logits(x))

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return (standard_normal((n, self.latent_dim), generator, self.device) > 0).float()  # a fair coin per bit

    # -- exact answers by enumerating the 2^d codes ---------------------------------------------------

    def all_codes(self) -> torch.Tensor:
        """Every code, shape ``(2^d, d)``; refused above :data:`MAX_ENUMERATED_BITS` bits."""
        if self.latent_dim > MAX_ENUMERATED_BITS:
            raise ValueError(f"enumerating 2^{self.latent_dim} codes is too many; exact answers need latent_dim <= {MAX_ENUMERATED_BITS}")
        dtype = next(self.parameters()).dtype
        return torch.tensor(list(itertools.product((0.0, 1.0), repeat=self.latent_dim)), device=self.device, dtype=dtype)

    def _enumerated(self, x: torch.Tensor, chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """``log p(x, z)`` and ``log q(z | x)`` at every code, ``(2^d, n)`` each, decoded ``chunk`` codes at a time."""
        codes = self.all_codes()
        q = dist.Bernoulli(logits=self.logits(x)).to_event(1)
        joint, log_q = [], []
        for start in range(0, codes.shape[0], chunk):
            block = codes[start : start + chunk, None, :].expand(-1, x.shape[0], -1)
            joint.append(self.log_joint(x, block))
            log_q.append(q.log_prob(block))
        return torch.cat(joint), torch.cat(log_q)

    @torch.no_grad()
    def exact_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's ``log p(x) = log sum_z p(z) p(x | z)`` over all ``2^d`` codes: the truth every bound is below."""
        return torch.logsumexp(self._enumerated(x)[0], 0)

    @torch.no_grad()
    def exact_elbo(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's ELBO ``sum_z q(z | x) (log p(x, z) - log q(z | x))`` over all ``2^d`` codes, with no sampling."""
        joint, log_q = self._enumerated(x)
        return (log_q.exp() * (joint - log_q)).sum(0)
