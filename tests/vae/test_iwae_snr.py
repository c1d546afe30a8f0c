"""The IWAE training loss and the gradient SNR: checked against Pyro's ELBO, the exact log p(x) and closed forms."""

import numpy as np
import pyro
import pytest
import torch
from pyro.infer import Trace_ELBO
from scipy import stats

from pp_vae.vae import VAE, TrainingLoss, VAESpec, encoder_and_decoder, gradient_snr, iwae_gradients, signal_to_noise
from tests.reference_vae import linear_gaussian_vae


def test_iwae_with_one_draw_has_the_elbos_gradient_exactly():
    """K = 1: the same draw gives the same loss and gradient as Pyro's Trace_ELBO (the KL sampled at the draw)."""
    vae = linear_gaussian_vae()
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    weights = list(vae.parameters())
    pyro.set_rng_seed(3)
    ours = TrainingLoss(vae, iwae_samples=1)(x)
    ours_grad = torch.autograd.grad(ours, weights)
    pyro.set_rng_seed(3)
    pyro_loss = Trace_ELBO().differentiable_loss(vae.model, vae.guide, x)
    pyro_grad = torch.autograd.grad(pyro_loss, weights)
    assert float(ours.detach()) == pytest.approx(float(pyro_loss.detach()), rel=1e-5)
    for a, b in zip(ours_grad, pyro_grad, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_iwae_training_loss_climbs_to_the_exact_log_likelihood():
    vae = linear_gaussian_vae()
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    W, b = vae.decoder.net.weight.detach().double().numpy(), vae.decoder.net.bias.detach().double().numpy()
    exact = stats.multivariate_normal(b, W @ W.T + 0.25 * np.eye(4)).logpdf(x.double().numpy()).mean()
    torch.manual_seed(2)
    with torch.no_grad():  # the loss is summed over the images: per image, it is minus the bound
        bounds = {k: -float(TrainingLoss(vae, iwae_samples=k)(x)) / len(x) for k in (1, 10, 3000)}
    assert bounds[1] < bounds[10] < exact  # an untrained encoder: K = 1 is about 10 nats per image short
    assert abs(bounds[3000] - exact) < 0.05 and exact - bounds[1] > 5  # K = 3000 closes the gap to within its noise (~0.01)
    with pytest.raises(ValueError, match="kl_weight must be 1, got 2.0"):
        loss = TrainingLoss(vae, iwae_samples=5)
        loss.kl_weight = 2.0
        loss(x)
    with pytest.raises(ValueError, match="iwae_samples must be an integer >= 0, got -1"):
        TrainingLoss(vae, iwae_samples=-1)


def test_snr_of_one_draw_matches_its_closed_form_on_alinear_gaussian_vae():
    """K = 1: the gradients for the decoder's bias b and the encoder's loc bias are linear in eps, so mean and sd are known.

    d/db_d = sum_i (x_id - W_d z_i - b_d) / s^2 and d/dc = sum_i [W^T (x_i - W z_i - b) / s^2 - z_i] with z_i = loc_i + scale_i eps_i
    (log q at a reparameterised draw does not depend on the loc bias). The estimator divides by the batch size; the SNR does not see it.
    """
    vae = linear_gaussian_vae()
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    s2 = 0.25
    with torch.no_grad():
        loc, scale = (t.double().numpy() for t in vae.encoder(x))
    W, b = vae.decoder.net.weight.detach().double().numpy(), vae.decoder.net.bias.detach().double().numpy()
    xs = x.double().numpy()
    residual = xs - loc @ W.T - b  # (n, 4) at z = loc
    mean_b = residual.sum(0) / s2
    sd_b = np.sqrt(((W**2) @ (scale**2).T).sum(1)) / s2
    M = W.T @ W / s2 + np.eye(2)
    mean_c = (residual @ W / s2 - loc).sum(0)
    sd_c = np.sqrt(((M**2) @ (scale**2).T).sum(1))
    draws = 1000
    grads = iwae_gradients(vae, x, 1, [vae.decoder.net.bias, vae.encoder.loc.bias], draws=draws, seed=5)
    exact = np.concatenate([np.abs(mean_b) / sd_b, np.abs(mean_c) / sd_c])
    estimate = signal_to_noise(grads)
    tolerance = 5 * np.sqrt((1 + exact**2 / 2) / draws)  # the SE of a ratio |mean| / sd from `draws` draws
    assert np.all(np.abs(estimate - exact) < tolerance)
    assert np.allclose(grads.mean * len(x), np.concatenate([mean_b, mean_c]), atol=5 * np.sqrt(grads.variance / draws).max() * len(x))


def test_weights_are_split_into_encoder_and_decoder_and_bad_input_is_named():
    vae = VAE(VAESpec(12, latent_dim=3, hidden_dim=8))
    groups = encoder_and_decoder(vae)
    assert {id(p) for p in groups["decoder"]} == {id(p) for p in vae.decoder.parameters()}
    assert {id(p) for p in groups["encoder"]} == {id(p) for p in vae.encoder.parameters()}
    x = torch.rand(8, 12).bernoulli()
    result = gradient_snr(vae, x, samples=[1, 4], draws=5)
    assert set(result) == {1, 4} and all(np.isfinite(v).all() for r in result.values() for v in r.values())
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        iwae_gradients(vae, x, 0, groups["encoder"])
    with pytest.raises(ValueError, match="draws must be an integer >= 2, got 1"):
        iwae_gradients(vae, x, 1, groups["encoder"], draws=1)


def test_the_median_snrs_bootstrap_error_matches_the_spread_over_fresh_draws():
    """The SE from resampling one set of draws is about the sd of the median SNR over independent sets (a second estimator)."""
    from pp_vae.inference.gradients import PerDrawGradients
    from pp_vae.vae import median_snr

    rng = np.random.default_rng(0)
    true_snr = np.linspace(0.2, 3.0, 400)
    sets = [PerDrawGradients(true_snr + rng.standard_normal((100, 400))) for _ in range(200)]  # sd 1: SNR = |mean|
    medians = np.array([median_snr(g, bootstrap=2)[0] for g in sets])
    value, se = median_snr(sets[0], bootstrap=400, seed=1)
    assert abs(medians.mean() - np.median(true_snr)) < 0.05  # the estimate is near the true median SNR, 1.6
    assert 0.7 < se / medians.std(ddof=1) < 1.4  # and its bootstrap SE is the spread over fresh draws, within bootstrap noise
