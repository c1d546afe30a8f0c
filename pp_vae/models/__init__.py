"""The bundled models: each Stan program in ``stan_models/`` with its Pyro model, guide, NumPy density and exact posterior.

``MODELS`` maps each program's name to its :class:`BundledModel`; ``get_model(name)`` looks one up
with a clear error. Importing this subpackage imports Pyro.
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "registry": ["BundledModel", "LogDensity", "as_tensors"],
        "catalogue": ["MODELS", "get_model"],
        "eight_schools": ["SCHOOLS", "prior_predictive"],
    },
)
