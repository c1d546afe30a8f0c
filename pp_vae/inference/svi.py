"""Stochastic variational inference in Pyro: the loop, and the importance weights of a fitted guide.

* :func:`run_svi` -- maximise the ELBO: fresh param store, seed, progress bar with the running ELBO.
* :func:`guide_draws` -- draws from a guide with each draw's ``log p(z, y)`` and ``log q(z)``, vectorised.
* :func:`guide_log_weights` -- ``log p(z, y) - log q(z)`` for draws ``z ~ q``: each averages to the ELBO.
* :func:`subsampled_log_likelihoods` -- a mini-batch's log-likelihood scaled by ``N / B``, many times over, beside the
  whole sum it estimates (what makes SVI on mini-batches unbiased);
* :func:`frozen` -- a module's parameters held fixed while a block runs (a guide fitted to a fixed model, NUTS on
  a fixed decoder's latent), each parameter's own ``requires_grad`` restored after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyro
import torch
from pyro import poutine
from pyro.infer import SVI, Trace_ELBO, TraceMeanField_ELBO
from pyro.infer.importance import vectorized_importance_weights
from pyro.infer.util import plate_log_prob_sum
from pyro.optim import ClippedAdam
from pyro.poutine.util import is_validation_enabled, site_is_subsample

from pp_vae.validation import integer_at_least


def run_svi(
    model: Callable[..., Any],
    guide: Callable[..., Any],
    *args: Any,
    steps: int = 2000,
    lr: float = 0.05,
    loss: Trace_ELBO | None = None,
    seed: int = 0,
    progress: bool = False,
    desc: str = "SVI",
    **kwargs: Any,
) -> np.ndarray:
    """Maximise the ELBO of ``guide`` for ``model`` by SVI; return the ELBO at every step.

    Clears Pyro's param store and seeds Pyro first, so every fit starts from the same state.
    The learning rate decays tenfold over the run (ClippedAdam), which quiets the final estimates.
    """
    from tqdm.auto import tqdm

    integer_at_least("steps", steps)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    optimiser = ClippedAdam({"lr": lr, "lrd": 0.1 ** (1 / steps)})
    svi = SVI(model, guide, optimiser, loss=loss or TraceMeanField_ELBO())
    elbo = np.empty(steps)
    with tqdm(range(steps), desc=desc, disable=not progress, leave=False) as bar:
        for step in bar:
            # the first step runs with Pyro's argument checks (to catch a wrong model early);
            # the rest without them: they cost more than half of each step on small models
            with pyro.validation_enabled(step == 0 and is_validation_enabled()):
                elbo[step] = -svi.step(*args, **kwargs)
            if not np.isfinite(elbo[step]):
                raise FloatingPointError(f"the ELBO became {elbo[step]} at step {step}: lower the learning rate (lr={lr})")
            if step % 50 == 49 or step == steps - 1:
                bar.set_postfix(elbo=f"{elbo[max(0, step - 49) : step + 1].mean():.3f}")
    return elbo


def subsampled_log_likelihoods(
    model: Callable[..., Any], data: Any, latent: dict[str, Any], subsample_size: int, repeats: int, seed: int = 0, site: str = "y"
) -> tuple[float, np.ndarray]:
    """The log-likelihood of ``site`` over every row at fixed ``latent`` values, and ``repeats`` mini-batch estimates of it.

    ``model(data, subsample_size=...)`` draws a random mini-batch of ``subsample_size`` rows in its plate and scales their
    log-likelihood by ``N / subsample_size`` (Pyro's subsampled plate); the estimates average to the whole sum.
    """
    integer_at_least("subsample_size", subsample_size)
    integer_at_least("repeats", repeats)
    values = {name: torch.as_tensor(value, dtype=torch.get_default_dtype()) for name, value in latent.items()}
    conditioned = poutine.condition(model, data=values)

    def log_likelihood(size: int | None) -> float:
        trace = poutine.trace(conditioned).get_trace(data, subsample_size=size)
        trace.compute_log_prob()
        return float(trace.nodes[site]["log_prob_sum"])

    pyro.set_rng_seed(seed)
    with torch.no_grad():
        full = log_likelihood(None)
        return full, np.array([log_likelihood(subsample_size) for _ in range(repeats)])


@contextlib.contextmanager
def frozen(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """``module`` with every parameter's ``requires_grad`` off while the block runs; each parameter's own flag restored after.

    Restoring each flag, not switching all back on, keeps a part frozen on purpose frozen (a decoder adopted
    from another VAE: :func:`~pp_vae.vae.adopt_generative_model`).
    """
    parameters = list(module.parameters())
    flags = [parameter.requires_grad for parameter in parameters]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield module
    finally:
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad_(flag)


def site_shapes(model: Callable[..., Any], *args: Any) -> tuple[list[str], list[str], dict[str, tuple[int, ...]]]:
    """Names of ``model``'s latent and deterministic sites, and each sample site's shape."""
    trace = poutine.trace(model).get_trace(*args)
    shapes = {name: tuple(site["value"].shape) for name, site in trace.nodes.items() if site["type"] == "sample"}
    latent, deterministic = [], []
    for name, site in trace.nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        if site["infer"].get("_deterministic"):
            deterministic.append(name)
        elif not site["is_observed"]:
            latent.append(name)
    return latent, deterministic, shapes


@torch.no_grad()
def guide_draws(
    model: Callable[..., Any], guide: Callable[..., Any], *args: Any, draws: int = 1000, max_plate_nesting: int = 1, chunk: int = 500
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``draws`` draws ``z ~ q``, vectorised in chunks: site -> values ``(draws, *shape)``, ``log p(z, y)``, ``log q(z)``.

    Deterministic sites of the model (transformed parameters) come with the latent ones. The model and
    guide must broadcast over a leading dimension of draws (Pyro's ``vectorize_particles`` convention).
    """
    latent, deterministic, shapes = site_shapes(model, *args)
    values: dict[str, list[np.ndarray]] = {name: [] for name in latent + deterministic}
    log_p, log_q = [], []
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        log_w, model_trace, guide_trace = vectorized_importance_weights(
            model, guide, *args, num_samples=n, max_plate_nesting=max_plate_nesting
        )
        if n > 1:
            q = plate_log_prob_sum(guide_trace, guide_trace.plate_to_symbol["num_particles_vectorized"])
        else:
            q = guide_trace.log_prob_sum().reshape(1)
        for name in values:
            values[name].append(model_trace.nodes[name]["value"].reshape(n, *shapes[name]).cpu().numpy())
        log_q.append(q.cpu().numpy().astype(float))
        log_p.append(log_w.cpu().numpy().astype(float).reshape(n) + log_q[-1])
    return {k: np.concatenate(v) for k, v in values.items()}, np.concatenate(log_p), np.concatenate(log_q)


def guide_log_weights(model: Callable[..., Any], guide: Callable[..., Any], *args: Any, num_samples: int = 1000) -> np.ndarray:
    """``log p(z, y) - log q(z)`` for ``num_samples`` draws ``z ~ q``: the importance weights of VI; their mean is the ELBO."""
    _, log_p, log_q = guide_draws(model, guide, *args, draws=num_samples)
    return log_p - log_q
