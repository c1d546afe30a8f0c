"""The encoder's gradient by the two estimators of lecture 4, on a trained VAE instead of a toy (lecture 7).

The reconstruction term ``E_q[log p(x | z)]`` is the only part of a Gaussian VAE's ELBO that needs a
Monte Carlo gradient (the KL has a closed form). Its gradient with respect to the encoder's output
layer -- the biases of the ``loc`` and ``log_scale`` heads, ``2 * latent_dim`` numbers that move every
image's ``q(z | x)`` -- is estimated per draw ``eps`` by:

* the **score function**: ``sum_i log p(x_i | z_i) * grad log q(z_i | x_i)`` with ``z_i`` held fixed;
* the **reparameterisation**: ``grad sum_i log p(x_i | loc_i + scale_i * eps_i)`` through the decoder.

Both are unbiased for the same gradient, so their means agree within their standard errors; their
per-draw variances are what the lecture compares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from pp_vae.inference.gradients import PerDrawGradients
from pp_vae.vae.score_function import exact_bit_gradient
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from pp_vae.vae.binary import BinaryVAE
    from pp_vae.vae.gaussian import VAE


def _as_array(rows: list[torch.Tensor]) -> np.ndarray:
    return np.stack([row.detach().cpu().double().numpy() for row in rows])


def encoder_gradients(vae: VAE, x: torch.Tensor, draws: int = 1000, seed: int = 0) -> tuple[PerDrawGradients, PerDrawGradients]:
    """Per-draw estimates of ``grad E_q[log p(x | z)]`` (summed over the images ``x``) for the encoder's output biases.

    Returns ``(score_function, reparameterised)``, each ``(draws, 2 * latent_dim)``: the ``loc`` head's
    biases first, then the ``log_scale`` head's. The same ``eps`` serve both estimators.
    """
    integer_at_least("draws", draws, 2)
    heads = [vae.encoder.loc.bias, vae.encoder.log_scale.bias]
    generator = torch.Generator(device="cpu").manual_seed(seed)
    score, pathwise = [], []
    for _ in range(draws):
        loc, scale = vae.encoder(x)
        eps = torch.randn(loc.shape, generator=generator).to(loc.device)
        z = loc + scale * eps
        log_likelihood = vae.likelihood.log_prob(vae.decoder(z), x)
        pathwise.append(torch.cat(torch.autograd.grad(log_likelihood.sum(), heads, retain_graph=True)))
        log_q = torch.distributions.Normal(loc, scale).log_prob(z.detach()).sum(-1)
        score.append(torch.cat(torch.autograd.grad((log_likelihood.detach() * log_q).sum(), heads)))
    return PerDrawGradients(_as_array(score)), PerDrawGradients(_as_array(pathwise))


def bit_gradients(
    vae: BinaryVAE, x: torch.Tensor, draws: int = 1000, seed: int = 0
) -> tuple[PerDrawGradients, PerDrawGradients, np.ndarray]:
    """``grad E_q[log p(x | z)]`` (summed over ``x``) for the bit logits' biases: by the score function, straight through, and exactly.

    Returns ``(score_function, straight_through, exact)``: per-draw estimates ``(draws, latent_dim)`` and the
    exact gradient ``(latent_dim,)``, by differentiating ``sum_z q(z | x) log p(x | z)`` over all ``2^d`` codes.
    The score function is unbiased; the straight-through estimator is not, and the exact gradient measures by how much.
    """
    from pp_vae.vae.binary import StraightThroughBernoulli

    integer_at_least("draws", draws, 2)
    head = vae.encoder.loc.bias
    torch.manual_seed(seed)
    score, straight = [], []
    for _ in range(draws):
        logits = vae.logits(x)
        z = StraightThroughBernoulli(logits=logits).rsample()
        log_likelihood = vae.likelihood.log_prob(vae.decoder(z), x)
        straight.append(torch.autograd.grad(log_likelihood.sum(), [head], retain_graph=True)[0])
        log_prob = torch.distributions.Bernoulli(logits=logits).log_prob(z.detach()).sum(-1)
        score.append(torch.autograd.grad((log_likelihood.detach() * log_prob).sum(), [head])[0])
    return PerDrawGradients(_as_array(score)), PerDrawGradients(_as_array(straight)), exact_bit_gradient(vae, x)
