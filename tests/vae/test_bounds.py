"""The bounds on log p(x): on a linear-Gaussian model whose log p(x) is known exactly, ELBO < IWAE_K < log p(x), IWAE rising with K."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.vae import VAE, elbo_per_image, iwae_bound


def _linear_gaussian_vae():
    """A VAE whose decoder is linear and likelihood Gaussian: p(x) = N(b, W W^T + sigma^2 I) exactly."""
    torch.manual_seed(0)
    vae = VAE(4, latent_dim=2, hidden_dim=8, likelihood="gaussian", sigma=0.5)
    vae.decoder.net = torch.nn.Linear(2, 4)
    return vae


def test_bounds_are_ordered_below_the_exact_log_likelihood():
    vae = _linear_gaussian_vae()
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    W, b = vae.decoder.net.weight.detach().double().numpy(), vae.decoder.net.bias.detach().double().numpy()
    exact = stats.multivariate_normal(b, W @ W.T + 0.25 * np.eye(4)).logpdf(x.double().numpy()).mean()
    torch.manual_seed(2)
    elbo = elbo_per_image(vae, x, num_samples=2000)
    with torch.no_grad():
        one_draw = vae.log_weights(x, 1).mean(0)  # what IWAE with K = 1 averages: one draw per image
    bounds = {k: iwae_bound(vae, x, num_samples=k) for k in (1, 10, 1000)}
    assert abs(bounds[1] - elbo) < 5 * float(one_draw.std()) / np.sqrt(len(x))  # K = 1 is the ELBO, up to its noise
    assert elbo < bounds[10] < bounds[1000] < exact + 0.01
    with pytest.raises(ValueError, match="num_samples must be >= 1, got 0"):
        iwae_bound(vae, x, num_samples=0)
