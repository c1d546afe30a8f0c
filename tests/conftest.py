"""Shared pytest setup: a non-interactive matplotlib backend, the ``gpu`` marker's skip, and shared fixtures."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``gpu`` when CUDA is not available."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, split 80/20 as the course splits them."""
    from pp_vae.data import load_digits

    return load_digits()


@pytest.fixture()
def three_notebooks(tmp_path):
    """A folder of three small lecture notebooks; the second fails in its third cell."""
    import nbformat

    def write(path, *sources):
        cells = [nbformat.v4.new_markdown_cell(f"# {path.stem} title")] + [nbformat.v4.new_code_cell(s) for s in sources]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)

    folder = tmp_path / "notebooks"
    folder.mkdir()
    write(folder / "01_good.ipynb", "x = 6 * 7", "from pp_vae.course import key_numbers\nkey_numbers({'answer': x, 'ratio': 0.25})")
    write(folder / "02_broken.ipynb", "y = 1", "assert y == 2, 'y is not two'", "z = 3")
    write(folder / "03_after.ipynb", "from pp_vae.course import key_numbers\nkey_numbers({'still ran': True})")
    return folder
