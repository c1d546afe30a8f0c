"""The ``pp-vae`` command: ``pp-vae course`` now; ``train`` and ``compare`` join as lectures land."""

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pp-vae`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
