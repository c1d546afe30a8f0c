"""Lecture 1's figures draw the quantities they claim to draw."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from pp_vae import plots
from pp_vae.bayes import BetaBernoulli, NormalKnownVariance, simulate_predictive_coverage, switches


def _lines(fig: Figure) -> dict:
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


@pytest.mark.parametrize("model, data", [(BetaBernoulli(2.0, 2.0), [1, 0, 1, 1, 1]), (NormalKnownVariance(0.0, 1.0, 2.0), [2.0, 3.5, 1.0])])
def test_prior_likelihood_posterior_draws_the_densities(model, data):
    lines = _lines(plots.prior_likelihood_posterior(model, data))
    x, y = lines["posterior"].get_data()
    np.testing.assert_allclose(y, model.posterior(data).pdf(x))
    x, y = lines["likelihood (normalised)"].get_data()
    assert np.trapezoid(y, x) == pytest.approx(1.0)


def test_coin_entropy_peaks_at_one_bit():
    (line,) = plots.coin_entropy().axes[0].get_lines()[:1]
    x, y = line.get_data()
    assert x[np.argmax(y)] == pytest.approx(0.5) and y.max() == pytest.approx(1.0)


def test_shrinkage_and_coverage_figures_plot_their_inputs():
    model = NormalKnownVariance(0.0, 1.0, 2.0)
    x, y = _lines(plots.shrinkage(model, sample_mean=3.0, ns=[1, 4, 100]))["posterior mean"].get_data()
    np.testing.assert_allclose(y, [model.posterior(np.full(n, 3.0)).mean() for n in (1, 4, 100)])
    results = {n: simulate_predictive_coverage(model, n, n_simulations=500, seed=n) for n in (1, 10)}
    x, y = _lines(plots.coverage(results, 0.9))["plug-in (sample mean)"].get_data()
    np.testing.assert_allclose(y, [results[1].plug_in, results[10].plug_in])


def test_replication_check_marks_the_observed_statistic():
    data = np.array([1, 1, 0, 1])
    reps = BetaBernoulli().replicate(data, n_replications=200, seed=0)
    fig = plots.replication_check(reps, data, np.sum, "heads")
    observed = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("observed")][0]
    assert observed.get_xdata()[0] == 3


def test_replication_check_legend_keeps_a_small_p_value_s_digits():
    data = np.array([1, 0] * 13 + [1] * 14)  # 26 switches in 40 flips: few of 1,000 independent replications have as many
    reps = BetaBernoulli().replicate(data, n_replications=1000, seed=0)
    p_value = np.mean([switches(d) >= switches(data) for d in reps.datasets])
    assert 0 < p_value < 0.1 and f"{p_value:.2g}" != f"{p_value:.2f}", p_value  # a p-value that two decimals would round
    fig = plots.replication_check(reps, data, switches, "switches")
    labels = [line.get_label() for line in fig.axes[0].get_lines() if line.get_label().startswith("observed")]
    assert labels == [f"observed (P(rep >= obs) = {p_value:.2g})"]


def test_prior_predictive_check_draws_the_exact_density_at_the_histogram_scale():
    model = NormalKnownVariance(0.0, 1.0, 2.0)
    reps = model.replicate_prior(5, n_replications=4000, seed=0)
    exact = model.prior_predictive_mean(5)
    fig = plots.replication_check(reps, [2.0, 3.0, 2.5, 1.0, 4.0], np.mean, "sample mean", title="Prior predictive check", exact=exact)
    assert fig.axes[0].get_title() == "Prior predictive check: sample mean"
    x, y = _lines(fig)["exact distribution"].get_data()
    bars = fig.axes[0].patches
    width = bars[0].get_width()
    # the curve is the density times replications times bin width: it integrates to the number of replications
    assert np.trapezoid(y, x) / width == pytest.approx(4000, rel=0.01)
    centres = np.array([b.get_x() + width / 2 for b in bars])
    tallest = centres[np.argmax([b.get_height() for b in bars])]
    assert abs(tallest - exact.mean()) < 3 * width + 0.2
