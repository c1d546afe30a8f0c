"""Dequantisation: integer grey levels made continuous, so that a density on pixels scores them fairly.

A pixel with grey level ``k`` of ``L + 1`` levels (``0..L``) becomes ``x = (k + u) / (L + 1)`` with
``u ~ Uniform(0, 1)``: the levels' bins tile ``[0, 1)``. Any density ``p`` on ``x`` then defines a discrete
model of ``k`` (the probability of its bin), and by Jensen ``log P(k) >= E_u[log p(x)] - D log(L + 1)``
over ``D`` pixels (Theis et al. 2016): a Gaussian VAE's ELBO on dequantised pixels, less that constant, is a
lower bound on the probability of the integer image, in the same units as any discrete model's.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from pp_vae.data.images import ImageData

TEST_SEED_OFFSET = 7_919  # the test images' noise is seeded apart from the training images'


def dequantize(data: ImageData, seed: int = 0) -> ImageData:
    """``data``'s grey levels ``k`` as ``(k + u) / (levels + 1)``, ``u ~ U(0, 1)`` drawn once per pixel from ``seed``."""
    import torch

    if data.levels is None or data.levels < 2 or data.binarize != "none":
        raise ValueError(f"{data.name}: dequantisation needs integer grey levels (levels >= 2, not binarised), got levels={data.levels}")
    splits = {}
    for offset, split in ((0, "train"), (TEST_SEED_OFFSET, "test")):
        images = getattr(data, split)
        counts = np.rint(images.detach().cpu().numpy() * data.levels)
        noise = np.random.default_rng(seed + offset).random(counts.shape)
        splits[split] = torch.as_tensor((counts + noise) / (data.levels + 1), dtype=images.dtype, device=images.device)
    return replace(data, name=f"{data.name} (dequantised)", train=splits["train"], test=splits["test"], levels=None)


def bin_log_width(pixels: int, levels: int) -> float:
    """``D log(levels + 1)`` nats: subtracted from a log density on dequantised images, a bound on the levels' log-probability."""
    return pixels * math.log(levels + 1)
