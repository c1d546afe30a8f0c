"""The plain autoencoder against PCA: linear, it finds the principal subspace; with a hidden layer, it reconstructs better."""

import numpy as np
import pytest
import torch

from pp_vae.vae import fit_autoencoder, fit_ppca, principal_angles


@pytest.fixture(scope="module")
def pca(digits):
    model = fit_ppca(digits.train.numpy(), 10)
    basis, mean = model.subspace(), model.mean
    test = digits.test.numpy()
    return basis, ((test - mean) @ basis @ basis.T + mean - test) ** 2


@pytest.mark.slow
def test_a_linear_autoencoder_finds_the_principal_subspace(digits, pca):
    """Baldi and Hornik (1989). Measured (300 epochs, lr 3e-3): test MSE 1.003 x PCA's, largest principal angle 7.0 degrees."""
    basis, pca_error = pca
    model, history = fit_autoencoder(digits, 10, arch="linear", epochs=300, lr=3e-3)
    assert history[-1] < 1.02 * pca_error.mean()
    assert np.degrees(principal_angles(model.decoder.weight.detach().double().numpy(), basis)).max() < 12


@pytest.mark.slow
def test_a_hidden_layer_reconstructs_better_than_pca(digits, pca):
    """Measured (100 epochs): test MSE 0.0143 against PCA's 0.0192 per pixel."""
    _, pca_error = pca
    model, _ = fit_autoencoder(digits, 10, arch="mlp", epochs=100)
    with torch.no_grad():
        error = ((model(digits.test) - digits.test) ** 2).numpy()
    better = pca_error.mean(1) - error.mean(1)  # per image
    assert better.mean() > 5 * better.std(ddof=1) / np.sqrt(better.size)


def test_bad_options_are_named(digits):
    with pytest.raises(ValueError, match="arch must be one of mlp, conv, linear, iwae, got 'rnn'"):
        fit_autoencoder(digits, 4, arch="rnn", epochs=1)
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1, got 0"):
        fit_autoencoder(digits, 0, epochs=1)
