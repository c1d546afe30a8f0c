"""Pathfinder: exact on a Gaussian from one path, its blind spot, multi-path's PSIS repair, and kid-IQ's reference."""

import numpy as np
import pytest

from pp_vae.inference import (
    against_reference,
    approximate_multipath_pathfinder,
    approximate_pathfinder,
    fit_pathfinder,
    info,
    pareto_khat,
)
from tests.inference.targets import Counted, equicorrelated, gaussian, random_gaussian
from tests.reference import reference


def test_one_path_finds_a_2d_gaussian_exactly_and_counts_every_call():
    mean, covariance = equicorrelated(0.99)
    gradients, densities = Counted(gaussian(mean, covariance)), Counted(lambda u: gaussian(mean, covariance)(u)[0])
    fit = approximate_pathfinder(gradients, np.array([1.5, -2.0]), draws=2000, logp=densities, seed=1)
    # in 2-D the L-BFGS history holds the whole inverse Hessian: the chosen Gaussian is the target
    np.testing.assert_allclose(fit.info["mean"], mean, atol=1e-3)
    np.testing.assert_allclose(fit.info["covariance"], covariance, atol=2e-3)
    # gradients: L-BFGS alone; densities: 5 ELBO draws per iteration and the 2000 draws
    assert fit.gradient_evaluations == gradients.calls and fit.density_evaluations == densities.calls
    assert densities.calls == 5 * fit.info["iterations"] + 2000
    assert fit.elbo.size == fit.info["iterations"] and np.isfinite(fit.elbo[fit.info["best_iteration"] - 1])


def test_a_path_along_an_eigenvector_never_sees_the_correlation():
    """From a start on the ridge the gradients all point along it: the cross-ridge curvature is never seen."""
    fit = approximate_pathfinder(gaussian(*equicorrelated(0.99)), np.array([0.5, 0.5]), draws=2000)
    assert np.max(np.abs(fit.info["mean"])) < 1e-6
    assert abs(np.corrcoef(fit.draws.T)[0, 1]) < 0.1  # the truth is 0.99


def test_multipath_psis_repairs_a_10d_gaussian_one_path_gets_roughly():
    mean, covariance = random_gaussian(10)
    sd = np.sqrt(np.diag(covariance))
    one = approximate_pathfinder(gaussian(mean, covariance), np.zeros(10), draws=4000, seed=2)
    many = approximate_multipath_pathfinder(gaussian(mean, covariance), 10, paths=4, draws=4000, seed=2)
    # one path: history 6 < d = 10, so the covariance is right only on the last 6 steps' span
    one_ratio = np.sqrt(np.diag(one.info["covariance"])) / sd
    assert np.max(np.abs(one_ratio - 1)) > 0.1
    # four paths, PSIS-resampled: every sd within 5% and mean within 0.1 sd (Monte Carlo error of the
    # resample: about 1/sqrt(ESS) ~ 0.03 sd for the mean and 0.02 for the sd)
    assert many.khat < 0.5 and many.info["psis_resampled"] and many.info["paths"] == 4
    assert np.max(np.abs(many.mean() - mean) / sd) < 0.1
    assert np.max(np.abs(many.sd() / sd - 1)) < 0.05


def test_without_resampling_the_pool_is_a_plain_sample_of_the_normalised_mixture():
    mean, covariance = equicorrelated(0.9, 3)
    pool = approximate_multipath_pathfinder(gaussian(mean, covariance), 3, paths=2, draws=2000, resample=False, seed=3)
    assert pool.draws.shape == (4000, 3) and pool.khat is None and not pool.info["psis_resampled"]
    # log_q is the mixture's normalised density at draws from it, and the target is normalised: E_q[p/q] = Z = 1
    weights = np.exp(pool.log_weights)
    assert abs(weights.mean() - 1) < 5 * weights.std() / np.sqrt(weights.size)
    assert np.isfinite(pareto_khat(pool.log_weights))


@pytest.mark.slow
def test_kidiq_multipath_against_the_reference():
    ref = reference("kidiq-kidscore_momiq")
    fit = fit_pathfinder(ref["program"], ref["data"], seed=4, extra_fields="ignore")
    errors = against_reference(fit, ref["draws"])
    assert errors.mean_error.abs().max() < 0.2 and errors.sd_ratio.between(0.8, 1.2).all(), errors
    meta = info(fit)
    assert meta.method == "pathfinder" and meta.draws == 4000 and meta.psis_resampled
    assert meta.gradient_evaluations < 1000  # NUTS: about 260,000 leapfrog steps here (benchmarks/RESULTS.md)
