"""Lecture 3's figures: the ELBO trace with its moving average, pairs labelled with their correlation."""

import numpy as np

from pp_vae import plots


def test_elbo_history_draws_the_steps_and_their_moving_average():
    elbo = np.arange(100.0)
    lines = {line.get_label(): line for line in plots.elbo_history(elbo, reference=120.0).axes[0].get_lines()}
    np.testing.assert_array_equal(lines["ELBO per step"].get_ydata(), elbo)
    assert lines["moving average (2)"].get_ydata()[0] == 0.5 and lines["log evidence"].get_ydata()[0] == 120.0


def test_pair_labels_each_method_with_its_correlation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    draws = {"a": {"x": x, "y": x + 0.2 * rng.normal(size=2000)}, "b": {"x": x, "y": rng.normal(size=2000)}}
    labels = [t.get_text() for t in plots.pair(draws, "x", "y").axes[0].get_legend().get_texts()]
    assert labels[0] == "a (corr +0.98)" and labels[1].startswith("b (corr ")
