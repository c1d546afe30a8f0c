"""Side by side: the same Stan model and data through several inference methods.

Each method returns draws under Stan's flattened, 1-based names (``beta[1]``, ``theta[8]``,
transformed parameters included); :func:`summarise` turns them into the same summary for every
method, so a new method (mean-field VI, lecture 3) is one more entry in :data:`METHODS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pp_vae import stan as stan_

QUANTILES = (0.05, 0.95)


@dataclass
class MethodResult:
    """What one method produced: draws by flattened name, its wall-clock and its own diagnostics."""

    method: str
    seconds: float
    draws: dict[str, np.ndarray]
    """Flattened name -> draws of shape ``(chains, draws)``."""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """Method-level numbers beside ``seconds`` in the JSON (e.g. mean-field's ``khat``)."""


def summarise(draws: dict[str, np.ndarray]) -> dict[str, dict[str, float | None]]:
    """Mean, sd, 5% and 95% quantiles, bulk/tail ESS, R-hat and the mean's MCSE for each scalar."""
    import arviz as az

    out = {}
    for name, values in draws.items():
        values = np.asarray(values, dtype=float)
        chains = values if values.ndim == 2 else values[None, :]
        ess_bulk = float(az.ess(chains, method="bulk"))
        q5, q95 = np.quantile(chains, QUANTILES)
        out[name] = {
            "mean": float(chains.mean()),
            "sd": float(chains.std(ddof=1)),
            "q5": float(q5),
            "q95": float(q95),
            "ess_bulk": ess_bulk,
            "ess_tail": float(az.ess(chains, method="tail", prob=QUANTILES)),
            "rhat": float(az.rhat(chains)) if chains.shape[0] > 1 else None,
            "mcse_mean": float(chains.std(ddof=1) / np.sqrt(ess_bulk)),
        }
    return out


def run_nuts(program: stan_.StanProgram, data: dict[str, Any], *, draws: int, seed: int | None, chains: int = 4) -> MethodResult:
    """NUTS through PyStan; diagnostics from ArviZ, wall-clock of sampling alone (not the build)."""
    idata = stan_.sample(program, data, chains=chains, draws=draws, warmup=max(draws, 1000), seed=seed)
    names = stan_.parameter_names(program)
    flat = stan_.flatten_draws(idata.posterior, names)
    seconds = float(idata.posterior.attrs["sampling_seconds"])
    diagnostics = stan_.diagnostics(idata, names).as_dict()
    diagnostics["min_ess_bulk_per_second"] = diagnostics["min_ess_bulk"] / seconds
    return MethodResult("nuts", seconds, flat, diagnostics)


def run_meanfield(program: stan_.StanProgram, data: dict[str, Any], *, draws: int, seed: int | None, chains: int = 4) -> MethodResult:
    """Mean-field Gaussian VI through the Stan bridge; ``draws * chains`` independent draws, PSIS k-hat."""
    from pp_vae.vi import fit_stan_meanfield

    fit = fit_stan_meanfield(program, data, num_samples=draws * chains, seed=seed or 0, progress=False)
    diagnostics = {
        "final_elbo": float(np.mean(fit.elbo[-100:])),
        "steps": int(fit.elbo.size),
        "khat": fit.khat,
        "khat_reading": fit.khat_reading,
    }
    return MethodResult("meanfield", fit.seconds, fit.draws, diagnostics, {"khat": fit.khat})


Runner = Callable[..., MethodResult]
METHODS: dict[str, Runner] = {"nuts": run_nuts, "meanfield": run_meanfield}


def exact_posteriors(program_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """Closed-form posteriors (``scipy.stats`` frozen) for the bundled conjugate programs, else ``{}``."""
    from pp_vae.conjugate import BetaBernoulli, NormalKnownVariance

    if program_name == "beta_bernoulli":
        return {"theta": BetaBernoulli(alpha=data["alpha"], beta=data["beta"]).posterior(data["y"])}
    if program_name == "normal_known_variance":
        model = NormalKnownVariance(prior_mean=data["prior_mean"], prior_sd=data["prior_sd"], noise_sd=data["noise_sd"])
        return {"mu": model.posterior(data["y"])}
    return {}


@dataclass
class Comparison:
    """Every method's result on one model and dataset."""

    model: str
    parameters: list[str]
    results: dict[str, MethodResult]
    exact: dict[str, Any] = field(default_factory=dict)
    """Closed-form posteriors by parameter name, when the model has them."""

    def to_json(self) -> dict[str, Any]:
        """The ``pp-vae compare`` JSON contract (see DESIGN.md)."""
        methods = {}
        for name, result in self.results.items():
            summary = summarise(result.draws)
            methods[name] = {
                "seconds": result.seconds,
                "summary": {p: summary[p] for p in self.parameters},
                "diagnostics": result.diagnostics,
                **result.extra,
            }
        report: dict[str, Any] = {"model": self.model, "parameters": self.parameters, "methods": methods}
        if self.exact:
            report["exact"] = {
                p: {"mean": float(d.mean()), "sd": float(d.std()), "q5": float(d.ppf(0.05)), "q95": float(d.ppf(0.95))}
                for p, d in self.exact.items()
            }
        return report

    def tidy(self) -> Any:
        """One row per parameter and method: mean, sd, 5/95% quantiles, and against NUTS (when run):
        mean error in NUTS-sd units, sd ratio, the share of NUTS draws inside the method's 90% interval;
        wall-clock, ESS/s, k-hat; an ``exact`` row where a closed form exists."""
        import pandas as pd

        summaries = {m: summarise(r.draws) for m, r in self.results.items()}
        nuts = self.results.get("nuts")
        rows = []
        for p in self.parameters:
            if p in self.exact:
                d = self.exact[p]
                rows.append({"parameter": p, "method": "exact", "mean": d.mean(), "sd": d.std(), "q5": d.ppf(0.05), "q95": d.ppf(0.95)})
            for m, result in self.results.items():
                s = summaries[m][p]
                row = {"parameter": p, "method": m, "mean": s["mean"], "sd": s["sd"], "q5": s["q5"], "q95": s["q95"],
                       "seconds": result.seconds, "ess_per_second": s["ess_bulk"] / result.seconds if result.seconds else None,
                       "khat": result.extra.get("khat")}
                if nuts is not None and m != "nuts":
                    ref = summaries["nuts"][p]
                    nuts_draws = np.ravel(nuts.draws[p])
                    row["mean_error_in_nuts_sd"] = (s["mean"] - ref["mean"]) / ref["sd"] if ref["sd"] else None
                    row["sd_ratio_to_nuts"] = s["sd"] / ref["sd"] if ref["sd"] else None
                    row["nuts_mass_in_90pct_interval"] = float(np.mean((nuts_draws >= s["q5"]) & (nuts_draws <= s["q95"])))
                rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> str:
        """A plain-text side-by-side table: mean and sd per parameter and method."""
        summaries = {m: summarise(r.draws) for m, r in self.results.items()}
        width = max(len(p) for p in self.parameters) + 2
        exact = {p: (d.mean(), d.std()) for p, d in self.exact.items()}
        header = f"{'parameter':<{width}}" + ("" if not exact else f"{'exact mean':>14}{'exact sd':>12}")
        header += "".join(f"{m + ' mean':>16}{m + ' sd':>14}" for m in summaries)
        lines = [header, "-" * len(header)]
        for p in self.parameters:
            cells = "" if not exact else (f"{exact[p][0]:>14.4g}{exact[p][1]:>12.4g}" if p in exact else " " * 26)
            lines.append(f"{p:<{width}}" + cells + "".join(f"{s[p]['mean']:>16.4g}{s[p]['sd']:>14.4g}" for s in summaries.values()))
        footer = "  ".join(
            f"{m}: {r.seconds:.2f} s" + (f", k-hat {r.extra['khat']:.2f}" if "khat" in r.extra else "") for m, r in self.results.items()
        )
        return "\n".join(lines + ["", footer])


def compare(
    model: str | Path,
    data: dict[str, Any] | str | Path,
    methods: Sequence[str] = ("nuts",),
    *,
    draws: int = 1000,
    seed: int | None = None,
    extra_fields: str = "error",
) -> Comparison:
    """Run each of ``methods`` on ``model`` and ``data`` and collect their draws side by side."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if not methods:
        raise ValueError(f"give at least one method ({', '.join(METHODS)})")
    program = stan_.load_program(model)  # each method refuses a program without parameters itself
    clean = stan_.check_data(program, data, extra_fields=extra_fields)
    results = {}
    for method in methods:
        start = time.perf_counter()
        results[method] = METHODS[method](program, clean, draws=draws, seed=seed)
        results[method].extra.setdefault("total_seconds", time.perf_counter() - start)
    parameters = list(next(iter(results.values())).draws)
    return Comparison(program.name, parameters, results, exact_posteriors(program.name, clean))
