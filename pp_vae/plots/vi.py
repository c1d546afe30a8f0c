"""Figures of lecture 3: the ELBO while optimising, marginals and pairs side by side, cost as the data grow, the ladder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.bayes.conjugate import ContinuousDistribution

if TYPE_CHECKING:
    import pandas as pd


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


def pair_panels(
    draws_by_method: dict[str, dict[str, np.ndarray]],
    x: str,
    y: str,
    reference: dict[str, np.ndarray] | None = None,
    reference_label: str = "reference",
    max_points: int = 2000,
) -> Figure:
    """One joint scatter of ``x`` and ``y`` per method, side by side, over the reference draws in grey (where q misses p)."""
    n = len(draws_by_method)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), sharex=True, sharey=True, squeeze=False)
    for i, (ax, (method, draws)) in enumerate(zip(axes[0], draws_by_method.items())):
        if reference is not None:
            ax.scatter(np.ravel(reference[x])[:max_points], np.ravel(reference[y])[:max_points], s=3, color="0.75", label=reference_label)
        ax.scatter(np.ravel(draws[x])[:max_points], np.ravel(draws[y])[:max_points], s=3, alpha=0.4, color=f"C{i}", label=method)
        ax.set(title=method, xlabel=x)
        ax.legend(frameon=False, fontsize="x-small", markerscale=3, loc="upper center")
    axes[0][0].set_ylabel(y)
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


def ladder(table: pd.DataFrame, title: str = "The ladder of approximations against NUTS") -> Figure:
    """Per method: each parameter's sd ratio to NUTS, its mean error in NUTS sds, and the gradient evaluations it cost.

    ``table`` is :meth:`pp_vae.inference.Comparison.tidy`'s, with NUTS among the methods; k-hat is written under each method,
    and "(resampled)" under a method whose draws are PSIS-resampled (multi-path Pathfinder's), since the others' are not.
    """
    rows = table[~table.method.isin(["nuts", "exact"])]
    methods = list(dict.fromkeys(rows.method))
    nuts_cost = float(table[table.method == "nuts"].gradient_evaluations.iloc[0])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for i, method in enumerate(methods):
        own = rows[rows.method == method]
        jitter = np.linspace(-0.15, 0.15, len(own)) if len(own) > 1 else np.zeros(1)
        axes[0].scatter(i + jitter, own.sd_ratio_to_nuts, color=f"C{i}", s=18)
        axes[1].scatter(i + jitter, own.mean_error_in_nuts_sd.abs(), color=f"C{i}", s=18)
        axes[2].bar(i, own.gradient_evaluations.iloc[0], color=f"C{i}")
    axes[0].axhspan(0.8, 1.2, color="0.9", zorder=0, label="0.8-1.2")
    axes[0].axhline(1.0, color="k", lw=0.8)
    axes[0].set(ylabel="sd / NUTS sd (each parameter, log scale)", title="spread", yscale="log")
    ticks = [
        t
        for t in (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
        if 0.5 * np.nanmin(rows.sd_ratio_to_nuts) <= t <= 2 * np.nanmax(rows.sd_ratio_to_nuts)
    ]
    axes[0].set_yticks(ticks, [f"{t:g}" for t in ticks])
    axes[0].minorticks_off()
    axes[0].legend(frameon=False, fontsize="small")
    axes[1].axhline(0.2, color="k", lw=0.8, ls="--", label="0.2 sd")
    axes[1].set(ylabel="|mean - NUTS mean| / NUTS sd", title="location", ylim=(0, None))
    axes[1].legend(frameon=False, fontsize="small")
    axes[2].axhline(nuts_cost, color="k", lw=0.8, ls="--", label=f"NUTS: {nuts_cost:,.0f}")
    axes[2].set(ylabel="log-density gradients", title="cost", yscale="log")
    axes[2].legend(frameon=False, fontsize="small")
    khats = {m: rows[rows.method == m].khat.iloc[0] for m in methods}
    resampled = {m: "psis_resampled" in rows and bool(rows[rows.method == m].psis_resampled.iloc[0]) for m in methods}
    names = {m: f"{m}\n(resampled)" if resampled[m] else m for m in methods}
    labels = [f"{names[m]}\nk-hat {khats[m]:.2f}" if khats[m] is not None and np.isfinite(khats[m]) else names[m] for m in methods]
    for ax in axes:
        ax.set_xticks(range(len(methods)), labels, fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
