"""The score-function and reparameterisation gradient estimators against their closed forms on f(z) = z^2."""

import numpy as np
import pytest

from pp_vae.inference import reparameterised_gradients, score_function_gradients

LOC, SCALE = 0.7, 0.5


def test_both_estimators_are_unbiased_for_the_known_gradient():
    # E[z^2] = loc^2 + scale^2: d/dloc = 2 loc, d/dlog scale = 2 scale^2
    truth = np.array([2 * LOC, 2 * SCALE**2])
    for estimator in (score_function_gradients, reparameterised_gradients):
        g = estimator(lambda z: z**2, LOC, SCALE, draws=200_000, seed=1)
        assert np.all(np.abs(g.mean - truth) < 5 * g.standard_error), (estimator.__name__, g.mean, g.standard_error)


def test_their_variances_are_the_closed_forms():
    # per draw, for loc: reparameterised 2 z has variance 4 scale^2; the score function z^2 (z - loc) / scale^2 has
    # variance loc^4 / scale^2 + 14 loc^2 + 15 scale^2 (moments of the standard normal up to the sixth)
    reparameterised = reparameterised_gradients(lambda z: z**2, LOC, SCALE, draws=200_000, seed=2)
    score = score_function_gradients(lambda z: z**2, LOC, SCALE, draws=200_000, seed=2)
    assert reparameterised.variance[0] == pytest.approx(4 * SCALE**2, abs=5 * reparameterised.variance_standard_error[0])
    expected = LOC**4 / SCALE**2 + 14 * LOC**2 + 15 * SCALE**2
    assert score.variance[0] == pytest.approx(expected, abs=5 * score.variance_standard_error[0])
    assert score.variance[0] / reparameterised.variance[0] > 10


def test_the_same_seed_gives_the_same_draws():
    a = score_function_gradients(lambda z: z, 0.0, 1.0, draws=100, seed=3)
    b = score_function_gradients(lambda z: z, 0.0, 1.0, draws=100, seed=3)
    np.testing.assert_array_equal(a.values, b.values)


def test_the_summed_variance_ratio_and_its_bootstrap_error_match_the_truth_and_the_spread_over_replications():
    from pp_vae.inference import PerDrawGradients, summed_variance_ratio

    def pair(seed):  # numerator's columns have sd 3 and 4 (summed variance 25), the denominator's 1 and 2 (5): ratio 5
        rng = np.random.default_rng(seed)
        eps = rng.standard_normal((500, 2))
        return PerDrawGradients(eps * [3.0, 4.0] + rng.standard_normal((500, 2))), PerDrawGradients(eps * [1.0, 2.0])

    numerator, denominator = pair(0)
    ratio, se = summed_variance_ratio(numerator, denominator, resamples=400, seed=1)
    truth = (9 + 16 + 2) / 5  # the numerator's columns also carry unit noise of their own
    assert abs(ratio - truth) < 5 * se
    spread = np.std([summed_variance_ratio(*pair(seed), resamples=2)[0] for seed in range(1, 301)], ddof=1)
    assert 0.7 < se / spread < 1.4, (se, spread)  # the bootstrap error is the ratio's spread over independent replications
    with pytest.raises(ValueError, match="must share their draws: 500 against 499"):
        summed_variance_ratio(numerator, PerDrawGradients(denominator.values[:499]))
