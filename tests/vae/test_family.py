"""The contract every member of the VAE family honours, checked on each: no method raises or returns None,
the torch functions agree with the Pyro model/guide pair, and the KL per dimension sums to the KL."""

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine

from pp_vae.vae import FAMILIES, build_vae, vae_from_config

OPTIONS = {"latent_dim": 3, "hidden_dim": 16, "flows": 2, "image_shape": (4, 4), "trials": 4}
LADDER_TOP_DIM = 2  # only the ladder reads it: another member refuses it
# each member with each likelihood and architecture it can take (the ladder and the IAF with the two commonest)
CASES = [(kind, likelihood, "mlp") for kind in sorted(FAMILIES) for likelihood in ("binomial", "gaussian")] + [
    ("vae", "bernoulli", "mlp"),
    ("vae", "continuous-bernoulli", "mlp"),
    ("vae", "binomial", "conv"),
    ("ladder", "binomial", "conv"),
    ("vae", "bernoulli", "iwae"),
    ("iaf", "binomial", "iwae"),  # the guides that read the encoder's hidden(x) and heads(h)
    ("ladder", "binomial", "iwae"),
]


def _member(kind, likelihood="binomial", arch="mlp"):
    torch.manual_seed(0)
    top = {"top_dim": LADDER_TOP_DIM} if kind == "ladder" else {}
    vae = build_vae(kind, 16, likelihood=likelihood, sigma=0.3, arch=arch, **OPTIONS, **top)
    with torch.no_grad():  # an untrained encoder answers nearly the prior: spread its answers so the checks have work to do
        for parameter in vae.encoder.parameters():
            parameter.mul_(2.0)
    return vae


@pytest.fixture(params=CASES, ids=["-".join(case) for case in CASES])
def member(request):
    return _member(*request.param)


@pytest.fixture()
def images():
    """Six 4x4 images with 4 grey levels (so every likelihood can score them)."""
    return torch.randint(0, 5, (6, 16), generator=torch.Generator().manual_seed(1)).float() / 4


def test_every_documented_method_answers_with_the_stated_shape(member, images):
    n, d = images.shape[0], member.code_dim
    q = member.posterior(images)
    assert tuple(q.batch_shape) == (n,) and tuple(q.event_shape) == (d,)
    z = q.rsample((5,))
    assert z.shape == (5, n, d) and torch.isfinite(q.log_prob(z)).all() and member.log_joint(images, z).shape == (5, n)
    assert member.log_weights(images, 7).shape == (7, n) and member.elbo(images).shape == (n,)
    assert member.kl_per_dim(images).shape == (n, d) and member.posterior_mean(images).shape == (n, d)
    assert member.prior_sample(4).shape == (4, d) and member.decode(member.prior_sample(4)).shape == (4, 16)
    assert member.sample(4, torch.Generator().manual_seed(0)).shape == (4, 16) and member.reconstruct(images).shape == (n, 16)
    torch.testing.assert_close(member.sample(3, torch.Generator().manual_seed(5)), member.sample(3, torch.Generator().manual_seed(5)))


def test_the_torch_log_weights_are_the_pyro_pairs(member, images):
    """``log p(x, z) - log q(z|x)`` from the torch functions equals the Pyro traces' at the guide's own draw."""
    guide_trace = poutine.trace(member.guide).get_trace(images)
    model_trace = poutine.trace(poutine.replay(member.model, trace=guide_trace)).get_trace(images)
    code_sites = [name for name in ("z", "z1", "z2") if name in guide_trace.nodes]  # the code is [z] or [z1, z2]
    code = torch.cat([guide_trace.nodes[name]["value"] for name in code_sites], -1)
    pyro_total = float((model_trace.log_prob_sum() - guide_trace.log_prob_sum()).detach())
    torch_total = float((member.log_joint(images, code) - member.posterior(images).log_prob(code)).sum().detach())
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


class _ElsewhereGenerator:
    """Stands in for a generator on another device (a CUDA one, with the model on the CPU)."""

    device = torch.device("cuda")


def test_draws_with_a_generator_are_made_on_the_generators_device(member, monkeypatch):
    """The class of bug that broke lecture 4 on a GPU (a CUDA generator used to draw on the CPU), caught on a CPU:
    every draw that takes a generator must be made on that generator's device, then moved."""
    real_randn, calls = torch.randn, []

    def randn(*shape, generator=None, device=None, **kwargs):
        if isinstance(generator, _ElsewhereGenerator):
            calls.append(torch.device(device) if device is not None else torch.device("cpu"))
            return torch.zeros(*shape, **kwargs)  # the draw itself cannot happen here: no CUDA on this machine
        return real_randn(*shape, generator=generator, device=device, **kwargs)

    monkeypatch.setattr(torch, "randn", randn)
    images = member.sample(3, _ElsewhereGenerator())
    assert calls and all(device.type == "cuda" for device in calls) and images.device == member.device
    draws = member.prior_sample(3, torch.Generator().manual_seed(9))
    assert torch.equal(draws, member.prior_sample(3, torch.Generator().manual_seed(9)))


def teardown_module():
    pyro.clear_param_store()


def test_the_iwae_networks_are_the_papers_two_tanh_layers_each_way():
    """784-200-200-(50, 50) up and 50-200-200-784 down, tanh between (Burda et al. 2016, one stochastic layer)."""
    from torch import nn

    vae = build_vae("vae", 784, latent_dim=50, hidden_dim=200, likelihood="bernoulli", arch="iwae")
    encoder_layers = list(vae.encoder.hidden) + [vae.encoder.loc]
    assert [(m.in_features, m.out_features) for m in encoder_layers if isinstance(m, nn.Linear)] == [(784, 200), (200, 200), (200, 50)]
    assert (vae.encoder.log_scale.in_features, vae.encoder.log_scale.out_features) == (200, 50)
    decoder = list(vae.decoder.net)
    assert [(m.in_features, m.out_features) for m in decoder if isinstance(m, nn.Linear)] == [(50, 200), (200, 200), (200, 784)]
    assert [type(m) for m in decoder if not isinstance(m, nn.Linear)] == [nn.Tanh, nn.Tanh]
    assert [type(m) for m in vae.encoder.hidden if not isinstance(m, nn.Linear)] == [nn.Tanh, nn.Tanh]
    # features in (-1, 1), as tanh's; the heads read them
    x = torch.rand(3, 784)
    h = vae.encoder.hidden(x)
    assert h.shape == (3, 200) and h.abs().max() < 1
    loc, scale = vae.encoder.heads(h)
    torch.testing.assert_close(loc, vae.encoder.loc(torch.tanh(vae.encoder.hidden[2](torch.tanh(vae.encoder.hidden[0](x))))))
    assert (scale > 0).all()
