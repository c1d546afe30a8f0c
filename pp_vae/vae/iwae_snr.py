"""The gradient's signal-to-noise ratio under the IWAE bound, for the encoder and the decoder (Rainforth et al. 2018).

At fixed weights, the gradient of a minibatch's IWAE_K bound is a random vector (the draws ``z_k ~ q(z | x)``).
For each weight, ``SNR = |E g| / sd(g)`` over repeated draws. Rainforth et al. (2018) show that as K grows the
decoder's SNR rises (like ``sqrt(K)``) while the encoder's falls (like ``1 / sqrt(K)``): the tighter bound
trains the generative model better and the inference network worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from pp_vae.inference.gradients import PerDrawGradients
from pp_vae.vae.bounds import importance_weighted
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from pp_vae.vae.family import VAEFamily


def iwae_gradients(
    vae: VAEFamily, x: torch.Tensor, num_samples: int, parameters: Sequence[torch.Tensor], draws: int = 100, seed: int = 0
) -> PerDrawGradients:
    """Per-draw gradients of the minibatch's mean ``IWAE_K`` (``K = num_samples``) for ``parameters``, flattened: ``(draws, n)``."""
    integer_at_least("num_samples", num_samples)
    integer_at_least("draws", draws, 2)
    if not parameters:
        raise ValueError("parameters must name at least one tensor")
    torch.manual_seed(seed)
    rows = []
    for _ in range(draws):
        bound = importance_weighted(vae.log_weights(x, num_samples)).mean()
        grads = torch.autograd.grad(bound, list(parameters), allow_unused=True)
        flat = [torch.zeros_like(p).flatten() if g is None else g.flatten() for p, g in zip(parameters, grads, strict=True)]
        rows.append(torch.cat(flat))
    return PerDrawGradients(torch.stack(rows).detach().cpu().double().numpy())


def encoder_and_decoder(vae: VAEFamily) -> dict[str, list[torch.Tensor]]:
    """The trainable weights of ``p(x, z)`` (``decoder``: the modules in ``vae.generative``) and of the guide (``encoder``: the rest)."""
    generative = {id(p) for name in vae.generative for p in getattr(vae, name).parameters()}
    weights = [p for p in vae.parameters() if p.requires_grad]
    return {"encoder": [p for p in weights if id(p) not in generative], "decoder": [p for p in weights if id(p) in generative]}


def signal_to_noise(gradients: PerDrawGradients) -> np.ndarray:
    """Each weight's ``|mean| / sd`` over the draws (NaN where the gradient never varies)."""
    sd = np.sqrt(gradients.variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, np.abs(gradients.mean) / sd, np.nan)


def median_snr(gradients: PerDrawGradients, bootstrap: int = 50, seed: int = 0) -> tuple[float, float]:
    """The median over weights of :func:`signal_to_noise`, and its standard error by resampling the draws (the weights held fixed).

    A resample of the draws is a vector of counts, so its means and variances are two matrix products (no copies of the draws).
    """
    integer_at_least("bootstrap", bootstrap, 2)
    values = gradients.values
    draws = len(values)
    counts = np.random.default_rng(seed).multinomial(draws, np.full(draws, 1 / draws), size=bootstrap).astype(values.dtype)
    means = counts @ values / draws
    variances = (counts @ values**2 - draws * means**2) / (draws - 1)
    sd = np.sqrt(np.clip(variances, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        resampled = np.nanmedian(np.where(sd > 0, np.abs(means) / sd, np.nan), axis=1)
    return float(np.nanmedian(signal_to_noise(gradients))), float(np.std(resampled, ddof=1))


def gradient_snr(
    vae: VAEFamily, x: torch.Tensor, samples: Sequence[int], draws: int = 100, seed: int = 0
) -> dict[int, dict[str, tuple[float, float]]]:
    """For each K in ``samples``: the encoder's and the decoder's median gradient SNR with its SE, on the minibatch ``x``.

    Both from the same draws: one backward pass per draw gives every weight's gradient.
    """
    groups = encoder_and_decoder(vae)
    cut = sum(p.numel() for p in groups["encoder"])
    result = {}
    for k in samples:
        values = iwae_gradients(vae, x, k, groups["encoder"] + groups["decoder"], draws, seed + k).values
        parts = {"encoder": values[:, :cut], "decoder": values[:, cut:]}
        result[k] = {part: median_snr(PerDrawGradients(part_values)) for part, part_values in parts.items()}
    return result
