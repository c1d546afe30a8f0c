"""Dequantisation: each grey level spread uniformly over its own bin, and the bound's constant."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.data import ImageData, bin_log_width, binarize_images, dequantize


def _levels(levels=255, n=2000, pixels=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, levels + 1, (n, pixels), generator=g).float() / levels
    y = torch.zeros(n, dtype=torch.long)
    return ImageData("grey", x, y, x[:500].clone(), y[:500], (5, 6), levels=levels)


def test_each_pixel_lands_in_its_own_bin_uniformly():
    data = _levels()
    out = dequantize(data, seed=1)
    assert out.levels is None and out.binarize == "none"
    for split in ("train", "test"):
        counts = (getattr(data, split) * 255).round()
        scaled = getattr(out, split) * 256
        # the bin is the grey level: floor((k + u) / 256 * 256) = k
        assert torch.equal(scaled.floor(), counts)
        # and the position within it is Uniform(0, 1): a Kolmogorov-Smirnov test does not reject
        within = (scaled - counts).numpy().ravel()
        assert stats.kstest(within, "uniform").pvalue > 1e-3
    assert torch.equal(dequantize(data, seed=1).train, out.train)
    assert not torch.equal(dequantize(data, seed=2).train, out.train)
    assert not np.allclose(out.train[:500].numpy(), out.test.numpy())  # test noise is drawn apart from training noise


def test_refuses_binary_or_level_free_images():
    with pytest.raises(ValueError, match="integer grey levels"):
        dequantize(binarize_images(_levels(), "fixed"))
    with pytest.raises(ValueError, match="integer grey levels"):
        dequantize(ImageData("x", torch.rand(3, 4), torch.zeros(3), torch.rand(2, 4), torch.zeros(2), (2, 2)))


def test_bin_log_width_turns_a_uniform_density_into_the_uniform_probability():
    # the uniform density on [0, 1)^D has log p = 0; each of 256^D integer images then has probability 256^-D
    assert math.isclose(0.0 - bin_log_width(784, 255), 784 * math.log(1 / 256))
