"""Calibration checks for any inference method: simulation-based calibration (Talts et al. 2018) and VSBC (Yao et al. 2018).

Draw parameters from the prior, data from them, fit, and see where the true parameters fall among the fit's
draws. If the method is exact, the true value is just one more draw from the posterior, so its **rank** among
``L`` posterior draws is uniform on ``0..L`` averaged over the prior (Cook et al. 2006; Talts et al. 2018). A
posterior that is too narrow piles the ranks at both ends, one that is too wide in the middle, one that is
shifted at one end. :class:`Calibration` holds the ranks of every parameter with

* a uniformity test: Pearson's chi-square on ``bins`` equal bins of the ranks (Talts et al.'s histograms);
* VSBC's symmetry test (Yao et al. 2018): for an approximation whose marginal is off-centre, the
  probability ``P_q(theta < theta_true)`` is not symmetric about 1/2; a two-sample Kolmogorov-Smirnov test of
  those probabilities against one minus them.

The method to check is any function ``fit(data, seed) -> result`` returning the course's one result type;
the simulator any ``simulate(rng) -> (truth, data)`` with ``truth`` keyed by Stan's flattened names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from scipy import stats

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

Simulator = Callable[[np.random.Generator], tuple[Mapping[str, float], dict[str, Any]]]
Fit = Callable[[dict[str, Any], int], "DataTree"]


@dataclass
class Calibration:
    """The ranks of each parameter's true value among ``draws`` posterior draws, one per simulation."""

    method: str
    draws: int
    """``L``: posterior draws per fit the ranks are taken among; ranks run over ``0..L``."""
    ranks: dict[str, np.ndarray]
    """Per parameter, one rank per simulation."""
    quantiles: dict[str, np.ndarray]
    """Per parameter, ``P_q(theta < theta_true)`` estimated from all of the fit's draws (VSBC's statistic)."""
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    """Simulations whose fit raised, with the error: left out of the ranks, never silently."""

    @property
    def simulations(self) -> int:
        """Simulations whose fits went into the ranks."""
        return len(next(iter(self.ranks.values()))) if self.ranks else 0

    def uniformity_p_value(self, name: str, bins: int = 10) -> float:
        """Pearson's chi-square p-value that ``name``'s ranks are uniform on ``0..L``, in ``bins`` bins of equal probability."""
        ranks = self.ranks[name].astype(int)
        bins = min(integer_at_least("bins", bins, 2), self.draws + 1)
        bin_of = np.arange(self.draws + 1) * bins // (self.draws + 1)  # the L + 1 possible ranks, split as evenly as they go
        counts = np.bincount(bin_of[ranks], minlength=bins)
        expected = np.bincount(bin_of, minlength=bins) / (self.draws + 1) * len(ranks)
        return float(stats.chisquare(counts, expected).pvalue)

    def symmetry_p_value(self, name: str) -> float:
        """VSBC: the two-sample Kolmogorov-Smirnov p-value of ``P_q(theta < theta_true)`` against ``1 -`` it (symmetric if unbiased)."""
        p = self.quantiles[name]
        return float(stats.ks_2samp(p, 1 - p).pvalue)

    def pit(self, name: str) -> np.ndarray:
        """Ranks mapped to ``(0, 1)``: ``(rank + 1/2) / (L + 1)``, uniform for an exact method."""
        return (self.ranks[name] + 0.5) / (self.draws + 1)

    def table(self, bins: int = 10) -> dict[str, dict[str, float]]:
        """Per parameter: the uniformity and symmetry p-values and the share of ranks in the outer tenths (0.2 if uniform)."""
        out = {}
        for name in self.ranks:
            pit = self.pit(name)
            out[name] = {
                "uniformity_p": self.uniformity_p_value(name, bins),
                "symmetry_p": self.symmetry_p_value(name),
                "outer_tenths": float(np.mean((pit < 0.1) | (pit > 0.9))),
            }
        return out

    def to_json(self, path: str | Path | None = None, bins: int = 10) -> dict[str, Any]:
        """The calibration as JSON (and written to ``path`` when given): method, counts, ranks, quantiles, the tests."""
        report = {
            "method": self.method,
            "simulations": self.simulations,
            "draws": self.draws,
            "seconds": self.seconds,
            "failures": self.failures,
            "parameters": self.table(bins),
            "ranks": {name: ranks.tolist() for name, ranks in self.ranks.items()},
            "quantiles": {name: q.tolist() for name, q in self.quantiles.items()},
        }
        if path is not None:
            from pp_vae.files import atomic_write_text

            atomic_write_text(Path(path), json.dumps(report, indent=2))
        return report


def _thinned(values: np.ndarray, draws: int) -> np.ndarray:
    """``draws`` equally spaced values of the pooled chains (thinning takes out most autocorrelation)."""
    flat = values.reshape(-1)
    if flat.size < draws:
        raise ValueError(f"the fit returned {flat.size} draws, fewer than the {draws} the ranks need")
    return flat[np.linspace(0, flat.size - 1, draws).round().astype(int)]


def _ranks(
    samples: Mapping[str, Any], truth: Mapping[str, float], wanted: list[str] | None, draws: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Each parameter's rank among ``draws`` (thinned) posterior draws and its posterior quantile (all of them)."""
    names = wanted if wanted is not None else [name for name in truth if name in samples]
    ranks, quantiles = {}, {}
    for name in names:
        if name not in samples:
            raise ValueError(f"the fit has no draws of {name!r}; it has {', '.join(sorted(samples))}")
        if name not in truth:
            raise ValueError(f"the simulator gave no true value of {name!r}; it gave {', '.join(sorted(truth))}")
        ranks[name] = float(np.sum(_thinned(np.asarray(samples[name]), draws) < truth[name]))
        quantiles[name] = float(np.mean(np.asarray(samples[name]) < truth[name]))
    return ranks, quantiles


def simulation_based_calibration(
    simulate: Simulator | Sequence[tuple[Mapping[str, float], dict[str, Any]]],
    fit: Fit,
    simulations: int = 100,
    draws: int = 100,
    parameters: Iterable[str] | None = None,
    seed: int = 0,
    workers: int = 1,
    method: str | None = None,
    progress: bool = True,
) -> Calibration:
    """Rank the true parameters of ``simulations`` prior draws among ``draws`` posterior draws of each fit.

    ``simulate`` is a function of a generator, or the simulated worlds themselves (``(truth, data)`` pairs, as
    :func:`pp_vae.stan.simulate.stan_simulations` makes; then ``simulations`` is their number). Simulation ``i``
    uses the generator ``default_rng([seed, i])`` and fits with seed ``seed * 100_003 + i``, so
    a run is reproducible and any one simulation can be rerun alone. With ``workers > 1`` fits run side by side
    in threads, for fits that are pure Python, NumPy or torch; never for Stan fits (see :func:`calibrate_stan`).
    A fit that raises is recorded in ``failures`` and left out.
    """
    import time

    from tqdm.auto import tqdm

    from pp_vae.inference.result import flat_draws, info

    worlds = None if callable(simulate) else list(simulate)
    simulations = len(worlds) if worlds is not None else integer_at_least("simulations", simulations)
    integer_at_least("draws", draws)
    wanted = list(parameters) if parameters is not None else None

    def one(i: int) -> tuple[dict[str, float], dict[str, float], str, str | None]:
        truth, data = worlds[i] if worlds is not None else cast(Simulator, simulate)(np.random.default_rng([seed, i]))
        try:
            result = fit(data, seed * 100_003 + i)
        except Exception as error:  # noqa: BLE001 - recorded and reported, never lost
            return {}, {}, "", f"simulation {i}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        return *_ranks(flat_draws(result), truth, wanted, draws), info(result).method, None

    began = time.perf_counter()
    if integer_at_least("workers", workers) == 1:  # in the calling thread
        outcomes = [one(i) for i in tqdm(range(simulations), desc="calibration", disable=not progress)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(tqdm(pool.map(one, range(simulations)), total=simulations, desc="calibration", disable=not progress))
    failures = [error for *_, error in outcomes if error]
    kept = [outcome for outcome in outcomes if outcome[3] is None]
    if not kept:
        raise RuntimeError(f"every one of the {simulations} fits failed; the first: {failures[0]}")
    names = list(kept[0][0])
    return Calibration(
        method=method or kept[0][2],
        draws=draws,
        ranks={name: np.array([outcome[0][name] for outcome in kept]) for name in names},
        quantiles={name: np.array([outcome[1][name] for outcome in kept]) for name in names},
        seconds=time.perf_counter() - began,
        failures=failures,
    )


def calibrate_stan(
    model: str | Path,
    design: dict[str, Any] | str | Path | None = None,
    *,
    simulator: str | Path | None = None,
    method: str = "nuts",
    simulations: int = 100,
    draws: int = 99,
    parameters: Iterable[str] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Calibration:
    """Calibrate a registered inference ``method`` (:data:`pp_vae.inference.comparison.METHODS`) on a Stan program by simulation.

    ``simulator`` is a Stan program with no parameters whose generated quantities draw ``model``'s parameters from
    their prior and its data given them (:mod:`pp_vae.stan.simulate`); bundled models bring their own. ``design``
    is the data the simulator reads (sizes, covariates, known scales): a dict or a JSON file; bundled models
    default to their example data. Each fit returns about ten times ``draws`` draws, thinned to ``draws`` for the ranks.

    The fits run one after another in the calling thread (NUTS's chains still run in parallel processes): a
    compiled Stan model used from a second thread leaves httpstan's extension module in a state that crashes the
    interpreter at its next in-process use (measured here: a segmentation fault in ``log_prob``).
    """
    from pp_vae.inference.comparison import METHODS
    from pp_vae.models import MODELS
    from pp_vae.stan.data_block import check_data
    from pp_vae.stan.programs import load_program
    from pp_vae.stan.simulate import simulator_for, stan_simulations

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    program = load_program(model)
    sim = load_program(simulator) if simulator is not None else simulator_for(program)
    if sim is None:
        raise ValueError(
            f"{program.name!r} has no bundled simulator: write a Stan program whose data block holds the design and whose "
            "generated quantities draw the model's parameters from their prior and its data given them, and pass it as "
            "the simulator (pp-vae calibrate MODEL DESIGN.json --simulator SIM.stan)"
        )
    if design is None:
        if program.name not in MODELS:
            raise ValueError(f"{program.name!r} is not a bundled model: give the design (the data the simulator reads) as JSON")
        layout: dict[str, Any] = dict(MODELS[program.name].example_data)
    elif isinstance(design, dict):
        layout = dict(design)
    else:
        layout = json.loads(Path(design).read_text())
    worlds = stan_simulations(sim, program, layout, integer_at_least("simulations", simulations), seed=seed)
    per_chain = max(250, -(-10 * integer_at_least("draws", draws) // 4))
    run = METHODS[method].run

    def fit(data: dict[str, Any], fit_seed: int) -> DataTree:
        return run(program, check_data(program, data, extra_fields="ignore"), draws=per_chain, seed=fit_seed, progress=False)

    return simulation_based_calibration(worlds, fit, draws=draws, parameters=parameters, seed=seed, method=method, progress=progress)
