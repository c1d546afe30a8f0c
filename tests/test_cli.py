"""The ``pp-vae`` command: the compare JSON and metrics.json contracts other tools rely on, and one-line errors."""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.reference import reference

ROOT = Path(__file__).resolve().parent.parent
FLIPS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
SUMMARY_KEYS = {"mean", "sd", "q5", "q95", "ess_bulk", "ess_tail", "rhat", "mcse_mean"}
METRICS_KEYS = {"train_elbo", "test_elbo", "epochs", "seconds_per_epoch", "device"}


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "pp_vae.cli", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_help_answers_at_once_with_the_registered_choices():
    start = time.perf_counter()
    result = _cli("train", "--help", timeout=60)
    assert (
        result.returncode == 0
        and "{vae,iaf,ladder,binary}" in result.stdout
        and "{auto,binomial,bernoulli,continuous-bernoulli,gaussian}" in result.stdout
    )
    assert "{mlp,conv,linear,iwae,made}" in result.stdout and "{dynamic,fixed,none}" in result.stdout
    assert "--lr-schedule {constant,iwae}" in result.stdout and "--lr-schedule iwae" in result.stdout  # the epilog's reproduction
    assert time.perf_counter() - start < 10  # no torch, PyStan or Pyro import to list the options
    compare_help = " ".join(_cli("compare", "--help", timeout=60).stdout.split())
    assert "meanfield: mean-field Gaussian VI" in compare_help and "pathfinder: multi-path Pathfinder" in compare_help
    assert "--psis" in compare_help and "--strict-data" in compare_help and "--ignore-extra-data" in compare_help


# -- compare ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_json_contract_with_kidiq_against_the_reference(tmp_path):
    ref = reference("kidiq-kidscore_momiq")
    out = tmp_path / "kidiq.json"
    result = _cli(
        "compare",
        ref["program"],
        ref["data_path"],
        "--methods",
        "nuts",
        "--draws",
        "1000",
        "--seed",
        "5",
        "--ignore-extra-data",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"model", "parameters", "methods"}
    assert report["model"] == "model" and report["parameters"] == ["beta[1]", "beta[2]", "sigma"]
    nuts = report["methods"]["nuts"]
    assert set(nuts) == {"seconds", "gradient_evaluations", "summary", "diagnostics"}
    assert nuts["gradient_evaluations"] >= 8000 and nuts["seconds"] > 0
    assert set(nuts["diagnostics"]) >= {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences"}
    for name, truth in ref["draws"].items():
        ours = nuts["summary"][name]
        assert set(ours) == SUMMARY_KEYS
        assert abs(ours["mean"] - truth.mean()) < 0.1 * truth.std(), name
        assert ours["sd"] == pytest.approx(truth.std(), rel=0.10), name
    assert "beta[1]" in result.stdout and "nuts mean" in result.stdout


@pytest.mark.slow
def test_compare_with_meanfield_writes_khat_and_the_exact_posterior(tmp_path):
    data = tmp_path / "rho.json"
    data.write_text(json.dumps({"rho": 0.9}))
    out = tmp_path / "out.json"
    result = _cli("compare", "correlated_gaussian", data, "--methods", "nuts,meanfield", "--draws", "500", "--seed", "4", "--out", out)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"model", "parameters", "methods", "exact"} and set(report["methods"]) == {"nuts", "meanfield"}
    meanfield = report["methods"]["meanfield"]
    assert set(meanfield) == {"seconds", "gradient_evaluations", "summary", "diagnostics", "khat", "density_evaluations"}
    assert set(meanfield["summary"]["z[1]"]) == SUMMARY_KEYS and meanfield["summary"]["z[1]"]["rhat"] is None
    # the exact marginals are N(0, 1); mean-field's optimum has sd sqrt(1 - 0.9^2) = 0.436 (its fitted sd within 5%, the
    # 2000 draws' sd within 3% more), and as a proposal it misses the ridge's far mass, which k-hat says (> 0.7)
    assert report["exact"]["z[1]"]["mean"] == 0.0 and report["exact"]["z[1]"]["sd"] == pytest.approx(1.0)
    for name in ("z[1]", "z[2]"):
        assert meanfield["summary"][name]["sd"] == pytest.approx(np.sqrt(1 - 0.9**2), rel=0.08)
        assert abs(meanfield["summary"][name]["mean"]) < 0.2  # SGD stops within 0.2 sd of 0 along the flat ridge
    assert meanfield["khat"] > 0.7
    assert "exact mean" in result.stdout and "meanfield mean" in result.stdout


# -- calibrate --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_calibrate_finds_laplace_too_narrow_on_tau_and_writes_its_report(tmp_path):
    # Laplace, not mean-field: the same end-to-end path in 5 s rather than 300 (lecture 9 asserts mean-field's
    # tau miscalibration on its own 100 worlds)
    result = _cli(
        "calibrate", "eight_schools_noncentered", "--method", "laplace", "--simulations", "100", "--parameters", "mu,tau",
        "--quiet", "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "calibration.json").read_text())
    assert report["method"] == "laplace" and report["simulations"] == 100 and set(report["parameters"]) == {"mu", "tau"}
    assert all(len(ranks) == 100 and max(ranks) <= 99 for ranks in report["ranks"].values())
    tau = report["parameters"]["tau"]
    # the curvature at the mode understates tau's spread: the truth lands in the outer tenths of Laplace's draws
    # far more often than the 20% a calibrated method gives (binomial sd sqrt(0.2 * 0.8 / 100) = 0.04)
    assert tau["uniformity_p"] < 1e-4 and tau["outer_tenths"] - 0.2 > 5 * 0.04
    assert "tau" in result.stdout and "miscalibrated" in result.stdout
    assert (tmp_path / "ranks.png").stat().st_size > 10_000 and (tmp_path / "pit_ecdf.png").stat().st_size > 10_000


def test_calibrate_without_a_simulator_says_how_to_write_one(tmp_path):
    result = _cli("calibrate", "correlated_gaussian", "--quiet", "--out", tmp_path, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "'correlated_gaussian' has no bundled simulator" in result.stderr
    bad = _cli("calibrate", "eight_schools_noncentered", "--method", "gibbs", timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'gibbs'" in bad.stderr


@pytest.mark.slow
def test_compare_takes_posteriordb_data_as_it_is_naming_the_ignored_fields(tmp_path):
    ref = reference("kidiq-kidscore_momiq")
    out = tmp_path / "kidiq.json"
    result = _cli("compare", ref["program"], ref["data_path"], "--methods", "laplace,meanfield", "--psis", "--out", out)
    assert result.returncode == 0, result.stderr
    assert (
        "warning: ignored data fields 'mom_hs', 'mom_hs_new', 'mom_iq_new', not declared in the program's data block "
        "(declared: N, kid_score, mom_iq), as Stan ignores them"
    ) in result.stderr.splitlines()
    report = json.loads(out.read_text())
    assert set(report) == {"model", "parameters", "methods"}
    for method in ("laplace", "meanfield"):
        entry = report["methods"][method]
        # the contract's keys, and the added ones
        assert set(entry) == {"seconds", "gradient_evaluations", "summary", "diagnostics", "khat", "density_evaluations", "psis"}
        assert set(entry["psis"]) == {"summary", "khat", "khat_threshold", "effective_sample_size", "unique_draws"}
        assert set(entry["psis"]["summary"]["beta[1]"]) == SUMMARY_KEYS and entry["psis"]["khat"] == entry["khat"]
    # mean-field's collapse is flagged: the intercept's sd a sixth of the reference's, and k-hat above the threshold
    meanfield = report["methods"]["meanfield"]
    assert meanfield["summary"]["beta[1]"]["sd"] < 0.25 * ref["draws"]["beta[1]"].std()
    assert meanfield["khat"] > meanfield["psis"]["khat_threshold"]
    assert "meanfield+psis mean" in result.stdout and "warning (meanfield): k-hat" in result.stderr


def test_compare_strict_data_refuses_undeclared_fields_and_ignore_silences_them():
    ref = reference("kidiq-kidscore_momiq")
    result = _cli("compare", ref["program"], ref["data_path"], "--strict-data", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: data field 'mom_hs' is not declared in the program's data block (declared: N, kid_score, mom_iq); "
        "remove it, or pass extra_fields='warn' or 'ignore' to drop it as Stan does"
    )
    result = _cli("compare", ref["program"], ref["data_path"], "--methods", "laplace", "--draws", "100", "--ignore-extra-data", timeout=300)
    assert result.returncode == 0 and "ignored data field" not in result.stderr
    result = _cli("compare", ref["program"], ref["data_path"], "--strict-data", "--ignore-extra-data", timeout=60)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


@pytest.mark.parametrize(
    "program, data, message",
    [
        ("beta_bernoulli", {"N": 2, "y": [0, 3], "alpha": 1, "beta": 1}, "error: data field 'y' must be <= 1"),
        ("beta_bernoulli", {"N": 2, "y": [0, 1]}, "error: data field 'alpha' is missing"),
        ("no_such_model", {}, "error: no Stan program named 'no_such_model'"),
        ("BAD", {"N": 1}, "error: Syntax error in 'bad.stan', line 2, column"),
        ("DISCRETE", {"N": 1}, "error: Semantic error in 'discrete.stan', line 2, column 13 to column 19: Parameters cannot be integers."),
        ("NO_PARAMETERS", {"x": 1.0}, "error: Stan program 'no_parameters' declares no parameters: there is nothing to infer"),
    ],
)
def test_compare_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, program, data, message):
    texts = {
        "BAD": "data { int N; }\nparameters { real mu }\nmodel { mu ~ normal(0, 1); }\n",
        "DISCRETE": "data { int N; }\nparameters { int k; }\nmodel { }\n",
        "NO_PARAMETERS": "data { real x; }\ngenerated quantities { real y = x; }\n",
    }
    if program in texts:
        path = tmp_path / f"{program.lower()}.stan"
        path.write_text(texts[program])
        program = path
    data_path = tmp_path / "data.json"
    data_path.write_text(json.dumps(data))
    result = _cli("compare", program, data_path, "--methods", "laplace,fullrank,pathfinder", timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_compare_bad_options_and_files(tmp_path):
    assert _cli("compare", "beta_bernoulli", tmp_path / "nope.json", timeout=60).stderr.startswith("error: data file not found")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    assert _cli("compare", "beta_bernoulli", bad_json, timeout=60).stderr.startswith(f"error: data file {bad_json} is not valid JSON")
    result = _cli("compare", "beta_bernoulli", bad_json, "--methods", "gibbs", timeout=60)
    assert result.returncode == 2 and "unknown method 'gibbs'; choose from nuts" in result.stderr
    result = _cli("compare", "beta_bernoulli", bad_json, "--draws", "0", timeout=60)
    assert result.returncode == 2 and "expected a positive integer, got '0'" in result.stderr


# -- train ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_writes_the_metrics_contract_and_figures_and_resumes(tmp_path):
    out = tmp_path / "run"
    cmd = [
        "train",
        "--epochs",
        "2",
        "--latent-dim",
        "2",
        "--hidden-dim",
        "32",
        "--iwae-samples",
        "50",
        "--seed",
        "3",
        "--device",
        "cpu",
        "--out",
        out,
        "--quiet",
    ]
    result = _cli(*cmd, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRICS_KEYS | {"test_log_likelihood", "kl_per_dim", "active_units", "likelihood", "no_latent_log_likelihood"} <= set(metrics)
    assert metrics["epochs"] == 2 and metrics["device"] == "cpu"
    # with no options: the embedded MNIST digits, dynamically binarised, scored by the Bernoulli
    assert metrics["dataset"] == "mnist5k" and metrics["image_shape"] == [28, 28] and metrics["binarize"] == "dynamic"
    assert metrics["likelihood"] == "bernoulli" and "trials" not in metrics
    # the IWAE bound with K = 50 lies above the 10-draw ELBO estimate of the same images
    assert metrics["test_log_likelihood"] > metrics["test_elbo"]
    # the no-latent baseline: independent Bernoulli pixels fitted on the 4,000 training digits, about -207 nats on the test digits
    assert -215 < metrics["no_latent_log_likelihood"] < -200
    assert metrics["elbo_margin"] == pytest.approx(metrics["test_elbo"] - metrics["no_latent_log_likelihood"])
    assert "no-latent baseline" in result.stdout and "the latent code is worth" in result.stdout
    assert len(metrics["kl_per_dim"]) == 2 and sum(metrics["kl_per_dim"]) > 0
    for figure in (
        "elbo.png",
        "reconstructions.png",
        "samples.png",
        "latent_means.png",
        "manifold.png",
        "kl_per_dim.png",
        "traversals.png",
        "checkpoint.pt",
    ):
        assert (out / figure).stat().st_size > 0
    resumed = _cli(*[("3" if a == "2" and i == 2 else a) for i, a in enumerate(cmd)], "--resume", timeout=300)
    assert resumed.returncode == 0 and json.loads((out / "metrics.json").read_text())["epochs"] == 3


@pytest.mark.slow
def test_train_each_member_reports_its_collapse_numbers(tmp_path):
    for model, extra, code_dim in (
        ("ladder", ["--anneal-epochs", "1"], 7),
        ("iaf", ["--likelihood", "gaussian", "--sigma", "optimal"], 3),
        ("vae", ["--beta", "2"], 3),
    ):
        out = tmp_path / model
        result = _cli(
            "train",
            "--model",
            model,
            "--epochs",
            "2",
            "--latent-dim",
            "3",
            "--hidden-dim",
            "32",
            "--iwae-samples",
            "20",
            "--device",
            "cpu",
            "--out",
            out,
            "--quiet",
            "--dataset",
            "digits",
            *extra,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["config"]["model"] == model
        # KL per dimension for every member, one value per code dimension, none negative; active units counted among them
        assert len(metrics["kl_per_dim"]) == code_dim and min(metrics["kl_per_dim"]) >= -1e-6
        kl = np.array(metrics["kl_per_dim"])
        assert metrics["active_units"] == int((kl > metrics["active_threshold"]).sum()) and metrics["active_threshold"] == 0.05
        assert (out / "kl_per_dim.png").exists() and (out / "traversals.png").exists()
        if model == "iaf":
            assert 0 < metrics["sigma"] < 1


def test_train_bad_input_is_one_line(tmp_path):
    result = _cli("train", "--dataset", f"mnist:{tmp_path}/none", "--out", tmp_path, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: MNIST folder not found") and "Traceback" not in result.stderr
    bad = _cli("train", "--sigma", "wide", timeout=60)
    assert bad.returncode == 2 and "sigma must be a positive number, 'learned' or 'optimal', got 'wide'" in bad.stderr
    (tmp_path / "file").write_text("")
    nowhere = _cli("train", "--out", tmp_path / "file" / "run", timeout=120)
    lock = tmp_path / "file" / "run" / ".pp-vae.lock"
    assert nowhere.returncode == 1 and nowhere.stderr == f"error: cannot write {lock}: Not a directory\n"
    counts = _cli(
        "train", "--dataset", "digits", "--binarize", "none", "--trials", "5", "--epochs", "1", "--out", tmp_path / "t", timeout=120
    )
    assert counts.returncode == 2 and "x * 5 = " in counts.stderr and "is not a count" in counts.stderr


def test_the_documented_iwae_reproduction_is_the_papers_protocol():
    """The README's command for Burda et al.'s VAE row parses to the paper's networks, batch, 3,280 epochs and stages."""
    from pp_vae.cli import IWAE_PAPER_VAE_K1, IWAE_REPRODUCTION, build_parser
    from pp_vae.vae.config import iwae_stage

    readme = (ROOT / "README.md").read_text()
    assert IWAE_REPRODUCTION in readme and str(IWAE_PAPER_VAE_K1) in readme
    assert "pp-vae evaluate runs/iwae-k1 --dataset mnist:DIR --iwae-samples 5000" in readme
    args = build_parser().parse_args(IWAE_REPRODUCTION.split()[1:])
    chosen = (args.dataset, args.arch, args.hidden_dim, args.latent_dim, args.batch_size, args.lr, args.lr_schedule, args.binarize)
    assert chosen == ("mnist:DIR", "iwae", 200, 50, 20, 1e-3, "iwae", "dynamic")
    assert (args.model, args.likelihood, args.beta, args.anneal_epochs) == ("vae", "auto", 1.0, 0)  # k = 1: the ELBO, Bernoulli
    assert iwae_stage(args.epochs - 1) == 7 and iwae_stage(args.epochs) == 8  # stages i = 0..7 exactly, none cut short
    scored = build_parser().parse_args("evaluate runs/iwae-k1 --dataset mnist:DIR --iwae-samples 5000".split())
    assert (scored.run_dir, scored.dataset, scored.iwae_samples) == (args.out, "mnist:DIR", 5000)  # the paper's IWAE(5000) of that run


def test_train_refuses_an_option_the_model_does_not_read_in_one_line_before_claiming_the_folder(tmp_path, capsys):
    """In process: --flows is the IAF's alone; set for --model vae it is named, with exit status 2 and no run folder."""
    from pp_vae.cli import main

    assert main(["train", "--model", "vae", "--flows", "3", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == "error: model 'vae' does not read flows (set to 3): only model 'iaf' does\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("option", "value"), [("--arch", "rnn"), ("--lr-schedule", "cosine")])
def test_train_refuses_a_bad_arch_or_lr_schedule_in_a_line_naming_the_option(option, value, capsys):
    """In process (no training, no subprocess): argparse's last line names the option, the bad value and the choices."""
    from pp_vae.cli import main

    with pytest.raises(SystemExit) as refused:
        main(["train", option, value])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    choices = {"--arch": "'mlp', 'conv', 'linear', 'iwae', 'made'", "--lr-schedule": "'constant', 'iwae'"}[option]
    assert refused.value.code == 2 and error == f"pp-vae train: error: argument {option}: invalid choice: '{value}' (choose from {choices})"


def test_train_with_the_iwae_arch_and_schedule_records_them_and_resume_must_repeat_them(tmp_path, capsys, monkeypatch):
    """In process, two epochs on the 8x8 digits: metrics.json records both options; a resume without the schedule is one line."""
    from pp_vae.cli import main

    monkeypatch.setattr("pp_vae.plots.vae.training_figures", lambda *args, **kwargs: {})  # figures: seconds, and tested elsewhere
    out = tmp_path / "run"
    assert main([str(a) for a in _tiny_run(out, "--arch", "iwae", "--lr-schedule", "iwae", "--epochs", "2")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["lr_schedule"] == "iwae" and metrics["config"]["arch"] == "iwae"
    capsys.readouterr()
    assert main([str(a) for a in _tiny_run(out, "--arch", "iwae", "--epochs", "3", "--resume")]) == 2
    forgot = capsys.readouterr().err
    assert forgot.count("\n") == 1 and "'lr_schedule': 'iwae'" in forgot and "not with these options" in forgot


@pytest.mark.parametrize("value", ["-0.5", "nan", "lots"])
def test_train_refuses_negative_or_non_numeric_free_bits_naming_the_option(value, capsys):
    from pp_vae.cli import main

    with pytest.raises(SystemExit) as refused:
        main(["train", "--free-bits", value])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert refused.value.code == 2 and error.startswith("pp-vae train: error: argument --free-bits: ") and repr(value) in error


def test_train_a_made_decoder_with_free_bits_records_both_and_resume_must_repeat_them(tmp_path, capsys, monkeypatch):
    """In process, two epochs on the binarised 8x8 digits: metrics.json records the arch and the free bits; a resume
    without the free bits is one line naming them."""
    from pp_vae.cli import main

    monkeypatch.setattr("pp_vae.plots.vae.training_figures", lambda *args, **kwargs: {})  # figures: seconds, and tested elsewhere
    out = tmp_path / "run"
    run = _tiny_run(out, "--arch", "made", "--binarize", "dynamic", "--free-bits", "2", "--epochs", "2")
    assert main([str(a) for a in run]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["arch"] == "made" and metrics["config"]["free_bits"] == 2.0 and metrics["likelihood"] == "bernoulli"
    capsys.readouterr()
    assert main([str(a) for a in _tiny_run(out, "--arch", "made", "--binarize", "dynamic", "--epochs", "3", "--resume")]) == 2
    assert "'free_bits': 2.0" in capsys.readouterr().err


def test_train_with_the_iwae_objective_records_it_and_refuses_k_without_it(tmp_path, capsys, monkeypatch):
    """In process, one epoch on the 8x8 digits: --objective iwae --iwae-train-samples 3 lands in metrics.json's config."""
    from pp_vae.cli import main

    monkeypatch.setattr("pp_vae.plots.vae.training_figures", lambda *args, **kwargs: {})
    out = tmp_path / "run"
    assert main([str(a) for a in _tiny_run(out, "--objective", "iwae", "--iwae-train-samples", "3", "--epochs", "1")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["config"]["objective"], metrics["config"]["iwae_train_samples"]) == ("iwae", 3)
    capsys.readouterr()
    assert main([str(a) for a in _tiny_run(tmp_path / "other", "--iwae-train-samples", "3")]) == 2
    assert capsys.readouterr().err == "error: iwae_train_samples=3 needs objective='iwae' (the ELBO takes one draw per image)\n"
    assert not (tmp_path / "other").exists()


def _tiny_run(out, *extra):
    """``pp-vae train`` arguments for a run of seconds on the 8x8 digits."""
    common = ["--dataset", "digits", "--hidden-dim", "16", "--latent-dim", "2", "--iwae-samples", "0", "--device", "cpu", "--quiet"]
    return ["train", *common, "--out", out, *extra]


def _contents(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# the second run: everything imported first, then `pp-vae train` the moment the first run holds the folder
WAIT_FOR_THE_LOCK_THEN_TRAIN = """
import json, sys, time
from pathlib import Path
import pyro, torch
from pp_vae.cli import main
lock, deadline = Path(sys.argv[1]), time.time() + 120
while time.time() < deadline:
    try:
        if json.loads(lock.read_text() or "{}"):
            break
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
def test_a_second_run_into_a_folder_is_refused_while_the_first_finishes_intact(tmp_path):
    from pp_vae.files import LOCK
    from pp_vae.vae import load_checkpoint

    out = tmp_path / "run"
    args = [sys.executable, "-c", WAIT_FOR_THE_LOCK_THEN_TRAIN, out / LOCK, *_tiny_run(out, "--seed", "1", "--epochs", "1")]
    second = subprocess.Popen(list(map(str, args)), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = subprocess.Popen(
        [sys.executable, "-m", "pp_vae.cli", *map(str, _tiny_run(out, "--epochs", "20"))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second_out, second_err = second.communicate(timeout=300)
    first_out, first_err = first.communicate(timeout=300)
    assert second.returncode == 2 and second_out == "", second_err
    assert second_err.startswith(f"error: {out} is in use by pid {first.pid} started ") and second_err.count("\n") == 1
    assert second_err.endswith("(pp-vae train): wait for it to end, or use another folder\n")
    assert first.returncode == 0, first_err
    assert f"wrote {out / 'metrics.json'}, {out / 'checkpoint.pt'} and figures" in first_out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 20 and metrics["config"]["seed"] == 0 and (out / "elbo.png").stat().st_size > 0
    assert load_checkpoint(out / "checkpoint.pt")["train_config"]["seed"] == 0 and not (out / LOCK).exists()

    before = _contents(out)
    again = _cli(*_tiny_run(out, "--epochs", "1"), timeout=300)
    assert again.returncode == 2 and again.stderr == (
        f"error: {out} already holds a run (checkpoint.pt, metrics.json): "
        "continue it with --resume, replace it with --overwrite, or choose another --out\n"
    )
    assert _contents(out) == before  # byte-identical

    replaced = _cli(*_tiny_run(out, "--epochs", "1", "--overwrite"), timeout=300)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.startswith(f"note: replacing the earlier run in {out} (--overwrite)\n")
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    both = _cli(*_tiny_run(out, "--resume", "--overwrite"), timeout=60)
    assert both.returncode == 2 and "not allowed with argument --resume" in both.stderr


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_is_one_line_and_the_last_one_resumes(tmp_path):
    import resource

    out, checkpoint = tmp_path / "run", tmp_path / "run" / "checkpoint.pt"
    first = _cli(*_tiny_run(out, "--epochs", "1"), timeout=300)
    assert first.returncode == 0, first.stderr
    kept = checkpoint.read_bytes()

    def no_file_as_large_as_that_checkpoint():  # the resumed run's checkpoint is at least as large: the write fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(kept) - 1, len(kept) - 1))

    full = subprocess.run(
        [sys.executable, "-m", "pp_vae.cli", *map(str, _tiny_run(out, "--epochs", "2", "--resume"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=no_file_as_large_as_that_checkpoint,
    )
    assert full.returncode == 1, full.stderr
    assert (
        f"error: cannot write {checkpoint}: File too large; the checkpoint of epoch 1 is kept: make room and rerun with --resume"
        in full.stderr.splitlines()
    )
    assert "Traceback" not in full.stderr and "inline_container" not in full.stderr
    assert checkpoint.read_bytes() == kept and not list(out.glob(".*"))  # no temporary file, no lock left behind
    resumed = _cli(*_tiny_run(out, "--epochs", "2", "--resume"), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2


def test_course_and_homework_refuse_a_folder_another_process_holds(tmp_path):
    import os

    from pp_vae.files import FolderLock

    with FolderLock(tmp_path / "site", "pp-vae course"), FolderLock(tmp_path / "hw", "pp-vae homework autograde"):
        course = _cli("course", "--out", tmp_path / "site", "--no-execute", timeout=60)
        homework = _cli("homework", "export", "--course", tmp_path / "hw", timeout=60)
    for result, folder, command in ((course, "site", "course"), (homework, "hw", "homework autograde")):
        assert result.returncode == 2 and result.stderr.startswith(f"error: {tmp_path / folder} is in use by pid {os.getpid()} started ")
        assert f"(pp-vae {command}): wait for it to end" in result.stderr and result.stderr.count("\n") == 1


def _fake_mnist(folder, dtype_code=0x08):
    """Four IDX files of 28x28 images (8-bit grey levels, or 32-bit floats), a few per split."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    for stem, shape, labels in (
        ("train-images-idx3-ubyte", (40, 28, 28), False),
        ("train-labels-idx1-ubyte", (40,), True),
        ("t10k-images-idx3-ubyte", (16, 28, 28), False),
        ("t10k-labels-idx1-ubyte", (16,), True),
    ):
        if labels:
            array, code = rng.integers(0, 10, shape).astype(np.uint8), 0x08
        elif dtype_code == 0x08:
            array, code = rng.integers(0, 256, shape).astype(np.uint8), 0x08
        else:
            array, code = rng.random(shape).astype(">f4"), 0x0D
        header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        (folder / stem).write_bytes(header + array.tobytes())
    return folder


@pytest.mark.slow
def test_train_a_convolutional_vae_on_28x28_images(tmp_path):
    mnist = _fake_mnist(tmp_path / "mnist")
    result = _cli(
        "train",
        "--dataset",
        f"mnist:{mnist}",
        "--arch",
        "conv",
        "--epochs",
        "2",
        "--latent-dim",
        "4",
        "--hidden-dim",
        "32",
        "--batch-size",
        "8",
        "--iwae-samples",
        "10",
        "--device",
        "cpu",
        "--out",
        tmp_path / "run",
        "--quiet",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["arch"] == "conv" and metrics["likelihood"] == "bernoulli" and len(metrics["kl_per_dim"]) == 4
    assert metrics["dataset"] == f"mnist:{mnist}" and metrics["binarize"] == "dynamic"
    # scored on another folder's test images, which needs only the two t10k files, binarised as the run was trained
    other = tmp_path / "t10k-only"
    other.mkdir()
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (other / stem).write_bytes((mnist / stem).read_bytes())
    scored = _cli("evaluate", tmp_path / "run", "--dataset", f"mnist:{other}", "--iwae-samples", "5", "--out", tmp_path / "e.json")
    assert scored.returncode == 0, scored.stderr
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["images"] == 16 and report["binarize"] == "dynamic" and report["trained_on"] == f"mnist:{mnist}"
    assert {"test_elbo_se", "test_log_likelihood_se", "no_latent_log_likelihood", "log_likelihood_margin_se"} <= set(report)
    assert "the code is worth" in scored.stdout
    limited = _cli("evaluate", tmp_path / "run", "--dataset", f"mnist:{other}", "--iwae-samples", "5", "--limit", "3")
    assert limited.returncode == 0 and "3 test images" in limited.stdout
    for args, message in (
        ((tmp_path / "nowhere",), "error: run folder not found"),
        ((tmp_path / "run", "--dataset", "digits"), "error: digits: images are 8x8, but"),
        ((tmp_path / "run", "--dataset", f"mnist:{tmp_path}"), "missing t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz); scoring"),
    ):
        bad = _cli("evaluate", *args)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and message in bad.stderr and "Traceback" not in bad.stderr
    # float images have no grey levels to count: the Binomial says what it needs
    floats = _fake_mnist(tmp_path / "floats", dtype_code=0x0D)
    result = _cli("train", "--dataset", f"mnist:{floats}", "--binarize", "none", "--epochs", "1", "--out", tmp_path / "f", timeout=120)
    assert result.returncode == 2 and "has no integer grey levels: give trials (pp-vae train --trials N)" in result.stderr


# -- course and homework ------------------------------------------------------------------------------


@pytest.mark.slow
def test_course_exits_non_zero_and_names_notebook_and_cell(three_notebooks, tmp_path):
    out = tmp_path / "cli-site"
    result = _cli("course", "--notebooks", three_notebooks, "--out", out, "--quiet", timeout=300)
    assert result.returncode == 1
    assert "error: 02_broken.ipynb failed in cell 3 (assert y == 2, 'y is not two'): AssertionError: y is not two" in result.stderr
    assert "2 of 3 notebooks ran" in result.stdout and (out / "site" / "index.html").exists()
    assert f"course site built: open {(out / 'site' / 'index.html').resolve()}" in result.stdout
    again = _cli("course", "--notebooks", three_notebooks, "--out", out, "--quiet", "--no-execute", timeout=300)
    assert again.returncode == 0 and again.stdout.startswith(f"note: replacing the previous course build in {out}\n"), again.stderr


def test_course_missing_folder_is_one_line(tmp_path):
    result = _cli("course", "--notebooks", tmp_path / "nowhere", timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: notebook folder not found") and "Traceback" not in result.stderr


def test_homework_errors_are_one_line(tmp_path):
    def run(*args):
        return _cli("homework", *args, "--course", tmp_path / "c", timeout=120)

    missing = run("autograde", tmp_path / "nowhere")
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: no submissions folder at {tmp_path / 'nowhere'}"
    unknown = run("release", "hw9")
    assert unknown.returncode == 2 and "no assignment named 'hw9'; the assignments are hw1_gamma_poisson" in unknown.stderr
    no_book = run("export")
    assert no_book.returncode == 2 and "no gradebook in" in no_book.stderr
