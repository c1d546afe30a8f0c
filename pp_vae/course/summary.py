"""What a lecture established: its key numbers (a table in the notebook, tagged for ``pp-vae course``) and how its run went."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pp_vae.files import atomic_write_text

KEY_NUMBERS_MIME = "application/vnd.pp-vae.key-numbers+json"


def key_numbers(numbers: dict[str, Any]) -> dict[str, Any]:
    """Display a lecture's key numbers as a table and tag them so ``pp-vae course`` can index them."""
    from IPython.display import display

    clean = {str(k): _plain(v) for k, v in numbers.items()}
    display(
        {
            KEY_NUMBERS_MIME: clean,
            "text/markdown": key_numbers_markdown(clean),
            "text/plain": "\n".join(f"{k}: {format_number(v)}" for k, v in clean.items()),
        },
        raw=True,
    )
    return clean


def key_numbers_markdown(numbers: dict[str, Any]) -> str:
    """``numbers`` as a Markdown table (a ``|`` inside a name or value escaped, so ``KL(p||q)`` stays in its cell)."""
    rows = "\n".join(f"| {_cell(k)} | {_cell(format_number(v))} |" for k, v in numbers.items())
    return f"| key number | value |\n|---|---|\n{rows}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy and torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def format_number(value: Any) -> str:
    """A number as a lecture shows it (4 significant figures), anything else as text."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass
class NotebookResult:
    """Outcome of executing one notebook."""

    notebook: Path
    executed: Path
    """The notebook with its outputs: the executed copy ``pp-vae course`` wrote, or the notebook itself when not run."""
    title: str
    seconds: float | None
    """Wall-clock of the run; ``None`` when the notebook was published with the outputs it was saved with."""
    error: str | None = None
    failed_cell: int | None = None
    """1-based number of the failing cell, markdown cells counted, as Jupyter shows them."""
    failed_source: str | None = None
    key_numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def write_summary(results: list[NotebookResult], path: Path) -> Path:
    """Write ``summary.json``: per lecture its title, status, seconds, failure (cell and source) and key numbers."""
    summary = {
        r.notebook.stem: {
            "title": r.title,
            "ok": r.ok,
            "seconds": None if r.seconds is None else round(r.seconds, 2),
            "error": r.error,
            "failed_cell": r.failed_cell,
            "failed_source": r.failed_source,
            "key_numbers": r.key_numbers,
        }
        for r in results
    }
    return atomic_write_text(path, json.dumps(summary, indent=2))
