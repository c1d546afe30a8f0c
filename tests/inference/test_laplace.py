"""Laplace's approximation: exact on Gaussians, clear errors without a proper mode, and against kid-IQ's reference."""

import numpy as np
import pytest

from pp_vae.inference import against_reference, approximate_laplace, fit_laplace, info
from tests.inference.targets import Counted, equicorrelated, gaussian, random_gaussian, saddle
from tests.reference import reference


@pytest.mark.parametrize("mean, covariance", [equicorrelated(0.99), random_gaussian()], ids=["rho=0.99", "10-D"])
def test_exact_on_a_gaussian_and_every_call_counted(mean, covariance):
    target = Counted(gaussian(mean, covariance))
    fit = approximate_laplace(target, np.ones(mean.size), draws=4000, seed=1)
    # the mode and the finite-difference Hessian are exact up to L-BFGS's and the differences' round-off
    np.testing.assert_allclose(fit.info["mode"], mean, atol=1e-5)
    np.testing.assert_allclose(fit.info["covariance"], covariance, rtol=1e-4, atol=1e-7)
    # q = p: every importance weight is the normalising constant, log Z = 0
    assert np.max(np.abs(fit.log_weights)) < 1e-4
    # the draws' moments within 5 Monte Carlo standard errors
    sd = np.sqrt(np.diag(covariance))
    assert np.all(np.abs(fit.mean() - mean) < 5 * sd / np.sqrt(4000))
    assert np.all(np.abs(fit.sd() / sd - 1) < 5 / np.sqrt(2 * 4000))
    # no logp given: each draw's log p is a call of logp_grad, counted as a gradient
    assert fit.gradient_evaluations == target.calls and fit.density_evaluations == 0
    assert fit.draws.shape == (4000, mean.size)


def test_with_a_density_alone_the_draws_cost_no_gradient():
    mean, covariance = equicorrelated(0.5)
    gradients, densities = Counted(gaussian(mean, covariance)), Counted(lambda u: gaussian(mean, covariance)(u)[0])
    fit = approximate_laplace(gradients, np.zeros(2), draws=1000, logp=densities)
    assert (fit.gradient_evaluations, fit.density_evaluations) == (gradients.calls, densities.calls)
    assert densities.calls == 1000 and gradients.calls < 1000


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the search overflows on its way to infinity
def test_no_proper_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="not positive definite .* no proper mode"):
        approximate_laplace(saddle, np.zeros(2))
    with pytest.raises(ValueError, match="the mode search did not converge"):
        approximate_laplace(lambda u: (float(u[0] - 0.5 * u[1] ** 2), np.array([1.0, -u[1]])), np.zeros(2))


@pytest.mark.slow
def test_kidiq_against_the_reference_and_stans_own_counter():
    from pp_vae import stan

    ref = reference("kidiq-kidscore_momiq")
    fit = fit_laplace(ref["program"], ref["data"], seed=2, extra_fields="ignore")
    errors = against_reference(fit, ref["draws"])
    assert errors.mean_error.abs().max() < 0.2 and errors.sd_ratio.between(0.8, 1.2).all(), errors
    assert info(fit).method == "laplace" and info(fit).draws == 4000
    # the gradient count is the one Stan's own density counted
    program = stan.load_program(ref["program"])
    density = stan.StanDensity.of(program, stan.check_data(program, ref["data"], extra_fields="ignore"))
    direct = approximate_laplace(density.log_prob_grad, np.zeros(density.dim), logp=density.log_prob, draws=500)
    # (Stan's density counts a gradient evaluation as a density evaluation too)
    assert direct.gradient_evaluations == density.gradient_evaluations
    assert direct.density_evaluations == density.density_evaluations - density.gradient_evaluations == 500
