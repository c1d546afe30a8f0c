"""The course runner: executes notebooks, survives a failing one, collects the key numbers and builds the site."""

import json

import pytest

from pp_vae.course import KEY_NUMBERS_MIME, list_notebooks, run_course


@pytest.mark.slow
def test_course_runs_every_notebook_and_reports_the_failure(three_notebooks, tmp_path):
    out = tmp_path / "site"
    results = run_course(three_notebooks, out, progress=False, timeout=120)
    by_name = {r.notebook.stem: r for r in results}
    assert [r.ok for r in results] == [True, False, True]
    broken = by_name["02_broken"]
    assert broken.failed_cell == 3 and broken.failed_source == "assert y == 2, 'y is not two'"
    assert broken.error == "AssertionError: y is not two"
    assert by_name["01_good"].key_numbers == {"answer": 42, "ratio": 0.25}
    assert by_name["03_after"].key_numbers == {"still ran": True}

    summary = json.loads((out / "summary.json").read_text())
    assert summary["01_good"]["key_numbers"]["answer"] == 42 and not summary["02_broken"]["ok"]
    assert summary["02_broken"]["failed_cell"] == 3 and summary["01_good"]["seconds"] > 0
    # the site still builds, every lecture in it: the failed one flagged at its top and on the key-numbers page
    site = out / "site"
    for stem in ("01_good", "02_broken", "03_after"):
        assert (site / "lectures" / f"{stem}.html").is_file() and (out / "notebooks" / f"{stem}.ipynb").is_file()
    broken_page = (site / "lectures" / "02_broken.html").read_text()
    assert "This lecture failed in cell 3" in broken_page and "y is not two" in broken_page
    numbers = (site / "key_numbers.html").read_text()
    assert "02_broken.ipynb failed in cell 3" in numbers and "answer" in numbers and "2 of 3 lectures ran" in numbers
    # the executed pages keep the outputs, the key-number table among them
    assert "ratio" in (site / "lectures" / "01_good.html").read_text()
    assert not (out / "index.html").exists()  # the old hand-made index is gone


def test_missing_or_empty_notebook_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook folder not found"):
        list_notebooks(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no .ipynb notebooks in"):
        list_notebooks(tmp_path)


def test_key_numbers_outputs_are_tagged_and_json_safe():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    captured = []
    shell.display_pub.publish = lambda data, **kw: captured.append(data)
    import numpy as np

    from pp_vae.course import key_numbers

    clean = key_numbers({"mean": np.float64(0.5), "count": np.int64(3), "bad": float("nan")})
    assert clean == {"mean": 0.5, "count": 3, "bad": "nan"}
    json.dumps(captured[-1][KEY_NUMBERS_MIME])
    assert "| mean | 0.5 |" in captured[-1]["text/markdown"]


def test_every_lecture_assignment_and_test_names_the_device_it_trains_on():
    """On a GPU machine ``train``'s default ``auto`` picks CUDA; code that then feeds the model CPU tensors fails there.

    Found on an H100: lectures 7 and 8 trained without naming a device and crashed at their first use of the model,
    and a VAE test failed there too. Each call of ``train`` in a lecture, an assignment or a test says where it runs (``device=...``),
    so a CPU-only run checks it.
    """
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = {path.name: path.read_text() for path in sorted(root.glob("tests/**/test_*.py"))}
    for path in sorted([*root.glob("notebooks/*.ipynb"), *root.glob("assignments/source/*/*.ipynb")]):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "code":
                sources[f"{path.name} cell {index}"] = "".join(line for line in cell["source"] if not line.lstrip().startswith(("%", "!")))
    unnamed = [
        f"{name}: line {node.lineno}"
        for name, source in sources.items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "train" and "device" not in {k.arg for k in node.keywords}
    ]
    assert not unnamed, "train(...) without device=: " + "; ".join(unnamed)
