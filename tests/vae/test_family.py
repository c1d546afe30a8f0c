"""The contract every member of the VAE family honours, checked on each: no method raises or returns None,
the torch functions agree with the Pyro model/guide pair, and the KL per dimension sums to the KL."""

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine

from pp_vae.vae import FAMILIES, build_vae, vae_from_config

OPTIONS = {"latent_dim": 3, "hidden_dim": 16, "flows": 2, "top_dim": 2}


def _member(kind, likelihood="bernoulli", sigma=0.1):
    torch.manual_seed(0)
    vae = build_vae(kind, 12, likelihood=likelihood, sigma=sigma, **OPTIONS)
    with torch.no_grad():  # an untrained encoder answers nearly the prior: spread its answers so the checks have work to do
        for parameter in vae.encoder.parameters():
            parameter.mul_(2.0)
    return vae


@pytest.fixture(params=sorted(FAMILIES))
def member(request):
    return _member(request.param)


@pytest.fixture()
def images():
    return torch.rand(6, 12, generator=torch.Generator().manual_seed(1))


def test_every_documented_method_answers_with_the_stated_shape(member, images):
    n, d = images.shape[0], member.code_dim
    q = member.posterior(images)
    assert tuple(q.batch_shape) == (n,) and tuple(q.event_shape) == (d,)
    z = q.rsample((5,))
    assert z.shape == (5, n, d) and torch.isfinite(q.log_prob(z)).all() and member.log_joint(images, z).shape == (5, n)
    assert member.log_weights(images, 7).shape == (7, n) and member.elbo(images).shape == (n,)
    assert member.kl_per_dim(images).shape == (n, d) and member.posterior_mean(images).shape == (n, d)
    assert member.prior_sample(4).shape == (4, d) and member.decode(member.prior_sample(4)).shape == (4, 12)
    assert member.sample(4, torch.Generator().manual_seed(0)).shape == (4, 12) and member.reconstruct(images).shape == (n, 12)
    torch.testing.assert_close(member.sample(3, torch.Generator().manual_seed(5)), member.sample(3, torch.Generator().manual_seed(5)))


def test_the_torch_log_weights_are_the_pyro_pairs(member, images):
    """``log p(x, z) - log q(z|x)`` from the torch functions equals the Pyro traces' at the guide's own draw."""
    guide_trace = poutine.trace(member.guide).get_trace(images)
    model_trace = poutine.trace(poutine.replay(member.model, trace=guide_trace)).get_trace(images)
    code_sites = [name for name in ("z", "z1", "z2") if name in guide_trace.nodes]  # the code is [z] or [z1, z2]
    code = torch.cat([guide_trace.nodes[name]["value"] for name in code_sites], -1)
    pyro_total = float(model_trace.log_prob_sum() - guide_trace.log_prob_sum())
    torch_total = float((member.log_joint(images, code) - member.posterior(images).log_prob(code)).sum())
    assert torch_total == pytest.approx(pyro_total, rel=1e-4, abs=1e-3)


def test_kl_per_dim_sums_to_the_kl_by_monte_carlo(member, images):
    """Sum over dimensions vs ``E_q[log q(z|x) - log p(z)]`` from 4000 draws per image, within 5 standard errors."""
    repeats = 4000
    x = images.repeat(repeats, 1)
    with torch.no_grad():
        guide_trace = poutine.trace(member.guide).get_trace(x)
        model_trace = poutine.trace(poutine.replay(member.model, trace=guide_trace)).get_trace(x)
        guide_trace.compute_log_prob()
        model_trace.compute_log_prob()
        latent = [name for name, site in guide_trace.nodes.items() if site["type"] == "sample"]
        terms = sum(guide_trace.nodes[s]["log_prob"] - model_trace.nodes[s]["log_prob"] for s in latent).reshape(repeats, -1)
        estimate, se = terms.mean(0), terms.std(0) / np.sqrt(repeats)
        ours = member.kl_per_dim(images).sum(-1)
    assert torch.all((ours - estimate).abs() < 5 * se + 0.02), (ours, estimate, se)


def test_elbo_is_the_mean_of_the_log_weights(member, images):
    torch.manual_seed(2)
    with torch.no_grad():
        closed = member.elbo(images, num_samples=4000)
        weights = member.log_weights(images, 4000)
    se = weights.std(0) / np.sqrt(4000)
    assert torch.all((closed - weights.mean(0)).abs() < 5 * se + 0.02)


def test_every_member_is_rebuilt_from_its_config(member, images):
    rebuilt = vae_from_config(member.config())
    rebuilt.load_state_dict(member.state_dict())
    assert type(rebuilt) is type(member) and rebuilt.config() == member.config()
    torch.testing.assert_close(rebuilt.decode(torch.zeros(2, member.code_dim)), member.decode(torch.zeros(2, member.code_dim)))
    with pytest.raises(ValueError, match="unknown VAE kind 'flow'"):
        vae_from_config({"kind": "flow", "input_dim": 4})


def test_a_generator_anywhere_draws_on_the_models_device(member):
    """A generator on another device than the model (a CPU one for a GPU model) must work: here a CPU model
    and a generator whose draws are checked to come from it, moved to the model's device."""
    draws = member.prior_sample(3, torch.Generator(device="cpu").manual_seed(9))
    again = member.prior_sample(3, torch.Generator(device="cpu").manual_seed(9))
    assert draws.device == member.device and torch.equal(draws, again)


def teardown_module():
    pyro.clear_param_store()
