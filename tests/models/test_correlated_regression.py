"""The correlated regression's exact draws against brute-force quadrature of its log density over all three parameters."""

import numpy as np
import pytest

from pp_vae.models.correlated_regression import exact_draws, log_density, sigma_posterior


def _grid_moments(data):
    """Means and sds of alpha, beta, sigma by a 3-D grid over the NumPy log density (no conjugacy used)."""
    alpha, beta, log_sigma = np.linspace(-1, 3, 101), np.linspace(0, 3, 101), np.linspace(-3, 1.5, 101)
    a, b, s = np.meshgrid(alpha, beta, log_sigma, indexing="ij")
    log_p = log_density(data)(np.stack([a, b, s], axis=-1))
    w = np.exp(log_p - log_p.max())
    w /= w.sum()
    values = {"alpha": a, "beta": b, "sigma": np.exp(s)}
    return {k: (float((w * v).sum()), float(np.sqrt((w * v**2).sum() - (w * v).sum() ** 2))) for k, v in values.items()}


def test_exact_draws_match_a_brute_force_grid():
    x = np.linspace(-1.5, 2.5, 12)
    y = 1.0 + 1.5 * x + 0.5 * np.random.default_rng(0).standard_normal(12)  # sigma near 0.5 with 10 residual degrees of freedom
    data = {"N": 12, "x": x.tolist(), "y": y.tolist()}
    grid = _grid_moments(data)
    draws = exact_draws(data, 400_000, seed=1)
    for j, name in enumerate(("alpha", "beta", "sigma")):
        mean, sd = grid[name]
        se = sd / np.sqrt(draws.shape[0])
        assert abs(draws[:, j].mean() - mean) < 5 * se + 1e-3 * sd, name  # Monte Carlo error, and the grid's own
        assert draws[:, j].std() == pytest.approx(sd, rel=0.01), name


def test_sigma_posterior_is_a_normalised_density_on_its_grid():
    data = {"N": 3, "x": [1.0, 2.0, 3.0], "y": [1.0, 2.5, 2.9]}
    grid, density = sigma_posterior(data)
    assert np.trapezoid(density, grid) == pytest.approx(1.0) and density[0] < 1e-12 * density.max() and density[-1] < 1e-12 * density.max()
    with pytest.raises(ValueError, match=r"x and y must be 1-D and of one length, got shapes \(3,\) and \(2,\)"):
        sigma_posterior({"N": 3, "x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]})
