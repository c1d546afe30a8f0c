"""Every bundled prior simulator draws from its model's prior and makes data its Stan program accepts."""

import numpy as np
import pytest
from scipy import stats

from pp_vae.models import MODELS
from pp_vae.stan import check_data, load_program

SIMULATED = sorted(name for name, model in MODELS.items() if model.simulate is not None)


def _worlds(name: str, n: int, seed: int = 0) -> list[tuple[dict[str, float], dict]]:
    rng = np.random.default_rng(seed)
    model = MODELS[name]
    return [model.simulate(rng, model.example_data) for _ in range(n)]


def test_the_models_that_calibration_needs_have_simulators():
    assert {"eight_schools_noncentered", "eight_schools_centered", "beta_bernoulli", "normal_known_variance"} <= set(SIMULATED)


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_data_fits_the_program_and_the_truth_names_its_parameters(name):
    program = load_program(name)
    truth, data = _worlds(name, 1)[0]
    check_data(program, data)  # raises, naming the field, if a simulator drifts from its program's data block
    bases = {key.split("[")[0] for key in truth}
    assert set(program.info["parameters"]) <= bases


def _within(draws: np.ndarray, expected_mean: float, expected_sd: float) -> bool:
    """The sample mean within 5 Monte Carlo standard errors of the prior's mean."""
    return abs(draws.mean() - expected_mean) < 5 * expected_sd / np.sqrt(draws.size)


def test_eight_schools_draws_mu_and_tau_from_their_priors():
    worlds = _worlds("eight_schools_noncentered", 4000)
    mu = np.array([t["mu"] for t, _ in worlds])
    tau = np.array([t["tau"] for t, _ in worlds])
    assert _within(mu, 0.0, 5.0)
    assert stats.kstest(mu, stats.norm(0, 5).cdf).pvalue > 0.001
    assert stats.kstest(tau, stats.halfcauchy(0, 5).cdf).pvalue > 0.001
    truth, data = worlds[0]
    theta = np.array([truth[f"theta[{j}]"] for j in range(1, 9)])
    raw = np.array([truth[f"theta_raw[{j}]"] for j in range(1, 9)])
    np.testing.assert_allclose(theta, truth["mu"] + truth["tau"] * raw)
    assert data["sigma"] == list(map(float, MODELS["eight_schools_noncentered"].example_data["sigma"]))


def test_beta_bernoulli_flips_follow_the_drawn_bias():
    worlds = _worlds("beta_bernoulli", 4000)
    data = MODELS["beta_bernoulli"].example_data
    theta = np.array([t["theta"] for t, _ in worlds])
    heads = np.array([np.mean(d["y"]) for _, d in worlds])
    assert stats.kstest(theta, stats.beta(data["alpha"], data["beta"]).cdf).pvalue > 0.001
    # E[heads fraction | theta] = theta: the residual has mean zero and sd at most sqrt(theta(1-theta)/N)
    assert _within(heads - theta, 0.0, np.sqrt(0.25 / data["N"]))


def test_normal_known_variance_draws_mu_then_its_data():
    worlds = _worlds("normal_known_variance", 4000)
    data = MODELS["normal_known_variance"].example_data
    mu = np.array([t["mu"] for t, _ in worlds])
    means = np.array([np.mean(d["y"]) for _, d in worlds])
    assert stats.kstest(mu, stats.norm(data["prior_mean"], data["prior_sd"]).cdf).pvalue > 0.001
    assert _within(means - mu, 0.0, data["noise_sd"] / np.sqrt(data["N"]))


def test_eight_schools_prior_predictive_has_the_half_cauchy_tail_and_the_normal_spread():
    from pp_vae.models import SCHOOLS, prior_predictive

    worlds = prior_predictive(SCHOOLS["sigma"], 200_000, seed=4)
    # P(tau > 50) = 1 - (2 / pi) arctan(50 / 5) for tau ~ half-Cauchy(0, 5)
    exact = 1 - 2 / np.pi * np.arctan(10.0)
    tail = np.mean(worlds["tau"] > 50)
    assert abs(tail - exact) < 5 * np.sqrt(exact * (1 - exact) / 200_000)
    # given mu and tau, y_j ~ Normal(mu, sqrt(tau^2 + sigma_j^2)): the standardised squares average to 1
    z2 = (worlds["y"] - worlds["mu"][:, None]) ** 2 / (worlds["tau"][:, None] ** 2 + np.asarray(SCHOOLS["sigma"]) ** 2)
    assert abs(z2.mean() - 1) < 5 * z2.std() / np.sqrt(z2.size)
    with pytest.raises(ValueError, match="sigma must be positive"):
        prior_predictive([1.0, 0.0], 10)
