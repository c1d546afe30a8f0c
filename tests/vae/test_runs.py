"""A run folder belongs to one run: refused when it holds another unless resumed or replaced, and one process at a time."""

import pytest

from pp_vae.files import LOCK, FolderBusyError
from pp_vae.vae import CHECKPOINT, RunFolderError, claim_run_folder, holds_run


def _earlier_run(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CHECKPOINT).write_bytes(b"weights of the earlier run")
    (folder / "metrics.json").write_text('{"epochs": 7}')
    (folder / "elbo.png").write_bytes(b"a figure")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_an_empty_folder_is_claimed_and_locked_for_the_block(tmp_path):
    with claim_run_folder(tmp_path / "run", command="pp-vae train") as lock:
        assert (tmp_path / "run" / LOCK).exists() and lock.notes == []
        with pytest.raises(FolderBusyError, match=r"run is in use by pid \d+ started .*\(pp-vae train\)"):
            with claim_run_folder(tmp_path / "run"):
                pass
    assert list((tmp_path / "run").iterdir()) == []


def test_a_folder_holding_a_run_is_refused_and_left_byte_identical(tmp_path):
    before = _earlier_run(tmp_path)
    assert holds_run(tmp_path)
    with pytest.raises(RunFolderError) as refused:
        with claim_run_folder(tmp_path):
            pytest.fail("the block must not run")
    message = str(refused.value)
    assert message.startswith(f"{tmp_path} already holds a run (checkpoint.pt, metrics.json)")
    assert "--resume" in message and "--overwrite" in message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_resume_keeps_the_run_and_overwrite_replaces_it_saying_so(tmp_path):
    before = _earlier_run(tmp_path)
    with claim_run_folder(tmp_path, resume=True) as lock:
        assert lock.notes == [] and (tmp_path / CHECKPOINT).read_bytes() == before[CHECKPOINT]
    with claim_run_folder(tmp_path, overwrite=True) as lock:
        assert lock.notes == [f"replacing the earlier run in {tmp_path} (--overwrite)"]
        assert not holds_run(tmp_path)
    with pytest.raises(ValueError, match="give one of them"):
        with claim_run_folder(tmp_path, resume=True, overwrite=True):
            pass
