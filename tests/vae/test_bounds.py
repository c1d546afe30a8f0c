"""The bounds on log p(x): on a linear-Gaussian model whose log p(x) is known exactly, ELBO < IWAE_K < log p(x), IWAE rising with K."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.vae import elbo_per_image, iwae_bound
from tests.reference_vae import linear_gaussian_vae


def test_bounds_are_ordered_below_the_exact_log_likelihood():
    vae = linear_gaussian_vae()
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


def test_prior_sampling_bound_against_closed_forms_of_alinear_gaussian_vae():
    from pp_vae.vae import prior_sampling_bound

    vae = linear_gaussian_vae()
    W, b = vae.decoder.net.weight.detach().double().numpy(), vae.decoder.net.bias.detach().double().numpy()
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    xs = x.double().numpy()
    # K = 1: one prior draw per image, whose average is E_p(z) log N(x; W z + b, s^2 I), in closed form
    copies = x[:1].expand(4000, -1)
    torch.manual_seed(3)
    one = prior_sampling_bound(vae, copies, num_samples=1, batch_size=500)
    expected = -2 * np.log(2 * np.pi * 0.25) - (((xs[0] - b) ** 2).sum() + (W**2).sum()) / (2 * 0.25)
    assert abs(one.mean() - expected) < 5 * one.std(ddof=1) / np.sqrt(one.size)
    assert len(np.unique(one[:500])) == 500  # fresh draws for every image of a batch, not one set shared
    # many draws: the estimate reaches the exact log p(x) = log N(x; b, W W^T + s^2 I), from below on average
    exact = stats.multivariate_normal(b, W @ W.T + 0.25 * np.eye(4)).logpdf(xs)
    torch.manual_seed(4)
    many = np.array([prior_sampling_bound(vae, x, num_samples=5000, chunk=5000) for _ in range(20)])  # (repeats, images)
    assert np.all(np.abs(many.mean(0) - exact) < 5 * many.std(0, ddof=1) / np.sqrt(20))  # its bias at K = 5000 is far below that
    torch.manual_seed(5)
    few = np.array([prior_sampling_bound(vae, x, num_samples=2) for _ in range(400)])  # (repeats, images)
    assert np.all(exact - few.mean(0) > 5 * few.std(0, ddof=1) / np.sqrt(400))  # Jensen: short of log p(x) at small K
    with pytest.raises(ValueError, match="num_samples must be >= 1, got 0"):
        prior_sampling_bound(vae, x, num_samples=0)
