"""Complete and no pooling in closed form: against BDA's pooled estimate, lecture 1's sequential update and quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from pp_vae.bayes import NormalKnownVariance
from pp_vae.bayes.pooling import complete_pooling, exact_loo_complete_pooling, exact_loo_no_pooling, no_pooling

Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def test_flat_complete_pooling_is_bdas_pooled_estimate():
    # BDA3 section 5.5: the precision-weighted mean 7.7 with posterior variance 16.6
    post = complete_pooling(Y, SIGMA)
    w = 1 / np.array(SIGMA) ** 2
    assert post.mean() == pytest.approx(np.sum(w * Y) / np.sum(w), rel=1e-12)
    assert post.mean() == pytest.approx(7.69, abs=0.005) and post.var() == pytest.approx(16.58, abs=0.005)


def test_complete_pooling_with_a_prior_is_lecture_1s_update_one_school_at_a_time():
    mean, sd = 0.0, 5.0
    for y, s in zip(Y, SIGMA):
        step = NormalKnownVariance(prior_mean=mean, prior_sd=sd, noise_sd=s).posterior([y])
        mean, sd = step.mean(), step.std()
    post = complete_pooling(Y, SIGMA, prior_mean=0.0, prior_sd=5.0)
    assert post.mean() == pytest.approx(mean, rel=1e-10) and post.std() == pytest.approx(sd, rel=1e-10)


def test_no_pooling_is_one_update_per_school():
    post = no_pooling(Y, SIGMA, prior_mean=1.0, prior_sd=20.0)
    for j, (y, s) in enumerate(zip(Y, SIGMA)):
        one = NormalKnownVariance(prior_mean=1.0, prior_sd=20.0, noise_sd=s).posterior([y])
        assert post.mean()[j] == pytest.approx(one.mean(), rel=1e-10) and post.std()[j] == pytest.approx(one.std(), rel=1e-10)
    flat = no_pooling(Y, SIGMA)
    np.testing.assert_allclose(flat.mean(), Y) and np.testing.assert_allclose(flat.std(), SIGMA)


@pytest.mark.parametrize("prior_sd", [5.0, math.inf])
def test_exact_loo_of_complete_pooling_is_the_integral_over_the_other_schools_posterior(prior_sd):
    loo = exact_loo_complete_pooling(Y, SIGMA, prior_sd=prior_sd)
    for j in range(len(Y)):
        rest = complete_pooling(np.delete(Y, j), np.delete(SIGMA, j), prior_sd=prior_sd)
        value, _ = integrate.quad(lambda m, j=j, rest=rest: stats.norm.pdf(Y[j], m, SIGMA[j]) * rest.pdf(m), -200, 200, epsabs=1e-14)
        assert loo[j] == pytest.approx(math.log(value), abs=1e-7)


def test_exact_loo_of_no_pooling_is_the_prior_predictive():
    loo = exact_loo_no_pooling(Y, SIGMA, prior_mean=2.0, prior_sd=20.0)
    for j in range(len(Y)):
        value, _ = integrate.quad(lambda t, j=j: stats.norm.pdf(Y[j], t, SIGMA[j]) * stats.norm.pdf(t, 2.0, 20.0), -300, 300)
        assert loo[j] == pytest.approx(math.log(value), abs=1e-7)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        complete_pooling([1.0, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="sigma must be positive, got -1.0 at index 1"):
        no_pooling([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="prior_sd must be positive"):
        complete_pooling(Y, SIGMA, prior_sd=0.0)
    with pytest.raises(ValueError, match="improper leave-one-out predictive"):
        exact_loo_no_pooling(Y, SIGMA, prior_sd=math.inf)
    with pytest.raises(ValueError, match="at least two groups"):
        exact_loo_complete_pooling([1.0], [1.0])
