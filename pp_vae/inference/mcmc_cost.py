"""What an MCMC run's accuracy cost (lecture 2): log-density evaluations and seconds per effective draw.

Equal accuracy means an equal Monte Carlo standard error, ``MCSE = sd / sqrt(ESS)``: the cost of one effective draw
of the worst-mixing quantity is the price of accuracy. NUTS pays in gradient evaluations (leapfrog steps),
Metropolis in density evaluations; each chain gives its own estimate, so their spread gives a standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pp_vae.inference.result import info

if TYPE_CHECKING:
    from xarray import DataTree


@dataclass(frozen=True)
class Efficiency:
    """One run's accuracy and its price: R-hat, ESS, evaluations (warm-up included) and sampling cost per effective draw per chain."""

    method: str
    max_rhat: float
    min_ess: float
    evaluations: int
    """Gradient evaluations (NUTS) or density evaluations (Metropolis), warm-up included."""
    seconds: float
    chain_cost: np.ndarray
    """Per chain: sampling-phase evaluations divided by that chain's own smallest ESS."""

    @property
    def evaluations_per_ess(self) -> float:
        """Every evaluation of the run (warm-up included) per effective draw of the worst quantity."""
        return self.evaluations / self.min_ess

    @property
    def seconds_per_ess(self) -> float:
        """Wall-clock of the run (warm-up included) per effective draw of the worst quantity."""
        return self.seconds / self.min_ess


def efficiency(result: DataTree, var_names: list[str]) -> Efficiency:
    """The run's :class:`Efficiency` over ``var_names`` (scalars), from ArviZ's bulk ESS and R-hat."""
    import arviz as az

    meta = info(result)
    missing = [name for name in var_names if name not in result.posterior]
    if missing or not var_names:
        raise ValueError(f"var_names must name posterior variables, got {var_names} (missing {missing})")
    draws = {name: result.posterior[name].values for name in var_names}
    if any(values.ndim != 2 for values in draws.values()):
        raise ValueError(f"var_names must name scalar parameters, got shapes { {k: v.shape for k, v in draws.items()} }")
    stats = result.get("sample_stats")
    if meta.method == "nuts" and stats is not None and "n_steps" in stats:
        evaluations = int(meta.gradient_evaluations or 0)
        sampling = np.asarray(stats["n_steps"]).sum(axis=1)
    elif meta.density_evaluations is not None:
        evaluations = int(meta.density_evaluations)
        sampling = np.full(meta.chains, meta.draws)
    else:
        raise ValueError(f"efficiency needs an MCMC result (NUTS or Metropolis), got method {meta.method!r}")
    chain_ess = np.array([min(float(az.ess(values[c : c + 1])) for values in draws.values()) for c in range(meta.chains)])
    return Efficiency(
        method=meta.method,
        max_rhat=max(float(az.rhat(values)) for values in draws.values()),
        min_ess=min(float(az.ess(values)) for values in draws.values()),
        evaluations=evaluations,
        seconds=meta.seconds,
        chain_cost=sampling / chain_ess,
    )


def cost_ratio(expensive: Efficiency, cheap: Efficiency) -> tuple[float, float]:
    """``mean chain cost of expensive / that of cheap`` and its standard error (delta method over the chains)."""
    ratio = float(expensive.chain_cost.mean() / cheap.chain_cost.mean())
    rel = [e.chain_cost.std(ddof=1) / np.sqrt(e.chain_cost.size) / e.chain_cost.mean() for e in (expensive, cheap)]
    return ratio, ratio * float(np.hypot(*rel))


def cost_to_ess(result: DataTree, var_names: list[str], target_ess: float = 400.0) -> tuple[float, float]:
    """Gradients and seconds a NUTS run needs for a bulk ESS of ``target_ess`` in the worst of ``var_names``.

    Its whole warm-up, plus its sampling gradients pro rata (ESS grows in proportion to the draws), so runs of
    any length compare at one accuracy: an ESS of 400 puts every mean within 0.1 sd at two Monte Carlo standard
    errors. The seconds are the run's wall-clock pro rata to those gradients.
    """
    if not np.isfinite(target_ess) or target_ess <= 0:
        raise ValueError(f"target_ess must be a positive number, got {target_ess!r}")
    run = efficiency(result, var_names)
    if run.method != "nuts":
        raise ValueError(f"cost_to_ess needs a NUTS result (its warm-up and leapfrog steps), got method {run.method!r}")
    sampling = float(np.asarray(result.sample_stats["n_steps"]).sum())
    gradients = run.evaluations - sampling + sampling * target_ess / run.min_ess
    return gradients, run.seconds * gradients / run.evaluations
