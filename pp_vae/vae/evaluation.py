"""Scoring a trained VAE on test images: its ELBO and IWAE bound per image, with standard errors, beside the baseline.

:func:`evaluate_run` is ``pp-vae evaluate``: a run's checkpoint scored on another dataset's test images.

Every score is an average over images, so its standard error is the images' spread over ``sqrt(n)``; the
margin over the no-latent baseline is paired image by image (both scored on the same images), which
removes the images' own spread from its error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pp_vae.data.datasets import load_dataset
from pp_vae.data.images import ImageData
from pp_vae.vae.baseline import no_latent_log_likelihood
from pp_vae.vae.bounds import per_image_bounds
from pp_vae.vae.checkpoints import CHECKPOINT, load_checkpoint
from pp_vae.vae.family import VAEFamily, vae_from_config
from pp_vae.validation import integer_at_least


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """The mean of per-image values and its standard error (``sd / sqrt(n)``)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def score_against_baseline(vae: VAEFamily, data: ImageData, iwae_samples: int = 1000, baseline: np.ndarray | None = None) -> dict[str, Any]:
    """``test_elbo``, ``test_log_likelihood`` (IWAE with ``iwae_samples``), the baseline and the margins, each with its SE.

    ``baseline``: each test image's no-latent ``log p(x)`` if it was fitted elsewhere (on the run's own
    training images when ``data`` holds only test images); by default fitted on ``data.train``.
    """
    if iwae_samples < 1:
        raise ValueError(f"iwae_samples must be >= 1, got {iwae_samples}")
    vae.eval()
    elbo, iwae = per_image_bounds(vae, data.test.to(vae.device), iwae_samples)
    base = no_latent_log_likelihood(data) if baseline is None else np.asarray(baseline, dtype=float)
    report: dict[str, Any] = {"images": len(elbo), "iwae_samples": iwae_samples}
    for key, values in (
        ("test_elbo", elbo),
        ("test_log_likelihood", iwae),
        ("no_latent_log_likelihood", base),
        ("elbo_margin", elbo - base),
        ("log_likelihood_margin", iwae - base),
    ):
        report[key], report[f"{key}_se"] = mean_and_se(values)
    return report


def load_trained_vae(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[VAEFamily, dict[str, Any]]:
    """The VAE of a training run's checkpoint (any member), in evaluation mode, and the checkpoint's ``data`` description."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder not found: {run_dir}")
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no {CHECKPOINT}: train a run there first (pp-vae train --out {run_dir})")
    state = load_checkpoint(path, device)
    if not state["data"]:
        raise ValueError(f"{path} does not say what data it was trained on (written by an older pp-vae): retrain it to score it")
    vae = vae_from_config(state["vae_config"]).to(device)
    vae.load_state_dict(state["vae"])
    return vae.eval(), state["data"]


def evaluate_run(
    run_dir: str | Path, dataset: str, iwae_samples: int = 1000, limit: int | None = None, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Score a trained run on ``dataset``'s test images, binarised as the run was trained (``pp-vae evaluate``).

    The no-latent baseline is fitted on the run's own training images; ``limit`` scores only the first images.
    """
    vae, trained_on = load_trained_vae(run_dir, device)
    test = load_dataset(dataset, binarize=trained_on["binarize"], test_only=True)
    if list(test.image_shape) != list(trained_on["image_shape"]):
        raise ValueError(
            f"{dataset}: images are {test.image_shape[0]}x{test.image_shape[1]}, but {run_dir} was trained on "
            f"{trained_on['image_shape'][0]}x{trained_on['image_shape'][1]} images ({trained_on['dataset']})"
        )
    if limit is not None:
        integer_at_least("limit", limit)
        test = replace(test, test=test.test[:limit], test_labels=test.test_labels[:limit])
    vae.likelihood.check(f"{dataset} test", test.test.numpy())
    try:
        own = load_dataset(trained_on["dataset"], binarize=trained_on["binarize"])
        baseline = no_latent_log_likelihood(own, test)
    except (ValueError, FileNotFoundError) as why:
        raise ValueError(f"the no-latent baseline is fitted on the run's training images ({trained_on['dataset']}): {why}") from None
    report = score_against_baseline(vae, test, iwae_samples, baseline=baseline)
    return {"run": str(run_dir), "dataset": test.name, "trained_on": trained_on["dataset"], "binarize": test.binarize, **report}
