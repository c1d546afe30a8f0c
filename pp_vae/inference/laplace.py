"""Laplace's approximation: a Gaussian at the mode, with the curvature of ``log p`` there.

``q(u) = N(u | m, (-H)^-1)`` where ``m`` maximises ``log p`` on the unconstrained scale (L-BFGS) and ``H`` is
the Hessian of ``log p`` at ``m``, by central differences of the gradient (``2 d`` gradient evaluations),
symmetrised. On a Stan program ``log p`` includes the Jacobian of the constraining transform, so the mode
is that of the unconstrained density (not the constrained MAP) and the draws are mapped back through
Stan's transform: a ``simplex`` stays a simplex, a scale stays positive. It is exact for a Gaussian
target and cheap everywhere; it knows nothing beyond the mode's neighbourhood (skew, a funnel's neck).
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
    single_threaded_blas,
)
from pp_vae.inference.optimize import find_mode
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.stan.programs import StanProgram


def finite_difference_hessian(target: Target, x: np.ndarray, relative_step: float | None = None) -> np.ndarray:
    """Hessian of ``log p`` at ``x`` by central differences of the gradient (``2 d`` evaluations), symmetrised.

    Column ``i`` is ``(grad(x + h e_i) - grad(x - h e_i)) / 2h`` with ``h = step * max(1, |x_i|)`` and
    ``step = eps^(1/3)`` (about 6e-6), the usual choice for central differences.
    """
    step = np.finfo(float).eps ** (1 / 3) if relative_step is None else relative_step
    hessian = np.empty((x.size, x.size))
    for i in range(x.size):
        forward, backward = x.copy(), x.copy()
        forward[i] += step * max(1.0, abs(x[i]))
        backward[i] -= step * max(1.0, abs(x[i]))
        hessian[:, i] = (target(forward)[1] - target(backward)[1]) / (forward[i] - backward[i])
    return 0.5 * (hessian + hessian.T)


def precision_cholesky(hessian: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor ``R`` of the precision ``-H = R R^T``; a ``ValueError`` when ``-H`` is not positive definite."""
    if not np.all(np.isfinite(hessian)):
        raise ValueError("the Hessian of log p at the mode is not finite")
    eigenvalues = np.linalg.eigvalsh(-hessian)
    # positive definite, and not merely in rounding: a condition number past 1e14 is a flat direction (centred eight
    # schools' funnel neck, where log p grows without bound as tau -> 0), whose "covariance" would be astronomical
    if eigenvalues.min() <= 1e-14 * max(eigenvalues.max(), 0.0):
        raise ValueError(
            f"the negative Hessian of log p at the optimum is not positive definite (smallest eigenvalue {eigenvalues.min():.3g}, "
            f"largest {eigenvalues.max():.3g}): there is no proper mode to centre a Laplace approximation on"
        )
    return np.linalg.cholesky(-hessian)


@dataclass(frozen=True)
class LaplaceStart:
    """Laplace's Gaussian ``N(mode, (-H)^-1)``: :func:`approximate_laplace`'s answer, and where Gaussian VI and the flow start."""

    mode: np.ndarray
    hessian: np.ndarray
    """``H``, the Hessian of ``log p`` at the mode."""
    precision_factor: np.ndarray
    """``R``, lower triangular, with ``-H = R R^T``: the covariance is ``R^-T R^-1``."""
    iterations: int
    """L-BFGS iterations of the path that found the mode."""

    def covariance(self) -> np.ndarray:
        """``(-H)^-1``."""
        from scipy.linalg import solve_triangular

        inverse = solve_triangular(self.precision_factor, np.eye(self.mode.size), lower=True)
        return inverse.T @ inverse


def laplace_start(target: Target, initial: np.ndarray, rng: np.random.Generator, mode_starts: int = 4) -> LaplaceStart:
    """The mode (the highest of ``mode_starts`` L-BFGS runs: :func:`~pp_vae.inference.optimize.find_mode`) and the curvature there.

    ``2 d`` gradients for the Hessian. A ``ValueError`` saying why when the mode search does not converge or the
    mode is not proper (a density without bound: the centred eight schools as ``tau -> 0``).
    """
    path = find_mode(target, initial, rng, starts=mode_starts)
    if not path.converged:
        raise ValueError(f"the mode search did not converge ({path.message}): no Laplace approximation")
    hessian = finite_difference_hessian(target, path.mode)
    return LaplaceStart(path.mode, hessian, precision_cholesky(hessian), len(path.points) - 1)


def approximate_laplace(
    logp_grad: LogDensityGrad | Target,
    initial: np.ndarray,
    *,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    logp: LogDensity | None = None,
    mode_starts: int = 4,
) -> Approximation:
    """Laplace's approximation of the density ``logp_grad`` on ``R^d``, searching for the mode from ``initial``.

    The mode is the highest of ``mode_starts`` L-BFGS runs (:func:`laplace_start`).
    Returns ``draws`` draws of ``N(mode, (-H)^-1)`` with their ``log p`` (by ``logp`` when given: no gradient
    needed) and ``log q``; ``info`` holds ``mode``, ``covariance``, ``iterations`` and ``converged``.
    A ``ValueError`` when the mode search does not converge or the mode is not proper.
    """
    from scipy.linalg import solve_triangular

    integer_at_least("draws", draws)
    start = time.perf_counter()
    x0 = as_initial(initial)
    target = as_target(logp_grad, x0.size, logp)
    rng = np.random.default_rng(seed)
    with single_threaded_blas():
        laplace = laplace_start(target, x0, rng, mode_starts)
        factor = laplace.precision_factor  # Sigma = R^-T R^-1
        z = rng.standard_normal((draws, x0.size))
        samples = laplace.mode + solve_triangular(factor, z.T, lower=True, trans="T").T
        log_q = -0.5 * np.sum(z**2, axis=1) - 0.5 * x0.size * LOG_2PI + np.sum(np.log(np.diag(factor)))
        covariance = laplace.covariance()
    log_p = target.log_probs(samples)
    return Approximation(
        draws=samples,
        log_p=log_p,
        log_q=log_q,
        gradient_evaluations=target.gradient_evaluations,
        density_evaluations=target.density_evaluations,
        seconds=time.perf_counter() - start,
        info={"mode": laplace.mode, "covariance": covariance, "iterations": laplace.iterations, "converged": True},
    )


def fit_laplace(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    draws: int = 4000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
) -> DataTree:
    """Laplace's approximation of a Stan program's posterior on its unconstrained scale, as the one result type.

    ``model`` and ``data`` as for :func:`~pp_vae.inference.fit_nuts`; ``draws`` draws in one chain, each with
    ``lp`` and ``lp_approx`` (so ``khat`` grades it). ``progress`` is accepted for a common signature.
    """
    integer_at_least("draws", draws)
    return fit_stan(
        model,
        data,
        lambda target, x0, rng: approximate_laplace(target, x0, draws=draws, seed=rng),
        method="laplace",
        seed=seed,
        extra_fields=extra_fields,
    )
