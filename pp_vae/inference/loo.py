"""PSIS-LOO for grouped Normal data (lecture 2): pointwise log-likelihoods from draws of ``theta``, then ArviZ.

Any model of ``y_j ~ Normal(theta_j, sigma_j)`` (complete, no or partial pooling; NUTS or closed-form draws) is
scored the same way: ``log_lik[s, j] = log Normal(y_j | theta_j^(s), sigma_j)`` in an ArviZ ``log_likelihood``
group, which ``az.loo`` (Pareto-smoothed importance sampling, one Pareto ``k`` per group) and ``az.compare`` read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from pp_vae.bayes.pooling import _groups

if TYPE_CHECKING:
    import pandas as pd
    from xarray import DataTree


def pointwise_log_likelihood(theta: Any, y: Any, sigma: Any) -> np.ndarray:
    """``log Normal(y_j | theta[..., j], sigma_j)`` for draws ``theta`` of shape ``(chain, draw, J)``."""
    y, sigma = _groups(y, sigma)
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 3 or theta.shape[-1] != y.size:
        raise ValueError(f"theta must have shape (chain, draw, {y.size}), got {theta.shape}")
    return np.asarray(stats.norm.logpdf(y, theta, sigma))


def grouped_loo_data(theta: Any, y: Any, sigma: Any) -> DataTree:
    """ArviZ data of draws ``theta`` ``(chain, draw, J)``: posterior ``theta``, ``log_likelihood`` and observed ``y``."""
    import arviz as az

    log_lik = pointwise_log_likelihood(theta, y, sigma)
    dims = {"theta": ["group"], "y": ["group"]}
    coords = {"group": np.arange(1, log_lik.shape[-1] + 1)}
    groups = {
        "posterior": {"theta": np.asarray(theta, float)},
        "log_likelihood": {"y": log_lik},
        "observed_data": {"y": np.asarray(y, float)},
    }
    return az.from_dict(groups, dims=dims, coords=coords)


def pooling_loo(fits: Mapping[str, DataTree]) -> tuple[dict[str, Any], pd.DataFrame]:
    """``az.loo`` of each model (pointwise, Pareto k per group) and ``az.compare`` of them all (best first)."""
    import warnings

    import arviz as az

    if len(fits) < 2:
        raise ValueError(f"pooling_loo compares models: pass at least two, got {list(fits)}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto", category=UserWarning)
        loos = {name: az.loo(fit, pointwise=True) for name, fit in fits.items()}
        table = az.compare(dict(loos), round_to="none")
    return loos, table
