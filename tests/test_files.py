"""Writing files: atomic, one-line errors naming the file and the cause, and one process per folder."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pp_vae.files import LOCK, FolderBusyError, FolderLock, WriteError, atomic_target, atomic_write, atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, text=True, **kwargs)


def test_atomic_write_replaces_the_file_and_a_failure_leaves_it_as_it_was(tmp_path):
    path = atomic_write_text(tmp_path / "new" / "a.txt", "first")
    assert path.read_text() == "first"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() makes a file, readable by a web server serving the site

    def fails(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(WriteError) as caught:
        atomic_write(path, fails)
    assert str(caught.value) == f"cannot write {path}: No space left on device"
    assert caught.value.errno == errno.ENOSPC and caught.value.path == path
    assert path.read_text() == "first" and sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_a_file_size_limit_is_a_write_error_naming_the_file(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"old")
    code = f"""
        import resource
        from pp_vae.files import WriteError, atomic_write
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        try:
            atomic_write({str(path)!r}, lambda f: f.write(bytes(5000)))
        except WriteError as error:
            print(error)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"cannot write {path}: File too large", result.stderr
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_a_folder_that_cannot_be_made_is_a_write_error(tmp_path):
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "sub" / "x.json"
    with pytest.raises(WriteError, match=f"^cannot write {target}: Not a directory$"):
        atomic_write_text(target, "{}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_a_write_error(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(WriteError, match="Permission denied$"):
            atomic_write_text(tmp_path / "x.txt", "x")
    finally:
        tmp_path.chmod(0o700)


def test_atomic_target_moves_what_a_named_writer_wrote_and_hints_stay_on_one_line(tmp_path):
    with atomic_target(tmp_path / "out.csv") as tmp:
        tmp.write_text("a,b\n")
    assert (tmp_path / "out.csv").read_text() == "a,b\n" and len(list(tmp_path.iterdir())) == 1
    error = WriteError(tmp_path / "c.pt", OSError(errno.EFBIG, os.strerror(errno.EFBIG))).with_hint("the checkpoint of epoch 2 is kept")
    assert str(error) == f"cannot write {tmp_path / 'c.pt'}: File too large; the checkpoint of epoch 2 is kept"
    assert isinstance(error, OSError) and error.errno == errno.EFBIG


def test_a_folder_lock_refuses_a_second_holder_until_released(tmp_path):
    with FolderLock(tmp_path / "run", "first") as lock:
        holder = json.loads((tmp_path / "run" / LOCK).read_text())
        assert holder["pid"] == os.getpid() and holder["command"] == "first" and holder["started"].endswith("UTC")
        with pytest.raises(FolderBusyError, match=rf"run is in use by pid {os.getpid()} started .* \(first\): wait for it"):
            FolderLock(tmp_path / "run").acquire()
        assert lock.notes == []
    assert not (tmp_path / "run" / LOCK).exists()
    with FolderLock(tmp_path / "run") as again:
        assert again.notes == []


def test_another_process_holding_the_lock_is_named_and_its_stale_lock_taken_over(tmp_path):
    holder = _python(
        f"""
        import time
        from pp_vae.files import FolderLock
        lock = FolderLock({str(tmp_path)!r}, "pp-vae train")
        lock.acquire()
        print("held", flush=True)
        time.sleep(60)
        """,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match=rf"is in use by pid {holder.pid} started .* \(pp-vae train\)"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)  # dies without releasing: its lock file stays behind
        holder.wait(timeout=30)
    assert (tmp_path / LOCK).exists()
    with FolderLock(tmp_path, "second") as lock:
        [note] = lock.notes
        assert note.startswith(f"took over the stale lock {tmp_path / LOCK}: pid {holder.pid} started ")
        assert note.endswith("(pp-vae train) is no longer running")
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()


def test_a_failed_copy_of_a_folder_names_the_first_file_it_could_not_write(tmp_path):
    import shutil

    from pp_vae.files import writing

    failure = shutil.Error([(str(tmp_path / "a"), str(tmp_path / "b"), f"[Errno 28] No space left on device: '{tmp_path / 'b'}'")])
    with pytest.raises(WriteError, match=f"^cannot write {tmp_path / 'b'}: No space left on device$"), writing(tmp_path):
        raise failure
