"""The no-latent baseline against scipy's own probabilities."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.data import ImageData
from pp_vae.vae.baseline import no_latent_log_likelihood


def _data(train, test, levels, binarize="none"):
    as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    y = torch.zeros(len(train), dtype=torch.long)
    return ImageData("toy", as_t(train), y, as_t(test), y[: len(test)], (1, np.asarray(train).shape[1]), levels, binarize)


def test_bernoulli_pixels_match_scipy_with_half_count_smoothing():
    rng = np.random.default_rng(0)
    train = rng.random((200, 6))  # grey levels: dynamic binarisation fits the pixels' expected values
    test = (rng.random((30, 6)) < 0.4).astype(float)
    p = (train.sum(0) + 0.5) / (200 + 1)
    expected = stats.bernoulli.logpmf(test, p).sum(1)
    np.testing.assert_allclose(no_latent_log_likelihood(_data(train, test, 1, "dynamic")), expected, rtol=1e-5)


def test_counts_use_each_pixels_frequency_table():
    rng = np.random.default_rng(1)
    train_counts, test_counts = rng.integers(0, 5, (300, 4)), rng.integers(0, 5, (20, 4))
    got = no_latent_log_likelihood(_data(train_counts / 4, test_counts / 4, 4))
    expected = np.zeros(20)
    for j in range(4):
        table = np.bincount(train_counts[:, j], minlength=5) + 0.5
        expected += np.log(table / table.sum())[test_counts[:, j]]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_other_test_images_and_refusals():
    train = np.full((10, 3), 0.5)
    other = _data(train[:0], np.array([[1.0, 0.0, 1.0]]), 1, "fixed")
    np.testing.assert_allclose(no_latent_log_likelihood(_data(train, train[:1], 1), other), [3 * np.log(0.5)], rtol=1e-6)
    with pytest.raises(ValueError, match="has none"):
        no_latent_log_likelihood(other)
    with pytest.raises(ValueError, match="pixels without integer grey levels have no discrete no-latent baseline"):
        no_latent_log_likelihood(_data(train, train, None))


def test_gaussian_pixels_fit_the_sigma_a_numerical_maximum_finds():
    from scipy import optimize

    from pp_vae.vae.baseline import gaussian_pixels_log_density

    rng = np.random.default_rng(2)
    train, test = rng.random((200, 5)) ** 2, rng.random((7, 5))
    got, sigma = gaussian_pixels_log_density(train, test)
    mean = train.mean(0)
    best = optimize.minimize_scalar(lambda s: -stats.norm.logpdf(train, mean, s).sum(), bounds=(1e-3, 3), method="bounded").x
    assert abs(sigma - best) < 1e-4
    expected = -0.5 * ((test - mean) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_frequency_table_pixels_sum_to_the_no_latent_baseline():
    from pp_vae.vae.baseline import frequency_table_log_probs

    rng = np.random.default_rng(3)
    train_counts, test_counts = rng.integers(0, 4, (100, 3)), rng.integers(0, 4, (9, 3))
    got = frequency_table_log_probs(train_counts / 3, test_counts / 3, 3)
    for j in range(3):
        table = np.bincount(train_counts[:, j], minlength=4) + 0.5
        np.testing.assert_allclose(got[:, j], np.log(table / table.sum())[test_counts[:, j]], rtol=1e-12)
    np.testing.assert_allclose(got.sum(1), no_latent_log_likelihood(_data(train_counts / 3, test_counts / 3, 3)), rtol=1e-6)


def test_continuous_bernoulli_pixels_take_the_logit_a_numerical_maximum_finds_within_float32s_clamp():
    from scipy import optimize

    from pp_vae.vae.baseline import continuous_bernoulli_pixels_log_density

    rng = np.random.default_rng(3)
    train = np.column_stack([rng.random(300) ** 3, rng.random(300), 1 - rng.random(300) ** 4, rng.random(300) * 1e-3])
    test = rng.random((9, 4)) * 0.98 + 0.01
    got, logits = continuous_bernoulli_pixels_log_density(train, test)
    cap = np.log((1 - np.finfo(np.float32).eps) / np.finfo(np.float32).eps)

    def closed_form(t, x):  # log density of a continuous Bernoulli with natural parameter (logit) t: t x - log((e^t - 1) / t)
        return t * x + np.log(t / np.expm1(t))

    for j, pixel in enumerate(train.T):
        loss = lambda t, x=pixel: -closed_form(t, x).mean()  # noqa: E731
        best = optimize.minimize_scalar(loss, bounds=(-cap, cap), method="bounded", options={"xatol": 1e-7})
        assert abs(logits[j] - best.x) < 1e-3, (j, logits[j], best.x)
    assert logits[3] == pytest.approx(-cap, abs=1e-6) and logits[0] < -1 and logits[2] > 1  # a pixel almost always black: at the clamp
    np.testing.assert_allclose(got, closed_form(logits, test), rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="must lie in \\(0, 1\\)"):
        continuous_bernoulli_pixels_log_density(np.zeros((3, 4)), test)
