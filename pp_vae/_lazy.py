"""Lazy re-exports for the subpackages, so ``import pp_vae.vae`` does not import torch until a name is used.

Each subpackage's ``__init__`` declares which module holds each public name; the name is imported
on first access (the scientific-Python SPEC 1 pattern, as in SciPy and scikit-image). This keeps
``import pp_vae`` and ``pp-vae --help`` fast while ``from pp_vae.vae import VAE`` still works.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``, which re-exports ``exports`` (module -> names)."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
