"""Checkpoints of a training run: written atomically every epoch, read with ``weights_only=True``, resumable."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from pp_vae.data.images import ImageData
from pp_vae.files import atomic_write
from pp_vae.vae.config import History, TrainConfig
from pp_vae.vae.family import VAEFamily

CHECKPOINT = "checkpoint.pt"
KEYS = {"vae", "vae_config", "optimiser", "train_config", "history"}


def data_description(data: ImageData) -> dict[str, Any]:
    """What a checkpoint records of its training data, so a run can be scored later as it was trained (``pp-vae evaluate``)."""
    return {"dataset": data.name, "binarize": data.binarize, "image_shape": list(data.image_shape), "levels": data.levels}


def save_checkpoint(
    path: Path,
    vae: VAEFamily,
    optimiser: torch.optim.Optimizer,
    config: TrainConfig,
    history: History,
    data: dict[str, Any] | None = None,
) -> None:
    """Write the VAE's and optimiser's state, the config, history and data description; a failed write keeps the old file.

    The state is serialised in memory first and then written with plain Python, so a full disk or a
    file-size limit is a :class:`~pp_vae.files.WriteError` naming the file and the cause, not torch's
    ``inline_container`` message.
    """
    state = {
        "data": data or {},
        "vae": vae.state_dict(),
        "vae_config": vae.config(),
        "optimiser": optimiser.state_dict(),
        "train_config": asdict(config),
        "history": asdict(history),
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(path, lambda f: f.write(buffer.getbuffer()))


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` onto ``device`` (written on any device); a damaged or foreign file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:
        raise ValueError(
            f"{path} is not a readable pp-vae checkpoint ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        ) from None
    if not isinstance(state, dict) or not KEYS <= set(state):
        raise ValueError(f"{path} is not a pp-vae checkpoint (missing keys)")
    state.setdefault("data", {})  # written before checkpoints described their data
    return state
