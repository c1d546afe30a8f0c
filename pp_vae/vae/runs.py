"""A run folder belongs to one training run: taken for the run's life, refused when it holds another run.

:func:`claim_run_folder` is what ``pp-vae train`` does with ``--out``. :func:`~pp_vae.vae.training.train`
itself does not: called from Python it writes its checkpoint where it is told (notebooks pass no folder,
tests and analyses retrain into one on purpose), and a caller who wants the rules wraps it in the claim.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pp_vae.files import FolderLock, writing
from pp_vae.vae.checkpoints import CHECKPOINT

METRICS = "metrics.json"
RUN_FILES = (CHECKPOINT, METRICS)
"""The files whose presence means a folder holds a run."""


class RunFolderError(ValueError):
    """A folder holds another run and neither resuming nor replacing it was asked for."""


def holds_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds a training run (a checkpoint or a ``metrics.json``)."""
    return any((Path(folder) / name).is_file() for name in RUN_FILES)


@contextmanager
def claim_run_folder(folder: str | Path, *, resume: bool = False, overwrite: bool = False, command: str = "") -> Iterator[FolderLock]:
    """Hold ``folder``'s lock for the block; refuse a folder holding a run unless ``resume`` or ``overwrite``.

    ``overwrite`` removes the earlier run's checkpoint and metrics before the new run starts (and says so in
    the lock's ``notes``); ``resume`` keeps them for :func:`~pp_vae.vae.training.train` to continue.
    A second process asking for the folder meanwhile gets :class:`~pp_vae.files.FolderBusyError`.
    """
    if resume and overwrite:
        raise ValueError("--resume continues the run in the folder and --overwrite replaces it: give one of them")
    folder = Path(folder)
    with FolderLock(folder, command) as lock:
        if holds_run(folder) and not (resume or overwrite):
            raise RunFolderError(
                f"{folder} already holds a run ({', '.join(n for n in RUN_FILES if (folder / n).is_file())}): "
                "continue it with --resume, replace it with --overwrite, or choose another --out"
            )
        if overwrite and holds_run(folder):
            for name in RUN_FILES:
                with writing(folder / name):
                    (folder / name).unlink(missing_ok=True)
            lock.notes.append(f"replacing the earlier run in {folder} (--overwrite)")
        yield lock
