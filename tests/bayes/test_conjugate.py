"""Closed-form posteriors against independent truths: numerical integration of prior x likelihood."""

import numpy as np
import pytest
from scipy import integrate, stats

from pp_vae.bayes import BetaBernoulli, NormalKnownVariance, Replications, simulate_predictive_coverage

RNG = np.random.default_rng(20261122)
BETA_CASES = [(float(RNG.uniform(0.5, 6)), float(RNG.uniform(0.5, 6)), RNG.integers(0, 2, size=int(RNG.integers(0, 40)))) for _ in range(8)]
NORMAL_CASES = [
    (
        float(RNG.normal(0, 3)),
        float(RNG.uniform(0.3, 4)),
        float(RNG.uniform(0.3, 4)),
        RNG.normal(RNG.normal(0, 3), 2, size=int(RNG.integers(1, 30))),
    )
    for _ in range(8)
]


def _quad(f, lo, hi, points=None):
    return integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=500, points=points)[0]


@pytest.mark.parametrize("alpha, beta, data", BETA_CASES)
def test_beta_bernoulli_posterior_matches_normalised_prior_times_likelihood(alpha, beta, data):
    model = BetaBernoulli(alpha=alpha, beta=beta)
    posterior = model.posterior(data)
    unnormalised = lambda t: stats.beta.pdf(t, alpha, beta) * model.likelihood(t, data)  # noqa: E731
    evidence = _quad(unnormalised, 0, 1)
    for theta in (0.1, 0.37, 0.5, 0.83):
        assert posterior.pdf(theta) == pytest.approx(unnormalised(theta) / evidence, rel=1e-9)
    posterior_mean = _quad(lambda t: t * unnormalised(t), 0, 1) / evidence
    assert posterior.mean() == pytest.approx(posterior_mean, rel=1e-9)
    assert model.posterior_predictive(data).pmf(1) == pytest.approx(posterior_mean, rel=1e-9)
    assert model.log_evidence(data) == pytest.approx(np.log(evidence), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("prior_mean, prior_sd, noise_sd, data", NORMAL_CASES)
def test_normal_posterior_matches_normalised_prior_times_likelihood(prior_mean, prior_sd, noise_sd, data):
    model = NormalKnownVariance(prior_mean=prior_mean, prior_sd=prior_sd, noise_sd=noise_sd)
    posterior = model.posterior(data)
    centre, width = posterior.mean(), posterior.std()
    lo, hi = centre - 40 * width, centre + 40 * width
    unnormalised = lambda m: stats.norm.pdf(m, prior_mean, prior_sd) * model.likelihood(m, data)  # noqa: E731
    evidence = _quad(unnormalised, lo, hi, points=[centre])
    for z in (-1.5, 0.0, 0.7, 2.0):
        m = centre + z * width
        assert posterior.pdf(m) == pytest.approx(unnormalised(m) / evidence, rel=1e-9)
    assert posterior.mean() == pytest.approx(_quad(lambda m: m * unnormalised(m), lo, hi, [centre]) / evidence, rel=1e-9, abs=1e-12)
    log_evidence = stats.multivariate_normal.logpdf(data, np.full(len(data), prior_mean), noise_sd**2 * np.eye(len(data)) + prior_sd**2)
    assert model.log_evidence(data) == pytest.approx(log_evidence, rel=1e-9)


@pytest.mark.parametrize("prior_mean, prior_sd, noise_sd, data", NORMAL_CASES[:3])
def test_normal_posterior_predictive_is_the_posterior_mixture_of_likelihoods(prior_mean, prior_sd, noise_sd, data):
    model = NormalKnownVariance(prior_mean=prior_mean, prior_sd=prior_sd, noise_sd=noise_sd)
    posterior, predictive = model.posterior(data), model.posterior_predictive(data)
    for y_new in (predictive.mean() - noise_sd, predictive.mean() + 0.3):

        def density(m, y_new=y_new):
            return stats.norm.pdf(y_new, m, noise_sd) * posterior.pdf(m)

        mixture = _quad(density, posterior.ppf(1e-12), posterior.isf(1e-12), [posterior.mean()])
        assert predictive.pdf(y_new) == pytest.approx(mixture, rel=1e-8)


def test_sequential_updating_equals_batch_updating():
    data = RNG.integers(0, 2, size=25)
    sequential = BetaBernoulli(alpha=2.0, beta=2.0)
    for chunk in np.array_split(data, 5):
        sequential = sequential.update(chunk)
    assert sequential == BetaBernoulli(2.0, 2.0).update(data)

    y = RNG.normal(1.0, 2.0, size=17)
    model = NormalKnownVariance(prior_mean=0.5, prior_sd=3.0, noise_sd=2.0)
    step = model
    for value in y:
        step = step.update([value])
    batch = model.update(y)
    assert step.prior_mean == pytest.approx(batch.prior_mean, rel=1e-12)
    assert step.prior_sd == pytest.approx(batch.prior_sd, rel=1e-12)


def test_empty_data_leaves_the_prior_unchanged():
    assert BetaBernoulli(3.0, 4.0).posterior([]).args == (3.0, 4.0)
    assert NormalKnownVariance(1.0, 2.0, 3.0).posterior([]).std() == pytest.approx(2.0)


def test_shrinkage_is_one_without_data_and_fades_with_n():
    model = NormalKnownVariance(prior_mean=0.0, prior_sd=1.0, noise_sd=2.0)
    assert model.shrinkage(0) == 1.0
    assert model.shrinkage(4) == pytest.approx(0.5)  # prior precision 1 = data precision 4 / 4
    weights = [model.shrinkage(n) for n in (1, 10, 100, 1000)]
    assert all(a > b for a, b in zip(weights, weights[1:]))
    y = RNG.normal(3.0, 2.0, size=4)
    assert model.posterior(y).mean() == pytest.approx((1 - 0.5) * y.mean())


def test_replications_are_seeded_shaped_and_centred_on_the_predictive():
    data = np.array([1, 0, 1, 1, 1, 0, 1])
    model = BetaBernoulli()
    first = model.replicate(data, n_replications=4000, seed=7)
    assert isinstance(first, Replications)
    assert first.datasets.shape == (4000, 7) and first.parameters.shape == (4000,)
    np.testing.assert_array_equal(first.datasets, model.replicate(data, n_replications=4000, seed=7).datasets)
    assert set(np.unique(first.datasets)) <= {0, 1}
    # E[y_rep] = E[theta | data]; Monte Carlo sd of the mean of 28,000 flips is below 0.003.
    assert first.datasets.mean() == pytest.approx(model.posterior_predictive(data).mean(), abs=4 * 0.5 / np.sqrt(first.datasets.size))
    normal = NormalKnownVariance(prior_mean=0.0, prior_sd=2.0, noise_sd=1.0)
    reps = normal.replicate([0.5, 1.5, 1.0], n_replications=5000, size=2, seed=1)
    assert reps.datasets.shape == (5000, 2)
    predictive = normal.posterior_predictive([0.5, 1.5, 1.0])
    assert reps.datasets.std() == pytest.approx(predictive.std(), rel=0.05)
    assert reps.parameters.mean() == pytest.approx(normal.posterior([0.5, 1.5, 1.0]).mean(), abs=4 * predictive.std() / np.sqrt(5000))


@pytest.mark.parametrize("prior_mean, prior_sd, noise_sd, data", NORMAL_CASES[:4])
def test_normal_prior_predictive_is_the_prior_mixture_of_likelihoods(prior_mean, prior_sd, noise_sd, data):
    model = NormalKnownVariance(prior_mean=prior_mean, prior_sd=prior_sd, noise_sd=noise_sd)
    y = data[:3]
    # the joint density of the data before seeing any: the likelihood averaged over the prior, by quadrature
    prior = model.prior()
    lo, hi = prior.ppf(1e-13), prior.isf(1e-13)
    mixture = _quad(lambda m: prior.pdf(m) * model.likelihood(m, y), lo, hi, [prior.mean(), float(np.mean(y))])
    assert model.prior_predictive(len(y)).pdf(y) == pytest.approx(mixture, rel=1e-7)
    assert model.prior_predictive(len(y)).logpdf(y) == pytest.approx(model.log_evidence(y), rel=1e-9)
    # the sample mean: a linear map of the joint Normal, 1' Sigma 1 / n^2 = prior_sd^2 + noise_sd^2 / n
    n = len(data)
    mean = model.prior_predictive_mean(n)
    joint = model.prior_predictive(n)
    assert mean.mean() == pytest.approx(prior_mean) and mean.var() == pytest.approx(joint.cov.sum() / n**2, rel=1e-12)


def test_prior_replications_follow_the_prior_predictive():
    model = NormalKnownVariance(prior_mean=1.5, prior_sd=0.7, noise_sd=2.0)
    reps = model.replicate_prior(4, n_replications=20_000, seed=3)
    assert reps.datasets.shape == (20_000, 4) and reps.parameters.shape == (20_000,)
    np.testing.assert_array_equal(reps.datasets, model.replicate_prior(4, n_replications=20_000, seed=3).datasets)
    # draws made the generative way (mu from the prior, then y given mu) against the closed form
    covariance = model.prior_predictive(4).cov
    sample = np.cov(reps.datasets, rowvar=False)
    se = np.sqrt((covariance**2 + np.outer(np.diag(covariance), np.diag(covariance))) / 20_000)  # sd of a sample covariance
    assert np.all(np.abs(sample - covariance) < 5 * se)
    means = reps.datasets.mean(axis=1)
    assert stats.kstest(means, model.prior_predictive_mean(4).cdf).pvalue > 1e-3
    assert abs(reps.parameters.mean() - 1.5) < 5 * 0.7 / np.sqrt(20_000)


def test_bad_prior_predictive_sizes():
    with pytest.raises(ValueError, match="n_obs must be an integer >= 1, got 0"):
        NormalKnownVariance().replicate_prior(0)
    with pytest.raises(ValueError, match="n_obs must be an integer >= 1, got 2.0"):
        NormalKnownVariance().prior_predictive(2.0)
    with pytest.raises(ValueError, match="n_replications must be an integer >= 1, got -1"):
        NormalKnownVariance().replicate_prior(3, n_replications=-1)


def test_plug_in_intervals_undercover_and_posterior_predictive_intervals_do_not():
    coverage = simulate_predictive_coverage(NormalKnownVariance(0.0, 1.0, 1.0), n_obs=3, level=0.9, n_simulations=20_000, seed=3)
    mc_sd = np.sqrt(0.9 * 0.1 / 20_000)
    assert coverage.posterior_predictive == pytest.approx(0.9, abs=4 * mc_sd)
    assert coverage.plug_in == pytest.approx(coverage.plug_in_exact, abs=4 * mc_sd)
    assert coverage.plug_in < 0.9 - 10 * mc_sd


BAD_MODELS = [
    (lambda: BetaBernoulli(alpha=0.0), "alpha", "0.0"),
    (lambda: BetaBernoulli(beta=-2.0), "beta", "-2.0"),
    (lambda: BetaBernoulli(alpha=float("nan")), "alpha", "nan"),
    (lambda: BetaBernoulli(alpha="two"), "alpha", "'two'"),
    (lambda: NormalKnownVariance(prior_sd=0.0), "prior_sd", "0.0"),
    (lambda: NormalKnownVariance(noise_sd=-1.0), "noise_sd", "-1.0"),
    (lambda: NormalKnownVariance(noise_sd=float("inf")), "noise_sd", "inf"),
    (lambda: NormalKnownVariance(prior_mean=float("nan")), "prior_mean", "nan"),
]


@pytest.mark.parametrize("make, argument, value", BAD_MODELS)
def test_bad_hyper_parameters_name_the_argument_and_value(make, argument, value):
    with pytest.raises(ValueError, match=rf"^{argument} .*{value}"):
        make()


BAD_DATA = [
    (BetaBernoulli(), [0, 1, 2], r"data .*value 2 at index 2 is not 0 or 1"),
    (BetaBernoulli(), [1, -1], r"data .*value -1 at index 1"),
    (BetaBernoulli(), [0, 0.5, 1], r"data .*value 0.5 at index 1 is not an integer"),
    (BetaBernoulli(), [1, float("nan")], r"data must be finite, got nan at index 1"),
    (BetaBernoulli(), [[0, 1], [1, 0]], r"data must be one-dimensional, got shape \(2, 2\)"),
    (BetaBernoulli(), ["heads", "tails"], r"data must contain real numbers, got 'heads'"),
    (NormalKnownVariance(), [0.3, float("nan")], r"data must be finite, got nan at index 1"),
    (NormalKnownVariance(), [1.0, float("-inf")], r"data must be finite, got -inf at index 1"),
]


@pytest.mark.parametrize("model, data, message", BAD_DATA)
def test_bad_data_names_the_field_and_value(model, data, message):
    for method in (model.posterior, model.posterior_predictive, model.update, model.log_evidence):
        with pytest.raises(ValueError, match=message):
            method(data)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_replications": 0}, "n_replications must be an integer >= 1, got 0"),
        ({"size": 2.5}, "size must be an integer >= 1, got 2.5"),
    ],
)
def test_bad_replication_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BetaBernoulli().replicate([0, 1], **kwargs)


def test_bad_coverage_arguments():
    with pytest.raises(ValueError, match="level must lie strictly between 0 and 1, got 1.5"):
        simulate_predictive_coverage(NormalKnownVariance(), n_obs=3, level=1.5)
    with pytest.raises(ValueError, match="n_obs must be an integer >= 1, got 0"):
        simulate_predictive_coverage(NormalKnownVariance(), n_obs=0)
