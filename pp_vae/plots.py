"""Matplotlib figures shared by the notebooks and the command line; each returns its ``Figure``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from pp_vae.conjugate import BetaBernoulli, Coverage, NormalKnownVariance, Replications
from pp_vae.info import binary_entropy


def coin_entropy(unit: str = "bits") -> Figure:
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
    ns = np.asarray(ns)
    weights = np.array([model.shrinkage(int(n)) for n in ns])
    post_mean = weights * model.prior_mean + (1 - weights) * sample_mean
    post_sd = (model.prior_sd**-2 + ns * model.noise_sd**-2) ** -0.5
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
    replications: Replications, observed: Any, statistic: Callable[[np.ndarray], float], name: str
) -> Figure:
    """Histogram of a statistic over replicated datasets, with the observed value marked."""
    values = np.array([statistic(d) for d in replications.datasets])
    observed_value = statistic(np.asarray(observed))
    p_value = float(np.mean(values >= observed_value))
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    bins = np.arange(values.min(), values.max() + 2) - 0.5 if np.allclose(values, np.round(values)) else 40
    ax.hist(values, bins=bins, color="C0", alpha=0.7, label="replications")
    ax.axvline(observed_value, color="C3", lw=2, label=f"observed (P(rep >= obs) = {p_value:.2f})")
    ax.set(xlabel=name, ylabel="replications", title=f"Posterior predictive check: {name}")
    ax.legend(frameon=False, fontsize="small")
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


def draws_vs_density(draws: np.ndarray, exact: Any, name: str, title: str | None = None) -> Figure:
    """Histogram of MCMC draws over the exact posterior density."""
    draws = np.ravel(draws)
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    ax.hist(draws, bins=60, density=True, color="C0", alpha=0.5, label=f"NUTS draws ({draws.size})")
    grid = np.linspace(*np.quantile(draws, [0.0005, 0.9995]), 400)
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


def marginals(draws_by_method: dict[str, dict[str, np.ndarray]], parameters: Sequence[str], exact: dict[str, Any] | None = None) -> Figure:
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


def image_grid(images: Any, image_shape: tuple[int, int], title: str, columns: int = 10, labels: Sequence[str] | None = None) -> Figure:
    """A grid of grey-level images (rows of ``columns``)."""
    images = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images).reshape(-1, *image_shape)
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
            if labels is not None and i < len(labels):
                ax.set_title(labels[i], fontsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def reconstructions(vae: Any, x: Any, image_shape: tuple[int, int], n: int = 10) -> Figure:
    """Originals (top row) and the VAE's reconstructions (bottom row)."""
    import torch

    x = x[:n]
    return image_grid(torch.cat([x, vae.reconstruct(x)]), image_shape, "originals (top) and reconstructions (bottom)", columns=n)


def elbo_curves(history: Any) -> Figure:
    """Train and test ELBO per epoch (nats per image)."""
    epochs = np.arange(1, len(history.train_elbo) + 1)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(epochs, history.train_elbo, label="train ELBO")
    ax.plot(epochs, history.test_elbo, label="test ELBO")
    ax.set(xlabel="epoch", ylabel="ELBO (nats per image)", title="Training the VAE")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def latent_scatter(vae: Any, x: Any, labels: Any) -> Figure:
    """Posterior means of ``x`` coloured by label (first two latent dimensions, or their top two principal components)."""
    loc = vae.posterior_mean(x).cpu().numpy()
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
    if loc.shape[1] > 2:
        centred = loc - loc.mean(0)
        loc = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
        xlabel, ylabel = "PC 1 of E[z|x]", "PC 2 of E[z|x]"
    else:
        xlabel, ylabel = "z1", "z2"
    fig, ax = plt.subplots(figsize=(5, 4.3))
    scatter = ax.scatter(loc[:, 0], loc[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8)
    fig.colorbar(scatter, ax=ax, label="label")
    ax.set(xlabel=xlabel, ylabel=ylabel, title="Latent means by label")
    fig.tight_layout()
    return fig


def latent_manifold(vae: Any, image_shape: tuple[int, int], n: int = 10, extent: float = 2.0) -> Figure:
    """Decoded images over a grid of a 2-D latent space (the learned manifold)."""
    import torch

    if vae.latent_dim != 2:
        raise ValueError(f"the latent manifold needs latent_dim = 2, this VAE has {vae.latent_dim}")
    device = next(vae.parameters()).device
    grid = torch.linspace(-extent, extent, n)
    z = torch.stack(torch.meshgrid(grid, grid.flip(0), indexing="xy"), -1).reshape(-1, 2).to(device)
    images = vae.mean_image(z).cpu().numpy().reshape(n, n, *image_shape)
    h, w = image_shape
    canvas = np.zeros((n * (h + 1) - 1, n * (w + 1) - 1))  # a blank pixel between tiles
    for i in range(n):
        for j in range(n):
            canvas[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] = images[i, j]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(canvas, cmap="gray_r", extent=(-extent, extent, -extent, extent))
    ax.set(xlabel="z1", ylabel="z2", title="The learned 2-D manifold")
    fig.tight_layout()
    return fig


def latent_traversals(vae: Any, x: Any, image_shape: tuple[int, int], kl_per_dim: Sequence[float] | None = None,
                      dims: int = 6, extent: float = 3.0, steps: int = 9) -> Figure:
    """Decode ``E_q[z | x]`` with one latent dimension swept over ``[-extent, extent]`` per row.

    Rows are the dimensions with the largest KL (when given): a dimension that changes nothing has collapsed.
    """
    import torch

    z0 = vae.posterior_mean(x[:1])[0, :vae.decoder_input_dim]
    order = np.argsort(kl_per_dim)[::-1] if kl_per_dim is not None else np.arange(len(z0))
    order = order[:min(dims, len(z0))]
    values = torch.linspace(-extent, extent, steps)
    z = z0.repeat(len(order) * steps, 1)
    for row, dim in enumerate(order):
        z[row * steps:(row + 1) * steps, int(dim)] = values.to(z.device)
    labels = [f"z{int(d)}={v:+.1f}" if i == 0 or j == 0 else f"{v:+.1f}" for i, d in enumerate(order) for j, v in enumerate(values.tolist())]
    return image_grid(vae.mean_image(z), image_shape, "latent traversals (a row per dimension)", columns=steps, labels=labels)


def kl_per_dim(kl: Sequence[float], mean_variance: Sequence[float], threshold: float = 0.01, title: str = "Which latent dimensions are used?") -> Figure:
    """KL per latent dimension (bars) and ``Cov_x E_q[z_i]`` (dots, right axis) against the active-unit threshold."""
    kl, mean_variance = np.asarray(kl), np.asarray(mean_variance)[:len(kl)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    dims = np.arange(len(kl))
    ax.bar(dims, kl, color=["C0" if v > threshold else "0.7" for v in mean_variance])
    ax.set(xlabel="latent dimension", ylabel="KL(q(z_i|x) || p(z_i)) (nats)", title=title, xticks=dims)
    right = ax.twinx()
    right.plot(dims, mean_variance, "o", color="C3")
    right.axhline(threshold, color="C3", ls=":", lw=1)
    right.set_yscale("symlog", linthresh=threshold)
    right.set_ylabel("Cov_x E_q[z_i|x] (dots)", color="C3")
    fig.tight_layout()
    return fig


def test_elbo_curves(histories: dict[str, Any], title: str = "Test ELBO while training") -> Figure:
    """Test ELBO per epoch (nats per image) of several runs on one axis."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for label, history in histories.items():
        ax.plot(np.arange(1, len(history.test_elbo) + 1), history.test_elbo, label=label)
    ax.set(xlabel="epoch", ylabel="test ELBO (nats per image)", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def gap_split(gaps: Any) -> Figure:
    """The amortised ELBO, the best per-image Gaussian's ELBO and log p(x), with the two gaps between them."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    levels = {"amortised ELBO": gaps.amortised_elbo, "best Gaussian q per image": gaps.optimal_elbo, "log p(x) (IWAE)": gaps.log_likelihood}
    ax.barh(list(levels), [v - gaps.amortised_elbo for v in levels.values()], left=gaps.amortised_elbo, color=["0.6", "C0", "C2"])
    for i, (name, value) in enumerate(levels.items()):
        ax.annotate(f"{value:.3f}", (value, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set(xlabel="nats per image", title=f"amortisation gap {gaps.amortisation_gap:.3f}, approximation gap {gaps.approximation_gap:.3f}")
    ax.set_xlim(gaps.amortised_elbo - 0.02, gaps.log_likelihood + 0.3 * (gaps.log_likelihood - gaps.amortised_elbo) + 0.02)
    fig.tight_layout()
    return fig


def permutation_null(result: Any, title: str) -> Figure:
    """The permutation null distribution of the two-sample distance with the observed value."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(result.null, bins=30, color="0.7", label="permutations")
    ax.axvline(result.distance, color="C3", label=f"observed {result.distance:.2f} (p = {result.p_value:.3f})")
    ax.set(xlabel="distance (nats)", ylabel="count", title=title)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def score_histograms(scores: dict[str, np.ndarray], xlabel: str = "anomaly score: -ELBO (nats)", title: str = "") -> Figure:
    """Overlaid histograms of per-image scores by group."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for label, values in scores.items():
        ax.hist(values, bins=30, alpha=0.6, density=True, label=label)
    ax.set(xlabel=xlabel, ylabel="density", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
