"""NUTS started at Pathfinder's draws with a short warm-up still samples the exact posterior; bad starts are named."""

import numpy as np
import pytest

from pp_vae.inference import fit_pathfinder, info, summary
from pp_vae.inference.warm_start import WarmupRun, inits_from, shortest_converged_warmup, warm_started_nuts
from pp_vae.models import get_model

pytestmark = pytest.mark.slow


def test_warm_started_nuts_matches_the_closed_form_and_counts_the_start():
    model = get_model("normal_known_variance")
    result = warm_started_nuts("normal_known_variance", model.example_data, start="pathfinder", warmup=100, draws=1000, seed=2)
    exact = model.exact_posterior(model.example_data)["mu"]
    row = summary(result, ["mu"]).loc["mu"]
    assert abs(row["mean"] - exact.mean()) < 5 * row["mcse_mean"]
    meta = info(result)
    assert meta.start == "pathfinder" and meta.warmup == 100 and meta.start_gradient_evaluations > 0
    assert meta.gradient_evaluations > meta.start_gradient_evaluations and meta.seconds > meta.sampling_seconds


def test_inits_are_draws_of_the_approximation_in_declared_shapes():
    data = get_model("eight_schools_noncentered").example_data
    approximation = fit_pathfinder("eight_schools_noncentered", data, draws=200, seed=0)
    inits = inits_from(approximation, ["mu", "tau", "theta_raw"], chains=4, seed=0)
    assert len(inits) == 4 and all(len(init["theta_raw"]) == 8 and init["tau"] > 0 for init in inits)
    taus = approximation.posterior["tau"].values.ravel()
    assert all(np.any(np.isclose(taus, init["tau"])) for init in inits)
    with pytest.raises(ValueError, match="no draws of 'sigma'"):
        inits_from(approximation, ["sigma"], chains=2)
    with pytest.raises(ValueError, match="start must be one of stan, pathfinder, got 'laplace'"):
        warm_started_nuts("eight_schools_noncentered", data, start="laplace")


def test_the_shortest_converged_warmup_needs_every_longer_one_converged():
    def run(warmup, rhat, divergences=0):
        return WarmupRun("stan", warmup, rhat, 1000.0, 1.0, 100, divergences)

    runs = [run(25, 1.2), run(50, 1.005), run(100, 1.02), run(200, 1.003), run(1000, 1.002)]
    assert shortest_converged_warmup(runs, "stan") == 200 and shortest_converged_warmup(runs, "pathfinder") is None
    # one divergence at 200 iterations: that run has not converged, whatever its R-hat and ESS (lecture 2's rule)
    runs[3] = run(200, 1.003, divergences=1)
    assert not runs[3].converged and runs[4].converged and shortest_converged_warmup(runs, "stan") == 1000


def test_a_run_converges_only_with_no_divergence_low_rhat_and_enough_ess():
    def run(rhat, ess, divergences):
        return WarmupRun("pathfinder", 200, rhat, ess, 1.0, 100, divergences)

    assert run(1.003, 1000.0, 0).converged
    assert not run(1.003, 1000.0, 1).converged and not run(1.02, 1000.0, 0).converged and not run(1.003, 399.0, 0).converged
