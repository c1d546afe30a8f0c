"""The decoder's likelihood ``p(x | z)``: how the decoder's output scores an image (lecture 4-5).

* :class:`Bernoulli` -- each pixel a Bernoulli with the decoder's logit; ``-log p(x|z)`` is the binary
  cross-entropy. For grey levels in [0, 1] (as Pyro's VAE example uses it) this is not a normalised
  density of the data, but it is the classic VAE.
* :class:`Gaussian` -- each pixel ``Normal(mean, sigma^2)``: ``-log p(x|z) = ||x - mean||^2 / (2 sigma^2) +
  D log sigma + D/2 log 2 pi``. ``sigma`` fixed, ``"learned"`` (one shared parameter trained with the
  networks) or ``"optimal"`` (the batch's closed-form optimum, the sigma-VAE of Rybkin et al. 2020).

Each is a module (a learned sigma is a parameter) answering ``distribution(decoded, x)`` (pixels as one
event), ``mean(decoded)`` and ``check(name, images)`` (the data's support, before training).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pyro.distributions as dist
import torch
from torch import nn

from pp_vae.data.images import check_pixels
from pp_vae.vae.catalogue import LIKELIHOODS, SIGMA_MODES, lookup

MIN_LOG_SIGMA = -6.0  # the sigma-VAE's floor on log sigma (Rybkin et al. 2020): sigma >= 0.0025


class Likelihood(nn.Module, ABC):
    """``p(x | z)`` given the decoder's output: one number per pixel."""

    name: ClassVar[str]

    @abstractmethod
    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        """``p(x | z)`` with the pixels as one event (``x`` is needed only by a sigma fitted to the batch)."""

    @abstractmethod
    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        """``E[x | z]``: the image the decoder's output stands for."""

    def check(self, name: str, images: np.ndarray) -> None:
        """Raise a ``ValueError`` naming ``name`` and the pixel if ``images`` hold values outside this likelihood's support."""
        check_pixels(name, images)

    @classmethod
    def from_options(cls, sigma: float | str = 0.1) -> Likelihood:
        """This likelihood built from the command line's options (each reads the ones it has)."""
        return cls()

    def config(self) -> dict[str, Any]:
        """The options that rebuild this likelihood (stored in checkpoints)."""
        return {"likelihood": self.name}

    def report(self, x: torch.Tensor, reconstruction: torch.Tensor) -> dict[str, float]:
        """Numbers ``metrics.json`` records about the likelihood on images ``x`` and their reconstructions (the Gaussian's sigma)."""
        return {}


class Bernoulli(Likelihood):
    """Each pixel ``Bernoulli(sigmoid(decoded))``: the binary cross-entropy of the usual VAE."""

    name = "bernoulli"

    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        # grey levels are not 0/1: skip the support check, as Pyro's VAE example does
        return dist.Bernoulli(logits=decoded, validate_args=False).to_event(1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(decoded)

    def check(self, name: str, images: np.ndarray) -> None:
        check_pixels(name, images, 0, 1, "; a Bernoulli likelihood needs grey levels scaled to [0, 1] (or use likelihood='gaussian')")


def check_sigma(sigma: Any) -> float | str:
    """A positive number (fixed sigma), ``"learned"`` or ``"optimal"``; anything else is a clear error."""
    if isinstance(sigma, str):
        if sigma in SIGMA_MODES:
            return sigma
        try:
            sigma = float(sigma)
        except ValueError:
            raise ValueError(f"sigma must be a positive number, 'learned' or 'optimal', got {sigma!r}") from None
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f"sigma must be a positive number, 'learned' or 'optimal', got {sigma!r}")
    return float(sigma)


def optimal_sigma(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """The sigma that maximises ``sum log N(x; mean, sigma^2)``: ``sqrt(mean squared error)`` (floored)."""
    return ((x - mean) ** 2).mean().sqrt().clamp_min(math.exp(MIN_LOG_SIGMA))


class Gaussian(Likelihood):
    """Each pixel ``Normal(decoded, sigma^2)``, with ``sigma`` fixed, ``"learned"`` or ``"optimal"``."""

    name = "gaussian"

    def __init__(self, sigma: float | str = 0.1) -> None:
        super().__init__()
        self.sigma = check_sigma(sigma)
        self.log_sigma = nn.Parameter(torch.zeros(())) if self.sigma == "learned" else None

    def sigma_value(self, x: torch.Tensor | None = None, decoded: torch.Tensor | None = None) -> torch.Tensor | float:
        """The sigma in use: the fixed number, the learned parameter, or the optimum for ``x`` and its decoded means."""
        if self.log_sigma is not None:
            return self.log_sigma.clamp_min(MIN_LOG_SIGMA).exp()
        if self.sigma == "optimal":
            if x is None or decoded is None:
                raise ValueError("the optimal sigma is a property of a batch: pass the images and their decoded means")
            return optimal_sigma(x, decoded)
        return float(self.sigma)

    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        return dist.Normal(decoded, self.sigma_value(x, decoded)).to_event(1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded

    @classmethod
    def from_options(cls, sigma: float | str = 0.1) -> Likelihood:
        return cls(sigma)

    def config(self) -> dict[str, Any]:
        return {"likelihood": self.name, "sigma": self.sigma}

    def report(self, x: torch.Tensor, reconstruction: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            return {"sigma": float(self.sigma_value(x, reconstruction))}


def make_likelihood(likelihood: str = "bernoulli", sigma: float | str = 0.1) -> Likelihood:
    """The likelihood called ``likelihood`` (``sigma`` is read by the Gaussian only)."""
    cls: type[Likelihood] = lookup(LIKELIHOODS, likelihood, "likelihood").load()
    return cls.from_options(sigma=sigma)
