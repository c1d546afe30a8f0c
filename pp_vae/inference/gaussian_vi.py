"""Gaussian variational inference on the unconstrained scale: mean-field, full-rank and low-rank-plus-diagonal.

Fits ``q(u) = N(u | mu, Sigma)`` by stochastic gradient ascent on the ELBO ``E_q[log p(u)] - E_q[log q(u)]``
with reparameterised draws ``u = mu + A eps`` (ADVI: Kucukelbir, Tran, Ranganath, Gelman and Blei 2017,
*Automatic differentiation variational inference*, JMLR 18). The loop is plain NumPy: per step ``S``
calls of the target (``draws_per_step``, 8 by default: an eighth of one draw's gradient variance), then one
batched update, so a step costs the target's calls plus tens of microseconds, not Pyro's per-step
tracing. Each family is a :class:`GaussianVI` (its start, one ``step``, ``sample``); the loop, the ELBO windows,
the step halving and the stopping rules below are the shared driver's (:mod:`~pp_vae.inference.vi_driver`),
so a fit can be stepped by hand or resumed, and :func:`vi_path` records ``q`` along the way. The families:

``"meanfield"``  ``Sigma = diag(sigma^2)``;
``"fullrank"``   ``Sigma = L L^T``, ``L`` lower triangular with a positive diagonal;
``"lowrank"``    ``Sigma = B B^T + diag(sigma^2)``, ``B`` of shape ``(d, rank)``: full-rank's correlations
                 at ``O(d rank)`` per draw, for larger models.

Choices, each for speed or robustness:

* **Gradient**: "sticking the landing" (Roeder, Wu and Duvenaud 2017): the gradient of
  ``log p(u) - log q(u)`` through the draw ``u`` only, with ``grad_u log q`` in closed form. Unbiased,
  and its variance vanishes as ``q`` approaches ``p``, so the iterates settle instead of jittering.
* **Start and preconditioning**: L-BFGS finds the mode and central differences the Hessian ``H`` there
  (``2 d`` gradients; the highest of ``mode_starts`` L-BFGS runs: :func:`~pp_vae.inference.optimize.find_mode`);
  the optimisation then runs in whitened coordinates ``u = m + C y`` with ``C`` the
  Laplace covariance's Cholesky factor (full rank) or ``diag(1/sqrt(-H_ii))`` (mean field, low rank), so one
  step size suits every parameter whatever its scale or correlation. ``C`` is triangular or diagonal, so
  the family is unchanged. Without a proper mode it starts at the mode (or the initial point) with scale
  ``init_scale`` and ``C = I``, as Stan's ADVI does.
* **No steps where the start is exact**: when Laplace's start already fits (the variance of ``log p - log q`` over
  64 of its draws is below 0.01 nats squared, so ``KL(q || p)`` is under about 0.005 nats), the fit keeps it and
  takes no step: on a Gaussian posterior the step rule's three halvings would cost some 1,600 gradients for
  nothing (the flow does the same, :mod:`~pp_vae.inference.flow`).
* **Step size**: Adam, halved (at most six times) whenever the iterates are stationary at the current step:
  the mean of a window of ``eval_every`` per-step ELBO estimates is not two standard errors above the
  previous window's, and the window's mean gradient is zero within its noise (every component within
  ``z`` standard errors, ``z`` Bonferroni-corrected for the number of components: a slow drift, which the
  noisy ELBO hides, keeps the step). Halving shrinks Adam's stationary jitter, proportional to the step.
* **Convergence** (``convergence="parameters"``, in the spirit of Welandawe, Andersen, Vehtari and
  Huggins 2024, *A framework for improving the reliability of black-box variational inference*, JMLR 25):
  at each stationary point the parameters averaged over the second half of the iterates at this step size
  (Polyak-Ruppert) are compared with the average at the previous, twice larger, step; converged, after at
  least ``MIN_HALVINGS`` halvings, when no mean moved by more than ``tol_param`` marginal sds and no sd
  changed by more than a factor ``exp(tol_param)``. It measures what is
  reported (means in sd units, sd ratios) and does not depend on ``log p``'s additive constant.
  ``convergence="elbo"`` is Stan's ADVI rule: the mean or median of recent relative changes of the
  window ELBO below ``tol_rel``. Relative to what? To ``|ELBO|``, which carries ``log p``'s arbitrary
  constant: on a normalised target (ELBO near 0) it never fires, on kid-IQ (ELBO near -1500) "1%" is 15
  nats. Both stop at the budget ``max_steps`` at the latest.
* **Importance-weighted objective** (``importance_draws=K > 1``): maximises the IWAE bound
  ``E[log (1/K) sum_k p(u_k) / q(u_k)]`` (Burda, Grosse and Salakhutdinov 2016; Domke and Sheldon 2018,
  *Importance weighting and variational inference*), which tends to ``log Z`` as ``K`` grows and so rewards covering
  ``p``'s mass rather than hiding inside it; ``K = 1`` is the ELBO. Each step takes ``draws_per_step`` groups of ``K``
  draws, ``K`` times the calls (one group a step is too noisy: the step rule halves the step far from ``p``). The
  gradient is the doubly reparameterised one (Tucker, Lawson, Gu and Maddison 2019): each draw's path gradient above
  weighted by ``K`` times its squared self-normalised weight; unbiased (weighting by the weights themselves, as
  sticking the landing would, is not for ``K > 1``) and still of zero variance at ``q = p``. The window estimates,
  and so the step and convergence rules, are of this bound.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

import numpy as np

from pp_vae.inference.approximation import (
    EXACT_CHECK,
    LOG_2PI,
    Approximation,
    LogDensity,
    LogDensityGrad,
    Target,
    as_initial,
    as_target,
    fit_stan,
    single_threaded_blas,
    start_matches_target,
)
from pp_vae.inference.laplace import laplace_start
from pp_vae.inference.optimize import find_mode
from pp_vae.inference.vi_driver import ParameterChange, RelativeElbo, StoppingRule, VIState, run_vi, vi_approximation, window_summary
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.stan.programs import StanProgram

Family = Literal["meanfield", "fullrank", "lowrank"]
MIN_HALVINGS = 3
"""Step halvings before the parameter rule may declare convergence (kid-IQ full-rank: mean errors 0.01-0.03 sd
after 200 steps with 3, 0.02-0.03 after 100 with 1)."""
FAMILIES: tuple[str, ...] = ("meanfield", "fullrank", "lowrank")


class _Family(Protocol):
    noise_dim: int
    theta: np.ndarray

    def sample(self, theta: np.ndarray, eps: np.ndarray) -> np.ndarray: ...

    def log_q_and_score(self, theta: np.ndarray, y: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def gradient(self, theta: np.ndarray, g: np.ndarray, eps: np.ndarray) -> np.ndarray: ...

    def moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def factor(self, theta: np.ndarray) -> np.ndarray: ...


class _MeanField:
    """``y = mu + exp(omega) * eps``; ``theta = [mu, omega]``."""

    def __init__(self, d: int, scale: np.ndarray) -> None:
        self.d, self.noise_dim = d, d
        self.theta = np.concatenate([np.zeros(d), np.log(scale)])

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[: self.d], np.exp(theta[self.d :])

    def sample(self, theta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        mu, sigma = self._split(theta)
        return mu + sigma * eps

    def log_q_and_score(self, theta: np.ndarray, y: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log q(y)`` and ``Sigma^-1 (y - mu)`` (minus the score of ``q`` in ``y``)."""
        sigma = self._split(theta)[1]
        return -0.5 * np.sum(eps**2, axis=1) - np.sum(np.log(sigma)) - 0.5 * self.d * LOG_2PI, eps / sigma

    def gradient(self, theta: np.ndarray, g: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """The ELBO's gradient in ``theta`` from path gradients ``g`` of ``log p - log q`` at ``y = sample(eps)``."""
        sigma = self._split(theta)[1]
        return np.concatenate([g.mean(axis=0), np.mean(g * eps, axis=0) * sigma])

    def moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._split(theta)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        return np.diag(self._split(theta)[1])


class _FullRank:
    """``y = mu + L eps``; ``theta = [mu, M.ravel()]`` with ``L = tril(M, -1) + diag(exp(diag M))``."""

    def __init__(self, d: int) -> None:
        self.d, self.noise_dim = d, d
        self.theta = np.zeros(d + d * d)
        self.strictly_lower = np.tril(np.ones((d, d)), -1)

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = theta[self.d :].reshape(self.d, self.d)
        lower = m * self.strictly_lower
        lower[np.diag_indices(self.d)] = np.exp(np.diag(m))
        return theta[: self.d], lower

    def sample(self, theta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        mu, lower = self._split(theta)
        return mu + eps @ lower.T

    def log_q_and_score(self, theta: np.ndarray, y: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.linalg import solve_triangular

        lower = self._split(theta)[1]
        log_q = -0.5 * np.sum(eps**2, axis=1) - np.sum(np.log(np.diag(lower))) - 0.5 * self.d * LOG_2PI
        return log_q, solve_triangular(lower, eps.T, lower=True, trans="T", check_finite=False).T  # L^-T eps

    def gradient(self, theta: np.ndarray, g: np.ndarray, eps: np.ndarray) -> np.ndarray:
        lower = self._split(theta)[1]
        d_lower = (g.T @ eps) / len(g) * self.strictly_lower
        d_lower[np.diag_indices(self.d)] = np.einsum("si,si->i", g, eps) / len(g) * np.diag(lower)
        return np.concatenate([g.mean(axis=0), d_lower.ravel()])

    def moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, lower = self._split(theta)
        return mu, np.sqrt(np.sum(lower**2, axis=1))

    def factor(self, theta: np.ndarray) -> np.ndarray:
        return self._split(theta)[1]


class _LowRank:
    """``y = mu + B eps_1 + exp(omega) * eps_2``; ``theta = [mu, B.ravel(), omega]``."""

    def __init__(self, d: int, b: np.ndarray, scale: np.ndarray) -> None:
        self.d, self.rank = d, b.shape[1]
        self.noise_dim = d + self.rank
        self.theta = np.concatenate([np.zeros(d), b.ravel(), np.log(scale)])

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d, r = self.d, self.rank
        return theta[:d], theta[d : d + d * r].reshape(d, r), np.exp(theta[d + d * r :])

    def sample(self, theta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        mu, b, sigma = self._split(theta)
        return mu + eps[:, : self.rank] @ b.T + sigma * eps[:, self.rank :]

    def log_q_and_score(self, theta: np.ndarray, y: np.ndarray, eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.linalg import cho_factor, cho_solve

        mu, b, sigma = self._split(theta)
        k = cho_factor(np.eye(self.rank) + b.T @ (b / sigma[:, None] ** 2), lower=True, check_finite=False)  # Woodbury's K
        z = (y - mu) / sigma**2
        score = z - (cho_solve(k, (z @ b).T, check_finite=False).T @ b.T) / sigma**2
        log_det = 2 * np.sum(np.log(sigma)) + 2 * np.sum(np.log(np.diag(k[0])))
        return -0.5 * np.sum((y - mu) * score, axis=1) - 0.5 * log_det - 0.5 * self.d * LOG_2PI, score

    def gradient(self, theta: np.ndarray, g: np.ndarray, eps: np.ndarray) -> np.ndarray:
        sigma = self._split(theta)[2]
        d_b = g.T @ eps[:, : self.rank] / len(g)
        return np.concatenate([g.mean(axis=0), d_b.ravel(), np.mean(g * eps[:, self.rank :], axis=0) * sigma])

    def moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, b, sigma = self._split(theta)
        return mu, np.sqrt(np.sum(b**2, axis=1) + sigma**2)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        _, b, sigma = self._split(theta)
        return np.linalg.cholesky(b @ b.T + np.diag(sigma**2))


def _initialise(
    target: Target,
    x0: np.ndarray,
    rng: np.random.Generator,
    family: str,
    rank: int,
    init: str,
    init_scale: float,
    info: dict[str, Any],
    mode_starts: int,
) -> tuple[np.ndarray, np.ndarray, _Family]:
    """Centre ``m``, preconditioner ``C`` (a vector: diagonal; a matrix: lower triangular) and the family at its start."""
    d = x0.size
    mode = None
    if init == "laplace":
        try:
            laplace = laplace_start(target, x0, rng, mode_starts)
        except ValueError as error:  # e.g. a density without bound (centred eight schools, tau -> 0): start elsewhere
            info["init_note"] = f"{error}; started at the initial point"
        else:
            info["init"] = "laplace"
            covariance = laplace.covariance()
            if family == "fullrank":
                return laplace.mode, np.linalg.cholesky(covariance), _FullRank(d)
            c = 1 / np.sqrt(-np.diag(laplace.hessian))  # the mean-field optimum for a Gaussian target
            if family == "meanfield":
                return laplace.mode, c, _MeanField(d, np.ones(d))
            # low rank: probabilistic PCA of the whitened Laplace covariance
            values, vectors = np.linalg.eigh(covariance / np.outer(c, c))
            values, vectors = values[::-1], vectors[:, ::-1]
            noise = float(np.mean(values[rank:])) if rank < d else 0.5 * float(values.min())
            b = vectors[:, :rank] * np.sqrt(np.maximum(values[:rank] - noise, 1e-4))
            return laplace.mode, c, _LowRank(d, b, np.full(d, np.sqrt(noise)))
    elif init == "mode":
        path = find_mode(target, x0, rng, starts=mode_starts)
        if path.converged:
            mode = path.mode
        else:
            info["init_note"] = f"the mode search did not converge ({path.message}); started at the initial point"
    info.setdefault("init", "mode" if mode is not None else "initial")
    centre, scale = (mode if mode is not None else x0), np.full(d, init_scale)
    if family == "meanfield":
        return centre, np.ones(d), _MeanField(d, scale)
    if family == "fullrank":
        full = _FullRank(d)
        full.theta[d:] = np.diag(np.log(scale)).ravel()
        return centre, np.ones(d), full
    b = init_scale * np.random.default_rng(0).standard_normal((d, rank)) / np.sqrt(rank)
    return centre, np.ones(d), _LowRank(d, b, scale)


@dataclass(frozen=True)
class GaussianVIOptions:
    """What a :class:`GaussianVI` family reads (defaults as :func:`approximate_gaussian_vi`'s; ``rank=None``: :func:`default_rank`)."""

    family: Family = "meanfield"
    rank: int | None = None
    init: Literal["laplace", "mode", "initial"] = "laplace"
    init_scale: float = 0.1
    mode_starts: int = 4
    draws_per_step: int = 8
    importance_draws: int = 1
    learning_rate: float = 0.05

    def __post_init__(self) -> None:
        """Refuse an unknown family or a count below 1."""
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        integer_at_least("draws_per_step", self.draws_per_step)
        integer_at_least("importance_draws", self.importance_draws)


class GaussianVI:
    """A Gaussian family on a target as init / step / sample: ``u = centre + C y`` with ``y ~ N`` of the family's ``theta``.

    Built at its start (:func:`_initialise`: Laplace's, the mode's or the initial point's); :meth:`step` is one Adam
    step on sticking-the-landing (or, with ``importance_draws`` above 1, doubly reparameterised) gradients; driven
    by :func:`~pp_vae.inference.vi_driver.run_vi`.
    """

    def __init__(self, target: Target, x0: np.ndarray, rng: np.random.Generator, options: GaussianVIOptions | None = None) -> None:
        self.target, self.rng = target, rng
        self.options = options = GaussianVIOptions() if options is None else options
        d = x0.size
        rank = default_rank(d) if options.rank is None else options.rank
        if options.family == "lowrank" and not 1 <= rank <= d:
            raise ValueError(f"rank must be between 1 and the dimension {d}, got {rank}")
        self.info: dict[str, Any] = {"family": options.family, "importance_draws": options.importance_draws}
        self.info |= {"rank": rank} if options.family == "lowrank" else {}
        start = (options.family, rank, options.init, options.init_scale, self.info, options.mode_starts)
        self.centre, self.c, self.q = _initialise(target, x0, rng, *start)
        self.diagonal = self.c.ndim == 1
        self.log_det_c = float(np.sum(np.log(self.c if self.diagonal else np.diag(self.c))))
        self.theta = self.q.theta.copy()
        self.adam_m, self.adam_v = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.exact_start = self.info["init"] == "laplace" and self._start_matches_target()
        self.info["exact_start"] = self.exact_start

    def to_u(self, y: np.ndarray) -> np.ndarray:
        """``u = centre + C y`` for each row of ``y``."""
        return self.centre + (y * self.c if self.diagonal else y @ self.c.T)

    def _start_matches_target(self) -> bool:
        """Laplace's start may already be the answer (a Gaussian posterior): then the fit takes no step."""
        check = copy.deepcopy(self.rng)  # the fit's own stream is left as it was, so a fit that goes on is unchanged
        eps = check.standard_normal((EXACT_CHECK, self.q.noise_dim))
        y = self.q.sample(self.theta, eps)
        log_q = self.q.log_q_and_score(self.theta, y, eps)[0]
        return start_matches_target(self.target.log_probs(self.to_u(y)), log_q)

    def step(self, step: int, lr_scale: float) -> tuple[float, np.ndarray | None]:
        """One Adam step (the ``step``-th) on ``draws_per_step`` groups of ``importance_draws`` draws: the bound's estimate and gradient."""
        from scipy.special import logsumexp

        q, theta, groups, k = self.q, self.theta, self.options.draws_per_step, self.options.importance_draws
        eps = self.rng.standard_normal((groups * k, q.noise_dim))
        y = q.sample(theta, eps)
        log_p, grad_u = self.target.batch(self.to_u(y))
        ok = np.isfinite(log_p)
        log_q, score = q.log_q_and_score(theta, y, eps)
        log_w = np.where(ok, log_p - log_q, -np.inf).reshape(groups, k)
        elbo = float(np.mean(logsumexp(log_w, axis=1) - np.log(k))) + self.log_det_c if ok.all() else -np.inf
        if not ok.any():
            return elbo, None
        # sticking the landing: grad_y [log p(u(y)) - log q(y)] at the draws, through y only
        g = (grad_u[ok] * self.c if self.diagonal else grad_u[ok] @ self.c) + score[ok]
        if k > 1:  # doubly reparameterised: each draw's w~^2, summed per group, averaged over live groups
            live = np.isfinite(log_w).any(axis=1, keepdims=True)
            weights = np.exp(log_w - np.where(live, logsumexp(log_w, axis=1, keepdims=True), 0.0)).ravel()[ok]
            g *= (weights**2 * ok.sum() / live.sum())[:, None]
        gradient = q.gradient(theta, g, eps[ok])
        self.adam_m = 0.9 * self.adam_m + 0.1 * gradient
        self.adam_v = 0.999 * self.adam_v + 0.001 * gradient**2
        m_hat, v_hat = self.adam_m / (1 - 0.9**step), self.adam_v / (1 - 0.999**step)
        self.theta = theta + lr_scale * self.options.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        return elbo, gradient

    def parameters(self) -> np.ndarray:
        """``theta``, the family's parameters in whitened coordinates."""
        return self.theta

    def moments(self, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means and sds of ``y`` (whitened coordinates) at ``parameters``."""
        return self.q.moments(parameters)

    def sample(self, parameters: np.ndarray, draws: int) -> tuple[np.ndarray, np.ndarray]:
        """``draws`` draws of ``q`` at ``parameters`` on ``u``'s scale and their ``log q``."""
        eps = self.rng.standard_normal((draws, self.q.noise_dim))
        y = self.q.sample(parameters, eps)
        return self.to_u(y), self.q.log_q_and_score(parameters, y, eps)[0] - self.log_det_c

    def mean_and_covariance(self, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``q``'s mean and covariance on ``u``'s scale at ``parameters``."""
        mu_y, factor_y = self.q.moments(parameters)[0], self.q.factor(parameters)
        factor_u = factor_y * self.c[:, None] if self.diagonal else self.c @ factor_y
        return self.centre + (mu_y * self.c if self.diagonal else self.c @ mu_y), factor_u @ factor_u.T


class PathPoint(NamedTuple):
    """Where a Gaussian VI run stood after ``steps`` steps: its ``q``'s means and sds on ``u``'s scale, gradients spent so far."""

    steps: int
    gradients: int
    mean: np.ndarray
    sd: np.ndarray
    converged: bool


def vi_path(q: GaussianVI, checkpoints: Sequence[int], rule: StoppingRule | None = None, eval_every: int = 25) -> list[PathPoint]:
    """Run ``q`` from its start, recording its means and sds at the start and after each of ``checkpoints`` steps.

    The run is :func:`~pp_vae.inference.vi_driver.run_vi`'s, resumed at each checkpoint, so it ends where one
    uninterrupted run with ``rule`` (default: :func:`fit_gaussian_vi`'s) ends; it stops early when the rule stops it.
    At a window's end the moments are those of the Polyak average the fit would report.
    """
    rule = ParameterChange(0.03, MIN_HALVINGS) if rule is None else rule
    state = VIState.start(q, integer_at_least("eval_every", eval_every))

    def point() -> PathPoint:
        mean, covariance = q.mean_and_covariance(state.final_parameters(q.parameters()))
        return PathPoint(state.steps, q.target.gradient_evaluations, mean, np.sqrt(np.diag(covariance)), state.converged)

    path = [point()]
    for checkpoint in sorted(integer_at_least("checkpoint", c) for c in checkpoints):
        if state.converged:
            break
        state = run_vi(q, rule, state, max_steps=checkpoint)
        path.append(point())
    return path


def default_rank(dim: int) -> int:
    """Low-rank VI's default rank: ``round(sqrt(d))``, at least 1 (2 for kid-IQ's 3 parameters, 5 for diamonds' 26)."""
    return max(1, min(dim, round(np.sqrt(dim))))


def _stopping_rule(convergence: str, tol_param: float, tol_rel: float, max_steps: int, eval_every: int) -> StoppingRule:
    """The parameters' rule (the default) or Stan ADVI's relative-ELBO rule over the last tenth of the budget's windows."""
    if convergence == "parameters":
        return ParameterChange(tol_param, min_halvings=MIN_HALVINGS)
    if convergence == "elbo":
        return RelativeElbo(tol_rel, window=max(int(0.1 * max_steps / eval_every), 2))
    raise ValueError(f"convergence must be 'parameters' or 'elbo', got {convergence!r}")


def approximate_gaussian_vi(
    logp_grad: LogDensityGrad | Target,
    initial: np.ndarray,
    *,
    family: Family = "meanfield",
    rank: int | None = None,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    logp: LogDensity | None = None,
    draws_per_step: int = 8,
    max_steps: int = 10_000,
    learning_rate: float = 0.05,
    eval_every: int = 25,
    convergence: Literal["parameters", "elbo"] = "parameters",
    tol_param: float = 0.03,
    tol_rel: float = 0.01,
    init: Literal["laplace", "mode", "initial"] = "laplace",
    init_scale: float = 0.1,
    mode_starts: int = 4,
    importance_draws: int = 1,
    progress: bool = False,
) -> Approximation:
    """Gaussian VI of the density ``logp_grad`` on ``R^d`` (see the module docstring for every choice).

    Returns ``draws`` draws of the fitted ``q`` with ``log p`` (by ``logp`` when given) and ``log q``; ``elbo``
    holds the window-mean ELBO estimates (of the importance-weighted bound with ``importance_draws`` above 1); ``info``
    holds ``mean`` and ``covariance`` of ``q``, ``converged``, ``steps``, ``init`` (``laplace``, ``mode`` or ``initial``),
    ``family`` and ``importance_draws``.
    """
    for name, value in (("draws", draws), ("max_steps", max_steps), ("eval_every", eval_every)):
        integer_at_least(name, value)
    rule = _stopping_rule(convergence, tol_param, tol_rel, max_steps, eval_every)
    given = locals()  # the family's options are this function's arguments of the same names
    options = GaussianVIOptions(**{option.name: given[option.name] for option in fields(GaussianVIOptions)})
    start = time.perf_counter()
    x0 = as_initial(initial)
    target = as_target(logp_grad, x0.size, logp)
    with single_threaded_blas():
        q = GaussianVI(target, x0, np.random.default_rng(seed), options)
        state = run_vi(q, rule, VIState.start(q, eval_every), max_steps=max_steps, progress=progress, desc=f"{family} VI")
        final = state.final_parameters(q.theta)
        optimisation_gradients = target.gradient_evaluations
        samples, log_q = q.sample(final, draws)
        mean, covariance = q.mean_and_covariance(final)
    info = q.info | {"mean": mean, "covariance": covariance} | window_summary(state) | {"optimisation_gradients": optimisation_gradients}
    return vi_approximation(target, samples, log_q, start, state, info)


def fit_gaussian_vi(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    family: Family = "meanfield",
    draws: int = 4000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
    **options: Any,
) -> DataTree:
    """Gaussian VI (``family`` mean-field, full-rank or low-rank) of a Stan program's posterior, as the one result type.

    ``model`` and ``data`` as for :func:`~pp_vae.inference.fit_nuts`; ``options`` go to :func:`approximate_gaussian_vi`
    (``rank``, ``max_steps``, ``convergence``, ...). The result's ``method`` is the family's name; its
    ``elbo`` the window-mean ELBO history; ``converged`` and ``steps`` say how the optimisation ended.
    """
    integer_at_least("draws", draws)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")

    def run(target: Target, x0: np.ndarray, rng: np.random.Generator) -> Approximation:
        return approximate_gaussian_vi(target, x0, family=family, draws=draws, seed=rng, progress=progress, **options)

    return fit_stan(model, data, run, method=family, seed=seed, extra_fields=extra_fields)
