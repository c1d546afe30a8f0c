"""The training objective: beta scales the KL term and nothing else; annealing raises the weight linearly."""

import pyro
import pytest
import torch
from pyro.infer import TraceMeanField_ELBO

from pp_vae.vae import VAE, Objective, TrainConfig, TrainingLoss, VAESpec


def test_beta_multiplies_the_kl_term_and_the_model_is_untouched():
    torch.manual_seed(0)
    x = torch.rand(16, 12)
    vae = VAE(VAESpec(12, latent_dim=3, hidden_dim=8))
    loss = TrainingLoss(vae)
    values = {}
    for weight in (1.0, 3.0):
        loss.kl_weight = weight
        pyro.set_rng_seed(1)
        values[weight] = float(loss(x))
    loc, scale = vae.encoder(x)
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(loc, scale), torch.distributions.Normal(0.0, 1.0)).sum()
    assert values[3.0] - values[1.0] == pytest.approx(2 * float(kl.detach()), rel=1e-4)
    pyro.set_rng_seed(1)  # the VAE's own model and guide still define the ELBO
    assert TraceMeanField_ELBO().loss(vae.model, vae.guide, x) == pytest.approx(values[1.0], rel=1e-6)


def test_kl_annealing_rises_linearly_to_beta():
    objective = TrainConfig(anneal_epochs=2, beta=2.0).kl_schedule(steps_per_epoch=5)
    weights = [objective.kl_weight(step) for step in range(15)]
    assert weights[:10] == pytest.approx([2.0 * k / 10 for k in range(1, 11)])
    assert weights[10:] == [2.0] * 5
    assert Objective().kl_weight(0) == 1.0


def test_bad_objectives_are_named():
    with pytest.raises(ValueError, match="beta must be a positive number, got 0"):
        Objective(beta=0)
    with pytest.raises(ValueError, match="anneal_epochs must be an integer >= 0, got -1"):
        TrainConfig(anneal_epochs=-1)


@pytest.mark.parametrize("model", ["vae", "iaf", "ladder", "binary"])
@pytest.mark.parametrize("likelihood", ["binomial", "gaussian"])
@pytest.mark.parametrize("validation", [True, False], ids=["pyros-traces", "lean-traces"])
def test_the_sync_free_elbo_is_the_members_own_pyro_elbo_and_its_gradient(digits, model, likelihood, validation):
    """With validation on, SyncFreeELBO reads Pyro's traces; off (training's steps after the first), its own lean ones."""
    from pp_vae.vae.objective import SyncFreeELBO
    from pp_vae.vae.training import new_vae

    vae = new_vae(digits, TrainConfig(model=model, likelihood=likelihood, sigma="learned", latent_dim=4, hidden_dim=32))
    x, params = digits.train[:64], list(vae.parameters())
    losses, grads = [], []
    for estimator, checked in ((vae.elbo_estimator(), True), (SyncFreeELBO(), validation)):
        pyro.set_rng_seed(1)
        with pyro.validation_enabled(checked):
            loss = estimator.differentiable_loss(vae.model, vae.guide, x)
        losses.append(loss)
        grads.append(torch.autograd.grad(loss, params, allow_unused=True))
    torch.testing.assert_close(losses[1], losses[0])
    for ours, pyros in zip(*grads):
        if pyros is not None:
            torch.testing.assert_close(ours, pyros)


def test_the_sync_free_elbo_refuses_a_guide_it_cannot_reparameterise():
    import pyro.distributions as dist

    from pp_vae.vae.objective import SyncFreeELBO

    def model():
        pyro.sample("k", dist.Poisson(3.0))

    def guide():
        pyro.sample("k", dist.Poisson(pyro.param("rate", torch.tensor(2.0))))

    with pytest.raises(ValueError, match="guide site 'k' cannot be reparameterised \\(Poisson\\)"):
        SyncFreeELBO().differentiable_loss(model, guide)


def test_the_sync_free_elbo_counts_a_guides_auxiliary_site_as_trace_mean_field_does():
    import pyro.distributions as dist

    from pp_vae.vae.objective import SyncFreeELBO

    def model():
        pyro.sample("z", dist.Normal(0.0, 1.0))
        pyro.sample("x", dist.Normal(0.0, 2.0), obs=torch.tensor(0.5))

    def guide():
        u = pyro.sample("u", dist.Normal(0.0, 1.0), infer={"is_auxiliary": True})
        pyro.sample("z", dist.Normal(pyro.param("loc", torch.tensor(0.3)) + 0.1 * u, 0.8))

    losses = []
    for estimator, checked in ((TraceMeanField_ELBO(), True), (SyncFreeELBO(), True), (SyncFreeELBO(), False)):
        pyro.set_rng_seed(2)
        with pyro.validation_enabled(checked):
            losses.append(estimator.differentiable_loss(model, guide))
    torch.testing.assert_close(losses[1], losses[0])
    torch.testing.assert_close(losses[2], losses[0])
