"""Score-function gradients with baselines (control variates), for a Gaussian code (lecture 7) and a code of bits (lecture 8).

The score function estimates ``grad E_q[f(z)]`` by ``f(z) grad log q(z)``. Since ``E_q[grad log q] = 0``, any ``b``
that does not depend on the draw ``z`` may be subtracted: ``(f(z) - b) grad log q(z)`` stays unbiased, and is less
noisy the closer ``b`` tracks ``f``. The baselines here, each built so that it never uses the draw it multiplies:

* **leave-one-out** (Kool et al. 2019): ``K`` draws per image, each draw's baseline the mean ``f`` of the other ``K - 1``;
* the **optimal constant per coordinate**, ``E[f s^2] / E[s^2]`` for the score ``s`` of that coordinate, estimated
  from the other ``K - 1`` draws;
* an **input-dependent** ``b(x)`` (NVIL, Mnih and Gregor 2014): a small network fitted by least squares to ``f``;
* **VIMCO** (Mnih and Rezende 2016), for the ``K``-sample bound ``L_K = log mean_k w_k``: each draw's baseline is the
  bound with its own ``w_k`` replaced by the geometric mean of the others.

The gradients are those of the encoder's output biases. Each image's own coordinates (``loc`` and ``log scale``, or
the bit logits) move one for one with those biases, so a bias's gradient is the coordinate's gradient summed over the
images, and every estimator is computed in those coordinates, batched over its draws.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from pp_vae.inference.gradients import PerDrawGradients
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:
    from pp_vae.vae.binary import BinaryVAE
    from pp_vae.vae.gaussian import VAE

BASELINES = ("none", "leave-one-out", "optimal")
"""The baselines :func:`baselined_signal` knows: none, the others' mean, the others' optimal constant per coordinate."""
MAX_TUPLES = 2**20
"""The most ``(K - 1)``-tuples of codes :func:`exact_multisample_gradient` enumerates."""


def leave_one_out_mean(values: torch.Tensor) -> torch.Tensor:
    """Each draw's mean of the *other* draws along dim 0: a baseline independent of the draw it serves."""
    draws = integer_at_least("draws along dim 0", values.shape[0], 2)
    return (values.sum(0, keepdim=True) - values) / (draws - 1)


def baselined_signal(f: torch.Tensor, scores: torch.Tensor, baseline: str) -> torch.Tensor:
    """``f - b`` per draw and coordinate, ``f`` of shape ``(K, ...)``, ``scores`` ``(K, ..., m)``: what multiplies each score.

    Computed in double precision: a leave-one-out sum is a total minus one term, which cancels badly in single precision.
    """
    f, scores = f.double(), scores.double()
    if baseline == "none":
        return f[..., None].expand_as(scores)
    if baseline == "leave-one-out":
        return (f - leave_one_out_mean(f))[..., None].expand_as(scores)
    if baseline == "optimal":  # E[f s^2] / E[s^2] from the other draws (their 1/(K-1) cancels)
        squared = scores**2
        top, bottom = leave_one_out_mean(f[..., None] * squared), leave_one_out_mean(squared)
        b = torch.where(bottom > 0, top / bottom.clamp_min(torch.finfo(bottom.dtype).tiny), leave_one_out_mean(f)[..., None])
        return f[..., None] - b
    raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")


def score_function_estimate(f: torch.Tensor, scores: torch.Tensor, baseline: str = "none") -> torch.Tensor:
    """The ``K``-draw score-function estimate ``mean_k (f_k - b_k) s_k`` of ``grad E_q f``: shape ``scores.shape[1:]``."""
    if f.shape != scores.shape[:-1]:
        raise ValueError(f"f must have the scores' shape without its last axis {tuple(scores.shape[:-1])}, got {tuple(f.shape)}")
    return (baselined_signal(f, scores, baseline) * scores.double()).mean(0)


def _check(estimates: int, samples: int, chunk: int) -> None:
    integer_at_least("estimates", estimates, 2)
    integer_at_least("samples", samples, 2)
    integer_at_least("chunk", chunk, 1)


def _stacked(rows: dict[str, list[torch.Tensor]]) -> dict[str, PerDrawGradients]:
    return {name: PerDrawGradients(torch.cat(parts).detach().cpu().double().numpy()) for name, parts in rows.items()}


def gaussian_estimators(
    vae: VAE, x: torch.Tensor, estimates: int = 500, samples: int = 4, seed: int = 0, chunk: int = 50
) -> dict[str, PerDrawGradients]:
    """``estimates`` ``K``-draw estimates of ``grad E_q[log p(x | z)]`` (summed over ``x``) for the encoder's output biases.

    Four estimators on the same draws (``K = samples`` decoder evaluations per estimate each): ``"score function"`` (no
    baseline), ``"leave-one-out"``, ``"optimal constant"`` and ``"reparameterised"``; each ``(estimates, 2 * latent_dim)``,
    the ``loc`` head's biases first, then the ``log_scale`` head's.
    """
    _check(estimates, samples, chunk)
    with torch.no_grad():
        loc, scale = vae.encoder(x)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    names = {"score function": "none", "leave-one-out": "leave-one-out", "optimal constant": "optimal"}
    rows: dict[str, list[torch.Tensor]] = {name: [] for name in [*names, "reparameterised"]}
    for start in range(0, estimates, chunk):
        eps = torch.randn((samples, min(chunk, estimates - start), *loc.shape), generator=generator).to(loc)
        z = (loc + scale * eps).requires_grad_(True)
        with torch.enable_grad():
            f = vae.likelihood.log_prob(vae.decoder(z), x)  # (K, chunk, n)
            (slope,) = torch.autograd.grad(f.sum(), z)
        scores = torch.cat([eps / scale, eps**2 - 1], -1)  # d log q / d loc, d log q / d log scale
        for name, baseline in names.items():
            rows[name].append(score_function_estimate(f.detach(), scores, baseline).sum(-2))
        rows["reparameterised"].append(torch.cat([slope, slope * scale * eps], -1).mean(0).sum(-2))
    return _stacked(rows)


def exact_bit_gradient(vae: BinaryVAE, x: torch.Tensor) -> np.ndarray:
    """``grad sum_z q(z | x) log p(x | z)`` (summed over ``x``) for the bit logits' biases, over all ``2^d`` codes."""
    codes = vae.all_codes()[:, None, :].expand(-1, x.shape[0], -1)
    with torch.no_grad():
        fixed = vae.likelihood.log_prob(vae.decoder(codes), x)  # (2^d, n): log p(x | z) for every code
    with torch.enable_grad():
        log_q = torch.distributions.Bernoulli(logits=vae.logits(x)).log_prob(codes).sum(-1)
        (exact,) = torch.autograd.grad((log_q.exp() * fixed).sum(), [vae.encoder.loc.bias])
    return exact.detach().cpu().double().numpy()


def _bits(logits: torch.Tensor, uniform: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard bits ``1[logit + L > 0]`` for logistic noise ``L`` and their relaxation ``sigmoid((logit + L) / T)``, as Pyro's."""
    noise = torch.log(uniform) - torch.log1p(-uniform)
    relaxed = torch.sigmoid((logits + noise) / temperature)
    return relaxed.round(), relaxed


def bit_estimators(
    vae: BinaryVAE,
    x: torch.Tensor,
    estimates: int = 1000,
    samples: int = 4,
    seed: int = 0,
    input_baselines: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] | None = None,
    chunk: int = 250,
) -> dict[str, PerDrawGradients]:
    """``estimates`` ``K``-draw estimates of ``grad E_q[log p(x | z)]`` (summed over ``x``) for the bit logits' biases.

    On the same draws (``K = samples`` decoder evaluations per estimate): ``"score function"`` (no baseline),
    ``"leave-one-out"``, ``"straight-through"`` (biased; :class:`~pp_vae.vae.binary.StraightThroughBernoulli`'s
    gradient), and one score-function estimator per entry of ``input_baselines``, each subtracting its ``b(x)``
    (shape ``(n,)``), as NVIL does. Each ``(estimates, latent_dim)``.
    """
    from pp_vae.vae.binary import TEMPERATURE

    _check(estimates, samples, chunk)
    taken = {"score function", "leave-one-out", "straight-through"} & set(input_baselines or {})
    if taken:
        raise ValueError(f"input_baselines may not reuse the built-in estimators' names, got {sorted(taken)}")
    with torch.no_grad():
        logits = vae.logits(x)
        offsets = {name: baseline(x).detach().reshape(x.shape[0]) for name, baseline in (input_baselines or {}).items()}
    p = torch.sigmoid(logits)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    rows: dict[str, list[torch.Tensor]] = {name: [] for name in ["score function", "leave-one-out", *offsets, "straight-through"]}
    for start in range(0, estimates, chunk):
        uniform = torch.rand((samples, min(chunk, estimates - start), *logits.shape), generator=generator).to(logits)
        uniform = uniform.clamp(torch.finfo(logits.dtype).eps, 1 - torch.finfo(logits.dtype).eps)
        z, relaxed = _bits(logits, uniform, TEMPERATURE)
        z.requires_grad_(True)
        with torch.enable_grad():
            f = vae.likelihood.log_prob(vae.decoder(z), x)  # (K, chunk, n)
            (slope,) = torch.autograd.grad(f.sum(), z)
        f, scores = f.detach(), z.detach() - p  # d log Bernoulli(z; sigmoid(logit)) / d logit
        rows["score function"].append(score_function_estimate(f, scores).sum(-2))
        rows["leave-one-out"].append(score_function_estimate(f, scores, "leave-one-out").sum(-2))
        for name, offset in offsets.items():
            rows[name].append(score_function_estimate(f - offset, scores).sum(-2))
        rows["straight-through"].append((slope * relaxed * (1 - relaxed) / TEMPERATURE).mean(0).sum(-2))
    return _stacked(rows)


class InputBaseline(nn.Module):
    """NVIL's ``b(x) = c + s * mlp(x)``: a learned guess of ``E_q[log p(x | z)]`` per image, in nats."""

    def __init__(self, input_dim: int, hidden_dim: int, shift: float, spread: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, 1))
        self.register_buffer("shift", torch.tensor(shift))
        self.register_buffer("spread", torch.tensor(spread))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's baseline, shape ``(n,)``."""
        return self.shift + self.spread * self.net(x).squeeze(-1)


def fit_input_baseline(
    vae: VAE, x: torch.Tensor, steps: int = 500, batch_size: int = 128, hidden_dim: int = 64, seed: int = 0, lr: float = 1e-2
) -> tuple[InputBaseline, list[float]]:
    """Fit NVIL's input-dependent baseline to ``log p(x | z)``, ``z ~ q(z | x)``, by least squares on images ``x``.

    Returns the baseline and its mean squared error per step (nats^2), which falls towards the signal's variance given ``x``.
    """
    integer_at_least("steps", steps, 1)
    integer_at_least("batch_size", batch_size, 1)
    integer_at_least("hidden_dim", hidden_dim, 1)
    torch.manual_seed(seed)
    generator = torch.Generator(device="cpu").manual_seed(seed)

    def signal(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return vae.likelihood.log_prob(vae.decoder(vae.posterior(images).sample()), images)

    first = signal(x[:batch_size])
    baseline = InputBaseline(x.shape[-1], hidden_dim, float(first.mean()), float(first.std().clamp_min(1.0))).to(x)
    optimiser = torch.optim.Adam(baseline.net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        images = x[torch.randint(0, x.shape[0], (batch_size,), generator=generator)]
        loss = ((signal(images) - baseline(images)) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return baseline.eval(), losses


def vimco_signal(log_w: torch.Tensor) -> torch.Tensor:
    """Each draw's multiplier of ``grad log q(z_k)`` in VIMCO's estimate of ``grad L_K``, ``log_w`` of shape ``(K, ...)``.

    ``L_K - log mean(w_{-k}, geometric mean of w_{-k}) - w~_k``: the leave-one-out baseline, then the normalised
    weight that comes from ``grad log w_k = -grad log q(z_k)``.
    """
    draws = integer_at_least("draws along dim 0", log_w.shape[0], 2)
    bound = torch.logsumexp(log_w, 0) - math.log(draws)
    geometric = leave_one_out_mean(log_w)
    others = torch.stack([torch.cat([log_w[:k], geometric[k : k + 1], log_w[k + 1 :]]) for k in range(draws)])
    return bound - (torch.logsumexp(others, 1) - math.log(draws)) - torch.exp(log_w - bound - math.log(draws))


def _plain_multisample_signal(log_w: torch.Tensor) -> torch.Tensor:
    """The multiplier of ``grad log q(z_k)`` with no baseline: ``L_K - w~_k``."""
    bound = torch.logsumexp(log_w, 0, keepdim=True) - math.log(log_w.shape[0])
    return bound - torch.exp(log_w - bound - math.log(log_w.shape[0]))


def multisample_estimators(
    vae: BinaryVAE, x: torch.Tensor, samples: int = 4, estimates: int = 1000, seed: int = 0, chunk: int = 250
) -> dict[str, PerDrawGradients]:
    """Estimates of ``grad E[L_K]`` (summed over ``x``) for the bit logits' biases: ``"VIMCO"`` and ``"score function"`` (no baseline).

    ``L_K = log (1/K) sum_k p(x, z_k) / q(z_k | x)`` is the ``K``-sample (IWAE) bound; both estimators share their draws.
    """
    _check(estimates, samples, chunk)
    with torch.no_grad():
        logits = vae.logits(x)
    q = torch.distributions.Bernoulli(logits=logits)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    rows: dict[str, list[torch.Tensor]] = {"score function": [], "VIMCO": []}
    with torch.no_grad():
        for start in range(0, estimates, chunk):
            uniform = torch.rand((samples, min(chunk, estimates - start), *logits.shape), generator=generator).to(logits)
            z = (uniform < q.probs).to(logits)
            log_w = vae.log_joint(x, z) - q.log_prob(z).sum(-1)  # (K, chunk, n)
            scores = z - q.probs
            for name, signal in (("score function", _plain_multisample_signal), ("VIMCO", vimco_signal)):
                rows[name].append((signal(log_w)[..., None] * scores).sum(0).sum(-2))
    return _stacked(rows)


def exact_multisample_gradient(vae: BinaryVAE, x: torch.Tensor, samples: int = 2) -> np.ndarray:
    """``grad E[L_K]`` (summed over ``x``) for the bit logits' biases, exactly: every code against every ``(K-1)``-tuple of codes.

    By symmetry ``grad E[L_K] = K sum_a q(a) s(a) E[L_K - w~_1 | z_1 = a]``, the expectation over the other ``K - 1``
    draws taken by enumeration; refused beyond :data:`MAX_TUPLES` tuples.
    """
    integer_at_least("samples", samples, 2)
    codes = vae.all_codes().double()
    if codes.shape[0] ** (samples - 1) > MAX_TUPLES:
        raise ValueError(f"samples={samples} needs {codes.shape[0]}^{samples - 1} tuples of codes; at most {MAX_TUPLES} are enumerated")
    with torch.no_grad():
        q = torch.distributions.Bernoulli(logits=vae.logits(x).double())
        block = codes[:, None, :].expand(-1, x.shape[0], -1)
        log_q = q.log_prob(block).sum(-1)  # (2^d, n)
        log_w = vae.log_joint(x, block.to(x.dtype)).double() - log_q
        tuples = torch.tensor(list(itertools.product(range(codes.shape[0]), repeat=samples - 1)))
        rest_log_q, rest_log_w = log_q[tuples].sum(1), torch.logsumexp(log_w[tuples], 1)  # (T, n) each
        inner = []
        for start in range(0, codes.shape[0], 64):
            first = log_w[start : start + 64, None, :]
            bound = torch.logaddexp(first, rest_log_w[None]) - math.log(samples)
            signal = bound - torch.exp(first - bound - math.log(samples))
            inner.append((rest_log_q.exp()[None] * signal).sum(1))  # E[L_K - w~_1 | z_1 = a]: (chunk, n)
        weight = log_q.exp() * torch.cat(inner)
        gradient = samples * (weight[..., None] * (block - q.probs)).sum((0, 1))
    return gradient.cpu().numpy()
