"""Wrong answers lose exactly their question's points.

Each ``tests/fixtures/homework/mistakes/<assignment>.toml`` lists, per autograded question, a plausible
mistake (an off-by-one, a wrong sign, a variance for an sd, ...) as a literal edit of one answer cell of
the instructor source. Every edited submission is autograded by nbgrader; the questions in ``loses``
must score nothing and every other autograded question its full points.

Every run of a notebook costs seconds to minutes (Stan, VAE training), so mistakes share submissions: those in
questions two or more apart are made together in one submission (:func:`_packs`). A mistake that cost the next
question its points (the cascade most homework had) stays visible; one that skipped a question to hurt a later one
could hide behind that question's own mistake. About half as many notebooks run.
"""

import tomllib
from pathlib import Path

import nbformat
import pytest

from pp_vae.course import homework

ROOT = Path(__file__).resolve().parent.parent.parent
ASSIGNMENTS = ROOT / "assignments"
MISTAKES = ROOT / "tests" / "fixtures" / "homework" / "mistakes"
NAMES = homework.list_assignments(ASSIGNMENTS)


def _mistakes() -> list[tuple[str, str, dict]]:
    """``(student, assignment, mistake)`` for every mistake of every assignment; the student is named after it."""
    out = []
    for name in NAMES:
        for i, mistake in enumerate(tomllib.loads((MISTAKES / f"{name}.toml").read_text())["mistake"], start=1):
            out.append((f"{name.split('_')[0]}-mistake-{i}", name, mistake))
    return out


def _autograded_points(name: str) -> dict[str, float]:
    nb = nbformat.read(ASSIGNMENTS / "source" / name / f"{name}.ipynb", as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }


def _answer_order(name: str) -> list[str]:
    """The answer cells' ``grade_id`` in notebook order: question i's answer is entry i."""
    nb = nbformat.read(ASSIGNMENTS / "source" / name / f"{name}.ipynb", as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def _packs() -> dict[str, tuple[str, list[dict]]]:
    """Each submission's ``(assignment, mistakes)``: a mistake joins the first one with no mistake in its cell or next to it."""
    packs: dict[str, tuple[str, list[dict]]] = {}
    for name in NAMES:
        order, groups = _answer_order(name), []
        for _, assignment, mistake in _mistakes():
            if assignment != name:
                continue
            place = order.index(mistake["cell"])
            free = [g for g in groups if all(abs(order.index(m["cell"]) - place) > 1 for m in g)]
            free[0].append(mistake) if free else groups.append([mistake])
        for i, group in enumerate(groups, start=1):
            packs[f"{name.split('_')[0]}-pack-{i}"] = (name, group)
    return packs


def _submission(name: str, mistakes: list[dict], folder: Path) -> None:
    """The instructor source with each of ``mistakes``' literal edits, written as a student's submission."""
    nb = nbformat.read(ASSIGNMENTS / "source" / name / f"{name}.ipynb", as_version=4)
    for mistake in mistakes:
        cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mistake["cell"]]
        assert len(cells) == 1 and cells[0].metadata["nbgrader"].get("solution"), f"{name}: no answer cell {mistake['cell']!r}"
        assert cells[0].source.count(mistake["old"]) == 1, f"{name} {mistake['cell']}: {mistake['old']!r} must occur exactly once"
        cells[0].source = cells[0].source.replace(mistake["old"], mistake["new"])
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_every_autograded_question_of_every_assignment_has_a_mistake():
    for name in NAMES:
        nb = nbformat.read(ASSIGNMENTS / "source" / name / f"{name}.ipynb", as_version=4)
        answers = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
        lost = set()
        for _, assignment, mistake in _mistakes():
            if assignment == name:
                assert mistake["cell"] in answers and mistake["why"] and mistake["old"] != mistake["new"]
                assert set(mistake["loses"]) <= set(_autograded_points(name)), mistake
                lost.update(mistake["loses"])
        assert lost == set(_autograded_points(name)), f"{name}: no mistake for {set(_autograded_points(name)) - lost}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde one submission per pack of mistakes, all in one course folder."""
    submissions = tmp_path_factory.mktemp("mistakes")
    for student, (name, mistakes) in _packs().items():
        _submission(name, mistakes, submissions / student / name)
    course = tmp_path_factory.mktemp("course")
    grades = homework.autograde(submissions, course, assignments_dir=ASSIGNMENTS)
    return {grade.student: grade for grade in grades}


def test_packs_hold_every_mistake_once_and_never_two_in_neighbouring_questions():
    packed = [(name, m["cell"], m["new"]) for name, mistakes in _packs().values() for m in mistakes]
    assert sorted(packed) == sorted((name, m["cell"], m["new"]) for _, name, m in _mistakes())
    assert len(_packs()) < 0.7 * len(_mistakes())
    for name, mistakes in _packs().values():
        places = sorted(_answer_order(name).index(m["cell"]) for m in mistakes)
        assert all(b - a > 1 for a, b in zip(places, places[1:])), (name, places)


@pytest.mark.slow
@pytest.mark.parametrize("student", list(_packs()))
def test_wrong_answers_lose_exactly_their_questions_points(graded, student):
    name, mistakes = _packs()[student]
    grade, points = graded[student], _autograded_points(name)
    lost = {cell for mistake in mistakes for cell in mistake["loses"]}
    expected = {cell: 0.0 if cell in lost else float(p) for cell, p in points.items()}
    why = "; ".join(mistake["why"] for mistake in mistakes)
    assert grade.cells == expected, f"{name}: {why}: {grade.cells} (notes: {grade.note})"
    assert grade.score == sum(points.values()) - sum(points[cell] for cell in lost)


def test_a_mistake_that_does_not_match_its_cell_is_reported(tmp_path):
    with pytest.raises(AssertionError, match="must occur exactly once"):
        _submission("hw1_gamma_poisson", [{"cell": "q1-posterior", "old": "not in the cell", "new": "x"}], tmp_path / "s")
