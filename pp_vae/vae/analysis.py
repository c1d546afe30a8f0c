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

from pp_vae.inference.svi import frozen
from pp_vae.vae.bounds import gaussian_q_elbo, gaussian_q_log_weights, importance_weighted, sampled_in_chunks
from pp_vae.vae.family import VAEFamily

ACTIVE_KL = 0.05
"""Nats: a code dimension is *active* when its KL to the prior, averaged over images, exceeds this. Below it,
``q(z_i | x)`` is the prior for every image to within 0.05 nats (0.07 bits of information about the image):
the dimension has collapsed. (Burda et al. 2016 count a dimension by ``Cov_x E_q[z_i | x] > 0.01`` instead; that
reading is in ``posterior_mean_variance``.)"""


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


def active_units(vae: VAEFamily, x: torch.Tensor, threshold: float = ACTIVE_KL) -> int:
    """How many code dimensions are active: their average KL exceeds ``threshold`` nats (:data:`ACTIVE_KL`)."""
    return int((kl_per_dimension(vae, x) > threshold).sum())


@torch.no_grad()
def label_accuracy(vae: VAEFamily, data: Any, dims: Any = None, seed: int = 0) -> tuple[float, float]:
    """Test accuracy (and its binomial SE) of a logistic regression reading labels off one drawn code per image (``dims`` of it)."""
    from sklearn.linear_model import LogisticRegression

    torch.manual_seed(seed)
    device = next(vae.parameters()).device
    codes = {}
    for split in ("train", "test"):
        z = vae.posterior(getattr(data, split).to(device)).sample().cpu().numpy()
        codes[split] = z if dims is None else z[:, np.asarray(dims, dtype=int)]
    classifier = LogisticRegression(max_iter=5000).fit(codes["train"], np.asarray(data.train_labels.cpu()))
    accuracy = float(classifier.score(codes["test"], np.asarray(data.test_labels.cpu())))
    return accuracy, float(np.sqrt(accuracy * (1 - accuracy) / len(codes["test"])))


def posterior_usage(vae: VAEFamily, x: torch.Tensor, threshold: float = ACTIVE_KL) -> dict[str, Any]:
    """The collapse numbers for ``metrics.json``.

    ``kl_per_dim`` (nats), ``active_units`` (KL above ``active_threshold``) and Burda et al.'s ``posterior_mean_variance``.
    """
    kl = kl_per_dimension(vae, x)
    return {
        "kl_per_dim": kl.tolist(),
        "active_units": int((kl > threshold).sum()),
        "active_threshold": threshold,
        "posterior_mean_variance": posterior_mean_variance(vae, x).tolist(),
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

    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    svi = SVI(poutine.block(local_model, hide_types=["param"]), local_guide, Adam({"lr": lr}), loss=TraceMeanField_ELBO())
    start = time.perf_counter()
    with frozen(vae), pyro.validation_enabled(False):
        for _ in range(steps):
            svi.step(x)
    seconds = time.perf_counter() - start
    loc, scale = pyro.param("local_loc").detach(), pyro.param("local_scale").detach()
    pyro.clear_param_store()
    return loc, scale, seconds / n


@dataclass(frozen=True)
class Gaps:
    """``log p(x) - ELBO`` split in two, image by image (nats), with averages and their standard errors over the images.

    ``approximation gap = log p(x) - ELBO(best Gaussian)``: the price of a Gaussian ``q`` at all.
    ``amortisation gap = ELBO(best Gaussian) - ELBO(encoder)``: the price of one encoder for every image.
    """

    log_likelihoods: np.ndarray
    """IWAE estimates of each image's ``log p(x)`` (proposal: its best Gaussian)."""
    optimal_elbos: np.ndarray
    amortised_elbos: np.ndarray
    seconds_per_image: float

    @property
    def log_likelihood(self) -> float:
        """Average ``log p(x)`` estimate (nats per image)."""
        return float(self.log_likelihoods.mean())

    @property
    def optimal_elbo(self) -> float:
        """Average ELBO of the best Gaussian per image."""
        return float(self.optimal_elbos.mean())

    @property
    def amortised_elbo(self) -> float:
        """Average ELBO of the encoder's ``q(z | x)``."""
        return float(self.amortised_elbos.mean())

    @property
    def approximation_gaps(self) -> np.ndarray:
        """Per image: ``log p(x) - ELBO(best Gaussian)``."""
        return self.log_likelihoods - self.optimal_elbos

    @property
    def amortisation_gaps(self) -> np.ndarray:
        """Per image: ``ELBO(best Gaussian) - ELBO(encoder)``."""
        return self.optimal_elbos - self.amortised_elbos

    @property
    def approximation_gap(self) -> float:
        """Average approximation gap (nats per image)."""
        return float(self.approximation_gaps.mean())

    @property
    def amortisation_gap(self) -> float:
        """Average amortisation gap (nats per image)."""
        return float(self.amortisation_gaps.mean())

    @property
    def approximation_se(self) -> float:
        """Standard error of :attr:`approximation_gap` over the images."""
        return _standard_error(self.approximation_gaps)

    @property
    def amortisation_se(self) -> float:
        """Standard error of :attr:`amortisation_gap` over the images."""
        return _standard_error(self.amortisation_gaps)

    @property
    def total(self) -> float:
        """``log p(x) - ELBO`` of the amortised guide."""
        return self.approximation_gap + self.amortisation_gap


def _standard_error(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(values.size))


def gap_decomposition(
    vae: VAEFamily,
    x: torch.Tensor,
    iwae_samples: int = 1000,
    steps: int = 1000,
    lr: float = 0.01,
    elbo_samples: int = 200,
    seed: int = 0,
) -> Gaps:
    """Split ``log p(x) - ELBO(amortised q)`` on ``x`` into the approximation and amortisation gaps, image by image.

    The best diagonal Gaussian per image is found by :func:`optimise_local_gaussians` from the VAE's own
    answer; ``log p(x)`` is the IWAE estimate with ``iwae_samples`` draws from that best Gaussian. Both
    ELBOs are evaluated with the same noise, so their difference is not swamped by Monte Carlo error.
    """
    loc, scale, seconds = optimise_local_gaussians(vae, x, steps=steps, lr=lr, seed=seed)
    with torch.no_grad():
        torch.manual_seed(seed)
        amortised = vae.elbo(x, num_samples=elbo_samples)
        torch.manual_seed(seed)
        optimal = gaussian_q_elbo(vae, x, loc, scale, num_samples=elbo_samples)
        torch.manual_seed(seed + 1)
        terms = sampled_in_chunks(lambda k: gaussian_q_log_weights(vae, x, loc, scale, k), iwae_samples)
        log_likelihood = importance_weighted(terms)
    return Gaps(log_likelihood.cpu().numpy(), optimal.cpu().numpy(), amortised.cpu().numpy(), seconds)


@torch.no_grad()
def anomaly_scores(vae: VAEFamily, x: torch.Tensor, num_samples: int = 32) -> np.ndarray:
    """``-ELBO`` of each image (nats): high where the VAE finds the image unlikely."""
    return -vae.elbo(x, num_samples=num_samples).cpu().numpy()


def ink_scores(x: torch.Tensor) -> np.ndarray:
    """A baseline anomaly score with no model at all: each image's total ink (sum of its pixels)."""
    return x.sum(-1).cpu().numpy()


def pca_scores(train: torch.Tensor, x: torch.Tensor, components: int = 10) -> np.ndarray:
    """A linear baseline anomaly score: the squared error of each image's projection on the training data's PCA.

    ``components`` principal components: as many as the VAE's latent dimensions, for a fair comparison.
    """
    train_np, x_np = train.cpu().double().numpy(), x.cpu().double().numpy()
    mean = train_np.mean(0)
    _, _, vt = np.linalg.svd(train_np - mean, full_matrices=False)
    basis = vt[:components]
    centred = x_np - mean
    residual = centred - centred @ basis.T @ basis
    return (residual**2).sum(-1)


def auroc(normal_scores: np.ndarray, anomalous_scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance an anomalous image scores above a normal one (Mann-Whitney U)."""
    u = stats.mannwhitneyu(anomalous_scores, normal_scores, alternative="two-sided").statistic
    return float(u / (len(anomalous_scores) * len(normal_scores)))


def bootstrap_auroc(
    scores: dict[str, np.ndarray], anomalous: np.ndarray, draws: int = 2000, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Each score's AUROC and its bootstrap standard error, resampling the images (the same resamples for every score).

    ``anomalous`` marks the anomalous images. Differences between scores are best read with
    :func:`bootstrap_auroc_difference`, which keeps the pairing.
    """
    return {name: (auroc(s[~anomalous], s[anomalous]), float(np.std(_resampled(s, anomalous, draws, seed)))) for name, s in scores.items()}


def bootstrap_auroc_difference(
    first: np.ndarray, second: np.ndarray, anomalous: np.ndarray, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """``AUROC(first) - AUROC(second)`` on the same images, and its bootstrap standard error (paired resamples)."""
    difference = auroc(first[~anomalous], first[anomalous]) - auroc(second[~anomalous], second[anomalous])
    resampled = _resampled(first, anomalous, draws, seed) - _resampled(second, anomalous, draws, seed)
    return float(difference), float(np.std(resampled))


def _resampled(scores: np.ndarray, anomalous: np.ndarray, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for i in range(draws):
        pick = rng.integers(0, scores.size, scores.size)
        out[i] = auroc(scores[pick][~anomalous[pick]], scores[pick][anomalous[pick]])
    return out


@torch.no_grad()
def drawn_code_pixels(vae: Any, x: torch.Tensor, num_samples: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and pixel, ``E_q[log p(x_d | z)]`` and ``E_q[(x_d - E[x_d | z])^2]`` over ``num_samples`` codes drawn from ``q(z | x)``."""
    z = vae.posterior(x).sample((num_samples,))
    decoded = vae.decoder(z)
    observed = vae.likelihood.observed(x)
    log_prob = vae.likelihood.distribution(decoded, observed).base_dist.log_prob(observed)
    squared = (x - vae.likelihood.mean(decoded)) ** 2
    return log_prob.mean(0), squared.mean(0)
