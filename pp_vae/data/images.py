"""Images for the VAE lectures, read locally (no network at run time).

scikit-learn's bundled 8x8 digits (the embedded default) and MNIST / Fashion-MNIST from the user's
own IDX files, as :class:`ImageData`: flattened train and test images with labels, on one device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_DTYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class ImageData:
    """Flattened images in [0, 1] with labels, split into train and test, as tensors on one device.

    ``levels`` is the number of grey levels above black when the pixels were integers before scaling
    (16 for the digits' 0-16 ink counts, 255 for 8-bit MNIST), so ``levels * x`` recovers the counts a
    Binomial likelihood scores; ``None`` for data without integer levels.
    """

    name: str
    train: Any
    train_labels: Any
    test: Any
    test_labels: Any
    image_shape: tuple[int, int]
    levels: int | None = None

    @property
    def input_dim(self) -> int:
        """Pixels per image."""
        return int(self.train.shape[1])

    def to(self, device: torch.device | str) -> ImageData:
        """The same data on ``device`` (moved once: training never copies per batch)."""
        return ImageData(
            self.name,
            self.train.to(device),
            self.train_labels.to(device),
            self.test.to(device),
            self.test_labels.to(device),
            self.image_shape,
            self.levels,
        )


def check_pixels(name: str, images: np.ndarray, low: float | None = None, high: float | None = None, why: str = "") -> None:
    """Raise a ``ValueError`` naming ``name`` and the first pixel that is NaN, infinite, or outside ``[low, high]``."""
    flat = np.asarray(images).ravel()
    bad = np.flatnonzero(~np.isfinite(flat))
    if bad.size:
        raise ValueError(f"{name}: pixel {bad[0]} is {flat[bad[0]]}; images must be finite")
    if low is not None and high is not None:
        bad = np.flatnonzero((flat < low) | (flat > high))
        if bad.size:
            raise ValueError(f"{name}: pixel {bad[0]} is {flat[bad[0]]}, outside [{low:g}, {high:g}]{why}")


def _tensor_data(name: str, x_train: Any, y_train: Any, x_test: Any, y_test: Any, shape: tuple[int, int], levels: int | None) -> ImageData:
    import torch

    as_float = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    as_long = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64))  # noqa: E731
    return ImageData(name, as_float(x_train), as_long(y_train), as_float(x_test), as_long(y_test), shape, levels)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 bundled 8x8 digits, split 80/20 by a seeded shuffle.

    Each pixel counts the inked cells (0-16) of a 4x4 block of a 32x32 bitmap; it is scaled to [0, 1], and
    ``levels = 16`` keeps the counts: a Binomial(16, p) per pixel is the data's own generative model.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x, y = bunch.data / 16.0, bunch.target
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return _tensor_data("digits", x[train], y[train], x[test], y[test], (8, 8), levels=16)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally ``.gz``): the format of MNIST and Fashion-MNIST."""
    import gzip

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path}: cannot be read ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'}; expected 0000 then a type code and rank)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: truncated or padded: header says shape {shape} ({expected} bytes of data), file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: missing {stem} (or {stem}.gz); MNIST needs the four standard IDX files")


def load_mnist(directory: str | Path) -> ImageData:
    """MNIST (or Fashion-MNIST) from the four standard IDX files in ``directory``; grey levels / 255."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST folder not found: {directory}")
    arrays = {key: (read_idx(_find(directory, stem)), _find(directory, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        (images, image_path), (labels, label_path) = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3:
            raise ValueError(f"{image_path}: expected images of shape (n, rows, cols), got {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path.name}")
    train, test = arrays["train_images"][0], arrays["test_images"][0]
    shape = (int(train.shape[1]), int(train.shape[2]))
    scale = 255.0 if train.dtype == np.uint8 else 1.0
    x_train, x_test = train.reshape(len(train), -1) / scale, test.reshape(len(test), -1) / scale
    check_pixels(str(arrays["train_images"][1]), x_train, 0, 1, "; grey levels must scale to [0, 1]")
    check_pixels(str(arrays["test_images"][1]), x_test, 0, 1, "; grey levels must scale to [0, 1]")
    levels = 255 if train.dtype == np.uint8 else None
    return _tensor_data(f"mnist:{directory}", x_train, arrays["train_labels"][0], x_test, arrays["test_labels"][0], shape, levels)


def load_dataset(spec: str) -> ImageData:
    """``"digits"`` (embedded default) or ``"mnist:DIR"`` (four IDX files, MNIST or Fashion-MNIST)."""
    if spec == "digits":
        return load_digits()
    if spec.startswith("mnist:"):
        return load_mnist(spec.split(":", 1)[1])
    raise ValueError(f"unknown dataset {spec!r}: use 'digits' or 'mnist:DIR'")
