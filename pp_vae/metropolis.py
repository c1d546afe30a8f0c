"""A random-walk Metropolis sampler in NumPy: the lectures' first MCMC algorithm, to set beside NUTS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pp_vae.validation import integer_at_least


@dataclass
class MetropolisResult:
    """Draws of a random-walk Metropolis run and what it cost."""

    draws: np.ndarray
    """Post-warm-up draws, shape ``(chains, draws, dim)``."""
    acceptance_rate: float
    """Fraction of post-warm-up proposals accepted (about 0.23 is efficient in many dimensions)."""
    step_size: float
    """Proposal standard deviation after warm-up adaptation."""
    seconds: float


def random_walk_metropolis(
    log_density: Callable[[np.ndarray], np.ndarray],
    initial: np.ndarray,
    *,
    chains: int = 4,
    draws: int = 5000,
    warmup: int = 2000,
    step_size: float | None = None,
    target_acceptance: float = 0.234,
    seed: int | None = None,
) -> MetropolisResult:
    """Sample ``exp(log_density)`` by proposing ``x' = x + step_size * N(0, I)`` and accepting with prob ``min(1, p(x')/p(x))``.

    Parameters
    ----------
    log_density
        Maps points of shape ``(chains, dim)`` to their log densities ``(chains,)`` (up to a constant).
    initial
        Starting point, shape ``(dim,)``; each chain starts from it plus a little jitter.
    step_size
        Proposal sd. ``None``: start at ``2.38 / sqrt(dim)`` and adapt it during warm-up
        towards ``target_acceptance`` (Robbins-Monro on its log); it is then held fixed.
    """
    initial = np.atleast_1d(np.asarray(initial, dtype=float))
    if initial.ndim != 1:
        raise ValueError(f"initial must be a 1-D point, got shape {initial.shape}")
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        integer_at_least(name, value, low)
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    rng = np.random.default_rng(seed)
    dim = initial.size
    x = initial + 0.1 * rng.standard_normal((chains, dim))
    log_p = np.asarray(log_density(x), dtype=float)
    if not np.all(np.isfinite(log_p)):
        raise ValueError("log_density is not finite at the initial point: start somewhere the target has mass")
    adapt = step_size is None
    log_step = np.log(2.38 / np.sqrt(dim) if adapt else step_size)
    out = np.empty((chains, draws, dim))
    accepted = 0
    start = time.perf_counter()
    for i in range(warmup + draws):
        proposal = x + np.exp(log_step) * rng.standard_normal((chains, dim))
        log_p_new = np.asarray(log_density(proposal), dtype=float)
        accept = np.log(rng.random(chains)) < log_p_new - log_p  # NaN compares False: rejected
        x[accept], log_p[accept] = proposal[accept], log_p_new[accept]
        if i < warmup:
            if adapt:
                log_step += (accept.mean() - target_acceptance) / np.sqrt(i + 1)
        else:
            out[:, i - warmup] = x
            accepted += int(accept.sum())
    seconds = time.perf_counter() - start
    return MetropolisResult(out, accepted / (chains * draws), float(np.exp(log_step)), seconds)
