"""Figures draw the quantities they claim to draw."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from pp_vae import plots
from pp_vae.conjugate import BetaBernoulli, NormalKnownVariance, simulate_predictive_coverage


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
    observed = [l for l in fig.axes[0].get_lines() if l.get_label().startswith("observed")][0]
    assert observed.get_xdata()[0] == 3


def test_vae_figures_draw_the_decoded_images():
    import torch

    from pp_vae.vae import VAE

    torch.manual_seed(0)
    vae = VAE(64, latent_dim=2, hidden_dim=8)
    fig = plots.latent_manifold(vae, (8, 8), n=3, extent=1.0)
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (3 * 9 - 1, 3 * 9 - 1)
    centre = vae.mean_image(torch.zeros(1, 2)).reshape(8, 8).numpy()
    np.testing.assert_allclose(canvas[9:17, 9:17], centre, rtol=1e-5)  # the middle tile decodes z = (0, 0)
    with pytest.raises(ValueError, match="needs latent_dim = 2, this VAE has 3"):
        plots.latent_manifold(VAE(64, latent_dim=3, hidden_dim=8), (8, 8))
    grid = plots.image_grid(torch.rand(7, 64), (8, 8), "t", columns=4)
    assert sum(1 for ax in grid.axes if ax.get_images()) == 7


def test_traversal_rows_sweep_the_dimensions_with_most_kl():
    import torch

    from pp_vae.vae import VAE

    torch.manual_seed(0)
    vae = VAE(64, latent_dim=3, hidden_dim=8)
    x = torch.rand(1, 64)
    fig = plots.latent_traversals(vae, x, (8, 8), kl_per_dim=[0.1, 2.0, 0.5], dims=2, steps=3)
    images = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    z = vae.posterior_mean(x)[0].repeat(3, 1)
    z[:, 1] = torch.tensor([-3.0, 0.0, 3.0])  # first row: dimension 1, the largest KL
    np.testing.assert_allclose(np.stack(images[:3]), vae.mean_image(z).reshape(3, 8, 8).numpy(), rtol=1e-5)
    assert len(images) == 6


def test_collapse_gap_and_test_figures_show_their_numbers():
    from pp_vae.two_sample import TwoSampleResult
    from pp_vae.vae_analysis import Gaps

    bars = plots.kl_per_dim([0.5, 0.0], [0.3, 0.001]).axes[0].patches
    assert [b.get_height() for b in bars] == [0.5, 0.0] and bars[0].get_facecolor() != bars[1].get_facecolor()
    gaps = Gaps(-25.0, -25.2, -25.3, 0.2, 0.1, 0.01)
    widths = [b.get_width() for b in plots.gap_split(gaps).axes[0].patches]
    np.testing.assert_allclose(widths, [0.0, 0.1, 0.3])
    result = TwoSampleResult(1.5, 0.01, np.zeros(10), np.zeros(3), np.zeros(3))
    line = plots.permutation_null(result, "t").axes[0].get_lines()[0]
    assert line.get_xdata()[0] == 1.5
    assert len(plots.score_histograms({"a": np.zeros(5), "b": np.ones(5)}).axes[0].patches) == 60
