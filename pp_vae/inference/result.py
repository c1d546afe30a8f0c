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
    optimisation step, when the method optimises one). :func:`info` reads them as typed fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.inference.psis import pareto_khat

if TYPE_CHECKING:
    import pandas as pd
    from xarray import DataTree

CI_PROB = 0.9
"""The summaries' equal-tailed interval: the 5% and 95% quantiles (``q5``, ``q95``)."""
_ELEMENT = re.compile(r"^(?P<base>[^\[]+)\[(?P<index>[^\]]+)\]$")


@dataclass(frozen=True)
class ResultInfo:
    """The documented attributes of a result, typed."""

    method: str
    model: str
    seconds: float
    gradient_evaluations: int | None
    khat: float | None
    elbo: np.ndarray | None
    chains: int
    draws: int


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
    """The result's documented attributes (:class:`ResultInfo`)."""
    attrs = result.posterior.attrs
    khat = attrs.get("khat")
    return ResultInfo(
        method=str(attrs.get("method", "")),
        model=str(attrs.get("model", "")),
        seconds=float(attrs.get("seconds", float("nan"))),
        gradient_evaluations=int(attrs["gradient_evaluations"]) if "gradient_evaluations" in attrs else None,
        khat=None if khat is None else float(khat),
        elbo=np.asarray(attrs["elbo"]) if "elbo" in attrs else None,
        chains=int(result.posterior.sizes["chain"]),
        draws=int(result.posterior.sizes["draw"]),
    )


def log_weights(result: DataTree) -> np.ndarray:
    """Importance log-weights ``lp - lp_approx`` of an approximation's draws (flattened over chains)."""
    stats = result.get("sample_stats")
    if stats is None or "lp_approx" not in stats:
        raise ValueError(f"{info(result).method!r} is not an approximation with a density: it has no lp_approx to weight")
    return np.ravel(np.asarray(stats["lp"]) - np.asarray(stats["lp_approx"]))
