"""Random-walk Metropolis in NumPy (lecture 2): the first MCMC algorithm, to set beside NUTS.

:func:`random_walk_metropolis` is the algorithm on any vectorised log density; :func:`fit_metropolis`
runs it on a bundled model (its NumPy density, :mod:`pp_vae.models`) and returns the one result type,
with the draws mapped to Stan's constrained parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.result import from_flat_draws
from pp_vae.models.catalogue import get_model
from pp_vae.stan.data_block import check_data
from pp_vae.stan.density import StanDensity
from pp_vae.stan.programs import load_program
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree


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
    density_evaluations: int
    proposal_covariance: np.ndarray
    """``L L^T`` of the proposal ``x + step_size * L z`` (the identity unless ``adapt_covariance``)."""


@dataclass
class _Proposal:
    """The proposal ``x + exp(log_step) * L z`` and its warm-up adaptation: the step by Robbins-Monro, ``L`` by windows."""

    log_step: float
    scale_tril: np.ndarray
    adapt_step: bool
    target_acceptance: float
    windows: set[int]
    warm: np.ndarray | None
    window_start: int = 0
    adapted: int = 0

    @classmethod
    def start(
        cls, dim: int, chains: int, warmup: int, step_size: float | None, target_acceptance: float, adapt_covariance: bool
    ) -> _Proposal:
        """The isotropic start at ``step_size`` (``None``: ``2.38 / sqrt(dim)``, adapted), with windows if ``adapt_covariance``."""
        windows = {int(f * warmup) for f in (0.15, 0.3, 0.6)} if adapt_covariance else set()
        warm = np.empty((warmup, chains, dim)) if adapt_covariance else None
        log_step = float(np.log(2.38 / np.sqrt(dim) if step_size is None else step_size))
        return cls(log_step, np.eye(dim), step_size is None, target_acceptance, windows, warm)

    def draw(self, i: int, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Iteration ``i``'s proposals from the chains at ``x``, ``L`` re-estimated first where a window closes."""
        if i in self.windows and self.warm is not None and i - self.window_start >= 10:
            self.scale_tril = _window_scale_tril(self.warm[self.window_start : i])
            self.window_start, self.adapted = i, 0
            self.log_step = float(np.log(2.38 / np.sqrt(x.shape[1])))
        return x + np.exp(self.log_step) * rng.standard_normal(x.shape) @ self.scale_tril.T

    def adapt(self, i: int, x: np.ndarray, accept: np.ndarray) -> None:
        """Warm-up iteration ``i``: keep the chains' states for the next window, move the step towards the target acceptance."""
        if self.warm is not None:
            self.warm[i] = x
        if self.adapt_step:
            self.adapted += 1
            self.log_step += (accept.mean() - self.target_acceptance) / np.sqrt(self.adapted)


def _checked_start(
    log_density: Callable[[np.ndarray], np.ndarray], initial: Any, chains: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The chains' first states (``initial`` plus a little jitter) and their log densities; a bad start named."""
    initial = np.atleast_1d(np.asarray(initial, dtype=float))
    if initial.ndim != 1:
        raise ValueError(f"initial must be a 1-D point, got shape {initial.shape}")
    x = initial + 0.1 * rng.standard_normal((chains, initial.size))
    log_p = np.asarray(log_density(x), dtype=float)
    if not np.all(np.isfinite(log_p)):
        raise ValueError("log_density is not finite at the initial point: start somewhere the target has mass")
    return x, log_p


def random_walk_metropolis(
    log_density: Callable[[np.ndarray], np.ndarray],
    initial: np.ndarray,
    *,
    chains: int = 4,
    draws: int = 5000,
    warmup: int = 2000,
    step_size: float | None = None,
    target_acceptance: float = 0.234,
    adapt_covariance: bool = False,
    seed: int = 0,
) -> MetropolisResult:
    """Sample ``exp(log_density)`` by proposing ``x' = x + step_size * L z``, ``z ~ N(0, I)``, accepting with prob ``min(1, p(x')/p(x))``.

    Parameters
    ----------
    log_density
        Maps points of shape ``(chains, dim)`` to their log densities ``(chains,)`` (up to a constant).
    initial
        Starting point, shape ``(dim,)``; each chain starts from it plus a little jitter.
    step_size
        Proposal sd. ``None``: start at ``2.38 / sqrt(dim)`` and adapt it during warm-up
        towards ``target_acceptance`` (Robbins-Monro on its log); it is then held fixed.
    adapt_covariance
        ``False``: ``L = I`` (isotropic proposal). ``True``: ``L L^T`` is the covariance of the warm-up draws
        (all chains), re-estimated at 15%, 30% and 60% of warm-up from the draws since the last estimate,
        and the step restarts at ``2.38 / sqrt(dim)`` (the optimal scale for a Gaussian target, Roberts,
        Gelman and Gilks 1997) each time; sampling uses the last ``L`` and step.
    """
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        integer_at_least(name, value, low)
    if step_size is not None and not step_size > 0:
        raise ValueError(f"step_size must be positive, got {step_size!r}")
    rng = np.random.default_rng(seed)
    x, log_p = _checked_start(log_density, initial, chains, rng)
    proposal = _Proposal.start(x.shape[1], chains, warmup, step_size, target_acceptance, adapt_covariance)
    out, accepted, start = np.empty((chains, draws, x.shape[1])), 0, time.perf_counter()
    for i in range(warmup + draws):
        candidate = proposal.draw(i, x, rng)
        log_p_new = np.asarray(log_density(candidate), dtype=float)
        accept = np.log(rng.random(chains)) < log_p_new - log_p  # NaN compares False: rejected
        x[accept], log_p[accept] = candidate[accept], log_p_new[accept]
        if i < warmup:
            proposal.adapt(i, x, accept)
        else:
            out[:, i - warmup], accepted = x, accepted + int(accept.sum())
    seconds = time.perf_counter() - start
    covariance = proposal.scale_tril @ proposal.scale_tril.T
    return MetropolisResult(
        out, accepted / (chains * draws), float(np.exp(proposal.log_step)), seconds, chains * (warmup + draws + 1), covariance
    )


def _window_scale_tril(window: np.ndarray) -> np.ndarray:
    """Cholesky factor of the pooled covariance of ``window`` ``(iterations, chains, dim)``, shrunk a little towards ``I``."""
    flat = window.reshape(-1, window.shape[-1])
    n = flat.shape[0]
    cov = np.atleast_2d(np.cov(flat.T))
    cov = (n / (n + 5.0)) * cov + (5.0 / (n + 5.0)) * 1e-3 * np.eye(cov.shape[0])  # Stan's regularisation of its metric
    return np.linalg.cholesky(cov)


def fit_metropolis(
    model: str,
    data: dict[str, Any],
    *,
    chains: int = 4,
    draws: int = 5000,
    warmup: int = 2000,
    step_size: float | None = None,
    adapt_covariance: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> DataTree:
    """Random-walk Metropolis on a bundled model (``"eight_schools_noncentered"``); the result type, Stan's names.

    The chains run on the model's NumPy log density (unconstrained scale, all chains at once); the
    draws are then mapped to Stan's constrained parameters by the compiled program. ``progress`` is
    accepted for a uniform interface (the sampler is vectorised and quick). ``sample_stats`` hold
    ``lp``; ``adapt_covariance`` learns the proposal's covariance in warm-up (:func:`random_walk_metropolis`);
    ``gradient_evaluations`` is 0 (Metropolis uses none) and ``density_evaluations`` is recorded.
    """
    bundled = get_model(model)
    program = load_program(bundled.name)
    density = StanDensity.of(program, check_data(program, data), seed=seed)
    log_density = bundled.log_density(data)
    run = random_walk_metropolis(
        log_density,
        np.zeros(density.dim),
        chains=chains,
        draws=draws,
        warmup=warmup,
        step_size=step_size,
        adapt_covariance=adapt_covariance,
        seed=seed,
    )
    flat_u = run.draws.reshape(-1, density.dim)
    constrained = density.constrain_draws(flat_u)
    flat = {name: values.reshape(chains, draws) for name, values in constrained.items()}
    return from_flat_draws(
        flat,
        method="metropolis",
        model=bundled.name,
        seconds=run.seconds,
        gradient_evaluations=0,
        sample_stats={"lp": log_density(run.draws)},
        density_evaluations=run.density_evaluations,
        acceptance_rate=run.acceptance_rate,
        step_size=run.step_size,
        adapt_covariance=adapt_covariance,
    )
