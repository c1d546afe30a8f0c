"""Mean-field variational inference in Pyro, on Pyro models or on any Stan program.

* :func:`run_svi` -- the SVI loop: fresh param store, seed, progress bar with the running ELBO.
* :func:`fit_meanfield` -- a bundled Pyro model with a hand-written mean-field guide or an
  ``AutoNormal`` autoguide; draws come back as ArviZ data under the Stan program's names.
* :func:`fit_stan_meanfield` -- the Stan bridge: VI on any Stan program through its log density
  and gradient (Jacobian-adjusted, unconstrained), wrapped as a torch autograd function.
* :func:`psis_khat` -- Pareto-smoothed importance sampling k-hat of ``log p - log q`` on guide draws,
  via arviz-stats; :func:`khat_reading` says what the number means.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.poutine.util import is_validation_enabled, site_is_subsample
from pyro.infer import SVI, Predictive, Trace_ELBO, TraceMeanField_ELBO
from pyro.infer.autoguide import AutoNormal
from pyro.infer.autoguide.initialization import init_to_value
from pyro.optim import ClippedAdam
from torch.distributions import constraints

from pp_vae import models as models_
from pp_vae import stan as stan_
from pp_vae.stan import flatten_draws
from pp_vae.validation import integer_at_least


@dataclass
class VIResult:
    """A fitted variational approximation: its draws, its ELBO history, what it cost, how trustworthy."""

    draws: dict[str, np.ndarray]
    """Flattened Stan name (``theta[1]``) -> draws of shape ``(1, num_samples)``."""
    elbo: np.ndarray
    """ELBO (nats) at every optimisation step."""
    seconds: float
    """Wall-clock of the optimisation and of drawing from the fitted guide."""
    khat: float
    """PSIS Pareto k-hat of ``log p - log q``: < 0.5 good, 0.5-0.7 usable, > 0.7 unreliable."""
    guide: Any = field(repr=False, default=None)
    idata: Any = field(repr=False, default=None)

    @property
    def khat_reading(self) -> str:
        """Plain-language reading of :attr:`khat`."""
        return khat_reading(self.khat)


def khat_reading(khat: float) -> str:
    """What a PSIS k-hat says about ``q`` as an importance-sampling proposal for ``p``."""
    if not np.isfinite(khat):
        return "k-hat could not be computed"
    if khat < 0.5:
        return f"k-hat {khat:.2f} < 0.5: good, q covers the posterior well"
    if khat <= 0.7:
        return f"k-hat {khat:.2f} in 0.5-0.7: usable, but q is off in the tails"
    return f"k-hat {khat:.2f} > 0.7: unreliable, q misses a part of the posterior that matters"


def psis_khat(log_weights: np.ndarray) -> float:
    """Pareto k-hat of importance log-weights ``log p(z, y) - log q(z)`` with ``z ~ q`` (arviz-stats PSIS)."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)
    import xarray as xr

    log_weights = np.asarray(log_weights, dtype=float).ravel()
    if log_weights.size < 20 or np.any(np.isnan(log_weights)) or np.any(log_weights == np.inf):
        return float("nan")
    finite = log_weights[np.isfinite(log_weights)]
    log_weights = np.where(np.isfinite(log_weights), log_weights, finite.min() - 50)  # weight ~0 where p = 0
    # arviz-stats' psislw follows the PSIS-LOO convention: it takes log-likelihoods and uses their
    # negatives as log importance ratios, so pass -log_weights to have it smooth log_weights.
    _, khat = xr.DataArray(-log_weights, dims=["sample"]).azstats.psislw(dim="sample")
    return float(khat)


def run_svi(
    model: Callable[..., Any],
    guide: Callable[..., Any],
    *args: Any,
    steps: int = 2000,
    lr: float = 0.05,
    loss: Any = None,
    seed: int = 0,
    progress: bool = True,
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
                bar.set_postfix(elbo=f"{elbo[max(0, step - 49):step + 1].mean():.3f}")
    return elbo


def _latent_and_deterministic_sites(model: Callable[..., Any], *args: Any) -> tuple[list[str], list[str], dict[str, tuple]]:
    """Names of the latent and of the deterministic sites of ``model``, and each site's shape."""
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


def log_weights(model: Callable[..., Any], guide: Callable[..., Any], *args: Any, num_samples: int = 1000) -> np.ndarray:
    """``log p(z, y) - log q(z)`` for ``num_samples`` draws ``z ~ q`` (the importance weights of VI)."""
    out = np.empty(num_samples)
    with torch.no_grad():
        for i in range(num_samples):
            guide_trace = poutine.trace(guide).get_trace(*args)
            model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(*args)
            out[i] = float(model_trace.log_prob_sum() - guide_trace.log_prob_sum())
    return out


def fit_meanfield(
    model: str | Callable[..., Any],
    data: dict[str, Any],
    *,
    guide: str | Callable[..., Any] = "auto",
    steps: int = 2000,
    lr: float = 0.05,
    num_samples: int = 4000,
    seed: int = 0,
    progress: bool = True,
    khat_samples: int = 1000,
    subsample_size: int | None = None,
) -> VIResult:
    """Fit a mean-field approximation to a bundled Pyro model (``pp_vae.models``) by SVI.

    Parameters
    ----------
    model
        A name in :data:`pp_vae.models.MODELS` (``"eight_schools_noncentered"``) or a Pyro model
        taking the tensor data dict.
    data
        Stan-format data (the same dict the Stan program takes).
    guide
        ``"auto"``: Pyro's ``AutoNormal`` (independent Normals on the unconstrained scale);
        ``"manual"``: the hand-written guide of ``pp_vae.models.MANUAL_GUIDES``; or a guide function.
    subsample_size
        Passed to models that take it (logistic regression): SVI on random mini-batches of rows.
    """
    name = model if isinstance(model, str) else getattr(model, "__name__", "model")
    if isinstance(model, str):
        if model not in models_.MODELS:
            raise ValueError(f"no Pyro model named {model!r}; choose from {', '.join(models_.MODELS)}")
        model = models_.MODELS[model]
    tensors = models_.as_tensors(data)
    model_kwargs = {"subsample_size": subsample_size} if subsample_size else {}
    if guide == "manual":
        if name not in models_.MANUAL_GUIDES:
            raise ValueError(f"no hand-written guide for {name!r}; use guide='auto' (hand-written: {', '.join(models_.MANUAL_GUIDES)})")
        guide_fn = models_.MANUAL_GUIDES[name]
    elif guide == "auto":
        guide_fn = AutoNormal(model, init_scale=0.1)
    elif callable(guide):
        guide_fn = guide
    else:
        raise ValueError(f"guide must be 'auto', 'manual' or a guide function, got {guide!r}")

    start = time.perf_counter()
    elbo = run_svi(model, guide_fn, tensors, steps=steps, lr=lr, seed=seed, progress=progress, desc=f"VI {name}", **model_kwargs)
    latent, deterministic, shapes = _latent_and_deterministic_sites(model, tensors)
    predictive = Predictive(model, guide=guide_fn, num_samples=num_samples, return_sites=latent + deterministic)
    with torch.no_grad():
        # Predictive adds singleton plate dims; reshape each site to (num_samples, *its own shape)
        samples = {k: v.detach().cpu().numpy().reshape(num_samples, *shapes[k]) for k, v in predictive(tensors).items()}
    seconds = time.perf_counter() - start
    khat = psis_khat(log_weights(model, guide_fn, tensors, num_samples=khat_samples)) if khat_samples else float("nan")
    draws = flatten_draws({k: v[None] for k, v in samples.items()}, latent + deterministic)  # one "chain"
    return VIResult(draws, elbo, seconds, khat, guide_fn, _to_arviz(samples, latent + deterministic))


def _to_arviz(samples: dict[str, np.ndarray], names: list[str]) -> Any:
    import arviz as az

    return az.from_dict({"posterior": {k: samples[k][None, ...] for k in names}})


# ---------------------------------------------------------------------------------------------
# The Stan bridge: VI on any Stan program through its log density and gradient.


class StanLogProb(torch.autograd.Function):
    """``log p(u | data)`` of a Stan program (a :class:`pp_vae.stan.StanDensity`) at unconstrained ``u`` (Jacobian included), differentiable."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor, stan_model: Any) -> torch.Tensor:  # noqa: D102
        point = u.detach().double().cpu().tolist()
        if ctx.needs_input_grad[0]:  # one more call to Stan, only when a gradient will be asked for
            ctx.save_for_backward(torch.tensor(stan_model.grad_log_prob(point), dtype=u.dtype, device=u.device))
        return u.new_tensor(stan_model.log_prob(point, adjust_transform=True))

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (gradient,) = ctx.saved_tensors
        return grad_output * gradient, None


def stan_bridge_model(stan_model: Any, dim: int) -> Callable[[], None]:
    """A Pyro model whose only latent is Stan's unconstrained parameter vector ``u``, scored by Stan."""

    def model() -> None:
        u = pyro.sample("u", dist.ImproperUniform(constraints.real, (), (dim,)))
        pyro.factor("stan_log_prob", StanLogProb.apply(u, stan_model))

    return model


def unconstrained_dim(stan_model: Any, program: Any) -> int:
    """Number of unconstrained parameters: scalars of the ``parameters`` block (simplexes and the like are refused)."""
    for name, spec in program.parameters.items():
        if spec["type"] not in ("real", "vector", "row_vector", "matrix"):
            raise ValueError(f"parameter {name!r} of type {spec['type']!r} is not supported by the Stan bridge")
    sizes = dict(zip(stan_model.param_names, stan_model.dims))
    return int(sum(np.prod(sizes[name], dtype=int) for name in program.parameters))


def _map_point(stan_model: Any, dim: int) -> np.ndarray:
    """Mode of the unconstrained, Jacobian-adjusted density (L-BFGS): where the guide starts."""
    from scipy.optimize import minimize

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        lp = stan_model.log_prob(list(u), adjust_transform=True)
        return -lp, -np.asarray(stan_model.grad_log_prob(list(u)))

    result = minimize(objective, np.zeros(dim), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x if np.all(np.isfinite(result.x)) else np.zeros(dim)


def fit_stan_meanfield(
    program: Any,
    data: dict[str, Any],
    *,
    steps: int = 1500,
    lr: float = 0.02,
    num_samples: int = 4000,
    seed: int = 0,
    progress: bool = True,
    khat_samples: int = 1000,
) -> VIResult:
    """Mean-field Gaussian VI on any Stan program (``AutoNormal`` on the unconstrained scale).

    The guide starts at the posterior mode, then SVI maximises the ELBO with Stan's log density and
    gradient. Draws are mapped back with ``constrain_pars`` to Stan's named, constrained parameters,
    transformed parameters included.
    """
    if not program.parameters:
        raise ValueError(f"Stan program {program.name!r} declares no parameters: there is nothing to infer")
    stan_model = stan_.StanDensity(stan_.build(program, data, seed=seed))
    dim = unconstrained_dim(stan_model, program)
    model = stan_bridge_model(stan_model, dim)
    start = time.perf_counter()
    mode = torch.as_tensor(_map_point(stan_model, dim), dtype=torch.get_default_dtype())
    guide = AutoNormal(model, init_loc_fn=init_to_value(values={"u": mode}), init_scale=0.1)
    elbo = run_svi(model, guide, steps=steps, lr=lr, loss=Trace_ELBO(), seed=seed, progress=progress, desc=f"VI {program.name}")
    with torch.no_grad():  # q(u) = Normal(loc, scale), independent across coordinates
        loc, scale = guide.locs.u.double(), guide.scales.u.double()
        u = (loc + scale * torch.randn(num_samples, dim, dtype=torch.float64)).numpy()
    constrained = np.array([stan_model.constrain_pars(list(row), include_tparams=True, include_gqs=False) for row in u])
    seconds = time.perf_counter() - start
    names = [_stan_name(n) for n in stan_model.constrained_param_names[: constrained.shape[1]]]
    draws = {name: constrained[None, :, i] for i, name in enumerate(names)}
    weights = log_weights(model, guide, num_samples=khat_samples) if khat_samples else np.array([])
    return VIResult(draws, elbo, seconds, psis_khat(weights) if khat_samples else float("nan"), guide)


def _stan_name(pystan_name: str) -> str:
    """PyStan's ``beta.2.1`` -> Stan's ``beta[2,1]``."""
    base, *index = pystan_name.split(".")
    return f"{base}[{','.join(index)}]" if index else base
