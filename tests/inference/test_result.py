"""The one result type: built from draws, read back under Stan's names, summarised by ArviZ."""

import numpy as np
import pytest

from pp_vae.inference import flat_draws, from_draws, from_flat_draws, info, log_weights, summary


def _result(rng, chains=4, draws=2000, **kwargs):
    return from_draws(
        {"mu": rng.normal(2.0, 3.0, size=(chains, draws)), "Sigma": rng.normal(size=(chains, draws, 2, 3))},
        method="test",
        model="toy",
        seconds=1.5,
        gradient_evaluations=10,
        **kwargs,
    )


def test_stan_names_are_one_based_and_column_major():
    result = _result(np.random.default_rng(0))
    flat = flat_draws(result)
    assert list(flat)[:4] == ["mu", "Sigma[1,1]", "Sigma[2,1]", "Sigma[1,2]"] and len(flat) == 7
    np.testing.assert_array_equal(flat["Sigma[2,1]"], result.posterior["Sigma"].values[..., 1, 0])
    rebuilt = from_flat_draws(flat, method="test", model="toy", seconds=0.0, gradient_evaluations=None)
    np.testing.assert_array_equal(rebuilt.posterior["Sigma"].values, result.posterior["Sigma"].values)


def test_summary_is_arviz_on_independent_draws():
    rng = np.random.default_rng(1)
    result = _result(rng)
    table = summary(result)
    mu = result.posterior["mu"].values
    assert list(table.index[:3]) == ["mu", "Sigma[1,1]", "Sigma[2,1]"]
    row = table.loc["mu"]
    assert row["mean"] == pytest.approx(mu.mean()) and row["sd"] == pytest.approx(mu.std(ddof=1), rel=1e-3)
    assert row["q5"] == pytest.approx(np.quantile(mu, 0.05), abs=0.05) and row["q95"] == pytest.approx(np.quantile(mu, 0.95), abs=0.05)
    # independent draws: ESS near the 8000 draws (within 10%), R-hat 1 within 0.01, MCSE = sd / sqrt(ESS)
    assert row["ess_bulk"] == pytest.approx(8000, rel=0.1) and row["rhat"] == pytest.approx(1.0, abs=0.01)
    assert row["mcse_mean"] == pytest.approx(3.0 / np.sqrt(row["ess_bulk"]), rel=0.05)


def test_attributes_and_the_khat_of_an_approximation():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(1, 8000))
    s = 1.5  # q = N(0, 1) for p = N(0, 1.5^2): k = 1 - 1/s^2 = 0.56
    lp, lq = -0.5 * (z / s) ** 2 - np.log(s), -0.5 * z**2
    result = from_draws(
        {"z": z},
        method="q",
        model="toy",
        seconds=0.1,
        gradient_evaluations=None,
        sample_stats={"lp": lp, "lp_approx": lq},
        elbo=np.arange(5.0),
    )
    meta = info(result)
    assert (meta.method, meta.chains, meta.draws, meta.gradient_evaluations) == ("q", 1, 8000, None)
    assert meta.khat == pytest.approx(1 - 1 / s**2, abs=0.12)
    np.testing.assert_array_equal(meta.elbo, np.arange(5.0))
    np.testing.assert_allclose(log_weights(result), (lp - lq).ravel())
    with pytest.raises(ValueError, match="'test' is not an approximation with a density"):
        log_weights(_result(rng))
    with pytest.raises(ValueError, match=r"draws of 'x' must be shaped \(chain, draw, ...\), got shape \(5,\)"):
        from_draws({"x": np.zeros(5)}, method="m", model="toy", seconds=0.0, gradient_evaluations=None)


def test_every_attribute_a_result_carries_is_read_by_name():
    result = from_draws(
        {"x": np.zeros((1, 3))},
        method="m",
        model="toy",
        seconds=1.0,
        gradient_evaluations=7,
        density_evaluations=np.int64(3),
        psis_resampled=np.True_,
        psis_ess=2.5,
        total_seconds=4,
        family="fullrank",
    )
    meta = info(result)
    assert (meta.density_evaluations, meta.psis_resampled, meta.psis_ess, meta.total_seconds) == (3, True, 2.5, 4.0)
    assert type(meta.density_evaluations) is int and type(meta.psis_resampled) is bool and type(meta.total_seconds) is float
    # what no field types (a method's own facts, ArviZ's provenance) stays under its name; what a method did not write is None
    assert meta.details["family"] == "fullrank" and meta.unique_draws is None and meta.guide_seconds is None
