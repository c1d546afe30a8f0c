"""NUTS through PyStan against closed forms and gold-standard posteriors; the result type's attributes; data errors."""

import numpy as np
import pytest

from pp_vae.bayes import BetaBernoulli, NormalKnownVariance
from pp_vae.inference import diagnostics, fit_nuts, flat_draws, info
from tests.reference import reference

pytestmark = pytest.mark.slow

FLIPS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]
NORMAL_Y = [2.1, 3.4, 0.7, 2.9, 1.8]


def _within_mcse(draws: np.ndarray, exact_mean: float, exact_sd: float, k: float = 4.0) -> None:
    import arviz as az

    assert abs(draws.mean() - exact_mean) < k * float(az.mcse(draws, method="mean"))
    assert abs(draws.std(ddof=1) - exact_sd) < k * float(az.mcse(draws, method="sd"))


def test_nuts_matches_the_beta_bernoulli_closed_form():
    idata = fit_nuts("beta_bernoulli", {"N": 10, "y": FLIPS, "alpha": 2.0, "beta": 2.0}, seed=11)
    exact = BetaBernoulli(2.0, 2.0).posterior(FLIPS)
    _within_mcse(idata.posterior["theta"].values, exact.mean(), exact.std())
    # replications and observed data come along with Stan's names
    assert idata.posterior_predictive["y_rep"].shape == (4, 1000, 10)
    np.testing.assert_array_equal(idata.observed_data["y"].values, FLIPS)
    assert diagnostics(idata).warnings == []


def test_nuts_matches_the_normal_known_variance_closed_form():
    data = {"N": 5, "y": NORMAL_Y, "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0}
    idata = fit_nuts("normal_known_variance", data, seed=12)
    exact = NormalKnownVariance(prior_mean=0.0, prior_sd=1.0, noise_sd=2.0).posterior(NORMAL_Y)
    _within_mcse(idata.posterior["mu"].values, exact.mean(), exact.std())
    # E[y_rep] is the posterior predictive mean
    predictive = NormalKnownVariance(0.0, 1.0, 2.0).posterior_predictive(NORMAL_Y)
    y_rep = idata.posterior_predictive["y_rep"].values
    assert abs(y_rep.mean() - predictive.mean()) < 4 * predictive.std() / np.sqrt(y_rep.shape[0] * y_rep.shape[1] / 2)


def test_eight_schools_noncentered_matches_the_reference_posterior():
    ref = reference("eight_schools-eight_schools_noncentered")
    idata = fit_nuts("eight_schools_noncentered", ref["data"], draws=2000, seed=13, delta=0.95)  # the reference's adapt delta
    flat = flat_draws(idata)
    for name, truth in ref["draws"].items():
        ours = flat[name]
        assert abs(ours.mean() - truth.mean()) < 0.1 * truth.std(), name
        assert ours.std() == pytest.approx(truth.std(), rel=0.10), name
    assert diagnostics(idata).divergences <= 8  # at most 0.1% of 8,000 draws


def test_flattened_names_are_stan_one_based_column_major():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = (rng.random(50) < 1 / (1 + np.exp(-(0.5 + X @ [1.0, -1.0])))).astype(int)
    idata = fit_nuts("logistic_regression", {"N": 50, "K": 2, "X": X, "y": y, "prior_sd": 2.5}, draws=300, seed=15)
    flat = flat_draws(idata)
    assert list(flat) == ["alpha", "beta[1]", "beta[2]"]
    assert list(idata.posterior["beta"].coords["beta_dim_0"].values) == [1, 2]  # 1-based, as Stan counts
    np.testing.assert_array_equal(flat["beta[2]"], idata.posterior["beta"].values[..., 1])
    assert flat["beta[1]"].mean() > 0 > flat["beta[2]"].mean()


def test_bad_data_fails_before_building_with_the_field_named():
    with pytest.raises(ValueError, match="data field 'y' must be <= 1"):
        fit_nuts("beta_bernoulli", {"N": 3, "y": [0, 1, 2], "alpha": 2.0, "beta": 2.0})
    with pytest.raises(ValueError, match="declares no parameters"):
        fit_nuts("data { int N; } generated quantities { real x = N; }", {"N": 1})
    with pytest.raises(ValueError, match="draws must be an integer >= 1, got 0"):
        fit_nuts("beta_bernoulli", {"N": 0, "y": [], "alpha": 1.0, "beta": 1.0}, draws=0)


def test_the_result_records_its_cost_and_same_seed_gives_same_draws():
    data = {"N": 10, "y": FLIPS, "alpha": 2.0, "beta": 2.0}
    first, second = fit_nuts("beta_bernoulli", data, draws=200, seed=21), fit_nuts("beta_bernoulli", data, draws=200, seed=21)
    np.testing.assert_array_equal(first.posterior["theta"].values, second.posterior["theta"].values)
    meta = info(first)
    assert meta.method == "nuts" and meta.model == "beta_bernoulli" and (meta.chains, meta.draws) == (4, 200)
    # gradient evaluations are the leapfrog steps of warm-up and sampling: at least one per iteration, and the
    # sampling part alone is the sum of the n_steps statistic
    sampling_steps = int(first.sample_stats["n_steps"].values.sum())
    assert meta.gradient_evaluations >= 4 * (1000 + 200) and meta.gradient_evaluations > sampling_steps
    assert meta.khat is None and meta.elbo is None


def test_a_repeated_run_samples_again_and_leaves_no_fit_on_disk():
    # httpstan would answer a repeat of the same seeded request from a fit it keeps on disk, without sampling (its
    # "seconds" then a file read); pp_vae keeps each fit in memory until read: both runs write their 4 chains' fits
    import httpstan.cache
    import httpstan.models

    from pp_vae.stan import load_program
    from pp_vae.stan.builds import _fits

    data = {"N": 10, "y": FLIPS, "alpha": 1.0, "beta": 3.0}
    fits = httpstan.cache.model_directory(httpstan.models.calculate_model_name(load_program("beta_bernoulli").code)) / "fits"
    on_disk = set(fits.glob("*")) if fits.is_dir() else set()
    written = []
    fit_nuts("beta_bernoulli", data, draws=100, seed=22)  # installs the in-memory store (every build does)
    store = httpstan.cache.dump_fit
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpstan.cache, "dump_fit", lambda fit_bytes, name: (written.append(name), store(fit_bytes, name)))
        first, second = (fit_nuts("beta_bernoulli", data, draws=100, seed=22) for _ in range(2))
    assert len(written) == 8 and len(set(written)) == 4  # the same 4 fit names, each sampled twice
    np.testing.assert_array_equal(first.posterior["theta"].values, second.posterior["theta"].values)
    assert (set(fits.glob("*")) if fits.is_dir() else set()) == on_disk and not _fits()


def test_a_run_in_a_thread_holds_its_fits_in_that_thread_and_forgets_them():
    # calibration's workers sample in threads, and each run forgets its fits once read: that is safe because PyStan
    # serves httpstan in the sampling thread, so each thread's fits are its own (pp_vae.stan.builds keeps them per thread)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpstan.cache

    from pp_vae.stan.builds import _fits

    data = {"N": 10, "y": FLIPS, "alpha": 3.0, "beta": 1.0}
    fit_nuts("beta_bernoulli", data, draws=100, seed=23)  # installs the in-memory store
    store, dumped_in = httpstan.cache.dump_fit, []

    def run(seed):
        theta = fit_nuts("beta_bernoulli", data, draws=100, seed=seed).posterior["theta"].values
        return threading.get_ident(), theta, len(_fits())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpstan.cache, "dump_fit", lambda fit_bytes, name: (dumped_in.append(threading.get_ident()), store(fit_bytes, name)))
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(run, (24, 25)))
    assert sorted(dumped_in) == sorted([ident for ident, *_ in runs for _ in range(4)])  # each run's 4 chains, in its thread
    assert all(left == 0 for *_, left in runs)
    np.testing.assert_array_equal(runs[0][1], run(24)[1])
