"""Grading on a Dask cluster (``scheduler=``): each submission one task, the same isolated run, the same grades.

The cluster is a LocalCluster of two worker threads on this machine; the submissions are hw1's (no Stan, seconds each):
the instructor's answers, two wrong answers, and a trick on the wrong answers
(``tests/fixtures/homework/tampering/hw1_gamma_poisson.toml``), graded once one at a time (``jobs=1``, no cluster)
and once on the cluster.
"""

import tomllib
from pathlib import Path

import nbformat
import pytest

from pp_vae import cli
from pp_vae.course import grading_dask, grading_sandbox, homework

ROOT = Path(__file__).resolve().parent.parent.parent
ASSIGNMENTS = ROOT / "assignments"
HW = "hw1_gamma_poisson"
TRICKS = tomllib.loads((ROOT / "tests" / "fixtures" / "homework" / "tampering" / f"{HW}.toml").read_text())
UNREACHABLE = "tcp://127.0.0.1:9"  # the discard port: nothing listens there


def _submission(folder: Path, edits: list[dict], extra: tuple[str, str] | None = None) -> None:
    nb = nbformat.read(ASSIGNMENTS / "source" / HW / f"{HW}.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for edit in edits:
        cells[edit["cell"]].source = cells[edit["cell"]].source.replace(edit["old"], edit["new"])
    if extra is not None:
        cells[extra[0]].source += "\n" + extra[1]
    (folder / HW).mkdir(parents=True)
    nbformat.write(nb, folder / HW / f"{HW}.ipynb")


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    _submission(folder / "a-instructor", [])
    _submission(folder / "b-wrong", TRICKS["answers"])
    trick = TRICKS["trick"][0]
    _submission(folder / trick["student"], TRICKS["answers"], (trick["cell"], trick["code"]))
    return folder


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_grades_one_at_a_time_gave(submissions, tmp_path):
    serial = homework.autograde(submissions, tmp_path / "serial", [HW], assignments_dir=ASSIGNMENTS, jobs=1)
    dask = homework.autograde(submissions, tmp_path / "dask", [HW], assignments_dir=ASSIGNMENTS, jobs=2, scheduler="local")
    assert [g.student for g in dask] == ["a-instructor", "abs-global", "b-wrong"]
    assert {g.student: (g.score, g.cells, g.tampering) for g in dask} == {g.student: (g.score, g.cells, g.tampering) for g in serial}
    graded = {g.student: g for g in dask}
    assert graded["a-instructor"].cells == {"q1-tests": 3.0, "q2-tests": 3.0, "q3-tests": 2.0}  # independent truth: full marks
    assert graded["b-wrong"].cells == {"q1-tests": 3.0, "q2-tests": 0.0, "q3-tests": 0.0}
    assert any("global abs" in line for line in graded["abs-global"].tampering)
    assert all(g.isolation in grading_sandbox.ISOLATIONS and g.seconds > 0 for g in dask)
    # each run's log (the kernel's own lines, written on the worker) came back into the grader's log folder, before
    # the grader's nbgrader lines; and the gradebook is the grader's alone
    for student in graded:
        run_part, nbgrader_part = (tmp_path / "dask" / homework.LOGS / HW / f"{student}.log").read_text().split("--- nbgrader ---")
        assert run_part.strip() and "autograded" in nbgrader_part
    assert not list((tmp_path / "dask" / "autograded").rglob("gradebook.db"))


def test_an_unreachable_scheduler_is_one_error_naming_its_address_before_any_work(submissions, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grading_dask, "CONNECT_SECONDS", 1)
    with pytest.raises(RuntimeError, match=f"cannot reach the Dask scheduler at {UNREACHABLE}"):
        homework.autograde(submissions, tmp_path / "course", [HW], assignments_dir=ASSIGNMENTS, scheduler=UNREACHABLE)
    assert not (tmp_path / "course" / "gradebook.db").exists()
    status = cli.main(["homework", "autograde", str(submissions), HW, "--course", str(tmp_path / "c2"), "--scheduler", UNREACHABLE])
    assert status == 2 and f"cannot reach the Dask scheduler at {UNREACHABLE}" in capsys.readouterr().err


def test_a_task_the_cluster_loses_costs_its_submission_only(monkeypatch, tmp_path):
    class Lost:
        def submit(self, *args, **kwargs):
            raise OSError("the worker went away")

    monkeypatch.setattr(grading_dask, "_client", lambda address: Lost())
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("assert x == 1")])
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t1", "points": 1}
    run = grading_dask.run_remote("tcp://nowhere:1", nb, None, (), grading_sandbox.Limits(), tmp_path / "log")
    assert run.note == "the Dask task did not finish: OSError: the worker went away"
    assert run.notebook.cells[1].outputs[0].ename == "NotRun" and not nb.cells[1].get("outputs")


def test_a_task_carries_the_submissions_files_but_no_notebook_and_no_file_outside_its_folder(tmp_path):
    (tmp_path / "hw.ipynb").write_text("{}")
    (tmp_path / "data.csv").write_text("1,2")
    (tmp_path / "extra" / "__pycache__").mkdir(parents=True)
    (tmp_path / "extra" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tmp_path / "extra" / "notes.txt").write_text("n")
    assert grading_dask.folder_files(tmp_path) == {"data.csv": b"1,2", "extra/notes.txt": b"n"}
    with pytest.raises(ValueError, match="outside its folder: '../escape'"):
        grading_dask.run_task(nbformat.writes(nbformat.v4.new_notebook()), {"../escape": b""}, [], {})
