"""The leapfrog integrator at HMC's heart (lecture 2), to watch its energy error against the step size.

HMC gives the position ``q`` a momentum ``p ~ Normal(0, M)`` and follows Hamilton's equations for
``H(q, p) = -log p(q) + p^T M^-1 p / 2`` with leapfrog steps of size ``eps``. Exact dynamics keep ``H``; leapfrog
keeps it to ``O(eps^2)`` where the step fits the curvature, and blows up where it does not. Stan calls a
trajectory whose ``H`` grows by more than 1000 a *divergence*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pp_vae.validation import integer_at_least, positive_scalar

Gradient = Callable[[np.ndarray], np.ndarray]


def leapfrog(grad_log_p: Gradient, q: Any, p: Any, step_size: float, steps: int, inv_metric: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions and momenta ``(steps + 1, dim)`` of ``steps`` leapfrog steps (half kick, drift, half kick) from ``(q, p)``."""
    eps = positive_scalar("step_size", step_size)
    integer_at_least("steps", steps, 1)
    q, p = np.atleast_1d(np.asarray(q, float)).copy(), np.atleast_1d(np.asarray(p, float)).copy()
    if q.shape != p.shape or q.ndim != 1:
        raise ValueError(f"q and p must be 1-D points of one shape, got {q.shape} and {p.shape}")
    inv_m = np.ones_like(q) if inv_metric is None else np.broadcast_to(np.asarray(inv_metric, float), q.shape)
    qs, ps = np.empty((steps + 1, q.size)), np.empty((steps + 1, q.size))
    qs[0], ps[0] = q, p
    grad = grad_log_p(q)
    for t in range(1, steps + 1):
        p = p + 0.5 * eps * grad
        q = q + eps * inv_m * p
        grad = grad_log_p(q)
        p = p + 0.5 * eps * grad
        qs[t], ps[t] = q, p
        if not np.all(np.isfinite(q)):
            qs[t + 1 :], ps[t + 1 :] = np.nan, np.nan
            break
    return qs, ps


def energy_error(
    log_p: Callable[[np.ndarray], float],
    grad_log_p: Gradient,
    q: Any,
    p: Any,
    step_size: float,
    steps: int,
    inv_metric: Any = None,
) -> np.ndarray:
    """``H(q_t, p_t) - H(q_0, p_0)`` along a leapfrog trajectory, ``t = 0..steps`` (NaN once it leaves the support)."""
    qs, ps = leapfrog(grad_log_p, q, p, step_size, steps, inv_metric)
    inv_m = np.ones(qs.shape[1]) if inv_metric is None else np.broadcast_to(np.asarray(inv_metric, float), qs.shape[1:])
    with np.errstate(invalid="ignore", over="ignore"):
        energy = np.array([-log_p(qt) if np.all(np.isfinite(qt)) else np.nan for qt in qs]) + 0.5 * np.sum(inv_m * ps**2, axis=1)
    return energy - energy[0]


def max_energy_errors(
    log_p: Callable[[np.ndarray], float], grad_log_p: Gradient, q: Any, p: Any, step_sizes: Any, length: float
) -> np.ndarray:
    """Largest ``|H_t - H_0|`` over a trajectory of integration time ``length`` (``length / eps`` steps), per step size."""
    positive_scalar("length", length)
    out = []
    for eps in np.asarray(step_sizes, float):
        errors = energy_error(log_p, grad_log_p, q, p, float(eps), max(1, round(length / eps)))
        out.append(np.inf if np.isnan(errors).any() else float(np.max(np.abs(errors))))
    return np.array(out)


def sampler_table(result: Any, max_depth: int = 10) -> Any:
    """Per chain of a NUTS result: adapted step size, leapfrog steps, tree depth (and hits of ``max_depth``), divergences, E-BFMI."""
    import arviz as az
    import pandas as pd

    stats = result.get("sample_stats")
    needed = ("step_size", "n_steps", "tree_depth", "diverging", "energy")
    if stats is None or any(name not in stats for name in needed):
        raise ValueError(f"sampler_table needs a NUTS result whose sample_stats hold {needed}")
    values = {name: np.asarray(stats[name]) for name in needed}
    return pd.DataFrame(
        {
            "step size": values["step_size"][:, 0],
            "mean leapfrog steps": values["n_steps"].mean(axis=1),
            "max tree depth": values["tree_depth"].max(axis=1),
            f"hits depth {max_depth}": (values["tree_depth"] >= max_depth).sum(axis=1),
            "divergences": values["diverging"].sum(axis=1),
            "E-BFMI": np.asarray(az.bfmi(values["energy"]), dtype=float),
        },
        index=pd.RangeIndex(1, values["energy"].shape[0] + 1, name="chain"),
    )


def stability_limit(grad_log_p: Gradient, q: Any, h: float = 1e-5) -> float:
    """``2 / sqrt(largest eigenvalue of -Hessian)`` at ``q`` (identity metric): leapfrog diverges locally above this step.

    On a Gaussian it is twice the standard deviation of the narrowest direction; the Hessian is taken by central
    differences of the gradient (``2 dim`` gradient calls).
    """
    q = np.atleast_1d(np.asarray(q, float))
    positive_scalar("h", h)
    columns = [(grad_log_p(q + h * e) - grad_log_p(q - h * e)) / (2 * h) for e in np.eye(q.size)]
    hessian = -np.array(columns)
    largest = float(np.linalg.eigvalsh(0.5 * (hessian + hessian.T)).max())
    if not largest > 0:
        raise ValueError(f"the log density is not curved downwards at q (largest curvature {largest:g}): no stability limit")
    return 2.0 / np.sqrt(largest)
