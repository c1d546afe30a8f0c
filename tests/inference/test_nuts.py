"""NUTS through PyStan against closed forms and gold-standard posteriors; program and data errors."""

import numpy as np
import pytest
from scipy import stats

from pp_vae import stan
from pp_vae.conjugate import BetaBernoulli, NormalKnownVariance
from tests.reference import reference

pytestmark = pytest.mark.slow

FLIPS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
NORMAL_Y = [2.1, 3.4, 0.7, 2.9, 1.8]


def _within_mcse(draws: np.ndarray, exact_mean: float, exact_sd: float, k: float = 4.0) -> None:
    import arviz as az

    assert abs(draws.mean() - exact_mean) < k * float(az.mcse(draws, method="mean"))
    assert abs(draws.std(ddof=1) - exact_sd) < k * float(az.mcse(draws, method="sd"))


def test_nuts_matches_the_beta_bernoulli_closed_form():
    idata = stan.sample("beta_bernoulli", {"N": 10, "y": FLIPS, "alpha": 2.0, "beta": 2.0}, seed=11)
    exact = BetaBernoulli(2.0, 2.0).posterior(FLIPS)
    _within_mcse(idata.posterior["theta"].values, exact.mean(), exact.std())
    # replications and observed data come along with Stan's names
    assert idata.posterior_predictive["y_rep"].shape == (4, 1000, 10)
    np.testing.assert_array_equal(idata.observed_data["y"].values, FLIPS)
    assert stan.diagnostics(idata).warnings == []


def test_nuts_matches_the_normal_known_variance_closed_form():
    data = {"N": 5, "y": NORMAL_Y, "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0}
    idata = stan.sample("normal_known_variance", data, seed=12)
    exact = NormalKnownVariance(prior_mean=0.0, prior_sd=1.0, noise_sd=2.0).posterior(NORMAL_Y)
    _within_mcse(idata.posterior["mu"].values, exact.mean(), exact.std())
    # E[y_rep] is the posterior predictive mean
    predictive = NormalKnownVariance(0.0, 1.0, 2.0).posterior_predictive(NORMAL_Y)
    y_rep = idata.posterior_predictive["y_rep"].values
    assert abs(y_rep.mean() - predictive.mean()) < 4 * predictive.std() / np.sqrt(y_rep.shape[0] * y_rep.shape[1] / 2)


def test_eight_schools_noncentered_matches_the_reference_posterior():
    ref = reference("eight_schools-eight_schools_noncentered")
    program = stan.load_program("eight_schools_noncentered")
    idata = stan.sample(program, ref["data"], draws=2000, seed=13, delta=0.95)  # the reference's adapt delta
    flat = stan.flatten_draws(idata.posterior, stan.parameter_names(program))
    for name, truth in ref["draws"].items():
        ours = flat[name]
        assert abs(ours.mean() - truth.mean()) < 0.1 * truth.std(), name
        assert ours.std() == pytest.approx(truth.std(), rel=0.10), name
    assert stan.diagnostics(idata).divergences <= 8  # at most 0.1% of 8,000 draws


def test_centered_eight_schools_diverges_and_says_so():
    ref = reference("eight_schools-eight_schools_noncentered")
    idata = stan.sample("eight_schools_centered", ref["data"], seed=14)
    report = stan.diagnostics(idata)
    assert report.divergences > 0
    assert any("divergent transition" in w for w in report.warnings)


def test_flattened_names_are_stan_one_based_column_major():
    program = stan.load_program("logistic_regression")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = (rng.random(50) < 1 / (1 + np.exp(-(0.5 + X @ [1.0, -1.0])))).astype(int)
    idata = stan.sample(program, {"N": 50, "K": 2, "X": X, "y": y, "prior_sd": 2.5}, draws=300, seed=15)
    flat = stan.flatten_draws(idata.posterior, stan.parameter_names(program))
    assert list(flat) == ["alpha", "beta[1]", "beta[2]"]
    np.testing.assert_array_equal(flat["beta[2]"], idata.posterior["beta"].values[..., 1])
    assert flat["beta[1]"].mean() > 0 > flat["beta[2]"].mean()


def test_syntax_error_carries_the_compiler_message_with_line_and_column():
    with pytest.raises(stan.StanProgramError, match=r"line 2, column \d+") as caught:
        stan.load_program("data { int N; }\nparameters { real mu }\nmodel { mu ~ normal(0, 1); }")
    assert 'Expected ";"' in str(caught.value)
    assert caught.value.one_line().startswith("Syntax error in 'program.stan', line 2, column")


def test_discrete_parameter_is_a_clear_error():
    with pytest.raises(stan.StanProgramError, match="Parameters cannot be integers"):
        stan.load_program("parameters { int k; } model { }")


def test_unknown_program_names_the_choices(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Stan program named 'eight_school'.*eight_schools_noncentered"):
        stan.load_program("eight_school")
    with pytest.raises(FileNotFoundError, match="Stan program not found"):
        stan.load_program(tmp_path / "missing.stan")


def test_bad_data_fails_before_building_with_the_field_named():
    with pytest.raises(ValueError, match="data field 'y' must be <= 1"):
        stan.sample("beta_bernoulli", {"N": 3, "y": [0, 1, 2], "alpha": 2.0, "beta": 2.0})
    with pytest.raises(ValueError, match="declares no parameters"):
        stan.sample("data { int N; } generated quantities { real x = N; }", {"N": 1})
    with pytest.raises(ValueError, match="draws must be an integer >= 1, got 0"):
        stan.sample("beta_bernoulli", {"N": 0, "y": [], "alpha": 1.0, "beta": 1.0}, draws=0)


def test_bundled_programs_are_found_and_compile():
    assert stan.available_programs() == [
        "beta_bernoulli", "correlated_gaussian", "eight_schools_centered", "eight_schools_noncentered", "logistic_regression", "normal_known_variance"]
    for name in stan.available_programs():
        assert stan.load_program(name).parameters
