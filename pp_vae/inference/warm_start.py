"""VI as NUTS's warm-up (lecture 9): start Stan's chains at draws of a fast approximation and shorten the warm-up.

Stan's warm-up does three jobs: it walks the chains from their random starts into the typical set, it tunes
the step size, and it estimates the inverse metric (the posterior's scales) over doubling windows. An
approximation such as Pathfinder lands in the typical set in a few hundred gradients, which does the first job;
the other two still need iterations. PyStan 3 lets us pass the start (``init``) and the step size, but not an
initial inverse metric (httpstan's ``hmc_nuts_diag_e_adapt`` takes none), so the metric is still learned from
scratch: :func:`warmup_sweep` measures how much warm-up that leaves to save.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.result import info
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.stan.programs import StanProgram

STARTS = ("stan", "pathfinder")
"""Where chains start: Stan's default (uniform on (-2, 2) on the unconstrained scale) or Pathfinder's draws."""


def inits_from(result: DataTree, parameters: Sequence[str], chains: int, seed: int = 0) -> list[dict[str, Any]]:
    """``chains`` distinct draws of ``result``'s ``parameters`` (constrained, declared shapes), as Stan ``init`` dicts."""
    posterior = result.posterior
    missing = [name for name in parameters if name not in posterior]
    if missing:
        raise ValueError(f"the approximation has no draws of {missing[0]!r}, so it cannot start the chains there")
    total = posterior.sizes["chain"] * posterior.sizes["draw"]
    picks = np.random.default_rng(seed).choice(total, size=integer_at_least("chains", chains), replace=chains > total)
    out = []
    for pick in picks:
        chain, draw = divmod(int(pick), posterior.sizes["draw"])
        out.append({name: np.asarray(posterior[name].values[chain, draw]).tolist() for name in parameters})
    return out


def warm_started_nuts(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    start: str = "pathfinder",
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 150,
    seed: int = 0,
    extra_fields: str = "warn",
) -> DataTree:
    """NUTS with ``warmup`` iterations per chain, its chains started at ``start``: ``"stan"`` or ``"pathfinder"``.

    With ``"pathfinder"``, multi-path Pathfinder runs first; its seconds and gradients are added to the
    result's ``seconds`` and ``gradient_evaluations``, so costs compare with plain NUTS's, and the start's
    cost is kept apart in ``start_seconds`` and ``start_gradient_evaluations``.
    """
    from pp_vae.inference.nuts import fit_nuts
    from pp_vae.inference.pathfinder import fit_pathfinder
    from pp_vae.stan.data_block import check_data
    from pp_vae.stan.programs import StanProgram, load_program

    if start not in STARTS:
        raise ValueError(f"start must be one of {', '.join(STARTS)}, got {start!r}")
    program = model if isinstance(model, StanProgram) else load_program(model)
    clean = check_data(program, data, extra_fields=extra_fields)
    began = time.perf_counter()
    start_gradients = 0
    nuts_args: dict[str, Any] = {}
    if start == "pathfinder":
        approximation = fit_pathfinder(program, clean, draws=1000, seed=seed, extra_fields="ignore")
        start_gradients = info(approximation).gradient_evaluations or 0
        nuts_args["init"] = inits_from(approximation, list(program.info["parameters"]), chains, seed=seed)
    start_seconds = time.perf_counter() - began
    result = fit_nuts(program, clean, chains=chains, draws=draws, warmup=warmup, seed=seed, extra_fields="ignore", **nuts_args)
    sampling = info(result)
    result.posterior.attrs.update(
        {
            "start": start,
            "warmup": warmup,
            "start_seconds": start_seconds,
            "start_gradient_evaluations": start_gradients,
            "sampling_seconds": sampling.seconds,
            "seconds": sampling.seconds + start_seconds,
            "gradient_evaluations": (sampling.gradient_evaluations or 0) + start_gradients,
        }
    )
    return result


@dataclass(frozen=True)
class WarmupRun:
    """One NUTS run of a warm-up sweep: where it started, how long it warmed up, and how well it mixed."""

    start: str
    warmup: int
    max_rhat: float
    min_ess_bulk: float
    seconds: float
    gradient_evaluations: int
    divergences: int

    @property
    def converged(self) -> bool:
        """No divergence (lecture 2's rule), every rank-normalised R-hat below 1.01 (Vehtari et al. 2021), bulk ESS at least 400."""
        return self.divergences == 0 and self.max_rhat < 1.01 and self.min_ess_bulk >= 400

    @property
    def ess_per_second(self) -> float:
        """The worst parameter's bulk ESS per second of the whole run (the start's cost included)."""
        return self.min_ess_bulk / self.seconds


def warmup_sweep(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    warmups: Sequence[int] = (25, 50, 100, 200, 400, 1000),
    starts: Sequence[str] = STARTS,
    *,
    chains: int = 4,
    draws: int = 1000,
    seed: int = 0,
) -> list[WarmupRun]:
    """Run NUTS from each start with each warm-up length (same seed), and grade each run's mixing."""
    from pp_vae.inference.reliability import diagnostics

    runs = []
    for start in starts:
        for warmup in warmups:
            result = warm_started_nuts(model, data, start=start, chains=chains, draws=draws, warmup=warmup, seed=seed)
            health = diagnostics(result)
            runs.append(
                WarmupRun(
                    start=start,
                    warmup=int(warmup),
                    max_rhat=float(health.max_rhat or np.nan),
                    min_ess_bulk=float(health.min_ess_bulk or np.nan),
                    seconds=info(result).seconds,
                    gradient_evaluations=info(result).gradient_evaluations or 0,
                    divergences=int(health.divergences or 0),
                )
            )
    return runs


def shortest_converged_warmup(runs: Sequence[WarmupRun], start: str) -> int | None:
    """The shortest warm-up from ``start`` whose run and every longer one converged, or None if none did."""
    mine = sorted((run for run in runs if run.start == start), key=lambda run: run.warmup)
    best = None
    for run in reversed(mine):
        if not run.converged:
            break
        best = run.warmup
    return best


def as_rows(runs: Sequence[WarmupRun]) -> list[dict[str, Any]]:
    """The runs as table rows (with convergence and ESS/s), for printing and JSON."""
    return [asdict(run) | {"converged": run.converged, "ess_per_second": run.ess_per_second} for run in runs]
