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
from pp_vae.vae.bounds import iwae_bound
from pp_vae.vae.config import History, TrainConfig
from pp_vae.vae.devices import launched_as
from pp_vae.vae.family import VAEFamily


def training_metrics(vae: VAEFamily, data: ImageData, config: TrainConfig, history: History, iwae_samples: int = 0) -> dict[str, Any]:
    """The numbers of ``metrics.json``.

    ELBOs (nats per image), epochs, seconds per epoch, device, config, KL per latent dimension and active
    units, the likelihood's numbers (the Gaussian's sigma) and the IWAE log-likelihood (``iwae_samples > 0``).
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
        "likelihood": vae.likelihood.name,
        "config": asdict(config),
        "history": asdict(history),
    }
    report.update(posterior_usage(vae, test))
    with torch.no_grad():
        report.update(vae.likelihood.report(test, vae.reconstruct(test)))
    if iwae_samples:
        report["test_log_likelihood"] = iwae_bound(vae, test, num_samples=iwae_samples)
        report["iwae_samples"] = iwae_samples
    return report


def write_metrics(path: str | Path, report: dict[str, Any]) -> Path:
    """Write ``metrics.json`` atomically."""
    return atomic_write_text(path, json.dumps(report, indent=2))
