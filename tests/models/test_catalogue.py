"""Every bundled model's forms agree: the Pyro model and the NumPy density equal Stan's log_prob up to a constant."""

import numpy as np
import pytest
import torch
from pyro import poutine

from pp_vae.models import MODELS, as_tensors, get_model
from pp_vae.stan import StanDensity, available_programs, check_data, load_program

pytestmark = pytest.mark.slow


def test_every_bundled_stan_program_has_an_entry_and_back():
    assert sorted(MODELS) == available_programs()
    with pytest.raises(ValueError, match="no bundled model named 'coin'; choose from beta_bernoulli"):
        get_model("coin")


def _density(name: str) -> tuple[StanDensity, dict]:
    model = get_model(name)
    program = load_program(name)
    return StanDensity.of(program, check_data(program, model.example_data), seed=1), model.example_data


@pytest.mark.parametrize("name", sorted(MODELS))
def test_numpy_log_density_equals_stan_with_the_jacobian(name):
    density, data = _density(name)
    points = np.random.default_rng(0).normal(size=(6, density.dim))
    ours = get_model(name).log_density(data)(points)
    theirs = np.array([density.log_prob(p) for p in points])
    differences = ours - theirs
    np.testing.assert_allclose(differences, differences[0], atol=1e-8)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pyro_joint_log_density_equals_stan_without_the_jacobian(name):
    density, data = _density(name)
    model = get_model(name)
    program = load_program(name)
    torch.set_default_dtype(torch.float64)
    try:
        tensors = as_tensors(data)
        shapes = {
            site: tuple(node["value"].shape)
            for site, node in poutine.trace(model.pyro_model).get_trace(tensors).nodes.items()
            if node["type"] == "sample"
        }
        differences = []
        for u in np.random.default_rng(1).normal(size=(5, density.dim)):
            constrained = dict(zip(density.names, density.constrain(u, include_tparams=False)))
            point = {}
            for parameter in program.parameters:
                values = [v for k, v in constrained.items() if k == parameter or k.startswith(parameter + "[")]
                point[parameter] = torch.tensor(values, dtype=torch.float64).reshape(shapes[parameter])
            trace = poutine.trace(poutine.condition(model.pyro_model, data=point)).get_trace(tensors)
            differences.append(float(trace.log_prob_sum()) - density._module.log_prob(density._data, list(u), False))
        np.testing.assert_allclose(differences, differences[0], atol=1e-8)
    finally:
        torch.set_default_dtype(torch.float32)


def test_subsampled_logistic_regression_scales_the_likelihood_by_n_over_batch():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(1000, 2)), rng.integers(0, 2, 1000)
    data = as_tensors({"N": 1000, "K": 2, "X": X, "y": y, "prior_sd": 1.0})
    point = {"alpha": torch.tensor(0.3), "beta": torch.tensor([0.5, -0.5])}
    model = get_model("logistic_regression").pyro_model
    trace = poutine.trace(poutine.condition(model, data=point)).get_trace(data, subsample_size=100)
    trace.compute_log_prob()
    site = trace.nodes["y"]
    index = trace.nodes["obs"]["value"].numpy()
    assert site["value"].shape == (100,) and site["scale"] == pytest.approx(10.0)
    eta = 0.3 + X[index] @ np.array([0.5, -0.5])
    by_hand = np.sum(y[index] * eta - np.logaddexp(0, eta))
    assert float(site["log_prob_sum"]) == pytest.approx(10.0 * by_hand, rel=1e-5)
