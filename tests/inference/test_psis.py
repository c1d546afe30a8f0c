"""PSIS k-hat on weights whose tail is known, and what a k-hat means at a given number of draws."""

import numpy as np
import pytest

from pp_vae.inference import info, khat_over_draws, khat_reading, khat_threshold, pareto_khat, psis_resample, psis_smooth


def test_khat_of_normal_proposals_for_wider_and_narrower_targets():
    # q = N(0, 1) proposing for p = N(0, s^2): the weights exp(z^2 (1 - 1/s^2) / 2) have a Pareto tail
    # with k = 1 - 1/s^2 when s > 1, and are bounded (k < 0) when s < 1
    z = np.random.default_rng(0).normal(size=8000)
    for s in (0.5, 1.2, 1.5, 2.0):
        k = pareto_khat(-0.5 * (z / s) ** 2 - np.log(s) + 0.5 * z**2)
        if s < 1:
            assert k < 0
        else:
            assert k == pytest.approx(1 - 1 / s**2, abs=0.12), s


def test_khat_over_draws_centres_on_the_known_tail_and_tightens_with_more_draws():
    # q = N(0, 1), p = N(0, 2): k = 1 - 1/2 = 0.5. One fixed q, fresh draws each set: the estimate's own spread.
    rng = np.random.default_rng(1)

    def sample(n):
        z = rng.normal(size=n)
        return z, -0.5 * z**2

    def log_p(z):
        return -0.25 * z**2

    small, large = khat_over_draws(sample, log_p, 2000, 30), khat_over_draws(sample, log_p, 32000, 30)
    assert abs(small.mean() - 0.5) < 0.08 and abs(large.mean() - 0.5) < 0.08
    # its spread shrinks with the number of draws (about as the tail's 3 sqrt(S) draws grow)
    assert large.std() < 0.7 * small.std()
    with pytest.raises(ValueError, match="draws must be an integer >= 20, got 10"):
        khat_over_draws(sample, log_p, 10, 5)


def test_too_few_or_broken_weights_give_nan():
    assert np.isnan(pareto_khat(np.zeros(10)))
    assert np.isnan(pareto_khat(np.r_[np.zeros(100), np.nan]))


def test_the_sample_size_aware_threshold_and_readings():
    assert khat_threshold(100) == pytest.approx(0.5) and khat_threshold(1000) == pytest.approx(1 - 1 / 3)
    assert khat_threshold(10**6) == 0.7  # capped
    assert khat_reading(0.3).startswith("k-hat 0.30 < 0.5: good")
    assert "usable" in khat_reading(0.6) and "unreliable" in khat_reading(0.9)
    assert khat_reading(0.6, draws=100) == "k-hat 0.60 > 0.50: unreliable, q misses a part of the posterior that matters"


def _result(draws, lp, lp_approx, method="toy"):
    from pp_vae.inference import from_draws

    return from_draws(
        {"x": draws[None]},
        method=method,
        model="toy",
        seconds=1.0,
        gradient_evaluations=10,
        sample_stats={"lp": lp[None], "lp_approx": lp_approx[None]},
    )


def test_smoothed_weights_are_normalised_and_a_point_outside_the_support_weighs_nothing():
    lw = np.random.default_rng(1).normal(size=2000)
    lw[:5] = -np.inf
    smoothed, khat = psis_smooth(lw)
    assert np.exp(smoothed).sum() == pytest.approx(1.0) and np.all(np.exp(smoothed[:5]) == 0) and np.isfinite(khat)


def test_resampling_corrects_a_shifted_wide_proposal_as_far_as_its_effective_sample_size_allows():
    from scipy import stats

    rng = np.random.default_rng(2)
    x = rng.normal(0.3, 1.3, 8000)  # q = N(0.3, 1.3^2) proposing for p = N(0, 1): k < 0, the weights are bounded
    raw = _result(x, stats.norm.logpdf(x), stats.norm.logpdf(x, 0.3, 1.3))
    corrected = psis_resample(raw, seed=3)
    meta = info(corrected)
    assert meta.method == "toy+psis" and meta.khat == pytest.approx(info(raw).khat) and meta.psis_resampled
    ess = meta.psis_ess
    assert 1000 < ess < 8000 and meta.unique_draws < 8000
    fixed = corrected.posterior["x"].values.ravel()
    # the raw mean is off by 0.3 (70 standard errors); the corrected one is within 5 of its standard errors of 0
    assert abs(x.mean()) > 5 * 1.3 / np.sqrt(x.size)
    assert abs(fixed.mean()) < 5 * np.sqrt(1 / ess + 1 / fixed.size) and abs(fixed.std() - 1) < 5 * np.sqrt(1 / (2 * ess))
    assert np.array_equal(psis_resample(raw, seed=3).posterior["x"].values, corrected.posterior["x"].values)


def test_what_cannot_be_resampled_is_named():
    x = np.random.default_rng(4).normal(size=100)
    with pytest.raises(ValueError, match="already importance-resampled"):
        psis_resample(psis_resample(_result(x, -0.5 * x**2, -0.5 * x**2)))
    from pp_vae.inference import from_draws

    mcmc = from_draws({"x": x[None]}, method="nuts", model="toy", seconds=1.0, gradient_evaluations=10)
    with pytest.raises(ValueError, match="'nuts' is not an approximation with a density"):
        psis_resample(mcmc)


@pytest.mark.slow
def test_on_kidiq_the_correction_is_no_worse_than_the_raw_draws_where_khat_is_below_the_threshold():
    from pp_vae.inference import against_reference, fit_laplace
    from tests.reference import reference

    ref = reference("kidiq-kidscore_momiq")
    raw = fit_laplace(ref["program"], ref["data"], seed=5, extra_fields="ignore")
    corrected = psis_resample(raw, seed=5)
    assert info(raw).khat < khat_threshold(4000)
    before, after = against_reference(raw, ref["draws"]), against_reference(corrected, ref["draws"])
    # no worse: the corrected error exceeds the raw one by less than 3 of its Monte Carlo standard errors
    assert np.all(after.mean_error.abs() < before.mean_error.abs() + 3 * after.mean_error_mcse), (before, after)
    assert np.all(np.abs(after.sd_ratio - 1) < np.abs(before.sd_ratio - 1) + 3 / np.sqrt(2 * info(corrected).psis_ess))
