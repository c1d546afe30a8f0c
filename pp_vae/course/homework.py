"""Homework with nbgrader: release student versions, autograde a folder of submissions, export grades.

The instructor sources live in ``assignments/source/<hw>/<hw>.ipynb`` with nbgrader's solution markers
and visible and hidden tests. Each command works in a course folder (default ``build/homework``) that
holds a copy of ``assignments/nbgrader_config.py`` and ``source/``, nbgrader's own layout, so instructors
can also run ``nbgrader`` there directly. Autograding keeps nbgrader for building the graded notebook and
writing the gradebook, but runs each submission's kernel isolated (:mod:`pp_vae.course.grading_sandbox`),
several at once with ``jobs``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from pp_vae.course.grading_sandbox import Limits
from pp_vae.files import atomic_target, writing

DEFAULT_COURSE = Path("build/homework")
CONFIG = "nbgrader_config.py"
LOGS = Path("logs") / "autograde"


def default_assignments_dir() -> Path:
    """``./assignments`` when run from a checkout, else the folder beside the installed package."""
    here = Path.cwd() / "assignments"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "assignments"


def list_assignments(assignments_dir: Path) -> list[str]:
    """The assignment names in ``assignments_dir/source``: folders holding a notebook of the same name."""
    source = Path(assignments_dir) / "source"
    if not source.is_dir():
        raise FileNotFoundError(f"no assignments: {source} does not exist")
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def prepare_course(course_dir: Path, assignments_dir: Path | None = None) -> Path:
    """Copy the nbgrader config and the instructor sources into ``course_dir`` (made if needed)."""
    assignments_dir = Path(assignments_dir or default_assignments_dir())
    list_assignments(assignments_dir)  # a clear error when there is nothing to copy
    course_dir = Path(course_dir)
    with writing(course_dir / CONFIG):
        course_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assignments_dir / CONFIG, course_dir / CONFIG)
    # only what the instructor wrote: not a Stan build folder left by running a source (hw2's compiled solution
    # program would reach the students), checkpoints or caches
    leftovers = shutil.ignore_patterns("build", ".ipynb_checkpoints", "__pycache__", "*.pyc")
    with writing(course_dir / "source"):
        shutil.copytree(assignments_dir / "source", course_dir / "source", dirs_exist_ok=True, ignore=leftovers)
    return course_dir


def _api(course_dir: Path) -> Any:
    """nbgrader's Python API bound to ``course_dir`` and its config file."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs the `alembic` executable to make a new gradebook; it sits beside this interpreter,
    # which need not be on PATH (.venv/bin/python run without activating the venv)
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    config = PyFileConfigLoader(CONFIG, path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(Path(course_dir).resolve())
    config.CourseDirectory.db_url = _database_url(course_dir) + "?timeout=300"  # parallel graders wait for each other's writes
    config.Autograde.autograde_preprocessors = _autograde_preprocessors()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _database_url(course_dir: Path) -> str:
    return f"sqlite:///{(Path(course_dir) / 'gradebook.db').resolve()}"


def _autograde_preprocessors() -> list[type]:
    """nbgrader's autograding steps with its in-process ``Execute`` swapped for the isolated run."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades

    steps = [IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    return [_sandboxed_execute(), *steps]


@dataclass(frozen=True)
class _Run:
    """What the isolated run needs besides the notebook: the limits, what to hide, where to log."""

    limits: Limits
    hidden: tuple[Path, ...]
    logs: Path
    scheduler: str = ""
    """The Dask scheduler's address when the runs go to a cluster (:mod:`pp_vae.course.grading_dask`), else empty."""


_RUN: list[_Run] = []  # the settings of the grading in progress in this process


@cache
def _sandboxed_execute() -> type:
    """An nbgrader preprocessor that runs the graded notebook in :func:`~pp_vae.course.grading_sandbox.run_isolated`."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    from pp_vae.course import grading_sandbox

    class SandboxedExecute(NbGraderPreprocessor):
        """Execute the notebook in a scratch folder, in a separate (where possible namespaced) process."""

        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            """Run isolated, read the executed notebook back, and leave a report of the run beside its log."""
            settings, info = _RUN[-1], resources["nbgrader"]
            log = settings.logs / info["assignment"] / f"{info['student']}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("")
            folder = Path(resources["metadata"]["path"])
            if settings.scheduler:
                from pp_vae.course import grading_dask

                run = grading_dask.run_remote(settings.scheduler, nb, folder, settings.hidden, settings.limits, log)
            else:
                run = grading_sandbox.run_isolated(nb, folder, settings.hidden, settings.limits, log)
            report = {
                "isolation": run.isolation,
                "seconds": round(run.seconds, 2),
                "peak_bytes": run.peak_bytes,
                "note": run.note,
                "tampering": list(run.tampering),
            }
            log.with_suffix(".json").write_text(json.dumps(report, indent=1))
            return run.notebook, resources

    return SandboxedExecute


def _last_error(log: str | None, fallback: str) -> str:
    lines = [line.strip() for line in (log or "").splitlines() if line.strip()]
    errors = [line for line in lines if "[ERROR]" in line or "Error" in line]
    return (errors or lines or [fallback])[-1][:300]


def _check_names(names: list[str] | None, known: list[str]) -> list[str]:
    names = list(names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no assignment named {unknown[0]!r}; the assignments are {', '.join(known)}")
    return names


def release(course_dir: Path = DEFAULT_COURSE, names: list[str] | None = None, assignments_dir: Path | None = None) -> dict[str, Path]:
    """Generate the student versions (solutions and hidden tests removed) into ``course_dir/release``."""
    course_dir = prepare_course(course_dir, assignments_dir)
    api = _api(course_dir)
    released = {}
    for name in _check_names(names, list_assignments(course_dir)):
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(
                f"{name}: nbgrader could not make the student version: {_last_error(result.get('log'), result.get('error', ''))}"
            )
        released[name] = course_dir / "release" / name
    return released


@dataclass(frozen=True)
class Grade:
    """One student's result on one assignment."""

    student: str
    assignment: str
    score: float
    max_score: float
    note: str = ""
    cells: dict[str, float] = field(default_factory=dict)
    """Points per graded cell (``grade_id``); a written answer not graded by hand yet is absent."""
    awaiting: tuple[str, ...] = ()
    """Written answers (``grade_id``) still to be graded by hand, in nbgrader's formgrader or :func:`grade_written`."""
    isolation: str = ""
    """How the submission ran: "bubblewrap" (namespaces, course folder hidden, no network) or "process"."""
    tampering: tuple[str, ...] = ()
    """What the submission changed that the tests rely on, as "cell q1-posterior changed builtins.abs (q1-tests: 0)"."""
    seconds: float = 0.0
    """Seconds its isolated run took."""


def autograde(
    submissions_dir: Path,
    course_dir: Path = DEFAULT_COURSE,
    names: list[str] | None = None,
    assignments_dir: Path | None = None,
    jobs: int | None = None,
    limits: Limits | None = None,
    progress: bool = False,
    scheduler: str | None = None,
) -> list[Grade]:
    """Grade every submission in ``submissions_dir/<student>/<assignment>/<assignment>.ipynb``, ``jobs`` at once.

    Each submission runs isolated (a scratch folder, a fresh kernel, ``limits``) with the hidden tests put back; a cell
    that raises costs that question's points, a missing notebook scores zero with a note, a crash, a time-out or a
    memory overrun costs that submission only, and none stops the others. ``jobs`` defaults to the cores available.
    With ``scheduler`` ("local", or a Dask scheduler's address such as ``tcp://host:8786``) each isolated run is a task
    on that Dask cluster's workers instead (``jobs``: the runs in flight, default one per worker thread); the
    gradebook is still written here alone, from the runs read back (:mod:`pp_vae.course.grading_dask`).
    Each submission's log is ``course_dir/logs/autograde/<assignment>/<student>.log``.
    """
    from pp_vae.course import grading_sandbox

    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no submissions folder at {submissions_dir}")
    with ExitStack() as stack:
        cluster = stack.enter_context(_cluster(scheduler, jobs or _cores())) if scheduler else None  # unreachable: said first
        course_dir = prepare_course(course_dir, assignments_dir)
        tasks = _submit(course_dir, submissions_dir, _check_names(names, list_assignments(course_dir)), assignments_dir)
        hidden = grading_sandbox.hidden_paths(course_dir, submissions_dir, assignments_dir or default_assignments_dir())
        settings = _Run(limits or Limits(), hidden, course_dir.resolve() / LOGS)
        set_ups = [nb for nb in (_set_up(course_dir, name) for name in sorted({name for _, name in tasks})) if nb is not None]
        if cluster is None:
            for nb in set_ups:
                grading_sandbox.warm_stan_cache(nb)
            notes = _run_all(course_dir, tasks, settings, jobs or _cores(), progress)
        else:
            from pp_vae.course import grading_dask

            address, slots = cluster
            grading_dask.warm(address, set_ups)
            notes = _run_all(course_dir, tasks, replace(settings, scheduler=address), jobs or slots, progress)
    return [_grade(course_dir, student, name, notes[student, name], submissions_dir) for student, name in tasks]


def _cluster(scheduler: str, workers: int) -> AbstractContextManager[tuple[str, int]]:
    """The Dask cluster the runs go to (:func:`~pp_vae.course.grading_dask.engine`): its scheduler's address and worker threads."""
    from pp_vae.course import grading_dask

    return grading_dask.engine(scheduler, workers)


def _submit(course_dir: Path, submissions_dir: Path, wanted: list[str], assignments_dir: Path | None) -> list[tuple[str, str]]:
    """Put each submission where nbgrader reads it (assignments released first); the (student, assignment) pairs to grade."""
    for name in wanted:  # the assignment and its grade cells must be in the gradebook first
        if not (course_dir / "release" / name).is_dir():
            release(course_dir, [name], assignments_dir)
    students = sorted(p for p in submissions_dir.iterdir() if p.is_dir())
    if not students:
        raise ValueError(f"{submissions_dir} holds no student folders (expected STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb)")
    _register_students(course_dir, [s.name for s in students])
    tasks = [(s.name, name) for s in students for name in wanted if (s / name).is_dir()]
    for student, name in tasks:  # nbgrader's layout: course/submitted/<student>/<assignment>
        target = course_dir / "submitted" / student / name
        shutil.rmtree(target, ignore_errors=True)
        with writing(target):
            shutil.copytree(submissions_dir / student / name, target)
    return tasks


def _set_up(course_dir: Path, name: str) -> Any | None:
    """The set-up cells of an assignment's source that build Stan programs (:func:`~pp_vae.course.grading_sandbox.set_up_cells`)."""
    import nbformat

    from pp_vae.course import grading_sandbox

    return grading_sandbox.set_up_cells(nbformat.read(course_dir / "source" / name / f"{name}.ipynb", as_version=4))


def _cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _register_students(course_dir: Path, students: list[str]) -> None:
    """Every student gets a row in the export, even with nothing gradable."""
    from nbgrader.api import Gradebook

    with Gradebook(_database_url(course_dir)) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


def _run_all(course_dir: Path, tasks: list[tuple[str, str]], settings: _Run, jobs: int, progress: bool) -> dict[tuple[str, str], str]:
    """Autograde every (student, assignment), ``jobs`` processes at once; the note each left (empty when all went well)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc="autograding", unit="submission", disable=not progress)
    notes: dict[tuple[str, str], str] = {}
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            notes[task] = _autograde_one(course_dir, *task, settings)
            bar.update()
    else:
        todo: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        for task in tasks:
            todo.put(task)
        done = threading.Lock()

        def work(number: int) -> None:
            """One thread, one grading process: take submissions until none is left."""
            with _Worker(settings.logs / f"worker-{number}.log") as worker:
                while True:
                    try:
                        task = todo.get_nowait()
                    except queue.Empty:
                        return
                    note = worker.grade(course_dir, *task, settings)
                    with done:
                        notes[task] = note
                        bar.set_postfix_str("/".join(task))
                        bar.update()

        with ThreadPoolExecutor(min(jobs, len(tasks))) as pool:
            for future in [pool.submit(work, number) for number in range(min(jobs, len(tasks)))]:
                future.result()
    bar.close()
    return notes


RESULT = "pp-vae-grading-result "


class _Worker:
    """A grading process that grades one submission after another: nbgrader is imported once per job, not per submission.

    A process, not a thread, because nbgrader changes the working folder while it converts a notebook.
    """

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()
            self.process.wait()

    def grade(self, course_dir: Path, student: str, name: str, settings: _Run) -> str:
        """:func:`_autograde_one` in the grading process (started again if the last one died)."""
        if self.process is None or self.process.poll() is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("a") as sink:
                command = [sys.executable, "-m", "pp_vae.course.homework"]
                self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink, text=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        job = {"course": str(course_dir), "student": student, "name": name, "limits": asdict(settings.limits)}
        job |= {"hidden": [str(h) for h in settings.hidden], "logs": str(settings.logs), "scheduler": settings.scheduler}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(RESULT):
                return str(json.loads(line[len(RESULT) :])["note"])
        return f"the grading process died (status {self.process.wait()}); see {self.log}"


def _autograde_job(job: dict[str, Any]) -> str:
    """A grading process's work: one submission, described by :meth:`_Worker.grade`'s ``job``."""
    settings = _Run(Limits(**job["limits"]), tuple(Path(h) for h in job["hidden"]), Path(job["logs"]), job["scheduler"])
    return _autograde_one(Path(job["course"]), job["student"], job["name"], settings)


def _autograde_one(course_dir: Path, student: str, name: str, settings: _Run) -> str:
    """nbgrader's autograde of one submission, its kernel run isolated; the note it leaves (empty when all went well)."""
    import warnings

    from sqlalchemy.exc import SAWarning

    (settings.logs / name / f"{student}.json").unlink(missing_ok=True)  # a report left by an earlier grading is not this one's
    _RUN.append(settings)
    try:
        with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session notices, not the student's business
            warnings.simplefilter("ignore", SAWarning)
            result = _api(course_dir).autograde(name, student, force=True, create=True)
    except Exception as error:  # noqa: BLE001 - one submission's failure is noted, the others go on
        result = {"success": False, "error": f"{type(error).__name__}: {error}"}
    finally:
        _RUN.pop()
    log = settings.logs / name / f"{student}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write("\n--- nbgrader ---\n" + str(result.get("log") or "") + str(result.get("error") or ""))
    return "" if result["success"] else _last_error(result.get("log"), result.get("error", "autograding failed"))


def _grade(course_dir: Path, student: str, name: str, note: str, submissions_dir: Path) -> Grade:
    """The gradebook's result for one submission, with its run's report (isolation, tampering, time-out) in the note."""
    from nbgrader.api import Gradebook, MissingEntry

    report = _report(course_dir, student, name)
    if not (submissions_dir / student / name / f"{name}.ipynb").is_file():
        note = f"no {name}.ipynb in the submission"
    notes = [n for n in (note, report.get("note", "")) if n]
    tampering = tuple(f"cell {t['cell']} changed {t['what']} ({t['question'] or 'no question'}: 0)" for t in report.get("tampering", []))
    if tampering:
        notes.append("tampering: " + "; ".join(tampering))
    with Gradebook(_database_url(course_dir)) as gradebook:
        max_score = gradebook.find_assignment(name).max_score
        try:
            score = gradebook.find_submission(name, student).score
        except MissingEntry:
            score = 0.0
        partial = Grade(student, name, 0.0, 0.0)
        cells, awaiting = _cell_scores(gradebook, partial)
    return Grade(
        student, name, float(score), float(max_score), "; ".join(notes), cells, awaiting,
        isolation=str(report.get("isolation", "")), tampering=tampering, seconds=float(report.get("seconds", 0.0)),
    )  # fmt: skip


def _report(course_dir: Path, student: str, name: str) -> dict[str, Any]:
    """The isolated run's report for one submission (empty when it never ran: no notebook)."""
    try:
        return dict(json.loads((course_dir.resolve() / LOGS / name / f"{student}.json").read_text()))
    except (OSError, ValueError):
        return {}


def _cell_scores(gradebook: Any, grade: Grade) -> tuple[dict[str, float], tuple[str, ...]]:
    """The points each graded cell earned in ``grade``'s submission, and the written answers still to grade by hand."""
    from nbgrader.api import MissingEntry

    try:
        notebook = gradebook.find_submission_notebook(grade.assignment, grade.assignment, grade.student)
    except MissingEntry:
        return {}, ()
    scores = {cell.name: float(cell.score) for cell in notebook.grades if cell.auto_score is not None or cell.manual_score is not None}
    return scores, tuple(sorted(cell.name for cell in notebook.grades if cell.needs_manual_grade))


def grade_written(course_dir: Path, student: str, assignment: str, cell: str, points: float, comment: str = "") -> None:
    """Record the points a written answer earned, as nbgrader's formgrader does (for marks kept outside it).

    ``cell`` is the answer cell's ``grade_id``; the points must lie between 0 and the cell's maximum. The export then
    adds them to the autograded points.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_database_url(course_dir)) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            raise ValueError(f"no graded submission of {assignment!r} by {student!r} in {course_dir}: autograde it first") from None
        written = {g.name: g for g in notebook.grades if g.cell_type == "markdown"}
        if cell not in written:
            raise ValueError(f"{assignment} has no written answer {cell!r}; its written answers are {', '.join(sorted(written)) or 'none'}")
        grade = written[cell]
        if not 0 <= points <= grade.max_score:
            raise ValueError(f"{assignment} {cell}: {points} points is outside 0..{grade.max_score:g}")
        grade.manual_score = float(points)
        grade.needs_manual_grade = False
        gradebook.db.commit()
        if comment:
            for c in notebook.comments:
                if c.name == cell:
                    c.manual_comment = comment
            gradebook.db.commit()


def export_grades(to: Path, course_dir: Path = DEFAULT_COURSE) -> Path:
    """Write every grade in the course's gradebook as CSV (nbgrader's exporter: one row per student and assignment)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    database = Path(course_dir) / "gradebook.db"
    if not database.is_file():
        raise FileNotFoundError(f"no gradebook in {course_dir}: autograde some submissions first")
    to = Path(to)
    with Gradebook(_database_url(course_dir)) as gradebook, atomic_target(to) as tmp:
        CsvExportPlugin(to=str(tmp)).export(gradebook)
    return to


if __name__ == "__main__":  # a grading process started by _Worker: one job a line in, one result a line out
    for line in sys.stdin:
        print(RESULT + json.dumps({"note": _autograde_job(json.loads(line))}), flush=True)
    if "pp_vae.course.grading_dask" in sys.modules:  # this process graded on a Dask cluster: leave it cleanly
        sys.modules["pp_vae.course.grading_dask"].close()
