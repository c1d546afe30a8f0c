"""Shared pytest setup: a non-interactive matplotlib backend, the longest modules first, the ``gpu`` marker's skip, and shared fixtures."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

HEAVIEST_FIRST = (
    "tests/course/test_homework_mistakes.py",
    "notebooks/09_vi_meets_mcmc.ipynb",
    "tests/course/test_homework.py",
    "tests/test_cli.py",
    "notebooks/05_vae_variants.ipynb",
    "notebooks/08_rate_and_codes.ipynb",
    "notebooks/04_amortised_vae.ipynb",
    "notebooks/06_vae_limits.ipynb",
    "tests/inference/test_comparison.py",
    "notebooks/03_mean_field_vi.ipynb",
    "tests/course/test_homework_isolation.py",
    "notebooks/02_mcmc_with_stan.ipynb",
    "notebooks/07_elbo_em_ppca.ipynb",
)
"""The modules that take minutes, longest first (as measured in a full run): ``make test`` hands them out first.

Its two workers (``-n 2 --dist loadscope --no-loadscope-reorder``) each take the next module when they run low,
so starting with the longest keeps one worker from finishing a long notebook alone at the end.
"""


def _heaviest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: the modules of :data:`HEAVIEST_FIRST` in its order, then the rest as collected."""
    rank = {path: i for i, path in enumerate(HEAVIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hand out the longest modules first; skip tests marked ``gpu`` when CUDA is not available."""
    _heaviest_first(items)
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
