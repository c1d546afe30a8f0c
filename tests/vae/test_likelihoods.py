"""Likelihoods: the Gaussian is the MSE view, the optimal sigma is the batch's maximum-likelihood sigma, options are checked."""

import numpy as np
import pytest
import torch
from scipy import optimize, stats

from pp_vae.vae import (
    Bernoulli,
    Binomial,
    ContinuousBernoulli,
    Gaussian,
    TrainConfig,
    check_sigma,
    make_likelihood,
    optimal_sigma,
    train,
)


def test_optimal_sigma_is_the_maximum_likelihood_sigma_of_the_batch():
    generator = torch.Generator().manual_seed(0)
    x, mean = torch.rand(32, 64, generator=generator), torch.rand(32, 64, generator=generator)
    xs, ms = x.double().numpy(), mean.double().numpy()
    best = optimize.minimize_scalar(
        lambda s: -stats.norm.logpdf(xs, ms, s).sum(), bounds=(1e-3, 5), method="bounded", options={"xatol": 1e-9}
    )
    assert float(optimal_sigma(x, mean)) == pytest.approx(best.x, rel=1e-4)
    log_p = Gaussian("optimal").log_prob(mean, x).sum()  # a fresh module trains: the batch's own optimum
    assert float(log_p) == pytest.approx(-best.fun, rel=1e-5)


def test_the_optimal_sigma_is_frozen_for_evaluation():
    likelihood = Gaussian("optimal")
    generator = torch.Generator().manual_seed(1)
    for _ in range(200):  # training batches whose errors have sd 0.2: the running estimate settles there
        x = torch.rand(64, 16, generator=generator)
        likelihood.log_prob(x + 0.2 * torch.randn(64, 16, generator=generator), x)
    likelihood.eval()
    x = torch.rand(64, 16, generator=generator)
    far = x + 1.0  # test images that fit badly must not get a sigma of their own
    assert float(likelihood.sigma_value()) == pytest.approx(0.2, rel=0.05)
    torch.testing.assert_close(likelihood.log_prob(far, x), torch.distributions.Normal(far, likelihood.sigma_value()).log_prob(x).sum(-1))
    assert likelihood.report(x, far)["sigma"] == pytest.approx(0.2, rel=0.05)


def test_binomial_scores_the_counts_as_scipy_does():
    x = torch.tensor([[0.0, 3 / 16, 1.0], [5 / 16, 8 / 16, 15 / 16]])
    logits = torch.randn(2, 3, generator=torch.Generator().manual_seed(2))
    counts, p = (x * 16).round().numpy(), torch.sigmoid(logits).double().numpy()
    expected = stats.binom.logpmf(counts, 16, p).sum(-1)
    np.testing.assert_allclose(Binomial(16).log_prob(logits, x).numpy(), expected, rtol=1e-5)
    torch.testing.assert_close(Binomial(16).mean(logits), torch.sigmoid(logits))
    # a true probability: summed over every count a pixel can take, the probabilities add up to one
    grid = torch.arange(17.0).unsqueeze(-1) / 16
    total = Binomial(16).log_prob(torch.full((17, 1), 0.3), grid).exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-5)


def test_continuous_bernoulli_is_a_density_on_the_unit_interval():
    from scipy import integrate

    for logit in (-3.0, 0.0, 0.5, 4.0):

        def density(v, logit=logit):
            return float(ContinuousBernoulli().log_prob(torch.tensor([[logit]]), torch.tensor([[v]])).exp())

        assert integrate.quad(density, 0, 1)[0] == pytest.approx(1.0, abs=1e-4)
    # and the Bernoulli it normalises is not one (its "density" on grey levels integrates to less than 1)
    assert integrate.quad(lambda v: float(Bernoulli().log_prob(torch.tensor([[0.5]]), torch.tensor([[v]])).exp()), 0, 1)[0] < 0.8


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
    with pytest.raises(ValueError, match="likelihood must be one of binomial, bernoulli, continuous-bernoulli, gaussian, got 'poisson'"):
        make_likelihood("poisson")
    with pytest.raises(ValueError, match=r"train: pixel 1 is 255.0, outside \[0, 1\]; a Bernoulli likelihood needs"):
        Bernoulli().check("train", np.array([[0.0, 255.0]]))
    Gaussian().check("train", np.array([[0.0, 255.0]]))
    with pytest.raises(ValueError, match="train: pixel 0 is inf; images must be finite"):
        Gaussian().check("train", np.array([np.inf]))
    with pytest.raises(
        ValueError, match=r"train: pixel 1 is 0.1, so x \* 16 = 1.6 is not a count; a Binomial likelihood needs images with 16 grey levels"
    ):
        Binomial(16).check("train", np.array([[0.5, 0.1]]))
    with pytest.raises(ValueError, match="trials must be a positive integer .* got 0"):
        Binomial(0)
    with pytest.raises(ValueError, match="a Binomial likelihood needs the number of trials per pixel, and this dataset has no integer"):
        make_likelihood("binomial")


def test_learned_sigma_is_trained_and_reported(digits):
    config = TrainConfig(epochs=3, latent_dim=2, hidden_dim=16, likelihood="gaussian", sigma="learned", lr=1e-2)
    vae, _ = train(digits, config, device="cpu", progress=False)
    assert "likelihood.log_sigma" in vae.state_dict()
    # it starts at 1 and the digits' reconstruction errors are about 0.2: three epochs at lr 0.01 bring it below e^-0.2
    assert float(vae.likelihood.sigma_value().detach()) < np.exp(-0.2)
