"""What a trained VAE does with its latent space and how far its ELBO is from log p(x).

Posterior collapse (KL per latent dimension, active units), the split of ``log p(x) - ELBO`` into
the approximation gap and the amortisation gap (Cremer et al. 2018), and anomaly scores.
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

from pp_vae.vae import VAE, gaussian_q_elbo, gaussian_q_log_weights, importance_weighted, sampled_in_chunks

ACTIVE_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active when Cov_x(E_q[z_i | x]) > 0.01


@torch.no_grad()
def kl_per_dimension(vae: VAE, x: torch.Tensor) -> np.ndarray | None:
    """Average over images of each latent dimension's ``KL(q(z_i | x) || p(z_i))`` in nats (``None`` for IAF).

    A dimension with KL near 0 carries no information about ``x``: it has collapsed to the prior.
    """
    kl = vae.kl_per_dim(x)
    return None if kl is None else kl.mean(0).cpu().numpy()


@torch.no_grad()
def posterior_mean_variance(vae: VAE, x: torch.Tensor) -> np.ndarray:
    """``Cov_x(E_q[z_i | x])``: how much each dimension's posterior mean moves across the data."""
    return vae.posterior_mean(x).var(0).cpu().numpy()


def active_units(vae: VAE, x: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many latent dimensions are active: ``Cov_x(E_q[z_i | x]) > threshold``."""
    return int((posterior_mean_variance(vae, x) > threshold).sum())


def posterior_usage(vae: VAE, x: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> dict[str, Any]:
    """The collapse numbers for ``metrics.json``: ``kl_per_dim``, ``active_units`` and the variances behind them."""
    kl = kl_per_dimension(vae, x)
    variance = posterior_mean_variance(vae, x)
    return {"kl_per_dim": None if kl is None else kl.tolist(), "active_units": int((variance > threshold).sum()),
            "posterior_mean_variance": variance.tolist(), "active_threshold": threshold}


def optimise_local_gaussians(vae: VAE, x: torch.Tensor, steps: int = 1000, lr: float = 0.01, seed: int = 0,
                             init: str = "encoder") -> tuple[torch.Tensor, torch.Tensor, float]:
    """Fit a separate Gaussian ``q_i(z) = N(loc_i, scale_i)`` to each image by SVI, with the decoder frozen.

    ``init="encoder"`` starts from the encoder's answer (so the result can only be as good or better,
    up to Monte Carlo noise), ``"prior"`` from ``N(0, I)``. Returns ``loc``, ``scale`` and seconds per image.
    """
    if init not in ("encoder", "prior"):
        raise ValueError(f"init must be 'encoder' or 'prior', got {init!r}")
    n = x.shape[0]
    with torch.no_grad():
        loc0, scale0 = vae.encoder(x) if init == "encoder" else (x.new_zeros(n, vae.latent_dim), x.new_ones(n, vae.latent_dim))
    frozen_model = poutine.block(vae.model, hide_types=["param"])  # the decoder is not trained here

    def local_guide(batch: torch.Tensor) -> None:
        loc = pyro.param("local_loc", loc0.clone())
        scale = pyro.param("local_scale", scale0.clone(), constraint=constraints.positive)
        with pyro.plate("data", n, device=x.device):
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    svi = SVI(frozen_model, local_guide, Adam({"lr": lr}), loss=TraceMeanField_ELBO())
    start = time.perf_counter()
    with vae.plain_elbo(), pyro.validation_enabled(False):  # the ELBO itself, whatever beta the VAE was trained with
        for _ in range(steps):
            svi.step(x)
    seconds = time.perf_counter() - start
    loc, scale = pyro.param("local_loc").detach(), pyro.param("local_scale").detach()
    pyro.clear_param_store()
    return loc, scale, seconds / n


def fit_per_datapoint(vae: VAE, x: torch.Tensor, steps: int = 1000, lr: float = 0.01, seed: int = 0) -> tuple[float, float]:
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
        return self.approximation_gap + self.amortisation_gap


@torch.no_grad()
def _elbo_with_common_noise(vae: VAE, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int, seed: int) -> float:
    torch.manual_seed(seed)  # the same noise for both q's: their difference is not swamped by Monte Carlo error
    return float(gaussian_q_elbo(vae, x, loc, scale, num_samples=num_samples).mean())


def gap_decomposition(vae: VAE, x: torch.Tensor, iwae_samples: int = 1000, steps: int = 1000, lr: float = 0.01,
                      elbo_samples: int = 200, seed: int = 0) -> Gaps:
    """Split ``log p(x) - ELBO(encoder)`` on ``x`` into the approximation and amortisation gaps.

    The best Gaussian per image is found by :func:`optimise_local_gaussians` from the encoder's answer;
    ``log p(x)`` is the IWAE estimate with ``iwae_samples`` draws from that best Gaussian (an IWAE
    bound is above its proposal's ELBO, so the approximation gap is non-negative in expectation).
    """
    if type(vae) is not VAE:
        raise ValueError(f"the gap split needs the diagonal-Gaussian VAE (model 'vae'), not {vae.kind!r}")
    loc, scale, seconds = optimise_local_gaussians(vae, x, steps=steps, lr=lr, seed=seed)
    with torch.no_grad():
        amortised = _elbo_with_common_noise(vae, x, *vae.encoder(x), elbo_samples, seed)
        optimal = _elbo_with_common_noise(vae, x, loc, scale, elbo_samples, seed)
        torch.manual_seed(seed + 1)
        terms = sampled_in_chunks(lambda k: gaussian_q_log_weights(vae, x, loc, scale, k), iwae_samples)
        log_likelihood = float(importance_weighted(terms).mean())
    return Gaps(log_likelihood, optimal, amortised, log_likelihood - optimal, optimal - amortised, seconds)


@torch.no_grad()
def anomaly_scores(vae: VAE, x: torch.Tensor, num_samples: int = 32) -> np.ndarray:
    """``-ELBO`` of each image (nats): high where the VAE finds the image unlikely."""
    return -vae.elbo(x, num_samples=num_samples).cpu().numpy()


def auroc(normal_scores: np.ndarray, anomalous_scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance an anomalous image scores above a normal one (Mann-Whitney U)."""
    u = stats.mannwhitneyu(anomalous_scores, normal_scores, alternative="two-sided").statistic
    return float(u / (len(anomalous_scores) * len(normal_scores)))
