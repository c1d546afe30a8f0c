"""Synthetic data: seeded, shaped as Stan reads it, with the simulation's truth kept apart."""

import numpy as np
import pytest

from pp_vae.data import logistic_regression_data, without_truth


def test_synthetic_logistic_data_is_seeded_and_named():
    a, b = logistic_regression_data(200, seed=3), logistic_regression_data(200, seed=3)
    np.testing.assert_array_equal(a["y"], b["y"])
    assert a["X"].shape == (200, 2) and a["K"] == 2
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        logistic_regression_data(0)


def test_the_outcomes_follow_the_stated_coefficients():
    data = logistic_regression_data(20_000, coefficients=[1.0, -2.0], intercept=0.5, seed=1)
    eta = 0.5 + data["X"] @ np.array([1.0, -2.0])
    p = 1 / (1 + np.exp(-eta))
    # the simulated outcomes average to the mean success probability within 5 binomial standard errors
    assert abs(data["y"].mean() - p.mean()) < 5 * np.sqrt(p.mean() * (1 - p.mean()) / p.size)
    assert set(without_truth(data)) == {"N", "K", "X", "y", "prior_sd"}
