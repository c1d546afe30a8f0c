"""Side by side: the same Stan model and data through several inference methods (``pp-vae compare``).

Every method returns the one result type (:mod:`pp_vae.inference.result`), so a comparison is just
results by name: :func:`compare` runs the registered :data:`METHODS` on a Stan program (NUTS and the
ladder of approximations: Laplace, mean-field, low-rank and full-rank Gaussian VI, a normalising flow,
Pathfinder), and :meth:`Comparison.of` takes results the user made any other way. Summaries and
diagnostics come from ArviZ on each result; with ``psis=True`` every approximation also comes
PSIS-corrected (:func:`~pp_vae.inference.result.psis_resample`), beside its raw draws, with the k-hat that
says whether to believe the correction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    import pandas as pd
    from xarray import DataTree

    from pp_vae.bayes.conjugate import FrozenDistribution
    from pp_vae.stan.programs import StanProgram

CHAINS = 4
"""NUTS's chains in a comparison; an approximation returns as many draws in all, in one chain."""


@dataclass(frozen=True)
class Method:
    """A registered inference method: what it is, and how it runs on a checked Stan program and its data."""

    name: str
    description: str
    run: Callable[..., DataTree]
    """``run(program, data, *, draws, seed, progress)``: ``draws`` per NUTS chain; approximations draw ``4 * draws``."""
    resamples: bool = False
    """Its last step is PSIS importance resampling (multi-path Pathfinder): ``run`` then takes ``resample``, and
    :func:`compare` with ``psis=True`` shows the draws before that step as raw and the step itself as the correction."""


def _nuts(program: StanProgram, data: dict[str, Any], *, draws: int, seed: int, progress: bool) -> DataTree:
    from pp_vae.inference.nuts import fit_nuts

    return fit_nuts(program, data, chains=CHAINS, draws=draws, warmup=max(draws, 1000), seed=seed, progress=progress)


def _laplace(program: StanProgram, data: dict[str, Any], *, draws: int, seed: int, progress: bool) -> DataTree:
    from pp_vae.inference.laplace import fit_laplace

    return fit_laplace(program, data, draws=CHAINS * draws, seed=seed, progress=progress)


def _gaussian(family: str) -> Callable[..., DataTree]:
    def run(program: StanProgram, data: dict[str, Any], *, draws: int, seed: int, progress: bool) -> DataTree:
        from pp_vae.inference.gaussian_vi import fit_gaussian_vi

        return fit_gaussian_vi(program, data, family=family, draws=CHAINS * draws, seed=seed, progress=progress)  # type: ignore[arg-type]

    return run


def _flow(program: StanProgram, data: dict[str, Any], *, draws: int, seed: int, progress: bool) -> DataTree:
    from pp_vae.inference.flow import fit_flow

    return fit_flow(program, data, draws=CHAINS * draws, seed=seed, progress=progress)


def _pathfinder(program: StanProgram, data: dict[str, Any], *, draws: int, seed: int, progress: bool, resample: bool = True) -> DataTree:
    from pp_vae.inference.pathfinder import fit_pathfinder

    return fit_pathfinder(program, data, paths=CHAINS, draws=CHAINS * draws, seed=seed, progress=progress, resample=resample)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("nuts", "Stan's NUTS, 4 chains: the reference", _nuts),
        Method("laplace", "Laplace: a Gaussian at the mode (L-BFGS) with the inverse Hessian there", _laplace),
        Method("meanfield", "mean-field Gaussian VI on the unconstrained scale", _gaussian("meanfield")),
        Method("lowrank", "low-rank-plus-diagonal Gaussian VI (rank round(sqrt(d))), for larger models", _gaussian("lowrank")),
        Method("fullrank", "full-rank Gaussian VI: every correlation", _gaussian("fullrank")),
        Method("flow", "normalising-flow VI (2 affine IAF layers), for curved posteriors", _flow),
        Method("pathfinder", "multi-path Pathfinder (4 paths), PSIS-resampled", _pathfinder, resamples=True),
    )
}


def _exact(model: str, data: dict[str, Any]) -> dict[str, FrozenDistribution]:
    """Closed-form marginal posteriors of a bundled model, else ``{}``."""
    from pp_vae.models.catalogue import MODELS

    bundled = MODELS.get(model)
    return bundled.exact_posterior(data) if bundled and bundled.exact_posterior else {}


@dataclass
class Comparison:
    """Every method's result on one model and dataset, and the exact posterior where one is known."""

    model: str
    parameters: list[str]
    """Stan's flattened, 1-based names of the parameters and transformed parameters compared."""
    results: dict[str, DataTree]
    exact: dict[str, FrozenDistribution] = field(default_factory=dict)
    psis: dict[str, DataTree] = field(default_factory=dict)
    """Method -> its draws PSIS-resampled (:func:`~pp_vae.inference.result.psis_resample`), for approximations."""
    failed: dict[str, str] = field(default_factory=dict)
    """Method -> why it could not run (Laplace without a proper mode, ...), when others did."""

    @classmethod
    def of(
        cls, results: Mapping[str, DataTree], exact: Mapping[str, FrozenDistribution] | None = None, var_names: Sequence[str] | None = None
    ) -> Comparison:
        """A comparison of results made any way (NUTS, Metropolis, any VI family), on the variables they share."""
        from pp_vae.inference.result import flat_draws, info

        if not results:
            raise ValueError("give at least one result to compare")
        first = next(iter(results.values()))
        names = (
            list(var_names)
            if var_names is not None
            else [n for n in first.posterior.data_vars if all(n in r.posterior.data_vars for r in results.values())]
        )
        return cls(info(first).model, list(flat_draws(first, names)), dict(results), dict(exact or {}))

    def add_psis(self, draws: int | None = None, seed: int = 0) -> Comparison:
        """PSIS-correct every approximation that is not already importance-resampled (in :attr:`psis`); returns ``self``."""
        from pp_vae.inference.result import info, psis_resample

        for name, result in self.results.items():
            stats = result.get("sample_stats")
            if stats is not None and "lp_approx" in stats and not info(result).psis_resampled:
                self.psis[name] = psis_resample(result, draws=draws, seed=seed)
        return self

    def summaries(self, psis: bool = False) -> dict[str, pd.DataFrame]:
        """ArviZ's summary of each result under Stan's names (:func:`~pp_vae.inference.result.summary`); ``psis``: of the corrected ones."""
        from pp_vae.inference.result import summary

        results = self.psis if psis else self.results
        return {m: summary(r, self._variables()).loc[self.parameters] for m, r in results.items()}

    def _variables(self) -> list[str]:
        return list(dict.fromkeys(p.split("[")[0] for p in self.parameters))

    def to_json(self) -> dict[str, Any]:
        """The ``pp-vae compare`` JSON contract (README.md, *Using the package*: ``pp-vae compare``)."""
        from pp_vae.inference.psis import khat_threshold
        from pp_vae.inference.reliability import diagnostics
        from pp_vae.inference.result import info

        methods = {}
        psis_tables = self.summaries(psis=True)
        for name, table in self.summaries().items():
            meta = info(self.results[name])
            rows = {p: {k: _json_number(v) for k, v in row.items()} for p, row in table.to_dict(orient="index").items()}
            entry: dict[str, Any] = {
                "seconds": meta.seconds,
                "gradient_evaluations": meta.gradient_evaluations,
                "summary": rows,
                "diagnostics": diagnostics(self.results[name], self._variables()).as_dict(),
            }
            if meta.khat is not None:
                entry["khat"] = meta.khat
            if meta.density_evaluations is not None:
                entry["density_evaluations"] = meta.density_evaluations
            if name in self.psis:
                corrected = info(self.psis[name])
                entry["psis"] = {
                    "summary": {
                        p: {k: _json_number(v) for k, v in row.items()} for p, row in psis_tables[name].to_dict(orient="index").items()
                    },
                    "khat": _json_number(corrected.khat),
                    "khat_threshold": khat_threshold(meta.chains * meta.draws),
                    "effective_sample_size": _json_number(corrected.psis_ess),
                    "unique_draws": corrected.unique_draws,
                }
            methods[name] = entry
        report: dict[str, Any] = {"model": self.model, "parameters": self.parameters, "methods": methods}
        if self.failed:
            report["failed"] = dict(self.failed)
        if self.exact:
            report["exact"] = {
                p: {"mean": float(d.mean()), "sd": float(d.std()), "q5": float(d.ppf(0.05)), "q95": float(d.ppf(0.95))}
                for p, d in self.exact.items()
            }
        return report

    def accuracy(self, reference: Mapping[str, np.ndarray] | DataTree) -> pd.DataFrame:
        """Every method (and its PSIS correction, as ``<method>+psis``) against a reference: one row per method and parameter.

        The columns of :func:`~pp_vae.inference.accuracy.against_reference` (errors in reference sds with their
        Monte Carlo standard errors), and each method's ``khat``.
        """
        import pandas as pd

        from pp_vae.inference.accuracy import against_reference
        from pp_vae.inference.result import info

        tables = []
        for name, result in (self.results | {f"{m}+psis": r for m, r in self.psis.items()}).items():
            table = against_reference(result, reference).rename_axis("parameter").reset_index()
            table.insert(0, "method", name)
            table["khat"] = info(result).khat
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    def tidy(self) -> pd.DataFrame:
        """One row per parameter and method, for tables and plots.

        Mean, sd, 5/95% quantiles; against NUTS (when run): the mean's error in NUTS sds, the sd ratio, the
        share of NUTS draws inside the method's 90% interval; wall-clock, gradient evaluations, ESS/s,
        k-hat, ``psis_resampled`` (the draws are importance-resampled, as multi-path Pathfinder's are); an ``exact``
        row where a closed form exists, and a ``<method>+psis`` row per PSIS-corrected method.
        """
        import pandas as pd

        from pp_vae.inference.result import flat_draws, info

        summaries = self.summaries() | {f"{m}+psis": table for m, table in self.summaries(psis=True).items()}
        results = self.results | {f"{m}+psis": result for m, result in self.psis.items()}
        nuts_draws = flat_draws(self.results["nuts"], self._variables()) if "nuts" in self.results else None
        rows = []
        for p in self.parameters:
            if p in self.exact:
                d = self.exact[p]
                rows.append({"parameter": p, "method": "exact", "mean": d.mean(), "sd": d.std(), "q5": d.ppf(0.05), "q95": d.ppf(0.95)})
            for m, result in results.items():
                s, meta = summaries[m].loc[p], info(result)
                row = {
                    "parameter": p,
                    "method": m,
                    "mean": s["mean"],
                    "sd": s["sd"],
                    "q5": s["q5"],
                    "q95": s["q95"],
                    "seconds": meta.seconds,
                    "gradient_evaluations": meta.gradient_evaluations,
                    "ess_per_second": s["ess_bulk"] / meta.seconds if meta.seconds else None,
                    "khat": meta.khat,
                    "psis_resampled": meta.psis_resampled,
                }
                if nuts_draws is not None and m != "nuts":
                    ref = summaries["nuts"].loc[p]
                    reference = np.ravel(nuts_draws[p])
                    row["mean_error_in_nuts_sd"] = (s["mean"] - ref["mean"]) / ref["sd"] if ref["sd"] else None
                    row["sd_ratio_to_nuts"] = s["sd"] / ref["sd"] if ref["sd"] else None
                    row["nuts_mass_in_90pct_interval"] = float(np.mean((reference >= s["q5"]) & (reference <= s["q95"])))
                rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> str:
        """A plain-text side-by-side table: mean and sd per parameter and method (PSIS-corrected beside raw), then cost and k-hat."""
        from pp_vae.inference.psis import khat_threshold
        from pp_vae.inference.result import info

        corrected = self.summaries(psis=True)
        summaries = {}
        for m, table in self.summaries().items():  # each correction right after its raw draws
            summaries[m] = table
            if m in corrected:
                summaries[f"{m}+psis"] = corrected[m]
        width = max(len(p) for p in self.parameters) + 2
        exact = {p: (d.mean(), d.std()) for p, d in self.exact.items()}
        header = f"{'parameter':<{width}}" + ("" if not exact else f"{'exact mean':>14}{'exact sd':>12}")
        cell = max(16, max(len(m) for m in summaries) + 6)
        header += "".join(f"{str(m) + ' mean':>{cell}}{str(m) + ' sd':>{cell - 2}}" for m in summaries)
        lines = [header, "-" * len(header)]
        means = {m: s["mean"].to_dict() for m, s in summaries.items()}
        sds = {m: s["sd"].to_dict() for m, s in summaries.items()}
        for p in self.parameters:
            cells = "" if not exact else (f"{exact[p][0]:>14.4g}{exact[p][1]:>12.4g}" if p in exact else " " * 26)
            lines.append(f"{p:<{width}}" + cells + "".join(f"{means[m][p]:>{cell}.4g}{sds[m][p]:>{cell - 2}.4g}" for m in summaries))
        footer = []
        for m, result in self.results.items():
            meta = info(result)
            cost = f"{m}: {meta.seconds:.2f} s" + (f", {meta.gradient_evaluations:,} gradients" if meta.gradient_evaluations else "")
            footer.append(cost + (f", k-hat {meta.khat:.2f}" if meta.khat is not None else ""))
        footer += [f"{m} failed: {why}" for m, why in self.failed.items()]
        if self.psis:
            limit = khat_threshold(info(next(iter(self.psis.values()))).draws)
            footer.append(f"(+psis: PSIS-resampled; believe it where k-hat < {limit:.2f})")
        return "\n".join(lines + ["", "  ".join(footer)])


def _json_number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def compare(
    model: str | Path,
    data: dict[str, Any] | str | Path,
    methods: Sequence[str] = ("nuts",),
    *,
    draws: int = 1000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
    psis: bool = False,
) -> Comparison:
    """Run each of ``methods`` (names in :data:`METHODS`) on the Stan program ``model`` and ``data``, side by side.

    ``draws`` is per NUTS chain; each approximation returns as many draws in all (``4 * draws``). Data fields
    the program does not declare are dropped with an :class:`~pp_vae.stan.ExtraDataWarning` naming them
    (``extra_fields="ignore"``: silently; ``"error"``: refused). With ``psis`` every approximation also comes
    PSIS-resampled (:attr:`Comparison.psis`); multi-path Pathfinder's raw draws are then its pool before its
    own resampling step, and that step is its correction. A method that cannot run on this posterior (Laplace
    without a proper mode) is reported in :attr:`Comparison.failed` while the others run; if it is the only
    one asked for, or every method fails, its error is raised.
    """
    from pp_vae.stan.data_block import check_data
    from pp_vae.stan.programs import load_program, parameter_names

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if not methods:
        raise ValueError(f"give at least one method ({', '.join(METHODS)})")
    integer_at_least("draws", draws)
    program = load_program(model)  # each method refuses a program without parameters itself
    clean = check_data(program, data, extra_fields=extra_fields)
    results: dict[str, DataTree] = {}
    failed: dict[str, str] = {}
    for method in methods:
        start = time.perf_counter()
        options = {"resample": False} if psis and METHODS[method].resamples else {}
        try:
            results[method] = METHODS[method].run(program, clean, draws=draws, seed=seed, progress=progress, **options)
        except (ValueError, RuntimeError, FloatingPointError) as error:
            if len(methods) == 1 or (not results and len(failed) == len(methods) - 1):
                raise
            failed[method] = str(error).splitlines()[0] if str(error) else type(error).__name__
            continue
        results[method].posterior.attrs.setdefault("total_seconds", time.perf_counter() - start)
    comparison = Comparison.of(results, _exact(program.name, clean), var_names=parameter_names(program))
    comparison.model, comparison.failed = program.name, failed
    return comparison.add_psis(draws=CHAINS * draws, seed=seed) if psis else comparison
