"""The encoder's gradient estimators against closed forms: the linear-Gaussian VAE's gradient, and the exact gradient over all codes."""

import numpy as np
import torch

from pp_vae.vae import bit_gradients, build_vae, encoder_gradients


def test_both_estimators_average_to_the_closed_form_gradient_of_a_linear_gaussian_vae():
    """``E_q log N(x; W z + b, s^2)`` with ``q = N(m, diag(v))``.

    d/dm = ``W^T (x - b - W m) / s^2``, d/dlog sd_j = ``-(W^T W)_jj v_j / s^2``.
    """
    torch.manual_seed(0)
    vae = build_vae("vae", 12, latent_dim=3, hidden_dim=8, likelihood="gaussian", sigma=0.5, arch="linear")
    x = torch.rand(6, 12, generator=torch.Generator().manual_seed(1))
    score, pathwise = encoder_gradients(vae, x, draws=4000, seed=2)
    with torch.no_grad():
        loc, scale = vae.encoder(x)
        w, b = vae.decoder.weight, vae.decoder.bias
        d_loc = ((x - b - loc @ w.T) @ w / 0.25).sum(0)
        d_log_scale = (-(w**2).sum(0) * scale**2 / 0.25).sum(0)
    exact = torch.cat([d_loc, d_log_scale]).double().numpy()
    for estimate in (score, pathwise):
        assert np.all(np.abs(estimate.mean - exact) < 5 * estimate.standard_error + 1e-9)
    assert np.all(score.variance > 10 * pathwise.variance)


def test_the_exact_bit_gradient_is_the_finite_difference_and_only_the_score_function_is_unbiased():
    torch.manual_seed(0)
    vae = build_vae("binary", 16, latent_dim=4, hidden_dim=16, likelihood="binomial", trials=4).double()
    x = torch.randint(0, 5, (8, 16), generator=torch.Generator().manual_seed(1)).double() / 4
    score, straight, exact = bit_gradients(vae, x, draws=4000, seed=3)

    def reconstruction():  # sum_z q(z|x) log p(x|z), summed over the images
        return float((vae.exact_elbo(x) + vae.kl_per_dim(x).sum(-1)).sum())

    bias, h = vae.encoder.loc.bias, 1e-5
    numeric = []
    for j in range(4):
        with torch.no_grad():
            bias[j] += h
            up = reconstruction()
            bias[j] -= 2 * h
            down = reconstruction()
            bias[j] += h
        numeric.append((up - down) / (2 * h))
    np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-8)
    assert np.all(np.abs(score.mean - exact) < 5 * score.standard_error)
    assert np.max(np.abs(straight.mean - exact) / straight.standard_error) > 5  # straight-through is biased
    assert score.variance.sum() > 5 * straight.variance.sum()  # and the unbiased estimator pays in noise
