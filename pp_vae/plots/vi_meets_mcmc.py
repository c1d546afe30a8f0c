"""Figures of lecture 9: calibration by simulation (rank histograms, PIT-ECDF), VI as NUTS's warm-up, the VAE's exact posterior."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from scipy import stats

if TYPE_CHECKING:
    from pp_vae.inference.calibration import Calibration
    from pp_vae.inference.warm_start import WarmupRun
    from pp_vae.vae.quadrature import LatentGrid


def rank_histograms(calibration: Calibration, names: Sequence[str] | None = None, bins: int = 10) -> Figure:
    """One histogram of ranks per parameter, with the band 99% of histograms of uniform ranks stay inside (per bin)."""
    names = list(names) if names is not None else list(calibration.ranks)
    # 1.8 in beside the panels for the legend, so even a single panel keeps a readable width
    fig, axes = plt.subplots(1, len(names), figsize=(2.8 * len(names) + 1.8, 2.9), squeeze=False, sharey=True)
    n, edges = calibration.simulations, np.linspace(0, calibration.draws + 1, bins + 1)
    low, high = stats.binom.ppf([0.005, 0.995], n, 1 / bins)
    for ax, name in zip(axes[0], names):
        ax.axhspan(low, high, color="0.85", label="99% band, uniform ranks")
        ax.hist(calibration.ranks[name], bins=edges, color="C0", edgecolor="white")
        p = calibration.uniformity_p_value(name, bins)
        ax.set(title=f"{name}\nuniformity p = {p:.3g}", xlabel=f"rank among {calibration.draws} draws")
    axes[0, 0].set_ylabel(f"simulations (of {n})")
    axes[0, -1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"Simulation-based calibration: {calibration.method}", fontsize=10)
    fig.tight_layout()
    return fig


def pit_ecdf(calibration: Calibration, names: Sequence[str] | None = None) -> Figure:
    """ArviZ's PIT-ECDF difference plot per parameter, with its uniformity p-value: flat and near zero if calibrated."""
    import arviz_plots
    from arviz_base import from_dict

    names = list(names) if names is not None else list(calibration.ranks)
    tree = from_dict({"prior_sbc": {name: calibration.pit(name)[None, :] for name in names}})
    # ArviZ's default test (pot_c) gives a p-value per parameter and marks in orange the points that drive a
    # departure; its "envelope" band is deprecated (and fails on this input in arviz-plots 1.3)
    collection = arviz_plots.plot_ecdf_pit(tree, backend="matplotlib")
    fig: Figure = collection.viz.ds["figure"].item()
    for ax in fig.axes:
        ax.set_xlabel("PIT (rank of the truth, scaled to 0-1)")
    fig.axes[0].set_ylabel("ECDF - uniform CDF")
    fig.suptitle(
        f"PIT-ECDF, {calibration.method}: a flat curve is calibrated; p from ArviZ's uniformity test, orange where the departure is",
        fontsize=10,
    )
    fig.set_size_inches(3.0 * len(names) + 0.6, 2.9)
    fig.tight_layout()
    return fig


def warmup_sweep(runs: Sequence[WarmupRun], title: str = "") -> Figure:
    """Largest R-hat and bulk ESS per second against warm-up length, one line per start (log warm-up axis)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for index, start in enumerate(dict.fromkeys(run.start for run in runs)):
        mine = sorted((run for run in runs if run.start == start), key=lambda run: run.warmup)
        warmups = [run.warmup for run in mine]
        label = {"stan": "Stan's default start", "pathfinder": "started at Pathfinder's draws"}.get(start, start)
        left.plot(warmups, [run.max_rhat for run in mine], "o-", color=f"C{index}", label=label)
        right.plot(warmups, [run.ess_per_second for run in mine], "o-", color=f"C{index}", label=label)
    left.axhline(1.01, color="0.4", linestyle="--", linewidth=1, label="R-hat = 1.01")
    left.set(xscale="log", xlabel="warm-up iterations per chain", ylabel="largest R-hat over the parameters")
    right.set(xscale="log", yscale="log", xlabel="warm-up iterations per chain")
    right.set_ylabel("smallest bulk ESS per second\n(the start's own seconds included)")
    lengths = sorted({run.warmup for run in runs})
    for ax in (left, right):  # a tick at every warm-up length run, labelled plainly
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.xaxis.set_minor_locator(NullLocator())
    left.legend(frameon=False, fontsize=8)
    right.legend(frameon=False, fontsize=8)
    fig.suptitle(title or "NUTS over warm-up lengths, from two starts", fontsize=10)
    fig.tight_layout()
    return fig


def latent_posteriors(
    grids: Sequence[LatentGrid],
    nuts_draws: Sequence[np.ndarray],
    encoder: Sequence[tuple[np.ndarray, np.ndarray]],
    flow_log_q: Sequence[np.ndarray] | None = None,
    images: Sequence[np.ndarray] | None = None,
    image_shape: tuple[int, int] = (8, 8),
) -> Figure:
    """Per image: the exact posterior on the grid (filled), NUTS draws (dots), the encoder's Gaussian q and a flow's q (lines).

    ``encoder`` holds each image's ``(mean, covariance)``; ``flow_log_q`` each image's ``log q`` on its grid. Contours
    enclose 50% and 90% of each density's mass (highest-density regions, found on the grid).
    """
    from pp_vae.vae.quadrature import log_normal_density

    columns = len(grids)
    rows = 2 if images is not None else 1
    heights = [1, 3] if images is not None else [1]
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 3.3 + (1.1 if images is not None else 0)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})  # fmt: skip
    for i, grid in enumerate(grids):
        if images is not None:
            axes[0, i].imshow(np.asarray(images[i]).reshape(image_shape), cmap="gray_r")
            axes[0, i].set_axis_off()
            axes[0, i].set_title(f"test image {i + 1}", fontsize=9)
        ax = axes[-1, i]
        z1, z2 = np.meshgrid(grid.z1, grid.z2, indexing="ij")
        exact = grid.log_posterior()
        ax.contourf(z1, z2, exact, levels=_hdr_levels(exact, (0.9, 0.5)) + [exact.max() + 1], colors=["#c6dbef", "#6baed6"])
        draws = nuts_draws[i].reshape(-1, 2)
        ax.plot(draws[:, 0], draws[:, 1], ".", color="k", markersize=1.2, alpha=0.35)
        mean, cov = encoder[i]
        q = log_normal_density(np.stack([z1, z2], -1), mean, cov)
        ax.contour(z1, z2, q, levels=_hdr_levels(q, (0.9, 0.5)), colors="C3", linewidths=1.2, linestyles="solid")
        if flow_log_q is not None:
            ax.contour(z1, z2, flow_log_q[i], levels=_hdr_levels(flow_log_q[i], (0.9, 0.5)), colors="C2", linewidths=1.2, linestyles="--")
        # zoom on the posterior and the encoder's q: 4.5 posterior sds round the exact mean, widened to hold q's 3 sds
        centre, covariance = grid.moments()
        spread = 4.5 * np.sqrt(np.diag(covariance))
        low = np.minimum(centre - spread, mean - 3 * np.sqrt(np.diag(cov)))
        high = np.maximum(centre + spread, mean + 3 * np.sqrt(np.diag(cov)))
        ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]))
        ax.set(xlabel="z[1]", ylabel="z[2]" if i == 0 else None, title=f"log p(x) = {grid.log_likelihood:.2f} nats")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="#6baed6", label="exact p(z|x), 50% / 90% (grid)"),
        plt.Line2D([], [], marker=".", color="k", linestyle="", label="NUTS draws"),
        plt.Line2D([], [], color="C3", label="encoder's Gaussian q(z|x)"),
    ]
    if flow_log_q is not None:
        handles.append(plt.Line2D([], [], color="C2", linestyle="--", label="IAF guide's q(z|x), same decoder"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _hdr_levels(log_density: np.ndarray, masses: Sequence[float]) -> list[float]:
    """Log-density levels whose superlevel sets hold ``masses`` of the grid's mass, in increasing order (for contour)."""
    values = np.sort(log_density.ravel())[::-1]
    weights = np.exp(values - values[0])
    cumulative = np.cumsum(weights) / weights.sum()
    return sorted(float(values[min(int(np.searchsorted(cumulative, m)), values.size - 1)]) for m in masses)


def iwae_to_truth(
    ks: Sequence[int], shortfall: Sequence[tuple[float, float]], gaps: dict[str, tuple[float, float]] | None = None
) -> Figure:
    """``log p(x) - IWAE_K`` (quadrature truth minus the bound) against K, with 2-SE bars; optional horizontal gap marks."""
    fig, ax = plt.subplots(figsize=(5.2, 3.3))
    means = np.array([m for m, _ in shortfall])
    errors = np.array([e for _, e in shortfall])
    ax.errorbar(ks, means, yerr=2 * errors, fmt="o-", color="C0", capsize=3, label="log p(x) - IWAE_K (+- 2 SE)")
    ax.axhline(0, color="k", linewidth=0.8)
    for index, (name, (value, _)) in enumerate((gaps or {}).items()):
        ax.axhline(value, color=f"C{index + 1}", linestyle="--", linewidth=1, label=name)
    ax.set(xscale="log", xlabel="K, draws from the encoder's q", ylabel="nats per image below the truth")
    ax.set_title("IWAE closes in on log p(x), computed by quadrature", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
