"""The Pyro models are the Stan programs: equal joint log densities up to a constant."""

import numpy as np
import pytest
import torch
from pyro import poutine

from pp_vae import models, stan

pytestmark = pytest.mark.slow

RNG = np.random.default_rng(3)
CASES = {
    "beta_bernoulli": {"N": 6, "y": [1, 0, 1, 1, 0, 1], "alpha": 2.0, "beta": 3.0},
    "normal_known_variance": {"N": 3, "y": [0.5, 1.5, 2.0], "prior_mean": 1.0, "prior_sd": 2.0, "noise_sd": 0.7},
    "eight_schools_noncentered": {"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], "sigma": [15, 10, 16, 11, 9, 11, 10, 18]},
    "logistic_regression": {"N": 5, "K": 2, "X": RNG.normal(size=(5, 2)), "y": [0, 1, 1, 0, 1], "prior_sd": 2.5},
}


def _points(name: str, k: int = 5) -> list[dict[str, torch.Tensor]]:
    rng = np.random.default_rng(7)
    t = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    if name == "beta_bernoulli":
        return [{"theta": t(rng.uniform(0.05, 0.95))} for _ in range(k)]
    if name == "normal_known_variance":
        return [{"mu": t(rng.normal())} for _ in range(k)]
    if name == "eight_schools_noncentered":
        return [{"mu": t(rng.normal(0, 5)), "tau": t(rng.uniform(0.5, 10)), "theta_raw": t(rng.normal(size=8))} for _ in range(k)]
    return [{"alpha": t(rng.normal()), "beta": t(rng.normal(size=2))} for _ in range(k)]


@pytest.mark.parametrize("name", list(CASES))
def test_pyro_joint_log_density_equals_stan_up_to_a_constant(name):
    torch.set_default_dtype(torch.float64)
    try:
        data = CASES[name]
        program = stan.load_program(name)
        density = stan.StanDensity(stan.build(program, stan.check_data(program, data), seed=1))
        tensors = models.as_tensors(data)
        ours, theirs = [], []
        for point in _points(name):
            trace = poutine.trace(poutine.condition(models.MODELS[name], data=point)).get_trace(tensors)
            ours.append(float(trace.log_prob_sum()))
            constrained = np.concatenate([np.ravel(point[p].numpy()) for p in program.parameters])
            # Stan's unconstrained point for these constrained values, then its density without the Jacobian
            unconstrained = _unconstrain(name, constrained)
            theirs.append(density.log_prob(unconstrained, adjust_transform=False))
        differences = np.array(ours) - np.array(theirs)
        np.testing.assert_allclose(differences, differences[0], atol=1e-8)
    finally:
        torch.set_default_dtype(torch.float32)


def _unconstrain(name: str, constrained: np.ndarray) -> np.ndarray:
    """Stan's transforms: logit for (0, 1), log for lower=0; order as in the parameters block."""
    if name == "beta_bernoulli":
        return np.log(constrained / (1 - constrained))
    if name == "eight_schools_noncentered":  # mu, tau, theta_raw
        return np.concatenate([[constrained[0], np.log(constrained[1])], constrained[2:]])
    return constrained


def test_subsampled_logistic_regression_scales_the_likelihood_by_n_over_batch():
    X, y = RNG.normal(size=(1000, 2)), RNG.integers(0, 2, 1000)
    data = models.as_tensors({"N": 1000, "K": 2, "X": X, "y": y, "prior_sd": 1.0})
    point = {"alpha": torch.tensor(0.3), "beta": torch.tensor([0.5, -0.5])}
    trace = poutine.trace(poutine.condition(models.logistic_regression, data=point)).get_trace(data, subsample_size=100)
    trace.compute_log_prob()
    site = trace.nodes["y"]
    index = trace.nodes["obs"]["value"].numpy()
    assert site["value"].shape == (100,) and site["scale"] == pytest.approx(10.0)
    eta = 0.3 + X[index] @ np.array([0.5, -0.5])
    by_hand = np.sum(y[index] * eta - np.logaddexp(0, eta))
    assert float(site["log_prob_sum"]) == pytest.approx(10.0 * by_hand, rel=1e-5)
