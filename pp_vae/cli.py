"""The ``pp-vae`` command: ``course`` runs the lectures, ``compare`` puts inference methods side by side."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _course(args: argparse.Namespace) -> int:
    from pp_vae.course import default_notebooks_dir, run_course

    notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_dir()
    results = run_course(notebooks, Path(args.out), progress=not args.quiet, timeout=args.timeout)
    failed = [r for r in results if not r.ok]
    for r in failed:
        where = f"cell {r.failed_cell}" + (f" ({r.failed_source})" if r.failed_source else "")
        print(f"error: {r.notebook.name} failed in {where}: {r.error}", file=sys.stderr)
    print(f"{len(results) - len(failed)} of {len(results)} notebooks ran; open {Path(args.out) / 'index.html'}")
    return 1 if failed else 0


def _compare(args: argparse.Namespace) -> int:
    import json

    from pp_vae.compare import compare

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    comparison = compare(
        args.model, args.data, methods, draws=args.draws, seed=args.seed,
        extra_fields="ignore" if args.ignore_extra_data else "error",
    )
    print(comparison.table())
    report = comparison.to_json()
    for method, result in report["methods"].items():
        for warning in result["diagnostics"].get("warnings", []):
            print(f"warning ({method}): {warning}", file=sys.stderr)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        print(f"wrote {out}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pp-vae`` command."""
    parser = argparse.ArgumentParser(prog="pp-vae", description="Probabilistic programming, from conjugate posteriors to VAEs.")
    commands = parser.add_subparsers(dest="command", required=True)

    course = commands.add_parser("course", help="run every lecture notebook and write a browsable result")
    course.add_argument("--out", default="build/course", help="output folder (default: build/course)")
    course.add_argument("--notebooks", default=None, help="folder of notebooks (default: ./notebooks)")
    course.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default: 1800)")
    course.add_argument("--quiet", action="store_true", help="no progress bars")
    course.set_defaults(handler=_course)

    comp = commands.add_parser("compare", help="run inference methods side by side on a Stan model")
    comp.add_argument("model", help="a program name in stan_models/ or a path to a .stan file")
    comp.add_argument("data", help="data in Stan's JSON format")
    comp.add_argument("--methods", default="nuts", help="comma-separated methods (default: nuts)")
    comp.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain (default: 1000)")
    comp.add_argument("--seed", type=int, default=None, help="random seed for reproducible results")
    comp.add_argument("--out", default=None, help="write the JSON report here")
    comp.add_argument("--ignore-extra-data", action="store_true", help="drop data fields the program does not declare")
    comp.set_defaults(handler=_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pp-vae`` console script; returns the exit status."""
    from pp_vae.stan import StanProgramError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except StanProgramError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
