"""The VAE lectures' figures draw the quantities they claim to draw."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from pp_vae import plots


def _lines(fig: Figure) -> dict:
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


def test_vae_figures_draw_the_decoded_images():
    import torch

    from pp_vae.vae import VAE

    torch.manual_seed(0)
    vae = VAE(64, latent_dim=2, hidden_dim=8)
    fig = plots.latent_manifold(vae, (8, 8), n=3, extent=1.0)
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (3 * 9 - 1, 3 * 9 - 1)
    centre = vae.decode(torch.zeros(1, 2)).reshape(8, 8).numpy()
    np.testing.assert_allclose(canvas[9:17, 9:17], centre, rtol=1e-5)  # the middle tile decodes z = (0, 0)
    with pytest.raises(ValueError, match=r"needs a 2-D code \(latent_dim = 2\), this VAE.s code has 3 dimensions"):
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
    np.testing.assert_allclose(np.stack(images[:3]), vae.decode(z).reshape(3, 8, 8).numpy(), rtol=1e-5)
    assert len(images) == 6


def test_collapse_gap_and_test_figures_show_their_numbers():
    from pp_vae.vae import Gaps, TwoSampleResult

    bars = plots.kl_per_dim([0.5, 0.0], [0.3, 0.001]).axes[0].patches
    assert [b.get_height() for b in bars] == [0.5, 0.0] and bars[0].get_facecolor() != bars[1].get_facecolor()
    gaps = Gaps(-25.0, -25.2, -25.3, 0.2, 0.1, 0.01)
    widths = [b.get_width() for b in plots.gap_split(gaps).axes[0].patches]
    np.testing.assert_allclose(widths, [0.0, 0.1, 0.3])
    result = TwoSampleResult(1.5, 0.01, np.zeros(10), np.zeros(3), np.zeros(3))
    line = plots.permutation_null(result, "t").axes[0].get_lines()[0]
    assert line.get_xdata()[0] == 1.5
    assert len(plots.score_histograms({"a": np.zeros(5), "b": np.ones(5)}).axes[0].patches) == 60
