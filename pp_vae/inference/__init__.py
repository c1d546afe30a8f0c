"""Lectures 2-3: posterior inference. Every method returns the one result type (ArviZ's DataTree).

NUTS (:func:`fit_nuts`) and the leapfrog inside it (:func:`leapfrog`), random-walk Metropolis (:func:`fit_metropolis`),
PSIS-LOO of grouped Normal models (:func:`pooling_loo`), mean-field SVI on a Pyro model
(:func:`fit_meanfield`), and the ladder of approximations on any Stan program: Laplace
(:func:`fit_laplace`), Gaussian VI (:func:`fit_gaussian_vi`: mean-field, low-rank, full-rank), a
normalising flow (:func:`fit_flow`) and Pathfinder (:func:`fit_pathfinder`), each also as an algorithm on
any log density (:func:`approximate_laplace`, :func:`approximate_gaussian_vi`, :func:`approximate_flow`,
:func:`approximate_pathfinder`, :func:`approximate_multipath_pathfinder`; the stochastic ones are families
(:class:`GaussianVI`, :class:`FlowVI`) stepped by one driver, :func:`run_vi`); PSIS to grade and correct them; and
:func:`compare`, which puts any of them side by side. Lecture 9 joins VI and MCMC: simulation-based
calibration of any method (:func:`simulation_based_calibration`, :func:`calibrate_stan`), VI as NUTS's
warm-up (:func:`warm_started_nuts`, :func:`warmup_sweep`) and NeuTra (:func:`fit_neutra`).
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "result": [
            "ResultInfo",
            "from_draws",
            "from_flat_draws",
            "flat_draws",
            "summary",
            "info",
            "log_weights",
            "variable_names",
            "psis_resample",
        ],
        "reliability": ["Diagnostics", "diagnostics"],
        "nuts": ["fit_nuts"],
        "metropolis": ["MetropolisResult", "random_walk_metropolis", "fit_metropolis"],
        "hmc": ["leapfrog", "energy_error", "max_energy_errors", "stability_limit", "sampler_table"],
        "checks": ["predictive_pvalue"],
        "mcmc_cost": ["Efficiency", "efficiency", "cost_ratio", "cost_to_ess"],
        "loo": ["pointwise_log_likelihood", "grouped_loo_data", "pooling_loo"],
        "svi": ["run_svi", "guide_draws", "guide_log_weights", "subsampled_log_likelihoods", "frozen"],
        "gradients": ["PerDrawGradients", "score_function_gradients", "reparameterised_gradients", "summed_variance_ratio"],
        "meanfield": ["fit_meanfield"],
        "approximation": ["Approximation", "Target", "LogDensityGrad", "fit_stan", "random_initial", "to_result"],
        "optimize": ["find_mode", "lbfgs_path", "OptimizationPath"],
        "laplace": ["approximate_laplace", "fit_laplace", "laplace_start", "LaplaceStart"],
        "gaussian_vi": ["approximate_gaussian_vi", "fit_gaussian_vi", "GaussianVI", "GaussianVIOptions", "PathPoint", "vi_path"],
        "vi_driver": ["run_vi", "VIState", "ElboRise", "ParameterChange", "RelativeElbo"],
        "pathfinder": ["approximate_pathfinder", "approximate_multipath_pathfinder", "fit_pathfinder"],
        "flow": ["approximate_flow", "fit_flow", "FlowVI", "FlowVIOptions"],
        "accuracy": ["against_reference", "wasserstein_1d"],
        "psis": ["pareto_khat", "khat_reading", "khat_threshold", "khat_over_draws", "psis_smooth", "psis_resample_indices"],
        "comparison": ["Comparison", "Method", "METHODS", "compare"],
        "calibration": ["Calibration", "simulation_based_calibration", "calibrate_stan"],
        "neutra": ["fit_neutra"],
        "pyro_nuts": ["fit_pyro_nuts", "pyro_nuts", "model_start"],
        "warm_start": ["warm_started_nuts", "warmup_sweep", "WarmupRun", "shortest_converged_warmup", "inits_from"],
    },
)
