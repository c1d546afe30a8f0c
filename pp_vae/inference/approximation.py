"""The common interface of the approximation ladder: a log density on R^d in, an :class:`Approximation` out.

Every algorithm of the ladder (:mod:`~pp_vae.inference.laplace`, :mod:`~pp_vae.inference.gaussian_vi`,
:mod:`~pp_vae.inference.pathfinder`, :mod:`~pp_vae.inference.flow`) has the same two layers, as BlackJAX's
``vi`` modules do:

* the **algorithm** (``approximate_laplace``, ``approximate_gaussian_vi``, ``approximate_pathfinder``,
  ``approximate_multipath_pathfinder``, ``approximate_flow``) takes ``logp_grad(u) -> (log p(u), grad log p(u))``
  for a point ``u`` of ``R^d`` (and optionally a cheaper ``logp(u)`` for the draws, which need no gradient)
  and returns an :class:`Approximation`: draws on ``R^d``, ``log p`` and ``log q`` at each (so PSIS can
  grade and correct ``q``), what it cost and how it went. Closed-form targets test it directly;
* the **fit** (``fit_laplace``, ``fit_gaussian_vi``, ``fit_pathfinder``, ``fit_flow``) runs the algorithm
  on a Stan program's unconstrained space (:class:`~pp_vae.stan.StanDensity`) through :func:`fit_stan`
  and returns the course's one result type, draws mapped back through Stan's constraining transform.

Each fit has the spelling of :func:`~pp_vae.inference.fit_nuts`: ``fit_x(model, data, *, draws=4000,
seed=0, progress=False, extra_fields="warn", ...)``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.stan.density import StanDensity
    from pp_vae.stan.programs import StanProgram

LogDensityGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]
"""A target: maps a point ``u`` of shape ``(d,)`` to ``(log p(u), grad log p(u))`` (``log p`` up to a constant)."""
LogDensity = Callable[[np.ndarray], float]
"""A target's log density alone (no gradient), for the draws' importance weights."""
LogDensityGradRows = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""A target's ``(log p, grad log p)`` at each row of an ``(n, d)`` array, served in one call."""
LogDensityRows = Callable[[np.ndarray], np.ndarray]
"""A target's ``log p`` at each row of an ``(n, d)`` array, served in one call."""
LOG_2PI = float(np.log(2.0 * np.pi))


class Target:
    """A log density on ``R^dim`` whose every call is counted: gradients and density-only evaluations apart.

    A non-finite value or gradient (outside the support, or a domain error the target reports as
    ``-inf``) comes back as ``(-inf, NaN gradient)``, so every algorithm treats failures alike.
    """

    def __init__(
        self,
        logp_grad: LogDensityGrad,
        dim: int,
        logp: LogDensity | None = None,
        *,
        grad_rows: LogDensityGradRows | None = None,
        logp_rows: LogDensityRows | None = None,
    ) -> None:
        self._logp_grad = logp_grad
        self._logp = logp
        self._grad_rows = grad_rows
        self._logp_rows = logp_rows
        self.dim = int(dim)
        self.gradient_evaluations = 0
        self.density_evaluations = 0

    @classmethod
    def of_density(cls, density: StanDensity) -> Target:
        """A Stan program's density, its rows served by the compiled module in one loop (:meth:`StanDensity.log_prob_grad_rows`)."""
        return cls(
            density.log_prob_grad, density.dim, density.log_prob, grad_rows=density.log_prob_grad_rows, logp_rows=density.log_prob_rows
        )

    def __call__(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """``(log p(u), grad log p(u))``: one gradient evaluation."""
        self.gradient_evaluations += 1
        value, gradient = self._logp_grad(u)
        value, gradient = float(value), np.asarray(gradient, dtype=float).reshape(self.dim)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return -np.inf, np.full(self.dim, np.nan)
        return value, gradient

    def log_prob(self, u: np.ndarray) -> float:
        """``log p(u)`` alone: one density evaluation (a gradient evaluation when no ``logp`` was given)."""
        if self._logp is None:
            return self(u)[0]
        self.density_evaluations += 1
        value = float(self._logp(u))
        return value if np.isfinite(value) else -np.inf

    def batch(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log densities ``(n,)`` and gradients ``(n, d)`` at the rows of ``points``."""
        points = np.atleast_2d(points)
        if self._grad_rows is not None:
            self.gradient_evaluations += len(points)
            values, gradients = self._grad_rows(points)
            bad = ~np.isfinite(values) | ~np.isfinite(gradients).all(axis=1)
            values[bad], gradients[bad] = -np.inf, np.nan
            return values, gradients
        values, gradients = np.empty(len(points)), np.empty((len(points), self.dim))
        for i, point in enumerate(points):
            values[i], gradients[i] = self(point)
        return values, gradients

    def log_probs(self, points: np.ndarray) -> np.ndarray:
        """Log densities ``(n,)`` at the rows of ``points`` (no gradients)."""
        if self._logp_rows is not None:
            self.density_evaluations += len(np.atleast_2d(points))
            values = self._logp_rows(np.atleast_2d(points))
            values[~np.isfinite(values)] = -np.inf
            return values
        return np.array([self.log_prob(point) for point in np.atleast_2d(points)])


@dataclass
class Approximation:
    """Draws from an approximation ``q`` of ``p`` on ``R^d``, and what they cost.

    ``log_p - log_q`` are the draws' importance log-weights (``log_q`` normalised, ``log_p`` up to the
    target's constant), which PSIS reads. ``khat`` is set when the draws are not plain draws from ``q``
    (multi-path Pathfinder's importance-resampled draws carry the k-hat of the pool they came from).
    """

    draws: np.ndarray
    """Shape ``(n, d)``, on the unconstrained scale."""
    log_p: np.ndarray
    log_q: np.ndarray
    gradient_evaluations: int
    density_evaluations: int
    seconds: float
    elbo: np.ndarray = field(default_factory=lambda: np.empty(0))
    """The ELBO estimate at each step (or iteration) of the optimisation, when there is one."""
    khat: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    """Method-specific facts: ``converged``, ``steps``, ``mean`` and ``covariance`` of a Gaussian ``q``, ..."""

    @property
    def log_weights(self) -> np.ndarray:
        """Importance log-weights ``log p - log q`` of the draws (unnormalised)."""
        return self.log_p - self.log_q

    def mean(self) -> np.ndarray:
        """The draws' mean, shape ``(d,)``."""
        return self.draws.mean(axis=0)

    def sd(self) -> np.ndarray:
        """The draws' standard deviation, shape ``(d,)``."""
        return self.draws.std(axis=0, ddof=1)


def as_target(logp_grad: LogDensityGrad | Target, dim: int, logp: LogDensity | None = None) -> Target:
    """``logp_grad`` as a counted :class:`Target` on ``R^dim`` (a :class:`Target` is used as it is)."""
    if isinstance(logp_grad, Target):
        if logp_grad.dim != dim:
            raise ValueError(f"the target has dimension {logp_grad.dim}, but the initial point has {dim} entries")
        return logp_grad
    return Target(logp_grad, dim, logp)


def as_initial(initial: Any, dim: int | None = None) -> np.ndarray:
    """A copy of ``initial`` as a finite 1-D float array (of ``dim`` entries when given)."""
    point = np.array(initial, dtype=float, copy=True).ravel()
    if point.size == 0 or (dim is not None and point.size != dim):
        raise ValueError(f"initial must have {dim if dim is not None else 'at least one'} entries, got {point.size}")
    if not np.all(np.isfinite(point)):
        raise ValueError(f"initial must be finite, got {point}")
    return point


def random_initial(target: Target, rng: np.random.Generator, radius: float = 2.0, tries: int = 100) -> tuple[np.ndarray, float, np.ndarray]:
    """Stan's initialisation: a uniform draw from ``(-radius, radius)^d`` where ``log p`` and its gradient are finite."""
    for _ in range(tries):
        point = rng.uniform(-radius, radius, target.dim)
        value, gradient = target(point)
        if np.isfinite(value):
            return point, value, gradient
    raise ValueError(f"log p is not finite at any of {tries} random initial points in (-{radius}, {radius})^{target.dim}")


EXACT_VARIANCE = 0.01
"""The variance of ``log p - log q`` over a start's draws below which the start is taken to match the target."""
EXACT_CHECK = 64
"""Draws from the start on which that variance is estimated (its relative standard error is then about 0.18)."""


def start_matches_target(log_p: np.ndarray, log_q: np.ndarray) -> bool:
    """Whether draws from a VI start already fit the target: ``log p - log q`` varies by under ``EXACT_VARIANCE``.

    ``KL(q || p)`` is then about half that variance (under 0.005 nats), below what the fit's noisy steps would
    stir up, so a fit may keep its start and take no step (Laplace's start on a Gaussian posterior).
    """
    ratio = np.asarray(log_p, dtype=float) - np.asarray(log_q, dtype=float)
    return bool(np.all(np.isfinite(ratio)) and np.var(ratio, ddof=1) < EXACT_VARIANCE)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while the block runs.

    The ladder makes many tiny linear-algebra calls (``d x d`` with small ``d``); measured on a 2-core
    machine with the other core busy, OpenBLAS's threaded triangular solve of a 10 x 10 system took
    about 2 ms instead of 15 us, which made VI 10-50x slower.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fit_stan(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    algorithm: Callable[[Target, np.ndarray, np.random.Generator], Approximation],
    *,
    method: str,
    seed: int,
    extra_fields: str = "warn",
    attrs: dict[str, Any] | None = None,
) -> DataTree:
    """Run ``algorithm(target, initial, rng)`` on a Stan program's unconstrained space; return the one result type.

    The target is the program's Jacobian-adjusted log density (:class:`~pp_vae.stan.StanDensity`), started
    as Stan starts: at a uniform draw from ``(-2, 2)^d``. Draws are mapped back through Stan's constraining
    transform (transformed parameters included); ``seconds`` runs from the first log-density call to the
    last constrained draw (the build, cached after the first, is not counted, as for NUTS).
    """
    from pp_vae.stan.data_block import check_data
    from pp_vae.stan.density import StanDensity
    from pp_vae.stan.programs import StanProgram, load_program

    program = model if isinstance(model, StanProgram) else load_program(model)
    density = StanDensity.of(program, check_data(program, data, extra_fields=extra_fields), seed=seed)
    start = time.perf_counter()
    target = Target.of_density(density)
    rng = np.random.default_rng(seed)
    initial, _, _ = random_initial(target, rng)
    approximation = algorithm(target, initial, rng)
    return to_result(approximation, density, method=method, seconds=time.perf_counter() - start, attrs=attrs)


def to_result(
    approximation: Approximation, density: StanDensity, *, method: str, seconds: float | None = None, attrs: dict[str, Any] | None = None
) -> DataTree:
    """An approximation of a Stan program's posterior as the one result type (draws under Stan's names).

    ``seconds`` defaults to the approximation's own plus the time to constrain its draws.
    """
    from pp_vae.inference.result import from_flat_draws

    start = time.perf_counter()
    flat = {name: values[None] for name, values in density.constrain_draws(approximation.draws).items()}
    total = approximation.seconds + time.perf_counter() - start if seconds is None else seconds
    extra: dict[str, Any] = {"density_evaluations": int(approximation.density_evaluations)}
    extra.update({k: v for k, v in approximation.info.items() if isinstance(v, (bool, int, float, str))})
    extra.update(attrs or {})
    if approximation.khat is not None:
        extra["khat"] = float(approximation.khat)
    return from_flat_draws(
        flat,
        method=method,
        model=density.program.name,
        seconds=total,
        gradient_evaluations=approximation.gradient_evaluations,
        sample_stats={"lp": approximation.log_p[None], "lp_approx": approximation.log_q[None]},
        elbo=approximation.elbo if approximation.elbo.size else None,
        **extra,
    )
