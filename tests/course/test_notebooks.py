"""The course runner: executes notebooks, survives a failing one, indexes the key numbers."""

import json
import subprocess
import sys

import nbformat
import pytest

from pp_vae.course import KEY_NUMBERS_MIME, list_notebooks, run_course


def _write(path, *sources):
    cells = [nbformat.v4.new_markdown_cell(f"# {path.stem} title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture()
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _write(folder / "01_good.ipynb", "x = 6 * 7", "from pp_vae.course import key_numbers\nkey_numbers({'answer': x, 'ratio': 0.25})")
    _write(folder / "02_broken.ipynb", "y = 1", "assert y == 2, 'y is not two'", "z = 3")
    _write(folder / "03_after.ipynb", "from pp_vae.course import key_numbers\nkey_numbers({'still ran': True})")
    return folder


@pytest.mark.slow
def test_course_runs_every_notebook_and_reports_the_failure(notebooks, tmp_path):
    out = tmp_path / "site"
    results = run_course(notebooks, out, progress=False, timeout=120)
    by_name = {r.notebook.stem: r for r in results}
    assert [r.ok for r in results] == [True, False, True]
    broken = by_name["02_broken"]
    assert broken.failed_cell == 3 and broken.failed_source == "assert y == 2, 'y is not two'"
    assert broken.error == "AssertionError: y is not two"
    assert by_name["01_good"].key_numbers == {"answer": 42, "ratio": 0.25}
    assert by_name["03_after"].key_numbers == {"still ran": True}

    index = (out / "index.html").read_text()
    for stem in ("01_good", "02_broken", "03_after"):
        assert f'href="{stem}.html"' in index and (out / f"{stem}.html").exists()
    assert "FAILED in cell 3" in index and "answer" in index and "2 of 3 lectures ran" in index
    summary = json.loads((out / "summary.json").read_text())
    assert summary["01_good"]["key_numbers"]["answer"] == 42 and not summary["02_broken"]["ok"]
    # the executed HTML keeps the outputs, the key-number table among them
    assert "ratio" in (out / "01_good.html").read_text()


@pytest.mark.slow
def test_cli_course_exits_non_zero_and_names_notebook_and_cell(notebooks, tmp_path):
    out = tmp_path / "cli-site"
    result = subprocess.run(
        [sys.executable, "-m", "pp_vae.cli", "course", "--notebooks", str(notebooks), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    assert "error: 02_broken.ipynb failed in cell 3 (assert y == 2, 'y is not two'): AssertionError: y is not two" in result.stderr
    assert "2 of 3 notebooks ran" in result.stdout and (out / "index.html").exists()


def test_missing_or_empty_notebook_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook folder not found"):
        list_notebooks(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="no .ipynb notebooks in"):
        list_notebooks(tmp_path)
    result = subprocess.run([sys.executable, "-m", "pp_vae.cli", "course", "--notebooks", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("error: notebook folder not found") and "Traceback" not in result.stderr


def test_key_numbers_outputs_are_tagged_and_json_safe():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    captured = []
    shell.display_pub.publish = lambda data, **kw: captured.append(data)
    from pp_vae.course import key_numbers

    import numpy as np

    clean = key_numbers({"mean": np.float64(0.5), "count": np.int64(3), "bad": float("nan")})
    assert clean == {"mean": 0.5, "count": 3, "bad": "nan"}
    json.dumps(captured[-1][KEY_NUMBERS_MIME])
    assert "| mean | 0.5 |" in captured[-1]["text/markdown"]
