"""`pp-vae compare`: the JSON contract, the kid-IQ reference through the CLI, clean failures."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pp_vae.compare import compare, summarise
from tests.reference import reference

CLI = [sys.executable, "-m", "pp_vae.cli", "compare"]


def _run(*args, timeout=600):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_summarise_matches_numpy_on_known_draws():
    rng = np.random.default_rng(0)
    draws = {"a": rng.normal(2.0, 3.0, size=(4, 2000))}
    s = summarise(draws)["a"]
    assert s["mean"] == pytest.approx(draws["a"].mean()) and s["sd"] == pytest.approx(draws["a"].std(ddof=1))
    assert s["q5"] == pytest.approx(np.quantile(draws["a"], 0.05))
    assert 6000 < s["ess_bulk"] < 10000 and s["rhat"] == pytest.approx(1.0, abs=0.01)  # independent draws
    assert s["mcse_mean"] == pytest.approx(3.0 / np.sqrt(s["ess_bulk"]), rel=0.05)


@pytest.mark.slow
def test_kidiq_through_the_cli_matches_the_reference(tmp_path):
    ref = reference("kidiq-kidscore_momiq")
    out = tmp_path / "kidiq.json"
    result = _run(ref["program"], ref["data_path"], "--methods", "nuts", "--draws", "1000", "--seed", "5",
                  "--ignore-extra-data", "--out", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert report["model"] == "model" and report["parameters"] == ["beta[1]", "beta[2]", "sigma"]
    nuts = report["methods"]["nuts"]
    assert set(nuts) >= {"seconds", "summary", "diagnostics"} and nuts["seconds"] > 0
    assert set(nuts["diagnostics"]) >= {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences"}
    for name, truth in ref["draws"].items():
        ours = nuts["summary"][name]
        assert set(ours) >= {"mean", "sd", "q5", "q95"}
        assert abs(ours["mean"] - truth.mean()) < 0.1 * truth.std(), name
        assert ours["sd"] == pytest.approx(truth.std(), rel=0.10), name
    assert "beta[1]" in result.stdout and "nuts mean" in result.stdout


@pytest.mark.slow
def test_transformed_parameters_are_in_the_contract():
    ref = reference("eight_schools-eight_schools_noncentered")
    report = compare("eight_schools_noncentered", ref["data"], ["nuts"], draws=200, seed=3).to_json()
    assert report["parameters"][:2] == ["mu", "tau"] and "theta[8]" in report["parameters"] and "theta_raw[1]" in report["parameters"]
    json.dumps(report, allow_nan=False)


def test_extra_data_field_is_named_with_the_way_out():
    ref = reference("kidiq-kidscore_momiq")
    result = _run(ref["program"], ref["data_path"], timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: data field 'mom_hs' is not declared in the program's data block (declared: N, kid_score, mom_iq); "
        "remove it, or pass extra_fields='ignore' (pp-vae compare: --ignore-extra-data)")


@pytest.mark.parametrize("program, data, message", [
    ("beta_bernoulli", {"N": 2, "y": [0, 3], "alpha": 1, "beta": 1}, "error: data field 'y' must be <= 1"),
    ("beta_bernoulli", {"N": 2, "y": [0, 1]}, "error: data field 'alpha' is missing"),
    ("no_such_model", {}, "error: no Stan program named 'no_such_model'"),
    ("BAD", {"N": 1}, "error: Syntax error in 'bad.stan', line 2, column"),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, program, data, message):
    if program == "BAD":
        program = tmp_path / "bad.stan"
        program.write_text("data { int N; }\nparameters { real mu }\nmodel { mu ~ normal(0, 1); }\n")
    data_path = tmp_path / "data.json"
    data_path.write_text(json.dumps(data))
    result = _run(program, data_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_options_and_files(tmp_path):
    assert _run("beta_bernoulli", tmp_path / "nope.json", timeout=60).stderr.startswith("error: data file not found")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    assert _run("beta_bernoulli", bad_json, timeout=60).stderr.startswith(f"error: data file {bad_json} is not valid JSON")
    result = _run("beta_bernoulli", bad_json, "--methods", "gibbs", timeout=60)
    assert result.returncode == 2 and "unknown method 'gibbs'; choose from nuts" in result.stderr
    result = _run("beta_bernoulli", bad_json, "--draws", "0", timeout=60)
    assert result.returncode == 2 and "expected a positive integer, got '0'" in result.stderr
