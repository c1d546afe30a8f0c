"""The MADE decoder: its masks make pixel d's logit a function of the pixels before it, and p(x | z) a distribution."""

import itertools

import pytest
import torch

from pp_vae.vae import VAESpec, build_vae
from pp_vae.vae.autoencoder import Autoencoder
from pp_vae.vae.likelihoods import Bernoulli
from pp_vae.vae.made import MADEDecoder
from pp_vae.vae.networks import decoder_logits


def _random_made(latent_dim: int, hidden_dim: int, pixels: int, direct: bool = True, seed: int = 0) -> MADEDecoder:
    """A MADE with every weight drawn away from zero (the direct ones start at zero otherwise)."""
    torch.manual_seed(seed)
    made = MADEDecoder(latent_dim, hidden_dim, pixels)
    with torch.no_grad():
        for parameter in made.parameters():
            parameter.normal_()
        if not direct:
            made.direct.weight.zero_()
    return made.double()


@pytest.mark.parametrize("direct", [True, False])
def test_the_jacobian_in_the_pixels_is_strictly_lower_triangular_and_full_below(direct):
    """d logit_d / d x_i is zero for i >= d and not zero for i < d: by the hidden layer alone when it has a unit of every degree."""
    pixels = 9
    made = _random_made(3, 2 * pixels, pixels, direct=direct)
    z, x = torch.randn(3, dtype=torch.double), torch.rand(pixels, dtype=torch.double)
    jacobian = torch.autograd.functional.jacobian(lambda image: made(z, image), x)
    upper = torch.triu(torch.ones(pixels, pixels, dtype=torch.bool))
    assert torch.all(jacobian[upper] == 0)
    assert torch.all(jacobian[~upper].abs() > 1e-12)
    assert torch.autograd.functional.jacobian(lambda code: made(code, x), z)[0].abs().sum() > 0  # z reaches pixel 0


def test_perturbing_a_pixel_moves_only_the_logits_after_it():
    made = _random_made(2, 30, 12)
    z, x = torch.randn(4, 2, dtype=torch.double), (torch.rand(4, 12) < 0.5).double()
    for i in range(12):
        flipped = x.clone()
        flipped[:, i] = 1 - flipped[:, i]
        moved = (made(z, flipped) - made(z, x)).abs().amax(0) > 0
        assert not moved[: i + 1].any() and (i == 11 or moved[i + 1 :].any())


def test_p_x_given_z_sums_to_one_over_all_binary_images():
    """Exact enumeration of the 2^8 images, for each of five codes: the one-pass log-likelihood is normalised."""
    made = _random_made(2, 5, 8)
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=8)), dtype=torch.double)  # (256, 8)
    z = torch.randn(5, 1, 2, dtype=torch.double).expand(5, 256, 2)
    log_p = Bernoulli().log_prob(made(z, images), images)  # (5, 256)
    torch.testing.assert_close(torch.logsumexp(log_p, dim=1), torch.zeros(5, dtype=torch.double), atol=1e-10, rtol=0)


def test_draws_follow_the_one_pass_probabilities():
    """The pixel-by-pixel sampler: each draw's probabilities are the one-pass ones at the drawn image, and the
    frequencies of the 2^3 images over 40,000 draws match their exact probabilities within 5 binomial SEs."""
    made = _random_made(2, 6, 3).float()
    z = torch.randn(1, 2).expand(40_000, 2)
    images, probabilities = made.draw(z, torch.Generator().manual_seed(0))
    torch.testing.assert_close(probabilities, torch.sigmoid(made(z, images)), atol=1e-5, rtol=0)
    every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))
    exact = Bernoulli().log_prob(made(z[:8], every), every).exp().detach()
    counts = (images[:, None, :] == every[None]).all(-1).double().mean(0)
    se = (exact * (1 - exact) / 40_000).sqrt()
    assert torch.all((counts - exact).abs() < 5 * se + 1e-4)


def test_the_vae_with_a_made_decoder_scores_and_draws_images():
    vae = build_vae("vae", 784, latent_dim=4, hidden_dim=32, arch="made")
    x = (torch.rand(6, 784) < 0.2).float()
    z = vae.posterior(x).sample((3,))
    expected = Bernoulli().log_prob(vae.decoder(z, x), x) + torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    torch.testing.assert_close(vae.log_joint(x, z), expected)
    assert vae.elbo(x).shape == (6,) and vae.log_weights(x, 2).shape == (2, 6)
    decoded = vae.decode(torch.zeros(2, 4))
    assert decoded.shape == (2, 784) and bool(((decoded > 0) & (decoded < 1)).all())
    assert torch.equal(decoder_logits(vae.decoder, z, x), vae.decoder(z, x))


def test_made_is_refused_where_it_cannot_run_by_name():
    with pytest.raises(ValueError, match="model 'ladder' does not take arch 'made': only model 'vae' or 'iaf' does"):
        build_vae("ladder", 784, arch="made")
    with pytest.raises(ValueError, match="arch 'made' models binary pixels: it needs likelihood 'bernoulli', got 'gaussian'"):
        build_vae("vae", 784, arch="made", likelihood="gaussian")
    with pytest.raises(ValueError, match="arch 'made' models binary pixels: it needs likelihood 'bernoulli', got 'binomial'"):
        VAESpec(64, arch="made", trials=16).likelihood_name() and build_vae("vae", 64, arch="made", trials=16)
    with pytest.raises(ValueError, match="arch must be one of mlp, conv, linear, iwae, got 'made'"):
        Autoencoder(64, 2, arch="made")
    with pytest.raises(ValueError, match="call decoder\\(z, x\\) with the images"):
        MADEDecoder(2, 4, 8)(torch.zeros(1, 2))
