"""VI as a change of geometry for MCMC: NeuTra (Hoffman et al. 2019) against plain NUTS, both in Pyro (lecture 9).

Fit a flow ``q = T(N(0, I))`` to the posterior by VI (Pyro's ``AutoIAFNormal``), then run NUTS on the
*pulled-back* target ``p(T(u)) |det J_T(u)|`` and map its draws back through ``T``. The change of variables
is exact, so the chain still targets the true posterior: VI's bias is gone, only its geometry kept. If
``q`` is good the pulled-back target is close to ``N(0, I)`` and NUTS takes few, long steps; a funnel that
forces tiny steps and divergences in the original space is straightened out.

Both samplers are Pyro's NUTS on a potential whose every evaluation (one log density and its gradient per
leapfrog step) is counted (:mod:`~pp_vae.inference.pyro_nuts`), so the two are compared by effective draws per
gradient.
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

    from pp_vae.inference.pyro_nuts import model_start, pyro_nuts
    from pp_vae.inference.svi import frozen

    integer_at_least("guide_steps", guide_steps)
    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    guide = AutoIAFNormal(model, num_transforms=integer_at_least("flows", flows))
    svi = SVI(model, guide, pyro.optim.ClippedAdam({"lr": lr, "clip_norm": 10.0}), Trace_ELBO())
    began = time.perf_counter()
    elbo = np.array([-svi.step(*model_args) for _ in range(guide_steps)])
    guide_seconds = time.perf_counter() - began
    neutra = NeuTraReparam(guide)
    warped = poutine.reparam(model, config=lambda _: neutra)

    def unwarp(samples: dict[str, Any]) -> dict[str, Any]:
        import torch

        (latent,) = [value for site, value in samples.items() if site.endswith("_shared_latent")]
        # one draw at a time: a batch dimension would collide with the model's plates
        mapped = [neutra.transform_sample(draw) for draw in latent]
        return {site: torch.stack([draw[site] for draw in mapped]) for site in mapped[0]}

    with frozen(guide):  # NUTS differentiates the pulled-back target with respect to its code alone
        return pyro_nuts(
            model_start(warped, model_args, seed),
            method="neutra",
            model=name,
            draws=draws,
            warmup=warmup,
            chains=chains,
            target_accept=target_accept,
            convert=unwarp,
            elbo=elbo,
            guide_seconds=guide_seconds,
        )
