"""The flow: it follows a banana no Gaussian can, its log q is a normalised density, and it leaves no global state."""

import numpy as np
import pytest
import torch

from pp_vae.inference import approximate_flow, approximate_gaussian_vi, pareto_khat
from tests.inference.targets import Counted, banana, equicorrelated, gaussian

START = np.array([0.5, 0.5])


@pytest.fixture(scope="module")
def banana_fits():
    return {
        "fullrank": approximate_gaussian_vi(banana(1.0), START, family="fullrank", seed=1),
        "iaf": approximate_flow(banana(1.0), START, seed=1),
    }


def test_the_flow_follows_the_banana_where_full_rank_cannot(banana_fits):
    gauss, flow = banana_fits["fullrank"], banana_fits["iaf"]
    # the target is normalised, so the ELBO is -KL(q || p): the flow's is higher by far more than its Monte Carlo error
    gain = flow.log_weights.mean() - gauss.log_weights.mean()
    se = np.hypot(flow.log_weights.std(), gauss.log_weights.std()) / np.sqrt(flow.log_weights.size)
    assert gain > 5 * se, (gain, se)
    # E[u2] = 1 (sd sqrt(3) = 1.73): the Gaussian sits near the mode (0); the flow is within 0.25 of 1
    assert gauss.mean()[1] < 0.6 and abs(flow.mean()[1] - 1) < 0.25
    assert abs(flow.sd()[1] / np.sqrt(3) - 1) < 0.15
    # and PSIS says which to believe
    assert pareto_khat(flow.log_weights) < 0.7 < pareto_khat(gauss.log_weights)


def test_log_q_is_a_normalised_density_and_every_call_is_counted():
    mean, covariance = equicorrelated(0.8)
    target = Counted(gaussian(mean, covariance))
    fit = approximate_flow(target, np.ones(2), draws=4000, seed=2, max_steps=300)
    # importance sampling the normalised target from q estimates Z = 1
    weights = np.exp(fit.log_weights)
    assert abs(weights.mean() - 1) < 5 * weights.std() / np.sqrt(weights.size)
    assert fit.gradient_evaluations == target.calls and fit.info["steps"] <= 300
    assert fit.info["standardisation"] == "laplace"


def test_same_seed_same_fit_and_no_global_state_left_behind():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    a = approximate_flow(banana(1.0), START, draws=200, seed=3, max_steps=50)
    assert torch.rand(1) == expected  # torch's random state is restored
    assert torch.get_default_dtype() == torch.float32 and torch.get_num_threads() == threads
    b = approximate_flow(banana(1.0), START, draws=200, seed=3, max_steps=50)
    np.testing.assert_array_equal(a.draws, b.draws)
    spline = approximate_flow(banana(1.0), START, flow="spline", draws=200, seed=3, max_steps=50, standardise="none")
    assert spline.info["flow"] == "spline" and np.all(np.isfinite(spline.log_q))
    with pytest.raises(ValueError, match="flow must be one of iaf, spline, got 'maf'"):
        approximate_flow(banana(1.0), START, flow="maf")


def test_a_flow_whose_start_already_matches_a_gaussian_target_takes_no_step_and_one_that_does_not_trains():
    mean, covariance = equicorrelated(0.8)
    exact = approximate_flow(gaussian(mean, covariance), np.ones(2), draws=4000, seed=2)
    # Laplace's start is exact here: log p - log q is constant, so no step could improve q
    assert exact.info["converged"] and exact.info["exact_start"] and exact.info["steps"] == 0
    assert exact.log_weights.var() < 1e-6 and np.allclose(exact.mean(), mean, atol=5 / np.sqrt(4000))
    curved = approximate_flow(banana(1.0), START, draws=200, seed=1, eval_every=25)
    assert curved.info["steps"] >= 300  # the banana is not Gaussian: the three halvings' windows run
