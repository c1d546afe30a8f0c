"""The NumPy log densities equal Stan's log_prob (Jacobian included) up to one constant."""

import numpy as np
import pytest

from pp_vae import log_densities, stan

pytestmark = pytest.mark.slow

CASES = {
    "beta_bernoulli": ({"N": 5, "y": [1, 0, 1, 1, 0], "alpha": 2.0, "beta": 3.0}, 1),
    "normal_known_variance": ({"N": 3, "y": [0.5, 1.5, 2.0], "prior_mean": 1.0, "prior_sd": 2.0, "noise_sd": 0.7}, 1),
    "eight_schools_noncentered": ({"J": 3, "y": [28.0, 8.0, -3.0], "sigma": [15.0, 10.0, 16.0]}, 5),
    "logistic_regression": ({"N": 4, "K": 2, "X": [[0.1, 1.0], [1.0, -0.3], [2.0, 0.0], [-1.0, 0.5]], "y": [0, 1, 1, 0], "prior_sd": 2.5}, 3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_log_density_matches_stan_log_prob(name):
    data, dim = CASES[name]
    program = stan.load_program(name)
    model = stan.build(program, stan.check_data(program, data), seed=1)
    ours = log_densities.FACTORIES[name](data)
    points = np.random.default_rng(0).normal(size=(6, dim))
    theirs = np.array([model.log_prob(list(p)) for p in points])
    differences = ours(points) - theirs
    np.testing.assert_allclose(differences, differences[0], atol=1e-8)
