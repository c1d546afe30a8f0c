"""Running one submission isolated: a scratch folder, a fresh kernel, a time and a memory limit, no course folder.

:func:`run_isolated` writes the graded notebook (hidden tests put back, guard cells added by :func:`guarded`) into a
fresh scratch folder outside the course folder, with only the files the assignment gives the student, and runs it
there in a separate process (``python -m pp_vae.course.grading_sandbox``) that starts the kernel. Where bubblewrap
works (detected at run time, :func:`isolation`) that process runs in its own user, mount, PID, IPC and network
namespaces: the course folder, the submissions, the instructor sources, the checkout and the other scratch folders are
empty there, the rest of the file system is read-only, and there is no network. Elsewhere it is a separate process in
its own folder, with a scrubbed environment. Either way the grader reads the executed notebook back and alone writes
the gradebook; a time-out or a memory overrun kills the run and costs that submission only.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

GUARD_TAG = "pp-vae-guard"
MIME = "application/x-pp-vae-guard+json"
ISOLATIONS = ("bubblewrap", "process")
KEPT_ENVIRONMENT = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TZ")


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    seconds: float = 1800.0
    """Wall-clock seconds for the whole notebook, kernel start included."""
    cell_seconds: float = 900.0
    """Seconds for one cell (nbclient's timeout: the kernel is interrupted and the cell marked wrong)."""
    memory_bytes: int = 4 * 2**30
    """Resident memory of the run's processes together (the kernel, and a Stan compiler it starts)."""


@dataclass(frozen=True)
class SandboxRun:
    """What came back from one isolated run."""

    notebook: Any
    isolation: str
    seconds: float
    peak_bytes: int
    note: str = ""
    """Why the run stopped early (time-out, memory, crash), or empty."""
    tampering: tuple[dict[str, str], ...] = field(default_factory=tuple)
    """What the submission changed that the tests rely on: ``{"cell", "what", "question"}`` each."""


@cache
def isolation() -> str:
    """The strongest isolation this machine gives: "bubblewrap" if a trial sandbox runs, else "process".

    ``PP_VAE_SANDBOX=process`` asks for the weaker one (to compare, or where a trial is not wanted).
    """
    if os.environ.get("PP_VAE_SANDBOX", "") == "process" or shutil.which("bwrap") is None:
        return "process"
    with tempfile.TemporaryDirectory(prefix="pp-vae-probe-") as scratch:
        trial = _bwrap_prefix(Path(scratch), hidden=()) + ["true"]
        ok = subprocess.run(trial, capture_output=True, timeout=60).returncode == 0
    return "bubblewrap" if ok else "process"


def _checkout_root() -> Path | None:
    """The source checkout pp_vae is imported from (it holds the instructor sources), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _bwrap_prefix(scratch: Path, hidden: tuple[Path, ...]) -> list[str]:
    """bubblewrap's arguments: read-only root, private /tmp holding only ``scratch``, ``hidden`` folders empty, no network."""
    import pp_vae

    args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", tempfile.gettempdir()]
    needed = [Path(pp_vae.__file__).resolve().parent, Path(sys.prefix).resolve()]
    checkout = _checkout_root()
    if checkout is not None:
        needed.append(checkout / "stan_models")
    masked = {Path(tempfile.gettempdir()).resolve(), *(Path(h).resolve() for h in hidden)}
    for folder in masked:
        if folder.exists() and not folder.is_relative_to(Path(tempfile.gettempdir()).resolve()):
            args += ["--tmpfs", str(folder)]
    # what the kernel runs must stay reachable inside a hidden folder, or inside the private /tmp (a checkout or a
    # virtual environment under /tmp, as a CI clone may be)
    for folder in needed:
        if folder.exists() and any(folder.is_relative_to(m) for m in masked):
            args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    args += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--unshare-pid", "--unshare-ipc", "--unshare-net"]
    args += ["--unshare-uts", "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--"]
    return args


def hidden_paths(course_dir: Path, submissions_dir: Path, assignments_dir: Path | None) -> tuple[Path, ...]:
    """The folders a submission must not see: the course, every submission, the instructor sources, the checkout."""
    hidden = [Path(course_dir), Path(submissions_dir)]
    if assignments_dir is not None:
        hidden.append(Path(assignments_dir))
    return tuple(p.resolve() for p in hidden) + checkouts()


def checkouts() -> tuple[Path, ...]:
    """The source checkouts this process's pp_vae and Python come from (they hold the instructor sources), if any."""
    hidden = []
    checkout = _checkout_root()
    if checkout is not None:
        hidden.append(checkout)
    venv_checkout = Path(sys.prefix).resolve().parent
    if (venv_checkout / "assignments").is_dir():  # a venv inside another checkout: its sources too
        hidden.append(venv_checkout)
    return tuple(p.resolve() for p in hidden)


def set_up_cells(source: Any) -> Any | None:
    """The instructor's set-up cells of ``source`` (no answer, no test) and a cell compiling its Stan programs, as a notebook.

    The programs are the Stan texts written anywhere in ``source`` (:func:`stan_programs_in`), the answers' included:
    a submission whose program matches one then finds it compiled. None when there is nothing of Stan to build (no
    program written, no set-up cell that uses Stan): a warm-up kernel costs seconds for nothing.
    """
    import nbformat

    nb = nbformat.from_dict(source)
    programs = stan_programs_in(nb)
    given = [c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("solution")]
    nb.cells = [c for c in given if not c.metadata.get("nbgrader", {}).get("grade")]
    if not programs and not USES_STAN.search("\n".join(c.source for c in nb.cells)):
        return None
    if programs:
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "from pp_vae.stan import compile_program, load_program\n"
                f"for _code in {programs!r}:\n    compile_program(load_program(_code))"
            )
        )
    return nb


USES_STAN = re.compile(r"\bstan\b|\bfit_nuts\(|_stan\(")
"""What marks a set-up cell as one that may build a Stan program: the ``stan`` module, NUTS or a ``*_stan`` helper."""

STAN_PROGRAM = re.compile(r"\bmodel\s*\{")
"""What marks a string as a Stan program: a ``model`` block."""


def stan_programs_in(nb: Any) -> list[str]:
    """Every string literal in ``nb``'s code cells that holds a Stan program (a ``model`` block), in order, once each."""
    found: dict[str, None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics, or a cell a student broke: no literal to read
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and STAN_PROGRAM.search(node.value):
                found[node.value] = None
    return list(found)


def warm_stan_cache(set_up: Any) -> None:
    """Run ``set_up`` (:func:`set_up_cells`), trusted, so the Stan programs it builds or names land in this machine's cache.

    Isolated runs read that cache but never write it (:func:`run_isolated`): without this every submission would
    compile the instructor's programs again (about 35 s each). Run once per grading, per machine.
    """
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory(prefix="pp-vae-warm-") as folder:
        client = NotebookClient(set_up, timeout=900, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": folder}})
        client.execute()


def guarded(nb: Any, nonce: str) -> Any:
    """A copy of ``nb`` with the guard's set-up cell first and a guard cell after every code cell."""
    import nbformat

    def guard(source: str) -> Any:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata[GUARD_TAG] = True
        return cell

    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    tests = {i for i in code if _is_test(nb.cells[i])}
    name = f"_pp_vae_guard_{nonce}"
    out = nbformat.from_dict(nbformat.from_dict(nb))
    first_is_test = bool(code and code[0] in tests)
    out.cells = [
        guard(f"import pp_vae.course.grading_guard as _g\n{name} = _g.Guard({nonce!r})\ndel _g\n{name}.after('start', {first_is_test})")
    ]
    for i, cell in enumerate(nb.cells):
        out.cells.append(cell)
        if cell.cell_type == "code":
            following = next((j for j in code if j > i), None)
            out.cells.append(guard(f"{name}.after({_label(cell, i)!r}, {following in tests})"))
    return out


def _is_test(cell: Any) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"))


def _label(cell: Any, index: int) -> str:
    return str(cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}")


def read_back(executed: Any, nonce: str, died: bool) -> tuple[Any, tuple[dict[str, str], ...]]:
    """The executed notebook without the guard cells, each test touched by tampering marked wrong, and the findings."""
    findings: list[dict[str, str]] = []
    cells: list[Any] = []
    for cell in executed.cells:
        if not cell.metadata.get(GUARD_TAG):
            cells.append(cell)
            continue
        outputs = [o for o in cell.get("outputs", []) if o.get("output_type") == "display_data"]
        reports = [json.loads(o["data"][MIME]) for o in outputs if MIME in o.get("data", {})]
        label = _label(cells[-1], len(cells) - 1) if cells else "start"
        if any(r.get("nonce") == nonce for r in reports):
            findings += [f for r in reports if r.get("nonce") == nonce for f in r["findings"]]
        elif not (died and cell.get("execution_count") is None):
            findings.append({"cell": label, "what": "the grader's check after this cell did not run (it was tampered with)"})
    executed.cells = cells
    return executed, tuple(_mark(executed, f) for f in findings)


def _mark(nb: Any, finding: dict[str, str]) -> dict[str, str]:
    """Give the test that follows the tampering cell (the question it touched) an error output, so it earns nothing."""
    import nbformat

    labels = [_label(c, i) for i, c in enumerate(nb.cells)]
    start = labels.index(finding["cell"]) if finding["cell"] in labels else 0
    test = next((c for c in nb.cells[start:] if _is_test(c)), None)
    question = _label(test, 0) if test is not None else ""
    if test is not None:
        message = f"cell {finding['cell']} changed {finding['what']}"
        error = nbformat.v4.new_output("error", ename="Tampering", evalue=message, traceback=[f"Tampering: {message}"])
        test.outputs = [error, *test.get("outputs", [])]
    return {**finding, "question": question}


def _environment(scratch: Path) -> dict[str, str]:
    """The kernel's environment: nothing of the grader's but the paths and thread settings, a home in the scratch folder."""
    env = {k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}
    env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch / "tmp"),
        XDG_CACHE_HOME=str(scratch / ".cache"),
        JUPYTER_RUNTIME_DIR=str(scratch / ".jupyter-runtime"),
        JUPYTER_DATA_DIR=str(scratch / ".jupyter-data"),
        IPYTHONDIR=str(scratch / ".ipython"),
        MPLCONFIGDIR=str(scratch / ".matplotlib"),
        PYTHONNOUSERSITE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def _link_stan_cache(scratch: Path) -> None:
    """The grader's compiled Stan programs, seen through links from the scratch folder's own cache.

    A program the notebook builds goes into the scratch cache, fits are written beside the links: the grader's cache is
    never written, so one submission cannot plant a program another submission's tests would load.
    """
    try:
        from httpstan.cache import cache_directory
    except ImportError:  # pragma: no cover - httpstan is a dependency
        return
    real = cache_directory()
    if not (real / "models").is_dir():
        return
    private = scratch / ".cache" / real.relative_to(real.parent.parent)
    for model in (real / "models").iterdir():
        if model.is_dir():
            (private / "models" / model.name).mkdir(parents=True, exist_ok=True)
            for item in model.iterdir():
                if item.is_file() and not item.name.endswith(".jsonlines.gz"):
                    (private / "models" / model.name / item.name).symlink_to(item)


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss(pid: int) -> int:
    import psutil

    total = 0
    for process in _tree(pid):
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill(pid: int) -> None:
    import psutil

    for process in reversed(_tree(pid)):
        try:
            process.kill()
        except psutil.Error:
            pass


def _watch(process: subprocess.Popen[bytes], limits: Limits) -> tuple[int, str]:
    """Wait for ``process``; kill its whole tree past the time or memory limit. Returns the peak memory and why it was killed."""
    deadline, peak, note = time.monotonic() + limits.seconds, 0, ""
    while process.poll() is None:
        rss = _rss(process.pid)
        peak = max(peak, rss)
        if rss > limits.memory_bytes:
            note = f"killed: its processes used {rss / 2**30:.1f} GiB, over the {limits.memory_bytes / 2**30:.1f} GiB limit"
        elif time.monotonic() > deadline:
            note = f"killed: still running after the {limits.seconds:.0f} s limit"
        if note:
            _kill(process.pid)
            process.wait()
            break
        time.sleep(0.2)
    return peak, note


def run_isolated(
    nb: Any, files: Path | None, hidden: tuple[Path, ...], limits: Limits | None = None, log: Path | None = None
) -> SandboxRun:
    """Run ``nb`` (a graded notebook) in a fresh scratch folder holding copies of ``files``' other files; read it back."""
    import nbformat

    limits = limits or Limits()
    nonce = secrets.token_hex(8)
    kind = isolation()
    scratch = Path(tempfile.mkdtemp(prefix="pp-vae-grading-"))
    try:
        if files is not None:
            for item in Path(files).iterdir():
                if item.suffix != ".ipynb" and item.name not in (".ipynb_checkpoints", "__pycache__"):
                    (shutil.copytree if item.is_dir() else shutil.copy2)(item, scratch / item.name)
        (scratch / "tmp").mkdir()
        _link_stan_cache(scratch)
        nbformat.write(guarded(nb, nonce), scratch / "graded.ipynb")
        command = [sys.executable, "-m", "pp_vae.course.grading_sandbox", "graded.ipynb", "executed.ipynb", str(limits.cell_seconds)]
        if kind == "bubblewrap":
            command = _bwrap_prefix(scratch, hidden) + command
        started = time.monotonic()
        with open(log or os.devnull, "ab") as sink:
            environment = _environment(scratch)
            process = subprocess.Popen(command, cwd=scratch, env=environment, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            peak, note = _watch(process, limits)
        seconds = time.monotonic() - started
        status = _status(scratch)
        exited = "" if process.returncode == 0 else f"the grading process exited with status {process.returncode}"
        note = note or status.get("note", "") or exited
        executed_path = scratch / "executed.ipynb"
        executed = nbformat.read(executed_path, as_version=4) if executed_path.is_file() else not_run(guarded(nb, nonce), note)
        executed, tampering = read_back(executed, nonce, died=bool(note))
        return SandboxRun(executed, kind, seconds, peak, note, tampering)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _status(scratch: Path) -> dict[str, str]:
    try:
        return dict(json.loads((scratch / "status.json").read_text()))
    except (OSError, ValueError):
        return {}


def not_run(nb: Any, note: str) -> Any:
    """``nb`` as if every test cell had failed: the run came back with nothing."""
    import nbformat

    for cell in nb.cells:
        if _is_test(cell):
            cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=note, traceback=[f"NotRun: {note}"])]
    return nb


def _execute(source: Path, target: Path, cell_seconds: float) -> int:
    """Inside the sandbox: run the notebook in a fresh kernel, write it back executed (as far as it got), and a status."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        timeout=int(cell_seconds),
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": ["CellTimeoutError: no reply from the kernel in time"]},
        kernel_name="python3",
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        resources={"metadata": {"path": str(source.parent)}},
    )
    note = ""
    try:
        client.execute()
    except DeadKernelError:
        note = "the kernel died (a crash, or killed for memory)"
    except Exception as error:  # noqa: BLE001 - whatever stopped it, the notebook as it got is the result
        note = f"the run stopped: {type(error).__name__}: {str(error)[:200]}"
    finally:
        for cell in nb.cells:
            if _is_test(cell) and cell.get("execution_count") is None and note:
                cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=note, traceback=[f"NotRun: {note}"])]
        nbformat.write(nb, target)
        (source.parent / "status.json").write_text(json.dumps({"note": note}))
    return 0


if __name__ == "__main__":
    sys.exit(_execute(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])))
