"""What a lecture established: its key numbers (a table in the notebook, tagged for ``pp-vae course``) and how its run went."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_NUMBERS_MIME = "application/vnd.pp-vae.key-numbers+json"


def key_numbers(numbers: dict[str, Any]) -> dict[str, Any]:
    """Display a lecture's key numbers as a table and tag them so ``pp-vae course`` can index them."""
    from IPython.display import display

    clean = {str(k): _plain(v) for k, v in numbers.items()}
    rows = "\n".join(f"| {k} | {format_number(v)} |" for k, v in clean.items())
    display(
        {
            KEY_NUMBERS_MIME: clean,
            "text/markdown": f"| key number | value |\n|---|---|\n{rows}",
            "text/plain": "\n".join(f"{k}: {format_number(v)}" for k, v in clean.items()),
        },
        raw=True,
    )
    return clean


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
    html: Path
    title: str
    seconds: float
    error: str | None = None
    failed_cell: int | None = None
    """1-based number of the failing cell, markdown cells counted, as Jupyter shows them."""
    failed_source: str | None = None
    key_numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None
