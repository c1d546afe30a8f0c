"""A coin's bias (lectures 1-3): ``theta ~ Beta(alpha, beta)``, ``y[n] ~ Bernoulli(theta)``; ``stan_models/beta_bernoulli.stan``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from torch.distributions import constraints

from pp_vae.bayes.conjugate import BetaBernoulli, FrozenDistribution
from pp_vae.models.registry import BundledModel, LogDensity


def pyro_model(data: dict[str, Any]) -> None:
    """``theta ~ Beta(alpha, beta)``, ``y[n] ~ Bernoulli(theta)``."""
    y = data["y"]
    theta = pyro.sample("theta", dist.Beta(y.new_tensor(data["alpha"]), y.new_tensor(data["beta"])))
    with pyro.plate("obs", y.shape[0], device=y.device):
        pyro.sample("y", dist.Bernoulli(theta), obs=y)


def guide(data: dict[str, Any]) -> None:
    """Mean-field guide ``q(theta) = Beta(a, b)``: the exact posterior's family, so VI can be exact."""
    y = data["y"]
    a = pyro.param("q_alpha", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    b = pyro.param("q_beta", torch.tensor(1.0, device=y.device), constraint=constraints.positive)
    pyro.sample("theta", dist.Beta(a, b))


def log_density(data: dict[str, Any]) -> LogDensity:
    """On ``u = logit(theta)``: ``log theta^(a-1) (1-theta)^(b-1)`` plus the Jacobian ``log theta (1 - theta)``."""
    y = np.asarray(data["y"])
    a, b = float(data["alpha"]) + y.sum(), float(data["beta"]) + y.size - y.sum()

    def density(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u)[..., 0]
        return -a * np.logaddexp(0, -u) - b * np.logaddexp(0, u)

    return density


def exact_posterior(data: dict[str, Any]) -> dict[str, FrozenDistribution]:
    """``theta | y ~ Beta(alpha + k, beta + n - k)`` (lecture 1)."""
    return {"theta": BetaBernoulli(alpha=data["alpha"], beta=data["beta"]).posterior(data["y"])}


def simulate(rng: np.random.Generator, data: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """``theta ~ Beta(alpha, beta)``, then ``N`` flips."""
    theta = rng.beta(data["alpha"], data["beta"])
    flips = (rng.random(int(data["N"])) < theta).astype(int)
    return {"theta": float(theta)}, {**data, "y": flips.tolist()}


MODEL = BundledModel(
    name="beta_bernoulli",
    description="a coin's bias: Beta prior, Bernoulli flips (closed form: Beta posterior)",
    pyro_model=pyro_model,
    guide=guide,
    log_density=log_density,
    exact_posterior=exact_posterior,
    example_data={"N": 10, "y": [1, 0, 1, 1, 1, 0, 1, 1, 0, 1], "alpha": 2.0, "beta": 2.0},
    simulate=simulate,
)
