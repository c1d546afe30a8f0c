"""Lectures 4-6: the amortised VAE and its family as Pyro model/guide pairs, their bounds, training and analyses.

Every member honours one contract (:class:`VAEFamily`): :class:`VAE` (diagonal Gaussian guide),
:class:`IAFVAE` (flows on the guide), :class:`LadderVAE` (two stochastic layers), each with a likelihood
(:class:`Binomial`, :class:`Bernoulli`, :class:`ContinuousBernoulli`, :class:`Gaussian`) and MLP (one
softplus or two tanh hidden layers), convolutional or linear networks. :func:`train` fits any of them with an
:class:`Objective` (beta, annealing) and a learning-rate schedule; :func:`elbo_per_image` and :func:`iwae_bound`
bound ``log p(x)``; :mod:`pp_vae.vae.analysis` measures collapse, gaps and anomalies.
"""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "family": ["VAEFamily", "build_vae", "make_vae", "vae_from_config", "adopt_generative_model"],
        "spec": ["VAESpec"],
        "quadrature": ["LatentGrid", "latent_grid", "grid_log_likelihood", "latent_nuts", "log_normal_density"],
        "gaussian": ["VAE"],
        "iaf": ["IAFVAE"],
        "ladder": ["LadderVAE", "LadderPosterior", "precision_weighted"],
        "binary": ["BinaryVAE", "StraightThroughBernoulli", "bernoulli_kl"],
        "catalogue": ["FAMILIES", "LIKELIHOODS", "ARCHITECTURES", "LR_SCHEDULES", "AUTO", "MEMBER_OPTIONS", "default_likelihood"],
        "likelihoods": [
            "Likelihood",
            "Binomial",
            "Bernoulli",
            "ContinuousBernoulli",
            "Gaussian",
            "make_likelihood",
            "check_sigma",
            "optimal_sigma",
        ],
        "networks": [
            "Encoder",
            "Decoder",
            "ConvEncoder",
            "ConvDecoder",
            "LinearEncoder",
            "TanhEncoder",
            "TanhDecoder",
            "make_encoder",
            "make_decoder",
        ],
        "rate_distortion": ["RateDistortion", "independent_pixel_log_likelihood", "tabular_rate_distortion", "rate_and_distortion"],
        "autoencoder": ["Autoencoder", "fit_autoencoder"],
        "gradients": ["encoder_gradients", "bit_gradients"],
        "ppca": [
            "LinearGaussian",
            "GaussianPosterior",
            "EMFit",
            "fit_ppca",
            "fit_ppca_em",
            "principal_angles",
            "linear_gaussian_of",
            "importance_log_evidence",
        ],
        "bounds": [
            "elbo_per_image",
            "iwae_bound",
            "per_image_bounds",
            "prior_sampling_bound",
            "importance_weighted",
            "gaussian_q_elbo",
            "gaussian_q_log_weights",
        ],
        "objective": ["Objective", "SyncFreeELBO", "TrainingLoss"],
        "graphs": ["GraphedStep"],
        "config": ["TrainConfig", "History"],
        "training": ["train", "new_vae"],
        "checkpoints": ["CHECKPOINT", "save_checkpoint", "load_checkpoint", "data_description"],
        "runs": ["RUN_FILES", "RunFolderError", "holds_run", "claim_run_folder"],
        "devices": ["resolve_device", "launched_as", "Parallel"],
        "metrics": ["training_metrics", "write_metrics"],
        "baseline": [
            "no_latent_log_likelihood",
            "bernoulli_pixels_log_likelihood",
            "gaussian_pixels_log_density",
            "frequency_table_log_probs",
        ],
        "evaluation": ["evaluate_run", "load_trained_vae", "mean_and_se", "score_against_baseline"],
        "analysis": [
            "ACTIVE_KL",
            "kl_per_dimension",
            "drawn_code_pixels",
            "posterior_mean_variance",
            "active_units",
            "posterior_usage",
            "label_accuracy",
            "optimise_local_gaussians",
            "Gaps",
            "gap_decomposition",
            "anomaly_scores",
            "ink_scores",
            "pca_scores",
            "auroc",
            "bootstrap_auroc",
            "bootstrap_auroc_difference",
        ],
        "two_sample": ["TwoSampleResult", "vae_two_sample_test"],
        "surgery": ["Surgery", "elbo_surgery", "elbo_surgery_of"],
        "collapse_rule": ["covariance_spectrum", "predicted_active", "predicted_kl", "fixed_noise_ppca"],
    },
)
