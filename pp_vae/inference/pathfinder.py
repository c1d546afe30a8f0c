"""Pathfinder: Gaussian approximations along an L-BFGS path, single- and multi-path.

Zhang, Carpenter, Gelman and Vehtari (2022), *Pathfinder: parallel quasi-Newton variational inference*,
JMLR 23 (306), Algorithms 1-5; checked against Stan's ``src/stan/services/pathfinder`` and BlackJAX's
``vi/pathfinder.py``.

Single path (:func:`approximate_pathfinder`):

1. L-BFGS on ``-log p`` from ``initial``, recording the iterates ``theta_0..theta_L`` and their gradients.
2. At each iterate, the L-BFGS inverse-Hessian estimate ``Sigma_l = diag(alpha) + beta gamma beta^T``
   (Byrd, Nocedal and Schnabel's compact form) from the last ``J`` (``history_size``) position and gradient
   changes that pass the curvature check ``s^T y > 2.2e-16 |y|^2``, with Gilbert and Lemaréchal's diagonal
   update of ``alpha`` (the paper's Algorithm 3). ``q_l = N(theta_l + Sigma_l grad log p(theta_l), Sigma_l)``:
   the Gaussian of a Newton step.
3. Draws from ``q_l`` in factored form (Algorithm 4): a thin QR of ``diag(alpha)^-1/2 beta`` and a Cholesky of
   a ``2J x 2J`` matrix, so a draw costs ``O(d J)`` and no ``d x d`` matrix is ever formed.
4. Each ``q_l``'s ELBO estimated with ``K`` (``elbo_draws``) draws; the best ``l`` is returned. The ELBO
   draws and the final draws need ``log p`` only, no gradient.

Multi-path (:func:`approximate_multipath_pathfinder`): several paths from Stan's random initial points; the pooled draws
weighted against the equal mixture of the paths' Gaussians (the balance heuristic: never higher variance
than Stan's per-path ratios), Pareto-smoothed and importance-resampled (:func:`~pp_vae.inference.psis.psis_resample_indices`).

Gradient evaluations are those of L-BFGS alone; ``density_evaluations`` counts the ELBO and final draws.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.approximation import (
    LOG_2PI,
    Approximation,
    LogDensity,
    LogDensityGrad,
    Target,
    as_initial,
    as_target,
    fit_stan,
    random_initial,
    single_threaded_blas,
)
from pp_vae.inference.optimize import lbfgs_path
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.stan.programs import StanProgram

CURVATURE_EPS = 2.2e-16


@dataclass
class FactoredGaussian:
    """``N(mean, Sigma)`` with ``Sigma = A (I + Q (L L^T - I) Q^T) A``, ``A = diag(sqrt_alpha)``: ``O(d k)`` per point."""

    mean: np.ndarray
    sqrt_alpha: np.ndarray
    q: np.ndarray
    """``d x k`` with orthonormal columns, ``k <= 2 J``."""
    lower: np.ndarray
    """``k x k`` lower triangular."""
    log_det: float

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws ``(n, d)`` and their log densities ``(n,)``."""
        z = rng.standard_normal((n, self.mean.size))
        mapped = z if self.q.shape[1] == 0 else z + ((z @ self.q) @ self.lower.T - z @ self.q) @ self.q.T
        return self.mean + self.sqrt_alpha * mapped, -0.5 * (self.log_det + np.sum(z**2, axis=1) + self.mean.size * LOG_2PI)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """Log density at the rows of ``x``."""
        from scipy.linalg import solve_triangular

        v = (np.atleast_2d(x) - self.mean) / self.sqrt_alpha
        if self.q.shape[1]:
            qv = v @ self.q
            v = v + (solve_triangular(self.lower, qv.T, lower=True).T - qv) @ self.q.T
        return -0.5 * (self.log_det + np.sum(v**2, axis=1) + self.mean.size * LOG_2PI)

    def covariance(self) -> np.ndarray:
        """The dense ``d x d`` covariance (for reporting)."""
        k = self.q.shape[1]
        inner = np.eye(self.mean.size) + self.q @ (self.lower @ self.lower.T - np.eye(k)) @ self.q.T
        return self.sqrt_alpha[:, None] * inner * self.sqrt_alpha[None, :]


def update_alpha(alpha: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gilbert and Lemaréchal's diagonal update of the initial inverse Hessian (the paper's Algorithm 3); kept if not positive."""
    y_alpha_y, y_s, s_alpha_s = float(y @ (alpha * y)), float(y @ s), float(s @ (s / alpha))
    new = 1 / (y_alpha_y / (y_s * alpha) + y**2 / y_s - y_alpha_y * (s / alpha) ** 2 / (y_s * s_alpha_s))
    return new if np.all(np.isfinite(new)) and np.all(new > 0) else alpha


def bfgs_gaussian(theta: np.ndarray, grad: np.ndarray, alpha: np.ndarray, s: np.ndarray, y: np.ndarray) -> FactoredGaussian | None:
    """``N(theta + Sigma grad, Sigma)`` with ``Sigma`` the L-BFGS inverse Hessian of pairs ``s, y`` (``d x m``, oldest first).

    ``y`` are changes of the gradient of ``-log p``; ``None`` when the factorisation fails numerically.
    """
    from scipy.linalg import solve_triangular

    d, m = s.shape
    sqrt_alpha = np.sqrt(alpha)
    if m == 0:
        return FactoredGaussian(theta + alpha * grad, sqrt_alpha, np.zeros((d, 0)), np.zeros((0, 0)), float(np.sum(np.log(alpha))))
    sy = s.T @ y
    try:
        r_inv = solve_triangular(np.triu(sy), np.eye(m), lower=False)
    except np.linalg.LinAlgError:
        return None
    alpha_y = alpha[:, None] * y
    beta = np.hstack([alpha_y, s])
    gamma = np.zeros((2 * m, 2 * m))
    gamma[:m, m:] = -r_inv
    gamma[m:, :m] = -r_inv.T
    gamma[m:, m:] = r_inv.T @ (np.diag(np.diag(sy)) + y.T @ alpha_y) @ r_inv
    mean = theta + alpha * grad + beta @ (gamma @ (beta.T @ grad))
    q, r_tilde = np.linalg.qr(beta / sqrt_alpha[:, None], mode="reduced")
    inner = np.eye(q.shape[1]) + r_tilde @ gamma @ r_tilde.T
    try:
        lower = np.linalg.cholesky(0.5 * (inner + inner.T))
    except np.linalg.LinAlgError:
        return None
    log_det = float(np.sum(np.log(alpha)) + 2 * np.sum(np.log(np.diag(lower))))
    if not (np.all(np.isfinite(mean)) and np.isfinite(log_det)):
        return None
    return FactoredGaussian(mean, sqrt_alpha, q, lower, log_det)


@dataclass
class _Path:
    best: FactoredGaussian
    best_iteration: int
    iterations: int
    elbos: np.ndarray
    converged: bool


def _single_path(
    target: Target,
    x0: np.ndarray,
    rng: np.random.Generator,
    *,
    history_size: int,
    elbo_draws: int,
    max_iterations: int,
    initial_value: tuple[float, np.ndarray] | None = None,
) -> _Path | None:
    """One path: L-BFGS, a Gaussian per iterate, the one with the best ELBO estimate (``None`` if none is finite)."""
    path = lbfgs_path(target, x0, max_iterations=max_iterations, history_size=history_size, initial_value=initial_value)
    d = x0.size
    alpha = np.ones(d)
    kept_s: list[np.ndarray] = []
    kept_y: list[np.ndarray] = []
    elbos = np.full(len(path.points) - 1, -np.inf)
    best: FactoredGaussian | None = None
    best_iteration = 0
    for i in range(1, len(path.points)):
        s = path.points[i] - path.points[i - 1]
        y = path.gradients[i - 1] - path.gradients[i]  # change of the gradient of -log p
        if s @ y > CURVATURE_EPS * (y @ y):
            kept_s, kept_y = (kept_s + [s])[-history_size:], (kept_y + [y])[-history_size:]
            alpha = update_alpha(alpha, s, y)
        approximation = bfgs_gaussian(
            path.points[i], path.gradients[i], alpha, np.array(kept_s).T.reshape(d, len(kept_s)), np.array(kept_y).T.reshape(d, len(kept_y))
        )
        if approximation is None:
            continue
        x, log_q = approximation.sample(rng, elbo_draws)
        log_p = target.log_probs(x)
        elbos[i - 1] = float(np.mean(log_p - log_q)) if np.all(np.isfinite(log_p)) else -np.inf
        if elbos[i - 1] > (elbos[best_iteration - 1] if best is not None else -np.inf):
            best, best_iteration = approximation, i
    if best is None:
        return None
    return _Path(best, best_iteration, len(path.points) - 1, elbos, path.converged)


def approximate_pathfinder(
    logp_grad: LogDensityGrad | Target,
    initial: np.ndarray,
    *,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    logp: LogDensity | None = None,
    history_size: int = 6,
    elbo_draws: int = 5,
    max_iterations: int = 1000,
) -> Approximation:
    """Single-path Pathfinder (the paper's Algorithm 1; ``J = 6``, ``K = 5``, ``L <= 1000``, ``tau_rel = 1e-13``).

    ``draws`` draws from the Gaussian with the best ELBO along the L-BFGS path from ``initial``; ``elbo`` holds
    the ELBO estimate at every iteration (``-inf`` where it failed); ``info`` the chosen Gaussian's ``mean`` and
    ``covariance``, ``best_iteration`` and ``iterations``. With ``J`` below the dimension the covariance is
    exact only on the span of the last ``J`` steps: the sds can be off by tens of percent in 10-D.
    """
    integer_at_least("draws", draws)
    start = time.perf_counter()
    x0 = as_initial(initial)
    target = as_target(logp_grad, x0.size, logp)
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        path = _single_path(target, x0, rng, history_size=history_size, elbo_draws=elbo_draws, max_iterations=max_iterations)
        if path is None:
            raise ValueError("Pathfinder failed: no Gaussian along the L-BFGS path had a finite ELBO")
        gradients = target.gradient_evaluations
        samples, log_q = path.best.sample(rng, draws)
    log_p = target.log_probs(samples)
    return Approximation(
        draws=samples,
        log_p=log_p,
        log_q=log_q,
        gradient_evaluations=gradients,
        density_evaluations=target.density_evaluations,
        seconds=time.perf_counter() - start,
        elbo=path.elbos,
        info={
            "mean": path.best.mean,
            "covariance": path.best.covariance(),
            "best_iteration": path.best_iteration,
            "iterations": path.iterations,
            "converged": path.converged,
            "paths": 1,
        },
    )


def _run_paths(
    target: Target,
    rng: np.random.Generator,
    paths: int,
    initials: np.ndarray | None,
    progress: bool,
    history_size: int,
    elbo_draws: int,
    max_iterations: int,
) -> list[_Path]:
    """The paths that found a Gaussian with a finite ELBO, each from ``initials[i]`` or a random initial point."""
    from tqdm.auto import tqdm

    found: list[_Path] = []
    for i in tqdm(range(paths), desc="Pathfinder", disable=not progress, leave=False):
        if initials is not None:
            x0 = as_initial(initials[i], target.dim)
            value, gradient = target(x0)
        else:
            x0, value, gradient = random_initial(target, rng)
        options = {"history_size": history_size, "elbo_draws": elbo_draws, "max_iterations": max_iterations}
        path = _single_path(target, x0, rng, initial_value=(value, gradient), **options)
        if path is not None:
            found.append(path)
    if not found:
        raise ValueError(f"Pathfinder failed: none of {paths} paths had a Gaussian with a finite ELBO")
    return found


def _mixture_draws(found: list[_Path], rng: np.random.Generator, per_path: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_path`` draws from each path's best Gaussian, pooled, and ``log q_mix`` of the equal-weight mixture at them."""
    from scipy.special import logsumexp

    pooled = np.vstack([path.best.sample(rng, per_path)[0] for path in found])
    return pooled, logsumexp(np.stack([path.best.log_density(pooled) for path in found]), axis=0) - np.log(len(found))


def approximate_multipath_pathfinder(
    logp_grad: LogDensityGrad | Target,
    dim: int,
    *,
    paths: int = 4,
    draws: int = 4000,
    draws_per_path: int | None = None,
    initials: np.ndarray | None = None,
    resample: bool = True,
    seed: int | np.random.Generator = 0,
    logp: LogDensity | None = None,
    history_size: int = 6,
    elbo_draws: int = 5,
    max_iterations: int = 1000,
    progress: bool = False,
) -> Approximation:
    """Multi-path Pathfinder with PSIS importance resampling (the paper's Algorithm 2).

    Each path starts at ``initials[i]`` or at a uniform draw from ``(-2, 2)^d`` where ``log p`` is finite.
    ``draws_per_path`` (default ``draws``) draws from each path's best Gaussian are pooled and weighted
    against the mixture ``q_mix`` of the paths' Gaussians. With ``resample`` (the paper's output) ``draws``
    of them are resampled with replacement by their Pareto-smoothed weights: ``log_q`` is then ``log q_mix``
    at the resampled draws and ``khat`` the pool's. Without it the whole pool comes back, a plain sample of
    ``q_mix`` whose ``log_p - log_q`` are importance weights like any approximation's.
    """
    from pp_vae.inference.psis import psis_resample_indices, psis_smooth

    integer_at_least("paths", paths)
    integer_at_least("draws", draws)
    per_path = draws if draws_per_path is None else integer_at_least("draws_per_path", draws_per_path)
    start = time.perf_counter()
    target = as_target(logp_grad, int(dim), logp)
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        found = _run_paths(target, rng, paths, initials, progress, history_size, elbo_draws, max_iterations)
        gradients = target.gradient_evaluations
        pooled, log_q = _mixture_draws(found, rng, per_path)
    log_p = target.log_probs(pooled)
    log_weights = log_p - log_q
    khat = psis_smooth(log_weights)[1]
    index = psis_resample_indices(log_weights, draws, rng) if resample else np.arange(len(pooled))
    return Approximation(
        draws=pooled[index],
        log_p=log_p[index],
        log_q=log_q[index],
        gradient_evaluations=gradients,
        density_evaluations=target.density_evaluations,
        seconds=time.perf_counter() - start,
        elbo=np.array([path.elbos[path.best_iteration - 1] for path in found]),
        khat=khat if resample else None,
        info={
            "paths": len(found),
            "failed_paths": paths - len(found),
            "iterations": int(sum(path.iterations for path in found)),
            "psis_resampled": resample,
            "unique_draws": int(np.unique(index).size),
            "pool": len(pooled),
        },
    )


def fit_pathfinder(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    paths: int = 4,
    draws: int = 4000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
    resample: bool = True,
    **options: Any,
) -> DataTree:
    """Pathfinder on a Stan program's posterior, as the one result type: ``paths`` paths (1: single-path, no resampling).

    Multi-path results are importance-resampled (``psis_resampled`` attribute) and their ``khat`` is the
    pool's; ``resample=False`` returns the pool itself (``2 * draws / paths`` draws per path by default: a
    pool twice the size of the resample). Every path starts at its own random point. ``options`` go to
    :func:`approximate_pathfinder` / :func:`approximate_multipath_pathfinder`
    (``history_size``, ``elbo_draws``, ``max_iterations``).
    """
    integer_at_least("paths", paths)
    integer_at_least("draws", draws)

    def run(target: Target, x0: np.ndarray, rng: np.random.Generator) -> Approximation:
        if paths == 1:
            return approximate_pathfinder(target, x0, draws=draws, seed=rng, **options)
        per_path = options.pop("draws_per_path", max(1, 2 * draws // paths))
        return approximate_multipath_pathfinder(
            target, target.dim, paths=paths, draws=draws, draws_per_path=per_path, resample=resample, seed=rng, progress=progress, **options
        )

    return fit_stan(model, data, run, method="pathfinder", seed=seed, extra_fields=extra_fields)
