"""Figures of lecture 7: the ELBO's Jensen gap closing, EM's climb, the linear VAE reaching PPCA, prior sampling's collapse."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def jensen_gap(ks: Sequence[int], gaps: Sequence[float], errors: Sequence[float]) -> Figure:
    """``log p(x) - IWAE_K`` (nats per image, log-log) against ``K``: Jensen's gap closing as the bound averages more ratios."""
    fig, ax = plt.subplots(figsize=(5.2, 3.3))
    ax.errorbar(ks, gaps, yerr=2 * np.asarray(errors), fmt="o-", color="C0", capsize=3, label="log p(x) - IWAE_K, +- 2 SE")
    ax.set(xscale="log", yscale="log", xlabel="draws K inside the log", ylabel="gap to the exact log p(x) (nats)")
    ax.set_title("Averaging more ratios inside the log closes the gap")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def em_convergence(log_likelihood: Sequence[float], maximum: float) -> Figure:
    """EM's distance below the closed-form maximum log-likelihood at every iteration (log scale): it only climbs."""
    below = maximum - np.asarray(log_likelihood, dtype=float)
    iterations = np.arange(1, below.size + 1)
    shown = below > 0
    fig, ax = plt.subplots(figsize=(5.2, 3.3))
    ax.plot(iterations[shown], below[shown], color="C0")
    ax.set(yscale="log", xlabel="EM iteration", ylabel="closed-form max - log-likelihood\n(nats per image)")
    ax.set_title("EM climbs to the Tipping-Bishop solution")
    fig.tight_layout()
    return fig


def linear_vae_training(epochs: Sequence[int], log_likelihood: Sequence[float], elbo: Sequence[float], maximum: float) -> Figure:
    """A linear VAE during training: its own exact ``log p(x)`` and its ELBO, against PPCA's maximum (nats per image)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.plot(epochs, log_likelihood, "o-", color="C0", label="the VAE's own exact log p(x)")
    ax.plot(epochs, elbo, "s-", color="C1", label="its ELBO (closed form)")
    ax.axhline(maximum, color="0.3", ls="--", lw=1, label=f"PPCA's maximum {maximum:.2f}")
    ax.set(xlabel="epochs of full-batch SVI", ylabel="nats per training image", title="The linear VAE reaches the PPCA solution")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def prior_sampling(
    dims: Sequence[int], naive: Sequence[float], iwae: Sequence[float], posterior_kl: Sequence[float], draws: int = 1000
) -> Figure:
    """How far below ``log p(x)`` naive Monte Carlo (prior draws) and IWAE (mean-field draws) land as the latent dimension grows.

    ``naive`` and ``iwae`` are ``log p(x)`` minus each estimate (nats, positive when short); values at or below zero
    cannot appear on the log axis and are left out. The dotted line is ``log(draws)``: prior sampling fails once
    ``KL(posterior || prior)`` exceeds it (Chatterjee and Diaconis 2018).
    """
    fig, ax = plt.subplots(figsize=(5.8, 3.6))
    for short, style, colour, label in [
        (naive, "o-", "C3", "prior draws (naive Monte Carlo)"),
        (iwae, "s-", "C0", "mean-field draws (IWAE)"),
    ]:
        values = np.asarray(short, dtype=float)
        shown = values > 0
        ax.plot(np.asarray(dims)[shown], values[shown], style, color=colour, label=label)
    ax.plot(dims, posterior_kl, "--", color="0.3", label="KL(posterior || prior)")
    ax.axhline(np.log(draws), color="0.5", ls=":", lw=1, label=f"log K = log {draws}")
    ax.set(yscale="log", xlabel="latent dimension", ylabel="log p(x) - estimate (nats, log scale)")
    ax.set_title(f"How far short each estimate falls, K = {draws} draws\n(points at or below zero are off the log axis)", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def code_marginals(codes: dict[str, np.ndarray], dim: int = 0) -> Figure:
    """Histograms of one code dimension across the training images, per model, against the ``N(0, 1)`` prior."""
    fig, ax = plt.subplots(figsize=(5.2, 3.3))
    values = np.concatenate([c[:, dim] for c in codes.values()])
    grid = np.linspace(min(values.min(), -4), max(values.max(), 4), 300)
    for name, c in codes.items():
        ax.hist(c[:, dim], bins=40, density=True, alpha=0.5, label=name)
    ax.plot(grid, np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi), color="k", lw=1.5, label="the prior N(0, 1)")
    ax.set(xlabel=f"code dimension {dim}", ylabel="density", title="Where the codes land")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
