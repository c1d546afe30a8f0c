"""The VAE two-sample test: calibrated under the null, powerful against clearly different samples."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from pp_vae.vae.two_sample import DEFAULT_CONFIG, distance_statistic, vae_two_sample_test


@pytest.fixture(scope="module")
def images(digits):
    return torch.cat([digits.train, digits.test]), torch.cat([digits.train_labels, digits.test_labels])


def test_distance_is_the_difference_of_mean_log_ratios():
    scores = np.array([1.0, 2.0, 3.0, -1.0, 0.0])
    assert distance_statistic(scores, np.array([True, True, True, False, False])) == pytest.approx(2.0 - (-0.5))


def test_bad_samples_are_clear_errors():
    with pytest.raises(ValueError, match=r"sample a must be a 2-D array \(images, pixels\), got shape \(10,\)"):
        vae_two_sample_test(torch.rand(10), torch.rand(10, 4))
    with pytest.raises(ValueError, match="sample b has 3 images; the test needs at least 8"):
        vae_two_sample_test(torch.rand(10, 4), torch.rand(3, 4))
    with pytest.raises(ValueError, match="samples a and b have 4 and 5 pixels per image"):
        vae_two_sample_test(torch.rand(10, 4), torch.rand(10, 5))


@pytest.mark.slow
def test_false_positive_rate_under_the_null_is_near_the_level(images):
    x, _ = images
    config = replace(DEFAULT_CONFIG, epochs=20)
    p_values = []
    for replicate in range(40):
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(100 + replicate))[:240]
        p_values.append(vae_two_sample_test(x[order[:120]], x[order[120:]], permutations=200, seed=replicate, config=config).p_value)
    p_values = np.array(p_values)
    # 40 null replicates at level 0.1: Binomial(40, 0.1) exceeds 9 rejections with probability 0.005;
    # null p-values are uniform, so their mean lies within 0.5 +- 3 x 0.29/sqrt(40) = [0.36, 0.64]
    assert np.count_nonzero(p_values <= 0.1) <= 9
    assert 0.36 <= p_values.mean() <= 0.64


@pytest.mark.slow
def test_rejects_clearly_different_samples(images):
    x, labels = images
    result = vae_two_sample_test(x[labels < 5][:300], x[labels >= 5][:300], permutations=500)
    assert result.rejects(0.01) and result.distance > 1.0
    threes_eights = vae_two_sample_test(x[labels == 3][:120], x[labels == 8][:120], permutations=200)
    assert threes_eights.p_value <= 0.01
