"""Information measures against scipy.stats / torch.distributions and a Monte Carlo estimate."""

import numpy as np
import pytest
import torch
from scipy import stats

from pp_vae.bayes import (
    binary_entropy,
    cross_entropy,
    diagonal_gaussian_kl,
    entropy,
    gaussian_kl,
    huffman_code_lengths,
    kl_divergence,
    surprise,
)

RNG = np.random.default_rng(11)
PAIRS = [(RNG.dirichlet(np.ones(k)), RNG.dirichlet(np.ones(k))) for k in (2, 3, 5, 10, 10, 50)]


def test_surprise_of_a_fair_coin_is_one_bit_and_of_certainty_zero():
    assert surprise(0.5) == pytest.approx(1.0)
    assert surprise(1.0) == 0.0 and f"{surprise(1.0):.2f}" == "0.00"  # not -0.00
    assert surprise(0.25, unit="nats") == pytest.approx(np.log(4))
    assert surprise(0.0) == np.inf


@pytest.mark.parametrize("p, q", PAIRS)
def test_discrete_measures_match_scipy(p, q):
    assert entropy(p, unit="nats") == pytest.approx(stats.entropy(p), rel=1e-9)
    assert entropy(p) == pytest.approx(stats.entropy(p, base=2), rel=1e-9)
    assert kl_divergence(p, q, unit="nats") == pytest.approx(stats.entropy(p, q), rel=1e-9)
    assert cross_entropy(p, q) == pytest.approx(entropy(p) + kl_divergence(p, q), rel=1e-9)
    assert kl_divergence(p, q) >= 0 and kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)


def test_kl_is_not_symmetric_and_infinite_off_support():
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert kl_divergence(p, q) != pytest.approx(kl_divergence(q, p), abs=1e-3)
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(1.0)


def test_coin_entropy_peaks_at_one_half():
    grid = np.linspace(0, 1, 1001)
    h = binary_entropy(grid)
    assert grid[np.argmax(h)] == pytest.approx(0.5) and h.max() == pytest.approx(1.0)
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0


@pytest.mark.parametrize(
    "p, message",
    [
        ([0.5, 0.6], r"p must sum to 1 \(within 1e-09\), got a sum of 1.1 \(off by 0.1\)"),
        ([1.2, -0.2], r"p must hold probabilities in \[0, 1\], got 1.2 at index 0"),
        ([0.5, float("nan")], "p must be finite, got nan at index 1"),
    ],
)
def test_bad_probability_vectors_are_named(p, message):
    with pytest.raises(ValueError, match=message):
        entropy(p)


def test_mismatched_lengths_and_units_are_errors():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="unit must be 'bits' or 'nats', got 'bytes'"):
        entropy([1.0], unit="bytes")
    with pytest.raises(ValueError, match="scale_q must be positive, got 0.0"):
        gaussian_kl(0.0, 0.0)


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    loc_q, scale_q = torch.randn(64, 8, dtype=torch.float64), torch.rand(64, 8, dtype=torch.float64) + 0.1
    loc_p, scale_p = torch.randn(64, 8, dtype=torch.float64), torch.rand(64, 8, dtype=torch.float64) + 0.1
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(loc_q, scale_q), torch.distributions.Normal(loc_p, scale_p))
    torch.testing.assert_close(gaussian_kl(loc_q, scale_q, loc_p, scale_p), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        diagonal_gaussian_kl(loc_q, scale_q),
        expected.new_zeros(())
        + torch.distributions.kl_divergence(torch.distributions.Normal(loc_q, scale_q), torch.distributions.Normal(0.0, 1.0)).sum(-1),
        rtol=1e-12,
        atol=1e-12,
    )
    numpy_value = gaussian_kl(loc_q.numpy(), scale_q.numpy(), loc_p.numpy(), scale_p.numpy())
    np.testing.assert_allclose(numpy_value, expected.numpy(), rtol=1e-12)


def test_gaussian_kl_keeps_gradients():
    loc = torch.tensor([0.3, -1.0], requires_grad=True)
    diagonal_gaussian_kl(loc, torch.tensor([0.5, 2.0])).backward()
    torch.testing.assert_close(loc.grad, loc.detach())  # d/dloc of loc^2 / 2


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(5)
    loc_q, scale_q, loc_p, scale_p = 0.7, 0.4, -0.2, 1.3
    z = rng.normal(loc_q, scale_q, size=400_000)
    log_ratio = stats.norm.logpdf(z, loc_q, scale_q) - stats.norm.logpdf(z, loc_p, scale_p)
    standard_error = log_ratio.std() / np.sqrt(z.size)
    assert gaussian_kl(loc_q, scale_q, loc_p, scale_p) == pytest.approx(log_ratio.mean(), abs=4 * standard_error)


def test_huffman_lengths_are_the_surprises_of_a_dyadic_distribution():
    q = np.array([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 16])
    np.testing.assert_array_equal(huffman_code_lengths(q), -np.log2(q))


def test_a_code_built_for_q_costs_the_cross_entropy_h_plus_kl():
    p, q = np.array([1 / 2, 1 / 4, 1 / 4]), np.array([1 / 4, 1 / 4, 1 / 2])
    right, wrong = p @ huffman_code_lengths(p), p @ huffman_code_lengths(q)
    assert right == 1.5 == pytest.approx(entropy(p))
    assert wrong == 1.75 == pytest.approx(entropy(p) + kl_divergence(p, q))


def test_huffman_is_within_one_bit_of_the_entropy_and_a_complete_prefix_code():
    rng = np.random.default_rng(3)
    for size in (2, 3, 7, 20):
        q = rng.dirichlet(np.ones(size))
        lengths = huffman_code_lengths(q)
        assert entropy(q) <= q @ lengths < entropy(q) + 1  # Shannon's source-coding bound
        assert np.sum(2.0**-lengths) == pytest.approx(1.0)  # Kraft's equality: no codeword wasted
    assert huffman_code_lengths([1.0]).tolist() == [0]
    with pytest.raises(ValueError, match="q must sum to 1"):
        huffman_code_lengths([0.5, 0.4])
