"""The course's figures, one module per lecture; every function returns its matplotlib ``Figure``.

``conjugate`` (lecture 1), ``mcmc`` (lecture 2), ``vi`` (lecture 3), ``vae`` (lectures 4-6), ``foundations``
(lecture 7), ``codes`` (lecture 8), ``calibration`` (lecture 9).
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "conjugate": [
            "coin_entropy",
            "prior_likelihood_posterior",
            "shrinkage",
            "replication_check",
            "coverage",
            "prediction_intervals",
            "interval_coverage",
        ],
        "mcmc": [
            "draws_vs_density",
            "trace_and_rank",
            "funnel",
            "bar_table",
            "energy_errors",
            "hmc_sample_stats",
            "prior_predictive",
            "school_replications",
            "pareto_k",
        ],
        "vi": ["elbo_history", "marginals", "pair", "pair_panels", "scaling", "ladder"],
        "vi_meets_mcmc": ["rank_histograms", "pit_ecdf", "warmup_sweep", "latent_posteriors", "iwae_to_truth"],
        "codes": ["bit_gradients", "rate_distortion", "indeterminacy"],
        "foundations": ["jensen_gap", "em_convergence", "linear_vae_training", "prior_sampling", "code_marginals"],
        "vae": [
            "image_grid",
            "reconstructions",
            "elbo_curves",
            "latent_scatter",
            "latent_manifold",
            "latent_traversals",
            "kl_per_dim",
            "kl_weight_schedule",
            "test_elbo_curves",
            "kl_curves",
            "gap_split",
            "gradient_snr",
            "permutation_null",
            "score_histograms",
            "training_figures",
        ],
    },
)
