"""Mean-field variational inference (lecture 3) in Pyro, on the bundled Pyro models.

:func:`fit_meanfield` fits a bundled Pyro model with its hand-written mean-field guide or Pyro's
``AutoNormal`` autoguide by SVI; draws come back under the Stan program's names, as the one result type
(:mod:`pp_vae.inference.result`), with each draw's ``lp`` and ``lp_approx`` so PSIS k-hat says how far ``q``
is from the posterior. Mean-field VI on any Stan program, without Pyro's per-step overhead, is
:func:`~pp_vae.inference.fit_gaussian_vi` (``family="meanfield"``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from pyro.infer.autoguide import AutoNormal

from pp_vae.inference.result import from_draws
from pp_vae.inference.svi import guide_draws, run_svi
from pp_vae.models.catalogue import MODELS, get_model
from pp_vae.models.registry import as_tensors
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

    from pp_vae.models.registry import BundledModel


def _guide(guide: str | Callable[..., None], bundled: BundledModel | None, model_fn: Callable[..., None], name: str) -> Callable[..., None]:
    """The guide ``guide`` names: the bundled model's hand-written one, Pyro's ``AutoNormal``, or the function given."""
    if guide == "manual":
        if bundled is None or bundled.guide is None:
            with_guides = ", ".join(m.name for m in MODELS.values() if m.guide is not None)
            raise ValueError(f"no hand-written guide for {name!r}; use guide='auto' (hand-written: {with_guides})")
        return bundled.guide
    if guide == "auto":
        return AutoNormal(model_fn, init_scale=0.1)
    if callable(guide):
        return guide
    raise ValueError(f"guide must be 'auto', 'manual' or a guide function, got {guide!r}")


def fit_meanfield(
    model: str | Callable[..., None],
    data: dict[str, Any],
    *,
    guide: str | Callable[..., None] = "auto",
    steps: int = 2000,
    lr: float = 0.05,
    draws: int = 4000,
    seed: int = 0,
    progress: bool = False,
    subsample_size: int | None = None,
) -> DataTree:
    """Fit a mean-field approximation to a Pyro model by SVI; return ``draws`` draws from it as the result type.

    Parameters
    ----------
    model
        A bundled model's name (``"eight_schools_noncentered"``, see :data:`pp_vae.models.MODELS`) or a
        Pyro model taking the data as tensors.
    data
        Stan-format data (the same dict the Stan program takes).
    guide
        ``"auto"``: Pyro's ``AutoNormal`` (independent Normals on the unconstrained scale);
        ``"manual"``: the bundled model's hand-written guide; or a guide function.
    draws
        Draws from the fitted guide (one chain), each with its ``lp`` and ``lp_approx``.
    subsample_size
        Passed to models that take it (logistic regression): SVI on random mini-batches of rows.
    """
    integer_at_least("draws", draws)
    bundled = get_model(model) if isinstance(model, str) else None
    model_fn: Callable[..., None] = bundled.pyro_model if bundled is not None else model  # type: ignore[assignment]
    name = bundled.name if bundled is not None else getattr(model, "__name__", "model")
    guide_fn = _guide(guide, bundled, model_fn, name)
    # The hand-written guides are Beta/Normal factors matching the prior's family: their KL is analytic and
    # TraceMeanField_ELBO uses it. Autoguides sample constrained sites as Delta(transform(u), log_density=Jacobian),
    # and Pyro 1.9's kl_divergence(Delta, .) drops that log_density (NumPyro fixed the same in its PR 1625),
    # which makes TraceMeanField_ELBO's value and gradient wrong on constrained sites: they train with Trace_ELBO.
    loss = TraceMeanField_ELBO() if guide == "manual" else Trace_ELBO()
    tensors = as_tensors(data)
    model_kwargs = {"subsample_size": subsample_size} if subsample_size else {}
    start = time.perf_counter()
    elbo = run_svi(
        model_fn, guide_fn, tensors, steps=steps, lr=lr, loss=loss, seed=seed, progress=progress, desc=f"VI {name}", **model_kwargs
    )
    values, log_p, log_q = guide_draws(model_fn, guide_fn, tensors, draws=draws)
    seconds = time.perf_counter() - start
    return from_draws(
        {k: v[None] for k, v in values.items()},
        method="meanfield",
        model=name,
        seconds=seconds,
        gradient_evaluations=None,
        sample_stats={"lp": log_p[None], "lp_approx": log_q[None]},
        elbo=elbo,
    )
