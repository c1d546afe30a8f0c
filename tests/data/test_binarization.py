"""Binarisation: Bernoulli(grey) draws, fixed for test images, fresh for every training batch under ``dynamic``."""

import numpy as np
import pytest
import torch

from pp_vae.data import ImageData, bernoulli_draw, binarize_images, load_dataset


def _grey(n=4000, pixels=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, pixels, generator=g)
    y = torch.zeros(n, dtype=torch.long)
    return ImageData("grey", x, y, x[:1000].clone(), y[:1000], (5, 10), levels=None)


def test_draws_are_binary_with_the_grey_level_as_probability():
    grey = _grey().train.numpy()
    drawn = bernoulli_draw(grey, seed=3)
    assert set(np.unique(drawn)) == {0.0, 1.0}
    # the share of 1s among pixels with grey level g is g: residual mean 0 within 5 binomial standard errors
    residual = drawn - grey
    se = np.sqrt((grey * (1 - grey)).sum()) / grey.size
    assert abs(residual.mean()) < 5 * se
    # and tracks g: a regression of the draw on g has slope 1 within its error
    slope = np.polyfit(grey.ravel(), drawn.ravel(), 1)[0]
    assert abs(slope - 1) < 5 * np.sqrt(0.25 / (grey.size * grey.var()))
    np.testing.assert_array_equal(drawn, bernoulli_draw(grey, seed=3))


def test_dynamic_keeps_training_grey_and_draws_each_batch_afresh():
    data = binarize_images(_grey(), "dynamic")
    assert data.binarize == "dynamic" and data.levels == 1
    assert torch.equal(data.train, _grey().train)  # grey levels kept as the Bernoulli means
    assert set(data.test.unique().tolist()) == {0.0, 1.0}
    first, second = data.observe(data.train[:10]), data.observe(data.train[:10])
    assert set(first.unique().tolist()) <= {0.0, 1.0} and not torch.equal(first, second)
    generator = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(data.observe(data.train[:10], generator()), data.observe(data.train[:10], generator()))
    # the test images are the same whichever way the training images are binarised
    assert torch.equal(binarize_images(_grey(), "fixed").test, data.test)


def test_fixed_draws_training_images_once_and_none_keeps_grey():
    fixed = binarize_images(_grey(), "fixed")
    assert fixed.binarize == "fixed" and set(fixed.train.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(fixed.observe(fixed.train[:10]), fixed.train[:10])
    assert binarize_images(_grey(), "none").binarize == "none"
    with pytest.raises(ValueError, match="binarize must be one of dynamic, fixed, none, got 'half'"):
        binarize_images(_grey(), "half")
    bad = _grey()
    bad.test[0, 3] = 2.0
    with pytest.raises(ValueError, match=r"grey test: pixel 3 is 2.0, outside \[0, 1\]; binarisation reads grey levels"):
        binarize_images(bad, "dynamic")


def test_load_dataset_binarises_mnist5k_with_a_fixed_test_draw():
    one, two = load_dataset("mnist5k", binarize="dynamic"), load_dataset("mnist5k", binarize="fixed")
    assert one.levels == 1 and torch.equal(one.test, two.test) and set(one.test.unique().tolist()) == {0.0, 1.0}
    grey = load_dataset("mnist5k", binarize="none")
    # a binarised pixel is on about as often as its grey level says: compare the test images' ink
    assert abs(float(one.test.mean()) - float(grey.test.mean())) < 5 * float((grey.test * (1 - grey.test)).sum().sqrt()) / one.test.numel()
