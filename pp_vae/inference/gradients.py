"""Two Monte Carlo estimators of a gradient of ``E_q[f(z)]`` with respect to ``q``'s parameters (lecture 4).

For ``q = N(loc, scale^2)`` and draws ``z = loc + scale * eps``, ``eps ~ N(0, 1)``:

* the **score function** (REINFORCE, Williams 1992): ``f(z) * d/dtheta log q(z)``, which needs only values
  of ``f``, but whose noise grows with the size of ``f``;
* the **reparameterisation** (Kingma and Welling 2014): ``d/dtheta f(loc + scale * eps)`` by the chain rule,
  which needs ``f``'s gradient, and moves with ``f``'s slope rather than its size.

Both are unbiased; the functions return one estimate per draw, so their means and variances can be
compared draw for draw (with common random numbers ``eps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PerDrawGradients:
    """One gradient estimate per draw: shape ``(draws, parameters)`` (for the toy, ``(loc, log_scale)``)."""

    values: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """The Monte Carlo estimate of the gradient (average over draws)."""
        return self.values.mean(0)

    @property
    def variance(self) -> np.ndarray:
        """The variance of one draw's estimate: the estimator's noise."""
        return self.values.var(0, ddof=1)

    @property
    def standard_error(self) -> np.ndarray:
        """The standard error of :attr:`mean`."""
        return np.sqrt(self.variance / self.values.shape[0])

    @property
    def variance_standard_error(self) -> np.ndarray:
        """The standard error of :attr:`variance`: the sd of the squared deviations over the square root of the draws."""
        squared = (self.values - self.values.mean(0)) ** 2
        return squared.std(0, ddof=1) / np.sqrt(self.values.shape[0])


def _draws(draws: int, seed: int) -> torch.Tensor:
    return torch.randn(draws, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def score_function_gradients(
    f: Callable[[torch.Tensor], torch.Tensor], loc: float, scale: float, draws: int = 10_000, seed: int = 0
) -> PerDrawGradients:
    """``f(z) * grad log q(z)`` per draw, for ``loc`` and ``log scale``: ``f(z) (z - loc) / scale^2`` and ``f(z) (eps^2 - 1)``."""
    eps = _draws(draws, seed)
    value = f(loc + scale * eps)
    return PerDrawGradients(torch.stack([value * eps / scale, value * (eps**2 - 1)], -1).numpy())


def reparameterised_gradients(
    f: Callable[[torch.Tensor], torch.Tensor], loc: float, scale: float, draws: int = 10_000, seed: int = 0
) -> PerDrawGradients:
    """``d/dtheta f(loc + scale * eps)`` per draw by autograd: ``f'(z)`` for ``loc`` and ``f'(z) scale eps`` for ``log scale``."""
    eps = _draws(draws, seed)
    z = (loc + scale * eps).requires_grad_(True)
    (slope,) = torch.autograd.grad(f(z).sum(), z)
    return PerDrawGradients(torch.stack([slope, slope * scale * eps], -1).detach().numpy())


def summed_variance_ratio(
    numerator: PerDrawGradients, denominator: PerDrawGradients, resamples: int = 200, seed: int = 0
) -> tuple[float, float]:
    """``sum(numerator.variance) / sum(denominator.variance)`` and its bootstrap standard error over the draws.

    The two estimators share their draws (common random numbers), so each resample picks the same draws for both.
    """
    draws = numerator.values.shape[0]
    if denominator.values.shape[0] != draws:
        raise ValueError(f"the two estimators must share their draws: {draws} against {denominator.values.shape[0]}")
    if resamples < 2:
        raise ValueError(f"resamples must be >= 2, got {resamples}")
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(resamples):
        pick = rng.integers(0, draws, draws)
        ratios.append(numerator.values[pick].var(0, ddof=1).sum() / denominator.values[pick].var(0, ddof=1).sum())
    return float(numerator.variance.sum() / denominator.variance.sum()), float(np.std(ratios, ddof=1))
