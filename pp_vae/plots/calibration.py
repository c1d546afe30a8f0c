"""Figures of lecture 9: calibration by simulation, rank histograms and ArviZ's PIT-ECDF with its simultaneous band."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

if TYPE_CHECKING:
    from pp_vae.inference.calibration import Calibration


def rank_histograms(calibration: Calibration, names: Sequence[str] | None = None, bins: int = 10) -> Figure:
    """One histogram of ranks per parameter, with the band 99% of histograms of uniform ranks stay inside (per bin)."""
    names = list(names) if names is not None else list(calibration.ranks)
    fig, axes = plt.subplots(1, len(names), figsize=(2.8 * len(names) + 0.6, 2.9), squeeze=False, sharey=True)
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
    """ArviZ's PIT-ECDF difference plot per parameter: a method is calibrated if its curve stays within the band."""
    import arviz_plots
    from arviz_base import from_dict

    names = list(names) if names is not None else list(calibration.ranks)
    tree = from_dict({"prior_sbc": {name: calibration.pit(name)[None, :] for name in names}})
    collection = arviz_plots.plot_ecdf_pit(tree, backend="matplotlib")
    fig: Figure = collection.viz.ds["figure"].item()
    for ax in fig.axes:
        ax.set_xlabel("PIT (rank of the truth, scaled to 0-1)")
    fig.axes[0].set_ylabel("ECDF - uniform CDF")
    fig.suptitle(f"PIT-ECDF, {calibration.method} (orange: outside the band)", fontsize=10)
    fig.set_size_inches(3.0 * len(names) + 0.6, 2.9)
    fig.tight_layout()
    return fig
