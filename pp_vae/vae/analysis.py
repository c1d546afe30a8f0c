"""What a trained VAE does with its latent space, and how far its ELBO is from log p(x) (lectures 5-6).

Posterior collapse (KL per latent dimension, active units), the split of ``log p(x) - ELBO`` into the
approximation gap and the amortisation gap (Cremer et al. 2018), and anomaly scores. Every function
works on any member of the VAE family through its contract (:mod:`pp_vae.vae.family`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.infer import SVI, TraceMeanField_ELBO
from pyro.optim import Adam
from scipy import stats
from torch.distributions import constraints

from pp_vae.vae.bounds import gaussian_q_elbo, gaussian_q_log_weights, importance_weighted, sampled_in_chunks
from pp_vae.vae.family import VAEFamily

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active when Cov_x(E_q[z_i | x]) > 0.01


@torch.no_grad()
def kl_per_dimension(vae: VAEFamily, x: torch.Tensor) -> np.ndarray:
    """Average over images of each code dimension's KL (chain rule, :meth:`VAEFamily.kl_per_dim`), in nats.

    A dimension with KL near 0 carries no information about ``x``: it has collapsed to the prior.
    """
    return vae.kl_per_dim(x).mean(0).cpu().numpy()


@torch.no_grad()
def posterior_mean_variance(vae: VAEFamily, x: torch.Tensor) -> np.ndarray:
    """``Cov_x(E_q[z_i | x])``: how much each dimension's posterior mean moves across the data."""
    return vae.posterior_mean(x).var(0).cpu().numpy()


def active_units(vae: VAEFamily, x: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many code dimensions are active: ``Cov_x(E_q[z_i | x]) > threshold``."""
    return int((posterior_mean_variance(vae, x) > threshold).sum())


def posterior_usage(vae: VAEFamily, x: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> dict[str, Any]:
    """The collapse numbers for ``metrics.json``: ``kl_per_dim``, ``active_units`` and the variances behind them."""
    variance = posterior_mean_variance(vae, x)
    return {
        "kl_per_dim": kl_per_dimension(vae, x).tolist(),
        "active_units": int((variance > threshold).sum()),
        "posterior_mean_variance": variance.tolist(),
        "active_threshold": threshold,
    }


@torch.no_grad()
def gaussian_moments(vae: VAEFamily, x: torch.Tensor, num_samples: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and sd of each image's ``q(z | x)``: exact where the distribution knows them, else by ``num_samples`` draws."""
    q = vae.posterior(x)
    try:
        return q.mean, q.stddev
    except NotImplementedError:  # flows and hierarchies: no closed-form moments
        draws = q.sample((num_samples,))
        return draws.mean(0), draws.std(0).clamp_min(1e-4)


def optimise_local_gaussians(
    vae: VAEFamily, x: torch.Tensor, steps: int = 1000, lr: float = 0.01, seed: int = 0, init: str = "encoder"
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Fit a separate Gaussian ``q_i(z) = N(loc_i, scale_i)`` over each image's code by SVI, with the VAE frozen.

    ``init="encoder"`` starts from the moments of the VAE's own ``q(z | x)`` (so the result can only be as
    good or better for a Gaussian guide, up to Monte Carlo noise), ``"prior"`` from ``N(0, I)``. Returns
    ``loc``, ``scale`` and seconds per image.
    """
    if init not in ("encoder", "prior"):
        raise ValueError(f"init must be 'encoder' or 'prior', got {init!r}")
    n = x.shape[0]
    if init == "encoder":
        torch.manual_seed(seed)
        loc0, scale0 = gaussian_moments(vae, x)
    else:
        loc0, scale0 = x.new_zeros(n, vae.code_dim), x.new_ones(n, vae.code_dim)

    def local_model(batch: torch.Tensor) -> None:
        with pyro.plate("data", n, device=x.device):
            z = pyro.sample("z", dist.Normal(batch.new_zeros(vae.code_dim), batch.new_ones(vae.code_dim)).to_event(1))
            pyro.factor("rest", vae.log_joint(batch, z) - dist.Normal(0.0, 1.0).log_prob(z).sum(-1))

    def local_guide(batch: torch.Tensor) -> None:
        loc = pyro.param("local_loc", loc0.clone())
        scale = pyro.param("local_scale", scale0.clone(), constraint=constraints.positive)
        with pyro.plate("data", n, device=x.device):
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    for parameter in vae.parameters():
        parameter.requires_grad_(False)
    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    svi = SVI(poutine.block(local_model, hide_types=["param"]), local_guide, Adam({"lr": lr}), loss=TraceMeanField_ELBO())
    start = time.perf_counter()
    try:
        with pyro.validation_enabled(False):
            for _ in range(steps):
                svi.step(x)
    finally:
        for parameter in vae.parameters():
            parameter.requires_grad_(True)
    seconds = time.perf_counter() - start
    loc, scale = pyro.param("local_loc").detach(), pyro.param("local_scale").detach()
    pyro.clear_param_store()
    return loc, scale, seconds / n


def fit_per_datapoint(vae: VAEFamily, x: torch.Tensor, steps: int = 1000, lr: float = 0.01, seed: int = 0) -> tuple[float, float]:
    """The non-amortised baseline from ``N(0, I)``: ELBO per image reached and seconds spent per image.

    The encoder answers the same question in one forward pass; the difference in ELBO is the amortisation gap.
    """
    loc, scale, seconds = optimise_local_gaussians(vae, x, steps=steps, lr=lr, seed=seed, init="prior")
    return float(gaussian_q_elbo(vae, x, loc, scale, num_samples=32).mean()), seconds


@dataclass(frozen=True)
class Gaps:
    """``log p(x) - ELBO`` split in two (nats per image, averaged over the images).

    ``approximation_gap = log_likelihood - optimal_elbo``: the price of a Gaussian ``q`` at all.
    ``amortisation_gap = optimal_elbo - amortised_elbo``: the price of one encoder for every image.
    """

    log_likelihood: float
    optimal_elbo: float
    amortised_elbo: float
    approximation_gap: float
    amortisation_gap: float
    seconds_per_image: float

    @property
    def total(self) -> float:
        """``log p(x) - ELBO`` of the amortised guide."""
        return self.approximation_gap + self.amortisation_gap


def gap_decomposition(
    vae: VAEFamily, x: torch.Tensor, iwae_samples: int = 1000, steps: int = 1000, lr: float = 0.01, elbo_samples: int = 200, seed: int = 0
) -> Gaps:
    """Split ``log p(x) - ELBO(amortised q)`` on ``x`` into the approximation and amortisation gaps.

    The best diagonal Gaussian per image is found by :func:`optimise_local_gaussians` from the VAE's own
    answer; ``log p(x)`` is the IWAE estimate with ``iwae_samples`` draws from that best Gaussian. Both
    ELBOs are evaluated with the same noise, so their difference is not swamped by Monte Carlo error.
    """
    loc, scale, seconds = optimise_local_gaussians(vae, x, steps=steps, lr=lr, seed=seed)
    with torch.no_grad():
        torch.manual_seed(seed)
        amortised = float(vae.elbo(x, num_samples=elbo_samples).mean())
        torch.manual_seed(seed)
        optimal = float(gaussian_q_elbo(vae, x, loc, scale, num_samples=elbo_samples).mean())
        torch.manual_seed(seed + 1)
        terms = sampled_in_chunks(lambda k: gaussian_q_log_weights(vae, x, loc, scale, k), iwae_samples)
        log_likelihood = float(importance_weighted(terms).mean())
    return Gaps(log_likelihood, optimal, amortised, log_likelihood - optimal, optimal - amortised, seconds)


@torch.no_grad()
def anomaly_scores(vae: VAEFamily, x: torch.Tensor, num_samples: int = 32) -> np.ndarray:
    """``-ELBO`` of each image (nats): high where the VAE finds the image unlikely."""
    return -vae.elbo(x, num_samples=num_samples).cpu().numpy()


def auroc(normal_scores: np.ndarray, anomalous_scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance an anomalous image scores above a normal one (Mann-Whitney U)."""
    u = stats.mannwhitneyu(anomalous_scores, normal_scores, alternative="two-sided").statistic
    return float(u / (len(anomalous_scores) * len(normal_scores)))
