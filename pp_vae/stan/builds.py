"""Build a Stan program with PyStan 3 (compiled once, cached by httpstan) and bind its data.

PyStan runs an asyncio event loop; inside Jupyter one is already running, so this module applies
``nest_asyncio2`` once, when it is first imported. A bad program or bad data becomes a clear error:
PyStan's bare ``ValueError("Syntax error")`` carries stanc's message, and data are checked against the
program's ``data`` block (:mod:`pp_vae.stan.data_block`) before anything is compiled.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from pp_vae.stan.programs import StanProgram, StanProgramError


def _apply_nest_asyncio() -> None:
    """Let PyStan's ``asyncio.run`` work inside an already running loop (Jupyter); called once, below."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    import nest_asyncio2

    nest_asyncio2.apply()


_apply_nest_asyncio()


FITS_HELD = 64
"""Fits held in memory at most, per thread (4 chains a NUTS run; each is read, then forgotten, right after it is made)."""
_held = threading.local()


def _fits() -> OrderedDict[str, bytes]:
    """This thread's fits: PyStan serves httpstan in the sampling thread, so side-by-side runs forget only their own."""
    if not hasattr(_held, "fits"):
        _held.fits = OrderedDict()
    fits: OrderedDict[str, bytes] = _held.fits
    return fits


def _hold_fits_in_memory() -> None:
    """Keep httpstan's fits in this process's memory until read, instead of in its cache folder for ever.

    httpstan writes every seeded fit to disk and answers a repeat of the same request (program, data, seed,
    settings) from there without sampling. A repeat then reports the time of a file read as sampling time (a
    benchmark "sampled" 267,871 leapfrog steps in 0.11 s, against 1.5 s for the real run), and the folder
    only grows (12 GB of fits on the machine where this was found). Here every run samples, as its seed
    says, and a fit lives from its writing until :func:`forget_fits` (at most ``FITS_HELD``).
    Compiled programs stay in httpstan's cache.
    """
    import httpstan.cache

    if getattr(httpstan.cache, "_pp_vae_fits_in_memory", False):
        return

    def dump_fit(fit_bytes: bytes, name: str) -> None:
        fits = _fits()
        fits[name] = fit_bytes
        fits.move_to_end(name)
        while len(fits) > FITS_HELD:
            fits.popitem(last=False)

    def load_fit(name: str) -> bytes:
        try:
            return _fits()[name]
        except KeyError:
            raise KeyError(f"Fit `{name}` not found.") from None

    def delete_fit(name: str) -> None:
        _fits().pop(name, None)

    httpstan.cache.dump_fit, httpstan.cache.load_fit, httpstan.cache.delete_fit = dump_fit, load_fit, delete_fit
    httpstan.cache._pp_vae_fits_in_memory = True


def forget_fits() -> None:
    """Drop this thread's fits: their draws have been read (see :func:`_hold_fits_in_memory`)."""
    _fits().clear()


def is_cached(program: StanProgram) -> bool:
    """True when httpstan has already compiled this program (a build takes seconds, not ~35 s)."""
    import httpstan.cache
    import httpstan.models

    return httpstan.models.calculate_model_name(program.code) in httpstan.cache.list_model_names()


def build(program: StanProgram, data: dict[str, Any], seed: int | None = None, verbose: bool = True) -> Any:
    """Compile ``program`` (cached by httpstan) and bind ``data``; say so while a first build runs.

    Fits of the returned model are not cached: each ``sample`` samples (see :func:`_hold_fits_in_memory`).
    """
    _hold_fits_in_memory()
    with _first_build(program) as cached:
        if verbose and not cached:
            print(f"Building Stan program {program.name!r} (first build: about 35 s; cached afterwards)...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        model = _build(program, data, seed)
    if verbose and not cached:
        print(f"Built {program.name!r} in {time.perf_counter() - start:.1f} s.", file=sys.stderr, flush=True)
    return model


def compile_program(program: StanProgram) -> bool:
    """Compile ``program`` into httpstan's cache without binding data, to warm a machine for later runs; True if it compiled now."""
    import asyncio

    with _first_build(program) as cached:
        if cached:
            return False
        with _quiet_console() as console:
            status, message = asyncio.run(_post_program(program.code))
    if status != 201:
        raise StanProgramError(f"{message}: {console.getvalue().strip()}")
    return True


async def _post_program(code: str) -> tuple[int, str]:
    """httpstan's answer to compiling ``code`` (201 when built): the first half of ``stan.build``, without the data."""
    import stan.common

    async with stan.common.HttpstanClient() as client:
        response = await client.post("/models", json={"program_code": code})
        return response.status, "" if response.status == 201 else str(response.json().get("message", ""))


@contextlib.contextmanager
def _first_build(program: StanProgram) -> Iterator[bool]:
    """Whether ``program`` is compiled already, asked again under the build lock when it was not.

    Held under :func:`_first_build_lock` (one compiler at a time across processes) while it may compile; the second
    question is for another process that built it while this one waited.
    """
    if is_cached(program):
        yield True
        return
    with _first_build_lock():
        yield is_cached(program)


def _first_build_lock() -> Any:
    """A lock file shared by every process of this user, held while a program compiles.

    Two first builds at once (parallel tests, two notebooks) would compile into httpstan's one cache side by
    side, and each takes about 1.8 GB.
    """
    from filelock import FileLock

    return FileLock(os.path.join(tempfile.gettempdir(), f"pp-vae-stan-build-{os.getuid() if hasattr(os, 'getuid') else 0}.lock"))


def _build(program: StanProgram, data: dict[str, Any], seed: int | None) -> Any:
    import stan

    try:
        with _quiet_console() as console:
            model = stan.build(program.code, data=_jsonable(data), random_seed=seed)
    except ValueError as error:  # PyStan's bare "Syntax error"; stanc has already passed, so rare
        raise StanProgramError(f"{error}: {console.getvalue().strip()}") from None
    except RuntimeError as error:
        raise ValueError(f"Stan rejected the data for {program.name!r}: {first_line(error)}") from None
    if model is None:
        raise KeyboardInterrupt
    return model


_CONSOLE = threading.Lock()
"""File descriptors 1 and 2 belong to the whole process: one thread at a time may point them elsewhere."""


@contextlib.contextmanager
def _quiet_console() -> Iterator[io.StringIO]:
    """Silence PyStan's console and the C++ compiler's warnings (written by a subprocess to fd 2).

    Thread-safe: builds from several threads take turns, so none can leave the process's stdout pointing at
    another's temporary file.
    """
    console = io.StringIO()
    saved = []
    with _CONSOLE, tempfile.TemporaryFile(mode="w+") as sink:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(sink.fileno(), fd)
            except OSError:
                pass
        try:
            with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
                yield console
        finally:
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            console.write(sink.read())


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in data.items()}


def first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
