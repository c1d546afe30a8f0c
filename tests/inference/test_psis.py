"""PSIS k-hat on weights whose tail is known, and what a k-hat means at a given number of draws."""

import numpy as np
import pytest

from pp_vae.inference import khat_reading, khat_threshold, pareto_khat


def test_khat_of_normal_proposals_for_wider_and_narrower_targets():
    # q = N(0, 1) proposing for p = N(0, s^2): the weights exp(z^2 (1 - 1/s^2) / 2) have a Pareto tail
    # with k = 1 - 1/s^2 when s > 1, and are bounded (k < 0) when s < 1
    z = np.random.default_rng(0).normal(size=8000)
    for s in (0.5, 1.2, 1.5, 2.0):
        k = pareto_khat(-0.5 * (z / s) ** 2 - np.log(s) + 0.5 * z**2)
        if s < 1:
            assert k < 0
        else:
            assert k == pytest.approx(1 - 1 / s**2, abs=0.12), s


def test_too_few_or_broken_weights_give_nan():
    assert np.isnan(pareto_khat(np.zeros(10)))
    assert np.isnan(pareto_khat(np.r_[np.zeros(100), np.nan]))


def test_the_sample_size_aware_threshold_and_readings():
    assert khat_threshold(100) == pytest.approx(0.5) and khat_threshold(1000) == pytest.approx(1 - 1 / 3)
    assert khat_threshold(10**6) == 0.7  # capped
    assert khat_reading(0.3).startswith("k-hat 0.30 < 0.5: good")
    assert "usable" in khat_reading(0.6) and "unreliable" in khat_reading(0.9)
    assert khat_reading(0.6, draws=100) == "k-hat 0.60 > 0.50: unreliable, q misses a part of the posterior that matters"
