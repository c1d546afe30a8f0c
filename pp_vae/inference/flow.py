"""Normalising-flow VI: a flow guide for curved posteriors, which no Gaussian can follow.

``q`` pushes ``N(0, I)`` through a stack of Pyro's autoregressive flows, the ones Pyro's autoguides build:
affine inverse autoregressive flows (``"iaf"``, as ``AutoIAFNormal``; Kingma, Salimans, Jozefowicz, Chen,
Sutskever and Welling 2016) or neural rational-quadratic splines (``"spline"``, as
``AutoNormalizingFlow(spline_autoregressive)``; Durkan, Bekasov, Murray and Papamakarios 2019). It is
trained by maximising the ELBO with ``particles`` reparameterised draws a step, in a plain torch loop:
the flow's layers and one torch Adam, no Pyro trace per step. The target's log density enters through a
``torch.autograd.Function`` that calls it once per draw and hands its gradient to backward, so a draw
costs exactly one gradient evaluation.

The flow runs on ``y`` with ``u = m + L y``: by default ``m`` is the mode and ``L`` the Cholesky factor of
Laplace's covariance (``2 d`` extra gradients), so the flow starts at Laplace's approximation (the affine
layers are initialised to the identity) and learns only what is not Gaussian. Without a proper mode it
starts at the initial point with ``L = I``. The step size is halved whenever the mean ELBO of a window of
``eval_every`` steps is not two standard errors above that of the window ``LAG`` windows back; the fit has
converged when that happens a fourth time (after three halvings), or stops at ``max_steps``. It takes no
step at all when the start already matches the target: when the log importance ratio ``log p - log q`` of
``EXACT_CHECK`` draws from the start varies by less than ``EXACT_VARIANCE`` (nats squared), ``KL(q || p)``,
about half that variance, is already below what the noisy steps would stir up. On a Gaussian posterior,
where Laplace's start is right, this saves the three halvings' 300 steps (a tenth of the flow's time).

The flow is a :class:`FlowVI` (its start, one ``step``, ``sample``) and the loop, windows and halving are the
shared driver's (:func:`~pp_vae.inference.vi_driver.run_vi` with :class:`~pp_vae.inference.vi_driver.ElboRise`).
The fit leaves no global state behind: torch's default dtype (float64 while it runs) and random state are
restored, and it touches no Pyro parameter store.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pp_vae.inference.approximation import (
    EXACT_CHECK,
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
from pp_vae.inference.flow_layers import FlatWeights, flow_layers, push_layer
from pp_vae.inference.laplace import laplace_start
from pp_vae.inference.vi_driver import ElboRise, VIState, run_vi, vi_approximation
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    import torch
    from xarray import DataTree

    from pp_vae.stan.programs import StanProgram

FLOWS: tuple[str, ...] = ("iaf", "spline")
LAG = 2
"""Windows over which the ELBO must rise (by two standard errors) for the step size to stay."""
MAX_HALVINGS = 3


@contextlib.contextmanager
def _torch_session(seed: int) -> Iterator[None]:
    """float64 as torch's default dtype and a private random state while the block runs; both restored."""
    import torch

    previous, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)  # the layers are tiny: a second thread costs more than it saves (1.1 vs 1.6-2.4 ms a step)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_default_dtype(previous)
        torch.set_num_threads(threads)


def _import_torch() -> None:
    """Import torch, Pyro's flows and what torch defers to its first optimiser step (about 1.3 s: ``torch._dynamo``).

    :func:`fit_flow` does this before its clock starts, as NUTS's build is not timed either.
    """
    import pyro.distributions.transforms  # noqa: F401
    import torch

    parameter = torch.nn.Parameter(torch.zeros(1))
    parameter.grad = torch.zeros(1)
    torch.optim.Adam([parameter]).step()


def _log_density_function(target: Target) -> Any:
    """A ``torch.autograd.Function``: ``log p`` of each row of a ``(P, d)`` tensor, one gradient evaluation per row."""
    import torch

    class LogDensity(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, u: torch.Tensor) -> torch.Tensor:  # noqa: D102
            values, gradients = target.batch(u.detach().cpu().numpy())
            bad = ~np.isfinite(values)
            if bad.any():  # outside the support: a very low score and no gradient
                values[bad] = values[~bad].min() - 1e3 if (~bad).any() else -1e10
                gradients[bad] = 0.0
            ctx.save_for_backward(torch.as_tensor(gradients, dtype=u.dtype))
            return torch.as_tensor(values, dtype=u.dtype)

        @staticmethod
        def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:  # noqa: D102
            (gradients,) = ctx.saved_tensors
            return grad_output.unsqueeze(-1) * gradients

    return LogDensity


def _standardisation(target: Target, x0: np.ndarray, rng: np.random.Generator, standardise: str) -> tuple[np.ndarray, np.ndarray, str]:
    """``(m, L, how)``: Laplace's mode and covariance factor, or the initial point and ``I``."""
    if standardise == "laplace":
        try:
            laplace = laplace_start(target, x0, rng)
        except ValueError:
            pass
        else:
            return laplace.mode, np.linalg.cholesky(laplace.covariance()), "laplace"
    return x0, np.eye(x0.size), "none"


@dataclass(frozen=True)
class FlowVIOptions:
    """What a :class:`FlowVI` reads (defaults as :func:`approximate_flow`'s; ``hidden=None``: two layers of ``max(16, 4 d)``)."""

    flow: Literal["iaf", "spline"] = "iaf"
    layers: int = 2
    hidden: list[int] | None = None
    particles: int = 16
    learning_rate: float = 5e-3

    def __post_init__(self) -> None:
        """Refuse an unknown flow or a count below 1."""
        if self.flow not in FLOWS:
            raise ValueError(f"flow must be one of {', '.join(FLOWS)}, got {self.flow!r}")
        integer_at_least("layers", self.layers)
        integer_at_least("particles", self.particles)


class FlowVI:
    """A normalising flow as init / step / sample: ``u = m + L T(z)``, ``z ~ N(0, I)``, ``T`` Pyro's autoregressive layers.

    Built (inside :func:`_torch_session`) at its start, the affine layers the identity; :meth:`step` is one fused
    Adam step (:class:`~pp_vae.inference.flow_layers.FlatWeights`) on the ELBO of ``particles`` reparameterised
    draws; driven by :func:`~pp_vae.inference.vi_driver.run_vi`.
    """

    def __init__(self, target: Target, loc: np.ndarray, factor: np.ndarray, options: FlowVIOptions | None = None) -> None:
        import torch

        options = FlowVIOptions() if options is None else options
        self.d, self.particles, self.learning_rate = loc.size, options.particles, options.learning_rate
        self.log_det_factor = float(np.sum(np.log(np.diag(factor))))
        self.log_density = _log_density_function(target)
        self.transform = flow_layers(options.flow, self.d, options.layers, options.hidden or [max(16, 4 * self.d)] * 2)
        self.m, self.lower = torch.as_tensor(loc), torch.as_tensor(factor)
        self.weights = FlatWeights(self.transform, self.learning_rate)
        with torch.no_grad():  # the start (Laplace's Gaussian, the flow's layers the identity) may already be exact
            u, log_q = self.push(torch.randn(EXACT_CHECK, self.d))
            self.exact_start = start_matches_target(self.log_density.apply(u).numpy(), log_q.numpy())

    def push(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``u = m + L T(z)`` and ``log q(u)``."""
        log_q = -0.5 * (z**2).sum(-1) - 0.5 * self.d * np.log(2 * np.pi) - self.log_det_factor
        x = z
        for part in self.transform:
            x, log_det = push_layer(part, x)
            log_q = log_q - log_det
        return self.m + x @ self.lower.T, log_q

    def step(self, step: int, lr_scale: float) -> tuple[float, np.ndarray | None]:
        """One Adam step at ``lr_scale`` times the base rate: the step's ELBO estimate (no gradient for the driver's drift test)."""
        import torch

        u, log_q = self.push(torch.randn(self.particles, self.d))
        elbo = (self.log_density.apply(u) - log_q).mean()
        self.weights.zero_grad()
        (-elbo).backward()
        self.weights.step(lr_scale, max_norm=10.0)
        return elbo.item(), None

    def parameters(self) -> None:
        """None: the flow's weights are not averaged."""
        return None

    def moments(self, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Not in closed form: the flow stops by :class:`~pp_vae.inference.vi_driver.ElboRise`."""
        raise NotImplementedError("a flow's moments are not in closed form: stop it by ElboRise")

    def sample(self, draws: int) -> tuple[np.ndarray, np.ndarray]:
        """``draws`` draws of ``q`` on ``u``'s scale and their ``log q``."""
        import torch

        with torch.no_grad():
            u, log_q = self.push(torch.randn(draws, self.d))
        return u.numpy().copy(), log_q.numpy().copy()


def approximate_flow(
    logp_grad: LogDensityGrad | Target,
    initial: np.ndarray,
    *,
    flow: Literal["iaf", "spline"] = "iaf",
    layers: int = 2,
    hidden: list[int] | None = None,
    particles: int = 16,
    max_steps: int = 2000,
    learning_rate: float = 5e-3,
    eval_every: int = 25,
    draws: int = 4000,
    seed: int | np.random.Generator = 0,
    logp: LogDensity | None = None,
    standardise: Literal["laplace", "none"] = "laplace",
    progress: bool = False,
) -> Approximation:
    """Normalising-flow VI of the density ``logp_grad`` on ``R^d`` (see the module docstring).

    ``layers`` flow layers with autoregressive networks of ``hidden`` widths (default two of
    ``max(16, 4 d)``); ``particles`` draws per step. ``standardise="none"`` skips Laplace's start where the
    mode's curvature misleads (a funnel's neck). Returns ``draws`` draws with ``log p`` and ``log q``;
    ``elbo`` holds the window-mean ELBO; ``info`` ``converged``, ``steps`` and ``standardisation``.
    """
    options = FlowVIOptions(flow=flow, layers=layers, hidden=hidden, particles=particles, learning_rate=learning_rate)
    for name, value in (("max_steps", max_steps), ("eval_every", eval_every), ("draws", draws)):
        integer_at_least(name, value)
    start = time.perf_counter()
    x0 = as_initial(initial)
    target = as_target(logp_grad, x0.size, logp)
    torch_seed = int(np.random.default_rng(seed).integers(2**31)) if isinstance(seed, np.random.Generator) else int(seed)
    with single_threaded_blas():
        loc, factor, how = _standardisation(target, x0, np.random.default_rng(torch_seed), standardise)
    with _torch_session(torch_seed), single_threaded_blas():
        q = FlowVI(target, loc, factor, options)
        rule = ElboRise(lag=LAG, max_halvings=MAX_HALVINGS)
        state = run_vi(q, rule, VIState.start(q, eval_every), max_steps=max_steps, progress=progress, desc=f"{flow} flow")
        samples, log_q = q.sample(draws)
    info = {"flow": flow, "layers": layers, "converged": state.converged, "steps": state.steps, "standardisation": how}
    info |= {"exact_start": q.exact_start, "optimisation_gradients": target.gradient_evaluations}
    return vi_approximation(target, samples, log_q, start, state, info)


def fit_flow(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    flow: Literal["iaf", "spline"] = "iaf",
    draws: int = 4000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
    **options: Any,
) -> DataTree:
    """Normalising-flow VI of a Stan program's posterior (``flow`` ``"iaf"`` or ``"spline"``), as the one result type.

    ``model`` and ``data`` as for :func:`~pp_vae.inference.fit_nuts`; ``options`` go to :func:`approximate_flow`
    (``layers``, ``hidden``, ``particles``, ``max_steps``, ``standardise``, ...).
    """
    integer_at_least("draws", draws)
    if flow not in FLOWS:
        raise ValueError(f"flow must be one of {', '.join(FLOWS)}, got {flow!r}")
    _import_torch()

    def run(target: Target, x0: np.ndarray, rng: np.random.Generator) -> Approximation:
        return approximate_flow(target, x0, flow=flow, draws=draws, seed=rng, progress=progress, **options)

    return fit_stan(model, data, run, method="flow", seed=seed, extra_fields=extra_fields)
