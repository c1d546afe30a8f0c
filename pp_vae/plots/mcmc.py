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


def energy_errors(step_sizes: np.ndarray, errors: dict[str, np.ndarray], limits: dict[str, float] | None = None) -> Figure:
    """Largest leapfrog energy error against step size, one line per starting point (infinite: off the top, marked x).

    Stan's divergence threshold (1000) is dashed; ``limits`` (label -> step size) are dotted, in the lines' colours.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    step_sizes = np.asarray(step_sizes)
    for i, (label, values) in enumerate(errors.items()):
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        ax.loglog(step_sizes[finite], values[finite], "o-", color=f"C{i}", label=label)
        if (~finite).any():
            ax.plot(step_sizes[~finite], np.full((~finite).sum(), 3e3), "x", color=f"C{i}", ms=8, label=f"{label}: infinite error")
        if limits and label in limits:
            ax.axvline(limits[label], color=f"C{i}", ls=":", lw=1.5, label=f"{label}: stability limit {limits[label]:.3f}")
    ax.axhline(1000, color="C3", ls="--", lw=1, label="divergence threshold (1000)")
    ax.set(xlabel="leapfrog step size", ylabel="max |H(t) - H(0)|", title="Leapfrog energy error, centred eight schools")
    ax.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def hmc_sample_stats(stats: dict[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Per fit: NUTS tree depths (left) and the energy's marginal vs transition spread (right: E-BFMI)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    depths = [np.ravel(depth) for depth, _ in stats.values()]
    bins = [d - 0.5 for d in range(int(max(d.max() for d in depths)) + 2)]
    left.hist(depths, bins=bins, color=[f"C{i}" for i in range(len(stats))], label=list(stats))
    for i, (label, (_, energy)) in enumerate(stats.items()):
        energy = np.asarray(energy)
        centred = (energy - energy.mean(axis=1, keepdims=True)).ravel()
        transitions = np.diff(energy, axis=1).ravel()
        kw = {"bins": 50, "density": True, "histtype": "step", "color": f"C{i}"}
        right.hist(centred, ls="-", label=f"{label}: E - mean", **kw)
        right.hist(transitions, ls="--", label=f"{label}: E change", **kw)
    left.set(xlabel="tree depth (2^depth - 1 leapfrog steps at most)", ylabel="iterations", title="Trajectory length")
    right.set(xlabel="energy", ylabel="density", title="Marginal energy (solid) vs transitions (dashed)")
    left.legend(frameon=False, fontsize="x-small")
    right.legend(frameon=False, fontsize="xx-small", loc="upper left")
    fig.tight_layout()
    return fig


def prior_predictive(y_prior: np.ndarray, y_observed: np.ndarray, limit: float) -> Figure:
    """Histogram (log axis) of each prior world's largest ``|y_j|``, with the observed one and ``limit`` marked."""
    fig, ax = plt.subplots(figsize=(6, 3.3))
    largest = np.abs(np.asarray(y_prior)).max(axis=-1).ravel()
    edges = np.geomspace(max(largest.min(), 1e-1), max(largest.max(), 10 * limit), 50).tolist()
    ax.hist(largest, bins=edges, color="C0", alpha=0.6, label=f"prior worlds ({largest.size})")
    ax.set_xscale("log")
    observed = float(np.abs(y_observed).max())
    ax.axvline(observed, color="k", lw=2, label=f"observed ({observed:g})")
    ax.axvline(limit, color="C3", ls="--", lw=1.5, label=f"{limit:g} points: {np.mean(largest > limit):.1%} of worlds beyond")
    ax.set(xlabel="largest |y_j| of a world (log scale)", ylabel="worlds", title="What the priors on mu and tau predict")
    ax.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def school_replications(y_rep: np.ndarray, y: np.ndarray, statistic: np.ndarray, observed: float, name: str) -> Figure:
    """Left: each school's replications (50% and 95% intervals) and its observed effect; right: a statistic's replications."""
    y_rep, y = np.asarray(y_rep).reshape(-1, np.size(y)), np.ravel(y)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.3))
    j = np.arange(1, y.size + 1)
    lo95, lo50, hi50, hi95 = np.quantile(y_rep, [0.025, 0.25, 0.75, 0.975], axis=0)
    left.vlines(j, lo95, hi95, color="C0", lw=1.5, label="y_rep 95%")
    left.vlines(j, lo50, hi50, color="C0", lw=5, label="y_rep 50%")
    left.scatter(j, y, color="k", zorder=3, label="observed y")
    left.set(xlabel="school", ylabel="effect", title="Posterior predictive replications per school")
    left.legend(frameon=False, fontsize="x-small")
    stat = np.ravel(statistic)
    right.hist(stat, bins=60, color="C0", alpha=0.6, label="replications")
    right.axvline(observed, color="k", lw=2, label=f"observed ({observed:.1f})")
    right.set(xlabel=name, ylabel="count", title=f"p = P({name} rep >= obs) = {np.mean(stat >= observed):.2f}")
    right.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig


def pareto_k(values: dict[str, np.ndarray]) -> Figure:
    """PSIS-LOO's Pareto k per group, one marker per model; 0.7 (unreliable above) dashed."""
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    for i, (label, k) in enumerate(values.items()):
        k = np.ravel(k)
        ax.plot(np.arange(1, k.size + 1) + 0.1 * (i - 1), k, "o", color=f"C{i}", label=label)
    ax.axhline(0.7, color="C3", ls="--", lw=1, label="k = 0.7")
    ax.set(xlabel="school left out", ylabel="Pareto k", title="PSIS-LOO reliability per school")
    ax.legend(frameon=False, fontsize="x-small")
    fig.tight_layout()
    return fig
