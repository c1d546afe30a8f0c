"""Autograding throughput: submissions graded per minute, isolated, by engine (--jobs or a Dask cluster) and worker count.

A class of N submissions of one assignment (half the instructor's answers, half with two wrong answers) is released,
then autograded into a fresh course folder once per engine and worker count, each submission in its own scratch folder
and kernel: ``jobs`` is ``autograde(jobs=W)`` (W grading processes here), ``dask`` is ``autograde(scheduler="local",
jobs=W)`` (a Dask LocalCluster of W worker threads, each submission one task). Per run: the wall-clock seconds,
submissions per minute, the mean seconds of one isolated run, which isolation the runs got, and the machine's load
average at the start and at the end. The grades must not depend on the engine or the worker count (the script checks).

Run: .venv/bin/python benchmarks/homework_throughput.py [--assignment HW] [--submissions N] [--workers 1 2]
     [--engines jobs dask]   (default: hw1_gamma_poisson, 8 submissions, 1 and 2 workers, both engines)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nbformat  # noqa: E402
from record import record  # noqa: E402

from pp_vae.course import homework  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WRONG = {  # two wrong answers per assignment (from tests/fixtures/homework/mistakes), in questions 2 and 3 or 1 and 3
    "hw1_gamma_poisson": {
        "q2-predictive": ("rate / (rate + 1.0)", "1.0 / (rate + 1.0)"),
        "q3-decision": ("distribution.sf(k - 1)", "distribution.sf(k)"),
    },
    "hw2_hierarchical_stan": {
        "q1-diagnose": (".idxmin()", ".idxmax()"),
        "q3-probability": ("(fit.posterior[name] > threshold).mean()", "(fit.posterior[name].isel(chain=0) > threshold).mean()"),
    },
}


def make_class(folder: Path, hw: str, n: int) -> None:
    """``n`` submissions of ``hw``: even-numbered students hand in the instructor's answers, odd ones two wrong answers."""
    source = nbformat.read(ROOT / "assignments" / "source" / hw / f"{hw}.ipynb", as_version=4)
    for i in range(n):
        nb = nbformat.from_dict(source)
        for cell in nb.cells:
            edit = WRONG[hw].get(cell.metadata.get("nbgrader", {}).get("grade_id")) if i % 2 else None
            if edit:
                assert cell.source.count(edit[0]) == 1, edit
                cell.source = cell.source.replace(*edit)
        (folder / f"student{i:03d}" / hw).mkdir(parents=True)
        nbformat.write(nb, folder / f"student{i:03d}" / hw / f"{hw}.ipynb")


def main(hw: str, n: int, workers: list[int], engines: list[str]) -> None:
    rows, grades = [], {}
    with tempfile.TemporaryDirectory(prefix="pp-vae-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        make_class(submissions, hw, n)
        homework.release(Path(tmp) / "release-warmup", [hw], ROOT / "assignments")
        for engine in engines:
            for w in workers:
                load = os.getloadavg()[0]
                scheduler = "local" if engine == "dask" else None
                course = Path(tmp) / f"course-{engine}-{w}"
                started = time.perf_counter()
                result = homework.autograde(submissions, course, [hw], ROOT / "assignments", jobs=w, scheduler=scheduler)
                seconds = time.perf_counter() - started
                grades[engine, w] = [(g.student, g.score, g.cells) for g in result]
                rows.append(
                    {
                        "engine": engine,
                        "workers": w,
                        "submissions": n,
                        "wall s": round(seconds, 1),
                        "submissions/min": round(60 * n / seconds, 2),
                        "mean s per isolated run": round(sum(g.seconds for g in result) / n, 1),
                        "isolation": ", ".join(sorted({g.isolation for g in result})),
                        "load avg at start": round(load, 2),
                        "load avg at end": round(os.getloadavg()[0], 2),
                    }
                )
                print(rows[-1], flush=True)
    first = next(iter(grades.values()))
    assert all(g == first for g in grades.values()), "the grades depend on the engine or the worker count"
    record(
        f"Autograding throughput: {hw}, isolated, by engine and workers",
        rows,
        f".venv/bin/python benchmarks/homework_throughput.py --assignment {hw} --submissions {n} "
        f"--workers {' '.join(map(str, workers))} --engines {' '.join(engines)}",
        notes="Wall s: the whole `homework.autograde` call (release already done once; nbgrader's sanitising, gradebook "
        "writes, the set-up Stan builds (cached after the first run) and, for dask, starting the LocalCluster included). "
        "jobs: W grading processes on this machine; dask: a Dask LocalCluster of W worker threads, each submission one "
        "task running the same isolated run. The grades are identical for every engine and worker count. Load avg: the "
        "machine's 1-minute load average (other users' work included) as each run started and ended: workers only help "
        "where cores are idle.",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="hw1_gamma_poisson", choices=sorted(WRONG))
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--engines", nargs="+", default=["jobs", "dask"], choices=["jobs", "dask"])
    args = parser.parse_args()
    main(args.assignment, args.submissions, args.workers, args.engines)
