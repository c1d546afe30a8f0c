"""ELBO surgery (Hoffman and Johnson 2016): the average rate split into what the code knows and where it lies.

With the data uniform over ``N`` images, the encoder defines a joint ``q(x_n, z) = q(z | x_n) / N`` whose
marginal is the *aggregate posterior* ``q(z) = (1/N) sum_n q(z | x_n)``. The average KL term of the ELBO splits
exactly into two non-negative parts:

``(1/N) sum_n KL(q(z | x_n) || p(z)) = I_q(X; Z) + KL(q(z) || p(z))``,

the mutual information between the image's index and its code under ``q`` (at most ``log N``: the code can
do no more than name the image), and the aggregate posterior's distance from the prior (large when the codes
leave regions of the prior empty, where prior samples decode to smudges). The KL term is not "information
kept": only ``I`` is.

Estimated here for a Gaussian ``q(z | x_n)`` by stratified Monte Carlo over the joint: ``draws_per_image``
codes from each image's ``q(z | x_n)``, and ``log q(z)`` at each code summed exactly over all ``N``
components (log-mean-exp), so each draw's terms are unbiased and the only error is Monte Carlo's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from pp_vae.vae.family import VAEFamily

LOG_2PI = math.log(2 * math.pi)
CHUNK_ELEMENTS = 2**22
"""Codes are scored against all ``N`` components in chunks of about this many (code, component) pairs."""


@dataclass(frozen=True)
class Surgery:
    """The average KL split into ``I(X; Z)`` and ``KL(q(z) || p(z))``, each with its Monte Carlo standard error (nats)."""

    average_kl: float
    """``(1/N) sum_n KL(q(z | x_n) || p(z))`` in closed form: the ELBO's average KL term (the rate)."""
    mutual_information: float
    mutual_information_se: float
    marginal_kl: float
    """``KL(q(z) || p(z))`` of the aggregate posterior."""
    marginal_kl_se: float
    total_se: float
    """The standard error of ``mutual_information + marginal_kl``, an estimate of ``average_kl`` from the same draws."""
    images: int
    draws_per_image: int

    @property
    def log_n(self) -> float:
        """``log N``: the most information a code can hold about which of ``N`` images it came from."""
        return math.log(self.images)

    @property
    def identity_residual(self) -> float:
        """``I + KL(q(z) || p(z)) - average KL``: zero up to Monte Carlo error."""
        return self.mutual_information + self.marginal_kl - self.average_kl


def _gaussians(loc: Any, scale: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``loc`` and ``scale`` as float64 ``(N, d)`` tensors, or a ``ValueError`` naming the bad one."""
    loc, scale = torch.as_tensor(loc, dtype=torch.float64), torch.as_tensor(scale, dtype=torch.float64, device=torch.as_tensor(loc).device)
    if loc.ndim != 2 or loc.shape[0] == 0 or loc.shape[1] == 0:
        raise ValueError(f"loc must be a 2-D array of images (rows) by latent dimensions, got shape {tuple(loc.shape)}")
    if scale.shape != loc.shape:
        raise ValueError(f"scale must have loc's shape {tuple(loc.shape)}, got {tuple(scale.shape)}")
    if not torch.isfinite(loc).all():
        raise ValueError(f"loc must be finite, got {loc[~torch.isfinite(loc)][0].item()!r}")
    if not (torch.isfinite(scale) & (scale > 0)).all():
        row, column = torch.nonzero(~(torch.isfinite(scale) & (scale > 0)))[0].tolist()
        raise ValueError(f"scale must be positive and finite, got {scale[row, column].item()!r} in image {row}, dimension {column}")
    return loc, scale


def component_log_densities(z: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``log N(z_m; loc_n, diag(scale_n^2))`` for every code ``z_m`` ``(M, d)`` and component ``n``: shape ``(M, N)``."""
    precision = scale**-2
    quadratic = (z**2) @ precision.T - 2 * z @ (loc * precision).T + (loc**2 * precision).sum(1)
    return -0.5 * quadratic.clamp_min(0) - torch.log(scale).sum(1) - 0.5 * z.shape[1] * LOG_2PI


def _stratified(values: torch.Tensor) -> tuple[float, float]:
    """Mean of ``(N, K)`` draws, ``K`` per image, and its stratified SE ``sqrt(sum_n s_n^2 / K) / N``."""
    n, k = values.shape
    return float(values.mean()), float(math.sqrt(float(values.var(1).sum()) / k) / n)


def elbo_surgery(loc: Any, scale: Any, draws_per_image: int = 2, seed: int = 0) -> Surgery:
    """Split the average ``KL(q(z | x_n) || N(0, I))`` of Gaussians ``N(loc_n, diag(scale_n^2))`` into ``I`` and the marginal KL."""
    loc, scale = _gaussians(loc, scale)
    k = integer_at_least("draws_per_image", draws_per_image, 2)
    n, d = loc.shape
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn((n, k, d), generator=generator, dtype=torch.float64).to(loc.device)
    z = (loc[:, None] + scale[:, None] * eps).reshape(n * k, d)
    owner = torch.arange(n, device=loc.device).repeat_interleave(k)
    own = torch.empty(n * k, dtype=torch.float64, device=loc.device)
    mixture = torch.empty_like(own)
    step = max(1, CHUNK_ELEMENTS // n)
    for start in range(0, n * k, step):
        block = component_log_densities(z[start : start + step], loc, scale)
        own[start : start + step] = block.gather(1, owner[start : start + step, None])[:, 0]
        mixture[start : start + step] = torch.logsumexp(block, 1) - math.log(n)
    prior = -0.5 * (z**2).sum(1) - 0.5 * d * LOG_2PI
    information, marginal = (own - mixture).reshape(n, k), (mixture - prior).reshape(n, k)
    average_kl = float((torch.log(1 / scale) + (scale**2 + loc**2 - 1) / 2).sum(1).mean())
    (i, i_se), (m, m_se), (_, total_se) = _stratified(information), _stratified(marginal), _stratified(information + marginal)
    return Surgery(average_kl, i, i_se, m, m_se, total_se, n, k)


@torch.no_grad()
def elbo_surgery_of(vae: VAEFamily, x: torch.Tensor, draws_per_image: int = 2, seed: int = 0) -> Surgery:
    """:func:`elbo_surgery` of a VAE whose ``q(z | x)`` is a diagonal Gaussian and prior ``N(0, I)``, over the images ``x``."""
    import pyro.distributions as dist

    q = vae.posterior(x)
    base = q.base_dist if isinstance(q, dist.Independent) else q
    if not isinstance(base, dist.Normal) or vae.kind != "vae":
        raise ValueError(f"ELBO surgery here needs a diagonal Gaussian q(z | x) and a N(0, I) prior (kind 'vae'), got kind {vae.kind!r}")
    return elbo_surgery(base.loc, base.scale, draws_per_image, seed)
