"""Inside a grading kernel: find, report and undo what a submission changed in what the hidden tests rely on.

The grader puts a cell before the notebook that makes a :class:`Guard` and one after every code cell that calls
:meth:`Guard.after`. After each cell the guard compares builtins, the modules the tests use (numpy, scipy, math,
pp_vae, IPython, ...), their classes, IPython's hooks and the names the student's globals shadow with what they were,
records what changed (and in which cell) and puts the pristine objects back; before a test cell it hides the student's
globals that shadow a builtin or a module the tests use, and puts them back after it. During a test cell, stderr goes to
stdout: nbgrader fails a test cell that writes to stderr, so a warning raised by a right answer (``log 0`` where a
responsibility is 0) would cost its points; it is still shown. Its findings go back to the grader as a display output
that the grader, not the kernel, turns into points.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import tempfile
import types
from typing import Any

WATCHED = ("numpy", "scipy", "math", "cmath", "statistics", "random", "pp_vae", "IPython", "ipykernel", "operator")
"""Top-level packages whose functions and classes the hidden tests call: a submission may not rebind anything in them."""
LIBRARY_MANAGED = ("pp_vae", "IPython", "ipykernel")
"""Of these, packages whose own code rebinds module attributes at run time: only code from a cell counts as tampering."""
PRELOAD = ("math", "numpy", "scipy", "scipy.stats", "scipy.integrate", "scipy.special", "scipy.optimize", "scipy.linalg", "pp_vae")
MIME = "application/x-pp-vae-guard+json"
IGNORED_BUILTINS = frozenset({"_", "__", "___"})
KERNEL_BUILTINS = frozenset({"input", "raw_input", "getpass", "display", "get_ipython", "exit", "quit"})
"""Builtins the kernel itself rebinds for every cell it runs: only code from a cell counts as tampering."""


def _trusted_roots() -> tuple[str, ...]:
    """Folders whose code is installed library code, not the submission's."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for name in ("pp_vae", "numpy"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            roots.add(os.path.dirname(os.path.dirname(os.path.abspath(module.__file__ or ""))))
    scratch = (os.path.realpath(os.getcwd()), os.path.realpath(tempfile.gettempdir()))
    return tuple(os.path.realpath(r) for r in roots if r and not os.path.realpath(r).startswith(scratch))


def _code_file(value: Any) -> str | None:
    """The file a Python function (or method, or callable object's ``__call__``) was compiled from; None for C code."""
    for candidate in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):  # a function, method, property
        code = getattr(candidate, "__code__", None)
        if code is not None:
            return str(code.co_filename)
    cls = value if isinstance(value, type) else type(value)
    if cls.__module__ == "builtins":
        return None
    for member in vars(cls).values():  # a class, or an object of a class, written in a cell: its methods' code
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if code is not None:
            return str(code.co_filename)
    return None


def _plain(value: Any) -> bool:
    """Data, not something that pretends to be a function or a module."""
    if isinstance(value, int | float | complex | str | bytes | bool | list | tuple | dict | set | frozenset) or value is None:
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray | numpy.generic)


def _callable_like(value: Any) -> bool:
    return callable(value) or isinstance(value, types.ModuleType) or hasattr(value, "__get__")


LIBRARY_HOOKS = ("sys.meta_path", "IPython input transformers", "IPython AST transformers", "IPython events", "IPython shell methods")
"""Hooks libraries add to as they load: only an addition from a cell counts as tampering."""


def _added(old: Any, new: Any) -> list[Any]:
    """What ``new`` (a tuple, or a dict of tuples or of values) holds that ``old`` did not."""
    if isinstance(new, tuple):
        return [v for v in new if v not in old]
    added = []
    for key, value in new.items():
        if isinstance(value, tuple):
            added += [v for v in value if v not in old.get(key, ())]
        elif key not in old or value is not old[key]:
            added.append(value)
    return added


def _watched(name: str) -> bool:
    return name.split(".")[0] in WATCHED


class Guard:
    """Snapshots of what the tests rely on, and the findings so far."""

    def __init__(self, nonce: str) -> None:
        """Import what the tests use and snapshot it, before any of the submission's code has run."""
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:  # pragma: no cover - every grading kernel has them
                pass
        self.nonce = nonce
        self.roots = _trusted_roots()
        self.shell = sys.modules["IPython"].get_ipython()
        self.builtins = dict(vars(builtins))
        self.modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
        self.classes: dict[int, tuple[Any, str, dict[str, Any]]] = {}
        """Classes, and objects such as scipy's distributions, defined in watched modules: their attributes."""
        self.hooks = self._hooks()
        self.initial = dict(self.shell.user_ns)  # IPython's own globals (get_ipython, open, exit, ...): not the student's
        self.module_names = {k: v for k, v in self.initial.items() if isinstance(v, types.ModuleType)}
        self.stash: dict[str, Any] = {}
        self.stderr: Any = None
        self.findings: list[dict[str, str]] = []
        self._reported: set[tuple[str, int]] = set()
        self._adopt_new_modules(cell=None)

    def foreign(self, value: Any) -> bool:
        """Whether ``value`` is code a notebook cell (or exec, or a file in the scratch folder) wrote."""
        path = _code_file(value)
        if path is None or path.startswith("<ipython-input"):
            return path is not None
        # C, "<string>" (dataclasses' generated methods, but exec's too), "<stringsource>" (Cython), or a file
        return os.path.isabs(path) and not os.path.realpath(path).startswith(self.roots)

    def _snapshot(self, module: types.ModuleType) -> None:
        name = module.__name__
        self.modules[name] = (module, dict(vars(module)))
        for attribute, value in list(vars(module).items()):
            if id(value) in self.classes or isinstance(value, types.ModuleType | types.FunctionType | types.BuiltinFunctionType):
                continue
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                self.classes[id(value)] = (value, f"{name}.{value.__qualname__}", dict(vars(value)))
            elif not isinstance(value, type) and _watched(type(value).__module__) and isinstance(getattr(value, "__dict__", None), dict):
                self.classes[id(value)] = (value, f"{name}.{attribute}", dict(vars(value)))  # scipy.stats.norm and its kin

    def _adopt_new_modules(self, cell: str | None) -> None:
        """Snapshot watched modules imported since the last look; after a submission's cell, check them for its code first."""
        for name, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or name in self.modules or not _watched(name):
                continue
            if cell is not None:
                for attribute, value in list(vars(module).items()):
                    if _callable_like(value) and self.foreign(value):
                        self._found(cell, f"{name}.{attribute}")
                        try:
                            delattr(module, attribute)
                        except (AttributeError, TypeError):
                            pass
            self._snapshot(module)

    def _hooks(self) -> dict[str, Any]:
        """IPython's and the interpreter's hooks, as comparable values."""
        shell = self.shell
        return {
            "sys.settrace": sys.gettrace(),
            "sys.setprofile": sys.getprofile(),
            "sys.stdout": sys.stdout,
            "sys.stderr": sys.stderr,
            "sys.meta_path": tuple(sys.meta_path),
            "IPython custom exceptions": (shell.custom_exceptions, shell.CustomTB),
            "IPython input transformers": tuple(shell.input_transformers_cleanup) + tuple(shell.input_transformers_post),
            "IPython AST transformers": tuple(shell.ast_transformers),
            "IPython events": {event: tuple(callbacks) for event, callbacks in shell.events.callbacks.items()},
            "IPython shell methods": {k: v for k, v in vars(shell).items() if callable(v) and not k.startswith("_trait")},
        }

    def _found(self, cell: str, what: str) -> None:
        self.findings.append({"cell": cell, "what": what})

    def _check_builtins(self, cell: str) -> None:
        current = vars(builtins)
        for name in sorted(set(current) | set(self.builtins)):
            if name in IGNORED_BUILTINS or current.get(name, self) is self.builtins.get(name, self):
                continue
            added = name not in self.builtins and name.startswith("__")  # pybind11 (torch) keeps its internals there
            if (name in KERNEL_BUILTINS or added) and not self.foreign(current.get(name)):
                self.builtins[name] = current[name]
                continue
            self._found(cell, f"builtins.{name}")
            if name in self.builtins:
                current[name] = self.builtins[name]
            else:
                del current[name]

    def _check_modules(self, cell: str) -> None:
        for name, (module, saved) in self.modules.items():
            current = vars(module)
            managed = name.split(".")[0] in LIBRARY_MANAGED
            for attribute in set(current) | set(saved):
                old, new = saved.get(attribute, self), current.get(attribute, self)
                if old is new:
                    continue
                tampered = self.foreign(new) if managed or attribute not in saved else _callable_like(old) or _callable_like(new)
                if tampered and attribute in saved:
                    self._found(cell, f"{name}.{attribute}")
                    setattr(module, attribute, old)
                elif tampered:
                    self._found(cell, f"{name}.{attribute}")
                    delattr(module, attribute)
                else:
                    saved[attribute] = new if new is not self else saved.pop(attribute)

    def _check_classes(self, cell: str) -> None:
        for cls, label, saved in self.classes.values():
            current = dict(vars(cls))
            for attribute in set(current) | set(saved):
                old, new = saved.get(attribute, self), current.get(attribute, self)
                if old is new or not (_callable_like(old) or _callable_like(new)) or attribute == "__dict__":
                    continue
                if label.split(".")[0] in LIBRARY_MANAGED and not self.foreign(new):
                    saved[attribute] = new
                    continue
                self._found(cell, f"{label}.{attribute}")
                try:
                    setattr(cls, attribute, old) if old is not self else delattr(cls, attribute)
                except (AttributeError, TypeError):
                    pass

    def _check_hooks(self, cell: str) -> None:
        current = self._hooks()
        for name, old in self.hooks.items():
            new = current[name]
            if new == old if isinstance(old, dict | tuple) else new is old:
                continue
            if name in LIBRARY_HOOKS and not any(self.foreign(v) for v in _added(old, new)):
                self.hooks[name] = new  # a library registered its own (matplotlib's inline backend adds an event callback)
                continue
            self._found(cell, name)
            self._restore_hook(name, old, new)

    def _restore_hook(self, name: str, old: Any, new: Any) -> None:
        shell = self.shell
        if name == "sys.settrace":
            sys.settrace(old)
        elif name == "sys.setprofile":
            sys.setprofile(old)
        elif name.startswith("sys."):
            attribute = name.split(".")[1]
            setattr(sys, attribute, list(old) if attribute == "meta_path" else old)
        elif name == "IPython custom exceptions":
            shell.custom_exceptions, shell.CustomTB = old
        elif name == "IPython input transformers":
            cleanup = [t for t in old if t in shell.input_transformers_cleanup or t not in shell.input_transformers_post]
            shell.input_transformers_cleanup[:] = cleanup
            shell.input_transformers_post[:] = [t for t in old if t not in cleanup]
        elif name == "IPython AST transformers":
            shell.ast_transformers[:] = list(old)
        elif name == "IPython events":
            for event in shell.events.callbacks:
                shell.events.callbacks[event][:] = list(old.get(event, ()))
        else:
            for key in set(new) - set(old):
                delattr(shell, key)
            for key, value in old.items():
                setattr(shell, key, value)

    def _check_globals(self, cell: str) -> None:
        """The student's globals that shadow a builtin, or rebind a module the tests use, with something that is not data."""
        namespace = self.shell.user_ns
        for name, value in list(namespace.items()):
            if isinstance(value, types.ModuleType) and name not in self.module_names and sys.modules.get(value.__name__) is value:
                self.module_names[name] = value
            pretends = not _plain(value) and value is not self.builtins.get(name) and value is not self.initial.get(name, self)
            shadows = name in self.builtins and name not in IGNORED_BUILTINS and not name.startswith("__")
            rebinds = name in self.module_names and value is not self.module_names[name]
            if (shadows or rebinds) and pretends and (name, id(value)) not in self._reported:
                self._reported.add((name, id(value)))
                self._found(cell, f"global {name} (shadows {'the builtin' if shadows else 'the module'} {name})")

    def hide(self) -> None:
        """Before a test cell: take away the globals that shadow a builtin or rebind a module the tests use."""
        namespace = self.shell.user_ns
        for name in list(namespace):
            shadows = name in self.builtins and name not in IGNORED_BUILTINS and not name.startswith("__")
            if shadows and namespace[name] is not self.initial.get(name, self):
                self.stash[name] = namespace.pop(name)
            elif name in self.module_names and namespace[name] is not self.module_names[name]:
                self.stash[name] = namespace[name]
                namespace[name] = self.module_names[name]
        for name, module in self.module_names.items():
            if name not in namespace:  # deleted by the submission: the tests still need it
                self.stash.setdefault(name, self)
                namespace[name] = module
        self.stderr, sys.stderr = sys.stderr, sys.stdout  # warnings from the student's code print, but do not fail the test

    def unhide(self) -> None:
        """After a test cell: give the submission its own globals back, and stderr."""
        if self.stderr is not None:
            sys.stderr, self.stderr = self.stderr, None
        namespace = self.shell.user_ns
        for name, value in self.stash.items():
            if value is self:
                namespace.pop(name, None)
            else:
                namespace[name] = value
        self.stash.clear()

    def after(self, cell: str, next_is_test: bool) -> None:
        """Check and restore everything after ``cell`` ran; hide shadowing globals when a test cell comes next."""
        self.unhide()
        self._check_builtins(cell)
        self._check_modules(cell)
        self._check_classes(cell)
        self._adopt_new_modules(cell)
        self._check_hooks(cell)
        self._check_globals(cell)
        if next_is_test:
            self.hide()
        report = {"nonce": self.nonce, "cell": cell, "findings": self.findings}
        self.findings = []
        display = sys.modules["IPython"].display
        display.publish_display_data({MIME: json.dumps(report)})
