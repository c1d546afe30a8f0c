"""Check data against a Stan program's ``data`` block before PyStan builds it.

PyStan reports bad data as a bare ``RuntimeError`` from deep inside httpstan, after the build.
Here each declaration is read from the program text and each field checked -- missing or unknown
names, int vs real, shape, declared bounds -- with a ``ValueError`` naming the field, what was
declared and what was given.
"""

from __future__ import annotations

import ast
import json
import operator
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pp_vae.stan.programs import StanProgram

_TYPES = (
    "int",
    "real",
    "complex",
    "vector",
    "row_vector",
    "matrix",
    "simplex",
    "unit_vector",
    "sum_to_zero_vector",
    "ordered",
    "positive_ordered",
    "cov_matrix",
    "corr_matrix",
    "cholesky_factor_cov",
    "cholesky_factor_corr",
)
_DECLARATION = re.compile(
    r"^(?:array\s*\[(?P<array>[^\]]*)\]\s*)?(?P<type>" + "|".join(sorted(_TYPES, key=len, reverse=True)) + r")\b"
    r"\s*(?:<(?P<constraints>[^>]*)>)?\s*(?:\[(?P<dims>[^\]]*)\])?\s*(?P<name>[A-Za-z]\w*)\s*$",
    re.S,
)


EXTRA_FIELDS = ("warn", "ignore", "error")


class ExtraDataWarning(UserWarning):
    """Data fields the program does not declare were ignored (as Stan ignores them); the message names them."""


@dataclass(frozen=True)
class DataDeclaration:
    """One variable of a Stan ``data`` block, as written in the program."""

    name: str
    base: str
    """``int`` for integer data, else ``real`` (vectors and matrices hold reals)."""
    array_dims: tuple[str, ...]
    type_dims: tuple[str, ...]
    lower: str | None
    upper: str | None
    text: str
    """The declaration as written, e.g. ``array[N] int<lower=0, upper=1> y``."""


def strip_comments(code: str) -> str:
    """Remove ``//``, ``#`` line comments and ``/* */`` block comments."""
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    return re.sub(r"(//|#).*", "", code)


def block(code: str, name: str) -> str | None:
    """The body of the top-level block ``name`` (e.g. ``"data"``), or ``None`` if absent."""
    code = strip_comments(code)
    pattern = re.compile(r"(?<![\w])" + r"\s+".join(name.split()) + r"\s*\{")
    for match in pattern.finditer(code):
        if name == "data" and re.search(r"transformed\s*$", code[: match.start()]):
            continue
        depth, start = 1, match.end()
        for i in range(start, len(code)):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                return code[start:i]
        raise ValueError(f"the {name} block is not closed")
    return None


def _split_top(text: str, sep: str = ",") -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "([{<" and 1 or 0
        depth -= char in ")]}>" and 1 or 0
        if char == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def parse_data_block(code: str) -> list[DataDeclaration] | None:
    """The declarations of the program's ``data`` block; ``None`` if one is beyond this reader."""
    body = block(code, "data")
    if body is None:
        return []
    declarations = []
    for statement in (s.strip() for s in body.split(";")):
        if not statement:
            continue
        match = _DECLARATION.match(statement)
        if not match:
            return None
        bounds = dict(_bound(c) for c in _split_top(match["constraints"] or ""))
        kind = match["type"]
        dims = tuple(_split_top(match["dims"] or ""))
        if kind in ("cov_matrix", "corr_matrix", "cholesky_factor_corr") or (kind == "cholesky_factor_cov" and len(dims) == 1):
            dims = dims * 2
        declarations.append(
            DataDeclaration(
                name=match["name"],
                base="int" if kind == "int" else "real",
                array_dims=tuple(_split_top(match["array"] or "")),
                type_dims=dims,
                lower=bounds.get("lower"),
                upper=bounds.get("upper"),
                text=" ".join(statement.split()),
            )
        )
    return declarations


def _bound(constraint: str) -> tuple[str, str]:
    key, _, value = constraint.partition("=")
    return key.strip(), value.strip()


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Pow: operator.pow}


def evaluate(expression: str, scope: dict[str, Any]) -> float | None:
    """Value of a simple Stan size or bound expression (numbers, earlier scalars, + - * / ^), else ``None``."""
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        return None

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name) and node.id in scope and np.ndim(scope[node.id]) == 0:
            return scope[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            value = _OPS[type(node.op)](walk(node.left), walk(node.right))
            both_int = all(isinstance(walk(n), int) for n in (node.left, node.right))
            return int(value) if isinstance(node.op, ast.Div) and both_int else value
        raise KeyError(expression)

    try:
        return walk(tree)
    except (KeyError, ZeroDivisionError, TypeError):
        return None


def _index(flat_index: int, shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i + 1) for i in np.unravel_index(flat_index, shape)) + "]" if shape else ""


def validate_data(code: str, data: dict[str, Any], info: dict[str, Any] | None = None, extra_fields: str = "warn") -> dict[str, Any]:
    """Check ``data`` against the program's data block; return it with ints as ints and arrays as NumPy.

    Parameters
    ----------
    code
        The Stan program.
    data
        Field name -> value (numbers, lists or arrays), as in Stan's JSON data format.
    info
        stanc's ``--info`` output (names, int or real, number of dimensions): the fallback when a
        declaration is beyond this module's reader.
    extra_fields
        What to do with fields the program does not declare. ``"warn"`` (default): drop them, as Stan
        itself does, with an :class:`ExtraDataWarning` naming them (posteriordb shares data files between
        programs, so they carry fields a given program does not use; a misspelt field is caught anyway,
        as a *missing* declared one); ``"ignore"``: drop them silently; ``"error"``: refuse them.
    """
    if not isinstance(data, dict):
        raise ValueError(f"data must be a dict of field name -> value, got {type(data).__name__}")
    declarations = parse_data_block(code)
    if declarations is None:
        if info is None:
            return dict(data)
        declarations = [
            DataDeclaration(
                name, "int" if spec["type"] == "int" else "real", ("?",) * spec["dimensions"], (), None, None, f"{spec['type']} {name}"
            )
            for name, spec in info["inputs"].items()
        ]
    declared = {d.name: d for d in declarations}
    if extra_fields not in EXTRA_FIELDS:
        raise ValueError(f"extra_fields must be one of {', '.join(map(repr, EXTRA_FIELDS))}, got {extra_fields!r}")
    unknown = sorted(set(data) - set(declared))
    names = ", ".join(declared) or "none"
    if unknown and extra_fields == "error":
        raise ValueError(
            f"data field {unknown[0]!r} is not declared in the program's data block (declared: {names}); "
            "remove it, or pass extra_fields='warn' or 'ignore' to drop it as Stan does"
        )
    if unknown and extra_fields == "warn":
        fields = ", ".join(repr(name) for name in unknown)
        warnings.warn(
            f"ignored data field{'s' if len(unknown) > 1 else ''} {fields}, not declared in the program's data block "
            f"(declared: {names}), as Stan ignores them",
            ExtraDataWarning,
            stacklevel=3,
        )
    clean: dict[str, Any] = {}
    for d in declarations:
        if d.name not in data:
            raise ValueError(f"data field {d.name!r} is missing (declared as `{d.text}`)")
        clean[d.name] = _check_field(d, data[d.name], clean)
    return clean


def _check_field(d: DataDeclaration, value: Any, scope: dict[str, Any]) -> Any:
    try:
        array = np.asarray(value)
    except Exception:
        raise ValueError(f"data field {d.name!r} must be numbers shaped as declared (`{d.text}`), got {value!r}") from None
    if array.dtype == bool:
        array = array.astype(int)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise ValueError(f"data field {d.name!r} must hold numbers (declared `{d.text}`), got {value!r}"[:300])

    dims = d.array_dims + d.type_dims
    expected = tuple(evaluate(e, scope) if e != "?" else None for e in dims)
    if len(expected) != array.ndim and not (0 in expected and array.size == 0):
        raise ValueError(
            f"data field {d.name!r} is declared `{d.text}` with {len(expected)} dimension(s), but the value has shape {array.shape}"
        )
    if array.size == 0 and 0 in expected:
        array = np.zeros(tuple(int(e) if e is not None else 0 for e in expected), dtype=array.dtype)
    for axis, size in enumerate(expected):
        if size is not None and array.shape[axis] != size:
            sizes = ", ".join(f"{e} = {evaluate(e, scope)}" for e in dims if not _is_number(e) and evaluate(e, scope) is not None)
            shape = tuple(int(s) if s is not None else "?" for s in expected)
            raise ValueError(
                f"data field {d.name!r} has shape {array.shape}, but `{d.text}` declares shape {shape}" + (f" ({sizes})" if sizes else "")
            )

    if d.base == "int":
        if np.issubdtype(array.dtype, np.floating):
            bad = np.flatnonzero(~np.isfinite(array.ravel()) | (array.ravel() != np.round(array.ravel())))
            if bad.size:
                raise ValueError(
                    f"data field {d.name!r} is declared int (`{d.text}`) but holds {array.ravel()[bad[0]].item()!r}"
                    f"{' at ' + _index(bad[0], array.shape) if array.ndim else ''}"
                )
            array = array.astype(np.int64)
    else:
        array = array.astype(float)

    for expression, fails, relation in (
        (d.lower, np.less, ">="),
        (d.upper, np.greater, "<="),
    ):
        bound = evaluate(expression, scope) if expression else None
        if bound is None:
            continue
        bad = np.flatnonzero(fails(array.ravel(), bound) | np.isnan(array.ravel()))
        if bad.size:
            raise ValueError(
                f"data field {d.name!r} must be {relation} {expression}"
                f"{f' = {bound}' if not _is_number(str(expression)) else ''} (declared `{d.text}`), "
                f"got {array.ravel()[bad[0]].item()!r}{' at ' + _index(bad[0], array.shape) if array.ndim else ''}"
            )
    return array.item() if array.ndim == 0 else array


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def check_data(program: StanProgram, data: dict[str, Any] | str | Path, extra_fields: str = "warn") -> dict[str, Any]:
    """Load ``data`` (a dict or a path to Stan JSON) and validate it against ``program``'s data block.

    Undeclared fields are dropped with an :class:`ExtraDataWarning` (``extra_fields="warn"``), silently
    (``"ignore"``) or refused (``"error"``): see :func:`validate_data`.
    """
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"data file not found: {path}")
        try:
            loaded = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"data file {path} is not valid JSON: {error}") from None
        return validate_data(program.code, loaded, program.info, extra_fields=extra_fields)
    return validate_data(program.code, data, program.info, extra_fields=extra_fields)
