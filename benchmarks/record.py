"""Shared by the benchmarks: print results as JSON and append them to RESULTS.md with machine info."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> dict[str, Any]:
    """What ran the benchmark: CPU count, platform, Python, torch and CUDA device if any."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def record(title: str, rows: list[dict[str, Any]], command: str, notes: str = "") -> None:
    """Print ``rows`` as JSON and append a Markdown table of them to RESULTS.md."""
    payload = {"benchmark": title, "date": datetime.date.today().isoformat(), "machine": machine(), "command": command, "rows": rows}
    print(json.dumps(payload, indent=2))
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = [
        f"\n## {title} ({payload['date']})\n",
        f"Machine: {json.dumps(payload['machine'])}  ",
        f"Reproduce: `{command}`\n",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |")
    if notes:
        lines.append(f"\n{notes}")
    with RESULTS.open("a") as f:
        f.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}", file=sys.stderr)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
