"""PSIS-LOO from theta draws: the exact leave-one-out predictive where PSIS is reliable, Pareto k > 0.7 where not."""

import numpy as np
import pytest
from scipy import stats

from pp_vae.bayes.pooling import complete_pooling, exact_loo_complete_pooling, exact_loo_no_pooling, no_pooling
from pp_vae.inference.loo import grouped_loo_data, pointwise_log_likelihood, pooling_loo

Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
SEEDS = range(10)


def _loos(seed, no_pooling_sd):
    rng = np.random.default_rng(seed)
    common = complete_pooling(Y, SIGMA, prior_sd=5.0).rvs(size=(4, 1000, 1), random_state=rng)
    separate = no_pooling(Y, SIGMA, prior_sd=no_pooling_sd).rvs(size=(4, 1000, 8), random_state=rng)
    fits = {"complete": grouped_loo_data(np.repeat(common, 8, axis=-1), Y, SIGMA), "none": grouped_loo_data(separate, Y, SIGMA)}
    return pooling_loo(fits)


def test_pointwise_log_likelihood_is_the_normal_density():
    theta = np.random.default_rng(0).normal(size=(2, 3, 8))
    np.testing.assert_allclose(pointwise_log_likelihood(theta, Y, SIGMA), stats.norm.logpdf(Y, theta, SIGMA))
    with pytest.raises(ValueError, match=r"theta must have shape \(chain, draw, 8\), got \(3, 8\)"):
        pointwise_log_likelihood(theta[0], Y, SIGMA)


def test_complete_pooling_psis_matches_the_exact_leave_one_out_predictive():
    exact = exact_loo_complete_pooling(Y, SIGMA, prior_sd=5.0)
    errors, khat = [], []
    for seed in SEEDS:
        loo = _loos(seed, 100.0)[0]["complete"]
        errors.append(loo.elpd - exact.sum())
        khat.append(loo.pareto_k.values)
    se = np.std(errors, ddof=1) / np.sqrt(len(errors))
    assert abs(np.mean(errors)) < 5 * se and np.max(np.abs(errors)) < 0.05  # measured: -0.002 +- 0.004, worst 0.023
    assert np.max(khat) < 0.5


def test_no_pooling_under_a_wide_prior_is_where_psis_fails_and_k_says_so():
    # leaving a school out leaves its theta with only the N(0, 100) prior: the exact score is far below PSIS's
    exact = exact_loo_no_pooling(Y, SIGMA, prior_sd=100.0).sum()
    runs = [_loos(seed, 100.0)[0]["none"] for seed in SEEDS]
    bias = np.array([loo.elpd - exact for loo in runs])
    assert bias.mean() > 5.0 and bias.mean() > 5 * bias.std(ddof=1) / np.sqrt(bias.size)  # measured 8.20 +- 0.08
    assert np.mean([loo.pareto_k.values for loo in runs], axis=0).min() > 0.7


def test_compare_ranks_by_elpd_and_reports_the_difference():
    loos, table = _loos(0, 20.0)
    assert list(table.index) == ["complete", "none"]
    assert table.loc["none", "elpd_diff"] == pytest.approx(loos["none"].elpd - loos["complete"].elpd, abs=1e-9)
    with pytest.raises(ValueError, match="at least two"):
        pooling_loo({"complete": None})
