"""Lectures 2-3: posterior inference. Every method returns the one result type (ArviZ's DataTree).

NUTS (:func:`fit_nuts`), random-walk Metropolis (:func:`fit_metropolis`), mean-field VI on a Pyro model
(:func:`fit_meanfield`) or any Stan program (:func:`fit_stan_meanfield`); PSIS k-hat; and
:func:`compare`, which puts any of them side by side. Lecture 9 joins VI and MCMC: simulation-based
calibration of any method (:func:`simulation_based_calibration`) and NeuTra (:func:`fit_neutra`).
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "result": ["ResultInfo", "from_draws", "from_flat_draws", "flat_draws", "summary", "info", "log_weights", "variable_names"],
        "reliability": ["Diagnostics", "diagnostics"],
        "nuts": ["fit_nuts"],
        "metropolis": ["MetropolisResult", "random_walk_metropolis", "fit_metropolis"],
        "svi": ["run_svi", "guide_draws", "guide_log_weights"],
        "gradients": ["PerDrawGradients", "score_function_gradients", "reparameterised_gradients"],
        "meanfield": ["fit_meanfield", "fit_stan_meanfield"],
        "stan_bridge": ["StanLogProb", "stan_bridge_model", "find_mode"],
        "psis": ["pareto_khat", "khat_reading", "khat_threshold"],
        "comparison": ["Comparison", "Method", "METHODS", "compare"],
        "calibration": ["Calibration", "simulation_based_calibration", "calibrate_stan"],
        "neutra": ["fit_neutra", "fit_pyro_nuts"],
    },
)
