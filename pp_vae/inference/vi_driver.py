"""The one VI loop: a family's steps, ELBO windows, step halving, a stopping rule and the step budget.

Every stochastic VI rung (:func:`~pp_vae.inference.approximate_gaussian_vi`'s three families and
:func:`~pp_vae.inference.approximate_flow`) is a :class:`VIFamily` (its start, one optimiser ``step`` and
``sample``) driven by :func:`run_vi`. The driver keeps what the families share in a :class:`VIState`: the
per-step ELBO estimates, their window means and variances, the Polyak-Ruppert averages of the parameters at the
current step size, the window's gradient statistics, and the step size's halvings. Each ``eval_every`` steps it
asks whether the iterates are *stationary* at the current step (the window ELBO is not two standard errors above
the one ``lag`` windows back, after more than ``lag`` windows at this step, and, where the family reports its
gradient, the window's mean gradient is zero within its noise), and the stopping rule answers ``"go"``,
``"halve"`` or ``"stop"``:

:class:`ElboRise`         the flow's rule: stop at the stationary point after ``max_halvings`` halvings.
:class:`ParameterChange`  Gaussian VI's default: stop when the Polyak averages at two successive step sizes agree.
:class:`RelativeElbo`     Stan ADVI's rule on the relative change of the window ELBO.

A run can be stepped by hand (``family.step``) or resumed: :func:`run_vi` goes on from the state it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

if TYPE_CHECKING:
    from pp_vae.inference.approximation import Approximation, Target

Verdict = Literal["go", "halve", "stop"]


class VIFamily(Protocol):
    """A variational family at its start (``exact_start`` when the start already matches the target)."""

    exact_start: bool

    def step(self, step: int, lr_scale: float) -> tuple[float, np.ndarray | None]:
        """One optimiser step (the ``step``-th, at ``lr_scale`` times the base rate): its ELBO estimate and gradient (``None``: none)."""
        ...

    def parameters(self) -> np.ndarray | None:
        """The parameters as one vector, for Polyak-Ruppert averaging (``None``: not averaged)."""
        ...

    def moments(self, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Marginal means and sds of ``q`` at ``parameters`` (for :class:`ParameterChange`)."""
        ...


@dataclass
class VIState:
    """Where a VI run stands after ``steps`` steps: everything :func:`run_vi` needs to go on."""

    eval_every: int
    converged: bool = False
    steps: int = 0
    halvings: int = 0
    lr_scale: float = 1.0
    windows_at_this_step: int = 0
    per_step: list[float] = field(default_factory=list)
    window_elbo: list[float] = field(default_factory=list)
    window_var: list[float] = field(default_factory=list)
    relative_changes: list[float] = field(default_factory=list)
    average: np.ndarray | None = None
    """The Polyak-Ruppert average: the mean of the second half of the window averages at the current step size."""
    previous_average: np.ndarray | None = None
    phase: list[np.ndarray] = field(default_factory=list)
    window_sum: np.ndarray | None = None
    gradient_sum: np.ndarray | None = None
    gradient_squares: np.ndarray | None = None

    @classmethod
    def start(cls, family: VIFamily, eval_every: int) -> VIState:
        """A run at its start: converged already when the family's start is exact."""
        return cls(eval_every=eval_every, converged=family.exact_start, average=family.parameters())

    def final_parameters(self, current: np.ndarray) -> np.ndarray:
        """The Polyak average where the run ended at a window's end, else ``current``."""
        return self.average if self.steps % self.eval_every == 0 and self.average is not None else current

    def record(self, step: int, elbo: float, gradient: np.ndarray | None, parameters: np.ndarray | None) -> None:
        """One step's ELBO estimate, gradient and parameters into the window's sums."""
        self.steps = step
        self.per_step.append(elbo)
        if parameters is not None:
            self.window_sum = (np.zeros_like(parameters) if self.window_sum is None else self.window_sum) + parameters
        if gradient is not None:
            self.gradient_sum = (np.zeros_like(gradient) if self.gradient_sum is None else self.gradient_sum) + gradient
            self.gradient_squares = (np.zeros_like(gradient) if self.gradient_squares is None else self.gradient_squares) + gradient**2

    def halve(self) -> None:
        """Halve the step size: a new phase of Polyak averaging."""
        self.lr_scale, self.halvings, self.windows_at_this_step, self.phase = self.lr_scale / 2, self.halvings + 1, 0, []


def _drifting(state: VIState) -> bool:
    """The window's mean gradient is not zero: some component beyond ``z`` standard errors (Bonferroni over components)."""
    from scipy import stats

    if state.gradient_sum is None or state.gradient_squares is None:
        return False
    n = state.eval_every
    z = float(stats.norm.isf(0.025 / state.gradient_sum.size))
    mean_gradient = state.gradient_sum / n
    spread = np.sqrt(np.maximum(state.gradient_squares / n - mean_gradient**2, 0) / (n - 1))
    return bool(np.any(np.abs(mean_gradient) > z * spread + 1e-12))


def close_window(state: VIState, lag: int) -> bool:
    """End a window of ``eval_every`` steps: its ELBO mean and variance, the Polyak average; whether the iterates are stationary."""
    if state.window_sum is not None:
        state.phase.append(state.window_sum / state.eval_every)
        state.average = np.mean(state.phase[len(state.phase) // 2 :], axis=0)  # Polyak-Ruppert: the phase's second half
    recent = np.array(state.per_step[-state.eval_every :])
    recent = recent[np.isfinite(recent)]
    state.window_elbo.append(float(recent.mean()) if recent.size else -np.inf)
    state.window_var.append(float(recent.var(ddof=1) / recent.size) if recent.size > 1 else np.inf)
    state.windows_at_this_step += 1
    drifting = _drifting(state)
    state.window_sum = state.gradient_sum = state.gradient_squares = None
    if state.windows_at_this_step <= lag:
        return False
    elbo, var = state.window_elbo, state.window_var
    rising = elbo[-1] - elbo[-1 - lag] > 2 * np.sqrt(var[-1] + var[-1 - lag])
    return not rising and not drifting


@dataclass(frozen=True)
class ElboRise:
    """Halve at each stationary point; stop at the one after ``max_halvings`` halvings."""

    lag: int = 2
    max_halvings: int = 3

    def verdict(self, state: VIState, stationary: bool, family: VIFamily) -> Verdict:
        """``"stop"``, ``"halve"`` or ``"go"`` at a window's end."""
        if not stationary:
            return "go"
        return "stop" if state.halvings == self.max_halvings else "halve"


@dataclass(frozen=True)
class ParameterChange:
    """Stop when the Polyak averages at two successive step sizes agree (means within ``tol`` sds, sds within ``exp(tol)``).

    Only after ``min_halvings`` halvings; at most ``max_halvings`` halvings.
    """

    tol: float
    min_halvings: int
    max_halvings: int = 6
    lag: int = 1

    def verdict(self, state: VIState, stationary: bool, family: VIFamily) -> Verdict:
        """``"stop"``, ``"halve"`` or ``"go"`` at a window's end."""
        if not stationary:
            return "go"
        if state.previous_average is not None and state.average is not None and state.halvings >= self.min_halvings:
            mu_new, sd_new = family.moments(state.average)
            mu_old, sd_old = family.moments(state.previous_average)
            change = max(np.max(np.abs(mu_new - mu_old) / sd_new), np.max(np.abs(np.log(sd_new / sd_old))))
            if change < self.tol:
                return "stop"
        state.previous_average = state.average
        return "halve" if state.halvings < self.max_halvings else "go"


@dataclass(frozen=True)
class RelativeElbo:
    """Stan ADVI's rule: stop when the mean or median of the last ``window`` relative changes of the window ELBO is below ``tol``."""

    tol: float
    window: int
    max_halvings: int = 6
    lag: int = 1

    def verdict(self, state: VIState, stationary: bool, family: VIFamily) -> Verdict:
        """``"stop"``, ``"halve"`` or ``"go"`` at a window's end."""
        elbo = state.window_elbo
        if len(elbo) > 1 and np.isfinite(elbo[-1]) and np.isfinite(elbo[-2]) and elbo[-1] != 0:
            state.relative_changes.append(abs((elbo[-1] - elbo[-2]) / elbo[-1]))
            recent = state.relative_changes[-self.window :]
            if np.mean(recent) < self.tol or np.median(recent) < self.tol:
                return "stop"
        return "halve" if stationary and state.halvings < self.max_halvings else "go"


StoppingRule = ElboRise | ParameterChange | RelativeElbo


def run_vi(family: VIFamily, rule: StoppingRule, state: VIState, *, max_steps: int, progress: bool = False, desc: str = "VI") -> VIState:
    """Step ``family`` from ``state`` until ``rule`` stops it or ``max_steps`` steps in all; ``state`` is updated and returned."""
    from tqdm.auto import tqdm

    with tqdm(total=max_steps, initial=state.steps, desc=desc, disable=not progress or state.converged, leave=False) as bar:
        for step in range(state.steps + 1, 0 if state.converged else max_steps + 1):
            elbo, gradient = family.step(step, state.lr_scale)
            state.record(step, elbo, gradient, family.parameters())
            if step % state.eval_every:
                continue
            bar.update(state.eval_every)
            stationary = close_window(state, rule.lag)
            bar.set_postfix(elbo=f"{state.window_elbo[-1]:.3f}")
            verdict = rule.verdict(state, stationary, family)
            if verdict == "stop":
                state.converged = True
                break
            if verdict == "halve":
                state.halve()
    return state


def window_summary(state: VIState) -> dict[str, Any]:
    """What a fit's ``info`` reports of its run: ``converged``, ``steps`` and ``step_halvings``."""
    return {"converged": state.converged, "steps": state.steps, "step_halvings": state.halvings}


def vi_approximation(
    target: Target, samples: np.ndarray, log_q: np.ndarray, began: float, state: VIState, info: dict[str, Any]
) -> Approximation:
    """A VI fit's answer: its draws with ``log p`` and ``log q``, every evaluation counted, seconds since ``began``, the window ELBOs."""
    from pp_vae.inference.approximation import Approximation

    return Approximation(
        draws=samples,
        log_p=target.log_probs(samples),
        log_q=log_q,
        gradient_evaluations=target.gradient_evaluations,
        density_evaluations=target.density_evaluations,
        seconds=time.perf_counter() - began,
        elbo=np.array(state.window_elbo),
        info=info,
    )
