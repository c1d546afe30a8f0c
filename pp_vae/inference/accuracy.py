"""How far a result is from a reference posterior, marginal by marginal, in the reference's sds.

For each parameter: the mean's error and the 1-Wasserstein distance between the marginals, both divided by
the reference sd, and the sd ratio; with the Monte Carlo standard error of the mean's error, so a test or a
lecture can tell an error from noise. References are draws by Stan's flattened names: posteriordb's
gold-standard draws, or NUTS run long.
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


def against_reference(result: DataTree, reference: Mapping[str, np.ndarray], names: Iterable[str] | None = None) -> pd.DataFrame:
    """Per parameter (rows, Stan's names): the result's marginals against reference draws.

    Columns: ``mean``, ``sd``, ``reference_mean``, ``reference_sd``, ``mean_error`` (in reference sds),
    ``mean_error_mcse`` (its Monte Carlo standard error: the result's effective sample size from ArviZ, or
    PSIS's for importance-resampled draws, and the reference's draws taken as independent), ``sd_ratio``
    and ``wasserstein`` (the 1-Wasserstein distance, in reference sds). ``names`` defaults to every
    reference name the result has.
    """
    import arviz as az
    import pandas as pd

    from pp_vae.inference.result import flat_draws

    draws = flat_draws(result)
    chosen = [n for n in reference if n in draws] if names is None else list(names)
    missing = [n for n in chosen if n not in draws or n not in reference]
    if missing:
        raise ValueError(f"no draws named {missing[0]!r} in both the result and the reference")
    psis_ess = result.posterior.attrs.get("psis_ess")
    rows = {}
    for name in chosen:
        ours, theirs = np.asarray(draws[name], dtype=float), np.asarray(reference[name], dtype=float).ravel()
        ess = float(psis_ess) if psis_ess is not None else float(az.ess(ours, method="mean")) if ours.size > 10 else float(ours.size)
        scale = theirs.std(ddof=1)
        rows[name] = {
            "mean": ours.mean(),
            "sd": ours.std(ddof=1),
            "reference_mean": theirs.mean(),
            "reference_sd": scale,
            "mean_error": (ours.mean() - theirs.mean()) / scale,
            "mean_error_mcse": np.sqrt(ours.var(ddof=1) / max(ess, 1.0) + theirs.var(ddof=1) / theirs.size) / scale,
            "sd_ratio": ours.std(ddof=1) / scale,
            "wasserstein": wasserstein_1d(ours, theirs) / scale,
        }
    return pd.DataFrame.from_dict(rows, orient="index")
