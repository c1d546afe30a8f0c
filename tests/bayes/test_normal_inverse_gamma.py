"""The Normal-Inverse-Gamma model against numerical integration, and prediction intervals against their exact coverage."""

import numpy as np
import pytest
from scipy import stats

from pp_vae.bayes import (
    NormalInverseGamma,
    bayes_coverage,
    frequentist_predictive,
    plug_in_coverage,
    plug_in_predictive,
    simulate_interval_coverage,
)

RNG = np.random.default_rng(16)
CASES = [
    (NormalInverseGamma(), RNG.normal(1.0, 2.0, size=4)),
    (NormalInverseGamma(mu0=-1.0, kappa0=0.5, alpha0=2.5, beta0=3.0), RNG.normal(0.5, 0.7, size=9)),
    (NormalInverseGamma(mu0=3.0, kappa0=4.0, alpha0=1.5, beta0=0.5), RNG.normal(2.0, 1.5, size=2)),
]


def _grid(lo, hi, nodes=300):
    x, w = np.polynomial.legendre.leggauss(nodes)
    return (hi - lo) / 2 * x + (hi + lo) / 2, (hi - lo) / 2 * w


def _integrate(f, log_target, centre, kappa, log_sigma2_box):
    """``int int f(mu, sigma2) exp(log_target(mu, sigma2)) dmu dsigma2`` by Gauss-Legendre nodes.

    In ``log sigma2`` over the box, and in ``mu = centre + u sqrt(sigma2 / kappa)`` for ``|u| < 14``: a change of
    variables that keeps the nodes on ``mu``'s scale at every ``sigma2`` (the integrand itself is untouched).
    """
    u, w_u = _grid(-14.0, 14.0)
    log_s2, w_s2 = _grid(*log_sigma2_box)
    s2 = np.exp(log_s2)[None, :]
    width = np.sqrt(s2 / kappa)
    mu = centre + u[:, None] * width
    values = f(mu, s2) * np.exp(log_target(mu, s2)) * width * s2  # dmu = width du, dsigma2 = sigma2 dlog sigma2
    return float(w_u @ values @ w_s2)


def _posterior_box(model, data):
    post = model.posterior(data)
    return post.mu0, post.kappa0, np.log(post.variance_marginal().ppf([1e-14, 1 - 1e-13]))


def _prior_times_likelihood(model, data):
    return lambda mu, s2: model.log_density(mu, s2) + model.log_likelihood(mu, s2, data)


@pytest.mark.parametrize("model, data", CASES)
def test_posterior_and_evidence_match_prior_times_likelihood_integrated(model, data):
    target, box = _prior_times_likelihood(model, data), _posterior_box(model, data)
    evidence = _integrate(lambda mu, s2: 1.0, target, *box)
    assert model.log_evidence(data) == pytest.approx(np.log(evidence), rel=1e-7)
    post = model.posterior(data)
    for mu, sigma2 in [(post.mu0, post.variance_marginal().median()), (post.mu0 + 0.3, 0.8)]:
        unnormalised = np.exp(model.log_density(mu, sigma2) + model.log_likelihood(mu, sigma2, data))
        assert np.exp(post.log_density(mu, sigma2)) == pytest.approx(unnormalised / evidence, rel=1e-7)
    mean_mu = _integrate(lambda mu, s2: mu, target, *box) / evidence
    assert post.mean_marginal().mean() == pytest.approx(mean_mu, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("model, data", CASES[:2])
def test_posterior_predictive_is_the_student_t_mixture_of_normals(model, data):
    predictive = model.posterior_predictive(data)
    target, box = _prior_times_likelihood(model, data), _posterior_box(model, data)
    evidence = _integrate(lambda mu, s2: 1.0, target, *box)
    for y_new in (predictive.mean(), predictive.mean() + 2 * predictive.std()):
        mixture = _integrate(lambda mu, s2, y=y_new: stats.norm.pdf(y, mu, np.sqrt(s2)), target, *box) / evidence
        assert predictive.pdf(y_new) == pytest.approx(mixture, rel=1e-6)
    assert predictive.dist.name == "t" and predictive.args[0] == pytest.approx(2 * model.alpha0 + len(data))


def test_sequential_updating_equals_batch_updating():
    data = RNG.normal(0.0, 1.0, size=12)
    model, step = NormalInverseGamma(mu0=0.5, kappa0=2.0, alpha0=3.0, beta0=2.0), None
    step = model
    for chunk in np.array_split(data, 4):
        step = step.posterior(chunk)
    batch = model.posterior(data)
    for name in ("mu0", "kappa0", "alpha0", "beta0"):
        assert getattr(step, name) == pytest.approx(getattr(batch, name), rel=1e-12)
    assert model.posterior([]) == model


def test_frequentist_predictive_is_the_reference_prior_posterior_predictive():
    """Under ``p(mu, sigma^2) ~ 1/sigma^2`` the predictive, integrated numerically, is ``t_{n-1}(ybar, s sqrt(1 + 1/n))``."""
    data = np.array([1.3, -0.4, 2.2, 0.9, 0.1])
    n, ybar, s = data.size, data.mean(), data.std(ddof=1)

    def jeffreys(mu, sigma2):  # log of likelihood x 1 / sigma^2
        return stats.norm.logpdf(data, mu[..., None], np.sqrt(sigma2)[..., None]).sum(-1) - np.log(sigma2)

    box = (ybar, n, (np.log(s**2) - 12, np.log(s**2) + 14))
    evidence = _integrate(lambda mu, s2: 1.0, jeffreys, *box)
    predictive = frequentist_predictive(data)
    for y_new in (ybar, ybar + 1.7):
        numeric = _integrate(lambda mu, s2, y=y_new: stats.norm.pdf(y, mu, np.sqrt(s2)), jeffreys, *box) / evidence
        assert predictive.pdf(y_new) == pytest.approx(numeric, rel=1e-7)
    lo, hi = predictive.interval(0.95)
    assert hi - ybar == pytest.approx(stats.t.ppf(0.975, n - 1) * s * np.sqrt(1 + 1 / n), rel=1e-12)
    assert plug_in_predictive(data).std() == pytest.approx(data.std(ddof=0), rel=1e-12)


def test_bayes_coverage_quadrature_matches_the_intervals_integrated_over_the_sampling_distribution():
    """Hermite-Laguerre nodes against Legendre nodes on ``(ybar, sqrt(SS))``, each node's interval from ``posterior(data)``."""
    model, n, mu, sigma, level = NormalInverseGamma(mu0=0.5, kappa0=2.0, alpha0=2.0, beta0=1.0), 4, 1.0, 1.5, 0.8
    ybars, w_ybar = _grid(mu - 9 * sigma / np.sqrt(n), mu + 9 * sigma / np.sqrt(n), 60)
    roots, w_root = _grid(0.0, 7 * sigma, 60)  # root = sqrt(SS); SS / sigma^2 ~ chi^2_{n-1}
    total = 0.0
    for ybar, wy in zip(ybars, w_ybar):
        for root, wr in zip(roots, w_root):
            a = root / np.sqrt(2)
            lo, hi = model.posterior([ybar + a, ybar - a, ybar, ybar]).predictive().interval(level)  # mean ybar, SS root^2
            density = stats.norm.pdf(ybar, mu, sigma / np.sqrt(n)) * stats.chi2.pdf(root**2 / sigma**2, n - 1) * 2 * root / sigma**2
            total += wy * wr * density * (stats.norm.cdf(hi, mu, sigma) - stats.norm.cdf(lo, mu, sigma))
    assert bayes_coverage(model, n, mu, sigma, level) == pytest.approx(total, abs=1e-6)


@pytest.mark.parametrize("n_obs, true_mean, true_sd", [(2, 0.0, 1.0), (3, 5.0, 1.0), (5, 0.0, 5.0), (30, 0.0, 0.2)])
def test_simulated_coverage_matches_the_exact_values(n_obs, true_mean, true_sd):
    c = simulate_interval_coverage(NormalInverseGamma(), n_obs, 0.9, true_mean, true_sd, n_simulations=40_000, seed=n_obs)
    for simulated, exact in [(c.plug_in, c.plug_in_exact), (c.frequentist, c.frequentist_exact), (c.bayes, c.bayes_exact)]:
        assert abs(simulated - exact) < 5 * np.sqrt(exact * (1 - exact) / c.n_simulations) + 1e-4
    assert c.frequentist_exact == 0.9
    assert c.plug_in_exact < 0.9 - (0.05 if n_obs < 10 else 0.01)  # the plug-in interval is too short, most at small n


def test_plug_in_coverage_closed_form_limits():
    assert plug_in_coverage(2, 0.9) == pytest.approx(2 * (0.5 + np.arctan(stats.norm.ppf(0.95) / np.sqrt(3)) / np.pi) - 1)
    assert plug_in_coverage(10_000, 0.9) == pytest.approx(0.9, abs=1e-3)


def test_bayes_interval_covers_at_the_nominal_level_averaged_over_its_prior():
    model = NormalInverseGamma(mu0=1.0, kappa0=0.5, alpha0=3.0, beta0=2.0)
    c = simulate_interval_coverage(model, 3, 0.8, n_simulations=40_000, seed=5)
    assert c.bayes_exact == 0.8
    assert abs(c.bayes - 0.8) < 5 * c.standard_error(0.8)
    # at one fixed truth far from the prior's guess it does not
    fixed = bayes_coverage(model, 3, true_mean=1.0, true_sd=4.0, level=0.8)
    assert fixed < 0.8 - 0.05


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: NormalInverseGamma(kappa0=0.0), r"^kappa0 must be positive, got 0.0"),
        (lambda: NormalInverseGamma(alpha0=-1.0), r"^alpha0 must be positive, got -1.0"),
        (lambda: NormalInverseGamma(beta0=float("nan")), r"^beta0 must be finite, got nan"),
        (lambda: NormalInverseGamma(mu0="zero"), r"^mu0 must be a real number, got 'zero'"),
        (lambda: NormalInverseGamma().posterior([1.0, float("inf")]), r"data must be finite, got inf at index 1"),
        (lambda: NormalInverseGamma().posterior_predictive([[1.0, 2.0]]), r"data must be one-dimensional, got shape \(1, 2\)"),
        (lambda: NormalInverseGamma().log_evidence(["a"]), r"data must contain real numbers, got 'a'"),
        (lambda: frequentist_predictive([1.0]), r"data must hold at least 2 observations to estimate a variance, got 1"),
        (lambda: plug_in_coverage(1), r"n_obs must be an integer >= 2, got 1"),
        (lambda: simulate_interval_coverage(NormalInverseGamma(), 3, level=1.0), r"level must lie strictly between 0 and 1, got 1.0"),
        (lambda: simulate_interval_coverage(NormalInverseGamma(), 3, true_mean=0.0), r"give both true_mean and true_sd"),
        (lambda: bayes_coverage(NormalInverseGamma(), 3, 0.0, -1.0), r"true_sd must be positive, got -1.0"),
    ],
)
def test_bad_input_names_the_argument_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()
