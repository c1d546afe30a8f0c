"""Figures of lecture 2: MCMC draws against the exact density, trace and rank plots, the funnel, efficiency bars."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.bayes.conjugate import ContinuousDistribution


def draws_vs_density(draws: np.ndarray, exact: ContinuousDistribution, name: str, title: str | None = None) -> Figure:
    """Histogram of MCMC draws over the exact posterior density."""
    draws = np.ravel(draws)
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    ax.hist(draws, bins=60, density=True, color="C0", alpha=0.5, label=f"NUTS draws ({draws.size})")
    lo, hi = np.quantile(draws, [0.0005, 0.9995])
    grid = np.linspace(lo, hi, 400)
    ax.plot(grid, exact.pdf(grid), color="C3", lw=2, label="exact posterior")
    ax.set(xlabel=name, ylabel="density", title=title or f"NUTS vs closed form: {name}")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def trace_and_rank(draws: np.ndarray, name: str) -> Figure:
    """Trace plot (each chain's path) and rank plot (per-chain histograms of pooled ranks: flat when chains agree)."""
    from scipy.stats import rankdata

    draws = np.asarray(draws)
    chains, n = draws.shape
    ranks = rankdata(draws.ravel()).reshape(draws.shape)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    for c in range(chains):
        left.plot(draws[c], lw=0.4, alpha=0.8, label=f"chain {c + 1}")
    left.set(xlabel="iteration", ylabel=name, title=f"Trace: {name}")
    bins = np.linspace(0, chains * n, 21)
    for c in range(chains):
        counts, _ = np.histogram(ranks[c], bins=bins)
        right.step(bins[:-1], counts, where="post", label=f"chain {c + 1}")
    right.axhline(n / 20, color="grey", ls="--", lw=1)
    right.set(xlabel="rank of draw among all chains", ylabel="count", title=f"Rank plot: {name}")
    right.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def funnel(panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], xlabel: str = "theta[1]") -> Figure:
    """Scatter of ``log tau`` against a group effect per model, divergent transitions in red."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, (title, (x, log_tau, divergent)) in zip(axes[0], panels.items()):
        x, log_tau, divergent = np.ravel(x), np.ravel(log_tau), np.ravel(divergent).astype(bool)
        ax.scatter(x[~divergent], log_tau[~divergent], s=3, alpha=0.3, color="C0", label="draws")
        ax.scatter(x[divergent], log_tau[divergent], s=12, color="C3", label=f"divergent ({divergent.sum()})")
        ax.set(xlabel=xlabel, title=title)
        ax.legend(frameon=False, fontsize="small", loc="lower right")
    axes[0][0].set_ylabel("log tau")
    fig.tight_layout()
    return fig


def bar_table(values: dict[str, float], ylabel: str, title: str) -> Figure:
    """A small bar chart of one number per method (e.g. ESS per second)."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(values), list(values.values()), color=[f"C{i}" for i in range(len(values))])
    ax.set(ylabel=ylabel, title=title)
    for i, v in enumerate(values.values()):
        ax.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom", fontsize="small")
    fig.tight_layout()
    return fig
