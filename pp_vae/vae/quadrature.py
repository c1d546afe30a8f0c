"""Ground truth inside a VAE with a 2-D code: the exact posterior on a grid, ``log p(x)`` by quadrature, NUTS on the code.

With two latent dimensions ``p(x) = integral p(z) p(x | z) dz`` is a 2-D integral, cheap to do on a grid (lecture 9).
:func:`latent_grid` finds where an image's posterior lives with a coarse grid over the prior's range, then
integrates on a fine grid over that box (the trapezoid rule, which converges fast for smooth integrands that
vanish at the box's edges). Every bound of lectures 4-6 can then be measured against the truth instead of
against another bound, and :func:`latent_nuts` samples the same posterior by NUTS for comparison.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.vae.family import VAEFamily

RELATIVE_MASS = 30.0
"""Grid points whose log joint is more than this far below the peak (a factor e^-30) hold no mass that matters."""


class LatentGrid(NamedTuple):
    """``log p(x, z)`` of one image on a grid of 2-D codes, and the ``log p(x)`` it integrates to."""

    z1: np.ndarray
    """Grid values of the first code dimension, ``(m,)``."""
    z2: np.ndarray
    """Grid values of the second, ``(m,)``."""
    log_joint: np.ndarray
    """``log p(x, z)`` at ``(z1[i], z2[j])``, shape ``(m, m)``."""
    log_likelihood: float
    """``log p(x)`` by the trapezoid rule (nats)."""

    def log_posterior(self) -> np.ndarray:
        """``log p(z | x)`` on the grid."""
        return self.log_joint - self.log_likelihood

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The exact posterior mean ``(2,)`` and covariance ``(2, 2)``, by the same quadrature."""
        weights = _trapezoid(self.z1)[:, None] * _trapezoid(self.z2)[None, :] * np.exp(self.log_posterior())
        g1, g2 = np.meshgrid(self.z1, self.z2, indexing="ij")
        mean = np.array([(weights * g1).sum(), (weights * g2).sum()])
        d1, d2 = g1 - mean[0], g2 - mean[1]
        cov = np.array([[(weights * d1 * d1).sum(), (weights * d1 * d2).sum()], [(weights * d1 * d2).sum(), (weights * d2 * d2).sum()]])
        return mean, cov


def _trapezoid(values: np.ndarray) -> np.ndarray:
    step = values[1] - values[0]
    weights = np.full(values.size, step)
    weights[[0, -1]] = step / 2
    return weights


@torch.no_grad()
def _log_joint(vae: VAEFamily, x: torch.Tensor, z1: np.ndarray, z2: np.ndarray, batch: int = 65_536) -> np.ndarray:
    g1, g2 = np.meshgrid(z1, z2, indexing="ij")
    codes = torch.tensor(np.stack([g1.ravel(), g2.ravel()], -1), dtype=x.dtype, device=vae.device)
    values = [vae.log_joint(x.expand(len(chunk), -1), chunk).double().cpu() for chunk in codes.split(batch)]
    return torch.cat(values).numpy().reshape(g1.shape)


def _integrate(z1: np.ndarray, z2: np.ndarray, log_joint: np.ndarray) -> float:
    log_weights = np.log(_trapezoid(z1))[:, None] + np.log(_trapezoid(z2))[None, :]
    total = log_joint + log_weights
    peak = total.max()
    return float(peak + np.log(np.exp(total - peak).sum()))


def latent_grid(vae: VAEFamily, x: torch.Tensor, extent: float = 5.0, points: int = 201) -> LatentGrid:
    """The exact posterior of one image ``x`` (shape ``(D,)`` or ``(1, D)``) under a VAE with a 2-D code, on a grid.

    A coarse ``points x points`` grid over ``[-extent, extent]^2`` (the prior holds all but 1e-6 of its mass
    there for ``extent = 5``) locates the posterior; a second grid of the same size over the box where the
    log joint is within :data:`RELATIVE_MASS` of its peak (padded by two coarse cells) integrates it.
    """
    if vae.code_dim != 2:
        raise ValueError(f"the latent grid needs a 2-D code (latent_dim = 2), this VAE's code has {vae.code_dim} dimensions")
    integer_at_least("points", points, 11)
    x = x.reshape(1, -1).to(vae.device)
    coarse = np.linspace(-extent, extent, points)
    log_joint = _log_joint(vae, x, coarse, coarse)
    rows, cols = np.nonzero(log_joint > log_joint.max() - RELATIVE_MASS)
    step = coarse[1] - coarse[0]

    def span(index: np.ndarray) -> np.ndarray:
        return np.linspace(coarse[index.min()] - 2 * step, coarse[index.max()] + 2 * step, points)

    z1, z2 = span(rows), span(cols)
    fine = _log_joint(vae, x, z1, z2)
    return LatentGrid(z1, z2, fine, _integrate(z1, z2, fine))


def grid_log_likelihood(vae: VAEFamily, x: torch.Tensor, extent: float = 5.0, points: int = 201) -> np.ndarray:
    """Each image's ``log p(x)`` (nats) by 2-D quadrature: the truth the ELBO and IWAE bound from below."""
    return np.array([latent_grid(vae, image, extent, points).log_likelihood for image in x])


def latent_nuts(
    vae: VAEFamily, x: torch.Tensor, draws: int = 1000, warmup: int = 500, chains: int = 2, seed: int = 0, progress: bool = False
) -> DataTree:
    """NUTS draws of one image's code from its exact posterior ``p(z | x)`` (decoder fixed), as the course's one result type.

    Pyro's NUTS on the potential ``-log p(x, z)``; each chain starts at the encoder's posterior mean plus
    a little noise. The result's posterior variable is ``z`` with shape ``(chain, draw, code_dim)``.
    """
    from pp_vae.inference.pyro_nuts import Potential, pyro_nuts
    from pp_vae.inference.svi import frozen

    x = x.reshape(1, -1).to(vae.device)
    start = vae.posterior_mean(x)[0]

    def potential(params: dict[str, torch.Tensor]) -> torch.Tensor:
        return -vae.log_joint(x, params["z"][None])[0]

    def chain_start(chain: int) -> tuple[Potential, dict[str, torch.Tensor], None]:
        torch.manual_seed(seed * 1009 + chain)
        return potential, {"z": start + 0.1 * torch.randn(start.shape, device=start.device)}, None

    with frozen(vae):  # NUTS differentiates with respect to z alone
        return pyro_nuts(
            chain_start,
            method="nuts",
            model=f"{type(vae).__name__} latent posterior",
            draws=draws,
            warmup=warmup,
            chains=chains,
            target_accept=0.9,
            progress=progress,
        )


def log_normal_density(z: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``log N(z; mean, cov)`` for 2-D points ``z`` of shape ``(..., 2)`` (a contour of a Gaussian ``q`` on the grid)."""
    diff = z - mean
    inv = np.linalg.inv(cov)
    return -0.5 * (np.einsum("...i,ij,...j->...", diff, inv, diff) + np.log(np.linalg.det(cov)) + 2 * math.log(2 * math.pi))
