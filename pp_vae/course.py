"""Run the whole course: execute every lecture notebook in a fresh kernel and publish it as HTML.

Notebooks call :func:`key_numbers` to display the numbers a lecture established; the runner
collects them from the executed notebooks into ``index.html`` and ``summary.json``.
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_NUMBERS_MIME = "application/vnd.pp-vae.key-numbers+json"


def key_numbers(numbers: dict[str, Any]) -> dict[str, Any]:
    """Display a lecture's key numbers as a table and tag them so ``pp-vae course`` can index them."""
    from IPython.display import display

    clean = {str(k): _plain(v) for k, v in numbers.items()}
    rows = "\n".join(f"| {k} | {_format(v)} |" for k, v in clean.items())
    display(
        {
            KEY_NUMBERS_MIME: clean,
            "text/markdown": f"| key number | value |\n|---|---|\n{rows}",
            "text/plain": "\n".join(f"{k}: {_format(v)}" for k, v in clean.items()),
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


def _format(value: Any) -> str:
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


def default_notebooks_dir() -> Path:
    """``./notebooks`` when run from a checkout, else the folder beside the installed package."""
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "notebooks"


def list_notebooks(directory: Path) -> list[Path]:
    """The lecture notebooks in ``directory``, in name order (``01_...``, ``02_...``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"notebook folder not found: {directory}")
    notebooks = sorted(p for p in directory.glob("*.ipynb") if not p.name.startswith("."))
    if not notebooks:
        raise FileNotFoundError(f"no .ipynb notebooks in {directory}")
    return notebooks


def run_notebook(path: Path, out_dir: Path, timeout: int = 1800, progress: bool = True) -> NotebookResult:
    """Execute ``path`` top to bottom in a fresh kernel and write it as HTML to ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbconvert import HTMLExporter
    from tqdm.auto import tqdm

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    code_cells = sum(1 for c in notebook.cells if c.cell_type == "code")
    current = {"index": 0}
    bar = tqdm(total=code_cells, desc=path.stem, unit="cell", disable=not progress, leave=True)

    def started(cell: Any, cell_index: int, **_: Any) -> None:
        current["index"] = cell_index

    def executed(cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type == "code":
            bar.update(1)

    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_start=started,
        on_cell_executed=executed,
    )
    start, error = time.perf_counter(), None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue}"
    except (CellTimeoutError, DeadKernelError) as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        bar.close()
    seconds = time.perf_counter() - start

    out_dir.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    html_path = out_dir / f"{path.stem}.html"
    html_path.write_text(body, encoding="utf-8")
    return NotebookResult(
        notebook=path,
        html=html_path,
        title=_title(notebook, path),
        seconds=seconds,
        error=error,
        failed_cell=current["index"] + 1 if error else None,
        failed_source=notebook.cells[current["index"]].source.strip().splitlines()[0][:80] if error and notebook.cells[current["index"]].source.strip() else None,
        key_numbers=_collect_key_numbers(notebook),
    )


def _title(notebook: Any, path: Path) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def _collect_key_numbers(notebook: Any) -> dict[str, Any]:
    numbers: dict[str, Any] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if KEY_NUMBERS_MIME in data:
                numbers.update(data[KEY_NUMBERS_MIME])
    return numbers


def run_course(notebooks_dir: Path, out_dir: Path, progress: bool = True, timeout: int = 1800) -> list[NotebookResult]:
    """Execute every notebook in order (a failure does not stop the others); write ``index.html``."""
    out_dir = Path(out_dir)
    results = [run_notebook(nb, out_dir, timeout=timeout, progress=progress) for nb in list_notebooks(notebooks_dir)]
    write_index(results, out_dir)
    return results


def write_index(results: list[NotebookResult], out_dir: Path) -> Path:
    """Write ``index.html`` (links, status, key numbers) and ``summary.json`` for ``results``."""
    out_dir = Path(out_dir)
    summary = {
        r.notebook.stem: {
            "title": r.title,
            "ok": r.ok,
            "seconds": round(r.seconds, 2),
            "error": r.error,
            "failed_cell": r.failed_cell,
            "failed_source": r.failed_source,
            "key_numbers": r.key_numbers,
        }
        for r in results
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    sections = []
    for r in results:
        status = "ran" if r.ok else f"FAILED in cell {r.failed_cell}: {html.escape(r.error or '')}"
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(_format(v))}</td></tr>" for k, v in r.key_numbers.items()
        )
        table = f"<table><tr><th>key number</th><th>value</th></tr>{rows}</table>" if rows else "<p>No key numbers recorded.</p>"
        sections.append(
            f'<section class="{"ok" if r.ok else "failed"}"><h2><a href="{html.escape(r.html.name)}">'
            f"{html.escape(r.title)}</a></h2><p>{html.escape(r.notebook.name)}: {status} ({r.seconds:.1f} s)</p>{table}</section>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pp-vae course</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
section {{ border-left: 4px solid #2a7; padding: 0.2rem 1rem; margin: 1.2rem 0; }}
section.failed {{ border-color: #c33; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }}
</style></head><body>
<h1>pp-vae: the course, run</h1>
<p>{sum(r.ok for r in results)} of {len(results)} lectures ran top to bottom. Generated {time.strftime("%Y-%m-%d %H:%M")}.</p>
{"".join(sections)}
</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
