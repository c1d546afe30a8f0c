"""Leapfrog's energy error against its closed form on a Gaussian: O(eps^2), and unstable past eps = 2 sd."""

import numpy as np
import pytest

from pp_vae.inference.hmc import energy_error, leapfrog, max_energy_errors


def _gaussian(sd):
    sd = np.asarray(sd, float)
    return (lambda q: float(-0.5 * np.sum((q / sd) ** 2))), (lambda q: -q / sd**2)


def test_energy_error_on_a_standard_normal_is_eps_squared_over_8_times_the_change_in_q_squared():
    # leapfrog keeps H~ = p^2/2 + (1 - eps^2/4) q^2/2 exactly, so H_t - H_0 = eps^2/8 (q_t^2 - q_0^2)
    log_p, grad = _gaussian([1.0])
    for eps in (0.05, 0.4, 1.5):
        qs, _ = leapfrog(grad, [0.7], [-1.2], eps, 40)
        errors = energy_error(log_p, grad, [0.7], [-1.2], eps, 40)
        np.testing.assert_allclose(errors, eps**2 / 8 * (qs[:, 0] ** 2 - 0.7**2), atol=1e-12)


def test_the_error_shrinks_as_eps_squared():
    log_p, grad = _gaussian([0.5, 1.0, 3.0])
    q, p = np.array([0.3, -1.0, 2.0]), np.array([1.0, 0.5, -0.7])
    coarse, fine = max_energy_errors(log_p, grad, q, p, [0.1, 0.05], length=6.0)
    assert fine / coarse == pytest.approx(0.25, abs=0.03)


def test_past_two_standard_deviations_the_integrator_is_unstable():
    # the leapfrog map on N(0, sd^2) has eigenvalues on the unit circle iff eps < 2 sd
    log_p, grad = _gaussian([1.0])
    stable, unstable = max_energy_errors(log_p, grad, [1.0], [0.0], [1.9, 2.1], length=80.0)
    # from (1, 0): H~ = (1 - eps^2/4) / 2 bounds q_t^2 <= 1, so |H_t - H_0| = eps^2/8 |q_t^2 - 1| <= eps^2/8
    assert 0.5 * 1.9**2 / 8 < stable <= 1.9**2 / 8 + 1e-12
    assert unstable > 1e3


def test_bad_arguments_are_named():
    _, grad = _gaussian([1.0])
    with pytest.raises(ValueError, match="step_size must be positive"):
        leapfrog(grad, [0.0], [1.0], 0.0, 3)
    with pytest.raises(ValueError, match="q and p must be 1-D points of one shape"):
        leapfrog(grad, [0.0], [1.0, 2.0], 0.1, 3)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        leapfrog(grad, [0.0], [1.0], 0.1, 0)


def test_sampler_table_reads_e_bfmi_and_tree_depths():
    from pp_vae.inference import from_draws
    from pp_vae.inference.hmc import sampler_table

    rng = np.random.default_rng(0)
    # energies as an AR(1) with coefficient r: E-BFMI = mean squared jump / variance = 2 (1 - r)
    energy = np.zeros((2, 20_000))
    for t in range(1, energy.shape[1]):
        energy[:, t] = np.array([0.0, 0.95]) * energy[:, t - 1] + rng.normal(size=2)
    depth = np.tile(np.array([3, 10]), (2, 10_000))
    stats = {
        "step_size": np.full((2, 20_000), 0.2),
        "n_steps": 2**depth - 1,
        "tree_depth": depth,
        "diverging": depth == 10,
        "energy": energy,
    }
    table = sampler_table(from_draws({"x": energy}, method="nuts", model="m", seconds=1.0, gradient_evaluations=0, sample_stats=stats))
    assert table["E-BFMI"].to_numpy() == pytest.approx([2.0, 0.1], rel=0.1)
    assert list(table["hits depth 10"]) == [10_000, 10_000] and list(table["divergences"]) == [10_000, 10_000]
    with pytest.raises(ValueError, match="sampler_table needs a NUTS result"):
        sampler_table(from_draws({"x": energy}, method="m", model="m", seconds=1.0, gradient_evaluations=0))


def test_stability_limit_is_twice_the_narrowest_sd():
    from pp_vae.inference.hmc import stability_limit

    cov = np.array([[1.0, 0.9], [0.9, 1.0]])  # narrowest direction: variance 0.1
    precision = np.linalg.inv(cov)
    assert stability_limit(lambda q: -precision @ q, [0.3, -0.2]) == pytest.approx(2 * np.sqrt(0.1), rel=1e-6)
    with pytest.raises(ValueError, match="not curved downwards"):
        stability_limit(lambda q: q, [0.0])
