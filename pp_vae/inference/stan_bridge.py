"""Pyro on any Stan program: a model whose one latent is Stan's unconstrained vector ``u``, scored by Stan.

The log density and its gradient come from the compiled program in-process (:class:`pp_vae.stan.StanDensity`),
wrapped as a torch autograd function, so Pyro's guides and optimisers work on any Stan program.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from torch.distributions import constraints

from pp_vae.stan.density import StanDensity


class StanLogProb(torch.autograd.Function):
    """``log p(u | data)`` of a Stan program at unconstrained ``u`` (Jacobian included), differentiable in ``u``."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, density: StanDensity) -> torch.Tensor:  # noqa: D102
        if ctx.needs_input_grad[0]:
            value, gradient = density.log_prob_grad(u.detach().double().cpu().numpy())
            ctx.save_for_backward(torch.as_tensor(gradient, dtype=u.dtype, device=u.device))
        else:
            value = density.log_prob(u.detach().double().cpu().numpy())
        return u.new_tensor(value)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (gradient,) = ctx.saved_tensors
        return grad_output * gradient, None


def stan_bridge_model(density: StanDensity) -> Callable[[], None]:
    """A Pyro model whose only latent is Stan's unconstrained parameter vector ``u``, scored by Stan."""

    def model() -> None:
        u = pyro.sample("u", dist.ImproperUniform(constraints.real, (), (density.dim,)))
        pyro.factor("stan_log_prob", StanLogProb.apply(u, density))

    return model


def find_mode(density: StanDensity, initial: np.ndarray | None = None) -> np.ndarray:
    """Mode of the unconstrained, Jacobian-adjusted density by L-BFGS (the origin if the search fails)."""
    from scipy.optimize import minimize

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = density.log_prob_grad(u)
        return -value, -gradient

    start = np.zeros(density.dim) if initial is None else np.asarray(initial, dtype=float)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x if np.all(np.isfinite(result.x)) else np.zeros(density.dim)
