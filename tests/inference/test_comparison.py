"""compare: methods side by side under Stan's names, any results together, and the exact posterior where known."""

import json

import pytest

from pp_vae.inference import METHODS, Comparison, compare, fit_meanfield, fit_metropolis, info
from pp_vae.models import get_model
from tests.reference import reference

pytestmark = pytest.mark.slow


def test_transformed_parameters_are_in_the_contract():
    ref = reference("eight_schools-eight_schools_noncentered")
    report = compare("eight_schools_noncentered", ref["data"], ["nuts"], draws=200, seed=3).to_json()
    assert report["parameters"][:2] == ["mu", "tau"] and "theta[8]" in report["parameters"] and "theta_raw[1]" in report["parameters"]
    json.dumps(report, allow_nan=False)


def test_the_conjugate_models_carry_their_exact_posterior():
    data = get_model("beta_bernoulli").example_data
    comparison = compare("beta_bernoulli", data, ["nuts", "meanfield"], draws=1000, seed=4)
    report = comparison.to_json()
    assert report["exact"]["theta"]["mean"] == pytest.approx(9 / 14)
    nuts = report["methods"]["nuts"]["summary"]["theta"]
    assert abs(nuts["mean"] - 9 / 14) < 5 * nuts["mcse_mean"]
    table = comparison.tidy()
    assert list(table.method[table.parameter == "theta"]) == ["exact", "nuts", "meanfield"]
    assert "exact mean" in comparison.table() and "meanfield mean" in comparison.table()


def test_results_made_any_way_compare_side_by_side():
    data = get_model("normal_known_variance").example_data
    results = {
        "metropolis": fit_metropolis("normal_known_variance", data, draws=5000, seed=5),
        "meanfield": fit_meanfield("normal_known_variance", data, guide="manual", steps=1500, seed=5),
    }
    comparison = Comparison.of(results, get_model("normal_known_variance").exact_posterior(data))
    assert comparison.parameters == ["mu"] and comparison.model == "normal_known_variance"
    exact = comparison.exact["mu"]
    for name, table in comparison.summaries().items():
        # both methods find the exact posterior mean within 5 of their Monte Carlo standard errors
        assert abs(table.loc["mu", "mean"] - exact.mean()) < 5 * table.loc["mu", "mcse_mean"] + 0.01, name
    assert info(results["metropolis"]).method == "metropolis"


def test_unknown_methods_and_empty_lists_are_named():
    with pytest.raises(ValueError, match="unknown method 'gibbs'; choose from nuts, meanfield"):
        compare("beta_bernoulli", {}, ["gibbs"])
    with pytest.raises(ValueError, match="give at least one method"):
        compare("beta_bernoulli", {}, [])
    with pytest.raises(ValueError, match="give at least one result to compare"):
        Comparison.of({})
    assert set(METHODS) == {"nuts", "meanfield"} and all(m.description for m in METHODS.values())
