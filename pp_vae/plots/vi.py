"""Figures of lecture 3: the ELBO while optimising, marginals and pairs side by side, cost as the data grow."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.bayes.conjugate import ContinuousDistribution


def elbo_history(elbo: np.ndarray, reference: float | None = None, reference_label: str = "log evidence") -> Figure:
    """The ELBO at every SVI step (with a moving average), optionally against the log evidence."""
    elbo = np.asarray(elbo)
    window = max(1, elbo.size // 50)
    smooth = np.convolve(elbo, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(elbo, color="C0", alpha=0.3, lw=0.6, label="ELBO per step")
    ax.plot(np.arange(smooth.size) + window - 1, smooth, color="C0", label=f"moving average ({window})")
    if reference is not None:
        ax.axhline(reference, color="C3", ls="--", label=reference_label)
    lo = np.quantile(elbo, 0.02)
    ax.set_ylim(lo, max(elbo.max(), reference if reference is not None else elbo.max()) + 0.05 * abs(lo))
    ax.set(xlabel="SVI step", ylabel="ELBO (nats)", title="Maximising the ELBO")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def marginals(
    draws_by_method: dict[str, dict[str, np.ndarray]], parameters: Sequence[str], exact: dict[str, ContinuousDistribution] | None = None
) -> Figure:
    """Overlaid marginal densities per parameter, one colour per method (and the exact density if known)."""
    n = len(parameters)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 2.6 * rows), squeeze=False)
    for ax, p in zip(axes.ravel(), parameters):
        pooled = np.concatenate([np.ravel(d[p]) for d in draws_by_method.values()])
        lo, hi = np.quantile(pooled, [0.005, 0.995])
        bins = np.linspace(lo, hi, 50)
        for i, (method, draws) in enumerate(draws_by_method.items()):
            ax.hist(np.ravel(draws[p]), bins=bins, density=True, histtype="step", lw=1.5, color=f"C{i}", label=method)
        if exact and p in exact:
            grid = np.linspace(lo, hi, 300)
            ax.plot(grid, exact[p].pdf(grid), color="k", ls=":", label="exact")
        ax.set(title=p, yticks=[])
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0][0].legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def pair(draws_by_method: dict[str, dict[str, np.ndarray]], x: str, y: str, max_points: int = 2000) -> Figure:
    """Joint scatter of two parameters per method: where mean-field loses the correlation."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    for i, (method, draws) in enumerate(draws_by_method.items()):
        xs, ys = np.ravel(draws[x])[:max_points], np.ravel(draws[y])[:max_points]
        corr = np.corrcoef(xs, ys)[0, 1]
        ax.scatter(xs, ys, s=3, alpha=0.3, color=f"C{i}", label=f"{method} (corr {corr:+.2f})")
    ax.set(xlabel=x, ylabel=y, title=f"{x} vs {y}")
    ax.legend(frameon=False, fontsize="small", markerscale=4)
    fig.tight_layout()
    return fig


def scaling(sizes: dict[str, tuple[Sequence[int], Sequence[float]]]) -> Figure:
    """Seconds against data size per method (log-log): SVI with subsampling stays flat, NUTS grows."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for i, (label, (ns, seconds)) in enumerate(sizes.items()):
        ax.plot(ns, seconds, "o-", color=f"C{i}", label=label)
    ax.set(xscale="log", yscale="log", xlabel="rows N", ylabel="seconds", title="Cost as the data grow")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig
