"""Likelihoods: the Gaussian is the MSE view, the optimal sigma is the batch's maximum-likelihood sigma, options are checked."""

import numpy as np
import pytest
import torch
from scipy import optimize, stats

from pp_vae.data import load_digits
from pp_vae.vae import Bernoulli, Gaussian, TrainConfig, check_sigma, make_likelihood, optimal_sigma, train


def test_optimal_sigma_is_the_maximum_likelihood_sigma_of_the_batch():
    generator = torch.Generator().manual_seed(0)
    x, mean = torch.rand(32, 64, generator=generator), torch.rand(32, 64, generator=generator)
    xs, ms = x.double().numpy(), mean.double().numpy()
    best = optimize.minimize_scalar(
        lambda s: -stats.norm.logpdf(xs, ms, s).sum(), bounds=(1e-3, 5), method="bounded", options={"xatol": 1e-9}
    )
    assert float(optimal_sigma(x, mean)) == pytest.approx(best.x, rel=1e-4)
    log_p = Gaussian("optimal").distribution(mean, x).log_prob(x).sum()
    assert float(log_p) == pytest.approx(-best.fun, rel=1e-5)


def test_gaussian_likelihood_is_the_mse_view():
    x, mean = torch.rand(3, 4), torch.rand(3, 4)
    log_p = Gaussian(0.5).distribution(mean).log_prob(x)
    mse_view = -((x - mean) ** 2).sum(-1) / (2 * 0.25) - 4 * torch.log(torch.tensor(0.5 * (2 * torch.pi) ** 0.5))
    torch.testing.assert_close(log_p, mse_view)


def test_bernoulli_is_the_binary_cross_entropy():
    x, logits = torch.rand(3, 5), torch.randn(3, 5)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    torch.testing.assert_close(Bernoulli().distribution(logits).log_prob(x), -bce)
    torch.testing.assert_close(Bernoulli().mean(logits), torch.sigmoid(logits))


def test_options_and_data_are_checked_by_name():
    assert check_sigma("0.25") == 0.25 and check_sigma("learned") == "learned" and check_sigma(2) == 2.0
    for bad in (-1, 0, "big", float("nan"), True):
        with pytest.raises(ValueError, match="sigma must be a positive number, 'learned' or 'optimal'"):
            check_sigma(bad)
    with pytest.raises(ValueError, match="likelihood must be one of bernoulli, gaussian, got 'poisson'"):
        make_likelihood("poisson")
    with pytest.raises(ValueError, match=r"train: pixel 1 is 255.0, outside \[0, 1\]; a Bernoulli likelihood needs"):
        Bernoulli().check("train", np.array([[0.0, 255.0]]))
    Gaussian().check("train", np.array([[0.0, 255.0]]))
    with pytest.raises(ValueError, match="train: pixel 0 is inf; images must be finite"):
        Gaussian().check("train", np.array([np.inf]))


def test_learned_sigma_is_trained_and_reported():
    config = TrainConfig(epochs=3, latent_dim=2, hidden_dim=16, likelihood="gaussian", sigma="learned", lr=1e-2)
    vae, _ = train(load_digits(), config, device="cpu", progress=False)
    assert "likelihood.log_sigma" in vae.state_dict()
    # it starts at 1 and the digits' reconstruction errors are about 0.2: three epochs at lr 0.01 bring it below e^-0.2
    assert float(vae.likelihood.sigma_value().detach()) < np.exp(-0.2)
