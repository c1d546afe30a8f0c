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
