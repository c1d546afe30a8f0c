"""Binary images from grey levels, as the field does it (Burda et al. 2016; Salakhutdinov and Murray 2008).

A grey level ``g`` in [0, 1] is read as the probability that the pixel is on. ``"dynamic"`` binarisation
draws every training pixel afresh from Bernoulli(g) for every batch (the model never sees the same binary
image twice, which regularises it); the test images are drawn once, from a fixed seed, so every model is
scored on the same binary images. ``"fixed"`` draws the training images once too. ``"none"`` keeps the grey
levels, for the likelihoods that model them. Binary pixels are then a true probability's support: the
Bernoulli likelihood scores them exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pp_vae.data.images import ImageData, check_pixels

BINARIZATIONS = ("dynamic", "fixed", "none")
TEST_SEED_OFFSET = 104_729  # the test images' draw is seeded apart from anything training draws


def bernoulli_draw(images: np.ndarray, seed: int) -> np.ndarray:
    """Each pixel drawn once from Bernoulli(grey level), reproducibly from ``seed``: 0.0 or 1.0."""
    rng = np.random.default_rng(seed)
    return (rng.random(images.shape) < images).astype(np.float32)


def binarize_images(data: ImageData, mode: str = "dynamic", seed: int = 0) -> ImageData:
    """``data`` binarised by ``mode`` (``dynamic``, ``fixed`` or ``none``); the test draw depends only on ``seed``."""
    import torch

    if mode not in BINARIZATIONS:
        raise ValueError(f"binarize must be one of {', '.join(BINARIZATIONS)}, got {mode!r}")
    if mode == "none" or data.binarize != "none":
        return data
    for split, images in (("train", data.train), ("test", data.test)):
        check_pixels(f"{data.name} {split}", images.cpu().numpy(), 0, 1, "; binarisation reads grey levels in [0, 1] as probabilities")
    test = torch.as_tensor(bernoulli_draw(data.test.cpu().numpy(), seed + TEST_SEED_OFFSET), device=data.test.device)
    train = data.train
    if mode == "fixed":
        train = torch.as_tensor(bernoulli_draw(data.train.cpu().numpy(), seed), device=data.train.device)
    return replace(data, train=train, test=test, levels=1, binarize=mode)
