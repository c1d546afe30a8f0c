"""Lectures 4-6: the amortised VAE and its family as Pyro model/guide pairs, their bounds, training and analyses.

Every member honours one contract (:class:`VAEFamily`): :class:`VAE` (diagonal Gaussian guide),
:class:`IAFVAE` (flows on the guide), :class:`LadderVAE` (two stochastic layers). :func:`train` fits
any of them with an :class:`Objective` (beta, annealing); :func:`elbo_per_image` and :func:`iwae_bound`
bound ``log p(x)``; :mod:`pp_vae.vae.analysis` measures collapse and gaps.
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "family": ["VAEFamily", "build_vae", "vae_from_config"],
        "gaussian": ["VAE"],
        "iaf": ["IAFVAE"],
        "ladder": ["LadderVAE", "LadderPosterior", "precision_weighted"],
        "catalogue": ["FAMILIES", "LIKELIHOODS"],
        "likelihoods": ["Likelihood", "Bernoulli", "Gaussian", "make_likelihood", "check_sigma", "optimal_sigma"],
        "networks": ["Encoder", "Decoder"],
        "bounds": ["elbo_per_image", "iwae_bound", "importance_weighted", "gaussian_q_elbo", "gaussian_q_log_weights"],
        "objective": ["Objective", "TrainingLoss"],
        "config": ["TrainConfig", "History"],
        "training": ["train", "new_vae"],
        "checkpoints": ["CHECKPOINT", "save_checkpoint", "load_checkpoint"],
        "devices": ["resolve_device", "launched_as", "Parallel"],
        "metrics": ["training_metrics", "write_metrics"],
        "analysis": [
            "kl_per_dimension",
            "posterior_mean_variance",
            "active_units",
            "posterior_usage",
            "optimise_local_gaussians",
            "fit_per_datapoint",
            "Gaps",
            "gap_decomposition",
            "anomaly_scores",
            "auroc",
        ],
        "two_sample": ["TwoSampleResult", "vae_two_sample_test"],
    },
)
