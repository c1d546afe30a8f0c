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
