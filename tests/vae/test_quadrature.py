"""The 2-D latent grid against closed forms (a linear-Gaussian VAE is PPCA), against its own bounds, and NUTS against the grid."""

import numpy as np
import pytest
import torch

from pp_vae.inference import summary
from pp_vae.vae import (
    TrainConfig,
    adopt_generative_model,
    build_vae,
    grid_log_likelihood,
    importance_weighted,
    latent_grid,
    latent_nuts,
    linear_gaussian_of,
    train,
)
from pp_vae.vae.bounds import sampled_in_chunks


@pytest.fixture(scope="module")
def linear():
    """A 2-D linear-Gaussian VAE (so PPCA: exact log p(x) and posterior) with a tight posterior, and five images from it."""
    torch.manual_seed(0)
    vae = build_vae("vae", 16, latent_dim=2, hidden_dim=8, likelihood="gaussian", sigma=0.2, arch="linear").double()
    with torch.no_grad():
        vae.decoder.weight.mul_(3.0)
    x, _ = linear_gaussian_of(vae).sample(5, seed=1)
    return vae, torch.tensor(x)


def test_grid_log_likelihood_and_moments_are_ppcas_closed_forms(linear):
    vae, x = linear
    model = linear_gaussian_of(vae)
    np.testing.assert_allclose(grid_log_likelihood(vae, x), model.log_marginal(x.numpy()), atol=1e-6)
    grid = latent_grid(vae, x[0])
    mean, cov = grid.moments()
    post = model.posterior(x[:1].numpy())
    np.testing.assert_allclose(mean, post.mean[0], atol=1e-7)
    np.testing.assert_allclose(cov, post.covariance, atol=1e-8)


def test_nuts_on_the_code_matches_the_exact_posterior_within_monte_carlo_error(linear):
    vae, x = linear
    post = linear_gaussian_of(vae).posterior(x[:1].numpy())
    result = latent_nuts(vae, x[0], draws=600, warmup=300, chains=2, seed=3)
    table = summary(result)
    assert np.all(table["rhat"] < 1.02)
    for j, name in enumerate(("z[1]", "z[2]")):
        assert abs(table.loc[name, "mean"] - post.mean[0, j]) < 5 * table.loc[name, "mcse_mean"]
    assert all(p.requires_grad for p in vae.parameters())  # NUTS leaves the model as it found it


@pytest.mark.slow
def test_iwae_rises_towards_the_grid_truth_and_never_above_it(digits):
    vae, _ = train(digits, TrainConfig(latent_dim=2, epochs=30, seed=0), device="cpu", progress=False)
    x = digits.test[:10]
    truth = grid_log_likelihood(vae, x)
    torch.manual_seed(0)
    with torch.no_grad():
        weights = sampled_in_chunks(lambda k: vae.log_weights(x, k), 5000)
    gaps = [truth - importance_weighted(weights[:k]).numpy() for k in (1, 50, 5000)]
    means = [g.mean() for g in gaps]
    assert means[0] > means[1] > means[2]
    se = gaps[2].std(ddof=1) / np.sqrt(gaps[2].size)
    # within its error of the truth at large K, and not above it: a grid that undershot log p(x) would fail here
    assert -3 * se < means[2] < 3 * se + 0.05


def test_a_guide_trained_on_an_adopted_generative_model_leaves_it_untouched(digits):
    torch.manual_seed(0)
    source, _ = train(digits, TrainConfig(latent_dim=2, epochs=2, seed=0), device="cpu", progress=False)
    iaf, _ = train(digits, TrainConfig(model="iaf", latent_dim=2, epochs=2, seed=1), device="cpu", progress=False, generative_from=source)
    for name, value in source.decoder.state_dict().items():
        torch.testing.assert_close(iaf.decoder.state_dict()[name], value)
    ladder = build_vae("ladder", 64, latent_dim=2)
    with pytest.raises(ValueError, match="a ladder VAE cannot adopt the generative model of a vae VAE"):
        adopt_generative_model(ladder, source)
    with pytest.raises(ValueError, match="cannot adopt the vae VAE's decoder: the sizes differ"):
        adopt_generative_model(build_vae("vae", 64, latent_dim=3), source)


def test_the_grid_needs_a_two_dimensional_code():
    with pytest.raises(ValueError, match="the latent grid needs a 2-D code"):
        latent_grid(build_vae("vae", 16, latent_dim=3), torch.zeros(16))
