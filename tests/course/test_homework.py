"""Homework through nbgrader: sources earn full marks, releases hide solutions and score zero, partial and
broken submissions are graded, grades export as CSV."""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pp_vae.course import homework

ROOT = Path(__file__).resolve().parent.parent.parent
ASSIGNMENTS = ROOT / "assignments"
FIXTURES = ROOT / "tests" / "fixtures" / "homework"
NAMES = homework.list_assignments(ASSIGNMENTS)


def _cells(notebook: Path, kind: str) -> list:
    nb = nbformat.read(notebook, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get(kind)]


def _solution_lines(source: Path) -> set[str]:
    """The code lines between the solution markers that appear nowhere else (the answers students must not see)."""
    given = {
        line.strip()
        for cell in nbformat.read(source, as_version=4).cells
        if not cell.metadata.get("nbgrader", {}).get("solution")
        for line in cell.source.splitlines()
    }
    lines, inside = set(), False
    for cell in _cells(source, "solution"):
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.add(line.strip())
    return lines - given


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release every assignment, then autograde the instructor sources, the blank releases and the hw1 fixtures."""
    course = tmp_path_factory.mktemp("course")
    released = homework.release(course, assignments_dir=ASSIGNMENTS)
    submissions = tmp_path_factory.mktemp("submissions")
    for name in NAMES:
        for student, notebook in (
            ("instructor", ASSIGNMENTS / "source" / name / f"{name}.ipynb"),
            ("blank", released[name] / f"{name}.ipynb"),
        ):
            (submissions / student / name).mkdir(parents=True)
            shutil.copy(notebook, submissions / student / name)
    for student in ("partly_right", "raises", "no_notebook"):
        shutil.copytree(FIXTURES / student, submissions / student)
    grades = homework.autograde(submissions, course, assignments_dir=ASSIGNMENTS)
    return course, released, {(g.student, g.assignment): g for g in grades}


def test_there_is_an_assignment_for_each_of_lectures_1_to_4():
    assert [name[:3] for name in NAMES] == ["hw1", "hw2", "hw3", "hw4"]
    for name in NAMES:
        source = ASSIGNMENTS / "source" / name / f"{name}.ipynb"
        tests = _cells(source, "grade")
        assert len(_cells(source, "solution")) >= 2 and len(tests) >= 2
        assert all("BEGIN HIDDEN TESTS" in cell.source for cell in tests), f"{name}: every check has hidden tests"


@pytest.mark.slow
def test_every_instructor_source_earns_full_marks(graded):
    _, _, grades = graded
    for name in NAMES:
        grade = grades["instructor", name]
        assert grade.max_score >= 8 and grade.score == grade.max_score, grade


@pytest.mark.slow
def test_released_notebooks_hold_no_solution_or_hidden_test(graded):
    _, released, _ = graded
    for name in NAMES:
        text = (released[name] / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        leaked = [line for line in _solution_lines(ASSIGNMENTS / "source" / name / f"{name}.ipynb") if line in text]
        assert not leaked, f"{name}: solution lines in the release: {leaked}"
        assert all("raise NotImplementedError()" in c.source for c in _cells(released[name] / f"{name}.ipynb", "solution"))


@pytest.mark.slow
def test_released_notebook_runs_until_the_first_exercise_check(graded):
    _, released, _ = graded
    for name in ("hw1_gamma_poisson", "hw4_gaussian_vae"):  # the others only add Stan/SVI set-up before their first exercise
        nb = nbformat.read(released[name] / f"{name}.ipynb", as_version=4)
        NotebookClient(nb, timeout=600, allow_errors=True, resources={"metadata": {"path": str(released[name])}}).execute()
        first_error = next(i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", [])))
        first_solution = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
        assert first_error in (first_solution, first_solution + 1), f"{name}: an error before the first exercise (cell {first_error})"
        error = next(o for o in nb.cells[first_error].outputs if o.get("output_type") == "error")
        assert error["ename"] == "NotImplementedError"


@pytest.mark.slow
def test_released_notebooks_score_zero(graded):
    _, _, grades = graded
    assert all(grades["blank", name].score == 0 for name in NAMES)


@pytest.mark.slow
def test_partly_right_and_broken_submissions_are_graded_not_crashed(graded):
    _, _, grades = graded
    # question 1 right (3 points); question 2's predictive wrong, so question 3's number is wrong too
    assert grades["partly_right", "hw1_gamma_poisson"].score == 3
    # questions 1 and 2 right (6 points); the question 3 cell raises
    assert grades["raises", "hw1_gamma_poisson"].score == 6
    missing = grades["no_notebook", "hw1_gamma_poisson"]
    assert missing.score == 0 and "no hw1_gamma_poisson.ipynb in the submission" in missing.note


@pytest.mark.slow
def test_grades_export_as_csv_with_a_row_per_student_and_assignment(graded, tmp_path):
    course, _, grades = graded
    rows = list(csv.DictReader(homework.export_grades(tmp_path / "grades.csv", course).open()))
    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert scores["instructor", "hw2_hierarchical_stan"] == grades["instructor", "hw2_hierarchical_stan"].max_score
    assert scores["partly_right", "hw1_gamma_poisson"] == 3 and scores["no_notebook", "hw1_gamma_poisson"] == 0
    assert {r["student_id"] for r in rows} == {"instructor", "blank", "partly_right", "raises", "no_notebook"}
