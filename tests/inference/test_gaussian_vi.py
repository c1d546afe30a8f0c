"""Gaussian VI: mean-field's sqrt(1 - rho^2) and full-rank's exactness on Gaussians, its rules, and kid-IQ's reference."""

import numpy as np
import pytest

from pp_vae.inference import (
    GaussianVI,
    GaussianVIOptions,
    Target,
    against_reference,
    approximate_gaussian_vi,
    fit_gaussian_vi,
    flat_draws,
    info,
    vi_path,
)
from tests.inference.targets import Counted, equicorrelated, gaussian, random_gaussian
from tests.reference import reference

START = np.array([1.5, -2.0])


def _check_moments(fit, mean, covariance, mean_tol, sd_tol, corr_tol=None):
    sd = np.sqrt(np.diag(covariance))
    q_sd = np.sqrt(np.diag(fit.info["covariance"]))
    assert np.max(np.abs(fit.info["mean"] - mean) / sd) < mean_tol
    assert np.max(np.abs(q_sd / sd - 1)) < sd_tol, q_sd / sd
    if corr_tol is not None:
        corr, q_corr = covariance / np.outer(sd, sd), fit.info["covariance"] / np.outer(q_sd, q_sd)
        assert np.max(np.abs(q_corr - corr)) < corr_tol


@pytest.mark.parametrize("init", ["laplace", "initial"])
def test_mean_field_shrinks_a_correlated_gaussians_sds_to_sqrt_one_minus_rho_squared(init):
    rho = 0.9
    target = Counted(gaussian(*equicorrelated(rho)))
    fit = approximate_gaussian_vi(target, START, family="meanfield", init=init, seed=3)
    # the optimum is exactly sd sqrt(1 - rho^2) = 0.436 (of 1): a 56% shrinkage, checked to 5%
    np.testing.assert_allclose(np.sqrt(np.diag(fit.info["covariance"])), np.sqrt(1 - rho**2), rtol=0.05)
    # and mean 0; along the ridge the ELBO is flat (0.003 nats for a 0.1 shift), so SGD stops within 0.2 sd of it
    assert np.all(np.abs(fit.info["mean"]) < 0.2)
    assert np.count_nonzero(fit.info["covariance"] - np.diag(np.diag(fit.info["covariance"]))) == 0
    assert fit.info["converged"] and fit.khat is None and fit.gradient_evaluations == target.calls


@pytest.mark.parametrize("init", ["laplace", "mode"])
@pytest.mark.parametrize("family", ["fullrank", "lowrank"])
@pytest.mark.parametrize("mean, covariance", [equicorrelated(0.99), random_gaussian()], ids=["rho=0.99", "10-D"])
def test_full_rank_and_full_low_rank_are_exact_on_gaussians(family, mean, covariance, init):
    # from Laplace's start (already exact: no step is taken) and from the mode with covariance 0.01 I (the steps find it)
    fit = approximate_gaussian_vi(gaussian(mean, covariance), np.zeros(mean.size), family=family, rank=mean.size, seed=4, init=init)
    assert fit.info["converged"] and fit.info["exact_start"] == (init == "laplace") and (fit.info["steps"] == 0) == (init == "laplace")
    # the convergence rule stops when means move < 0.03 sd and sds < 3% between step sizes
    _check_moments(fit, mean, covariance, mean_tol=0.1, sd_tol=0.05, corr_tol=0.02)
    # normalised target: the ELBO of the optimum is log Z = 0, within the window's Monte Carlo error
    assert abs(np.mean(fit.log_weights)) < 5 * np.std(fit.log_weights) / np.sqrt(fit.log_weights.size) + 0.01


def test_rank_one_is_exact_on_an_equicorrelated_gaussian_and_mean_field_on_an_independent_one():
    mean, covariance = equicorrelated(0.9, 6)  # (1 - rho) I + rho 1 1^T: rank one plus diagonal
    fit = approximate_gaussian_vi(gaussian(mean, covariance), np.ones(6), family="lowrank", rank=1)
    _check_moments(fit, mean, covariance, mean_tol=0.1, sd_tol=0.05, corr_tol=0.03)
    mean, covariance = np.array([1.0, -3.0, 10.0]), np.diag([0.01, 1.0, 100.0])  # scales four orders apart
    fit = approximate_gaussian_vi(gaussian(mean, covariance), np.zeros(3), family="meanfield")
    _check_moments(fit, mean, covariance, mean_tol=0.1, sd_tol=0.05)


def test_stans_relative_elbo_rule_never_fires_on_a_normalised_target_but_the_parameter_rule_does():
    target = gaussian(*equicorrelated(0.9))
    # started at the mode with covariance 0.01 I (Laplace's start would already be exact, and no rule would run)
    stan_rule = approximate_gaussian_vi(target, START, family="fullrank", convergence="elbo", max_steps=2000, draws=100, init="mode")
    # the ELBO tends to log Z = 0, so its *relative* change never gets small: the budget stops it
    assert not stan_rule.info["converged"] and stan_rule.info["steps"] == 2000
    ours = approximate_gaussian_vi(target, START, family="fullrank", max_steps=2000, draws=100, init="mode")
    assert ours.info["converged"] and ours.info["steps"] < 2000  # 700-1025 steps over seeds 0-3


def test_an_exact_laplace_start_takes_no_step_and_an_inexact_one_steps():
    # on a Gaussian, Laplace's full-rank start is the answer: the mode search, 2 d Hessian gradients, the check's 64
    # draws and the 10 returned (densities, counted as gradients where the target has no density alone), no step
    target = Counted(gaussian(*equicorrelated(0.9)))
    exact = approximate_gaussian_vi(target, START, family="fullrank", draws=10, seed=7)
    assert exact.info["exact_start"] and exact.info["steps"] == 0 and exact.elbo.size == 0
    assert exact.gradient_evaluations == target.calls < 200, target.calls
    # mean-field's start on the same Gaussian is its optimum (sd sqrt(1 - 0.81) = 0.44) but not p: it steps
    steps = approximate_gaussian_vi(gaussian(*equicorrelated(0.9)), START, family="meanfield", draws=10, seed=7)
    assert not steps.info["exact_start"] and steps.info["steps"] > 0


@pytest.mark.parametrize("scale", [1.0, 0.1], ids=["Stan's start, sd 1", "Pyro's start, sd 0.1"])
def test_the_path_from_a_start_that_is_not_the_answer_ends_at_the_mean_field_optimum_and_where_one_run_ends(scale):
    rho = 0.9
    make = lambda: GaussianVI(  # noqa: E731
        Target(gaussian(*equicorrelated(rho)), 2), START, np.random.default_rng(5), GaussianVIOptions(init="initial", init_scale=scale)
    )
    path = vi_path(make(), [25, 50, 100, 200, 400, 800, 1600, 10_000])
    assert path[0].steps == 0 and path[0].gradients == 0 and np.allclose(path[0].sd, scale) and np.allclose(path[0].mean, START)
    assert [p.steps for p in path[1:-1]] == [25, 50, 100, 200, 400, 800, 1600][: len(path) - 2] and path[-1].converged
    assert all(b.gradients - a.gradients == 8 * (b.steps - a.steps) for a, b in zip(path, path[1:]))  # 8 draws a step
    np.testing.assert_allclose(path[-1].sd, np.sqrt(1 - rho**2), rtol=0.05)  # from 1 or 0.1 to 0.436
    # resumed at every checkpoint, the run ends where one uninterrupted fit with the same seed ends
    fit = approximate_gaussian_vi(Target(gaussian(*equicorrelated(rho)), 2), START, init="initial", init_scale=scale, seed=5)
    np.testing.assert_allclose(path[-1].sd, np.sqrt(np.diag(fit.info["covariance"])), rtol=1e-12)
    assert path[-1].steps == fit.info["steps"]


def test_a_seed_gives_the_same_fit_and_bad_options_are_named():
    target = gaussian(*equicorrelated(0.5))
    a, b = (approximate_gaussian_vi(target, START, seed=5, draws=50) for _ in range(2))
    assert np.array_equal(a.draws, b.draws)
    with pytest.raises(ValueError, match="family must be one of meanfield, fullrank, lowrank, got 'diagonal'"):
        approximate_gaussian_vi(target, START, family="diagonal")
    with pytest.raises(ValueError, match="rank must be between 1 and the dimension 2, got 3"):
        approximate_gaussian_vi(target, START, family="lowrank", rank=3)


@pytest.mark.slow
def test_kidiq_full_rank_matches_the_reference_and_mean_field_collapses_with_khat_saying_so():
    ref = reference("kidiq-kidscore_momiq")
    full = fit_gaussian_vi(ref["program"], ref["data"], family="fullrank", seed=6, extra_fields="ignore")
    errors = against_reference(full, ref["draws"])
    assert errors.mean_error.abs().max() < 0.2 and errors.sd_ratio.between(0.8, 1.2).all(), errors
    mean_field = fit_gaussian_vi(ref["program"], ref["data"], family="meanfield", seed=6, extra_fields="ignore")
    ratios = against_reference(mean_field, ref["draws"]).sd_ratio
    # the intercept and slope are -0.99 correlated: sqrt(1 - 0.989^2) = 0.15 of their sd; sigma is not correlated
    assert ratios["beta[1]"] == pytest.approx(0.15, abs=0.03) and ratios["beta[2]"] == pytest.approx(0.15, abs=0.03)
    assert ratios["sigma"] == pytest.approx(1.0, abs=0.05)
    assert info(mean_field).khat > 0.7 and info(mean_field).method == "meanfield"


@pytest.mark.slow
def test_through_stan_the_bundled_correlated_gaussian_shrinks_as_the_closed_form_says():
    for rho in (0.0, 0.9):
        draws = flat_draws(fit_gaussian_vi("correlated_gaussian", {"rho": rho}, draws=8000, seed=2))
        for name in ("z[1]", "z[2]"):
            # the fitted sd is within 3% of sqrt(1 - rho^2) (the convergence rule's tolerance); the draws' sd adds
            # a Monte Carlo error of sd / sqrt(2 * 8000) = 0.8%
            assert draws[name].std() == pytest.approx(np.sqrt(1 - rho**2), rel=0.05)
            assert abs(draws[name].mean()) < 0.2


@pytest.mark.parametrize("mean, covariance", [equicorrelated(0.99), random_gaussian(d=4)], ids=["rho=0.99", "4-D"])
def test_importance_weighted_full_rank_recovers_a_gaussians_exact_covariance_from_a_wrong_start(mean, covariance):
    # the IWAE bound's optimum over Gaussians on a Gaussian target is the target itself, for every K (the bound is log Z there);
    # init="mode" starts at the right mean with covariance 0.01 I
    target = Counted(gaussian(mean, covariance))
    fit = approximate_gaussian_vi(target, np.zeros(mean.size), family="fullrank", importance_draws=8, init="mode", seed=4)
    assert fit.info["converged"] and fit.info["importance_draws"] == 8 and fit.gradient_evaluations == target.calls
    # the doubly reparameterised gradient vanishes at q = p, draw by draw: no Monte Carlo jitter is left at the optimum
    np.testing.assert_allclose(fit.info["covariance"], covariance, atol=1e-6 * np.max(np.diag(covariance)))
    np.testing.assert_allclose(fit.info["mean"], mean, atol=1e-6)


def test_importance_weighting_widens_mean_field_and_one_draw_a_term_is_the_elbo():
    target = gaussian(*equicorrelated(0.9))
    plain, one = (approximate_gaussian_vi(target, START, family="meanfield", seed=3, draws=50, **k) for k in ({}, {"importance_draws": 1}))
    assert np.array_equal(plain.draws, one.draws) and np.array_equal(plain.elbo, one.elbo)
    # the ELBO's mean field has sd sqrt(1 - 0.9^2) = 0.44; the K = 32 bound pays for the draws it leaves uncovered
    wide = approximate_gaussian_vi(target, START, family="meanfield", seed=3, importance_draws=32)
    assert np.all(np.sqrt(np.diag(wide.info["covariance"])) > 0.8) and np.all(np.abs(wide.info["mean"]) < 0.3)
    with pytest.raises(ValueError, match="importance_draws"):
        approximate_gaussian_vi(target, START, importance_draws=0)
