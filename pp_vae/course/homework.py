"""Homework with nbgrader: release student versions, autograde a folder of submissions, export grades.

The instructor sources live in ``assignments/source/<hw>/<hw>.ipynb`` with nbgrader's solution markers
and visible and hidden tests. Each command works in a course folder (default ``build/homework``) that
holds a copy of ``assignments/nbgrader_config.py`` and ``source/``, nbgrader's own layout, so instructors
can also run ``nbgrader`` there directly.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pp_vae.files import atomic_target, writing

DEFAULT_COURSE = Path("build/homework")
CONFIG = "nbgrader_config.py"


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
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _database_url(course_dir: Path) -> str:
    return f"sqlite:///{(Path(course_dir) / 'gradebook.db').resolve()}"


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


def autograde(
    submissions_dir: Path, course_dir: Path = DEFAULT_COURSE, names: list[str] | None = None, assignments_dir: Path | None = None
) -> list[Grade]:
    """Grade every submission in ``submissions_dir/<student>/<assignment>/<assignment>.ipynb``.

    Each submission runs in a fresh kernel with the hidden tests put back; a cell that raises costs
    that question's points, a missing notebook scores zero with a note, and neither stops the others.
    """
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no submissions folder at {submissions_dir}")
    course_dir = prepare_course(course_dir, assignments_dir)
    known = list_assignments(course_dir)
    wanted = _check_names(names, known)
    api = _api(course_dir)
    for name in wanted:  # the assignment and its grade cells must be in the gradebook first
        if not (course_dir / "release" / name).is_dir():
            release(course_dir, [name], assignments_dir)
    grades = []
    students = sorted(p for p in submissions_dir.iterdir() if p.is_dir())
    if not students:
        raise ValueError(f"{submissions_dir} holds no student folders (expected STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb)")
    with Gradebook(_database_url(course_dir)) as gradebook:  # every student gets a row in the export, even with nothing gradable
        for student_dir in students:
            gradebook.update_or_create_student(student_dir.name)
    for student_dir in students:
        for name in wanted:
            folder = student_dir / name
            if not folder.is_dir():
                continue
            target = course_dir / "submitted" / student_dir.name / name
            shutil.rmtree(target, ignore_errors=True)
            with writing(target):
                shutil.copytree(folder, target)
            notebook_present = (folder / f"{name}.ipynb").is_file()
            with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session notices, not the student's business
                warnings.simplefilter("ignore", SAWarning)
                result = api.autograde(name, student_dir.name, force=True, create=True)
            note = "" if notebook_present else f"no {name}.ipynb in the submission"
            if not result["success"]:
                note = note or _last_error(result.get("log"), result.get("error", "autograding failed"))
            grades.append(Grade(student_dir.name, name, 0.0, 0.0, note))
    with Gradebook(_database_url(course_dir)) as gradebook:
        final = []
        for grade in grades:
            max_score = gradebook.find_assignment(grade.assignment).max_score
            try:
                score = gradebook.find_submission(grade.assignment, grade.student).score
            except MissingEntry:
                score = 0.0
            cells, awaiting = _cell_scores(gradebook, grade)
            final.append(Grade(grade.student, grade.assignment, float(score), float(max_score), grade.note, cells, awaiting))
    return final


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
