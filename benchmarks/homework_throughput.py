"""Autograding throughput: hw1 submissions graded per minute, isolated, at 1 and at 2 jobs.

A class of N submissions (half the instructor's answers, half with two wrong answers) is released, then autograded
into a fresh course folder once per job count, each submission in its own scratch folder and kernel. Per job count:
the wall-clock seconds, submissions per minute, the mean seconds of one isolated run, and which isolation the runs got.
The grades must not depend on the job count (the script checks).

Run: .venv/bin/python benchmarks/homework_throughput.py [N] [JOBS ...]   (default: 8 submissions, jobs 1 and 2)
"""

from __future__ import annotations

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
HW = "hw1_gamma_poisson"
WRONG = {"q2-predictive": ("rate / (rate + 1.0)", "1.0 / (rate + 1.0)"), "q3-decision": ("distribution.sf(k - 1)", "distribution.sf(k)")}


def make_class(folder: Path, n: int) -> None:
    """``n`` submissions of hw1: even-numbered students hand in the instructor's answers, odd ones two wrong answers."""
    source = nbformat.read(ROOT / "assignments" / "source" / HW / f"{HW}.ipynb", as_version=4)
    for i in range(n):
        nb = nbformat.from_dict(source)
        for cell in nb.cells:
            edit = WRONG.get(cell.metadata.get("nbgrader", {}).get("grade_id")) if i % 2 else None
            if edit:
                cell.source = cell.source.replace(*edit)
        (folder / f"student{i:03d}" / HW).mkdir(parents=True)
        nbformat.write(nb, folder / f"student{i:03d}" / HW / f"{HW}.ipynb")


def main(n: int, jobs: list[int]) -> None:
    rows, grades = [], {}
    with tempfile.TemporaryDirectory(prefix="pp-vae-bench-") as tmp:
        submissions = Path(tmp) / "submissions"
        make_class(submissions, n)
        homework.release(Path(tmp) / "release-warmup", [HW], ROOT / "assignments")
        for j in jobs:
            load = os.getloadavg()[0]
            started = time.perf_counter()
            result = homework.autograde(submissions, Path(tmp) / f"course-{j}", [HW], ROOT / "assignments", jobs=j)
            seconds = time.perf_counter() - started
            grades[j] = [(g.student, g.score, g.cells) for g in result]
            rows.append(
                {
                    "jobs": j,
                    "submissions": n,
                    "wall s": round(seconds, 1),
                    "submissions/min": round(60 * n / seconds, 2),
                    "mean s per isolated run": round(sum(g.seconds for g in result) / n, 1),
                    "isolation": ", ".join(sorted({g.isolation for g in result})),
                    "load avg at start": round(load, 2),
                }
            )
            print(rows[-1], flush=True)
    assert all(g == grades[jobs[0]] for g in grades.values()), "the grades depend on the job count"
    record(
        f"Autograding throughput: {HW}, isolated, by job count",
        rows,
        f".venv/bin/python benchmarks/homework_throughput.py {n} " + " ".join(map(str, jobs)),
        notes="Wall s: the whole `homework.autograde` call (release of hw1 already done, nbgrader's sanitising and gradebook "
        "writes included). Each submission runs in its own scratch folder and kernel (bubblewrap: user, mount, PID, IPC "
        "and network namespaces). The grades are identical at every job count. Load avg: the machine's 1-minute load "
        "average as the run started (other users' work included): jobs only help where cores are idle.",
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 8, args[1:] or [1, 2])
