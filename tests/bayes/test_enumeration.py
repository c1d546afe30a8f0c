"""Exact coin predictive p-values: the beta-binomial for heads, a brute-force simulation for switches."""

import numpy as np
import pytest
from scipy import stats

from pp_vae.bayes.enumeration import coin_predictive_pvalue, switches

FLIPS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]


def test_heads_pvalue_is_the_beta_binomial_tail():
    p = coin_predictive_pvalue(2.0, 2.0, FLIPS, lambda s: s.sum(axis=-1))
    assert p == pytest.approx(stats.betabinom(10, 9, 5).sf(6), rel=1e-12)  # P(heads_rep >= 7)


def test_switches_pvalue_matches_simulation_from_the_posterior():
    rng = np.random.default_rng(0)
    theta = rng.beta(9, 5, size=400_000)
    reps = (rng.random((theta.size, 10)) < theta[:, None]).astype(int)
    hits = switches(reps) >= switches(np.array(FLIPS))
    exact = coin_predictive_pvalue(2.0, 2.0, FLIPS, switches)
    assert abs(hits.mean() - exact) < 5 * hits.std() / np.sqrt(hits.size)
    assert switches(np.array([[0, 0, 1, 0], [1, 1, 1, 1]])).tolist() == [2, 0]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="1 to 20 outcomes"):
        coin_predictive_pvalue(1.0, 1.0, [0] * 21, switches)
    with pytest.raises(ValueError, match="alpha must be positive"):
        coin_predictive_pvalue(0.0, 1.0, FLIPS, switches)
