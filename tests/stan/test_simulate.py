"""A Stan simulator program makes the same worlds as the model's own Python simulator, under Stan's names."""

import numpy as np
import pytest
from scipy import stats

from pp_vae.models import MODELS
from pp_vae.stan import load_program
from pp_vae.stan.simulate import simulator_for, stan_simulations

pytestmark = pytest.mark.slow


def test_the_bundled_eight_schools_simulator_draws_the_prior_the_python_one_does():
    model = load_program("eight_schools_noncentered")
    simulator = simulator_for(model)
    assert simulator is not None and simulator_for(load_program("eight_schools_centered")) is not None
    worlds = stan_simulations(simulator, model, MODELS[model.name].example_data, simulations=2000, seed=3)
    assert len(worlds) == 2000
    truth, data = worlds[0]
    assert {"mu", "tau", "theta_raw[1]", "theta[8]"} <= set(truth) and len(data["y"]) == 8 and data["J"] == 8
    rng = np.random.default_rng(0)
    python = [MODELS[model.name].simulate(rng, MODELS[model.name].example_data)[0] for _ in range(2000)]
    for name in ("mu", "tau", "theta[1]"):
        ours = np.array([t[name] for t, _ in worlds])
        theirs = np.array([t[name] for t in python])
        assert stats.ks_2samp(ours, theirs).pvalue > 0.001, name
    assert simulator_for(load_program("correlated_gaussian")) is None


def test_a_simulator_that_misses_a_field_or_every_parameter_is_named_before_it_is_built(tmp_path):
    model = load_program("eight_schools_noncentered")
    no_y = tmp_path / "no_y.stan"
    no_y.write_text("data { int J; } generated quantities { real mu = normal_rng(0, 5); real tau = abs(cauchy_rng(0, 5)); }")
    with pytest.raises(ValueError, match="'no_y' generates no 'y' and the design gives none"):
        stan_simulations(no_y, model, {"J": 8, "sigma": [1.0] * 8}, simulations=2)
    nothing = tmp_path / "nothing.stan"
    nothing.write_text("data { int J; } generated quantities { array[J] real y = normal_rng(rep_vector(0, J), 1); }")
    with pytest.raises(ValueError, match=r"generates none of the parameters of 'eight_schools_noncentered' \(mu, tau"):
        stan_simulations(nothing, model, {"J": 8, "sigma": [1.0] * 8}, simulations=2)
    with pytest.raises(ValueError, match="a simulator must have no parameters"):
        stan_simulations(model, model, {"J": 8, "sigma": [1.0] * 8, "y": [0.0] * 8}, simulations=2)
