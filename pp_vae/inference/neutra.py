"""VI as a change of geometry for MCMC: NeuTra (Hoffman et al. 2019) against plain NUTS, both in Pyro (lecture 9).

Fit a flow ``q = T(N(0, I))`` to the posterior by VI (Pyro's ``AutoIAFNormal``), then run NUTS on the
*pulled-back* target ``p(T(u)) |det J_T(u)|`` and map its draws back through ``T``. The change of variables
is exact, so the chain still targets the true posterior: VI's bias is gone, only its geometry kept. If
``q`` is good the pulled-back target is close to ``N(0, I)`` and NUTS takes few, long steps; a funnel that
forces tiny steps and divergences in the original space is straightened out.

Both samplers here are Pyro's NUTS on a potential whose every evaluation (one log density and its
gradient per leapfrog step) is counted, so the two are compared by effective draws per gradient.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from xarray import DataTree

PyroModel = Callable[..., None]


def _run_nuts(
    model: PyroModel,
    model_args: tuple[Any, ...],
    draws: int,
    warmup: int,
    chains: int,
    seed: int,
    target_accept: float,
    convert: Callable[[dict[str, Any]], dict[str, Any]],
    jit: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray, int, float]:
    """NUTS chains on ``model``'s potential, run one after another; draws per site after ``convert``, divergences, evaluations, seconds.

    ``jit`` compiles the potential with TorchScript (Pyro's ``jit_compile``): the same density, about four times
    fewer seconds per gradient on the eight schools, where Python's overhead per evaluation dominates.
    """
    import pyro
    import torch
    from pyro.infer import MCMC, NUTS
    from pyro.infer.mcmc.util import initialize_model

    for name, value in (("draws", draws), ("warmup", warmup), ("chains", chains)):
        integer_at_least(name, value)
    evaluations = 0
    per_chain: list[dict[str, np.ndarray]] = []
    diverging = np.zeros((chains, draws), dtype=bool)
    began = time.perf_counter()
    for chain in range(chains):
        pyro.set_rng_seed(seed * 1009 + chain)
        init, potential, transforms, _ = initialize_model(model, model_args, jit_compile=jit, skip_jit_warnings=True)

        def counted(params: dict[str, torch.Tensor], potential: Callable[..., torch.Tensor] = potential) -> torch.Tensor:
            nonlocal evaluations
            evaluations += 1
            return potential(params)

        kernel = NUTS(potential_fn=counted, transforms=transforms, target_accept_prob=target_accept)
        mcmc = MCMC(kernel, num_samples=draws, warmup_steps=warmup, initial_params=init, disable_progbar=True)
        mcmc.run()
        samples = convert(mcmc.get_samples())  # MCMC returns the draws on the constrained scale
        per_chain.append({name: np.asarray(value.detach().double().cpu()) for name, value in samples.items()})
        for index in mcmc.diagnostics()["divergences"]["chain 0"]:
            if index < draws:
                diverging[chain, index] = True
    stacked = {name: np.stack([chain[name] for chain in per_chain]) for name in per_chain[0]}
    return stacked, diverging, evaluations, time.perf_counter() - began


def fit_pyro_nuts(
    model: PyroModel,
    *model_args: Any,
    name: str = "model",
    draws: int = 1000,
    warmup: int = 1000,
    chains: int = 2,
    seed: int = 0,
    target_accept: float = 0.8,
) -> DataTree:
    """Plain Pyro NUTS on ``model(*model_args)``: the one result type, with ``diverging`` and the gradient evaluations counted."""
    from pp_vae.inference.result import from_draws

    draws_by_site, diverging, evaluations, seconds = _run_nuts(
        model, model_args, draws, warmup, chains, seed, target_accept, lambda samples: samples
    )
    return from_draws(
        draws_by_site,
        method="pyro_nuts",
        model=name,
        seconds=seconds,
        gradient_evaluations=evaluations,
        sample_stats={"diverging": diverging},
    )


def fit_neutra(
    model: PyroModel,
    *model_args: Any,
    name: str = "model",
    guide_steps: int = 3000,
    flows: int = 2,
    lr: float = 5e-3,
    draws: int = 1000,
    warmup: int = 1000,
    chains: int = 2,
    seed: int = 0,
    target_accept: float = 0.8,
) -> DataTree:
    """NeuTra: fit ``AutoIAFNormal`` (``flows`` IAF layers) by ``guide_steps`` of SVI, then NUTS in the flow's base space.

    The draws are mapped back to ``model``'s sites. The result's attributes add ``elbo`` (the guide's ELBO
    at every SVI step) and ``guide_seconds``; ``seconds`` and ``gradient_evaluations`` count NUTS alone,
    so that the sampler's efficiency can be set beside plain NUTS's (the guide's cost is reported apart).
    """
    import pyro
    from pyro import poutine
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoIAFNormal
    from pyro.infer.reparam import NeuTraReparam

    from pp_vae.inference.result import from_draws

    integer_at_least("guide_steps", guide_steps)
    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    guide = AutoIAFNormal(model, num_transforms=integer_at_least("flows", flows))
    svi = SVI(model, guide, pyro.optim.ClippedAdam({"lr": lr, "clip_norm": 10.0}), Trace_ELBO())
    began = time.perf_counter()
    elbo = np.array([-svi.step(*model_args) for _ in range(guide_steps)])
    guide_seconds = time.perf_counter() - began
    neutra = NeuTraReparam(guide.requires_grad_(False))
    warped = poutine.reparam(model, config=lambda _: neutra)

    def unwarp(samples: dict[str, Any]) -> dict[str, Any]:
        import torch

        (latent,) = [value for site, value in samples.items() if site.endswith("_shared_latent")]
        # one draw at a time: a batch dimension would collide with the model's plates
        mapped = [neutra.transform_sample(draw) for draw in latent]
        return {site: torch.stack([draw[site] for draw in mapped]) for site in mapped[0]}

    draws_by_site, diverging, evaluations, seconds = _run_nuts(warped, model_args, draws, warmup, chains, seed, target_accept, unwarp)
    return from_draws(
        draws_by_site,
        method="neutra",
        model=name,
        seconds=seconds,
        gradient_evaluations=evaluations,
        sample_stats={"diverging": diverging},
        elbo=elbo,
        guide_seconds=guide_seconds,
    )
