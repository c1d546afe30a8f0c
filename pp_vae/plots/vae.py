"""Figures of lectures 4-6: images, training curves, latent spaces, collapse, gaps, tests; and a training run's figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    import torch

    from pp_vae.data.images import ImageData
    from pp_vae.vae.analysis import Gaps
    from pp_vae.vae.config import History
    from pp_vae.vae.family import VAEFamily
    from pp_vae.vae.two_sample import TwoSampleResult


def image_grid(images: Any, image_shape: tuple[int, int], title: str, columns: int = 10, labels: Sequence[str] | None = None) -> Figure:
    """A grid of grey-level images (rows of ``columns``)."""
    images = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images).reshape(-1, *image_shape)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
            if labels is not None and i < len(labels):
                ax.set_title(labels[i], fontsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def reconstructions(vae: VAEFamily, x: torch.Tensor, image_shape: tuple[int, int], n: int = 10) -> Figure:
    """Originals (top row) and the VAE's reconstructions (bottom row)."""
    import torch

    x = x[:n]
    return image_grid(torch.cat([x, vae.reconstruct(x)]), image_shape, "originals (top) and reconstructions (bottom)", columns=n)


def elbo_curves(history: History) -> Figure:
    """Train and test ELBO per epoch (nats per image); the axis follows the curves from the third epoch on."""
    epochs = np.arange(1, len(history.train_elbo) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(epochs, history.train_elbo, label="train objective")
    ax.plot(epochs, history.test_elbo, label="test ELBO")
    values = np.r_[history.train_elbo[2:], history.test_elbo[2:]]
    if values.size:  # the first epochs, far below, would flatten the rest
        low, high = float(np.min(values)), float(np.max(values))
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low) + 1e-9)
    ax.set(xlabel="epoch", ylabel="ELBO (nats per image)", title="Training the VAE")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def latent_scatter(vae: VAEFamily, x: torch.Tensor, labels: Any, title: str = "Latent means by label") -> Figure:
    """Posterior means of ``x`` coloured by label (first two latent dimensions, or their top two principal components)."""
    loc = vae.posterior_mean(x).cpu().numpy()
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
    if loc.shape[1] > 2:
        centred = loc - loc.mean(0)
        loc = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        xlabel, ylabel = "PC 1 of E[z|x]", "PC 2 of E[z|x]"
    else:
        xlabel, ylabel = "z1", "z2"
    fig, ax = plt.subplots(figsize=(5, 4.3))
    classes = np.unique(labels)
    if classes.size <= 10 and np.issubdtype(labels.dtype, np.integer):  # digits: one colour per class, ticks at the centres
        norm = BoundaryNorm(np.arange(classes.min() - 0.5, classes.max() + 1.5), plt.get_cmap("tab10").N, clip=True)
        scatter = ax.scatter(loc[:, 0], loc[:, 1], c=labels, cmap="tab10", norm=norm, s=6, alpha=0.8)
        fig.colorbar(scatter, ax=ax, label="label", ticks=classes)
    else:
        scatter = ax.scatter(loc[:, 0], loc[:, 1], c=labels, cmap="viridis", s=6, alpha=0.8)
        fig.colorbar(scatter, ax=ax, label="label")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.tight_layout()
    return fig


def latent_manifold(vae: VAEFamily, image_shape: tuple[int, int], n: int = 12, coverage: float = 0.995) -> Figure:
    """Decoded means over a 2-D latent space, on a grid of the prior's quantiles (as Kingma and Welling's figure 4).

    The grid spans the central ``coverage`` of each ``N(0, 1)`` coordinate, spaced evenly in probability, so
    every tile stands for an equal share of the prior's mass (``coverage=0.995``: from -2.8 to 2.8).
    """
    import torch
    from scipy import stats

    if vae.code_dim != 2:
        raise ValueError(f"the latent manifold needs a 2-D code (latent_dim = 2), this VAE's code has {vae.code_dim} dimensions")
    device = vae.device
    tail = (1 - coverage) / 2
    grid = torch.tensor(stats.norm.ppf(np.linspace(tail, 1 - tail, n)), dtype=torch.float32)
    z = torch.stack(torch.meshgrid(grid, grid.flip(0), indexing="xy"), -1).reshape(-1, 2).to(device)
    images = vae.decode(z).cpu().numpy().reshape(n, n, *image_shape)
    h, w = image_shape
    canvas = np.zeros((n * (h + 1) - 1, n * (w + 1) - 1))  # a blank pixel between tiles
    for i in range(n):
        for j in range(n):
            canvas[i * (h + 1) : i * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = images[i, j]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(canvas, cmap="gray_r", extent=(0, n, 0, n))
    ticks = np.arange(n) + 0.5  # tile centres; the tiles are evenly spaced in probability, not in z
    shown = np.unique(np.round(np.linspace(0, n - 1, min(n, 7))).astype(int))  # both ends and, for odd n, the centre
    values = grid.numpy()
    ax.set_xticks(ticks[shown], [f"{v:.1f}" for v in values[shown]])
    ax.set_yticks(ticks[shown], [f"{v:.1f}" for v in values[shown]])
    ax.set(xlabel="z1 (tiles at N(0, 1) quantiles)", ylabel="z2", title="The learned 2-D manifold: decoded means")
    fig.tight_layout()
    return fig


def latent_traversals(
    vae: VAEFamily,
    x: torch.Tensor,
    image_shape: tuple[int, int],
    kl_per_dim: Sequence[float] | None = None,
    dims: int | Sequence[int] = 6,
    extent: float = 3.0,
    steps: int = 9,
    title: str = "latent traversals (a row per dimension)",
) -> Figure:
    """Decode ``E_q[z | x]`` with one latent dimension swept over ``[-extent, extent]`` per row.

    Rows are the ``dims`` dimensions with the largest KL (when given), or the dimensions listed in ``dims``:
    a dimension that changes nothing has collapsed.
    """
    import torch

    z0 = vae.posterior_mean(x[:1])[0]
    if isinstance(dims, int):
        order = np.argsort(kl_per_dim)[::-1] if kl_per_dim is not None else np.arange(len(z0))
        order = order[: min(dims, len(z0))]
    else:
        order = np.asarray(dims, dtype=int)
    values = torch.linspace(-extent, extent, steps)
    z = z0.repeat(len(order) * steps, 1)
    for row, dim in enumerate(order):
        z[row * steps : (row + 1) * steps, int(dim)] = values.to(z.device)
    labels = [
        f"z{int(d)}={v:+.1f}" if i == 0 or j == 0 else f"{v:+.1f}" for i, d in enumerate(order) for j, v in enumerate(values.tolist())
    ]
    return image_grid(vae.decode(z), image_shape, title, columns=steps, labels=labels)


KL_FLOOR = 1e-4  # nats: where the KL-per-dimension bars start on their log axis


def kl_per_dim(kl: Sequence[float], threshold: float = 0.05, title: str = "Which latent dimensions carry information?") -> Figure:
    """KL per code dimension (nats, log axis), sorted, with the threshold below which a dimension counts as collapsed."""
    values = np.sort(np.asarray(kl, dtype=float))[::-1]
    order = np.argsort(np.asarray(kl, dtype=float))[::-1]
    fig, ax = plt.subplots(figsize=(7.4, 3.2))
    positions = np.arange(len(values))
    active = values > threshold
    heights = np.maximum(values, KL_FLOOR) - KL_FLOOR
    ax.bar(positions[active], heights[active], bottom=KL_FLOOR, color="C0")
    ax.bar(positions[~active], heights[~active], bottom=KL_FLOOR, color="0.7")
    ax.axhline(threshold, color="C3", ls="--", lw=1)
    handles = [
        Patch(color="C0", label=f"active ({active.sum()})"),
        Patch(color="0.7", label=f"collapsed ({(~active).sum()})"),
        Line2D([], [], color="C3", ls="--", lw=1, label=f"threshold {threshold:g} nats"),
    ]
    ax.set_yscale("log")
    ax.set_ylim(KL_FLOOR, max(values.max() * 2, threshold * 10))
    ax.set_xticks(positions, [f"z{int(i)}" for i in order], fontsize=7)
    ax.set(
        xlabel="code dimension (sorted by KL)", ylabel="KL per image (nats, log scale)", title=f"{title}\ntotal KL {values.sum():.2f} nats"
    )
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def kl_weight_schedule(weights: Sequence[float], steps_per_epoch: int, title: str = "KL annealing schedule") -> Figure:
    """The KL term's weight at every training step, against epochs, from 0 (where annealing starts) to beta."""
    values = np.asarray(weights, dtype=float)
    epochs = (np.arange(values.size) + 1) / steps_per_epoch
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    ax.plot(epochs, values, color="C0")
    ax.set(xlabel="epoch", ylabel="KL weight (beta at this step)", title=title, ylim=(0, values.max() * 1.1), xlim=(0, epochs[-1]))
    fig.tight_layout()
    return fig


def test_elbo_curves(histories: dict[str, History], title: str = "Test ELBO while training") -> Figure:
    """Test ELBO per epoch (nats per image) of several runs on one axis."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, history in histories.items():
        ax.plot(np.arange(1, len(history.test_elbo) + 1), history.test_elbo, label=label)
    ax.set(xlabel="epoch", ylabel="test ELBO (nats per image)", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def kl_curves(paths: dict[str, Sequence[float]], lines: dict[str, float] | None = None, title: str = "Total KL while training") -> Figure:
    """Each run's total KL per epoch (nats per image), on a log scale so that tenths show beside tens; ``lines``: labelled levels."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, path in paths.items():
        ax.plot(np.arange(1, len(path) + 1), path, marker="o", markersize=3, label=label)
    for i, (label, level) in enumerate((lines or {}).items()):
        ax.axhline(level, color=f"{0.4 + 0.3 * (i % 2)}", linestyle="--", linewidth=1, label=label)
    ax.set(xlabel="epoch", ylabel="test KL (nats per image)", title=title, yscale="log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def gradient_snr(result: dict[int, dict[str, tuple[float, float]]], title: str = "Gradient SNR against K") -> Figure:
    """The encoder's and the decoder's median gradient SNR (with 2 SE bars) against the IWAE bound's K, log-log."""
    ks = sorted(result)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for part, colour in (("encoder", "C0"), ("decoder", "C3")):
        values = np.array([result[k][part] for k in ks])
        ax.errorbar(ks, values[:, 0], yerr=2 * values[:, 1], marker="o", color=colour, capsize=3, label=part)
    ax.set(xscale="log", yscale="log", xlabel="K, draws per image in the IWAE bound", ylabel="median |mean| / sd of the gradient")
    ax.set_title(title)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def gap_split(gaps: Gaps) -> Figure:
    """From the amortised ELBO up to ``log p(x)``: the amortisation gap, then the approximation gap, as a waterfall (nats per image)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    rows = ["approximation gap\n(best Gaussian q -> log p(x))", "amortisation gap\n(encoder -> best Gaussian q)"]
    widths = [gaps.approximation_gap, gaps.amortisation_gap]
    ax.barh(rows, widths, left=[gaps.optimal_elbo, gaps.amortised_elbo], color=["C2", "C0"], height=0.5)
    for y, (width, left) in enumerate(zip(widths, [gaps.optimal_elbo, gaps.amortised_elbo])):
        ax.annotate(f"{width:.2f} nats", (left + width, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    marks = {"amortised ELBO": gaps.amortised_elbo, "best-Gaussian ELBO": gaps.optimal_elbo, "log p(x)": gaps.log_likelihood}
    for (label, value), style in zip(marks.items(), [":", "--", "-"]):
        ax.axvline(value, color="0.3", ls=style, lw=1, label=f"{label} {value:.2f}")
    span = gaps.log_likelihood - gaps.amortised_elbo
    ax.set_xlim(gaps.amortised_elbo - 0.15 * abs(span) - 1e-3, gaps.log_likelihood + 0.45 * abs(span) + 1e-3)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # long negative tick labels (-141.5) overlap at the default density
    ax.set(xlabel="nats per image", title=f"estimated log p(x) - ELBO = {gaps.total:.2f} nats per image\n(log p(x) by IWAE: a lower bound)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(frameon=False, fontsize=7, loc="lower center", ncol=3)
    return fig


def permutation_null(result: TwoSampleResult, title: str) -> Figure:
    """The permutation null distribution of the two-sample distance with the observed value."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(result.null, bins=30, color="0.7", label="permutations")
    floor = 1 / (result.null.size + 1)  # the smallest p-value the permutations can give
    p_text = f"p <= {floor:.3g}" if result.p_value <= floor + 1e-12 else f"p = {result.p_value:.3f}"
    ax.axvline(result.distance, color="C3", label=f"observed {result.distance:.2f} ({p_text})")
    ax.set(xlabel="distance (nats)", ylabel="count", title=title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def score_histograms(scores: dict[str, np.ndarray], xlabel: str = "anomaly score: -ELBO (nats)", title: str = "") -> Figure:
    """Overlaid histograms of per-image scores by group."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for label, values in scores.items():
        ax.hist(values, bins=30, alpha=0.6, density=True, label=label)
    ax.set(xlabel=xlabel, ylabel="density", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def training_figures(vae: VAEFamily, data: ImageData, report: dict[str, Any], history: History, seed: int = 0) -> dict[str, Figure]:
    """The figures ``pp-vae train`` writes, by file name.

    Training curves, reconstructions, samples, latent means, KL per dimension, traversals, and the 2-D
    manifold when the code has two dimensions.
    """
    import torch

    test = data.test.to(vae.device)
    figures = {
        "elbo.png": elbo_curves(history),
        "reconstructions.png": reconstructions(vae, test, data.image_shape),
        "samples.png": image_grid(vae.sample(40, torch.Generator().manual_seed(seed)), data.image_shape, "samples from the prior"),
        "latent_means.png": latent_scatter(vae, test, data.test_labels),
        "kl_per_dim.png": kl_per_dim(report["kl_per_dim"], report["active_threshold"]),
        "traversals.png": latent_traversals(vae, test[:1], data.image_shape, report["kl_per_dim"]),
    }
    if vae.code_dim == 2:
        figures["manifold.png"] = latent_manifold(vae, data.image_shape)
    return figures
