"""Free bits (Kingma et al. 2016): each dimension's minibatch-average KL clamped below at lambda nats in the loss."""

import pyro
import pyro.distributions as dist
import pytest
import torch

from pp_vae.vae import VAE, TrainConfig, TrainingLoss, VAESpec, build_vae
from pp_vae.vae.objective import LatentScale, SyncFreeELBO, check_free_bits

N = 6


def _pair(loc: torch.Tensor, scale: torch.Tensor):
    """A hand model (z ~ N(0, I) in 2 dimensions, x ~ N(z, I)) and a guide q(z) = N(loc, scale) per image."""

    def model(x):
        with pyro.plate("data", N):
            z = pyro.sample("z", dist.Normal(torch.zeros(2), torch.ones(2)).to_event(1))
            pyro.sample("x", dist.Normal(z, 1.0).to_event(1), obs=x)

    def guide(x):
        with pyro.plate("data", N):
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    return model, guide


def _hand_case():
    torch.manual_seed(0)
    loc = torch.stack([torch.linspace(1.0, 2.0, N), torch.linspace(-0.2, 0.2, N)], dim=1).requires_grad_()  # dim 0 far, dim 1 near
    scale = torch.full((N, 2), 0.8).requires_grad_()
    kl = 0.5 * (scale**2 + loc**2 - 1) - torch.log(scale)  # KL(N(loc, scale) || N(0, 1)), by hand
    return loc, scale, kl.detach(), torch.randn(N, 2)


def _loss_and_grads(free_bits, loc, scale, x, weight=1.0):
    model, guide = _pair(loc, scale)
    pyro.set_rng_seed(3)
    scaled_model = LatentScale(weight)(model) if weight != 1.0 else model  # the KL weight: latent sites alone
    scaled_guide = pyro.poutine.scale(guide, weight) if weight != 1.0 else guide
    loss = SyncFreeELBO(free_bits=free_bits).differentiable_loss(scaled_model, scaled_guide, x)
    return loss, torch.autograd.grad(loss, (loc, scale))


def test_the_free_bits_loss_is_the_closed_form_on_a_hand_case():
    loc, scale, kl, x = _hand_case()
    mean_kl = kl.mean(0)
    floor = float(mean_kl.mean())  # between the two dimensions' average KLs
    assert mean_kl[0] > floor > mean_kl[1]
    plain, _ = _loss_and_grads(0.0, loc, scale, x)
    free, _ = _loss_and_grads(floor, loc, scale, x)  # the same draw of z: the reconstruction terms cancel
    expected = N * (torch.clamp(mean_kl, min=floor) - mean_kl).sum()
    torch.testing.assert_close(free - plain, expected, rtol=1e-5, atol=1e-5)


def test_free_bits_leave_the_gradient_above_the_floor_and_drop_the_kl_pull_below_it():
    loc, scale, kl, x = _hand_case()
    floor = float(kl.mean(0).mean())
    _, (loc_plain, scale_plain) = _loss_and_grads(0.0, loc, scale, x)
    _, (loc_free, scale_free) = _loss_and_grads(floor, loc, scale, x)
    torch.testing.assert_close(loc_free[:, 0], loc_plain[:, 0])  # dimension 0 is above the floor: untouched
    torch.testing.assert_close(scale_free[:, 0], scale_plain[:, 0])
    # dimension 1 is below it: the KL's own gradient (d KL / d loc = loc, d KL / d scale = scale - 1 / scale) is gone
    torch.testing.assert_close(loc_free[:, 1], loc_plain[:, 1] - loc[:, 1].detach())
    torch.testing.assert_close(scale_free[:, 1], scale_plain[:, 1] - (scale[:, 1] - 1 / scale[:, 1]).detach())


def test_the_kl_weight_multiplies_the_clamped_term():
    loc, scale, kl, x = _hand_case()
    floor = 1.0
    one, _ = _loss_and_grads(floor, loc, scale, x)
    three, _ = _loss_and_grads(floor, loc, scale, x, weight=3.0)
    torch.testing.assert_close(three - one, 2 * N * torch.clamp(kl.mean(0), min=floor).sum(), rtol=1e-5, atol=1e-5)


def test_training_loss_with_zero_free_bits_is_the_plain_loss_and_a_vae_is_clamped_per_dimension():
    torch.manual_seed(0)
    x = (torch.rand(16, 12) < 0.3).float()
    vae = VAE(VAESpec(12, latent_dim=3, hidden_dim=8))
    values = {}
    for free_bits in (0.0, 5.0):
        pyro.set_rng_seed(1)
        values[free_bits] = float(TrainingLoss(vae, free_bits=free_bits)(x).detach())
    mean_kl = vae.kl_per_dim(x).mean(0)
    assert bool((mean_kl < 5.0).all())
    assert values[5.0] - values[0.0] == pytest.approx(16 * float((5.0 - mean_kl).sum()), rel=1e-4)


def test_bad_free_bits_are_named():
    for bad in (-0.5, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="free_bits must be a number of nats >= 0"):
            TrainConfig(free_bits=bad)
    assert check_free_bits(0) == 0.0 and TrainConfig(free_bits=2).free_bits == 2.0


def test_free_bits_refuse_a_site_without_a_closed_form_kl_by_name():
    vae = build_vae("iaf", 12, latent_dim=2, hidden_dim=8)
    with pytest.raises(ValueError, match="latent site 'z' .* has none"):
        TrainingLoss(vae, free_bits=0.5)(torch.rand(4, 12))


def test_the_iwae_loss_refuses_free_bits_by_name():
    vae = build_vae("vae", 12, latent_dim=2, hidden_dim=8)
    with pytest.raises(ValueError, match="the IWAE bound has no KL term to clamp: free_bits must be 0 with iwae_samples, got 0.5"):
        TrainingLoss(vae, free_bits=0.5, iwae_samples=5)
