"""Prior simulations from a Stan *simulator* program, for simulation-based calibration of any Stan model (lecture 9).

A simulator is a Stan program with no parameters: its ``data`` block holds the design the simulated datasets keep
(sizes, covariates, known scales), and its ``generated quantities`` draw the model's parameters from their prior
and then the model's data given them, under the same names. Stan's ``fixed_param`` sampler runs it; each draw is
one simulated world: ``(truth, data)``, the truth under Stan's flattened names (``theta[1]``).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from pp_vae.stan.programs import StanProgram, load_program
from pp_vae.validation import integer_at_least


def _program(program: str | Path | StanProgram) -> StanProgram:
    return program if isinstance(program, StanProgram) else load_program(program)


def simulator_for(model: str | Path | StanProgram) -> StanProgram | None:
    """The bundled simulator of a bundled model (``stan_models/simulators/NAME.stan``), if there is one.

    The centred and non-centred eight schools share one (the same prior, so the same worlds).
    """
    import dataclasses

    from pp_vae.stan.programs import stan_models_dir

    name = model.name if isinstance(model, StanProgram) else Path(str(model)).stem
    path = stan_models_dir() / "simulators" / f"{name.replace('_centered', '_noncentered')}.stan"
    if not path.exists():
        return None
    return dataclasses.replace(load_program(path), name=f"{path.stem} simulator")


def stan_simulations(
    simulator: str | Path | StanProgram, model: str | Path | StanProgram, design: dict[str, Any], simulations: int, seed: int = 0
) -> list[tuple[dict[str, float], dict[str, Any]]]:
    """``simulations`` draws of ``(truth, data)`` from ``simulator`` run on ``design``, matched to ``model``'s names.

    The truth holds every ``model`` parameter (and transformed parameter) the simulator generates; the data every
    field of ``model``'s data block, taken from the simulation when the simulator generates it and from
    ``design`` otherwise. A model parameter or data field found in neither is an error that names it.
    """
    from pp_vae.stan.builds import build, forget_fits
    from pp_vae.stan.data_block import check_data
    from pp_vae.stan.programs import parameter_names

    integer_at_least("simulations", simulations)
    sim, target = _program(simulator), _program(model)
    if sim.parameters:
        raise ValueError(f"a simulator must have no parameters block variables; {sim.name!r} has {', '.join(sim.parameters)}")
    sim_data = check_data(sim, design, extra_fields="ignore")  # the design may hold the model's data too
    generated = set(sim.info.get("generated quantities", {}))
    wanted_data = [name for name in target.info.get("inputs", {})]
    missing = [name for name in wanted_data if name not in generated and name not in design]
    if missing:
        raise ValueError(f"{sim.name!r} generates no {missing[0]!r} and the design gives none: the model's data needs it")
    truth_bases = [name for name in parameter_names(target) if name in generated]
    if not truth_bases:
        raise ValueError(f"{sim.name!r} generates none of the parameters of {target.name!r} ({', '.join(parameter_names(target))})")
    posterior = build(sim, sim_data, seed=seed)  # seeded here
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # PyStan's "Sampling: 0%" progress lines
            fit = posterior.fixed_param(num_chains=1, num_samples=simulations)
    finally:
        forget_fits()

    def values(name: str) -> np.ndarray:  # shaped (*the quantity's dimensions, simulations)
        dims = tuple(fit.dims[fit.param_names.index(name)])
        array = np.asarray(fit[name])
        return array.reshape(dims + (array.shape[-1],))

    cache = {name: values(name) for name in generated}
    flat_names = [  # Stan's flattened, 1-based names: theta[1], Sigma[2,1]
        (base, at, f"{base}[{','.join(str(i + 1) for i in at)}]" if at else base)
        for base in truth_bases
        for at in np.ndindex(*cache[base].shape[:-1])
    ]
    out = []
    for draw in range(simulations):
        truth = {flat: float(cache[base][at + (draw,)]) for base, at, flat in flat_names}
        data = dict(design)
        for name in wanted_data:
            if name in generated:
                value = cache[name][..., draw]
                data[name] = value.tolist() if value.ndim else value.item()
        out.append((truth, data))
    return out
