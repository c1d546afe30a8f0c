"""NUTS through PyStan 3 (lecture 2): any Stan program and its data to the course's one result type."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.stan.builds import build, first_line, forget_fits
from pp_vae.stan.data_block import check_data
from pp_vae.stan.programs import StanProgram, load_program
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree


def fit_nuts(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int = 0,
    progress: bool = False,
    extra_fields: str = "warn",
    **nuts_args: Any,
) -> DataTree:
    """Sample ``model`` given ``data`` with Stan's NUTS; return the result type (:mod:`pp_vae.inference.result`).

    Parameters
    ----------
    model
        A bundled program's name (``"eight_schools_noncentered"``), a path to a ``.stan`` file,
        program text, or a :class:`~pp_vae.stan.StanProgram`.
    data
        Field name -> value, or a path to a Stan JSON data file; checked before building.
    chains, draws, warmup
        Chains, post-warm-up draws per chain, and warm-up iterations per chain.
    seed
        Random seed: the same seed gives the same draws.
    progress
        Show PyStan's sampling progress (a first build always says it runs).
    extra_fields
        What to do with data fields the program does not declare: ``"warn"`` (drop them with an
        :class:`~pp_vae.stan.ExtraDataWarning`), ``"ignore"`` or ``"error"`` (see :func:`pp_vae.stan.check_data`).
    nuts_args
        Passed to Stan's sampler, e.g. ``delta=0.95`` (adapt delta), ``max_depth=12``.

    The result also holds ``posterior_predictive`` (``y_rep``) and ``observed_data`` (``y``) when the
    program generates replications; ``gradient_evaluations`` counts the leapfrog steps of warm-up and sampling.
    """
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        integer_at_least(name, value, low)
    program = model if isinstance(model, StanProgram) else load_program(model)
    if not program.parameters:
        raise ValueError(f"Stan program {program.name!r} declares no parameters: there is nothing to sample")
    clean = check_data(program, data, extra_fields=extra_fields)
    posterior = build(program, clean, seed=seed)
    console = io.StringIO()
    start = time.perf_counter()
    redirect = contextlib.nullcontext() if progress else contextlib.redirect_stderr(console)
    try:
        with redirect:
            fit = posterior.sample(num_chains=chains, num_samples=draws, num_warmup=warmup, save_warmup=True, **nuts_args)
    except RuntimeError as error:
        raise RuntimeError(f"Stan sampling of {program.name!r} failed: {first_line(error)}") from None
    finally:
        forget_fits()
    if fit is None:
        raise KeyboardInterrupt
    seconds = time.perf_counter() - start
    return _to_result(fit, posterior, program, clean, seconds)


def _to_result(fit: Any, posterior: Any, program: StanProgram, data: dict[str, Any], seconds: float) -> DataTree:
    """PyStan's fit as the result type: warm-up dropped, 1-based element coordinates, the documented attributes."""
    from arviz_base.io_pystan import from_pystan as _from_pystan

    from_pystan: Callable[..., DataTree] = _from_pystan  # its annotations say str where it takes a list and a dict
    observed = {"y": np.asarray(data["y"])} if program.has_replications and "y" in data else None
    result = from_pystan(
        posterior=fit,
        posterior_model=posterior,
        posterior_predictive=["y_rep"] if program.has_replications else None,
        observed_data=observed,
        dims={"y_rep": ["obs"], "y": ["obs"]} if observed else None,
        save_warmup=False,
    )
    elements = [dim for dim in result.posterior.dims if dim not in ("chain", "draw")]
    result["posterior"] = result.posterior.to_dataset().assign_coords(
        {dim: np.arange(1, result.posterior.sizes[dim] + 1) for dim in elements}
    )
    result.posterior.attrs.update(
        {
            "method": "nuts",
            "model": program.name,
            "seconds": seconds,
            "gradient_evaluations": int(np.sum(fit["n_leapfrog__"])),
        }
    )
    return result
