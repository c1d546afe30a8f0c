"""The one result type: every posterior approximation returns ArviZ's ``DataTree``.

NUTS, Metropolis and every variational family return the same structure, so ArviZ's summaries and
diagnostics work on any of them and :func:`pp_vae.inference.comparison` takes any of them:

``posterior``
    One variable per parameter and transformed parameter, under Stan's name, shaped
    ``(chain, draw, *shape)``. Element coordinates are 1-based, so ArviZ labels elements as Stan
    does (:func:`summary` gives ``beta[1]``, ``Sigma[2,1]``). Approximations give one chain.
``sample_stats``
    Per-draw statistics. NUTS: ``diverging``, ``n_steps`` (leapfrog steps), ``lp`` and the rest of
    Stan's. Approximations: ``lp``, the log target density (unnormalised), and ``lp_approx``, the
    approximation's normalised log density; ``lp - lp_approx`` are the importance log-weights PSIS reads.
``posterior.attrs``
    ``method`` (``"nuts"``, ``"meanfield"``, ...), ``model`` (the program's name), ``seconds``
    (wall-clock of the method, builds excluded), ``gradient_evaluations`` (log-density gradients the
    method computed; for NUTS the leapfrog steps of warm-up and sampling), and for approximations
    ``khat`` (PSIS Pareto k-hat of the draws' importance weights) and ``elbo`` (the ELBO at every
    optimisation step, when the method optimises one). :func:`info` reads every attribute as a typed field
    (:class:`ResultInfo`).

:func:`psis_resample` is PSIS's correction of an approximation's result: its draws importance-resampled, as the
same type.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.psis import pareto_khat, psis_resample_indices, psis_smooth
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    import pandas as pd
    from xarray import DataTree

CI_PROB = 0.9
"""The summaries' equal-tailed interval: the 5% and 95% quantiles (``q5``, ``q95``)."""
_COUNTED = ("chains", "draws", "details")
"""ResultInfo's fields that are not attributes: the draws' shape, and what is left."""
_ELEMENT = re.compile(r"^(?P<base>[^\[]+)\[(?P<index>[^\]]+)\]$")


@dataclass(frozen=True)
class ResultInfo:
    """Every attribute a result carries, typed: those some methods write are ``None`` (or ``False``) where a method does not.

    ``details`` holds the rest, each method's own facts (a VI family's ``family``, ``init`` and ``step_halvings``,
    Pathfinder's ``paths``, a flow's ``layers``, ...), under their names.
    """

    method: str
    model: str
    seconds: float
    gradient_evaluations: int | None
    khat: float | None
    elbo: np.ndarray | None
    chains: int
    draws: int
    density_evaluations: int | None = None
    """Log densities computed without a gradient (an approximation's draws, Metropolis's proposals)."""
    total_seconds: float | None = None
    """:func:`~pp_vae.inference.compare`'s clock around the whole method, its Stan build included."""
    psis_resampled: bool = False
    """The draws are importance-resampled (:func:`psis_resample`, multi-path Pathfinder)."""
    psis_ess: float | None = None
    """The effective sample size ``1 / sum(w^2)`` of the smoothed weights the draws were resampled by."""
    unique_draws: int | None = None
    """Distinct draws among importance-resampled ones."""
    converged: bool | None = None
    """Whether an approximation's optimisation met its stopping rule."""
    steps: int | None = None
    """Optimisation steps a VI family took."""
    exact_start: bool | None = None
    """A VI family's start already matched the target, so it took no step."""
    optimisation_gradients: int | None = None
    """Gradients spent before the final draws (the mode search, Hessian and steps)."""
    acceptance_rate: float | None = None
    step_size: float | None = None
    """Metropolis's acceptance rate and adapted step size."""
    guide_seconds: float | None = None
    """NeuTra's SVI fit of its flow, apart from ``seconds`` (NUTS's alone)."""
    start: str | None = None
    warmup: int | None = None
    start_seconds: float | None = None
    start_gradient_evaluations: int | None = None
    sampling_seconds: float | None = None
    """A warm-started NUTS run (:func:`~pp_vae.inference.warm_started_nuts`): its start, warm-up, and the two costs apart."""
    details: dict[str, Any] = field(default_factory=dict)


def from_draws(
    draws: Mapping[str, np.ndarray],
    *,
    method: str,
    model: str,
    seconds: float,
    gradient_evaluations: int | None,
    sample_stats: Mapping[str, np.ndarray] | None = None,
    elbo: np.ndarray | None = None,
    **attrs: Any,
) -> DataTree:
    """Build the result from draws shaped ``(chain, draw, *shape)`` per Stan variable name.

    ``sample_stats`` are shaped ``(chain, draw)``. When they hold ``lp`` and ``lp_approx`` the PSIS
    k-hat of ``lp - lp_approx`` is computed and stored as ``khat``.
    """
    from arviz_base import from_dict

    posterior = {name: np.asarray(values) for name, values in draws.items()}
    coords: dict[str, list[int]] = {}
    dims: dict[str, list[str]] = {}
    for name, values in posterior.items():
        if values.ndim < 2:
            raise ValueError(f"draws of {name!r} must be shaped (chain, draw, ...), got shape {values.shape}")
        dims[name] = [f"{name}_dim_{axis}" for axis in range(values.ndim - 2)]
        coords.update({dim: list(range(1, size + 1)) for dim, size in zip(dims[name], values.shape[2:])})
    groups: dict[str, Any] = {"posterior": posterior}
    if sample_stats:
        groups["sample_stats"] = {name: np.asarray(values) for name, values in sample_stats.items()}
    result = from_dict(groups, coords=coords, dims=dims)
    attributes: dict[str, Any] = {"method": method, "model": model, "seconds": float(seconds)}
    if gradient_evaluations is not None:
        attributes["gradient_evaluations"] = int(gradient_evaluations)
    if sample_stats and "lp" in sample_stats and "lp_approx" in sample_stats:
        attributes["khat"] = pareto_khat(np.ravel(sample_stats["lp"]) - np.ravel(sample_stats["lp_approx"]))
    if elbo is not None:
        attributes["elbo"] = np.asarray(elbo, dtype=float)
    result.posterior.attrs.update({**attributes, **attrs})
    return result


def from_flat_draws(flat: Mapping[str, np.ndarray], **kwargs: Any) -> DataTree:
    """Build the result from Stan's flattened names (``beta[1]``, ``Sigma[2,1]``), each shaped ``(chain, draw)``.

    Elements of one variable are gathered back into one array (Stan's names are 1-based); other
    arguments are those of :func:`from_draws`.
    """
    elements: dict[str, dict[tuple[int, ...], np.ndarray]] = {}
    for name, values in flat.items():
        match = _ELEMENT.match(name)
        base, index = (match["base"], tuple(int(i) - 1 for i in match["index"].split(","))) if match else (name, ())
        elements.setdefault(base, {})[index] = np.asarray(values)
    draws = {}
    for base, by_index in elements.items():
        if list(by_index) == [()]:
            draws[base] = by_index[()]
            continue
        shape = tuple(max(index[axis] for index in by_index) + 1 for axis in range(len(next(iter(by_index)))))
        first = next(iter(by_index.values()))
        array = np.full((*first.shape, *shape), np.nan)
        for index, values in by_index.items():
            where: tuple[Any, ...] = (slice(None), slice(None), *index)
            array[where] = values
        draws[base] = array
    return from_draws(draws, **kwargs)


def variable_names(result: DataTree) -> list[str]:
    """The posterior's variables, in the order the method wrote them."""
    return list(result.posterior.data_vars)


def flat_draws(result: DataTree, var_names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Draws of each scalar element under Stan's flattened, 1-based name, each shaped ``(chain, draw)``.

    Elements come in Stan's order: column-major within a variable (``Sigma[1,1]``, ``Sigma[2,1]``, ...).
    """
    flat: dict[str, np.ndarray] = {}
    for name in var_names if var_names is not None else variable_names(result):
        values = np.asarray(result.posterior[name].values)
        shape = values.shape[2:]
        if not shape:
            flat[name] = values
            continue
        for index in np.ndindex(*shape[::-1]):
            index = index[::-1]
            where: tuple[Any, ...] = (slice(None), slice(None), *index)
            flat[f"{name}[{','.join(str(i + 1) for i in index)}]"] = values[where]
    return flat


def summary(result: DataTree, var_names: Iterable[str] | None = None) -> pd.DataFrame:
    """ArviZ's summary under Stan's names: mean, sd, 5% and 95% quantiles, bulk/tail ESS, R-hat, the mean's MCSE.

    One row per scalar element, in :func:`flat_draws` order. R-hat needs several chains: it is NaN
    for an approximation's single chain of independent draws.
    """
    import warnings

    import arviz as az

    names = list(var_names) if var_names is not None else variable_names(result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one chain: R-hat is undefined, and says so
        table = az.summary(result, var_names=names, ci_kind="eti", ci_prob=CI_PROB, round_to="none")
    table.index = [label.replace(", ", ",") for label in table.index]
    bounds = {c: ("q5" if c.endswith("_lb") else "q95") for c in table.columns if c.startswith("eti")}
    table = table.rename(columns={**bounds, "r_hat": "rhat"})
    order = list(flat_draws(result, names))
    return table.loc[order, ["mean", "sd", "q5", "q95", "ess_bulk", "ess_tail", "rhat", "mcse_mean"]].astype(float)


def info(result: DataTree) -> ResultInfo:
    """The result's attributes (:class:`ResultInfo`)."""
    attrs = dict(result.posterior.attrs)
    elbo = attrs.pop("elbo", None)
    typed = {f.name: str(f.type) for f in fields(ResultInfo)}
    known = {name: _typed(attrs.pop(name), typed[name]) for name in list(attrs) if name in typed and name not in _COUNTED}
    known.setdefault("method", "")
    known.setdefault("model", "")
    known.setdefault("seconds", float("nan"))
    known.setdefault("gradient_evaluations", None)
    known.setdefault("khat", None)
    return ResultInfo(
        **known,
        elbo=None if elbo is None else np.asarray(elbo),
        chains=int(result.posterior.sizes["chain"]),
        draws=int(result.posterior.sizes["draw"]),
        details=attrs,
    )


def _typed(value: Any, annotation: str) -> Any:
    """An attribute as its :class:`ResultInfo` annotation says (``"int | None"`` -> ``int``)."""
    kind = annotation.split(" | ")[0]
    return {"int": int, "float": float, "bool": bool, "str": str}[kind](value) if value is not None else None


def log_weights(result: DataTree) -> np.ndarray:
    """Importance log-weights ``lp - lp_approx`` of an approximation's draws (flattened over chains)."""
    stats = result.get("sample_stats")
    if stats is None or "lp_approx" not in stats:
        raise ValueError(f"{info(result).method!r} is not an approximation with a density: it has no lp_approx to weight")
    return np.ravel(np.asarray(stats["lp"]) - np.asarray(stats["lp_approx"]))


def psis_resample(result: DataTree, draws: int | None = None, seed: int = 0) -> DataTree:
    """An approximation's draws importance-resampled by their Pareto-smoothed weights: PSIS's correction, as the one result type.

    ``draws`` defaults to as many as the result has. The new result's ``method`` is ``"<method>+psis"``; it
    keeps the raw draws' ``khat`` (whether to believe the correction: above
    :func:`~pp_vae.inference.psis.khat_threshold` it is not to be trusted either) and adds ``psis_ess``, the
    effective sample size ``1 / sum(w^2)`` of the smoothed weights, and ``unique_draws``. A result that is
    already importance-resampled (multi-path Pathfinder) or has no ``lp_approx`` (MCMC) is a ``ValueError``.
    """
    start = time.perf_counter()
    meta = info(result)
    if meta.psis_resampled:
        raise ValueError(f"the {meta.method!r} result is already importance-resampled; resample its raw draws (resample=False) instead")
    weights = log_weights(result)
    size = weights.size if draws is None else integer_at_least("draws", draws)
    smoothed, khat = psis_smooth(weights)
    index = psis_resample_indices(weights, size, seed)
    posterior = {
        name: np.asarray(values).reshape(-1, *np.shape(values)[2:])[index][None] for name, values in result.posterior.data_vars.items()
    }
    stats = {name: np.ravel(np.asarray(result.sample_stats[name]))[index][None] for name in ("lp", "lp_approx")}
    attrs: dict[str, Any] = {
        k: v for k, v in result.posterior.attrs.items() if k not in ("method", "model", "seconds", "gradient_evaluations", "elbo")
    }
    attrs.update(
        {
            "khat": khat,
            "psis_resampled": True,
            "psis_ess": float(1 / np.sum(np.exp(2 * smoothed))),
            "unique_draws": int(np.unique(index).size),
        }
    )
    return from_draws(
        posterior,
        method=f"{meta.method}+psis",
        model=meta.model,
        seconds=meta.seconds + time.perf_counter() - start,
        gradient_evaluations=meta.gradient_evaluations,
        sample_stats=stats,
        elbo=meta.elbo,
        **attrs,
    )
