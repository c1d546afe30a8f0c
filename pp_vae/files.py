"""Writing files so that nothing is lost: write beside, then rename; one-line write errors; one writer per folder.

A write that fails (no space, a file-size limit, no permission, a folder that cannot be made) raises
:class:`WriteError`, whose message is one line, ``cannot write PATH: <the errno's words>``, and leaves
the file as it was. :class:`FolderLock` makes a folder one process's for as long as it holds the lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

LOCK = ".pp-vae.lock"
"""The lock file a :class:`FolderLock` holds in its folder."""


class WriteError(OSError):
    """A file could not be written; ``str()`` is one line: ``cannot write PATH: <cause>`` (and a hint when given)."""

    def __init__(self, path: str | Path, cause: OSError, hint: str = "") -> None:
        words = cause.strerror or (os.strerror(cause.errno) if cause.errno else str(cause))
        super().__init__(cause.errno, words)
        self.path = Path(path)
        self.hint = hint

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.strerror}" + (f"; {self.hint}" if self.hint else "")

    def with_hint(self, hint: str) -> WriteError:
        """The same error with ``hint`` (what was kept, what to do) after the cause."""
        return WriteError(self.path, self, hint)


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into a :class:`WriteError` naming ``path``."""
    try:
        yield
    except WriteError:
        raise
    except shutil.Error as error:  # shutil.copytree's list of (source, target, why): the first one speaks for all
        _, target, why = error.args[0][0]
        found = re.match(r"\[Errno (\d+)\] ([^:]+)", why)
        raise WriteError(target, OSError(int(found[1]), found[2]) if found else OSError(why)) from error
    except OSError as error:
        raise WriteError(path, error) from error


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file beside ``path`` for a writer that takes a file name; when the block ends, move it onto ``path``.

    The folder is made if needed; on any error (Ctrl-C included) the temporary file is removed, ``path``
    is left as it was, and an ``OSError`` becomes a :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would have given it, not mkstemp's owner-only 0o600
        os.close(fd)
    tmp = Path(name)
    try:
        with writing(path):
            yield tmp
            _fsync(tmp)
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(file)`` on a temporary file in ``path``'s folder, flush it to disk, then ``os.replace`` it onto ``path``.

    Readers see the old file or the new one, never a part; on any error (Ctrl-C included) the
    temporary file is removed and ``path`` is left as it was. A failed write raises :class:`WriteError`.
    """
    path = Path(path)
    with atomic_target(path) as tmp, writing(path), open(tmp, "wb") as f:
        write(f)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 text."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


class FolderBusyError(RuntimeError):
    """Another live process holds the folder's lock; the message names it (pid, start time, host, command)."""


class FolderLock:
    """``with FolderLock(folder, command):`` makes ``folder`` this process's until the block ends (POSIX ``flock``).

    The lock file ``folder/.pp-vae.lock`` holds JSON ``{pid, started, host, command}``; a second process is
    refused with :class:`FolderBusyError` naming the holder. The kernel releases the lock when its process
    dies however it dies, so a lock file left by a killed process is stale: it is taken over, and
    :attr:`notes` says so. The folder is made if needed.
    """

    def __init__(self, folder: str | Path, command: str = "") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.command = command
        self.notes: list[str] = []
        """What taking the folder involved that its user should hear (a stale lock taken over, a run replaced)."""
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise :class:`FolderBusyError`; a stale lock is taken over (see :attr:`notes`)."""
        import fcntl

        with writing(self.path):
            self.folder.mkdir(parents=True, exist_ok=True)
        while self._fd is None:
            with writing(self.path):
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise FolderBusyError(
                    f"{self.folder} is in use by {_describe(holder)}: wait for it to end, or use another folder"
                ) from None
            if not _same_file(fd, self.path):  # the holder removed it between our open and our lock: try again
                os.close(fd)
                continue
            self._fd = fd
        previous = _read_holder(self._fd)
        if previous:
            gone = "is no longer running" if not _alive(previous) else "no longer holds it"
            self.notes.append(f"took over the stale lock {self.path}: {_describe(previous)} {gone}")
        self._write_holder()

    def _write_holder(self) -> None:
        assert self._fd is not None
        holder = {
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "host": socket.gethostname(),
            "command": self.command,
        }
        with writing(self.path):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(holder).encode("utf-8"), 0)
            os.fsync(self._fd)

    def release(self) -> None:
        """Remove the lock file and let go of the lock (nothing when not held)."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: a process that opened it meanwhile sees it gone and retries
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the holder's pid runs on this host (a pid on another host cannot be checked: taken as alive)."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname():
        return True
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "another process (starting up)"
    command = f" ({holder['command']})" if holder.get("command") else ""
    return f"pid {holder.get('pid')} started {holder.get('started')} on {holder.get('host')}{command}"
