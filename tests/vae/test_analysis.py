"""Posterior collapse numbers, the approximation/amortisation gap split, anomaly scores."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from pp_vae.vae import (
    VAE,
    TrainConfig,
    active_units,
    anomaly_scores,
    auroc,
    elbo_per_image,
    gap_decomposition,
    iwae_bound,
    kl_per_dimension,
    posterior_usage,
    train,
)


def test_active_units_count_the_dimensions_whose_mean_moves():
    torch.manual_seed(0)
    vae = VAE(10, latent_dim=4, hidden_dim=6)
    with torch.no_grad():
        vae.encoder.loc.weight[[1, 3]] = 0.0  # dimensions 1 and 3: the same mean for every x
        vae.encoder.loc.weight[[0, 2]] *= 20.0
    x = torch.rand(200, 10)
    assert active_units(vae, x) == 2
    usage = posterior_usage(vae, x)
    assert usage["active_units"] == 2 and usage["posterior_mean_variance"][1] == pytest.approx(0.0, abs=1e-10)


def test_kl_per_dimension_is_the_average_gaussian_kl():
    torch.manual_seed(1)
    vae = VAE(10, latent_dim=3, hidden_dim=6)
    x = torch.rand(50, 10)
    loc, scale = vae.encoder(x)
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(loc, scale), torch.distributions.Normal(0.0, 1.0)).mean(0)
    np.testing.assert_allclose(kl_per_dimension(vae, x), expected.detach().numpy(), rtol=1e-5)


def test_auroc_matches_scikit_learn():
    rng = np.random.default_rng(0)
    normal, anomalous = rng.normal(0, 1, 80), rng.normal(0.8, 1, 50)
    expected = roc_auc_score(np.r_[np.zeros(80), np.ones(50)], np.r_[normal, anomalous])
    assert auroc(normal, anomalous) == pytest.approx(expected)


@pytest.mark.slow
def test_collapse_is_detected_when_provoked_and_not_when_absent(digits):
    # Measured: latent 2 at beta 1 keeps both units (Cov_x E[z] ~ 0.5); beta 4 sends every KL to ~0
    kept, _ = train(digits, TrainConfig(epochs=30, latent_dim=2, seed=0), device="cpu", progress=False)
    collapsed, _ = train(digits, TrainConfig(epochs=30, latent_dim=2, beta=4.0, seed=0), device="cpu", progress=False)
    assert active_units(kept, digits.test) == 2
    assert active_units(collapsed, digits.test) == 0
    assert kl_per_dimension(collapsed, digits.test).max() < 0.05 < kl_per_dimension(kept, digits.test).min()


@pytest.mark.slow
def test_gaps_are_non_negative_and_add_up_to_the_independent_total(digits):
    vae, _ = train(digits, TrainConfig(epochs=30, seed=0), device="cpu", progress=False)
    x = digits.test[:100]
    gaps = gap_decomposition(vae, x, iwae_samples=1000, steps=500, lr=0.02)
    assert gaps.approximation_gap > 0 and gaps.amortisation_gap > 0
    assert gaps.total == pytest.approx(gaps.log_likelihood - gaps.amortised_elbo)
    torch.manual_seed(3)  # the same total through the encoder's own IWAE and ELBO, a separate code path
    independent = iwae_bound(vae, x, num_samples=1000) - elbo_per_image(vae, x, num_samples=200)
    assert gaps.total == pytest.approx(independent, abs=0.05)


@pytest.mark.slow
def test_elbo_anomaly_scores_flag_unseen_digits(digits):
    seen = digits.train_labels < 5
    data = type(digits)("digits 0-4", digits.train[seen], digits.train_labels[seen], digits.test, digits.test_labels, digits.image_shape)
    vae, _ = train(data, TrainConfig(epochs=30, seed=0), device="cpu", progress=False)
    torch.manual_seed(0)
    scores = anomaly_scores(vae, digits.test)
    labels = digits.test_labels.numpy()
    assert auroc(scores[labels < 5], scores[labels >= 5]) > 0.7
