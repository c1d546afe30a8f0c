"""The ``metrics.json`` of a training run: the numbers other tools read (a contract; tests hold its keys)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pp_vae.data.images import ImageData
from pp_vae.files import atomic_write_text
from pp_vae.vae.analysis import posterior_usage
from pp_vae.vae.baseline import no_latent_log_likelihood
from pp_vae.vae.bounds import per_image_bounds
from pp_vae.vae.config import History, TrainConfig
from pp_vae.vae.devices import launched_as
from pp_vae.vae.evaluation import mean_and_se
from pp_vae.vae.family import VAEFamily


def training_metrics(vae: VAEFamily, data: ImageData, config: TrainConfig, history: History, iwae_samples: int = 0) -> dict[str, Any]:
    """The numbers of ``metrics.json``.

    ELBOs (nats per image), epochs, seconds per epoch, device, the data (name, image shape, binarisation),
    config, KL per latent dimension and active units, the likelihood's numbers (the Gaussian's sigma), the
    no-latent baseline and the ELBO's margin over it, and the IWAE log-likelihood (``iwae_samples > 0``)
    with its standard error and its margin over the baseline (paired image by image).
    """
    device = vae.device
    test = data.test.to(device)
    report: dict[str, Any] = {
        "train_elbo": history.train_elbo[-1],
        "test_elbo": history.test_elbo[-1],
        "epochs": history.epochs,
        "seconds_per_epoch": float(np.mean(history.seconds)) if history.seconds else None,
        "device": str(device),
        "processes": launched_as()[1],
        "dataset": data.name,
        "image_shape": list(data.image_shape),
        "binarize": data.binarize,
        "likelihood": vae.likelihood.name,
        "config": asdict(config),
        "history": asdict(history),
    }
    report.update(posterior_usage(vae, test))
    with torch.no_grad():
        report.update(vae.likelihood.report(test, vae.reconstruct(test)))
    baseline, note = _no_latent(data)
    if baseline is None:
        report.update({"no_latent_log_likelihood": None, "no_latent_note": note})
    else:
        mean, se = mean_and_se(baseline)
        report.update({"no_latent_log_likelihood": mean, "no_latent_log_likelihood_se": se, "elbo_margin": report["test_elbo"] - mean})
    if iwae_samples:
        _, iwae = per_image_bounds(vae, test, iwae_samples)
        report["test_log_likelihood"], report["test_log_likelihood_se"] = mean_and_se(iwae)
        report["iwae_samples"] = iwae_samples
        if baseline is not None:  # paired, image by image
            report["log_likelihood_margin"], report["log_likelihood_margin_se"] = mean_and_se(iwae - baseline)
    return report


def _no_latent(data: ImageData) -> tuple[np.ndarray | None, str]:
    """Each test image's no-latent ``log p(x)``, or ``None`` and why none is defined for these pixels."""
    try:
        return no_latent_log_likelihood(data), ""
    except ValueError as why:
        return None, str(why)


def write_metrics(path: str | Path, report: dict[str, Any]) -> Path:
    """Write ``metrics.json`` atomically."""
    return atomic_write_text(path, json.dumps(report, indent=2))
