"""The in-process Stan density: the unconstrained size and the transforms come from the compiled model, for every type."""

import numpy as np
import pytest

from pp_vae.stan import StanDensity, check_data, load_program

pytestmark = pytest.mark.slow

CONSTRAINED_TYPES = """
parameters {
  simplex[3] s;                 // 2 unconstrained
  positive_ordered[2] m;        // 2
  cholesky_factor_corr[3] L;    // 3
  cov_matrix[2] S;              // 3
  real<lower=0> tau;            // 1
}
transformed parameters {
  real total = sum(m);
}
model {
  s ~ dirichlet(rep_vector(2, 3));
  m ~ normal(0, 3);
  L ~ lkj_corr_cholesky(2);
  S ~ wishart(4, identity_matrix(2));
  tau ~ exponential(1);
}
"""


@pytest.fixture(scope="module")
def density():
    program = load_program(CONSTRAINED_TYPES)
    return StanDensity.of(program, check_data(program, {}))


def test_the_unconstrained_size_is_the_compiled_models(density):
    assert density.dim == 2 + 2 + 3 + 3 + 1
    with pytest.raises(ValueError, match="the unconstrained point must have 11 entries, got 19"):
        density.log_prob(np.zeros(19))


def test_constrain_and_unconstrain_are_inverse_and_respect_each_type(density):
    u = np.random.default_rng(0).normal(size=density.dim)
    values = dict(zip(density.names, density.constrain(u)))
    s = np.array([values[f"s[{i}]"] for i in (1, 2, 3)])
    assert s.sum() == pytest.approx(1.0) and (s > 0).all()
    assert 0 < values["m[1]"] < values["m[2]"] and values["total"] == pytest.approx(values["m[1]"] + values["m[2]"])
    L = np.array([[values[f"L[{i},{j}]"] for j in (1, 2, 3)] for i in (1, 2, 3)])
    np.testing.assert_allclose(np.diag(L @ L.T), 1.0)  # a correlation matrix's Cholesky factor
    S = np.array([[values[f"S[{i},{j}]"] for j in (1, 2)] for i in (1, 2)])
    assert np.all(np.linalg.eigvalsh(S) > 0)
    structured = {"s": s, "m": [values["m[1]"], values["m[2]"]], "L": L, "S": S, "tau": values["tau"]}
    np.testing.assert_allclose(density.unconstrain(structured), u, atol=1e-8)


def test_the_gradient_matches_finite_differences_and_calls_are_counted(density):
    u = np.random.default_rng(1).normal(size=density.dim)
    before = density.gradient_evaluations
    value, gradient = density.log_prob_grad(u)
    assert density.gradient_evaluations == before + 1 and value == pytest.approx(density.log_prob(u))
    h = 1e-6
    numeric = [(density.log_prob(u + h * e) - density.log_prob(u - h * e)) / (2 * h) for e in np.eye(density.dim)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-5)


def test_rows_give_what_single_calls_give_outside_the_support_included(density):
    rows = np.random.default_rng(2).normal(size=(5, density.dim))
    rows[3] = 1e3  # exp(1e3) overflows inside Stan's transforms: outside what the density can score
    single = [density.log_prob_grad(row) for row in rows]
    before = (density.gradient_evaluations, density.density_evaluations)
    values, gradients = density.log_prob_grad_rows(rows)
    assert (density.gradient_evaluations, density.density_evaluations) == (before[0] + 5, before[1] + 5)
    np.testing.assert_array_equal(values, [value for value, _ in single])
    np.testing.assert_array_equal(gradients, np.array([gradient for _, gradient in single]))
    np.testing.assert_array_equal(density.log_prob_rows(rows), [density.log_prob(row) for row in rows])
    with pytest.raises(ValueError, match=r"rows of 11 entries, got an array of shape \(2, 3\)"):
        density.log_prob_rows(np.zeros((2, 3)))


def test_a_program_without_parameters_is_refused():
    program = load_program("data { real x; } generated quantities { real y = x; }")
    with pytest.raises(ValueError, match="declares no parameters: there is nothing to infer"):
        StanDensity.of(program, {"x": 1.0})
