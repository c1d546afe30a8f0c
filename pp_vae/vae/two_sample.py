"""Are two samples of images from the same distribution? A VAE two-sample test (after Inacio et al.).

Fit a VAE density to each sample (on a random half of it), score the held-out halves of both
samples under both VAEs, ``s(x) = ELBO_a(x) - ELBO_b(x)`` (a log density ratio, in nats), and take
``distance = mean s over held-out a - mean s over held-out b``: an estimate of the symmetrised KL
``KL(a || b) + KL(b || a)`` up to each VAE's gap. Under the null the held-out images are
exchangeable given the two fitted VAEs, so permuting their labels gives an exact p-value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from pp_vae.data.images import ImageData
from pp_vae.vae.config import TrainConfig
from pp_vae.vae.training import train

DEFAULT_CONFIG = TrainConfig(epochs=40, latent_dim=4, hidden_dim=64, batch_size=64, lr=3e-3)


@dataclass(frozen=True)
class TwoSampleResult:
    """The observed distance (nats), its permutation p-value and null distribution, and the per-image scores."""

    distance: float
    p_value: float
    null: np.ndarray
    scores_a: np.ndarray
    scores_b: np.ndarray

    def rejects(self, level: float = 0.05) -> bool:
        """Whether the test rejects "same distribution" at ``level``."""
        return self.p_value <= level


def _halves(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(x.shape[0], generator=generator)
    half = x.shape[0] // 2
    return x[order[:half]], x[order[half:]]


def _check_sample(name: str, x: torch.Tensor, other: torch.Tensor | None = None) -> None:
    if x.ndim != 2:
        raise ValueError(f"sample {name} must be a 2-D array (images, pixels), got shape {tuple(x.shape)}")
    if x.shape[0] < 8:
        raise ValueError(f"sample {name} has {x.shape[0]} images; the test needs at least 8 (half fit, half scored)")
    if other is not None and other.shape[1] != x.shape[1]:
        raise ValueError(f"samples a and b have {other.shape[1]} and {x.shape[1]} pixels per image; they must match")


def distance_statistic(scores: np.ndarray, is_a: np.ndarray) -> float:
    """``mean s over a - mean s over b`` for log density ratios ``s`` and a boolean mask of sample ``a``."""
    return float(scores[is_a].mean() - scores[~is_a].mean())


def vae_two_sample_test(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    config: TrainConfig = DEFAULT_CONFIG,
    permutations: int = 1000,
    seed: int = 0,
    elbo_samples: int = 32,
    image_shape: tuple[int, int] = (8, 8),
    levels: int | None = 16,
) -> TwoSampleResult:
    """Permutation test of "``a`` and ``b`` come from the same distribution" with VAE density ratios.

    Parameters
    ----------
    a, b
        Flattened images in [0, 1], shape ``(n_a, pixels)`` and ``(n_b, pixels)``; half of each fits its VAE.
    config
        Training options of both VAEs (small and quick by default).
    permutations
        Label permutations of the held-out images; the smallest p-value possible is ``1 / (permutations + 1)``.
    image_shape, levels
        The images' shape and grey levels (the digits': 8x8, 16), as :class:`~pp_vae.data.ImageData` holds them.
    """
    a, b = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32)
    _check_sample("a", a)
    _check_sample("b", b, a)
    generator = torch.Generator().manual_seed(seed)
    (fit_a, held_a), (fit_b, held_b) = _halves(a, generator), _halves(b, generator)
    held = torch.cat([held_a, held_b])
    scores = np.zeros(held.shape[0])
    for sign, fit, label in ((1.0, fit_a, "a"), (-1.0, fit_b, "b")):
        data = ImageData(f"sample {label}", fit, torch.zeros(len(fit)), held, torch.zeros(len(held)), image_shape, levels)
        vae, _ = train(data, replace(config, seed=seed), device="cpu", progress=False)
        torch.manual_seed(seed)
        with torch.no_grad():
            scores += sign * vae.elbo(held, num_samples=elbo_samples).numpy()
    is_a = np.arange(held.shape[0]) < held_a.shape[0]
    observed = distance_statistic(scores, is_a)
    rng = np.random.default_rng(seed)
    null = np.array([distance_statistic(scores, rng.permutation(is_a)) for _ in range(permutations)])
    p_value = (1 + np.count_nonzero(null >= observed)) / (permutations + 1)
    return TwoSampleResult(observed, float(p_value), null, scores[is_a], scores[~is_a])
