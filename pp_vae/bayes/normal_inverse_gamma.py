"""Normal data with unknown mean *and* variance (lecture 1): the Normal-Inverse-Gamma posterior and its Student-t prediction.

The model: ``sigma^2 ~ InvGamma(alpha0, beta0)``, ``mu | sigma^2 ~ Normal(mu0, sigma^2 / kappa0)``, ``y_i ~ Normal(mu,
sigma^2)``. The posterior is again Normal-Inverse-Gamma (``kappa0`` counts the prior's pseudo-observations of
the mean, ``2 alpha0`` those of the variance), and a new observation's posterior predictive is a Student-t:
not knowing ``sigma`` fattens the tails (Murphy 2007, "Conjugate Bayesian analysis of the Gaussian
distribution", section 3).

Three ways to predict the next observation are compared by their frequentist coverage:

* the **plug-in** ``Normal(ybar, sigma_hat)`` with the maximum-likelihood ``sigma_hat``: ignores that both are estimated;
* the **frequentist prediction interval** ``ybar +- t_{n-1} s sqrt(1 + 1/n)``: exact at every ``(mu, sigma)``;
  it is also the Bayesian predictive under the reference (independence-Jeffreys) prior ``p(mu, sigma^2) ~ 1 / sigma^2``;
* the **Bayesian** NIG predictive with a proper prior: exact on average over the prior, close to
  nominal at a fixed ``(mu, sigma)`` once the data outweigh the prior.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import special, stats

from pp_vae.bayes.conjugate import ContinuousDistribution, SeedLike, _rng
from pp_vae.validation import finite_scalar, finite_vector, integer_at_least, positive_scalar


def _level(level: Any) -> float:
    if not 0 < finite_scalar("level", level) < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(level)


def _summaries(data: Any, at_least: int = 0) -> tuple[int, float, float]:
    """``(n, ybar, sum of squared deviations)`` of validated ``data``."""
    y = finite_vector("data", data)
    if y.size < at_least:
        raise ValueError(f"data must hold at least {at_least} observations to estimate a variance, got {y.size}")
    if y.size == 0:
        return 0, 0.0, 0.0
    mean = float(y.mean())
    return int(y.size), mean, float(((y - mean) ** 2).sum())


def _updated(model: NormalInverseGamma, n: int, ybar: Any, ss: Any) -> tuple[Any, float, float, Any]:
    """The posterior's ``(mu_n, kappa_n, alpha_n, beta_n)`` from the data's summaries (arrays of ``ybar``, ``ss`` allowed)."""
    kappa = model.kappa0 + n
    mu = (model.kappa0 * model.mu0 + n * ybar) / kappa
    beta = model.beta0 + ss / 2 + model.kappa0 * n * (ybar - model.mu0) ** 2 / (2 * kappa)
    return mu, kappa, model.alpha0 + n / 2, beta


def _half_width(kappa: float, alpha: float, beta: Any, level: float) -> Any:
    """Half the central ``level`` interval of the predictive ``t_{2 alpha}(., sqrt(beta (kappa + 1) / (alpha kappa)))``."""
    return stats.t.ppf(0.5 + level / 2, 2 * alpha) * np.sqrt(beta * (kappa + 1) / (alpha * kappa))


@dataclass(frozen=True)
class NormalInverseGamma:
    """``NIG(mu0, kappa0, alpha0, beta0)`` prior on the mean and variance of Normal data; conjugate, so the posterior is one too.

    ``mu0`` is the prior guess of the mean, worth ``kappa0`` observations; the variance's prior is
    ``InvGamma(alpha0, beta0)``, worth ``2 alpha0`` observations with sum of squares ``2 beta0``.
    """

    mu0: float = 0.0
    kappa0: float = 1.0
    alpha0: float = 1.0
    beta0: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu0", finite_scalar("mu0", self.mu0))
        for name in ("kappa0", "alpha0", "beta0"):
            object.__setattr__(self, name, positive_scalar(name, getattr(self, name)))

    def posterior(self, data: Any) -> NormalInverseGamma:
        """The updated hyper-parameters given ``data``: ``kappa_n = kappa0 + n``, ``mu_n`` the weighted mean, ``alpha_n = alpha0 + n/2``,

        ``beta_n = beta0 + SS / 2 + kappa0 n (ybar - mu0)^2 / (2 kappa_n)``: the spread within the data
        plus the disagreement between the data's mean and the prior's guess.
        """
        mu, kappa, alpha, beta = _updated(self, *_summaries(data))
        return NormalInverseGamma(mu0=mu, kappa0=kappa, alpha0=alpha, beta0=beta)

    def variance_marginal(self) -> ContinuousDistribution:
        """The distribution of ``sigma^2``: ``InvGamma(alpha0, scale=beta0)``."""
        return stats.invgamma(self.alpha0, scale=self.beta0)

    def mean_marginal(self) -> ContinuousDistribution:
        """The distribution of ``mu`` with ``sigma^2`` integrated out: Student-t, ``2 alpha0`` degrees of freedom."""
        return stats.t(2 * self.alpha0, loc=self.mu0, scale=np.sqrt(self.beta0 / (self.alpha0 * self.kappa0)))

    def predictive(self) -> ContinuousDistribution:
        """One new observation under these hyper-parameters: ``t_{2 alpha}(mu, sqrt(beta (kappa + 1) / (alpha kappa)))``."""
        scale = np.sqrt(self.beta0 * (self.kappa0 + 1) / (self.alpha0 * self.kappa0))
        return stats.t(2 * self.alpha0, loc=self.mu0, scale=scale)

    def posterior_predictive(self, data: Any) -> ContinuousDistribution:
        """Distribution of one new observation given ``data``: a frozen ``scipy.stats.t``."""
        return self.posterior(data).predictive()

    def log_density(self, mu: Any, sigma2: Any) -> np.ndarray:
        """``log NIG(mu, sigma2)``: ``log Normal(mu; mu0, sigma2 / kappa0) + log InvGamma(sigma2; alpha0, beta0)``."""
        mu, sigma2 = np.asarray(mu, dtype=float), np.asarray(sigma2, dtype=float)
        return stats.norm.logpdf(mu, self.mu0, np.sqrt(sigma2 / self.kappa0)) + stats.invgamma.logpdf(sigma2, self.alpha0, scale=self.beta0)

    def log_likelihood(self, mu: Any, sigma2: Any, data: Any) -> np.ndarray:
        """``sum_i log Normal(y_i; mu, sigma2)`` at each ``(mu, sigma2)``."""
        y = finite_vector("data", data)
        mu, sigma2 = np.asarray(mu, dtype=float)[..., None], np.asarray(sigma2, dtype=float)[..., None]
        return stats.norm.logpdf(y, mu, np.sqrt(sigma2)).sum(-1)

    def log_evidence(self, data: Any) -> float:
        """``log p(data)``, in closed form.

        ``log Gamma(alpha_n) / Gamma(alpha0) + alpha0 log beta0 - alpha_n log beta_n + log(kappa0 / kappa_n) / 2 - n log(2 pi) / 2``.
        """
        n = finite_vector("data", data).size
        post = self.posterior(data)
        return float(
            special.gammaln(post.alpha0)
            - special.gammaln(self.alpha0)
            + self.alpha0 * np.log(self.beta0)
            - post.alpha0 * np.log(post.beta0)
            + 0.5 * np.log(self.kappa0 / post.kappa0)
            - 0.5 * n * np.log(2 * np.pi)
        )

    def sample(self, size: int, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``size`` draws of ``(mu, sigma2)`` from this distribution."""
        rng = _rng(seed)
        sigma2 = stats.invgamma.rvs(self.alpha0, scale=self.beta0, size=integer_at_least("size", size), random_state=rng)
        return rng.normal(self.mu0, np.sqrt(sigma2 / self.kappa0)), sigma2


def plug_in_predictive(data: Any) -> ContinuousDistribution:
    """``Normal(ybar, sigma_hat)`` with the maximum-likelihood ``sigma_hat = sqrt(SS / n)``: treats the estimates as the truth."""
    n, ybar, ss = _summaries(data, at_least=2)
    return stats.norm(ybar, np.sqrt(ss / n))


def frequentist_predictive(data: Any) -> ContinuousDistribution:
    """``t_{n-1}(ybar, s sqrt(1 + 1/n))``: its central intervals are the classical prediction intervals ``ybar +- t s sqrt(1 + 1/n)``.

    The same distribution is the Bayesian predictive under the reference (independence-Jeffreys) prior ``p(mu, sigma^2) ~ 1 / sigma^2``
    (the NIG's limit ``kappa0 -> 0``, ``alpha0 -> -1/2``, ``beta0 -> 0``).
    """
    n, ybar, ss = _summaries(data, at_least=2)
    s = np.sqrt(ss / (n - 1))
    return stats.t(n - 1, loc=ybar, scale=s * np.sqrt(1 + 1 / n))


def plug_in_coverage(n_obs: int, level: float = 0.9) -> float:
    """Exact coverage of the plug-in interval ``ybar +- z sigma_hat``: ``2 F_{t, n-1}(z sqrt((n - 1)/(n + 1))) - 1`` at any ``(mu, sigma)``.

    ``(y_new - ybar) / (s sqrt(1 + 1/n))`` is Student-t with ``n - 1`` degrees of freedom and ``sigma_hat = s sqrt((n-1)/n)``.
    """
    n = integer_at_least("n_obs", n_obs, 2)
    z = stats.norm.ppf(0.5 + _level(level) / 2)
    return float(2 * stats.t.cdf(z * np.sqrt((n - 1) / (n + 1)), n - 1) - 1)


def bayes_coverage(model: NormalInverseGamma, n_obs: int, true_mean: float, true_sd: float, level: float = 0.9, nodes: int = 96) -> float:
    """Exact frequentist coverage of ``model``'s central posterior predictive interval at fixed ``(true_mean, true_sd)``.

    The interval depends on the data only through ``ybar ~ Normal(mu, sigma^2 / n)`` and ``SS ~ sigma^2 chi^2_{n-1}``
    (independent), so the coverage ``E[Phi((hi - mu)/sigma) - Phi((lo - mu)/sigma)]`` is a 2-D integral:
    Gauss-Hermite nodes for ``ybar`` and generalised Gauss-Laguerre nodes for ``SS``.
    """
    n = integer_at_least("n_obs", n_obs, 2)
    mu, sigma = finite_scalar("true_mean", true_mean), positive_scalar("true_sd", true_sd)
    level = _level(level)
    g, g_weights = special.roots_hermitenorm(nodes)
    g_weights = g_weights / np.sqrt(2 * np.pi)
    shape = (n - 1) / 2  # SS / (2 sigma^2) ~ Gamma(shape, 1)
    u, u_weights = special.roots_genlaguerre(nodes, shape - 1)
    u_weights = u_weights / special.gamma(shape)
    ybar = (mu + sigma / np.sqrt(n) * g)[:, None]
    ss = (2 * sigma**2 * u)[None, :]
    centre, kappa, alpha, beta = _updated(model, n, ybar, ss)
    half = _half_width(kappa, alpha, beta, level)
    covered = stats.norm.cdf((centre + half - mu) / sigma) - stats.norm.cdf((centre - half - mu) / sigma)
    return float(g_weights @ covered @ u_weights)


class IntervalCoverage(NamedTuple):
    """How often three central prediction intervals held the next observation, simulated and exact."""

    plug_in: float
    """Simulated coverage of ``ybar +- z sigma_hat``."""
    frequentist: float
    """Simulated coverage of ``ybar +- t_{n-1} s sqrt(1 + 1/n)`` (= the reference-prior Bayesian interval)."""
    bayes: float
    """Simulated coverage of the NIG posterior predictive interval."""
    plug_in_exact: float
    frequentist_exact: float
    """``level``: exact at every ``(mu, sigma)``."""
    bayes_exact: float
    """By quadrature at a fixed ``(mu, sigma)``; ``level`` when the parameters are drawn from the prior."""
    n_simulations: int

    def standard_error(self, coverage: float) -> float:
        """Monte Carlo standard error of a simulated coverage: ``sqrt(c (1 - c) / n_simulations)``."""
        return float(np.sqrt(coverage * (1 - coverage) / self.n_simulations))


def simulate_interval_coverage(
    model: NormalInverseGamma,
    n_obs: int,
    level: float = 0.9,
    true_mean: float | None = None,
    true_sd: float | None = None,
    n_simulations: int = 20_000,
    seed: SeedLike = None,
) -> IntervalCoverage:
    """Simulate the coverage of the plug-in, frequentist and Bayesian (``model``) prediction intervals of the next observation.

    Each simulated world draws ``n_obs`` observations and one new one from ``Normal(true_mean, true_sd)``:
    *frequentist* coverage, at fixed parameters. Leave both ``None`` to draw ``(mu, sigma^2)`` from
    ``model``'s prior in each world instead: the Bayesian's own promise, kept exactly by the NIG interval.
    """
    n = integer_at_least("n_obs", n_obs, 2)
    level = _level(level)
    sims = integer_at_least("n_simulations", n_simulations)
    if (true_mean is None) != (true_sd is None):
        raise ValueError("give both true_mean and true_sd (fixed parameters) or neither (parameters drawn from the prior)")
    rng = _rng(seed)
    if true_mean is None or true_sd is None:
        mu, sigma2 = model.sample(sims, seed=rng)
        sigma = np.sqrt(sigma2)
        bayes_exact = level
    else:
        mu, sigma = np.full(sims, finite_scalar("true_mean", true_mean)), np.full(sims, positive_scalar("true_sd", true_sd))
        bayes_exact = bayes_coverage(model, n, float(mu[0]), float(sigma[0]), level)
    y = rng.normal(mu[:, None], sigma[:, None], size=(sims, n))
    y_new = rng.normal(mu, sigma)
    ybar = y.mean(1)
    ss = ((y - ybar[:, None]) ** 2).sum(1)
    miss = np.abs(y_new - ybar)

    plug_in = miss <= stats.norm.ppf(0.5 + level / 2) * np.sqrt(ss / n)
    frequentist = miss <= stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt(ss / (n - 1) * (1 + 1 / n))
    centre, kappa, alpha, beta = _updated(model, n, ybar, ss)
    bayes = np.abs(y_new - centre) <= _half_width(kappa, alpha, beta, level)
    return IntervalCoverage(
        float(plug_in.mean()),
        float(frequentist.mean()),
        float(bayes.mean()),
        plug_in_coverage(n, level),
        level,
        bayes_exact,
        sims,
    )
