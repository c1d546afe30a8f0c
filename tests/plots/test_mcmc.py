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


def test_workflow_figures_draw_what_they_are_given():
    rng = np.random.default_rng(0)
    y = np.array([28.0, 8.0, -3.0])
    fig = plots.school_replications(rng.normal(size=(2, 100, 3)), y, rng.normal(size=(2, 100)), 0.5, "sd")
    assert len(fig.axes[0].collections[-1].get_offsets()) == 3  # the observed points
    k = plots.pareto_k({"a": [0.1, 0.2, 0.9], "b": [0.3, 0.4, 0.5]}).axes[0]
    np.testing.assert_allclose(k.get_lines()[0].get_ydata(), [0.1, 0.2, 0.9])
    errors = plots.energy_errors(np.array([0.1, 1.0]), {"neck": np.array([1.0, np.inf])}, {"neck": 0.2}).axes[0]
    np.testing.assert_allclose(errors.get_lines()[0].get_ydata(), [1.0])  # the infinite error is marked apart
    plots.prior_predictive(rng.standard_cauchy(size=(100, 3)) * 10, y, 100.0)
    energy = rng.normal(size=(2, 50))
    plots.hmc_sample_stats({"fit": (np.full((2, 50), 3), energy)})
