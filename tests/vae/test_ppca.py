"""Probabilistic PCA against textbook Gaussian algebra (scipy), EM against the closed form, and the linear VAE against both."""

import numpy as np
import pytest
import torch
from scipy import linalg, stats
from scipy.stats import special_ortho_group

from pp_vae.vae import (
    TrainConfig,
    build_vae,
    fit_ppca,
    fit_ppca_em,
    importance_log_evidence,
    linear_gaussian_of,
    principal_angles,
    train,
)
from pp_vae.vae.ppca import LinearGaussian

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def small():
    """300 draws from a 12-pixel, 3-factor PPCA with unequal factor scales, and the model that made them."""
    truth = LinearGaussian(RNG.normal(size=(12, 3)) * [3.0, 2.0, 1.0], RNG.normal(size=12), 0.25)
    x, _ = truth.sample(300, seed=1)
    return truth, x


def test_log_marginal_is_the_multivariate_normal_of_the_evidence(small):
    truth, x = small
    expected = stats.multivariate_normal(truth.mean, truth.weight @ truth.weight.T + 0.25 * np.eye(12)).logpdf(x)
    np.testing.assert_allclose(truth.log_marginal(x), expected, rtol=1e-10)


def test_posterior_is_gaussian_conditioning_of_the_joint(small):
    """``p(z | x)`` from the joint ``[z, x] ~ N([0, mu], [[I, W^T], [W, C]])``.

    Mean ``W^T C^-1 (x - mu)``, covariance ``I - W^T C^-1 W``.
    """
    truth, x = small
    c_inv = linalg.inv(truth.covariance())
    post = truth.posterior(x[:5])
    np.testing.assert_allclose(post.mean, (x[:5] - truth.mean) @ c_inv @ truth.weight, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(post.covariance, np.eye(3) - truth.weight.T @ c_inv @ truth.weight, rtol=1e-8, atol=1e-12)


def test_the_elbo_both_ways_and_by_monte_carlo(small):
    """``log p(x) - KL(q || p(z|x))`` = reconstruction - ``KL(q || p(z))`` = ``E_q[log p(x,z) - log q]`` (Monte Carlo within 5 SE)."""
    truth, x = small
    x = x[:4]
    q_mean = RNG.normal(size=(4, 3))
    root = RNG.normal(size=(3, 3)) * 0.3 + np.eye(3) * 0.5
    q_cov = root @ root.T
    closed = truth.elbo(x, q_mean, q_cov)
    np.testing.assert_allclose(closed, truth.log_marginal(x) - truth.posterior_kl(x, q_mean, q_cov), rtol=1e-10)
    z = q_mean + RNG.standard_normal((20_000, 4, 3)) @ linalg.cholesky(q_cov, lower=True).T
    log_q = stats.multivariate_normal(np.zeros(3), q_cov).logpdf((z - q_mean).reshape(-1, 3)).reshape(20_000, 4)
    terms = truth.log_joint(x, z) - log_q
    assert np.all(np.abs(terms.mean(0) - closed) < 5 * terms.std(0) / np.sqrt(20_000))
    assert np.all(truth.posterior_kl(x, q_mean, q_cov) > 0)
    post = truth.posterior(x)
    np.testing.assert_allclose(truth.elbo(x, post.mean, post.covariance), truth.log_marginal(x), rtol=1e-10)


def test_closed_form_is_the_maximum_and_em_climbs_to_it(small):
    _, x = small
    ml = fit_ppca(x, 3)
    best = ml.log_marginal(x).mean()
    for scale in (0.9, 1.1):
        assert LinearGaussian(ml.weight * scale, ml.mean, ml.noise_variance).log_marginal(x).mean() < best
        assert LinearGaussian(ml.weight, ml.mean, ml.noise_variance * scale).log_marginal(x).mean() < best
    em = fit_ppca_em(x, 3, iterations=3000, seed=2)
    assert np.all(np.diff(em.log_likelihood) > -1e-10)  # EM never lowers the likelihood
    assert em.log_likelihood[-1] == pytest.approx(best, abs=1e-8)
    assert principal_angles(em.model.weight, ml.weight).max() < 1e-4
    assert em.model.noise_variance == pytest.approx(ml.noise_variance, rel=1e-6)


def test_a_rotation_keeps_the_evidence_and_costs_the_meanfield_posterior(small):
    _, x = small
    ml = fit_ppca(x, 3)
    rotated = ml.rotated(special_ortho_group.rvs(3, random_state=4))
    np.testing.assert_allclose(rotated.log_marginal(x), ml.log_marginal(x), rtol=1e-10)
    for model, expect_gap in ((ml, False), (rotated, True)):
        mf = model.meanfield_posterior(x[:10])
        gap = model.posterior_kl(x[:10], mf.mean, mf.covariance)
        assert (gap > 1e-3).all() if expect_gap else np.allclose(gap, 0, atol=1e-10)


def test_importance_sampling_from_the_posterior_is_exact_and_from_the_prior_is_biased_low():
    model = fit_ppca(RNG.normal(size=(400, 16)) @ RNG.normal(size=(16, 16)), 8)
    x, _ = model.sample(20, seed=3)
    truth = model.log_marginal(x)
    exact_proposal = importance_log_evidence(model, x, model.posterior(x), num_samples=5, seed=0)
    np.testing.assert_allclose(exact_proposal, truth, rtol=1e-9)  # the posterior is the zero-variance proposal
    naive = np.array([importance_log_evidence(model, x, None, num_samples=200, seed=s) for s in range(20)]) - truth
    assert naive.mean() < -5 * naive.std(ddof=1) / np.sqrt(naive.size)  # Jensen: biased low, far beyond its noise


def test_linear_vae_is_a_linear_gaussian_model():
    torch.manual_seed(0)
    vae = build_vae("vae", 12, latent_dim=3, hidden_dim=8, likelihood="gaussian", sigma=0.3, arch="linear")
    model = linear_gaussian_of(vae)
    x, z = torch.rand(5, 12), torch.randn(2, 5, 3)
    np.testing.assert_allclose(model.log_joint(x.numpy(), z.double().numpy()), vae.log_joint(x, z).detach().numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="only a one-layer VAE with arch='linear'"):
        linear_gaussian_of(build_vae("vae", 12, latent_dim=3, hidden_dim=8, likelihood="gaussian"))


@pytest.mark.slow
def test_svi_on_the_linear_vae_approaches_the_ppca_optimum(digits):
    """Full-batch SVI on a linear Gaussian VAE: its own exact log p(x) nears PPCA's maximum and its ELBO nears its log p(x).

    Measured (600 epochs, lr 0.01): log p(x) 17.35 against the maximum 17.39 nats/image, exact gap log p(x) - ELBO 0.20.
    """
    vae, _ = train(
        digits,
        TrainConfig(epochs=600, batch_size=2048, lr=1e-2, latent_dim=10, arch="linear", likelihood="gaussian", sigma="optimal"),
        device="cpu",
        progress=False,
    )
    x = digits.train.numpy()
    ml, model = fit_ppca(x, 10), linear_gaussian_of(vae)
    with torch.no_grad():
        loc, scale = vae.encoder(digits.train)
    covariance = np.apply_along_axis(np.diag, 1, scale.double().numpy() ** 2)
    log_p, elbo = model.log_marginal(x), model.elbo(x, loc.double().numpy(), covariance)
    assert ml.log_marginal(x).mean() - log_p.mean() < 0.15
    assert 0 < (log_p - elbo).mean() < 0.4
    assert np.degrees(principal_angles(model.weight, ml.weight)).max() < 10


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fit_ppca(np.ones(5), 2), r"x must be a 2-D array of images \(rows\) by pixels, got shape \(5,\)"),
        (lambda: fit_ppca(np.ones((5, 4)), 4), "latent_dim must be smaller than the 4 pixels per image, got 4"),
        (lambda: fit_ppca(np.full((5, 4), np.nan), 2), "x must be finite, got nan in image 0, pixel 0"),
        (lambda: fit_ppca_em(np.ones((5, 4)), 2, iterations=0), "iterations must be an integer >= 1, got 0"),
        (lambda: fit_ppca(np.eye(6), 2).log_marginal(np.ones((2, 5))), "x has 5 pixels per image, but the model has 6"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
