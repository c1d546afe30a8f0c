"""Figures of lecture 8: gradients for bits, the rate-distortion plane of a beta sweep, and the indeterminacy of the ELBO."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.inference.gradients import PerDrawGradients
from pp_vae.vae.rate_distortion import RateDistortion


def bit_gradients(exact: np.ndarray, score: PerDrawGradients, straight: PerDrawGradients) -> Figure:
    """Each bit's gradient: exact (by enumeration), and the score-function and straight-through averages with 2 SE bars."""
    positions = np.arange(exact.size)
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    ax.errorbar(positions - 0.15, score.mean, yerr=2 * score.standard_error, fmt="o", ms=4, color="C0", label="score function, +- 2 SE")
    ax.errorbar(
        positions + 0.15, straight.mean, yerr=2 * straight.standard_error, fmt="s", ms=4, color="C3", label="straight-through, +- 2 SE"
    )
    ax.scatter(positions, exact, marker="_", s=400, color="k", zorder=3, label="exact (all codes)")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_xticks(positions, [f"bit {j}" for j in positions], fontsize=7)
    ax.set(ylabel="d E_q[log p(x|z)] / d logit bias\n(nats per unit logit, summed over images)")
    ax.set_title("Gradients for bits: unbiased but noisy, or biased but calm")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def rate_distortion(points: dict[float, RateDistortion], collapse_distortion: float) -> Figure:
    """Distortion against rate for a beta sweep (nats per image), with the ELBO's contour through the best point and the collapse point."""
    betas = sorted(points)
    rates = np.array([points[b].rate for b in betas])
    distortions = np.array([points[b].distortion for b in betas])
    best = min(betas, key=lambda b: points[b].rate + points[b].distortion)
    total = points[best].rate + points[best].distortion
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(rates, distortions, "o-", color="C0", label="trained beta-VAEs")
    for b, r, d in zip(betas, rates, distortions):
        ax.annotate(f"beta {b:g}", (r, d), xytext=(5, 3), textcoords="offset points", fontsize=7)
    span = np.linspace(0, max(rates.max(), total) * 1.05, 50)
    ax.plot(span, total - span, "--", color="C2", lw=1, label=f"R + D = {total:.1f}: the best -ELBO (beta {best:g})")
    ax.plot([0], [collapse_distortion], "X", ms=9, color="C3", label=f"full collapse: R = 0, D = {collapse_distortion:.0f}")
    ax.set(xlabel="rate R = E KL(q(z|x) || p(z))  (nats)", ylabel="distortion D = -E log p(x|z)  (nats)")
    ax.set_ylim(0, max(distortions.max(), collapse_distortion) * 1.08)
    ax.set_xlim(-1, max(rates.max(), 5) * 1.15)
    ax.set_title("The beta sweep traces the rate-distortion curve")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def indeterminacy(points: Sequence[RateDistortion], entropy: float, labels: dict[int, str] | None = None) -> Figure:
    """Rate and distortion of many encoders, each with its best decoder and prior: all on the line ``R + D = H(X)``.

    ``labels`` names some points by their index (``{6: "identity", 7: "constant"}``).
    """
    rates = np.array([p.rate for p in points])
    distortions = np.array([p.distortion for p in points])
    fig, ax = plt.subplots(figsize=(5.4, 4.2))
    ax.plot([0, entropy], [entropy, 0], "--", color="C2", lw=1, label=f"R + D = H(X) = {entropy:.3f} nats")
    ax.scatter(rates, distortions, color="C0", zorder=3, label="an encoder, with its best decoder and prior")
    for index, text in (labels or {}).items():
        ax.annotate(text, (rates[index], distortions[index]), xytext=(6, 6), textcoords="offset points", fontsize=8)
    ax.set(xlabel="rate R (nats)", ylabel="distortion D (nats)", title="Every encoder reaches the same ELBO")
    ax.set_xlim(-0.1 * entropy, 1.25 * entropy)
    ax.set_ylim(-0.1 * entropy, 1.25 * entropy)
    ax.set_aspect("equal")
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
