"""The decoder's likelihood ``p(x | z)``: how the decoder's output, one number per pixel, scores an image (lectures 4-5).

* :class:`Bernoulli` -- ``Bernoulli(sigmoid(decoded))`` per pixel; ``-log p(x|z)`` is the binary cross-entropy.
  An honest probability on binary images (binarised MNIST, the default); on grey levels in [0, 1] (as
  Pyro's VAE example uses it) it is not a normalised density of the data, which is why it is kept: to
  compare with that example.
* :class:`Binomial` -- each pixel counts ``trials`` events (``x * trials`` of them, e.g. the 8x8 digits' 16 ink
  cells per block), ``Binomial(trials, sigmoid(decoded))``: ``log p(x)`` is a true log-probability of the
  counts, though not how they were made (a block's cells are inked together by strokes, so the counts pile
  up at 0 and at ``trials``). The default on grey levels.
* :class:`ContinuousBernoulli` -- the normalised density on [0, 1] that the Bernoulli pretends to be
  (Loaiza-Ganem and Cunningham 2019): ``C(lambda) lambda^x (1 - lambda)^(1 - x)``.
* :class:`Gaussian` -- ``Normal(decoded, sigma^2)`` per pixel: ``-log p(x|z) = ||x - mean||^2 / (2 sigma^2) + D log
  sigma + D/2 log 2 pi``, with ``sigma`` fixed, ``"learned"`` (one shared parameter trained with the
  networks) or ``"optimal"`` (the batch's closed-form optimum while training: the sigma-VAE of Rybkin et
  al. 2020; frozen at a running estimate for evaluation, so test images never fit their own sigma).

Each is a module answering ``log_prob(decoded, x)``, ``mean(decoded)`` (the image in [0, 1] units), and
``check(name, images)`` (the data's support, before training); the Pyro model scores
``observed(x)`` under ``distribution(decoded, x)``.
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
RUNNING_MOMENTUM = 0.1  # weight of each training batch in the optimal sigma's running estimate


class Likelihood(nn.Module, ABC):
    """``p(x | z)`` given the decoder's output: one number per pixel."""

    name: ClassVar[str]

    @abstractmethod
    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        """``p(x | z)`` over :meth:`observed` pixels, as one event (``x`` is read only by a sigma fitted to the batch)."""

    @abstractmethod
    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        """``E[x | z]`` in the images' [0, 1] units: the picture the decoder's output stands for."""

    def observed(self, x: torch.Tensor) -> torch.Tensor:
        """What :meth:`distribution` scores for images ``x`` (the pixels themselves, or their counts)."""
        return x

    def log_prob(self, decoded: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log p(x | z)`` of each image (leading sample dimensions of ``decoded`` broadcast over ``x``)."""
        return self.distribution(decoded, x).log_prob(self.observed(x))

    def check(self, name: str, images: np.ndarray) -> None:
        """Raise a ``ValueError`` naming ``name`` and the pixel if ``images`` hold values outside this likelihood's support."""
        check_pixels(name, images)

    @classmethod
    def from_options(cls, sigma: float | str = 0.1, trials: int | None = None) -> Likelihood:
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


class ContinuousBernoulli(Likelihood):
    """Each pixel ``ContinuousBernoulli(sigmoid(decoded))``: the Bernoulli's form, normalised as a density on [0, 1]."""

    name = "continuous-bernoulli"

    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        return dist.ContinuousBernoulli(logits=decoded).to_event(1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return dist.ContinuousBernoulli(logits=decoded).mean

    def check(self, name: str, images: np.ndarray) -> None:
        check_pixels(name, images, 0, 1, "; a continuous Bernoulli is a density on [0, 1]")


class Binomial(Likelihood):
    """Each pixel ``Binomial(trials, sigmoid(decoded))`` over its count ``x * trials``: a true probability of count data."""

    name = "binomial"

    def __init__(self, trials: int = 16) -> None:
        super().__init__()
        if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
            raise ValueError(f"trials must be a positive integer (the count each pixel is out of), got {trials!r}")
        self.trials = int(trials)

    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        # the counts are checked once, before training (check); skipping the support check keeps the hot path lean
        # the count as a tensor made on the decoder's device: a Python number would be copied from the host on every step
        trials = decoded.new_full((), float(self.trials))
        return dist.Binomial(total_count=trials, logits=decoded, validate_args=False).to_event(1)

    def observed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * self.trials)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(decoded)

    def check(self, name: str, images: np.ndarray) -> None:
        check_pixels(name, images, 0, 1, f"; a Binomial likelihood reads x * {self.trials} as a count")
        counts = np.asarray(images).ravel() * self.trials
        bad = np.flatnonzero(np.abs(counts - np.round(counts)) > 1e-3)
        if bad.size:
            raise ValueError(
                f"{name}: pixel {bad[0]} is {np.asarray(images).ravel()[bad[0]]:.6g}, so x * {self.trials} = {counts[bad[0]]:.4g} "
                f"is not a count; a Binomial likelihood needs images with {self.trials} grey levels (or choose another likelihood)"
            )

    @classmethod
    def from_options(cls, sigma: float | str = 0.1, trials: int | None = None) -> Likelihood:
        if trials is None:
            raise ValueError(
                "a Binomial likelihood needs the number of trials per pixel, and this dataset has no integer grey levels: "
                "give trials (pp-vae train --trials N) or choose another likelihood"
            )
        return cls(trials)

    def config(self) -> dict[str, Any]:
        return {"likelihood": self.name, "trials": self.trials}

    def report(self, x: torch.Tensor, reconstruction: torch.Tensor) -> dict[str, float]:
        return {"trials": self.trials}


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
    running_sigma: torch.Tensor

    def __init__(self, sigma: float | str = 0.1) -> None:
        super().__init__()
        self.sigma = check_sigma(sigma)
        self.log_sigma = nn.Parameter(torch.zeros(())) if self.sigma == "learned" else None
        self.register_buffer("running_sigma", torch.ones(()))  # the optimal sigma's estimate for evaluation

    def sigma_value(self, x: torch.Tensor | None = None, decoded: torch.Tensor | None = None) -> torch.Tensor | float:
        """The sigma in use: the fixed number, the learned parameter, or the optimal one.

        The optimal sigma is the batch's optimum while the module trains (updating a running estimate), and
        that running estimate otherwise, so that evaluation never fits sigma to the images it scores.
        """
        if self.log_sigma is not None:
            return self.log_sigma.clamp_min(MIN_LOG_SIGMA).exp()
        if self.sigma != "optimal":
            return float(self.sigma)
        if not self.training:
            return self.running_sigma
        if x is None or decoded is None:
            raise ValueError("while training, the optimal sigma is a property of a batch: pass the images and their decoded means")
        sigma = optimal_sigma(x, decoded)
        with torch.no_grad():
            self.running_sigma.mul_(1 - RUNNING_MOMENTUM).add_(RUNNING_MOMENTUM * sigma.detach())
        return sigma

    def distribution(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        sigma = self.sigma_value(x, decoded)
        if not isinstance(sigma, torch.Tensor):  # made on the device, not copied from the host (see Binomial)
            sigma = decoded.new_full((), sigma)
        return dist.Normal(decoded, sigma).to_event(1)

    def mean(self, decoded: torch.Tensor) -> torch.Tensor:
        return decoded

    @classmethod
    def from_options(cls, sigma: float | str = 0.1, trials: int | None = None) -> Likelihood:
        return cls(sigma)

    def config(self) -> dict[str, Any]:
        return {"likelihood": self.name, "sigma": self.sigma}

    def report(self, x: torch.Tensor, reconstruction: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            return {"sigma": float(self.sigma_value(x, reconstruction))}


def make_likelihood(likelihood: str, sigma: float | str = 0.1, trials: int | None = None) -> Likelihood:
    """The likelihood called ``likelihood`` (``sigma`` is read by the Gaussian, ``trials`` by the Binomial)."""
    cls: type[Likelihood] = lookup(LIKELIHOODS, likelihood, "likelihood").load()
    return cls.from_options(sigma=sigma, trials=trials)
