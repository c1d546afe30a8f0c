"""Diagnostics of a result: R-hat, ESS and divergences of MCMC, k-hat of an approximation, with warnings."""

import numpy as np
import pytest

from pp_vae.inference import diagnostics, fit_nuts, from_draws
from pp_vae.models import get_model


def test_disagreeing_chains_and_few_effective_draws_are_warned_about():
    rng = np.random.default_rng(0)
    stuck = rng.normal(size=(4, 300)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]  # one chain elsewhere
    report = diagnostics(from_draws({"x": stuck}, method="nuts", model="toy", seconds=1.0, gradient_evaluations=1))
    assert report.max_rhat > 1.1 and report.divergences == 0
    assert any(w.startswith("R-hat") for w in report.warnings)
    assert set(report.as_dict()) == {"draws", "max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "warnings"}


def test_an_approximation_reports_its_khat():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(1, 4000))
    lp = -0.5 * (z / 2.0) ** 2  # p = N(0, 2^2) from q = N(0, 1): k = 0.75, over the threshold
    result = from_draws(
        {"z": z},
        method="meanfield",
        model="toy",
        seconds=1.0,
        gradient_evaluations=1,
        sample_stats={"lp": lp, "lp_approx": -0.5 * z**2},
        elbo=np.zeros(50),
    )
    report = diagnostics(result)
    assert report.khat == pytest.approx(0.75, abs=0.12) and report.max_rhat is None and report.steps == 50
    assert report.warnings == [report.khat_reading] and "unreliable" in report.khat_reading


@pytest.mark.slow
def test_centered_eight_schools_diverges_and_says_so():
    report = diagnostics(fit_nuts("eight_schools_centered", get_model("eight_schools_centered").example_data, seed=14))
    assert report.divergences > 0
    assert any("divergent transition" in w for w in report.warnings)
