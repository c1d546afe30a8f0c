"""Data checked against a Stan data block before any build: each problem names the field."""

import warnings

import numpy as np
import pytest

from pp_vae.stan.data_block import ExtraDataWarning, block, evaluate, parse_data_block, validate_data

PROGRAM = """
// a data block with every kind of declaration the lectures use
data {
  int<lower=0> N;                      // rows
  int<lower=1> K;
  matrix[N, K] X;
  array[N] int<lower=0, upper=1> y;    /* outcomes */
  vector<lower=0, upper=200>[N] score;
  array[2, K] real z;
  cov_matrix[K] S;
  real<lower=-1, upper=N> r;
}
transformed data { real ignored = 1; }
parameters { real mu; }
model { mu ~ normal(0, 1); }
"""
GOOD = {"N": 3, "K": 2, "X": np.ones((3, 2)), "y": [0, 1, 1], "score": [10.0, 150.0, 80.0], "z": [[1, 2], [3, 4]], "S": np.eye(2), "r": 2.5}


def test_parse_reads_names_types_dims_and_bounds():
    decls = {d.name: d for d in parse_data_block(PROGRAM)}
    assert list(decls) == ["N", "K", "X", "y", "score", "z", "S", "r"]
    assert decls["y"].base == "int" and decls["y"].array_dims == ("N",) and (decls["y"].lower, decls["y"].upper) == ("0", "1")
    assert decls["X"].type_dims == ("N", "K") and decls["S"].type_dims == ("K", "K")
    assert decls["score"].upper == "200" and decls["r"].lower == "-1"
    assert "ignored" not in block(PROGRAM, "data")


def test_good_data_passes_and_ints_become_ints():
    clean = validate_data(PROGRAM, {**GOOD, "y": np.array([0.0, 1.0, 1.0])})
    assert clean["y"].dtype == np.int64 and clean["N"] == 3 and clean["X"].shape == (3, 2)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"N": None}, r"data field 'N' is missing \(declared as `int<lower=0> N`\)"),
        ({"N": 2.5}, r"data field 'N' is declared int \(`int<lower=0> N`\) but holds 2.5"),
        ({"y": [0, 1, 0.5]}, r"data field 'y' is declared int .* but holds 0.5 at \[3\]"),
        ({"y": [0, 1]}, r"data field 'y' has shape \(2,\), but `array\[N\] int<lower=0, upper=1> y` declares shape \(3,\) \(N = 3\)"),
        ({"X": np.ones((3, 3))}, r"data field 'X' has shape \(3, 3\), but `matrix\[N, K\] X` declares shape \(3, 2\) \(N = 3, K = 2\)"),
        ({"X": np.ones(3)}, r"data field 'X' is declared `matrix\[N, K\] X` with 2 dimension\(s\), but the value has shape \(3,\)"),
        ({"y": [0, 2, 1]}, r"data field 'y' must be <= 1 \(declared `array\[N\] int<lower=0, upper=1> y`\), got 2 at \[2\]"),
        ({"score": [10.0, 250.0, 1.0]}, r"data field 'score' must be <= 200 .* got 250.0 at \[2\]"),
        ({"N": -1, "X": np.ones((0, 2)), "y": [], "score": []}, r"data field 'N' must be >= 0 \(declared `int<lower=0> N`\), got -1"),
        ({"r": 3.5}, r"data field 'r' must be <= N = 3 \(declared `real<lower=-1, upper=N> r`\), got 3.5"),
        ({"z": [[1, 2], [3, "a"]]}, r"data field 'z' must hold numbers"),
    ],
)
def test_each_bad_data_class_names_the_field(change, message):
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        validate_data(PROGRAM, data)


def test_undeclared_fields_are_dropped_as_stan_does_with_a_warning_naming_them():
    extra = {**GOOD, "mom_hs": [1, 0], "Z": 1}
    with pytest.warns(ExtraDataWarning) as caught:
        clean = validate_data(PROGRAM, extra)
    assert len(caught) == 1 and str(caught[0].message) == (
        "ignored data fields 'Z', 'mom_hs', not declared in the program's data block "
        "(declared: N, K, X, y, score, z, S, r), as Stan ignores them"
    )
    assert set(clean) == set(GOOD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "ignore": no warning at all
        assert set(validate_data(PROGRAM, extra, extra_fields="ignore")) == set(GOOD)
    with pytest.raises(
        ValueError, match=r"data field 'Z' is not declared in the program's data block \(declared: N, K, X, y, score, z, S, r\)"
    ):
        validate_data(PROGRAM, extra, extra_fields="error")
    with pytest.raises(ValueError, match="extra_fields must be one of 'warn', 'ignore', 'error', got 'drop'"):
        validate_data(PROGRAM, GOOD, extra_fields="drop")


def test_evaluate_handles_simple_size_expressions():
    assert evaluate("2 * N + 1", {"N": 4}) == 9
    assert evaluate("N / 2", {"N": 5}) == 2  # Stan's integer division
    assert evaluate("size(y)", {"N": 4}) is None


def test_program_without_data_block_takes_empty_data():
    assert validate_data("parameters { real mu; } model { mu ~ normal(0, 1); }", {}) == {}
