"""Is a result to be trusted? MCMC health (R-hat, ESS, divergences) or an approximation's PSIS k-hat, with warnings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.psis import khat_reading, khat_threshold
from pp_vae.inference.result import info

if TYPE_CHECKING:
    from xarray import DataTree


@dataclass
class Diagnostics:
    """A result's health in numbers, with plain-language warnings past the usual thresholds.

    MCMC results (several chains) fill ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail`` and
    ``divergences``; approximations fill ``khat`` (and ``final_elbo`` and ``steps`` when optimised).
    """

    draws: int
    max_rhat: float | None = None
    min_ess_bulk: float | None = None
    min_ess_tail: float | None = None
    divergences: int | None = None
    khat: float | None = None
    khat_reading: str | None = None
    final_elbo: float | None = None
    steps: int | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by ``pp-vae compare``), without the fields that do not apply."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def diagnostics(result: DataTree, var_names: list[str] | None = None, rhat_max: float = 1.01, ess_min: float = 400) -> Diagnostics:
    """R-hat, bulk/tail ESS and divergences of an MCMC result (ArviZ), or the k-hat of an approximation, with warnings."""
    import arviz as az

    meta = info(result)
    report = Diagnostics(draws=meta.chains * meta.draws)
    if meta.khat is not None:
        report.khat = meta.khat
        report.khat_reading = khat_reading(meta.khat, report.draws)
        if not np.isfinite(meta.khat) or meta.khat > khat_threshold(report.draws):
            report.warnings.append(report.khat_reading)
        if meta.elbo is not None and meta.elbo.size:
            report.final_elbo = float(np.mean(meta.elbo[-max(1, meta.elbo.size // 20) :]))
            report.steps = int(meta.elbo.size)
        return report
    posterior = result.posterior.to_dataset()
    if var_names:
        posterior = posterior[var_names]
    report.max_rhat = float(az.rhat(posterior).to_array().max())
    report.min_ess_bulk = float(az.ess(posterior, method="bulk").to_array().min())
    report.min_ess_tail = float(az.ess(posterior, method="tail").to_array().min())
    stats = result.get("sample_stats")
    report.divergences = int(np.asarray(stats["diverging"]).sum()) if stats is not None and "diverging" in stats else 0
    if report.max_rhat > rhat_max:
        report.warnings.append(f"R-hat {report.max_rhat:.3f} > {rhat_max}: the chains disagree; run longer or reparameterise.")
    if min(report.min_ess_bulk, report.min_ess_tail) < ess_min:
        report.warnings.append(
            f"effective sample size {min(report.min_ess_bulk, report.min_ess_tail):.0f} < {ess_min:.0f}: estimates are noisy; draw more."
        )
    if report.divergences:
        report.warnings.append(
            f"{report.divergences} divergent transition(s) of {report.draws}: NUTS could not follow the posterior's geometry; "
            "the draws may be biased (try a non-centred parameterisation or a higher adapt delta)."
        )
    return report
