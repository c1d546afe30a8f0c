"""The ladder VAE: the precision-weighted merge, its closed-form ELBO, and training."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.data import load_digits
from pp_vae.vae import LadderVAE, TrainConfig, VAESpec, elbo_per_image, iwae_bound, precision_weighted, train


def test_precision_weighting_is_the_normalised_product_of_gaussians():
    grid = np.linspace(-4, 4, 41)
    loc, scale = precision_weighted(*(torch.tensor(v, dtype=torch.float64) for v in (0.7, 0.5, -1.2, 1.5)))
    product = stats.norm.pdf(grid, 0.7, 0.5) * stats.norm.pdf(grid, -1.2, 1.5)
    ratio = product / stats.norm.pdf(grid, float(loc), float(scale))
    assert np.allclose(ratio, ratio[0], rtol=1e-8)


def test_the_code_is_both_layers_and_its_prior_runs_top_down():
    torch.manual_seed(0)
    ladder = LadderVAE(VAESpec(20, latent_dim=3, hidden_dim=16, top_dim=2))
    assert ladder.code_dim == 5 and ladder.config()["top_dim"] == 2
    codes = ladder.prior_sample(20_000, torch.Generator().manual_seed(1))
    z2 = codes[:, 3:]
    assert abs(float(z2.mean())) < 5 / np.sqrt(40_000) and abs(float(z2.var()) - 1) < 0.05  # z2 ~ N(0, I)
    loc, scale = ladder.top_down(z2)
    standardised = (codes[:, :3] - loc) / scale  # z1 | z2 ~ N(top_down(z2))
    assert abs(float(standardised.mean())) < 5 / np.sqrt(60_000) and abs(float(standardised.var()) - 1) < 0.05


@pytest.mark.slow
def test_ladder_vae_trains_and_its_iwae_is_above_its_elbo():
    digits = load_digits()
    config = TrainConfig(model="ladder", epochs=30, likelihood="gaussian", sigma="optimal", anneal_epochs=10, seed=0)
    ladder, history = train(digits, config, device="cpu", progress=False)
    assert history.test_elbo[-1] > history.test_elbo[0] + 10
    torch.manual_seed(0)
    x = digits.test[:200]
    elbo, iwae = elbo_per_image(ladder, x, num_samples=100), iwae_bound(ladder, x, num_samples=500)
    assert iwae >= elbo
