"""Distances to a reference posterior, in the reference's sds: checked on shifted and scaled normals."""

import numpy as np
import pytest

from pp_vae.inference import against_reference, from_draws, wasserstein_1d


def test_the_wasserstein_distance_of_a_shift_is_the_shift():
    x = np.random.default_rng(0).normal(size=20000)
    assert wasserstein_1d(x, x + 0.7) == pytest.approx(0.7)
    assert wasserstein_1d(x, x) == 0.0


def test_mean_error_sd_ratio_and_distance_are_in_reference_sds_with_their_monte_carlo_error():
    rng = np.random.default_rng(1)
    reference = {"mu": rng.normal(10.0, 2.0, 10000)}
    ours = rng.normal(11.0, 3.0, 4000)
    result = from_draws({"mu": ours[None]}, method="toy", model="toy", seconds=0.0, gradient_evaluations=None)
    row = against_reference(result, reference).loc["mu"]
    # truth: mean error (11 - 10) / 2 = 0.5 sd, sd ratio 1.5; the estimates within 5 Monte Carlo standard errors
    se = np.sqrt(9 / 4000 + 4 / 10000) / 2
    assert row.mean_error_mcse == pytest.approx(se, rel=0.1)
    assert abs(row.mean_error - 0.5) < 5 * se and abs(row.sd_ratio - 1.5) < 0.05
    # W1 of N(11, 3) and N(10, 2) is E|1 + Z| = 2 Phi(1) - 1 + 2 phi(1) = 1.1666, in units of 2: 0.583
    from scipy import stats

    exact = (2 * stats.norm.cdf(1) - 1 + 2 * stats.norm.pdf(1)) / 2
    assert row.wasserstein == pytest.approx(exact, abs=0.03)
    with pytest.raises(ValueError, match="no draws named 'tau' in both the result and the reference"):
        against_reference(result, reference, names=["tau"])


def test_a_result_as_reference_brings_its_effective_sample_size():
    rng = np.random.default_rng(2)
    # a reference of 4 chains of strongly autocorrelated draws (AR(1), phi = 0.9): about 1/19 of its draws are effective
    chains = np.zeros((4, 2000))
    for t in range(1, 2000):
        chains[:, t] = 0.9 * chains[:, t - 1] + np.sqrt(1 - 0.81) * rng.normal(size=4)
    reference = from_draws({"mu": chains}, method="nuts", model="toy", seconds=0.0, gradient_evaluations=None)
    ours = from_draws({"mu": rng.normal(size=(1, 4000))}, method="toy", model="toy", seconds=0.0, gradient_evaluations=None)
    row = against_reference(ours, reference).loc["mu"]
    independent = against_reference(ours, {"mu": chains.ravel()}).loc["mu"]
    # ESS of the AR(1) draws: 8000 (1 - 0.9) / (1 + 0.9) = 421: the standard errors grow accordingly
    assert row.mean_error_mcse == pytest.approx(np.sqrt(1 / 4000 + 1 / 421), rel=0.25)
    assert row.mean_error_mcse > 2 * independent.mean_error_mcse
    assert row.sd_ratio_mcse == pytest.approx(row.sd_ratio * np.sqrt(1 / 8000 + 1 / 842), rel=0.25)
