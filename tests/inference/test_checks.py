"""Predictive p-values: the exceedance fraction, and an MCSE that matches seed-to-seed spread."""

import numpy as np
import pytest

from pp_vae.inference.checks import predictive_pvalue


def test_pvalue_and_its_mcse_on_independent_draws():
    ps, ses = [], []
    for seed in range(200):
        p, se = predictive_pvalue(np.random.default_rng(seed).normal(size=(4, 250)), 1.0)
        ps.append(p)
        ses.append(se)
    exact = 0.15865525393145707  # P(Z >= 1)
    assert abs(np.mean(ps) - exact) < 5 * np.std(ps) / np.sqrt(len(ps))
    # independent draws: MCSE = sqrt(p (1 - p) / n), and it matches the spread over seeds
    assert np.mean(ses) == pytest.approx(np.sqrt(exact * (1 - exact) / 1000), rel=0.05)
    assert np.mean(ses) == pytest.approx(np.std(ps), rel=0.15)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"shape \(chain, draw\), got \(5,\)"):
        predictive_pvalue(np.zeros(5), 0.0)
    with pytest.raises(ValueError, match="finite statistic"):
        predictive_pvalue(np.zeros((2, 5)), float("nan"))
