"""The contract every VAE of the course honours (after Pyro's ``examples/vae/vae_comparison.py``).

Each member is a generative model ``p(x, z) = p(z) p(x | z)`` with an amortised posterior ``q(z | x)``,
written twice: as a Pyro ``model``/``guide`` pair that SVI trains, and as torch functions the analyses
use. An image's latent *code* ``z`` is a vector of :attr:`VAEFamily.code_dim` numbers (for the ladder
VAE both layers, ``[z1, z2]``). Training, the bounds (:mod:`pp_vae.vae.bounds`) and the analyses call
only these methods, so none of them asks which member it holds:

=========================  ===========================================================================
``model(x)``, ``guide(x)``  the Pyro pair; the guide's sites match the model's latent sites
``elbo_estimator()``        the Pyro ELBO that trains the pair (closed-form KL where the member allows)
``posterior(x)``            ``q(z | x)``: a distribution over codes, batch ``(n,)``, event ``(code_dim,)``
``log_joint(x, z)``         ``log p(x, z)`` at codes ``z`` (leading sample dimensions allowed)
``log_weights(x, K)``       ``log p(x, z_k) - log q(z_k | x)`` for ``z_k ~ q``: shape ``(K, n)``
``elbo(x, K)``              each image's ELBO, shape ``(n,)``
``kl_per_dim(x)``           ``KL(q(z|x) || p(z))`` split over the code by the chain rule, shape ``(n, code_dim)``:
                            dimension ``i`` holds ``E_q KL(q(z_i | z_<i, x) || p(z_i | z_<i))``; the row sums to the KL
``posterior_mean(x)``       ``E_q[z | x]``, shape ``(n, code_dim)``
``prior_sample(n)``         codes drawn from ``p(z)``
``decode(z)``               ``E[x | z]``, the image a code stands for
=========================  ===========================================================================

The KL weight of a beta-VAE and its annealing are not the model's: they belong to the training
objective (:mod:`pp_vae.vae.objective`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pyro.distributions as dist
import torch
from pyro.infer import Trace_ELBO
from torch import nn
from torch.distributions import Distribution

from pp_vae.vae.catalogue import FAMILIES, lookup
from pp_vae.vae.likelihoods import Likelihood, make_likelihood
from pp_vae.vae.spec import VAESpec, refuse_unread


class VAEFamily(nn.Module, ABC):
    """A VAE: the Pyro model/guide pair and the torch functions every analysis uses (see the module's table).

    Built from a :class:`~pp_vae.vae.spec.VAESpec` (sizes, likelihood, networks); a member refuses a spec that sets
    an option only another member reads.
    """

    kind: ClassVar[str]
    generative: ClassVar[tuple[str, ...]] = ("decoder", "likelihood")
    """The modules that make up ``p(x, z)`` (the rest belong to the guide): what :func:`adopt_generative_model` copies."""
    decoder: torch.nn.Module
    """Every member's network from codes to the likelihood's parameters (set by the member)."""

    def __init__(self, spec: VAESpec) -> None:
        super().__init__()
        refuse_unread(self.kind, spec)
        self.spec = spec
        self.input_dim, self.latent_dim, self.hidden_dim = spec.input_dim, spec.latent_dim, spec.hidden_dim
        self.arch, self.image_shape = spec.arch, spec.image_shape
        self.likelihood: Likelihood = make_likelihood(spec.likelihood_name(), spec.sigma, spec.trials)

    # -- what each member defines ------------------------------------------------------------------

    @property
    @abstractmethod
    def code_dim(self) -> int:
        """Numbers in one image's latent code."""

    @abstractmethod
    def model(self, x: torch.Tensor) -> None:
        """The Pyro model ``p(x, z)`` of a batch of images ``x`` (shape ``(n, input_dim)``)."""

    @abstractmethod
    def guide(self, x: torch.Tensor) -> None:
        """The Pyro guide ``q(z | x)``: amortised, one network for every image."""

    @abstractmethod
    def elbo_estimator(self) -> Trace_ELBO:
        """The Pyro ELBO estimator that trains this pair."""

    @abstractmethod
    def posterior(self, x: torch.Tensor) -> Distribution:
        """``q(z | x)`` of a batch: a distribution over codes with batch shape ``(n,)``, event shape ``(code_dim,)``."""

    @abstractmethod
    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log p(x, z)`` for images ``x`` ``(n, input_dim)`` and codes ``z`` ``(..., n, code_dim)``."""

    @abstractmethod
    def kl_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """``KL(q(z|x) || p(z))`` by the chain rule, one column per code dimension; rows sum to the KL."""

    @abstractmethod
    def posterior_mean(self, x: torch.Tensor) -> torch.Tensor:
        """``E_q[z | x]`` for each image, shape ``(n, code_dim)``."""

    @abstractmethod
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codes drawn from the prior ``p(z)``, on the model's device."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``E[x | z]``: pixel means (probabilities for Bernoulli) of codes ``z``."""

    # -- what follows from them ----------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Where the networks' weights are."""
        return next(self.parameters()).device

    def config(self) -> dict[str, Any]:
        """The constructor arguments (stored in checkpoints; :func:`vae_from_config` rebuilds from them)."""
        return {
            "kind": self.kind,
            "input_dim": self.input_dim,
            "latent_dim": self.latent_dim,
            "hidden_dim": self.hidden_dim,
            "arch": self.arch,
            "image_shape": list(self.image_shape) if self.image_shape is not None else None,
            **self.likelihood.config(),
        }

    def log_weights(self, x: torch.Tensor, num_samples: int) -> torch.Tensor:
        """``log p(x, z_k) - log q(z_k | x)`` for ``z_k ~ q(z | x)``, shape ``(num_samples, n)``; differentiable."""
        q = self.posterior(x)
        z = q.rsample((num_samples,))
        return self.log_joint(x, z) - q.log_prob(z)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """Each image's ELBO ``E_q[log p(x, z) - log q(z | x)]``, by ``num_samples`` draws (members with a closed-form KL use it)."""
        return self.log_weights(x, num_samples).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's ELBO (what the module computes; training uses :class:`pp_vae.vae.objective.TrainingLoss`)."""
        return self.elbo(x)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The image decoded from each image's posterior mean code: what the VAE makes of ``x``."""
        return self.decode(self.posterior_mean(x))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` new images: codes from the prior, decoded (pixel means)."""
        return self.decode(self.prior_sample(n, generator))


def standard_normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """``N(0, 1)`` draws of ``shape`` on ``device``, from ``generator`` wherever it lives (a CPU generator for a GPU model too)."""
    if generator is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    """``log N(z; 0, I)`` summed over the last dimension."""
    return dist.Normal(0.0, 1.0).log_prob(z).sum(-1)


def adopt_generative_model(vae: VAEFamily, source: VAEFamily) -> None:
    """Give ``vae`` the generative model ``p(x, z)`` of ``source`` and freeze it, so training fits the guide alone.

    This is how a guide is compared with another on *one* fixed model (an IAF guide against the diagonal
    Gaussian one on a trained decoder, lectures 6 and 9): any difference is then the guide's.
    """
    if vae.generative != source.generative:
        raise ValueError(f"a {vae.kind} VAE cannot adopt the generative model of a {source.kind} VAE: their models differ")
    for name in vae.generative:
        try:
            getattr(vae, name).load_state_dict(getattr(source, name).state_dict())
        except RuntimeError as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(f"cannot adopt the {source.kind} VAE's {name}: the sizes differ ({first})") from None
        for parameter in getattr(vae, name).parameters():
            parameter.requires_grad_(False)


def make_vae(kind: str, spec: VAESpec) -> VAEFamily:
    """A fresh member of the VAE family called ``kind``, built from ``spec``."""
    vae: VAEFamily = lookup(FAMILIES, kind, "model").load()(spec)
    return vae


def build_vae(kind: str, input_dim: int, **options: Any) -> VAEFamily:
    """A fresh member ``kind`` of ``input_dim`` pixels from keyword options (:meth:`VAESpec.of`).

    An unknown option, or one the member does not read set away from its default (``flows=3`` for ``"vae"``),
    is a ``ValueError`` naming it.
    """
    return make_vae(kind, VAESpec.of(input_dim, **options))


def vae_from_config(config: dict[str, Any]) -> VAEFamily:
    """Rebuild a VAE (any member) from its ``config()``, as stored in a checkpoint."""
    options = dict(config)
    kind = options.pop("kind", "vae")
    if kind not in FAMILIES:
        raise ValueError(f"unknown VAE kind {kind!r}; expected one of {', '.join(FAMILIES)}")
    return build_vae(kind, **options)
