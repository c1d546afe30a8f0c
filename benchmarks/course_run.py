"""Wall-clock of the whole course: `pp-vae course` (every lecture notebook in a fresh kernel), per notebook and in all.

Run: .venv/bin/python benchmarks/course_run.py   (Stan builds cached: run the tests or the course once first)
     .venv/bin/python benchmarks/course_run.py build/course/summary.json   (record a `make run` already done;
     TOTAL_SECONDS from `time make run` may follow)
The 1-minute load average at the start and end of a live run is recorded: on a shared 2-core machine the times are only as quiet as it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _run_course() -> tuple[dict, float]:
    """Run `pp-vae course` into a temporary folder: its summary and the wall-clock of the whole command."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pp_vae.cli", "course", "--out", out, "--quiet"], cwd=ROOT, capture_output=True, text=True
        )
        total = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"pp-vae course failed:\n{result.stderr[-2000:]}")
        return json.loads((Path(out) / "summary.json").read_text()), total


def main() -> None:
    load = f"1-minute load average {os.getloadavg()[0]:.1f} as it started"
    if len(sys.argv) > 1:  # a course already run: its summary.json, and the total if timed
        summary, total = json.loads(Path(sys.argv[1]).read_text()), float(sys.argv[2]) if len(sys.argv) > 2 else None
        command = f".venv/bin/python benchmarks/course_run.py {' '.join(sys.argv[1:])}"
        load = "from a run's summary.json: the load while it ran is not known to this script"
    else:
        summary, total = _run_course()
        load += f", {os.getloadavg()[0]:.1f} as it ended"
        command = ".venv/bin/python benchmarks/course_run.py"
    rows = [{"notebook": name, "seconds": entry.get("seconds"), "ok": entry.get("ok")} for name, entry in summary.items()]
    rows.append({"notebook": "all lectures", "seconds": sum(r["seconds"] or 0 for r in rows), "ok": all(r["ok"] for r in rows)})
    if total is not None:
        rows.append({"notebook": "whole command (kernel starts, HTML, site)", "seconds": total, "ok": rows[-1]["ok"]})
    record(
        "The whole course: pp-vae course",
        rows,
        command,
        notes=f"Stan programs cached; CPU only unless the machine has CUDA; {load}.",
    )


if __name__ == "__main__":
    main()
