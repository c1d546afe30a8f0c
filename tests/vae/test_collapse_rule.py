"""The PPCA collapse rule against data of a known spectrum: the closed form, fixed-noise EM, and a trained linear VAE."""

import numpy as np
import pytest

from pp_vae.data import gaussian_with_spectrum, spectrum_data
from pp_vae.vae import TrainConfig, fit_ppca_em, kl_per_dimension, train
from pp_vae.vae.analysis import active_units
from pp_vae.vae.collapse_rule import covariance_spectrum, fixed_noise_ppca, predicted_active, predicted_kl
from pp_vae.vae.ppca import LinearGaussian

SPECTRUM = np.array([16, 8, 4, 2, 1, 0.5, 0.25, 0.125])
NOISE = {0.7: 5, 1.4: 4, 3.0: 3, 6.0: 2}  # sigma^2 -> eigenvalues above it, counted by hand
X = gaussian_with_spectrum(SPECTRUM, 1000, seed=0)


def test_the_data_have_exactly_the_chosen_spectrum():
    np.testing.assert_allclose(covariance_spectrum(X), SPECTRUM, rtol=1e-10)
    assert abs(X.mean(0)).max() < 1e-12
    held_out = spectrum_data(SPECTRUM, 1000, n_test=20_000, seed=0).test.double().numpy()  # the same axes, drawn afresh
    np.testing.assert_allclose(np.cov(held_out, rowvar=False), np.cov(X, rowvar=False, bias=True), atol=0.4)
    assert not np.allclose(held_out[:1000], X, atol=0.1)


@pytest.mark.parametrize("noise", list(NOISE))
def test_the_count_and_the_kls_of_the_fixed_noise_optimum(noise):
    """``W``'s squared singular values are ``(lambda_i - sigma^2)_+``; the exact posterior's KL sums ``log(lambda / sigma^2) / 2``."""
    assert predicted_active(SPECTRUM, noise) == NOISE[noise]
    model = fixed_noise_ppca(X, 7, noise)
    np.testing.assert_allclose(np.linalg.svd(model.weight, compute_uv=False) ** 2, np.maximum(SPECTRUM[:7] - noise, 0), atol=1e-10)
    post = model.posterior(X)
    _, kl = model.elbo_terms(X, post.mean, post.covariance)  # the exact posterior's KL to the prior, image by image
    assert kl.mean() == pytest.approx(predicted_kl(SPECTRUM, noise, 7).sum(), rel=1e-9)
    better = fixed_noise_ppca(X, 7, noise).log_marginal(X).mean()
    for scale in (0.95, 1.05):  # the closed form is the maximum at this sigma^2
        assert LinearGaussian(model.weight * scale, model.mean, noise).log_marginal(X).mean() < better


@pytest.mark.parametrize("noise", list(NOISE))
def test_em_with_the_noise_held_collapses_the_same_directions(noise):
    em = fit_ppca_em(X, 7, iterations=2000, seed=1, noise_variance=noise)
    assert np.all(np.diff(em.log_likelihood) > -1e-10)
    np.testing.assert_allclose(np.linalg.svd(em.model.weight, compute_uv=False) ** 2, np.maximum(SPECTRUM[:7] - noise, 0), atol=1e-4)
    assert em.model.noise_variance == noise


@pytest.mark.slow
@pytest.mark.parametrize("noise", list(NOISE))
def test_a_linear_vae_with_sigma_fixed_keeps_exactly_the_predicted_directions(noise):
    """Full-batch SVI on the course's linear Gaussian VAE (7 latents): the active count exact, the total KL near its prediction.

    Each direction's KL is ``log(lambda / sigma^2) / 2`` only once SVI has turned the columns of ``W`` onto the eigenvectors
    (slow: the likelihood is flat along that rotation); their sum is measured within 3% after 600 epochs at lr 0.03, and
    the collapsed latents under 0.002 nats each.
    """
    data = spectrum_data(SPECTRUM, 1000, seed=0)
    images = data.train
    np.testing.assert_allclose(images.double().numpy(), X, atol=1e-5)  # the rows the closed-form tests use
    config = TrainConfig(epochs=600, batch_size=1000, lr=0.03, latent_dim=7, hidden_dim=16, arch="linear", likelihood="gaussian")
    config.sigma = float(np.sqrt(noise))
    vae, _ = train(data, config, device="cpu", progress=False)
    assert active_units(vae, images) == NOISE[noise]
    kl = np.sort(kl_per_dimension(vae, images))[::-1]
    assert kl.sum() == pytest.approx(predicted_kl(SPECTRUM, noise, 7).sum(), rel=0.05)
    assert kl[NOISE[noise] :].max() < 0.01


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: covariance_spectrum(np.ones((1, 3))), "x needs at least 2 images to have a covariance, got 1"),
        (lambda: predicted_active([1.0, 2.0], 1.0), "spectrum must be a covariance's eigenvalues: non-negative and sorted largest first"),
        (lambda: predicted_active([2.0, 1.0], 0.0), "noise_variance must be positive, got 0.0"),
        (lambda: predicted_kl([2.0, 1.0], 1.0, 3), "latent_dim must be at most the 2 eigenvalues, got 3"),
        (lambda: fixed_noise_ppca(np.ones(4), 1, 1.0), r"x must be a 2-D array of images \(rows\) by pixels, got shape \(4,\)"),
        (lambda: fit_ppca_em(X, 2, noise_variance=-1.0), "noise_variance must be positive, got -1.0"),
        (lambda: gaussian_with_spectrum([1.0, 0.0], 10), "eigenvalues must be positive, got 0.0"),
        (lambda: gaussian_with_spectrum([1.0, 2.0], 2), "n must exceed the 2 dimensions to whiten the draws, got 2"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
