"""How far a result is from a reference posterior, marginal by marginal, in the reference's sds.

For each parameter: the mean's error and the 1-Wasserstein distance between the marginals, both divided by
the reference sd, and the sd ratio; with the Monte Carlo standard errors of the mean's error and of the sd
ratio, so a test or a lecture can tell an error from noise. References are draws by Stan's flattened names
(posteriordb's gold-standard draws) or another result (NUTS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from xarray import DataTree


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """The 1-Wasserstein distance between the empirical distributions of ``a`` and ``b`` (same units as the values)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(np.ravel(a), np.ravel(b)))


def _effective_sizes(result: DataTree, draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each flat variable's effective sample size: PSIS's for importance-resampled draws, else ArviZ's (mean)."""
    import arviz as az

    from pp_vae.inference.result import info

    psis_ess = info(result).psis_ess
    if psis_ess is not None:
        return {name: psis_ess for name in draws}
    return {
        name: float(az.ess(np.asarray(values), method="mean")) if np.size(values) > 10 else float(np.size(values))
        for name, values in draws.items()
    }


def against_reference(result: DataTree, reference: Mapping[str, np.ndarray] | DataTree, names: Iterable[str] | None = None) -> pd.DataFrame:
    """Per parameter (rows, Stan's names): the result's marginals against a reference.

    ``reference`` is draws by Stan's flattened names (posteriordb's, taken as independent) or another
    result (NUTS's: its effective sample sizes are used). Columns: ``mean``, ``sd``, ``reference_mean``,
    ``reference_sd``, ``mean_error`` (in reference sds) and ``mean_error_mcse`` (its Monte Carlo standard
    error, from both sides' effective sample sizes: ArviZ's, or PSIS's for importance-resampled draws),
    ``sd_ratio`` and ``sd_ratio_mcse`` (each sd off by about ``1 / sqrt(2 ESS)`` of itself), and
    ``wasserstein`` (the 1-Wasserstein distance, in reference sds). ``names`` defaults to every reference
    name the result has.
    """
    import pandas as pd
    from xarray import DataTree

    from pp_vae.inference.result import flat_draws

    draws = flat_draws(result)
    if isinstance(reference, DataTree):  # (a DataTree is a Mapping too: test for it first)
        flat = flat_draws(reference)
        theirs_all, their_ess = {k: np.ravel(v) for k, v in flat.items()}, _effective_sizes(reference, flat)
    else:
        theirs_all = {k: np.ravel(np.asarray(v, dtype=float)) for k, v in reference.items()}
        their_ess = {k: float(v.size) for k, v in theirs_all.items()}
    chosen = [n for n in theirs_all if n in draws] if names is None else list(names)
    missing = [n for n in chosen if n not in draws or n not in theirs_all]
    if missing:
        raise ValueError(f"no draws named {missing[0]!r} in both the result and the reference")
    our_ess = _effective_sizes(result, {n: draws[n] for n in chosen})
    rows = {}
    for name in chosen:
        ours, theirs = np.ravel(np.asarray(draws[name], dtype=float)), theirs_all[name]
        ess, ref_ess = max(our_ess[name], 1.0), max(their_ess[name], 1.0)
        scale = theirs.std(ddof=1)
        rows[name] = {
            "mean": ours.mean(),
            "sd": ours.std(ddof=1),
            "reference_mean": theirs.mean(),
            "reference_sd": scale,
            "mean_error": (ours.mean() - theirs.mean()) / scale,
            "mean_error_mcse": np.sqrt(ours.var(ddof=1) / ess + theirs.var(ddof=1) / ref_ess) / scale,
            "sd_ratio": ours.std(ddof=1) / scale,
            "sd_ratio_mcse": ours.std(ddof=1) / scale * np.sqrt(1 / (2 * ess) + 1 / (2 * ref_ess)),
            "wasserstein": wasserstein_1d(ours, theirs) / scale,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
