"""Stan through PyStan 3: find a program, check its data, build it, sample with NUTS, diagnose.

``sample`` returns ArviZ data (posterior, sample stats with divergences, posterior predictive
when the program generates ``y_rep``, observed data) with Stan's names. Works in scripts,
pytest and Jupyter (where ``nest_asyncio2`` lets PyStan's event loop run inside the kernel's).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from pp_vae.stan_data import validate_data
from pp_vae.validation import integer_at_least

STAN_MODELS_DIR = Path(__file__).resolve().parent.parent / "stan_models"


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
        raise FileNotFoundError(
            f"no Stan program named {text!r}: give a path to a .stan file or one of {', '.join(available_programs())}"
        )
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


def check_data(program: StanProgram, data: dict[str, Any] | str | Path, extra_fields: str = "error") -> dict[str, Any]:
    """Load ``data`` (a dict or a path to Stan JSON) and validate it against ``program``'s data block."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"data file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"data file {path} is not valid JSON: {error}") from None
    return validate_data(program.code, data, program.info, extra_fields=extra_fields)


def _apply_nest_asyncio() -> None:
    """Let PyStan's ``asyncio.run`` work inside an already running loop (Jupyter)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    import nest_asyncio2

    nest_asyncio2.apply()


def is_cached(program: StanProgram) -> bool:
    """True when httpstan has already compiled this program (a build takes seconds, not ~35 s)."""
    import httpstan.cache
    import httpstan.models

    return httpstan.models.calculate_model_name(program.code) in httpstan.cache.list_model_names()


def build(program: StanProgram, data: dict[str, Any], seed: int | None = None, verbose: bool = True) -> Any:
    """Compile ``program`` (cached by httpstan) and bind ``data``; say so while a first build runs."""
    import stan

    _apply_nest_asyncio()
    cached = is_cached(program)
    if verbose and not cached:
        print(f"Building Stan program {program.name!r} (first build: about 35 s; cached afterwards)...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        with _quiet_console() as console:
            model = stan.build(program.code, data=_jsonable(data), random_seed=seed)
    except ValueError as error:  # PyStan's bare "Syntax error"; stanc has already passed, so rare
        raise StanProgramError(f"{error}: {console.getvalue().strip()}") from None
    except RuntimeError as error:
        raise ValueError(f"Stan rejected the data for {program.name!r}: {_first_line(error)}") from None
    if model is None:
        raise KeyboardInterrupt
    if verbose and not cached:
        print(f"Built {program.name!r} in {time.perf_counter() - start:.1f} s.", file=sys.stderr, flush=True)
    return model


@contextlib.contextmanager
def _quiet_console():
    """Silence PyStan's console and the C++ compiler's warnings (written by a subprocess to fd 2)."""
    console = io.StringIO()
    saved = []
    with tempfile.TemporaryFile(mode="w+") as sink:
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


def _first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)


def sample(
    model: str | Path | StanProgram,
    data: dict[str, Any] | str | Path,
    *,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 1000,
    seed: int | None = None,
    extra_fields: str = "error",
    progress: bool = False,
    **nuts_args: Any,
) -> Any:
    """Sample ``model`` given ``data`` with NUTS; return ArviZ data with Stan's names.

    Parameters
    ----------
    model
        A bundled program's name (``"eight_schools_noncentered"``), a path to a ``.stan`` file,
        program text, or a :class:`StanProgram`.
    data
        Field name -> value, or a path to a Stan JSON data file; checked before building.
    chains, draws, warmup
        NUTS chains, post-warm-up draws per chain and warm-up iterations per chain.
    seed
        Random seed for reproducible draws (``None``: a fresh one).
    progress
        Show PyStan's sampling progress (off by default; a first build always says it runs).
    nuts_args
        Passed to Stan's sampler, e.g. ``delta=0.95`` (adapt delta), ``max_depth=12``.
    """
    for name, value, low in (("chains", chains, 1), ("draws", draws, 1), ("warmup", warmup, 0)):
        integer_at_least(name, value, low)
    program = model if isinstance(model, StanProgram) else load_program(model)
    if not program.parameters:
        raise ValueError(f"Stan program {program.name!r} declares no parameters: there is nothing to sample")
    clean = check_data(program, data, extra_fields=extra_fields)
    posterior = build(program, clean, seed=seed)
    console = io.StringIO()
    start = time.perf_counter()
    redirect = contextlib.nullcontext() if progress else contextlib.redirect_stderr(console)
    try:
        with redirect:
            fit = posterior.sample(num_chains=chains, num_samples=draws, num_warmup=warmup, **nuts_args)
    except RuntimeError as error:
        raise RuntimeError(f"Stan sampling of {program.name!r} failed: {_first_line(error)}") from None
    if fit is None:
        raise KeyboardInterrupt
    seconds = time.perf_counter() - start
    return to_arviz(fit, posterior, program, clean, seconds)


def to_arviz(fit: Any, posterior: Any, program: StanProgram, data: dict[str, Any], seconds: float) -> Any:
    """Convert a PyStan fit to ArviZ data; the sampling time is kept in ``posterior.attrs``."""
    from arviz_base import from_pystan

    observed = {"y": np.asarray(data["y"])} if program.has_replications and "y" in data else None
    idata = from_pystan(
        posterior=fit,
        posterior_model=posterior,
        posterior_predictive=["y_rep"] if program.has_replications else None,
        observed_data=observed,
        dims={"y_rep": ["obs"], "y": ["obs"]} if observed else None,
    )
    idata.posterior.attrs.update({"sampling_seconds": seconds, "stan_program": program.name})
    return idata


def parameter_names(program: StanProgram) -> list[str]:
    """Variables to summarise: parameters and transformed parameters, in declaration order."""
    return list(program.info["parameters"]) + list(program.info.get("transformed parameters", {}))


def flatten_draws(posterior: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Draws of each scalar element under Stan's flattened, 1-based name (``theta[1]``, ``beta[2,1]``).

    ``posterior`` maps each name to draws of shape ``(chain, draw, *shape)``: an ArviZ posterior
    group or a dict of arrays.
    """
    flat: dict[str, np.ndarray] = {}
    for name in names:
        values = np.asarray(getattr(posterior[name], "values", posterior[name]))  # (chain, draw, *shape)
        shape = values.shape[2:]
        if not shape:
            flat[name] = values
            continue
        for index in np.ndindex(*shape[::-1]):  # Stan's column-major order
            index = index[::-1]
            flat[f"{name}[{','.join(str(i + 1) for i in index)}]"] = values[(slice(None), slice(None), *index)]
    return flat


@dataclass
class Diagnostics:
    """MCMC health in numbers, with plain-language warnings past the usual thresholds."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    draws: int
    warnings: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by ``pp-vae compare``)."""
        return {
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
            "draws": self.draws,
            "warnings": self.warnings,
        }


def diagnostics(idata: Any, var_names: list[str] | None = None, rhat_max: float = 1.01, ess_min: float = 400) -> Diagnostics:
    """Max R-hat, min bulk/tail ESS and the number of divergences (ArviZ), with warnings."""
    import arviz as az

    posterior = idata.posterior.to_dataset() if hasattr(idata.posterior, "to_dataset") else idata.posterior
    if var_names:
        posterior = posterior[var_names]
    rhat = float(az.rhat(posterior).to_array().max())
    bulk = float(az.ess(posterior, method="bulk").to_array().min())
    tail = float(az.ess(posterior, method="tail").to_array().min())
    divergent = int(np.asarray(idata.sample_stats["diverging"]).sum()) if "sample_stats" in idata.children else 0
    draws = int(posterior.sizes["chain"] * posterior.sizes["draw"])
    warnings = []
    if rhat > rhat_max:
        warnings.append(f"R-hat {rhat:.3f} > {rhat_max}: the chains disagree; run longer or reparameterise.")
    if min(bulk, tail) < ess_min:
        warnings.append(f"effective sample size {min(bulk, tail):.0f} < {ess_min:.0f}: estimates are noisy; draw more.")
    if divergent:
        warnings.append(
            f"{divergent} divergent transition(s) of {draws}: NUTS could not follow the posterior's geometry; "
            "the draws may be biased (try a non-centred parameterisation or a higher adapt delta)."
        )
    return Diagnostics(rhat, bulk, tail, divergent, draws, warnings)


class StanDensity:
    """In-process log density, gradient and constraining transform of a built Stan program.

    PyStan's ``log_prob`` goes through httpstan's HTTP server (about 2.5 ms a call here); this calls
    the same compiled module directly (about 0.03 ms), which makes VI through Stan practical.
    """

    def __init__(self, posterior: Any) -> None:
        import httpstan.models

        self._module = httpstan.models.import_services_extension_module(posterior.model_name)
        self._data = posterior.data
        self.param_names = posterior.param_names
        self.dims = posterior.dims
        self.constrained_param_names = posterior.constrained_param_names

    def log_prob(self, u: Any, adjust_transform: bool = True) -> float:
        """``log p(u, data)`` at unconstrained ``u`` (with the Jacobian when ``adjust_transform``), up to a constant."""
        return self._module.log_prob(self._data, [float(x) for x in u], adjust_transform)

    def grad_log_prob(self, u: Any) -> list[float]:
        """Gradient of the Jacobian-adjusted log density at unconstrained ``u``."""
        return self._module.log_prob_grad(self._data, [float(x) for x in u], True)

    def constrain_pars(self, u: Any, include_tparams: bool = True, include_gqs: bool = False) -> list[float]:
        """Constrained parameters (and transformed parameters) at unconstrained ``u``, Stan's order."""
        return self._module.write_array(self._data, [float(x) for x in u], include_tparams, include_gqs)
