"""Submissions are untrusted code: graded isolated, in parallel, and tricks played on the hidden tests earn nothing.

The tricks (``tests/fixtures/homework/tampering/hw1_gamma_poisson.toml``) rebind builtins, patch numpy, scipy, math
or IPython from an answer cell; each must earn no more than the same answers without it and be named in the report.
The probe (``tests/fixtures/homework/probe.py``) looks for the gradebook, the instructor sources and the other
submissions from inside a submission. hw1 needs no Stan, so a submission takes seconds.
"""

import json
import sqlite3
import tomllib
from pathlib import Path

import nbformat
import pytest

from pp_vae.course import grading_sandbox, homework

ROOT = Path(__file__).resolve().parent.parent.parent
ASSIGNMENTS = ROOT / "assignments"
FIXTURES = ROOT / "tests" / "fixtures" / "homework"
HW = "hw1_gamma_poisson"
TRICKS = tomllib.loads((FIXTURES / "tampering" / f"{HW}.toml").read_text())


def _submission(folder: Path, edits: list[dict], extra: tuple[str, str] | None = None) -> None:
    """hw1's instructor source with literal ``edits`` to answer cells and ``extra`` code appended to one, as a student's file."""
    nb = nbformat.read(ASSIGNMENTS / "source" / HW / f"{HW}.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for edit in edits:
        assert cells[edit["cell"]].source.count(edit["old"]) == 1, edit
        cells[edit["cell"]].source = cells[edit["cell"]].source.replace(edit["old"], edit["new"])
    if extra is not None:
        cells[extra[0]].source += "\n" + extra[1]
    (folder / HW).mkdir(parents=True)
    nbformat.write(nb, folder / HW / f"{HW}.ipynb")


def _probe(course: Path, submissions: Path) -> str:
    text = (FIXTURES / "probe.py").read_text()
    for name, path in (("COURSE", course), ("SUBMISSIONS", submissions), ("ASSIGNMENTS", ASSIGNMENTS)):
        text = text.replace(name, str(path.resolve()))
    return text


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade (2 at once) the instructor's answers, the wrong answers, each trick on them, and the probe, in one course."""
    course, submissions = tmp_path_factory.mktemp("course"), tmp_path_factory.mktemp("submissions")
    _submission(submissions / "a-instructor", [])
    _submission(submissions / "b-wrong", TRICKS["answers"])
    for trick in TRICKS["trick"]:
        _submission(submissions / trick["student"], TRICKS["answers"], (trick["cell"], trick["code"]))
    _submission(submissions / "zz-probe", TRICKS["answers"], ("q1-posterior", _probe(course, submissions)))
    grades = homework.autograde(submissions, course, [HW], assignments_dir=ASSIGNMENTS, jobs=2)
    return course, submissions, {g.student: g for g in grades}


@pytest.mark.slow
def test_the_instructors_answers_earn_every_point_and_the_wrong_ones_lose_questions_2_and_3(graded):
    _, _, grades = graded
    assert grades["a-instructor"].cells == {"q1-tests": 3.0, "q2-tests": 3.0, "q3-tests": 2.0}
    assert not grades["a-instructor"].tampering and grades["a-instructor"].isolation in grading_sandbox.ISOLATIONS
    assert grades["b-wrong"].cells == {"q1-tests": 3.0, "q2-tests": 0.0, "q3-tests": 0.0} and not grades["b-wrong"].tampering


@pytest.mark.slow
@pytest.mark.parametrize("trick", TRICKS["trick"], ids=[t["student"] for t in TRICKS["trick"]])
def test_a_trick_earns_no_more_than_the_same_answers_and_is_named(graded, trick):
    _, _, grades = graded
    grade, honest = grades[trick["student"]], grades["b-wrong"]
    assert all(grade.cells[q] <= honest.cells[q] for q in honest.cells), (grade.cells, grade.note)
    assert any(trick["changes"] in line and f"cell {trick['cell']}" in line for line in grade.tampering), grade.tampering
    touched = next(line for line in grade.tampering if trick["changes"] in line)
    question = {"q1-posterior": "q1-tests", "q2-predictive": "q2-tests", "q3-decision": "q3-tests"}[trick["cell"]]
    assert f"({question}: 0)" in touched and grade.cells[question] == 0
    assert "tampering:" in grade.note


@pytest.mark.slow
def test_the_probe_finds_no_gradebook_no_instructor_notebook_and_changes_no_grade(graded):
    course, _, grades = graded
    executed = nbformat.read(course / "autograded" / "zz-probe" / HW / f"{HW}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    found = eval(text.split("PROBE ", 1)[1].splitlines()[0])  # the probe printed a dict literal of lists of paths
    assert not any(path.startswith(".") or path == "gradebook.db" for path in found["gradebooks"]), found
    assert not any("../../../source" in path for path in found["sources"]), found
    if grades["zz-probe"].isolation == "bubblewrap":  # a separate process alone cannot hide a folder whose path it knows
        assert found == {"gradebooks": [], "sources": [], "submissions": []}
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("select max(auto_score) from grade").fetchone()[0] <= 3
    assert grades["a-instructor"].score == 8 and grades["zz-probe"].cells == grades["b-wrong"].cells


@pytest.mark.slow
def test_one_job_gives_the_grades_two_jobs_gave(graded, tmp_path):
    _, submissions, grades = graded
    subset = tmp_path / "subset"
    for student in ("a-instructor", "b-wrong", "abs-global"):
        (subset / student).mkdir(parents=True)
        (subset / student / HW).symlink_to(submissions / student / HW)
    again = homework.autograde(subset, tmp_path / "course", [HW], assignments_dir=ASSIGNMENTS, jobs=1)
    assert {g.student: (g.score, g.cells, g.tampering) for g in again} == {
        s: (grades[s].score, grades[s].cells, grades[s].tampering) for s in ("a-instructor", "b-wrong", "abs-global")
    }


def _notebook(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


@pytest.mark.slow
def test_a_run_over_its_time_or_memory_is_killed_and_says_so(tmp_path):
    slow = grading_sandbox.run_isolated(_notebook("import time\ntime.sleep(300)"), None, (), grading_sandbox.Limits(seconds=20))
    assert slow.note.startswith("killed: still running after the 20 s limit")
    limits = grading_sandbox.Limits(memory_bytes=2**30)
    hog = grading_sandbox.run_isolated(_notebook("import numpy as np\nx = np.ones(2**28)", "y = 1"), None, (), limits)
    assert "over the 1.0 GiB limit" in hog.note and hog.peak_bytes > 2**30


@pytest.mark.slow
def test_a_dead_kernel_costs_the_tests_after_it_and_nothing_else(tmp_path):
    nb = _notebook("x = 1", "assert x == 1", "import os\nos._exit(1)", "assert x == 1")
    for i in (1, 3):
        nb.cells[i].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": f"t{i}", "points": 1}
    run = grading_sandbox.run_isolated(nb, None, ())
    assert "kernel died" in run.note
    assert not any(o.output_type == "error" for o in run.notebook.cells[1].outputs)
    assert run.notebook.cells[3].outputs[0].ename == "NotRun"


def test_the_isolation_is_detected_and_can_be_asked_to_be_weaker(monkeypatch):
    grading_sandbox.isolation.cache_clear()
    assert grading_sandbox.isolation() in grading_sandbox.ISOLATIONS
    monkeypatch.setenv("PP_VAE_SANDBOX", "process")
    grading_sandbox.isolation.cache_clear()
    try:
        assert grading_sandbox.isolation() == "process"
    finally:
        grading_sandbox.isolation.cache_clear()


def test_hidden_folders_include_the_course_the_submissions_and_the_sources(tmp_path):
    hidden = grading_sandbox.hidden_paths(tmp_path / "course", tmp_path / "subs", ASSIGNMENTS)
    assert {tmp_path.resolve() / "course", tmp_path.resolve() / "subs", ASSIGNMENTS.resolve()} <= set(hidden)


def test_guard_cells_follow_every_code_cell_and_come_out_again():
    nb = _notebook("a = 1", "b = 2")
    guarded = grading_sandbox.guarded(nb, "abc")
    assert len(guarded.cells) == 5 and all(c.metadata.get(grading_sandbox.GUARD_TAG) for c in guarded.cells[::2])
    for cell in guarded.cells[::2]:
        report = {"nonce": "abc", "cell": "x", "findings": []}
        cell.outputs = [nbformat.v4.new_output("display_data", data={grading_sandbox.MIME: json.dumps(report)})]
        cell.execution_count = 1
    back, findings = grading_sandbox.read_back(guarded, "abc", died=False)
    assert [c.source for c in back.cells] == ["a = 1", "b = 2"] and findings == ()
