"""Run every benchmark in this folder (``make bench``); each appends to RESULTS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in {"run_all.py", "record.py"})
    failed = [s.name for s in scripts if subprocess.run([sys.executable, str(s)]).returncode != 0]
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")
