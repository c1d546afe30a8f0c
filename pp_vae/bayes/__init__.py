"""Lecture 1: closed-form (conjugate) posteriors and the information theory the VAE builds on; lecture 2's pooling in closed form."""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "conjugate": [
            "BetaBernoulli",
            "NormalKnownVariance",
            "Replications",
            "Coverage",
            "FrozenDistribution",
            "ContinuousDistribution",
            "simulate_predictive_coverage",
        ],
        "normal_inverse_gamma": [
            "NormalInverseGamma",
            "IntervalCoverage",
            "plug_in_predictive",
            "frequentist_predictive",
            "plug_in_coverage",
            "bayes_coverage",
            "simulate_interval_coverage",
        ],
        "enumeration": ["coin_predictive_pvalue", "switches"],
        "pooling": ["complete_pooling", "no_pooling", "exact_loo_complete_pooling", "exact_loo_no_pooling"],
        "information": [
            "surprise",
            "entropy",
            "binary_entropy",
            "cross_entropy",
            "kl_divergence",
            "huffman_code_lengths",
            "gaussian_kl",
            "diagonal_gaussian_kl",
        ],
    },
)
