"""Stan programs through PyStan 3: lookup and stanc checks, data-block validation, builds, the in-process density.

Sampling with NUTS is :func:`pp_vae.inference.fit_nuts`; it returns the course's one result type.
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "programs": [
            "StanProgram",
            "StanProgramError",
            "available_programs",
            "load_program",
            "parameter_names",
            "stan_models_dir",
            "stan_name",
            "stanc_info",
        ],
        "data_block": ["check_data", "validate_data", "parse_data_block", "ExtraDataWarning"],
        "builds": ["build", "compile_program", "is_cached"],
        "density": ["StanDensity"],
    },
)
