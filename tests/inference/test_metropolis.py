"""Random-walk Metropolis recovers known targets; on a bundled model it returns the result type; bad arguments are named."""

import numpy as np
import pytest

from pp_vae.inference import fit_metropolis, flat_draws, info, random_walk_metropolis
from pp_vae.models import get_model


def test_recovers_a_correlated_gaussian():
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    precision = np.linalg.inv(cov)
    result = random_walk_metropolis(lambda x: -0.5 * np.einsum("...i,ij,...j", x, precision, x), np.zeros(2), draws=20_000, seed=1)
    flat = result.draws.reshape(-1, 2)
    np.testing.assert_allclose(np.cov(flat.T), cov, atol=0.08)
    np.testing.assert_allclose(flat.mean(0), 0.0, atol=0.08)
    assert 0.15 < result.acceptance_rate < 0.35  # adapted towards 0.234


def test_matches_the_conjugate_posterior():
    data = {"N": 4, "y": [1.0, 2.0, 0.5, 1.5], "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 1.0}
    result = random_walk_metropolis(get_model("normal_known_variance").log_density(data), np.zeros(1), draws=20_000, seed=2)
    # exact posterior: precision 5, mean 5/5 = 1.0, sd 1/sqrt(5)
    assert result.draws.mean() == pytest.approx(1.0, abs=0.02)
    assert result.draws.std() == pytest.approx(5**-0.5, rel=0.05)


@pytest.mark.slow
def test_on_a_bundled_model_the_draws_are_stan_constrained_parameters():
    data = {"N": 10, "y": [1, 0, 1, 1, 1, 0, 1, 1, 0, 1], "alpha": 2.0, "beta": 2.0}
    result = fit_metropolis("beta_bernoulli", data, draws=10_000, seed=3)
    theta = flat_draws(result)["theta"]
    assert theta.shape == (4, 10_000) and (0 < theta).all() and (theta < 1).all()
    # Beta(9, 5): mean 9/14 within 5 Monte Carlo standard errors (ESS from ArviZ)
    import arviz as az

    assert abs(theta.mean() - 9 / 14) < 5 * float(az.mcse(theta))
    meta = info(result)
    assert meta.method == "metropolis" and meta.gradient_evaluations == 0
    assert meta.density_evaluations == 4 * (2000 + 10_000 + 1)


def test_same_seed_same_draws_and_errors_are_named():
    f = lambda x: -0.5 * (x**2).sum(-1)  # noqa: E731
    np.testing.assert_array_equal(
        random_walk_metropolis(f, [0.0], draws=50, seed=3).draws, random_walk_metropolis(f, [0.0], draws=50, seed=3).draws
    )
    with pytest.raises(ValueError, match="step_size must be positive, got -1"):
        random_walk_metropolis(f, [0.0], step_size=-1)
    with pytest.raises(ValueError, match="not finite at the initial point"):
        random_walk_metropolis(lambda x: np.where(x[..., 0] > 5, 0.0, -np.inf), [0.0], seed=0)
    with pytest.raises(ValueError, match="initial must be a 1-D point"):
        random_walk_metropolis(f, np.zeros((2, 2)))


def test_an_adapted_proposal_learns_the_covariance_and_the_optimal_scale():
    # sds from 0.1 to 10: an isotropic step must fit the narrowest direction and crawls along the widest
    sd = np.geomspace(0.1, 10.0, 10)
    f = lambda x: -0.5 * ((x / sd) ** 2).sum(-1)  # noqa: E731
    import arviz as az

    runs = {
        adapt: random_walk_metropolis(f, np.zeros(10), draws=5000, warmup=2000, adapt_covariance=adapt, seed=1) for adapt in (False, True)
    }
    ess = {adapt: min(float(az.ess(run.draws[..., i])) for i in range(10)) for adapt, run in runs.items()}
    assert ess[True] > 20 * ess[False]  # measured 505 vs 5.9
    np.testing.assert_allclose(np.sqrt(np.diag(runs[True].proposal_covariance)), sd, rtol=0.2)
    np.testing.assert_array_equal(runs[False].proposal_covariance, np.eye(10))
    # with the covariance learned the target is N(0, I) in disguise: the acceptance-tuned scale lands near 2.38 / sqrt(d)
    assert runs[True].step_size == pytest.approx(2.38 / np.sqrt(10), rel=0.25)
