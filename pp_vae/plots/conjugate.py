"""Figures of lecture 1: entropy, posteriors, shrinkage, replication checks, predictive coverage, Student-t prediction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.bayes.conjugate import BetaBernoulli, ContinuousDistribution, Coverage, NormalKnownVariance, Replications
from pp_vae.bayes.information import Unit, binary_entropy
from pp_vae.bayes.normal_inverse_gamma import IntervalCoverage, NormalInverseGamma, frequentist_predictive, plug_in_predictive


def coin_entropy(unit: Unit = "bits") -> Figure:
    """Entropy of a coin against its probability of heads: largest, one bit, at ``p = 0.5``."""
    p = np.linspace(0, 1, 401)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(p, binary_entropy(p, unit=unit), color="C0")
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set(xlabel="P(heads)", ylabel=f"entropy ({unit})", title="Entropy of a coin")
    fig.tight_layout()
    return fig


def prior_likelihood_posterior(model: BetaBernoulli | NormalKnownVariance, data: Any, grid: np.ndarray | None = None) -> Figure:
    """Prior, (normalised) likelihood and posterior density of the parameter on one plot."""
    posterior = model.posterior(data)
    if grid is None:
        if isinstance(model, BetaBernoulli):
            grid = np.linspace(0, 1, 501)
        else:
            # cover the prior, the posterior and the likelihood's bulk (sample mean +- 4 standard errors)
            y = np.ravel(np.asarray(data, dtype=float))
            spread = 4 * model.noise_sd / np.sqrt(max(y.size, 1))
            centres = [model.prior().ppf(0.001), model.prior().ppf(0.999), posterior.ppf(0.001), posterior.ppf(0.999)]
            if y.size:
                centres += [y.mean() - spread, y.mean() + spread]
            grid = np.linspace(min(centres), max(centres), 501)
    likelihood = model.likelihood(grid, data)
    likelihood = likelihood / np.trapezoid(likelihood, grid)
    name = "theta" if isinstance(model, BetaBernoulli) else "mu"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(grid, model.prior().pdf(grid), label="prior", color="C0", ls="--")
    ax.plot(grid, likelihood, label="likelihood (normalised)", color="C2", ls=":")
    ax.plot(grid, posterior.pdf(grid), label="posterior", color="C3")
    ax.set(xlabel=name, ylabel="density", title=f"Prior x likelihood -> posterior (n = {len(np.ravel(data))})")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def shrinkage(model: NormalKnownVariance, sample_mean: float, ns: Sequence[int]) -> Figure:
    """Posterior mean of ``mu`` as ``n`` grows with a fixed sample mean: it moves from the prior mean to the data."""
    sizes = np.asarray(ns)
    weights = np.array([model.shrinkage(int(n)) for n in sizes])
    post_mean = weights * model.prior_mean + (1 - weights) * sample_mean
    post_sd = (model.prior_sd**-2 + sizes * model.noise_sd**-2) ** -0.5
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(ns, post_mean - 2 * post_sd, post_mean + 2 * post_sd, color="C3", alpha=0.2, label="posterior +- 2 sd")
    ax.plot(ns, post_mean, "o-", color="C3", label="posterior mean")
    ax.axhline(model.prior_mean, color="C0", ls="--", label="prior mean")
    ax.axhline(sample_mean, color="C2", ls=":", label="sample mean")
    ax.set(xscale="log", xlabel="number of observations n", ylabel="mu", title="Shrinkage fades as data accumulate")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def replication_check(
    replications: Replications,
    observed: Any,
    statistic: Callable[[np.ndarray], float],
    name: str,
    title: str = "Posterior predictive check",
    exact: ContinuousDistribution | None = None,
) -> Figure:
    """Histogram of a statistic over replicated datasets, with the observed value marked (and the statistic's exact density, if given)."""
    values = np.array([statistic(d) for d in replications.datasets])
    observed_value = statistic(np.asarray(observed))
    p_value = float(np.mean(values >= observed_value))
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    bins: Any = np.arange(values.min(), values.max() + 2) - 0.5 if np.allclose(values, np.round(values)) else 40
    counts, edges, _ = ax.hist(values, bins=bins, color="C0", alpha=0.7, label="replications")
    if exact is not None:
        grid = np.linspace(min(edges[0], observed_value), max(edges[-1], observed_value), 400)
        ax.plot(grid, exact.pdf(grid) * values.size * np.diff(edges).mean(), color="k", lw=1.2, label="exact distribution")
        ax.set_ylim(0, 1.5 * float(np.max(counts)))  # headroom for the legend above the bell
    # two significant digits, so that a p of 0.005 reads 0.005 (not 0.01) and 0.51 reads 0.51
    ax.axvline(observed_value, color="C3", lw=2, label=f"observed (P(rep >= obs) = {p_value:.2g})")
    ax.set(xlabel=name, ylabel="replications", title=f"{title}: {name}")
    ax.legend(frameon=False, fontsize="small", loc="best" if exact is None else "upper left")
    fig.tight_layout()
    return fig


def coverage(results: dict[int, Coverage], level: float) -> Figure:
    """Simulated coverage of plug-in vs posterior predictive intervals against the nominal level."""
    ns = sorted(results)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(ns, [results[n].posterior_predictive for n in ns], "o-", color="C3", label="posterior predictive")
    ax.plot(ns, [results[n].plug_in for n in ns], "s-", color="C0", label="plug-in (sample mean)")
    ax.plot(ns, [results[n].plug_in_exact for n in ns], ":", color="C0", label="plug-in, closed form")
    ax.axhline(level, color="grey", ls="--", label=f"nominal {level:.0%}")
    ax.set(xscale="log", xlabel="observations n", ylabel="coverage of the next observation", title="Plug-in intervals are too narrow")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig


def prediction_intervals(data: Any, model: NormalInverseGamma, level: float = 0.9) -> Figure:
    """The three predictive distributions of one new observation given ``data``, with their central ``level`` intervals as labelled bars."""
    predictives = {
        "frequentist t_{n-1}": (frequentist_predictive(data), "C2", "--", 1.5),
        "Bayes, NIG prior": (model.posterior_predictive(data), "C3", "-", 1.5),
        "plug-in Normal(ybar, sigma_hat)": (plug_in_predictive(data), "C0", ":", 2.5),  # drawn last: it is often under the Bayes curve
    }
    centre = float(np.mean(data))
    half = max(p.ppf(0.5 + level / 2) - centre for p, _, _, _ in predictives.values())
    grid = np.linspace(centre - 1.3 * half, centre + 1.3 * half, 600)
    peak = max(float(predictive.pdf(grid).max()) for predictive, _, _, _ in predictives.values())
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    for row, (label, (predictive, colour, style, width)) in enumerate(predictives.items()):
        ax.plot(grid, predictive.pdf(grid), color=colour, ls=style, lw=width, label=label)
        lo, hi = predictive.ppf([0.5 - level / 2, 0.5 + level / 2])
        height = -0.08 * (row + 1) * peak  # each interval as a bar below the axis of densities, labelled at its right end
        ax.plot([lo, hi], [height, height], color=colour, lw=3, solid_capstyle="butt")
        ax.annotate(
            f"{label.split(' ')[0].rstrip(',')} {level:.0%}",
            (hi, height),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.plot(data, np.zeros(len(data)), "k|", ms=12, label=f"the {len(data)} observations")
    ax.set(xlabel="next observation y_new", ylabel="predictive density", title=f"Predicting y_new from n = {len(data)} observations")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def interval_coverage(results: dict[str, dict[int, IntervalCoverage]], level: float) -> Figure:
    """Coverage of the three intervals against ``n``: exact values as lines, simulations as points with 2 SE bars, one panel per truth."""
    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.6), sharey=True, squeeze=False)
    fields = [("plug_in", "plug-in", "C0"), ("frequentist", "frequentist t", "C2"), ("bayes", "Bayes (NIG)", "C3")]
    for ax, (title, by_n) in zip(axes[0], results.items()):
        ns = sorted(by_n)
        for field, label, colour in fields:
            exact = [getattr(by_n[n], f"{field}_exact") for n in ns]
            simulated = [getattr(by_n[n], field) for n in ns]
            errors = [2 * by_n[n].standard_error(s) for n, s in zip(ns, simulated)]
            ax.plot(ns, exact, color=colour, label=f"{label}, exact")
            ax.errorbar(ns, simulated, yerr=errors, fmt="o", ms=3, color=colour, label=f"{label}, simulated +- 2 SE")
        ax.axhline(level, color="grey", ls="--", lw=1)
        ax.set(xscale="log", xlabel="observations n", title=title)
    axes[0, 0].set_ylabel("coverage of the next observation")
    axes[0, -1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
