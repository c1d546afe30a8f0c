"""The training objective: minus the ELBO, with the KL term weighted (beta-VAE) and the weight annealed from 0.

``L_beta(x) = E_q[log p(x | z)] - beta KL(q(z | x) || p(z))`` (Higgins et al. 2017). In Pyro the weight is
``poutine.scale`` on the latent sites -- in the model (``log p(z)``) and in the guide (``log q(z | x)``) --
so the KL term is scaled and the reconstruction is not. KL annealing (Bowman et al. 2016) raises the
weight linearly from near 0 over the first steps. The weight is the objective's, passed to training;
the VAE itself always defines the ELBO.

**Free bits** (Kingma et al. 2016) clamp each latent dimension's KL, averaged over the minibatch, below at
``lambda`` nats: the loss's KL term becomes ``n sum_j max(lambda, mean_i KL(q(z_ij | x_i) || p(z_ij)))``, so a
dimension below the floor costs nothing to use and one above it is trained as before. It keeps a rate of at
least ``lambda`` per dimension when a powerful decoder would otherwise leave ``z`` unused (lecture 5).

Or the objective is the importance-weighted bound (Burda et al. 2016), ``IWAE_K(x) = log (1/K sum_k
p(x, z_k) / q(z_k | x))`` with ``z_k ~ q(z | x)`` reparameterised (:meth:`VAEFamily.log_weights`,
:func:`pp_vae.vae.bounds.importance_weighted`): at ``K = 1`` it is the ELBO with its KL sampled at the draw.

The loss is Pyro's ELBO computed by :class:`SyncFreeELBO`: the same number as the member's own
``TraceMeanField_ELBO`` or ``Trace_ELBO``, without the reads of the loss back to the host that Pyro's
``differentiable_loss`` makes on every step (``torch_item``, ``warn_if_nan``). On a GPU those reads make
the host wait for each step to finish, and they forbid recording the step as a CUDA graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from pyro import poutine
from pyro.distributions.util import scale_and_mask
from pyro.infer import Trace_ELBO
from pyro.poutine.scale_messenger import ScaleMessenger
from pyro.poutine.util import is_validation_enabled, site_is_subsample
from torch import nn
from torch.distributions import Independent, kl_divergence

from pp_vae.vae.bounds import importance_weighted
from pp_vae.vae.family import VAEFamily
from pp_vae.validation import integer_at_least


class LatentScale(ScaleMessenger):
    """``poutine.scale`` for the latent sample sites alone (observed sites keep their weight)."""

    def _process_message(self, msg: Any) -> None:
        if msg["type"] == "sample" and not msg["is_observed"]:
            super()._process_message(msg)


@dataclass(frozen=True)
class Objective:
    """The KL weight of each training step: ``beta``, reached linearly over ``anneal_steps`` steps (0: from the start)."""

    beta: float = 1.0
    anneal_steps: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.beta, bool) or not isinstance(self.beta, (int, float)) or not (self.beta > 0 and math.isfinite(self.beta)):
            raise ValueError(f"beta must be a positive number, got {self.beta!r}")
        integer_at_least("anneal_steps", self.anneal_steps, 0)

    def kl_weight(self, step: int) -> float:
        """The weight at training step ``step`` (counted from 0 over the whole run)."""
        if self.anneal_steps == 0:
            return float(self.beta)
        return float(self.beta) * min(1.0, (step + 1) / self.anneal_steps)


def log_prob_sum(site: dict[str, Any]) -> torch.Tensor:
    """A sample site's scaled and masked log-density, summed: Pyro's ``log_prob_sum``, computed (and kept) if not yet there."""
    if "log_prob_sum" not in site:
        log_p = site["fn"].log_prob(site["value"], *site["args"], **site["kwargs"])
        site["log_prob_sum"] = scale_and_mask(log_p, site["scale"], site["mask"]).sum()
    return site["log_prob_sum"]


def check_free_bits(free_bits: object) -> float:
    """``free_bits`` as a float: a number of nats, zero (off) or positive; anything else is a ``ValueError`` naming it."""
    if isinstance(free_bits, bool) or not isinstance(free_bits, (int, float)) or not (free_bits >= 0 and math.isfinite(free_bits)):
        raise ValueError(f"free_bits must be a number of nats >= 0 (0: off), got {free_bits!r}")
    return float(free_bits)


def free_bits_kl(q: Any, p: Any, floor: float) -> torch.Tensor:
    """``n sum_j max(floor, mean_i KL_ij)``: each dimension ``j``'s KL of a latent site, averaged over its ``n`` draws, clamped below."""
    q_base = q.base_dist if isinstance(q, Independent) else q
    p_base = p.base_dist if isinstance(p, Independent) else p
    kl = kl_divergence(q_base, p_base)  # NotImplementedError where torch has no closed form
    kl = kl.expand(q.batch_shape + q.event_shape).reshape(-1, *q.event_shape)  # (n, dimensions...)
    return kl.mean(0).clamp_min(floor).sum() * kl.shape[0]


class SyncFreeELBO(Trace_ELBO):
    """Minus the ELBO of a fully reparameterised guide, as ``TraceMeanField_ELBO`` estimates it, never read back to the host.

    Per latent site the KL in closed form where torch has it, else ``log p(z) - log q(z)`` at the draw; plus
    every observed site's log-likelihood, minus ``log q`` of the guide's auxiliary sites; averaged over
    ``num_particles`` draws. A latent site that cannot be reparameterised (it would need a score-function
    term) is refused by name. With ``free_bits`` above 0 each site's KL is :func:`free_bits_kl`'s (a site without a
    closed-form KL is refused by name).
    """

    def __init__(self, *args: Any, free_bits: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.free_bits = check_free_bits(free_bits)

    def differentiable_loss(self, model: Any, guide: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        """``-ELBO`` of one batch: a tensor on the data's device, differentiable, with no host synchronisation."""
        loss: Any = 0.0
        for model_trace, guide_trace in self._traces(model, guide, args, kwargs):
            elbo: Any = 0.0
            for name, site in model_trace.nodes.items():
                if site["type"] != "sample" or site_is_subsample(site):
                    continue
                if site["is_observed"]:
                    elbo = elbo + log_prob_sum(site)
                    continue
                q = guide_trace.nodes[name]
                if not q["fn"].has_rsample:
                    kind = type(q["fn"]).__name__
                    raise ValueError(f"guide site {name!r} cannot be reparameterised ({kind}): SyncFreeELBO needs rsample")
                if self.free_bits > 0:
                    elbo = elbo - self._free_bits_term(name, q, site)
                    continue
                try:
                    kl = scale_and_mask(kl_divergence(q["fn"], site["fn"]), scale=q["scale"], mask=q["mask"])
                    elbo = elbo - kl.sum()
                except NotImplementedError:
                    elbo = elbo + log_prob_sum(site) - log_prob_sum(q)
            for name, q in guide_trace.nodes.items():  # the guide's auxiliary sites (none in the model): minus log q
                if q["type"] == "sample" and name not in model_trace.nodes and not site_is_subsample(q):
                    elbo = elbo - log_prob_sum(q)
            loss = loss - elbo / self.num_particles
        return loss

    def _traces(self, model: Any, guide: Any, args: tuple, kwargs: dict) -> Iterator[tuple[Any, Any]]:
        """Each particle's model and guide traces: Pyro's, checked, while validation is on; else the two traces alone.

        Pyro's (a run's first step) carry every site's log-density; the lean ones (every later step) carry none, and
        the loss computes the one it reads, the likelihood's (the latent sites' KL is in closed form).
        """
        if is_validation_enabled():
            yield from self._get_traces(model, guide, args, kwargs)
            return
        for _ in range(self.num_particles):
            guide_trace = poutine.trace(guide).get_trace(*args, **kwargs)
            yield poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(*args, **kwargs), guide_trace

    def _free_bits_term(self, name: str, q: dict[str, Any], site: dict[str, Any]) -> torch.Tensor:
        """The KL term of latent site ``name`` under free bits, times the site's scale (the KL weight)."""
        if q["mask"] is not None:
            raise ValueError(f"free bits average the KL over the minibatch: latent site {name!r} is masked")
        try:
            return free_bits_kl(q["fn"], site["fn"], self.free_bits) * q["scale"]
        except NotImplementedError:
            kind = type(q["fn"]).__name__
            raise ValueError(f"free bits need each dimension's KL in closed form: latent site {name!r} ({kind}) has none") from None


class TrainingLoss(nn.Module):
    """A batch's training loss, ``-L_beta`` summed over images, differentiable; a module so ``DistributedDataParallel`` can wrap it.

    Pyro runs the VAE's model and guide as SVI would, and :class:`SyncFreeELBO` adds up the member's ELBO;
    :attr:`kl_weight` is set by the training loop from the :class:`Objective`; ``free_bits`` (nats, 0: off) clamps each
    latent dimension's minibatch-average KL below (:func:`free_bits_kl`). With ``iwae_samples = K >= 1`` the loss is
    minus the IWAE bound with ``K`` draws per image instead (no KL weight: it must stay 1; no free bits).
    """

    def __init__(self, vae: VAEFamily, free_bits: float = 0.0, iwae_samples: int = 0) -> None:
        super().__init__()
        integer_at_least("iwae_samples", iwae_samples, 0)
        if iwae_samples and free_bits:
            raise ValueError(f"the IWAE bound has no KL term to clamp: free_bits must be 0 with iwae_samples, got {free_bits!r}")
        self.vae = vae
        self.kl_weight = 1.0
        self.iwae_samples = iwae_samples
        self._estimator = SyncFreeELBO(num_particles=vae.elbo_estimator().num_particles, free_bits=free_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``-L_beta`` of the batch ``x`` at the current KL weight (the plain ELBO at weight 1, the hot path), or ``-IWAE_K``."""
        if self.iwae_samples:
            if self.kl_weight != 1.0:
                raise ValueError(f"the IWAE bound has no KL weight: kl_weight must be 1, got {self.kl_weight}")
            return -importance_weighted(self.vae.log_weights(x, self.iwae_samples)).sum()
        if self.kl_weight == 1.0:
            return self._estimator.differentiable_loss(self.vae.model, self.vae.guide, x)
        model = LatentScale(self.kl_weight)(self.vae.model)
        guide = poutine.scale(self.vae.guide, scale=self.kl_weight)
        return self._estimator.differentiable_loss(model, guide, x)
