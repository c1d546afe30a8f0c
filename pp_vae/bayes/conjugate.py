"""Closed-form (conjugate) posteriors of lecture 1, returned as ``scipy.stats`` frozen distributions.

Two models, each a small immutable object holding its prior:

* :class:`BetaBernoulli` -- a coin's bias ``theta ~ Beta(alpha, beta)``, flips ``y_i ~ Bernoulli(theta)``.
* :class:`NormalKnownVariance` -- a mean ``mu ~ Normal(prior_mean, prior_sd)``, observations
  ``y_i ~ Normal(mu, noise_sd)`` with ``noise_sd`` known.

Both offer ``posterior(data)``, ``posterior_predictive(data)`` (the distribution of one new
observation), ``update(data)`` (the posterior as a new prior, so sequential updating can be
compared with batch updating), ``log_evidence(data)`` and seeded ``replicate(...)``; the Normal model also
its prior predictive (``prior_predictive``, ``prior_predictive_mean``, ``replicate_prior``) for a prior predictive check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
from scipy import special, stats

from pp_vae.validation import binary_vector, finite_scalar, finite_vector, integer_at_least, positive_scalar

SeedLike = int | np.random.Generator | None


class FrozenDistribution(Protocol):
    """What the course uses of a frozen ``scipy.stats`` distribution (``stats.beta(9, 5)``, ``stats.norm(0, 1)``)."""

    def mean(self) -> float: ...  # noqa: D102

    def std(self) -> float: ...  # noqa: D102

    def ppf(self, q: Any) -> Any: ...  # noqa: D102

    def rvs(self, size: Any = None, random_state: Any = None) -> Any: ...  # noqa: D102


class ContinuousDistribution(FrozenDistribution, Protocol):
    """A frozen continuous ``scipy.stats`` distribution: it has a density."""

    def pdf(self, x: Any) -> Any: ...  # noqa: D102

    def logpdf(self, x: Any) -> Any: ...  # noqa: D102


class Replications(NamedTuple):
    """Replications: a parameter drawn from the posterior (or, for a prior predictive check, the prior), then a dataset given it."""

    parameters: np.ndarray
    """One parameter draw per replication, shape ``(n_replications,)``."""
    datasets: np.ndarray
    """One replicated dataset per row, shape ``(n_replications, size)``."""


def _rng(seed: SeedLike) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _replication_shape(n_replications: Any, size: Any, default_size: int) -> tuple[int, int]:
    size = default_size if size is None else integer_at_least("size", size)
    return integer_at_least("n_replications", n_replications), size


@dataclass(frozen=True)
class BetaBernoulli:
    """Beta prior on a Bernoulli probability; the posterior after ``k`` ones in ``n`` is ``Beta(alpha + k, beta + n - k)``."""

    alpha: float = 2.0
    beta: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", positive_scalar("alpha", self.alpha))
        object.__setattr__(self, "beta", positive_scalar("beta", self.beta))

    def prior(self) -> ContinuousDistribution:
        """The prior ``Beta(alpha, beta)`` on ``theta``."""
        return stats.beta(self.alpha, self.beta)

    def counts(self, data: Any) -> tuple[int, int]:
        """Number of ones and of zeros in ``data`` (validated 0/1 outcomes)."""
        y = binary_vector("data", data)
        ones = int(y.sum())
        return ones, int(y.size - ones)

    def update(self, data: Any) -> BetaBernoulli:
        """The model whose prior is this model's posterior given ``data``."""
        ones, zeros = self.counts(data)
        return BetaBernoulli(alpha=self.alpha + ones, beta=self.beta + zeros)

    def posterior(self, data: Any) -> ContinuousDistribution:
        """Posterior of ``theta`` given 0/1 ``data``: a frozen ``scipy.stats.beta``."""
        return self.update(data).prior()

    def posterior_predictive(self, data: Any) -> FrozenDistribution:
        """Distribution of one new outcome: ``Bernoulli(E[theta | data])``, a frozen ``scipy.stats.bernoulli``."""
        return stats.bernoulli(self.posterior(data).mean())

    def likelihood(self, theta: Any, data: Any) -> np.ndarray:
        """Likelihood ``theta^k (1 - theta)^(n - k)`` of ``data`` at each value of ``theta``."""
        ones, zeros = self.counts(data)
        theta = np.asarray(theta, dtype=float)
        return np.exp(special.xlogy(ones, theta) + special.xlog1py(zeros, -theta))

    def log_evidence(self, data: Any) -> float:
        """Log marginal likelihood ``log p(data) = log B(alpha + k, beta + n - k) - log B(alpha, beta)``."""
        ones, zeros = self.counts(data)
        return float(special.betaln(self.alpha + ones, self.beta + zeros) - special.betaln(self.alpha, self.beta))

    def replicate(self, data: Any, n_replications: int = 1000, size: int | None = None, seed: SeedLike = None) -> Replications:
        """Draw ``theta`` from the posterior, then a dataset of ``size`` flips (default: as many as observed)."""
        n, size = _replication_shape(n_replications, size, len(binary_vector("data", data)))
        rng = _rng(seed)
        theta = self.posterior(data).rvs(size=n, random_state=rng)
        datasets = (rng.random((n, size)) < theta[:, None]).astype(int)
        return Replications(theta, datasets)


@dataclass(frozen=True)
class NormalKnownVariance:
    """Normal prior on the mean of Normal data whose standard deviation ``noise_sd`` is known."""

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    noise_sd: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "prior_mean", finite_scalar("prior_mean", self.prior_mean))
        object.__setattr__(self, "prior_sd", positive_scalar("prior_sd", self.prior_sd))
        object.__setattr__(self, "noise_sd", positive_scalar("noise_sd", self.noise_sd))

    def prior(self) -> ContinuousDistribution:
        """The prior ``Normal(prior_mean, prior_sd)`` on ``mu``."""
        return stats.norm(self.prior_mean, self.prior_sd)

    def shrinkage(self, n: int) -> float:
        """Weight the posterior mean puts on the prior mean after ``n`` observations (1 at n = 0, to 0 as n grows)."""
        prior_precision = self.prior_sd**-2
        return prior_precision / (prior_precision + n * self.noise_sd**-2)

    def update(self, data: Any) -> NormalKnownVariance:
        """The model whose prior is this model's posterior given ``data`` (precisions add)."""
        y = finite_vector("data", data)
        precision = self.prior_sd**-2 + y.size * self.noise_sd**-2
        mean = (self.prior_mean * self.prior_sd**-2 + y.sum() * self.noise_sd**-2) / precision
        return NormalKnownVariance(prior_mean=float(mean), prior_sd=float(precision**-0.5), noise_sd=self.noise_sd)

    def posterior(self, data: Any) -> ContinuousDistribution:
        """Posterior of ``mu`` given ``data``: a frozen ``scipy.stats.norm``."""
        return self.update(data).prior()

    def posterior_predictive(self, data: Any) -> ContinuousDistribution:
        """Distribution of one new observation: ``Normal(posterior mean, sqrt(posterior var + noise_sd^2))``."""
        posterior = self.posterior(data)
        return stats.norm(posterior.mean(), np.hypot(posterior.std(), self.noise_sd))

    def likelihood(self, mu: Any, data: Any) -> np.ndarray:
        """Likelihood of ``data`` at each value of ``mu``."""
        y = finite_vector("data", data)
        mu = np.asarray(mu, dtype=float)
        return np.exp(stats.norm.logpdf(y, mu[..., None], self.noise_sd).sum(axis=-1))

    def log_evidence(self, data: Any) -> float:
        """Log marginal likelihood, by the chain rule ``sum_i log p(y_i | y_<i)`` of one-step predictives."""
        y = finite_vector("data", data)
        model, total = self, 0.0
        for value in y:
            total += float(model.posterior_predictive([]).logpdf(value))
            model = model.update([value])
        return total

    def prior_predictive(self, n_obs: int) -> Any:
        """Joint distribution of ``n_obs`` observations before any data: a frozen ``scipy.stats.multivariate_normal``.

        Its mean is ``prior_mean`` and its covariance ``noise_sd^2 I + prior_sd^2``: the observations share ``mu``, so every
        pair covaries by ``prior_sd^2``.
        """
        n = integer_at_least("n_obs", n_obs)
        covariance = self.noise_sd**2 * np.eye(n) + self.prior_sd**2
        return stats.multivariate_normal(np.full(n, self.prior_mean), covariance)

    def prior_predictive_mean(self, n_obs: int) -> ContinuousDistribution:
        """The sample mean of ``n_obs`` prior-predictive observations: ``Normal(prior_mean, sqrt(prior_sd^2 + noise_sd^2 / n))``."""
        n = integer_at_least("n_obs", n_obs)
        return stats.norm(self.prior_mean, np.sqrt(self.prior_sd**2 + self.noise_sd**2 / n))

    def replicate_prior(self, n_obs: int, n_replications: int = 1000, seed: SeedLike = None) -> Replications:
        """Prior predictive replications: draw ``mu`` from the prior, then a dataset of ``n_obs`` observations given it."""
        n, size = _replication_shape(n_replications, integer_at_least("n_obs", n_obs), 1)
        rng = _rng(seed)
        mu = self.prior().rvs(size=n, random_state=rng)
        return Replications(mu, rng.normal(mu[:, None], self.noise_sd, size=(n, size)))

    def replicate(self, data: Any, n_replications: int = 1000, size: int | None = None, seed: SeedLike = None) -> Replications:
        """Draw ``mu`` from the posterior, then a dataset of ``size`` observations (default: as many as observed)."""
        n, size = _replication_shape(n_replications, size, len(finite_vector("data", data)))
        rng = _rng(seed)
        mu = self.posterior(data).rvs(size=n, random_state=rng)
        datasets = rng.normal(mu[:, None], self.noise_sd, size=(n, size))
        return Replications(mu, datasets)


class Coverage(NamedTuple):
    """How often a predictive interval held the next observation, over simulated worlds."""

    plug_in: float
    """Coverage of ``sample mean +- z * noise_sd``: ignores the uncertainty about ``mu``."""
    posterior_predictive: float
    """Coverage of the posterior predictive interval, which adds the posterior's variance."""
    plug_in_exact: float
    """The plug-in coverage in closed form, ``2 Phi(z / sqrt(1 + 1/n)) - 1``."""
    n_simulations: int


def simulate_predictive_coverage(
    model: NormalKnownVariance, n_obs: int, level: float = 0.9, n_simulations: int = 20_000, seed: SeedLike = None
) -> Coverage:
    """Simulate the coverage of plug-in vs posterior predictive intervals for the next observation.

    Each simulated world draws ``mu`` from the prior, ``n_obs`` observations and one new one. The
    posterior predictive interval covers at the nominal ``level`` (the model is right by
    construction); plugging in the sample mean as if it were ``mu`` gives an interval that is
    too narrow, by a factor ``sqrt(1 + 1/n)`` in standard deviation.
    """
    integer_at_least("n_obs", n_obs)
    if not 0 < finite_scalar("level", level) < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    _replication_shape(n_simulations, None, 1)
    rng = _rng(seed)
    z = stats.norm.ppf(0.5 + level / 2)
    mu = rng.normal(model.prior_mean, model.prior_sd, size=n_simulations)
    y = rng.normal(mu[:, None], model.noise_sd, size=(n_simulations, n_obs))
    y_new = rng.normal(mu, model.noise_sd)

    sample_mean = y.mean(axis=1)
    plug_in = np.abs(y_new - sample_mean) <= z * model.noise_sd

    precision = model.prior_sd**-2 + n_obs * model.noise_sd**-2
    post_mean = (model.prior_mean * model.prior_sd**-2 + y.sum(axis=1) * model.noise_sd**-2) / precision
    predictive_sd = np.sqrt(1 / precision + model.noise_sd**2)
    covered = np.abs(y_new - post_mean) <= z * predictive_sd

    exact = 2 * stats.norm.cdf(z / np.sqrt(1 + 1 / n_obs)) - 1
    return Coverage(float(plug_in.mean()), float(covered.mean()), float(exact), int(n_simulations))
