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


def rate_distortion(
    points: dict[float, RateDistortion],
    collapse_distortion: float,
    per_image_elbo: dict[float, np.ndarray] | None = None,
    neighbours: int = 2,
) -> Figure:
    """A beta sweep's distortion against rate (nats per image), and beside it a close look at the best ELBO's neighbourhood.

    Left: every point, the ELBO's contour through the best one and the collapse point ``(0, collapse_distortion)``.
    Right: the best point and its ``neighbours`` on each side, each drawn at its rate and its ``-ELBO = R + D``
    above the best one's (on that scale the ELBO's contours are horizontal), with +- 2 paired standard errors
    when ``per_image_elbo`` gives each image's ELBO per beta.
    """
    betas = sorted(points)
    rates = np.array([points[b].rate for b in betas])
    distortions = np.array([points[b].distortion for b in betas])
    best = min(betas, key=lambda b: points[b].rate + points[b].distortion)
    total = points[best].rate + points[best].distortion
    fig, (ax, near_ax) = plt.subplots(1, 2, figsize=(11.0, 4.2), gridspec_kw={"width_ratios": [1.2, 1.0]})
    ax.plot(rates, distortions, "o-", color="C0", label="trained beta-VAEs")
    height = max(distortions.max(), collapse_distortion) * 1.08
    previous = None
    for b, r, d in zip(betas, rates, distortions):
        crowded = previous is not None and abs(previous - d) < 0.04 * height  # would overlap the last label: point to it from aside
        arrow = {"arrowstyle": "-", "color": "0.5", "lw": 0.6} if crowded else None
        ax.annotate(f"beta {b:g}", (r, d), xytext=(28, 10) if crowded else (6, 3), textcoords="offset points", fontsize=7, arrowprops=arrow)
        previous = None if crowded else d
    span = np.linspace(0, max(rates.max(), total) * 1.05, 50)
    ax.plot(span, total - span, "--", color="C2", lw=1, label=f"R + D = {total:.1f}: the best -ELBO (beta {best:g})")
    ax.plot([0], [collapse_distortion], "X", ms=9, color="C3", label=f"full collapse: R = 0, D = {collapse_distortion:.1f}")
    ax.set(xlabel="rate R = E KL(q(z|x) || p(z))  (nats)", ylabel="distortion D = -E log p(x|z)  (nats)")
    ax.set_ylim(0, height)
    ax.set_xlim(-1, max(rates.max(), 5) * 1.15)
    ax.set_title("The beta sweep traces the rate-distortion curve", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="lower left")

    index = betas.index(best)
    near = betas[max(index - neighbours, 0) : index + neighbours + 1]
    excess = np.array([points[b].rate + points[b].distortion - total for b in near])
    errors = None
    if per_image_elbo is not None:
        errors = np.array([2 * np.std(per_image_elbo[best] - per_image_elbo[b], ddof=1) / np.sqrt(len(per_image_elbo[b])) for b in near])
    near_rates = np.array([points[b].rate for b in near])
    near_ax.axhline(0, ls="--", color="C2", lw=1, label=f"the best -ELBO (beta {best:g}): an ELBO contour")
    near_ax.errorbar(
        near_rates,
        excess,
        yerr=errors,
        fmt="o-",
        color="C0",
        ms=5,
        capsize=3,
        label="-ELBO above the best" + (", +- 2 paired SE" if errors is not None else ""),
    )
    for b, r, e in zip(near, near_rates, excess):
        near_ax.annotate(
            f"beta {b:g}" + ("" if b == best else f": +{e:.2f}"), (r, e), xytext=(6, 6), textcoords="offset points", fontsize=8
        )
    near_ax.set(xlabel="rate R  (nats)", ylabel="-ELBO minus the best -ELBO  (nats)")
    near_ax.set_xlim(near_rates.min() - 0.12 * np.ptp(near_rates), near_rates.max() + 0.22 * np.ptp(near_rates))
    near_ax.set_ylim(-0.08 * max(excess.max(), 1.0), 1.15 * max(excess.max(), 1.0))
    near_ax.set_title(f"Near beta {best:g}: how far each point lies above the best contour", fontsize=10)
    near_ax.legend(frameon=False, fontsize=8, loc="upper right")
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
