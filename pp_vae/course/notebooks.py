"""Run the whole course: execute every lecture notebook in a fresh kernel, then publish them as a site.

Notebooks call :func:`pp_vae.course.key_numbers` to display the numbers a lecture established; the
runner collects them from the executed notebooks into ``summary.json``, and :mod:`pp_vae.course.site`
builds the course site from the executed notebooks.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pp_vae.course.site import build_site
from pp_vae.course.summary import KEY_NUMBERS_MIME, NotebookResult, write_summary
from pp_vae.files import atomic_write_text


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
    """Execute ``path`` top to bottom in a fresh kernel and write the executed notebook to ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
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

    executed_path = atomic_write_text(Path(out_dir) / path.name, nbformat.writes(notebook) + "\n")  # as nbformat.write ends it
    return NotebookResult(
        notebook=path,
        executed=executed_path,
        title=_title(notebook, path),
        seconds=seconds,
        error=error,
        failed_cell=current["index"] + 1 if error else None,
        failed_source=notebook.cells[current["index"]].source.strip().splitlines()[0][:80]
        if error and notebook.cells[current["index"]].source.strip()
        else None,
        key_numbers=_collect_key_numbers(notebook),
    )


def read_notebook(path: Path) -> NotebookResult:
    """The result a notebook saved with its outputs stands for, without running it (for publishing it as it is)."""
    import nbformat

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    return NotebookResult(
        notebook=path, executed=path, title=_title(notebook, path), seconds=None, key_numbers=_collect_key_numbers(notebook)
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


def run_course(
    notebooks_dir: Path,
    out_dir: Path,
    progress: bool = True,
    timeout: int = 1800,
    execute: bool = True,
    readme: Path | None = None,
    jobs: int = 1,
) -> list[NotebookResult]:
    """Execute every notebook in order (a failure does not stop the others), then write ``summary.json`` and the site.

    The executed notebooks go to ``out_dir/notebooks``, the site to ``out_dir/site`` (see
    :func:`pp_vae.course.site.build_site`). With ``execute=False`` the notebooks are published with the
    outputs they were saved with. ``readme`` (default: ``./README.md``) becomes the front page.
    """
    out_dir = Path(out_dir)
    notebooks = list_notebooks(notebooks_dir)
    if execute:
        results = [run_notebook(nb, out_dir / "notebooks", timeout=timeout, progress=progress) for nb in notebooks]
    else:
        results = [read_notebook(nb) for nb in notebooks]
    write_summary(results, out_dir / "summary.json")
    build_site(results, out_dir, readme=readme, jobs=jobs)
    return results
