"""Measuring what beta-VAE's axes do not promise: identity changes along a traversal, and axes matched across runs."""

import numpy as np
import pytest
import torch

from pp_vae.vae.disentanglement import identity_changes, match_axes, pixel_classifier


class _Identity:
    """A stand-in VAE whose code is the image itself: posterior mean x, decode z."""

    def posterior_mean(self, x):
        return x

    def decode(self, z):
        return z


def _argmax(images):
    return images.argmax(1)


def test_identity_changes_count_the_traversal_images_of_another_class():
    """Start (1, 0), class 0 by argmax. Sweeping z1 over -3..3 (9 steps) passes 1 at three values (1.5, 2.25, 3): 3/9;
    sweeping z0 goes below 0 at four (-3 .. -0.75): 4/9."""
    shares = identity_changes(_Identity(), torch.tensor([[1.0, 0.0]]), _argmax, dims=[1, 0])
    np.testing.assert_allclose(shares, [[3 / 9, 4 / 9]])


def test_identity_changes_refuse_bad_dimensions_and_sweeps():
    with pytest.raises(ValueError, match="dims holds 2, but the code has dimensions 0..1"):
        identity_changes(_Identity(), torch.zeros(1, 2), _argmax, dims=[2])
    with pytest.raises(ValueError, match="steps >= 2 and extent > 0"):
        identity_changes(_Identity(), torch.zeros(1, 2), _argmax, dims=[0], steps=1)


def test_a_permuted_code_with_flipped_signs_is_matched_one_to_one():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 4))
    b = -a[:, [2, 0, 3, 1]] + 0.01 * rng.normal(size=(2000, 4))
    match = match_axes(a, b, draws=20)
    assert list(match.assignment) == [1, 3, 0, 2]
    assert match.matched.min() > 0.999 and match.explained.min() > 0.999


def test_a_rotated_code_keeps_its_information_but_not_its_axes():
    """Two independent N(0, 1) axes rotated by 45 degrees: each correlates cos 45 = 0.707 with its match, R^2 = 1."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20_000, 2))
    c = np.cos(np.pi / 4)
    b = a @ np.array([[c, -c], [c, c]])
    match = match_axes(a, b, draws=20)
    np.testing.assert_allclose(match.matched, c, atol=0.02)
    np.testing.assert_allclose(match.explained, 1.0, atol=1e-9)


def test_the_bootstrap_se_of_one_correlation_is_the_normal_theory_one():
    """For a bivariate normal with correlation rho the SE of r is about (1 - rho^2) / sqrt(n)."""
    rng = np.random.default_rng(2)
    rho, n = 0.6, 2000
    a = rng.normal(size=(n, 1))
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=(n, 1))
    match = match_axes(a, b, draws=400)
    assert match.matched_se == pytest.approx((1 - rho**2) / np.sqrt(n), rel=0.2)


def test_match_axes_and_the_classifier_refuse_mismatched_inputs():
    with pytest.raises(ValueError, match="same images"):
        match_axes(np.zeros((10, 2)), np.zeros((9, 2)))
    with pytest.raises(ValueError, match="needs its own match"):
        match_axes(np.ones((10, 3)), np.ones((10, 2)))
    with pytest.raises(ValueError, match="every dimension must vary"):
        match_axes(np.ones((10, 2)), np.random.default_rng(0).normal(size=(10, 2)))
    with pytest.raises(ValueError, match="3 images, 2 labels"):
        pixel_classifier(np.zeros((3, 4)), np.zeros(2))
