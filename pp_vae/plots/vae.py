"""Figures of lectures 4-6: images, training curves, latent spaces, collapse, gaps, tests; and a training run's figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

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
    """Train and test ELBO per epoch (nats per image)."""
    epochs = np.arange(1, len(history.train_elbo) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(epochs, history.train_elbo, label="train ELBO")
    ax.plot(epochs, history.test_elbo, label="test ELBO")
    ax.set(xlabel="epoch", ylabel="ELBO (nats per image)", title="Training the VAE")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def latent_scatter(vae: VAEFamily, x: torch.Tensor, labels: Any) -> Figure:
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
    scatter = ax.scatter(loc[:, 0], loc[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8)
    fig.colorbar(scatter, ax=ax, label="label")
    ax.set(xlabel=xlabel, ylabel=ylabel, title="Latent means by label")
    fig.tight_layout()
    return fig


def latent_manifold(vae: VAEFamily, image_shape: tuple[int, int], n: int = 10, extent: float = 2.0) -> Figure:
    """Decoded images over a grid of a 2-D latent space (the learned manifold)."""
    import torch

    if vae.code_dim != 2:
        raise ValueError(f"the latent manifold needs a 2-D code (latent_dim = 2), this VAE's code has {vae.code_dim} dimensions")
    device = vae.device
    grid = torch.linspace(-extent, extent, n)
    z = torch.stack(torch.meshgrid(grid, grid.flip(0), indexing="xy"), -1).reshape(-1, 2).to(device)
    images = vae.decode(z).cpu().numpy().reshape(n, n, *image_shape)
    h, w = image_shape
    canvas = np.zeros((n * (h + 1) - 1, n * (w + 1) - 1))  # a blank pixel between tiles
    for i in range(n):
        for j in range(n):
            canvas[i * (h + 1) : i * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = images[i, j]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(canvas, cmap="gray_r", extent=(-extent, extent, -extent, extent))
    ax.set(xlabel="z1", ylabel="z2", title="The learned 2-D manifold")
    fig.tight_layout()
    return fig


def latent_traversals(
    vae: VAEFamily,
    x: torch.Tensor,
    image_shape: tuple[int, int],
    kl_per_dim: Sequence[float] | None = None,
    dims: int = 6,
    extent: float = 3.0,
    steps: int = 9,
) -> Figure:
    """Decode ``E_q[z | x]`` with one latent dimension swept over ``[-extent, extent]`` per row.

    Rows are the dimensions with the largest KL (when given): a dimension that changes nothing has collapsed.
    """
    import torch

    z0 = vae.posterior_mean(x[:1])[0]
    order = np.argsort(kl_per_dim)[::-1] if kl_per_dim is not None else np.arange(len(z0))
    order = order[: min(dims, len(z0))]
    values = torch.linspace(-extent, extent, steps)
    z = z0.repeat(len(order) * steps, 1)
    for row, dim in enumerate(order):
        z[row * steps : (row + 1) * steps, int(dim)] = values.to(z.device)
    labels = [
        f"z{int(d)}={v:+.1f}" if i == 0 or j == 0 else f"{v:+.1f}" for i, d in enumerate(order) for j, v in enumerate(values.tolist())
    ]
    return image_grid(vae.decode(z), image_shape, "latent traversals (a row per dimension)", columns=steps, labels=labels)


def kl_per_dim(
    kl: Sequence[float], mean_variance: Sequence[float], threshold: float = 0.01, title: str = "Which latent dimensions are used?"
) -> Figure:
    """KL per latent dimension (bars) and ``Cov_x E_q[z_i]`` (dots, right axis) against the active-unit threshold."""
    kl_values, variance = np.asarray(kl), np.asarray(mean_variance)[: len(kl)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    dims = np.arange(len(kl_values))
    ax.bar(dims, kl_values, color=["C0" if v > threshold else "0.7" for v in variance])
    ax.set(xlabel="latent dimension", ylabel="KL(q(z_i|x) || p(z_i)) (nats)", title=title, xticks=dims)
    right = ax.twinx()
    right.plot(dims, variance, "o", color="C3")
    right.axhline(threshold, color="C3", ls=":", lw=1)
    right.set_yscale("symlog", linthresh=threshold)
    right.set_ylabel("Cov_x E_q[z_i|x] (dots)", color="C3")
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


def gap_split(gaps: Gaps) -> Figure:
    """The amortised ELBO, the best per-image Gaussian's ELBO and log p(x), with the two gaps between them."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    levels = {"amortised ELBO": gaps.amortised_elbo, "best Gaussian q per image": gaps.optimal_elbo, "log p(x) (IWAE)": gaps.log_likelihood}
    ax.barh(list(levels), [v - gaps.amortised_elbo for v in levels.values()], left=gaps.amortised_elbo, color=["0.6", "C0", "C2"])
    for i, value in enumerate(levels.values()):
        ax.annotate(f"{value:.3f}", (value, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set(xlabel="nats per image", title=f"amortisation gap {gaps.amortisation_gap:.3f}, approximation gap {gaps.approximation_gap:.3f}")
    ax.set_xlim(gaps.amortised_elbo - 0.02, gaps.log_likelihood + 0.3 * (gaps.log_likelihood - gaps.amortised_elbo) + 0.02)
    fig.tight_layout()
    return fig


def permutation_null(result: TwoSampleResult, title: str) -> Figure:
    """The permutation null distribution of the two-sample distance with the observed value."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(result.null, bins=30, color="0.7", label="permutations")
    ax.axvline(result.distance, color="C3", label=f"observed {result.distance:.2f} (p = {result.p_value:.3f})")
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
        "kl_per_dim.png": kl_per_dim(report["kl_per_dim"], report["posterior_mean_variance"], report["active_threshold"]),
        "traversals.png": latent_traversals(vae, test[:1], data.image_shape, report["kl_per_dim"]),
    }
    if vae.code_dim == 2:
        figures["manifold.png"] = latent_manifold(vae, data.image_shape)
    return figures
