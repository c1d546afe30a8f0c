"""Wall-clock of the whole course: `pp-vae course` (every lecture notebook in a fresh kernel), per notebook and in all.

Run: .venv/bin/python benchmarks/course_run.py   (Stan builds cached: run the tests or the course once first)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import record  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pp_vae.cli", "course", "--out", out, "--quiet"], cwd=ROOT, capture_output=True, text=True
        )
        total = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"pp-vae course failed:\n{result.stderr[-2000:]}")
        summary = json.loads((Path(out) / "summary.json").read_text())
    rows = [{"notebook": name, "seconds": entry.get("seconds"), "ok": entry.get("ok")} for name, entry in summary.items()]
    rows.append({"notebook": "all (pp-vae course, incl. kernel starts and HTML)", "seconds": total, "ok": all(r["ok"] for r in rows)})
    record(
        "The whole course: pp-vae course",
        rows,
        ".venv/bin/python benchmarks/course_run.py",
        notes="Stan programs cached; CPU only unless the machine has CUDA.",
    )


if __name__ == "__main__":
    main()
