"""Lecture 2's figures: rank plots flat for agreeing chains, divergences drawn where they are."""

import numpy as np

from pp_vae import plots


def test_rank_plot_counts_each_chains_ranks():
    draws = np.random.default_rng(0).normal(size=(4, 500))
    right = plots.trace_and_rank(draws, "x").axes[1]
    counts = [line.get_ydata() for line in right.get_lines()[:4]]
    # 20 bins of 100 pooled ranks: each chain's bars add up to its 500 draws
    assert all(int(np.sum(c[:20])) == 500 for c in counts)


def test_funnel_marks_the_divergent_draws():
    theta, log_tau = np.zeros(10), np.linspace(-2, 2, 10)
    divergent = np.arange(10) < 3
    ax = plots.funnel({"centred": (theta, log_tau, divergent)}).axes[0]
    red = ax.collections[1].get_offsets()
    np.testing.assert_array_equal(red[:, 1], log_tau[:3])
