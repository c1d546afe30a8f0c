"""ELBO surgery against closed forms (one image, identical or far-apart encoders), 1-D quadrature, and the identity."""

import math
from dataclasses import astuple

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from pp_vae.vae import build_vae
from pp_vae.vae.surgery import component_log_densities, elbo_surgery, elbo_surgery_of


def test_component_log_densities_are_scipys_diagonal_normals():
    rng = np.random.default_rng(0)
    loc, scale, z = rng.normal(size=(4, 3)), rng.uniform(0.2, 2, size=(4, 3)), rng.normal(size=(5, 3)) * 2
    got = component_log_densities(*(torch.as_tensor(a) for a in (z, loc, scale))).numpy()
    expected = np.array([[stats.norm(loc[n], scale[n]).logpdf(z[m]).sum() for n in range(4)] for m in range(5)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_one_image_has_no_information_and_its_kl_is_the_marginal_kl():
    """N = 1: ``q(z) = q(z | x_1)``, so ``I = 0`` draw by draw and the marginal KL is the one image's KL."""
    loc, scale = torch.tensor([[0.7, -1.2, 0.1]]), torch.tensor([[0.5, 1.5, 0.2]])
    exact = torch.distributions.kl_divergence(torch.distributions.Normal(loc, scale), torch.distributions.Normal(0.0, 1.0)).sum()
    cut = elbo_surgery(loc, scale, draws_per_image=20_000, seed=1)
    assert cut.average_kl == pytest.approx(float(exact), rel=1e-6)
    assert abs(cut.mutual_information) < 1e-12 and cut.mutual_information_se < 1e-12
    assert abs(cut.marginal_kl - float(exact)) < 5 * cut.marginal_kl_se
    assert cut.marginal_kl_se < 0.02  # the check above has teeth: the KL is 2.02 nats


def test_identical_encoders_carry_no_information():
    loc, scale = torch.tensor([[1.0, -0.5]]).repeat(6, 1), torch.tensor([[0.3, 0.8]]).repeat(6, 1)
    cut = elbo_surgery(loc, scale, draws_per_image=50)
    assert abs(cut.mutual_information) < 1e-12
    assert abs(cut.marginal_kl - cut.average_kl) < 5 * cut.marginal_kl_se


def test_far_apart_encoders_name_their_image_and_information_reaches_log_n():
    """Components 50 sds apart: each code says which image it came from, ``I = log N``; the rest of the KL is the marginal's."""
    n = 8
    loc = torch.stack([torch.arange(n) * 50.0, torch.zeros(n)], 1)
    cut = elbo_surgery(loc, torch.ones(n, 2), draws_per_image=10)
    assert cut.mutual_information == pytest.approx(math.log(n), abs=1e-9)
    assert abs(cut.identity_residual) < 5 * cut.total_se


def quadrature_truth(loc, scale):
    """``I`` and ``KL(q(z) || N(0, 1))`` of a 1-D mixture of Gaussians by numerical integration."""
    components = [stats.norm(m, s) for m, s in zip(loc, scale)]

    def log_aggregate(z):
        return np.logaddexp.reduce([c.logpdf(z) for c in components]) - np.log(len(components))

    def integral(f):
        return integrate.quad(f, -30, 30, points=list(loc), limit=500, epsabs=1e-12)[0]

    information = np.mean([integral(lambda z, c=c: c.pdf(z) * (c.logpdf(z) - log_aggregate(z))) for c in components])
    marginal = integral(lambda z: np.exp(log_aggregate(z)) * (log_aggregate(z) - stats.norm.logpdf(z)))
    return information, marginal


LOC_1D, SCALE_1D = np.array([-1.0, 0.4, 2.0]), np.array([0.5, 1.0, 0.3])


def test_one_dimension_against_quadrature():
    information, marginal = quadrature_truth(LOC_1D, SCALE_1D)
    cut = elbo_surgery(LOC_1D[:, None], SCALE_1D[:, None], draws_per_image=20_000, seed=3)
    assert information + marginal == pytest.approx(cut.average_kl, abs=1e-8)  # the identity, by quadrature
    assert abs(cut.mutual_information - information) < 5 * cut.mutual_information_se
    assert abs(cut.marginal_kl - marginal) < 5 * cut.marginal_kl_se
    assert cut.mutual_information_se < 0.01 and 0.5 < information < math.log(3)


def test_standard_errors_match_the_spread_over_seeds():
    """Across 40 seeds, ``(estimate - quadrature) / SE`` has mean square near 1 (chi-square(40) / 40: 0.5 to 1.7 here)."""
    information, marginal = quadrature_truth(LOC_1D, SCALE_1D)
    cuts = [elbo_surgery(LOC_1D[:, None], SCALE_1D[:, None], draws_per_image=50, seed=s) for s in range(40)]
    for truth, values, ses in (
        (information, [c.mutual_information for c in cuts], [c.mutual_information_se for c in cuts]),
        (marginal, [c.marginal_kl for c in cuts], [c.marginal_kl_se for c in cuts]),
    ):
        z = (np.array(values) - truth) / np.array(ses)
        assert 0.5 < np.mean(z**2) < 1.7


def test_identity_and_log_n_bound_in_many_dimensions():
    rng = np.random.default_rng(5)
    loc, scale = rng.normal(size=(60, 5)) * 1.5, rng.uniform(0.1, 1.0, size=(60, 5))
    cut = elbo_surgery(loc, scale, draws_per_image=20, seed=2)
    assert abs(cut.identity_residual) < 5 * cut.total_se
    assert 0 < cut.mutual_information <= cut.log_n  # every draw's term is at most log N
    assert cut.marginal_kl > 5 * cut.marginal_kl_se


def test_a_vae_is_cut_from_its_own_encoder():
    torch.manual_seed(0)
    vae = build_vae("vae", 12, latent_dim=3, hidden_dim=8)
    x = torch.rand(30, 12)
    cut = elbo_surgery_of(vae, x, draws_per_image=4)
    assert cut.average_kl == pytest.approx(float(vae.kl_per_dim(x).sum(-1).mean()), rel=1e-5)
    assert cut.images == 30 and abs(cut.identity_residual) < 5 * cut.total_se
    with pytest.raises(ValueError, match="needs a diagonal Gaussian q\\(z | x\\) and a N\\(0, I\\) prior \\(kind 'vae'\\), got kind 'iaf'"):
        elbo_surgery_of(build_vae("iaf", 12, latent_dim=3, hidden_dim=8), x)


@pytest.mark.parametrize(
    "loc, scale, draws, message",
    [
        (np.zeros(3), np.ones(3), 2, r"loc must be a 2-D array of images \(rows\) by latent dimensions, got shape \(3,\)"),
        (np.zeros((3, 2)), np.ones((3, 1)), 2, r"scale must have loc's shape \(3, 2\), got \(3, 1\)"),
        (np.zeros((3, 2)), np.array([[1, 1], [1, 0], [1, 1.0]]), 2, "scale must be positive and finite, got 0.0 in image 1, dimension 1"),
        (np.full((3, 2), np.nan), np.ones((3, 2)), 2, "loc must be finite, got nan"),
        (np.zeros((3, 2)), np.ones((3, 2)), 1, "draws_per_image must be an integer >= 2, got 1"),
    ],
)
def test_bad_input_is_named(loc, scale, draws, message):
    with pytest.raises(ValueError, match=message):
        elbo_surgery(loc, scale, draws_per_image=draws)


def test_chunking_does_not_change_the_estimate(monkeypatch):
    from pp_vae.vae import surgery

    rng = np.random.default_rng(6)
    loc, scale = rng.normal(size=(30, 3)), rng.uniform(0.3, 1.0, size=(30, 3))
    whole = elbo_surgery(loc, scale, draws_per_image=5, seed=4)
    monkeypatch.setattr(surgery, "CHUNK_ELEMENTS", 100)  # three codes at a time
    np.testing.assert_allclose(astuple(elbo_surgery(loc, scale, draws_per_image=5, seed=4)), astuple(whole), rtol=1e-12)
