"""The ladder's common interface: counted targets, and any Stan program's constrained types through the one result type."""

import numpy as np
import pytest

from pp_vae.inference import Target, fit_laplace, flat_draws, info
from pp_vae.inference.approximation import as_initial
from tests.stan.test_density import CONSTRAINED_TYPES


def test_a_target_counts_gradients_and_densities_apart_and_reports_failures_alike():
    calls = []
    target = Target(lambda u: (calls.append(u) or float(-u @ u), -2 * u), 2, logp=lambda u: float(-u @ u))
    assert target(np.ones(2))[0] == -2.0 and target.log_prob(np.ones(2)) == -2.0
    target.batch(np.zeros((3, 2)))
    assert (target.gradient_evaluations, target.density_evaluations, len(calls)) == (4, 1, 4)
    broken = Target(lambda u: (np.nan, np.zeros(2)), 2)
    value, gradient = broken(np.zeros(2))
    assert value == -np.inf and np.all(np.isnan(gradient)) and broken.log_prob(np.zeros(2)) == -np.inf
    with pytest.raises(ValueError, match="initial must have 3 entries, got 2"):
        as_initial([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="initial must be finite"):
        as_initial([1.0, np.inf])


def test_rows_served_in_one_call_are_counted_and_cleaned_as_single_calls_are():
    def rows(points):  # the second row's gradient is broken: the row must come back as a failure
        gradients = -2 * points
        gradients[1, 0] = np.nan
        return -(points**2).sum(axis=1), gradients

    target = Target(lambda u: (float(-u @ u), -2 * u), 2, grad_rows=rows, logp_rows=lambda p: np.array([-1.0, np.nan]))
    values, gradients = target.batch(np.ones((2, 2)))
    assert values[0] == -2.0 and values[1] == -np.inf and np.all(np.isnan(gradients[1])) and np.all(gradients[0] == -2.0)
    np.testing.assert_array_equal(target.log_probs(np.ones((2, 2))), [-1.0, -np.inf])
    assert (target.gradient_evaluations, target.density_evaluations) == (2, 2)


@pytest.mark.slow
def test_every_constrained_type_comes_back_constrained_under_stans_names():
    fit = fit_laplace(CONSTRAINED_TYPES, {}, draws=500, seed=1)
    draws = flat_draws(fit)
    s = np.stack([draws[f"s[{i}]"] for i in (1, 2, 3)])
    np.testing.assert_allclose(s.sum(axis=0), 1.0)  # simplex[3] from 2 unconstrained numbers
    assert np.all(s > 0) and np.all(draws["m[1]"] < draws["m[2]"]) and np.all(draws["m[1]"] > 0)  # positive_ordered
    np.testing.assert_allclose(draws["total"], draws["m[1]"] + draws["m[2]"])  # transformed parameters included
    L = np.moveaxis(np.array([[draws[f"L[{i},{j}]"][0] for j in (1, 2, 3)] for i in (1, 2, 3)]), -1, 0)
    np.testing.assert_allclose(np.sum(L**2, axis=2), 1.0)  # cholesky_factor_corr: rows of unit length
    assert np.all(np.triu(L, 1) == 0)
    S = np.moveaxis(np.array([[draws[f"S[{i},{j}]"][0] for j in (1, 2)] for i in (1, 2)]), -1, 0)
    assert np.all(np.linalg.eigvalsh(S) > 0) and np.all(draws["tau"] > 0)  # cov_matrix, real<lower=0>
    meta = info(fit)
    assert meta.draws == 500 and meta.density_evaluations == 500 and np.isfinite(meta.khat)


def test_a_program_without_parameters_is_refused_by_every_fit():
    with pytest.raises(ValueError, match="declares no parameters: there is nothing to infer"):
        fit_laplace("data { real x; } generated quantities { real y = x; }", {"x": 1.0})
