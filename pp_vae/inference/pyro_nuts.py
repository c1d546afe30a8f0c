"""Pyro's NUTS on any potential, as the one result type: chains one after another, every evaluation counted.

:func:`pyro_nuts` is the loop the Pyro samplers share: plain NUTS on a Pyro model (:func:`fit_pyro_nuts`), NUTS in
a flow's base space (:func:`~pp_vae.inference.fit_neutra`) and NUTS on a VAE's code
(:func:`~pp_vae.vae.latent_nuts`). Each chain's start (seed, potential, initial point, transforms) comes from
the caller; the draws come back per site, shaped ``(chain, draw, ...)``, with ``diverging`` per draw and
``gradient_evaluations`` the potential's calls (one log density and its gradient per leapfrog step).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    import torch
    from xarray import DataTree

Potential = Callable[[dict[str, "torch.Tensor"]], "torch.Tensor"]
ChainStart = Callable[[int], tuple[Potential, dict[str, "torch.Tensor"], dict[str, Any] | None]]
"""``start(chain) -> (potential, initial_params, transforms)``, seeding the chain first."""
TRACE_DEPRECATION = ".*torch.jit.trace.* is deprecated"
"""Torch's notice as Pyro's ``jit_compile`` traces the potential: Pyro's choice of API, not the user's to act on."""


def model_start(model: Callable[..., None], model_args: tuple[Any, ...], seed: int, jit: bool = True) -> ChainStart:
    """Each chain of a Pyro model as Pyro initialises it (its potential and transforms), seeded ``seed * 1009 + chain``.

    ``jit`` compiles the potential with TorchScript (Pyro's ``jit_compile``): the same density, about four times fewer
    seconds per gradient on the eight schools, where Python's overhead per evaluation dominates.
    """

    def start(chain: int) -> tuple[Potential, dict[str, torch.Tensor], dict[str, Any] | None]:
        import pyro
        from pyro.infer.mcmc.util import initialize_model

        pyro.set_rng_seed(seed * 1009 + chain)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=TRACE_DEPRECATION, category=FutureWarning)
            init, potential, transforms, _ = initialize_model(model, model_args, jit_compile=jit, skip_jit_warnings=True)
        return potential, init, transforms

    return start


def pyro_nuts(
    start: ChainStart,
    *,
    method: str,
    model: str,
    draws: int = 1000,
    warmup: int = 1000,
    chains: int = 2,
    target_accept: float = 0.8,
    convert: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
    progress: bool = False,
    **attrs: Any,
) -> DataTree:
    """``chains`` NUTS chains, each from ``start(chain)``, as the one result type (``convert`` maps each chain's draws first).

    ``attrs`` go to :func:`~pp_vae.inference.from_draws` (``elbo``, ``guide_seconds``, ...); ``seconds`` is the chains' wall-clock.
    """
    from pyro.infer import MCMC, NUTS

    from pp_vae.inference.result import from_draws

    for name, value in (("draws", draws), ("warmup", warmup), ("chains", chains)):
        integer_at_least(name, value)
    evaluations = 0
    per_chain: list[dict[str, np.ndarray]] = []
    diverging = np.zeros((chains, draws), dtype=bool)
    began = time.perf_counter()
    for chain in range(chains):
        potential, init, transforms = start(chain)

        def counted(params: dict[str, torch.Tensor], potential: Potential = potential) -> torch.Tensor:
            nonlocal evaluations
            evaluations += 1
            return potential(params)

        kernel = NUTS(potential_fn=counted, transforms=transforms, target_accept_prob=target_accept)
        mcmc = MCMC(kernel, num_samples=draws, warmup_steps=warmup, initial_params=init, disable_progbar=not progress)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=TRACE_DEPRECATION, category=FutureWarning)
            mcmc.run()
        samples = mcmc.get_samples() if convert is None else convert(mcmc.get_samples())  # on the constrained scale
        per_chain.append({name: np.asarray(value.detach().double().cpu()) for name, value in samples.items()})
        diverging[chain, [i for i in mcmc.diagnostics()["divergences"]["chain 0"] if i < draws]] = True
    stacked = {name: np.stack([chain[name] for chain in per_chain]) for name in per_chain[0]}
    seconds, stats = time.perf_counter() - began, {"diverging": diverging}
    return from_draws(stacked, method=method, model=model, seconds=seconds, gradient_evaluations=evaluations, sample_stats=stats, **attrs)


def fit_pyro_nuts(
    model: Callable[..., None],
    *model_args: Any,
    name: str = "model",
    draws: int = 1000,
    warmup: int = 1000,
    chains: int = 2,
    seed: int = 0,
    target_accept: float = 0.8,
) -> DataTree:
    """Plain Pyro NUTS on ``model(*model_args)``: the one result type, with ``diverging`` and the gradient evaluations counted."""
    return pyro_nuts(
        model_start(model, model_args, seed),
        method="pyro_nuts",
        model=name,
        draws=draws,
        warmup=warmup,
        chains=chains,
        target_accept=target_accept,
    )
