"""Rate and distortion: the indeterminacy identity R + D = H(X) by enumeration, Gibbs' bound for any decoder, the collapse reference."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.vae import build_vae, independent_pixel_log_likelihood, rate_and_distortion, tabular_rate_distortion

RNG = np.random.default_rng(8)
P_X = RNG.dirichlet(np.ones(6))
ENTROPY = float(-(P_X * np.log(P_X)).sum())


@pytest.mark.parametrize("concentration", [0.05, 0.5, 5.0, 50.0])
def test_every_encoder_with_its_best_decoder_and_prior_reaches_the_entropy(concentration):
    encoder = RNG.dirichlet(np.full(4, concentration), size=6)
    result = tabular_rate_distortion(P_X, encoder)
    assert result.rate + result.distortion == pytest.approx(ENTROPY, abs=1e-12)
    # the rate is the mutual information I(X; Z), computed here from the joint table
    joint = P_X[:, None] * encoder
    independent = P_X[:, None] * joint.sum(0)[None, :]
    assert result.rate == pytest.approx(float((joint * np.log(joint / independent)).sum()), abs=1e-12)


def test_the_two_extremes_a_perfect_code_and_no_code():
    perfect = tabular_rate_distortion(P_X, np.eye(6))
    silent = tabular_rate_distortion(P_X, np.full((6, 3), 1 / 3))
    assert perfect.rate == pytest.approx(ENTROPY) and perfect.distortion == pytest.approx(0, abs=1e-12)
    assert silent.rate == pytest.approx(0, abs=1e-12) and silent.distortion == pytest.approx(ENTROPY)
    assert silent.elbo == pytest.approx(-ENTROPY)


def test_any_decoder_and_prior_stay_above_the_entropy_and_a_fixed_prior_pays_its_mismatch():
    encoder = RNG.dirichlet(np.ones(4), size=6)
    for _ in range(20):
        decoder = RNG.dirichlet(np.ones(6), size=4).T  # columns p(x | z)
        prior = RNG.dirichlet(np.ones(4))
        result = tabular_rate_distortion(P_X, encoder, decoder, prior)
        assert result.rate + result.distortion >= ENTROPY - 1e-12
    prior = RNG.dirichlet(np.ones(4))
    aggregate = P_X @ encoder
    fixed = tabular_rate_distortion(P_X, encoder, prior=prior)
    assert fixed.rate + fixed.distortion - ENTROPY == pytest.approx(float((aggregate * np.log(aggregate / prior)).sum()), abs=1e-12)


def test_independent_pixel_models_against_scipy_pixel_by_pixel():
    train = RNG.integers(0, 5, size=(40, 3)) / 4
    test = RNG.integers(0, 5, size=(5, 3)) / 4
    counts = np.round(train * 4)
    p = (counts.sum(0) + 0.5) / (40 * 4 + 1)
    expected = sum(stats.binom.logpmf(np.round(test[:, j] * 4), 4, p[j]) for j in range(3))
    np.testing.assert_allclose(independent_pixel_log_likelihood(train, test, 4, "binomial"), expected, rtol=1e-12)
    tables = [(np.bincount(counts[:, j].astype(int), minlength=5) + 0.5) / (40 + 2.5) for j in range(3)]
    expected = sum(np.log(tables[j][np.round(test[:, j] * 4).astype(int)]) for j in range(3))
    np.testing.assert_allclose(independent_pixel_log_likelihood(train, test, 4, "categorical"), expected, rtol=1e-12)


def test_rate_plus_distortion_is_minus_the_elbo_of_a_vae():
    torch.manual_seed(0)
    vae = build_vae("vae", 16, latent_dim=3, hidden_dim=8, likelihood="binomial", trials=4)
    x = torch.randint(0, 5, (20, 16), generator=torch.Generator().manual_seed(1)).float() / 4
    torch.manual_seed(2)
    result, elbo = rate_and_distortion(vae, x, num_samples=50)
    assert result.elbo == pytest.approx(float(elbo.mean()), rel=1e-9)
    assert result.rate == pytest.approx(float(vae.kl_per_dim(x).sum(-1).mean()), rel=1e-5)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: tabular_rate_distortion([0.5, 0.5], [[1.0, 0.0]]),
            r"encoder must be a table with one row q\(z \| x\) per outcome x \(2 rows\)",
        ),
        (lambda: tabular_rate_distortion([0.5, 0.5], [[0.7, 0.7], [1.0, 0.0]]), "encoder row 0 must sum to 1"),
        (lambda: independent_pixel_log_likelihood(np.ones((2, 3)) / 3, np.ones((2, 3)) / 4, 4), r"train must hold grey levels k / 4"),
        (
            lambda: independent_pixel_log_likelihood(np.ones((2, 3)), np.ones((2, 3)), 4, "poisson"),
            "model must be 'binomial' or 'categorical'",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
