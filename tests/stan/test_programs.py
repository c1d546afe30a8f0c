"""Stan programs: lookup by name or path, stanc's messages for bad programs, the bundled set."""

import pytest

from pp_vae import stan


def test_syntax_error_carries_the_compiler_message_with_line_and_column():
    with pytest.raises(stan.StanProgramError, match=r"line 2, column \d+") as caught:
        stan.load_program("data { int N; }\nparameters { real mu }\nmodel { mu ~ normal(0, 1); }")
    assert 'Expected ";"' in str(caught.value)
    assert caught.value.one_line().startswith("Syntax error in 'program.stan', line 2, column")


def test_discrete_parameter_is_a_clear_error():
    with pytest.raises(stan.StanProgramError, match="Parameters cannot be integers"):
        stan.load_program("parameters { int k; } model { }")


def test_unknown_program_names_the_choices(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Stan program named 'eight_school'.*eight_schools_noncentered"):
        stan.load_program("eight_school")
    with pytest.raises(FileNotFoundError, match="Stan program not found"):
        stan.load_program(tmp_path / "missing.stan")


def test_bundled_programs_are_found_and_compile():
    assert stan.available_programs() == [
        "banana",
        "beta_bernoulli",
        "correlated_gaussian",
        "correlated_regression",
        "eight_schools_centered",
        "eight_schools_noncentered",
        "logistic_regression",
        "normal_known_variance",
    ]
    for name in stan.available_programs():
        assert stan.load_program(name).parameters


def test_compiling_a_program_httpstan_refuses_names_its_message():
    broken = stan.StanProgram("broken", "parameters { real mu }\nmodel { mu ~ normal(0, 1); }", {})
    with pytest.raises(stan.StanProgramError, match="(?i)syntax error"):
        stan.compile_program(broken)


def test_compiling_a_program_already_in_the_cache_says_it_did_nothing():
    program = stan.load_program("normal_known_variance")
    stan.build(program, {"N": 1, "y": [0.0], "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 1.0})  # compiled here if it was not already
    assert stan.is_cached(program) and stan.compile_program(program) is False
