"""Cost per effective draw: one evaluation per draw for independent draws, the ratio's SE from the chains' spread."""

import numpy as np
import pytest

from pp_vae.inference import from_draws
from pp_vae.inference.mcmc_cost import cost_ratio, cost_to_ess, efficiency


def _run(draws, n_steps=None, **attrs):
    stats = None if n_steps is None else {"n_steps": n_steps}
    method = "nuts" if n_steps is not None else "metropolis"
    return from_draws({"x": draws}, method=method, model="m", seconds=2.0, sample_stats=stats, **attrs)


def test_independent_draws_cost_one_evaluation_per_effective_draw():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 4000))
    nuts = efficiency(_run(draws, n_steps=np.full((4, 4000), 3), gradient_evaluations=30_000), ["x"])
    assert nuts.chain_cost == pytest.approx(np.full(4, 3.0), rel=0.1)  # 3 gradients per draw, ESS ~ draws
    assert nuts.evaluations_per_ess == pytest.approx(30_000 / 16_000, rel=0.1) and nuts.max_rhat < 1.01
    # an AR(1) chain with coefficient r has ESS = n (1 - r) / (1 + r): r = 0.9 costs 19 evaluations per effective draw
    ar = np.zeros((4, 20_000))
    for t in range(1, ar.shape[1]):
        ar[:, t] = 0.9 * ar[:, t - 1] + np.sqrt(1 - 0.81) * rng.normal(size=4)
    metropolis = efficiency(_run(ar, density_evaluations=80_004, gradient_evaluations=0), ["x"])
    assert metropolis.chain_cost.mean() == pytest.approx(19.0, rel=0.15)
    ratio, se = cost_ratio(metropolis, nuts)
    assert ratio == pytest.approx(19.0 / 3.0, rel=0.15) and 0 < se < 0.1 * ratio
    assert metropolis.seconds_per_ess == pytest.approx(2.0 / metropolis.min_ess)


def test_bad_input_is_named():
    run = _run(np.zeros((2, 10)), density_evaluations=20, gradient_evaluations=0)
    with pytest.raises(ValueError, match="missing \\['y'\\]"):
        efficiency(run, ["y"])
    plain = from_draws({"x": np.zeros((1, 10))}, method="meanfield", model="m", seconds=1.0, gradient_evaluations=5)
    with pytest.raises(ValueError, match="needs an MCMC result"):
        efficiency(plain, ["x"])


def test_cost_to_ess_is_the_warmup_plus_the_sampling_that_buys_the_target():
    draws = np.random.default_rng(1).normal(size=(4, 4000))  # independent: ESS about 16,000
    run = _run(draws, n_steps=np.full((4, 4000), 2), gradient_evaluations=40_000)  # 32,000 sampling, 8,000 warm-up
    gradients, seconds = cost_to_ess(run, ["x"], target_ess=400)
    assert gradients == pytest.approx(8_000 + 32_000 * 400 / 16_000, rel=0.01) and seconds == pytest.approx(2.0 * gradients / 40_000)
    assert cost_to_ess(run, ["x"], target_ess=1600)[0] - 8_000 == pytest.approx(4 * (gradients - 8_000))
    with pytest.raises(ValueError, match="target_ess must be a positive number, got 0"):
        cost_to_ess(run, ["x"], target_ess=0)
    metropolis = _run(draws, density_evaluations=16_004, gradient_evaluations=0)
    with pytest.raises(ValueError, match="needs a NUTS result"):
        cost_to_ess(metropolis, ["x"])
