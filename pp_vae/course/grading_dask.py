"""Grading a class larger than one machine: each submission's isolated run is one task on a Dask ``distributed`` cluster.

The grader keeps everything but the run: nbgrader builds the graded notebook (hidden tests put back) in the grader's
processes, :func:`run_remote` sends it, with the other files of the submission's folder, to the cluster as one task,
and the task (:func:`run_task`, on a worker) runs it with :func:`~pp_vae.course.grading_sandbox.run_isolated`, the
same isolated run ``--jobs`` uses, and returns the executed notebook, the report and the log as plain data. The grader
reads them back and alone writes the gradebook; a worker never sees it.

A worker needs pp_vae installed (the same version, with its dependencies: nbclient, ipykernel, PyStan, Pyro, ...)
and, for the strongest isolation, bubblewrap; it needs nothing of the course folder: the graded notebook and the
submission's files travel with the task, and :func:`warm` builds the assignments' Stan programs once on each host.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pp_vae.course.grading_sandbox import Limits, SandboxRun

LOCAL = "local"
"""The scheduler name that starts a Dask cluster on this machine for the grading's length."""
CONNECT_SECONDS = 20
SKIPPED = (".ipynb_checkpoints", "__pycache__")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise RuntimeError("grading on a Dask cluster needs the 'distributed' package: pip install 'pp-vae[dask]'") from None
    return distributed


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``; a clear error naming the address when it cannot be reached."""
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise RuntimeError(f"cannot reach the Dask scheduler at {address}: {error}") from None


@contextmanager
def engine(scheduler: str, workers: int) -> Iterator[tuple[str, int]]:
    """The cluster to grade on, for the grading's length: its scheduler's address and its worker threads.

    ``scheduler`` "local" starts a cluster here, ``workers`` worker threads in this process (each runs its submissions
    isolated in processes of their own), reachable over TCP by the grading processes; an address uses that
    scheduler's workers, waiting up to 20 s for one to join.
    """
    distributed = _distributed()
    cluster = None
    if scheduler == LOCAL:
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
        )
        scheduler = cluster.scheduler_address
    try:
        client = connect(scheduler)
        try:
            try:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise RuntimeError(f"the Dask scheduler at {scheduler} has no workers (none joined in {CONNECT_SECONDS} s)") from None
            yield scheduler, sum(client.nthreads().values())
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def warm(address: str, set_ups: list[Any]) -> None:
    """Build the assignments' Stan programs (``set_ups``, :func:`~pp_vae.course.grading_sandbox.set_up_cells`) once per host."""
    import nbformat

    if not set_ups:
        return
    from distributed.comm import get_address_host

    client = _client(address)
    hosts: dict[str, str] = {}
    for worker in client.nthreads():
        hosts.setdefault(get_address_host(worker), worker)
    texts = [nbformat.writes(nb) for nb in set_ups]
    futures = [client.submit(_warm_task, texts, workers=[worker], allow_other_workers=False, pure=False) for worker in hosts.values()]
    client.gather(futures)


def _warm_task(texts: list[str]) -> None:
    """On a worker: run each set-up notebook, trusted, into this host's Stan cache."""
    import nbformat

    from pp_vae.course.grading_sandbox import warm_stan_cache

    for text in texts:
        warm_stan_cache(nbformat.reads(text, as_version=4))


_CLIENTS: dict[str, Any] = {}
"""This process's one client per scheduler address."""


def _client(address: str) -> Any:
    if address not in _CLIENTS:
        _CLIENTS[address] = connect(address)
    return _CLIENTS[address]


def close() -> None:
    """Close this process's clients (a grading process does at its end)."""
    while _CLIENTS:
        _CLIENTS.popitem()[1].close()


def folder_files(folder: Path | None) -> dict[str, bytes]:
    """The files :func:`~pp_vae.course.grading_sandbox.run_isolated` would copy from ``folder``, by relative path."""
    if folder is None:
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(Path(folder).iterdir()):
        if path.name in SKIPPED or path.suffix == ".ipynb":
            continue
        items = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not set(p.parts) & set(SKIPPED)]
        files |= {str(p.relative_to(folder)): p.read_bytes() for p in items}
    return files


def run_remote(address: str, nb: Any, folder: Path | None, hidden: tuple[Path, ...], limits: Limits, log: Path | None) -> SandboxRun:
    """:func:`~pp_vae.course.grading_sandbox.run_isolated` as one task on the cluster at ``address``; its result read back.

    A task the cluster could not finish (its workers died, the scheduler went away) costs this submission only: its
    tests are marked not run, with the reason in the note.
    """
    import nbformat

    from pp_vae.course.grading_sandbox import not_run

    task = (nbformat.writes(nb), folder_files(folder), [str(h) for h in hidden], asdict(limits))
    try:
        result = _client(address).submit(run_task, *task, pure=False).result()
    except Exception as error:  # noqa: BLE001 - a lost task is this submission's note, not the grading's end
        note = f"the Dask task did not finish: {type(error).__name__}: {str(error)[:200]}"
        return SandboxRun(not_run(nbformat.from_dict(nb), note), "", 0.0, 0, note)
    if log is not None:
        log.write_text(result["log"])
    executed = nbformat.reads(result["notebook"], as_version=4)
    tampering = tuple(dict(t) for t in result["tampering"])
    return SandboxRun(executed, result["isolation"], result["seconds"], result["peak_bytes"], result["note"], tampering)


def run_task(notebook: str, files: dict[str, bytes], hidden: list[str], limits: dict[str, Any]) -> dict[str, Any]:
    """On a worker: the isolated run of one graded notebook with its submission's ``files``; the result as plain data.

    ``hidden`` (the grader's course and submission folders, where this worker shares its file system) and this
    worker's own checkout are hidden from the run.
    """
    import nbformat

    from pp_vae.course.grading_sandbox import checkouts, run_isolated

    with tempfile.TemporaryDirectory(prefix="pp-vae-task-") as tmp:
        folder, log = Path(tmp) / "files", Path(tmp) / "run.log"
        folder.mkdir()
        for name, content in files.items():
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise ValueError(f"a submission file outside its folder: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        masked = tuple(Path(h) for h in hidden) + checkouts()
        run = run_isolated(nbformat.reads(notebook, as_version=4), folder, masked, Limits(**limits), log)
        return {
            "notebook": nbformat.writes(run.notebook),
            "isolation": run.isolation,
            "seconds": run.seconds,
            "peak_bytes": run.peak_bytes,
            "note": run.note,
            "tampering": [dict(t) for t in run.tampering],
            "log": log.read_text(errors="replace") if log.is_file() else "",
        }
