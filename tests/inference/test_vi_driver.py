"""The one VI driver: its halving schedule against hand-counted windows, its drift test, and a fit stepped in two runs."""

import numpy as np
import pytest

from pp_vae.inference import (
    ElboRise,
    GaussianVI,
    GaussianVIOptions,
    ParameterChange,
    RelativeElbo,
    VIState,
    approximate_gaussian_vi,
    run_vi,
)
from pp_vae.inference.approximation import as_target
from tests.inference.targets import banana


class Scripted:
    """A family whose steps return a scripted ELBO and gradient and whose parameters never move."""

    def __init__(self, elbo=lambda step: 0.0, gradient=None, exact_start=False):
        self.elbo, self.gradient, self.exact_start = elbo, gradient, exact_start
        self.rates = []

    def step(self, step, lr_scale):
        self.rates.append(lr_scale)
        return self.elbo(step), self.gradient

    def parameters(self):
        return np.zeros(2)

    def moments(self, parameters):
        return parameters, np.ones_like(parameters)


def test_a_flat_elbo_halves_after_every_lag_plus_one_windows_and_stops_after_the_last_halving():
    # ElboRise(lag=2): stationary at the 3rd window at each step size; halvings 0, 1, 2 then stop at the 3rd: 4 x 3 windows
    family, eval_every = Scripted(), 10
    state = run_vi(family, ElboRise(lag=2, max_halvings=3), VIState.start(family, eval_every), max_steps=10_000)
    assert state.converged and state.halvings == 3 and state.steps == 12 * eval_every
    assert family.rates == [1.0] * 30 + [0.5] * 30 + [0.25] * 30 + [0.125] * 30


def test_the_parameter_rule_stops_at_the_first_stationary_point_after_min_halvings_when_nothing_moves():
    # lag 1: stationary every 2nd window; the averages are compared from the 4th stationary point (halvings = 3): 8 windows
    family = Scripted()
    state = run_vi(family, ParameterChange(0.03, min_halvings=3), VIState.start(family, 5), max_steps=10_000)
    assert state.converged and state.halvings == 3 and state.steps == 8 * 5


def test_a_rising_elbo_or_a_drifting_gradient_keeps_the_step_and_the_budget_ends_the_run():
    rising = Scripted(elbo=lambda step: float(step))
    state = run_vi(rising, ElboRise(), VIState.start(rising, 10), max_steps=205)
    assert not state.converged and state.halvings == 0 and state.steps == 205
    drifting = Scripted(gradient=np.array([0.0, 1e-3]))  # a flat ELBO, but a steady pull on one parameter
    state = run_vi(drifting, ParameterChange(0.03, min_halvings=3), VIState.start(drifting, 10), max_steps=300)
    assert not state.converged and state.halvings == 0 and state.steps == 300


def test_the_relative_elbo_rule_stops_once_the_window_elbo_stops_changing_relative_to_its_size():
    family = Scripted(elbo=lambda step: -1000.0)  # relative change 0 from the 2nd window on
    state = run_vi(family, RelativeElbo(0.01, window=2), VIState.start(family, 10), max_steps=10_000)
    assert state.converged and state.steps == 20


def test_an_exact_start_takes_no_step():
    family = Scripted(exact_start=True)
    state = run_vi(family, ElboRise(), VIState.start(family, 10), max_steps=100)
    assert state.converged and state.steps == 0 and family.rates == []


@pytest.mark.parametrize("family", ["meanfield", "lowrank"])
def test_a_fit_stepped_in_two_runs_is_the_fit_run_at_once(family):
    def start():
        q = GaussianVI(as_target(banana(1.0), 2), np.array([0.5, 0.5]), np.random.default_rng(1), GaussianVIOptions(family=family))
        return q, VIState.start(q, 25)

    rule = ParameterChange(0.03, min_halvings=3)
    once, state_once = start()
    run_vi(once, rule, state_once, max_steps=10_000)
    twice, state_twice = start()
    run_vi(twice, rule, state_twice, max_steps=110)  # stops mid-window
    assert state_twice.steps == 110 and not state_twice.converged
    run_vi(twice, rule, state_twice, max_steps=10_000)
    assert state_once.converged and state_twice.steps == state_once.steps > 110
    assert np.array_equal(twice.theta, once.theta) and state_twice.window_elbo == state_once.window_elbo
    # and the driver's loop is approximate_gaussian_vi's: the same steps from the same seed
    fit = approximate_gaussian_vi(banana(1.0), np.array([0.5, 0.5]), family=family, seed=1, draws=10)
    assert fit.info["steps"] == state_once.steps and np.array_equal(fit.elbo, state_once.window_elbo)
