"""The binary-latent VAE: straight-through draws with exact Bernoulli frequencies, and exact answers by enumerating the codes."""

import itertools

import numpy as np
import pytest
import torch

from pp_vae.vae import BinaryVAE, StraightThroughBernoulli, TrainConfig, VAESpec, bernoulli_kl, build_vae, iwae_bound, train


def _small(bits=4):
    torch.manual_seed(0)
    vae = build_vae("binary", 16, latent_dim=bits, hidden_dim=16, likelihood="binomial", trials=4)
    with torch.no_grad():
        for parameter in vae.encoder.parameters():
            parameter.mul_(3.0)  # spread the untrained encoder's answers away from 1/2
    return vae


@pytest.fixture()
def images():
    return torch.randint(0, 5, (5, 16), generator=torch.Generator().manual_seed(1)).float() / 4


def test_straight_through_draws_are_exact_bernoulli_bits_with_a_gradient():
    logits = torch.tensor([-2.0, 0.0, 1.5], requires_grad=True)
    torch.manual_seed(0)
    bits = StraightThroughBernoulli(logits=logits).rsample((40_000,))
    assert set(bits.unique().tolist()) <= {0.0, 1.0}
    p = torch.sigmoid(logits).detach()
    se = torch.sqrt(p * (1 - p) / 40_000)
    assert torch.all((bits.mean(0) - p).abs() < 5 * se)
    bits.sum().backward()
    assert logits.grad is not None and torch.all(logits.grad > 0)  # raising a logit raises its relaxed draws


def test_bit_kl_is_torchs_bernoulli_kl():
    logits = torch.linspace(-4, 4, 9)
    expected = torch.distributions.kl_divergence(torch.distributions.Bernoulli(logits=logits), torch.distributions.Bernoulli(0.5))
    torch.testing.assert_close(bernoulli_kl(logits), expected)


def test_exact_log_likelihood_and_elbo_by_an_independent_sum_over_codes(images):
    vae = _small()
    with torch.no_grad():
        probs = torch.sigmoid(vae.logits(images))
        log_p, elbo = torch.zeros(len(images)), torch.zeros(len(images))
        terms = []
        for code in itertools.product((0.0, 1.0), repeat=4):
            z = torch.tensor(code).expand(len(images), 4)
            decoded = torch.sigmoid(vae.decoder(z))
            log_lik = torch.distributions.Binomial(4, decoded).log_prob(images * 4).sum(-1)
            joint = log_lik + 4 * np.log(0.5)
            log_q = (z * probs.log() + (1 - z) * (1 - probs).log()).sum(-1)
            terms.append(joint)
            elbo += log_q.exp() * (joint - log_q)
        log_p = torch.logsumexp(torch.stack(terms), 0)
    torch.testing.assert_close(vae.exact_log_likelihood(images), log_p, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(vae.exact_elbo(images), elbo, rtol=1e-5, atol=1e-4)
    assert torch.all(vae.exact_elbo(images) < vae.exact_log_likelihood(images))


def test_sampled_elbo_and_iwae_converge_to_the_enumerated_truths(images):
    vae = _small()
    torch.manual_seed(3)
    with torch.no_grad():
        weights = vae.log_weights(images, 20_000)
    se = weights.std(0) / np.sqrt(20_000)
    assert torch.all((weights.mean(0) - vae.exact_elbo(images)).abs() < 5 * se)
    torch.manual_seed(4)
    truth = float(vae.exact_log_likelihood(images).mean())
    assert iwae_bound(vae, images, num_samples=1) < iwae_bound(vae, images, num_samples=50) < truth + 1e-4
    assert iwae_bound(vae, images, num_samples=5000) == pytest.approx(truth, abs=0.02)


def test_enumeration_is_refused_beyond_sixteen_bits(images):
    with pytest.raises(ValueError, match=r"enumerating 2\^17 codes is too many"):
        BinaryVAE(VAESpec(16, latent_dim=17)).exact_log_likelihood(images)


@pytest.mark.slow
def test_training_by_straight_through_learns_a_code(digits):
    """Measured (10 bits, 100 epochs, Binomial): test ELBO -157.1, exact log p(x) -147.1, KL 5.7 of at most 6.9 nats."""
    vae, history = train(digits, TrainConfig(model="binary", latent_dim=10, epochs=40), device="cpu", progress=False)
    assert history.test_elbo[-1] > history.test_elbo[0] + 30
    kl = float(vae.kl_per_dim(digits.test).sum(-1).mean())
    assert 3.0 < kl < 10 * np.log(2)
    assert float((vae.exact_log_likelihood(digits.test) - vae.exact_elbo(digits.test)).mean()) > 1.0
