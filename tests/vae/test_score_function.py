"""Score-function estimators with baselines against closed forms and enumeration: unbiased, and less noisy than without."""

import itertools
import math

import numpy as np
import pytest
import torch

from pp_vae.vae import (
    baselined_signal,
    bit_estimators,
    bit_gradients,
    build_vae,
    exact_bit_gradient,
    exact_multisample_gradient,
    fit_input_baseline,
    gaussian_estimators,
    leave_one_out_mean,
    multisample_estimators,
    score_function_estimate,
    vimco_signal,
)


def _within(estimate: np.ndarray, truth: np.ndarray, values: np.ndarray, sigmas: float = 5.0) -> bool:
    se = values.std(0, ddof=1) / np.sqrt(values.shape[0])
    return bool(np.all(np.abs(estimate - truth) < sigmas * se + 1e-9))


def test_leave_one_out_mean_is_the_mean_of_the_others():
    values = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])
    torch.testing.assert_close(leave_one_out_mean(values), torch.tensor([[4.0, 40.0], [3.5, 35.0], [1.5, 15.0]]))


@pytest.mark.parametrize("baseline", ["none", "leave-one-out", "optimal"])
def test_every_baseline_is_unbiased_for_a_gaussian_q_and_a_quadratic_f(baseline):
    """``E_{N(mu, sigma^2)} (z - a)^2 = (mu - a)^2 + sigma^2``: d/dmu ``2 (mu - a)``, d/dlog sigma ``2 sigma^2``."""
    mu, sigma, a, draws, k = 0.7, 0.5, -20.0, 20_000, 4
    eps = torch.randn(k, draws, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    f = ((mu + sigma * eps - a) ** 2).squeeze(-1)
    scores = torch.cat([eps / sigma, eps**2 - 1], -1)
    values = score_function_estimate(f, scores, baseline).numpy()  # one estimate of 4 draws per column
    assert _within(values.mean(0), np.array([2 * (mu - a), 2 * sigma**2]), values)


def test_the_leave_one_out_estimate_equals_the_plain_one_in_expectation_on_bernoulli_bits_and_is_far_less_noisy():
    """``E (S - a)^2`` for ``S`` a sum of Bernoulli bits: ``sum p(1 - p) + (sum p - a)^2``, differentiated by autograd."""
    logits = torch.tensor([-1.0, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(logits)
    a = -30.0
    (exact,) = torch.autograd.grad((p * (1 - p)).sum() + (p.sum() - a) ** 2, logits)
    p = p.detach()
    z = (torch.rand(4, 20_000, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < p).double()
    f, scores = (z.sum(-1) - a) ** 2, z - p
    estimates = {b: score_function_estimate(f, scores, b).numpy() for b in ("none", "leave-one-out", "optimal")}
    for values in estimates.values():
        assert _within(values.mean(0), exact.numpy(), values)
    # f is about 900 and moves by about 60 with the bits: a baseline removes most of the noise
    assert estimates["leave-one-out"].var(0).sum() < estimates["none"].var(0).sum() / 50
    assert estimates["optimal"].var(0).sum() < estimates["none"].var(0).sum() / 50


def test_bad_baselines_and_shapes_are_refused():
    f, scores = torch.zeros(4, 3), torch.zeros(4, 3, 2)
    with pytest.raises(ValueError, match="baseline must be one of"):
        baselined_signal(f, scores, "mean")
    with pytest.raises(ValueError, match="f must have the scores' shape"):
        score_function_estimate(torch.zeros(4, 2), scores)
    with pytest.raises(ValueError, match="draws along dim 0 must be an integer >= 2"):
        leave_one_out_mean(torch.zeros(1, 3))


def test_all_four_gaussian_estimators_average_to_the_closed_form_gradient_of_a_linear_gaussian_vae():
    torch.manual_seed(0)
    vae = build_vae("vae", 12, latent_dim=3, hidden_dim=8, likelihood="gaussian", sigma=0.5, arch="linear").double()
    x = torch.rand(6, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    found = gaussian_estimators(vae, x, estimates=2000, samples=4, seed=2)
    with torch.no_grad():
        loc, scale = vae.encoder(x)
        w, b = vae.decoder.weight, vae.decoder.bias
        exact = torch.cat([((x - b - loc @ w.T) @ w / 0.25).sum(0), (-(w**2).sum(0) * scale**2 / 0.25).sum(0)]).numpy()
    for estimate in found.values():
        assert _within(estimate.mean, exact, estimate.values)
    plain = found["score function"].variance.sum()
    assert found["leave-one-out"].variance.sum() < plain / 3 and found["optimal constant"].variance.sum() < plain / 3
    assert found["reparameterised"].variance.sum() < found["leave-one-out"].variance.sum()
    with pytest.raises(ValueError, match="samples must be an integer >= 2"):
        gaussian_estimators(vae, x, samples=1)


def _tiny_binary(bits=4):
    torch.manual_seed(0)
    vae = build_vae("binary", 16, latent_dim=bits, hidden_dim=16, likelihood="binomial", trials=4).double()
    with torch.no_grad():
        for parameter in vae.encoder.parameters():
            parameter.mul_(3.0)
    x = torch.randint(0, 5, (8, 16), generator=torch.Generator().manual_seed(1)).double() / 4
    return vae, x


def test_bit_estimators_with_baselines_are_unbiased_against_enumeration_and_straight_through_is_not():
    vae, x = _tiny_binary()
    exact = exact_bit_gradient(vae, x)
    oracle = {"exact baseline": lambda images: vae.exact_elbo(images) + vae.kl_per_dim(images).sum(-1)}
    found = bit_estimators(vae, x, estimates=3000, samples=4, seed=3, input_baselines=oracle)
    for name in ("score function", "leave-one-out", "exact baseline"):
        assert _within(found[name].mean, exact, found[name].values), name
    straight = found["straight-through"]
    assert np.max(np.abs(straight.mean - exact) / straight.standard_error) > 5
    plain = found["score function"].variance.sum()
    assert found["leave-one-out"].variance.sum() < plain / 5 and found["exact baseline"].variance.sum() < plain / 5
    with pytest.raises(ValueError, match=r"input_baselines may not reuse the built-in estimators' names, got \['leave-one-out'\]"):
        bit_estimators(vae, x, input_baselines={"leave-one-out": oracle["exact baseline"]})
    # the same straight-through gradient as the BinaryVAE's own StraightThroughBernoulli (Pyro's), one draw at a time
    _, pyro_straight, _ = bit_gradients(vae, x, draws=1000, seed=4)
    difference = straight.mean - pyro_straight.mean
    assert np.all(np.abs(difference) < 5 * np.hypot(straight.standard_error, pyro_straight.standard_error))


def test_the_fitted_input_baseline_learns_the_expected_reconstruction():
    vae, x = _tiny_binary()
    images = torch.randint(0, 5, (256, 16), generator=torch.Generator().manual_seed(5)).double() / 4
    baseline, losses = fit_input_baseline(vae, images, steps=1000, batch_size=64, hidden_dim=32, seed=0)
    with torch.no_grad():
        truth = vae.exact_elbo(images) + vae.kl_per_dim(images).sum(-1)  # E_q log p(x | z), exactly
        before = float(((truth - truth.mean()) ** 2).mean())
        after = float(((truth - baseline(images)) ** 2).mean())
    assert after < before / 3 and np.mean(losses[-50:]) < np.mean(losses[:10])


def _enumerated_bound(vae, x, k):
    """``E[L_K]`` summed over images by enumerating all K-tuples of codes, differentiable in the encoder."""
    codes = vae.all_codes()
    block = codes[:, None, :].expand(-1, x.shape[0], -1)
    log_q = torch.distributions.Bernoulli(logits=vae.logits(x)).log_prob(block).sum(-1)
    log_w = vae.log_joint(x, block) - log_q
    total = 0.0
    for tuple_ in itertools.product(range(codes.shape[0]), repeat=k):
        index = list(tuple_)
        total = total + (log_q[index].sum(0).exp() * (torch.logsumexp(log_w[index], 0) - math.log(k))).sum()
    return total


@pytest.mark.parametrize("k", [2, 3])
def test_vimco_and_the_exact_multisample_gradient_against_autograd_of_the_enumerated_bound(k):
    vae, x = _tiny_binary(bits=3)
    x = x[:4]
    (truth,) = torch.autograd.grad(_enumerated_bound(vae, x, k), [vae.encoder.loc.bias])
    truth = truth.numpy()
    np.testing.assert_allclose(exact_multisample_gradient(vae, x, samples=k), truth, rtol=1e-8, atol=1e-10)
    found = multisample_estimators(vae, x, samples=k, estimates=20_000, seed=6)
    for estimate in found.values():
        assert _within(estimate.mean, truth, estimate.values)
    assert found["VIMCO"].variance.sum() < found["score function"].variance.sum() / 5


def test_vimco_signal_by_hand_for_two_draws():
    """With K = 2 the geometric mean of the other draw is that draw, so the baseline is ``log w_other``."""
    log_w = torch.tensor([[-1.0], [-3.0]], dtype=torch.float64)
    bound = torch.logsumexp(log_w, 0) - math.log(2)
    expected = torch.stack([bound - log_w[1], bound - log_w[0]]) - torch.exp(log_w - bound) / 2
    torch.testing.assert_close(vimco_signal(log_w), expected)


def test_enumerating_too_many_tuples_is_refused():
    vae, x = _tiny_binary(bits=11)
    with pytest.raises(ValueError, match=r"samples=3 needs 2048\^2 tuples"):
        exact_multisample_gradient(vae, x, samples=3)
