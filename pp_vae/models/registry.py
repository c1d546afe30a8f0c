"""The registry of bundled models: one entry per Stan program in ``stan_models/``, every form side by side.

A :class:`BundledModel` names the Stan program and holds, for the same model,

* ``pyro_model(data)``: the Pyro program over the same sites (Stan's parameter names; transformed
  parameters as ``pyro.deterministic`` sites), taking the data as tensors (:func:`as_tensors`);
* ``guide``: a hand-written mean-field guide, where the course writes one;
* ``log_density(data)``: the NumPy log density on Stan's unconstrained scale with the Jacobian, for
  samplers that need no Stan round trip per step (Metropolis);
* ``exact_posterior(data)``: closed-form marginal posteriors (``scipy.stats`` frozen), where they exist;
* ``example_data``: data the lectures and tests use;
* ``simulate(rng, data)``: parameters drawn from the prior and a dataset drawn given them, shaped like ``data``
  (the design -- sizes, covariates, known sds -- kept): what simulation-based calibration needs (lecture 9).

``tests/models`` checks every Pyro and NumPy form against Stan's ``log_prob`` and every exact posterior
against NUTS, so the forms cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pp_vae.bayes.conjugate import FrozenDistribution

if TYPE_CHECKING:
    import torch

LogDensity = Callable[[np.ndarray], np.ndarray]
"""Maps points of shape ``(..., dim)`` on the unconstrained scale to log densities of shape ``(...)``."""
PriorSimulator = Callable[[np.random.Generator, dict[str, Any]], tuple[dict[str, float], dict[str, Any]]]
"""``(rng, data) -> (truth, simulated data)``; ``truth`` keyed by Stan's flattened names (``theta[1]``)."""


@dataclass(frozen=True)
class BundledModel:
    """One bundled model in all its forms; ``name`` is also its Stan program's file name (``stan_models/NAME.stan``)."""

    name: str
    description: str
    pyro_model: Callable[..., None]
    log_density: Callable[[dict[str, Any]], LogDensity]
    example_data: dict[str, Any] = field(repr=False)
    guide: Callable[..., None] | None = None
    exact_posterior: Callable[[dict[str, Any]], dict[str, FrozenDistribution]] | None = None
    simulate: PriorSimulator | None = None


def as_tensors(data: dict[str, Any], device: torch.device | str = "cpu") -> dict[str, Any]:
    """Stan-format data with arrays as float tensors on ``device`` (numbers stay Python numbers)."""
    import torch

    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = torch.as_tensor(np.asarray(value), dtype=torch.get_default_dtype(), device=device)
    return out
