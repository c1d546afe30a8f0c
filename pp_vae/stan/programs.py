"""Stan programs: find one (bundled name, path or text), check it with stanc, read what it declares."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

STAN_MODELS_DIR = Path(__file__).resolve().parent.parent.parent / "stan_models"


class StanProgramError(ValueError):
    """A Stan program that does not compile; the message is stanc's, with line and column."""

    def one_line(self) -> str:
        """stanc's first line (where) and last line (what), e.g. for a command-line error."""
        lines = [line.strip() for line in str(self).splitlines() if line.strip() and not set(line.strip()) <= set("-^")]
        where = lines[0].rstrip(":").replace(", parsing error", "") if lines else "Stan program error"
        return where if len(lines) < 2 else f"{where}: {lines[-1]}"


def stan_models_dir() -> Path:
    """Folder of the bundled Stan programs (``stan_models/`` of a checkout, or inside the wheel)."""
    if STAN_MODELS_DIR.is_dir():
        return STAN_MODELS_DIR
    return Path(str(resources.files("pp_vae.stan_models")))


def available_programs() -> list[str]:
    """Names of the bundled Stan programs."""
    return sorted(p.stem for p in stan_models_dir().glob("*.stan"))


@dataclass(frozen=True)
class StanProgram:
    """A Stan program's name and text, and what stanc says about it."""

    name: str
    code: str
    info: dict[str, Any] = field(repr=False, compare=False)

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameters (``parameters`` block) with their types and number of dimensions."""
        return self.info["parameters"]

    @property
    def has_replications(self) -> bool:
        """True when the program generates ``y_rep`` (posterior predictive replications)."""
        return "y_rep" in self.info.get("generated quantities", {})


def load_program(model: str | Path) -> StanProgram:
    """Resolve ``model`` -- a bundled name, a path to a ``.stan`` file, or program text -- and check it with stanc."""
    text = str(model)
    if "{" in text:
        return StanProgram("inline", text, stanc_info(text))
    path = Path(text)
    if path.suffix == ".stan" or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"Stan program not found: {path}")
        return StanProgram(path.stem, path.read_text(), stanc_info(path.read_text(), path.name))
    bundled = stan_models_dir() / f"{text}.stan"
    if not bundled.is_file():
        raise FileNotFoundError(f"no Stan program named {text!r}: give a path to a .stan file or one of {', '.join(available_programs())}")
    return StanProgram(text, bundled.read_text(), stanc_info(bundled.read_text(), bundled.name))


def stanc_info(code: str, filename: str = "program.stan") -> dict[str, Any]:
    """Run stanc (the compiler shipped with httpstan) with ``--info``; raise its message on a bad program."""
    stanc = resources.files("httpstan") / "stanc"
    with tempfile.TemporaryDirectory(prefix="pp_vae_stanc_") as tmp:
        source = Path(tmp) / filename
        source.write_text(code)
        result = subprocess.run([str(stanc), "--info", str(source)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().replace(str(source), filename)
        raise StanProgramError(message)
    return json.loads(result.stdout)


def parameter_names(program: StanProgram) -> list[str]:
    """Variables to summarise: parameters and transformed parameters, in declaration order."""
    return list(program.info["parameters"]) + list(program.info.get("transformed parameters", {}))


def stan_name(pystan_name: str) -> str:
    """PyStan's flattened name ``beta.2.1`` as Stan writes it: ``beta[2,1]``."""
    base, *index = pystan_name.split(".")
    return f"{base}[{','.join(index)}]" if index else base
