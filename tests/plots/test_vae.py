"""The VAE lectures' figures draw the quantities they claim to draw."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

from pp_vae import plots


def _lines(fig: Figure) -> dict:
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


def test_vae_figures_draw_the_decoded_images():
    import torch

    from pp_vae.vae import VAE, VAESpec

    torch.manual_seed(0)
    vae = VAE(VAESpec(64, latent_dim=2, hidden_dim=8))
    fig = plots.latent_manifold(vae, (8, 8), n=3, coverage=0.99)
    canvas = fig.axes[0].get_images()[0].get_array()
    assert canvas.shape == (3 * 9 - 1, 3 * 9 - 1)
    centre = vae.decode(torch.zeros(1, 2)).reshape(8, 8).numpy()
    np.testing.assert_allclose(canvas[9:17, 9:17], centre, rtol=1e-5)  # the middle tile decodes z = (0, 0)
    edge = float(stats.norm.ppf(0.005))  # the outer tiles sit at the prior's 0.5% and 99.5% quantiles
    top_left = vae.decode(torch.tensor([[edge, -edge]])).reshape(8, 8).numpy()
    np.testing.assert_allclose(canvas[:8, :8], top_left, rtol=1e-5)
    with pytest.raises(ValueError, match=r"needs a 2-D code \(latent_dim = 2\), this VAE.s code has 3 dimensions"):
        plots.latent_manifold(VAE(VAESpec(64, latent_dim=3, hidden_dim=8)), (8, 8))
    grid = plots.image_grid(torch.rand(7, 64), (8, 8), "t", columns=4)
    assert sum(1 for ax in grid.axes if ax.get_images()) == 7


def test_traversal_rows_sweep_the_dimensions_with_most_kl():
    import torch

    from pp_vae.vae import VAE, VAESpec

    torch.manual_seed(0)
    vae = VAE(VAESpec(64, latent_dim=3, hidden_dim=8))
    x = torch.rand(1, 64)
    fig = plots.latent_traversals(vae, x, (8, 8), kl_per_dim=[0.1, 2.0, 0.5], dims=2, steps=3)
    images = [ax.get_images()[0].get_array() for ax in fig.axes if ax.get_images()]
    z = vae.posterior_mean(x)[0].repeat(3, 1)
    z[:, 1] = torch.tensor([-3.0, 0.0, 3.0])  # first row: dimension 1, the largest KL
    np.testing.assert_allclose(np.stack(images[:3]), vae.decode(z).reshape(3, 8, 8).numpy(), rtol=1e-5)
    assert len(images) == 6
    assert fig._suptitle.get_text() == "latent traversals (a row per dimension)"
    titled = plots.latent_traversals(vae, x, (8, 8), dims=[0], steps=3, title="beta = 16: dimension 0")
    assert titled._suptitle.get_text() == "beta = 16: dimension 0"  # two models' traversals need not share a title


def test_collapse_gap_and_test_figures_show_their_numbers():
    from pp_vae.vae import Gaps, TwoSampleResult

    ax = plots.kl_per_dim([0.01, 2.0, 0.5], threshold=0.05).axes[0]
    heights = [b.get_height() + b.get_y() for b in ax.patches]  # bars rise from the log axis' floor to the KL
    np.testing.assert_allclose(sorted(heights, reverse=True), [2.0, 0.5, 0.01])
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["z1", "z2", "z0"]
    assert ax.get_lines()[0].get_ydata()[0] == 0.05  # the threshold line sits at the threshold
    colours = {tuple(b.get_facecolor()) for b in ax.patches}
    assert len(colours) == 2  # active and collapsed bars differ
    gaps = Gaps(np.array([-25.0, -25.0]), np.array([-25.2, -25.2]), np.array([-25.3, -25.3]), 0.01)
    ax = plots.gap_split(gaps).axes[0]
    spans = sorted((round(b.get_x(), 6), round(b.get_x() + b.get_width(), 6)) for b in ax.patches)
    assert spans == [(-25.3, -25.2), (-25.2, -25.0)]  # amortisation gap, then approximation gap, end to end
    wide = Gaps(np.array([-139.2]), np.array([-140.3]), np.array([-141.7]), 0.01)  # lecture 6's span: labels like -141.5
    wide_ax = plots.gap_split(wide).axes[0]
    wide_ax.figure.canvas.draw()
    boxes = [
        t.get_window_extent()
        for t in wide_ax.get_xticklabels()
        if t.get_text() and wide_ax.get_xlim()[0] <= t.get_position()[0] <= wide_ax.get_xlim()[1]
    ]
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))  # no two tick labels overlap
    weights = plots.kl_weight_schedule([0.25, 0.5, 0.75, 1.0, 1.0, 1.0], steps_per_epoch=2).axes[0]
    assert weights.get_ylim()[0] == 0 and weights.get_lines()[0].get_xdata()[-1] == 3.0
    curves = plots.kl_curves({"a": [0.2, 0.3], "b": [12.0, 17.0]}, lines={"floor": 20.0}).axes[0]
    assert curves.get_yscale() == "log" and list(curves.get_lines()[1].get_ydata()) == [12.0, 17.0]
    assert curves.get_lines()[2].get_ydata()[0] == 20.0 and [t.get_text() for t in curves.get_legend().get_texts()] == ["a", "b", "floor"]
    snr = plots.gradient_snr({1: {"encoder": (0.7, 0.01), "decoder": (5.0, 0.1)}, 50: {"encoder": (0.5, 0.01), "decoder": (12.0, 0.2)}})
    encoder, decoder = (container.lines[0] for container in snr.axes[0].containers)  # each errorbar's data line
    assert list(encoder.get_xdata()) == [1, 50] and list(decoder.get_ydata()) == [5.0, 12.0]
    assert [t.get_text() for t in snr.axes[0].get_legend().get_texts()] == ["encoder", "decoder"]
    result = TwoSampleResult(1.5, 0.01, np.zeros(10), np.zeros(3), np.zeros(3))
    line = plots.permutation_null(result, "t").axes[0].get_lines()[0]
    assert line.get_xdata()[0] == 1.5
    assert len(plots.score_histograms({"a": np.zeros(5), "b": np.ones(5)}).axes[0].patches) == 60


def test_kl_bars_legend_shows_each_group_in_its_own_colour_even_when_empty():
    from matplotlib.colors import to_rgba

    fig = plots.kl_per_dim([2.0, 1.5, 0.9], threshold=0.05)  # nothing collapsed: the legend must still show grey for "collapsed"
    legend = fig.axes[0].get_legend()
    colours = {
        text.get_text(): handle.get_facecolor()
        for text, handle in zip(legend.get_texts(), legend.legend_handles)
        if hasattr(handle, "get_facecolor")
    }
    assert colours["active (3)"] == to_rgba("C0") and colours["collapsed (0)"] == to_rgba("0.7")
