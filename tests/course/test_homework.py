"""Homework through nbgrader: sources earn full autograded marks and their written answers wait for the
instructor, releases hide solutions, rubrics and hidden tests and score zero, a missing notebook is graded not
crashed, and autograded plus written points add up in the CSV export. (Wrong answers: test_homework_mistakes.py.)"""

import csv
import re
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


def _written(notebook: Path) -> list:
    """The manually graded written answers: markdown cells that are both a solution and graded."""
    return [c for c in _cells(notebook, "grade") if c.cell_type == "markdown" and c.metadata["nbgrader"].get("solution")]


def _source(name: str) -> Path:
    return ASSIGNMENTS / "source" / name / f"{name}.ipynb"


def _solution_lines(source: Path) -> set[str]:
    """The code lines between the solution markers that the rest of the notebook does not show (the answers students must not see)."""
    given = "\n".join(
        cell.source for cell in nbformat.read(source, as_version=4).cells if not cell.metadata.get("nbgrader", {}).get("solution")
    )
    lines, inside = set(), False
    for cell in _cells(source, "solution"):
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.add(line.strip())
    return {line for line in lines if line not in given}  # a line the question itself shows is no leak


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release every assignment, then autograde the instructor sources, the blank releases and a missing notebook."""
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
    shutil.copytree(FIXTURES / "no_notebook", submissions / "no_notebook")
    grades = homework.autograde(submissions, course, assignments_dir=ASSIGNMENTS)
    return course, released, {(g.student, g.assignment): g for g in grades}


def test_there_is_an_assignment_for_each_lecture_with_a_written_answer_and_its_rubric():
    lectures = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [name.split("_")[0] for name in NAMES] == [f"hw{int(n)}" for n in lectures]
    for name in NAMES:
        source = _source(name)
        tests = [c for c in _cells(source, "grade") if c.cell_type == "code"]
        assert len(_cells(source, "solution")) >= 3 and len(tests) >= 2
        assert all("BEGIN HIDDEN TESTS" in cell.source for cell in tests), f"{name}: every check has hidden tests"
        written = _written(source)
        assert written, f"{name}: no written answer graded by hand"
        for cell in written:
            assert "**Model answer.**" in cell.source and "**Rubric (" in cell.source, f"{name}: {cell.metadata['nbgrader']['grade_id']}"
            assert f"**Rubric ({cell.metadata['nbgrader']['points']} points)" in cell.source, "the rubric states the cell's points"
        intro = nbformat.read(source, as_version=4).cells[0].source
        line = next(iter(re.findall(r"Points: [^\n]*", intro)), "")
        auto = sum(c.metadata["nbgrader"]["points"] for c in tests)
        manual = sum(c.metadata["nbgrader"]["points"] for c in written)
        stated = {int(n) for n in re.findall(r"\d+", line)}
        assert {auto, manual, auto + manual} <= stated, f"{name}: the introduction's 'Points:' line states {auto} + {manual} points"


@pytest.mark.slow
def test_every_instructor_source_earns_every_autograded_point_and_waits_for_its_written_grade(graded):
    _, _, grades = graded
    for name in NAMES:
        grade, source = grades["instructor", name], _source(name)
        autograded = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in _cells(source, "grade") if c.cell_type == "code"
        }
        written = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in _written(source)}
        assert grade.cells == autograded, grade
        assert set(grade.awaiting) == set(written) and grade.score == sum(autograded.values()), grade
        assert grade.max_score == sum(autograded.values()) + sum(written.values()) >= 8


@pytest.mark.slow
def test_released_notebooks_hold_no_solution_or_hidden_test(graded):
    _, released, _ = graded
    for name in NAMES:
        text = (released[name] / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert [p.name for p in released[name].iterdir()] == [f"{name}.ipynb"], f"{name}: the release holds more than the notebook"
        assert "**Rubric" not in text and "**Model answer" not in text, f"{name}: the rubric reached the students"
        assert all(c.source.strip() == "YOUR ANSWER HERE" for c in _written(released[name] / f"{name}.ipynb"))
        leaked = [line for line in _solution_lines(ASSIGNMENTS / "source" / name / f"{name}.ipynb") if line in text]
        assert not leaked, f"{name}: solution lines in the release: {leaked}"
        answers = [c for c in _cells(released[name] / f"{name}.ipynb", "solution") if c.cell_type == "code"]
        assert all("raise NotImplementedError()" in c.source for c in answers)


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
def test_a_missing_notebook_is_graded_zero_with_a_note_not_crashed(graded):
    _, _, grades = graded
    missing = grades["no_notebook", "hw1_gamma_poisson"]
    assert missing.score == 0 and "no hw1_gamma_poisson.ipynb in the submission" in missing.note


@pytest.mark.slow
def test_written_and_autograded_points_add_up_in_the_csv_export(graded, tmp_path):
    course, _, grades = graded
    before = {
        (r["student_id"], r["assignment"]): float(r["score"])
        for r in csv.DictReader(homework.export_grades(tmp_path / "a.csv", course).open())
    }
    assert before["instructor", "hw2_hierarchical_stan"] == grades["instructor", "hw2_hierarchical_stan"].score  # autograded only
    for name in NAMES:  # the instructor marks every model answer in full, as formgrader would
        for cell in _written(_source(name)):
            homework.grade_written(course, "instructor", name, cell.metadata["nbgrader"]["grade_id"], cell.metadata["nbgrader"]["points"])
    homework.grade_written(course, "blank", "hw1_gamma_poisson", "q4-explain", 1.5, comment="half the mechanism")
    rows = list(csv.DictReader(homework.export_grades(tmp_path / "grades.csv", course).open()))
    scores = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    for name in NAMES:
        assert scores["instructor", name] == grades["instructor", name].max_score, name
    assert scores["blank", "hw1_gamma_poisson"] == 1.5 and scores["no_notebook", "hw1_gamma_poisson"] == 0
    assert {r["student_id"] for r in rows} == {"instructor", "blank", "no_notebook"}


def test_a_written_grade_out_of_range_or_for_a_code_cell_is_refused_by_name(graded):
    course, _, _ = graded
    with pytest.raises(ValueError, match="outside 0..2"):
        homework.grade_written(course, "instructor", "hw1_gamma_poisson", "q4-explain", 3)
    with pytest.raises(ValueError, match="no written answer 'q1-tests'.*q4-explain"):
        homework.grade_written(course, "instructor", "hw1_gamma_poisson", "q1-tests", 1)
    with pytest.raises(ValueError, match="no graded submission .* by 'nobody'"):
        homework.grade_written(course, "nobody", "hw1_gamma_poisson", "q4-explain", 1)


def test_no_test_cell_is_where_a_stan_program_is_first_built():
    """A first Stan build prints to stderr, and nbgrader gives a test cell that writes to stderr no points: on a
    fresh machine a correct answer would lose them. Every program a test cell fits is built in the set-up first."""
    for name in NAMES:
        cells = nbformat.read(_source(name), as_version=4).cells
        built = "\n".join(c.source for c in cells if not c.metadata["nbgrader"].get("grade") and "stan.build(" in c.source)
        for cell in _cells(_source(name), "grade"):
            for program in re.findall(r"(?:compare|fit_nuts)\(\s*\"([A-Za-z0-9_]+)\"", cell.source):
                assert f'"{program}"' in built, f"{name} {cell.metadata['nbgrader']['grade_id']}: build {program!r} in the set-up"


def test_a_course_folder_or_grades_file_that_cannot_be_written_is_one_line_naming_it(tmp_path, monkeypatch):
    import os
    import sys

    from nbgrader.api import Gradebook

    from pp_vae.files import WriteError

    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match=f"^cannot write {tmp_path / 'file' / 'c' / homework.CONFIG}: Not a directory$"):
        homework.prepare_course(tmp_path / "file" / "c")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # nbgrader runs alembic
    with Gradebook(homework._database_url(tmp_path)):
        pass  # an empty gradebook
    with pytest.raises(WriteError, match=f"^cannot write {tmp_path / 'file' / 'sub' / 'grades.csv'}: Not a directory$"):
        homework.export_grades(tmp_path / "file" / "sub" / "grades.csv", tmp_path)
    assert not list(tmp_path.glob("**/.grades.csv*"))


def test_grading_compiles_every_stan_program_the_source_writes_before_the_first_submission(graded):
    """Both hw2 programs (the given centred one, the answer's non-centred one) are found in the source and compiled
    by the trusted warm-up, so a submission that writes either does not compile it again in its sandbox."""
    from pp_vae.course.grading_sandbox import set_up_cells, stan_programs_in
    from pp_vae.stan import is_cached, load_program

    source = nbformat.read(_source("hw2_hierarchical_stan"), as_version=4)
    programs = stan_programs_in(source)
    assert [("tau * eta" in p, "theta ~ normal(mu + beta * x, tau)" in p) for p in programs] == [(False, True), (True, False)]
    assert all(is_cached(load_program(p)) for p in programs)
    assert "compile_program" in set_up_cells(source).cells[-1].source
    hw1, hw3 = (nbformat.read(_source(name), as_version=4) for name in ("hw1_gamma_poisson", "hw3_meanfield_guide"))
    assert stan_programs_in(hw1) == [] and set_up_cells(hw1) is None  # nothing of Stan: no warm-up kernel at all
    assert "stan.build(" in "".join(c.source for c in set_up_cells(hw3).cells)  # a set-up cell that builds one: warmed
