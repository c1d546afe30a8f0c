"""Complete and no pooling of grouped Normal estimates in closed form (lecture 2's eight schools).

Each group ``j`` reports an estimate ``y_j`` with a known standard error ``sigma_j``, ``y_j ~ Normal(theta_j, sigma_j)``.

* **Complete pooling**: one effect for all, ``theta_j = mu``, ``mu ~ Normal(prior_mean, prior_sd)``
  (the hierarchical model at ``tau = 0``); ``prior_sd=inf`` is the flat prior.
* **No pooling**: independent effects, ``theta_j ~ Normal(prior_mean, prior_sd)`` (the hierarchical model
  with ``tau`` fixed at ``prior_sd`` and ``mu`` at ``prior_mean``: no group informs another).

Both posteriors are Normal (precisions add); so are their exact leave-one-out predictives, which PSIS-LOO
estimates from posterior draws: :func:`exact_loo_complete_pooling`, :func:`exact_loo_no_pooling`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from pp_vae.validation import finite_scalar, finite_vector


def _groups(y: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and ``sigma`` as equal-length float vectors, ``sigma > 0``."""
    y, sigma = finite_vector("y", y), finite_vector("sigma", sigma)
    if y.shape != sigma.shape:
        raise ValueError(f"y and sigma must have the same length, got {y.size} and {sigma.size}")
    if y.size == 0:
        raise ValueError("y must hold at least one group's estimate")
    bad = np.flatnonzero(sigma <= 0)
    if bad.size:
        raise ValueError(f"sigma must be positive, got {sigma[bad[0]].item()!r} at index {bad[0]}")
    return y, sigma


def _prior_precision(prior_mean: float, prior_sd: float) -> tuple[float, float]:
    """``(1 / prior_sd^2, prior_mean / prior_sd^2)``; ``(0, 0)`` for the flat prior ``prior_sd=inf``."""
    finite_scalar("prior_mean", prior_mean)
    if not (isinstance(prior_sd, (int, float, np.floating)) and prior_sd > 0 and not math.isnan(prior_sd)):
        raise ValueError(f"prior_sd must be positive (inf for a flat prior), got {prior_sd!r}")
    if math.isinf(prior_sd):
        return 0.0, 0.0
    return 1.0 / prior_sd**2, prior_mean / prior_sd**2


def complete_pooling(y: Any, sigma: Any, prior_mean: float = 0.0, prior_sd: float = math.inf) -> Any:
    """Posterior of the common effect ``mu``: Normal with precision ``1/prior_sd^2 + sum 1/sigma_j^2`` (frozen scipy)."""
    y, sigma = _groups(y, sigma)
    precision, weighted = _prior_precision(prior_mean, prior_sd)
    precision += float(np.sum(sigma**-2.0))
    weighted += float(np.sum(y * sigma**-2.0))
    return stats.norm(weighted / precision, precision**-0.5)


def no_pooling(y: Any, sigma: Any, prior_mean: float = 0.0, prior_sd: float = math.inf) -> Any:
    """Posteriors of the independent effects ``theta_j``: one frozen Normal with vector ``loc`` and ``scale``."""
    y, sigma = _groups(y, sigma)
    precision, weighted = _prior_precision(prior_mean, prior_sd)
    precisions = precision + sigma**-2.0
    return stats.norm((weighted + y * sigma**-2.0) / precisions, precisions**-0.5)


def exact_loo_complete_pooling(y: Any, sigma: Any, prior_mean: float = 0.0, prior_sd: float = math.inf) -> np.ndarray:
    """``log p(y_j | y_-j)`` per group: ``Normal(y_j | m_-j, sqrt(v_-j + sigma_j^2))`` from the other groups' posterior."""
    y, sigma = _groups(y, sigma)
    precision, weighted = _prior_precision(prior_mean, prior_sd)
    if precision == 0.0 and y.size < 2:
        raise ValueError("leave-one-out under a flat prior needs at least two groups: one left out leaves mu improper")
    rest_precision = precision + np.sum(sigma**-2.0) - sigma**-2.0
    rest_mean = (weighted + np.sum(y * sigma**-2.0) - y * sigma**-2.0) / rest_precision
    return np.asarray(stats.norm.logpdf(y, rest_mean, np.sqrt(1.0 / rest_precision + sigma**2)))


def exact_loo_no_pooling(y: Any, sigma: Any, prior_mean: float = 0.0, prior_sd: float = 10.0) -> np.ndarray:
    """``log p(y_j | y_-j) = log Normal(y_j | prior_mean, sqrt(prior_sd^2 + sigma_j^2))``: the left-out group has only its prior."""
    y, sigma = _groups(y, sigma)
    if math.isinf(prior_sd):
        raise ValueError("no pooling under a flat prior (prior_sd=inf) has an improper leave-one-out predictive: log p = -inf")
    _prior_precision(prior_mean, prior_sd)
    return np.asarray(stats.norm.logpdf(y, prior_mean, np.sqrt(prior_sd**2 + sigma**2)))
