"""Posterior collapse, the approximation/amortisation gap split, anomaly scores and their baselines."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from pp_vae.data import ImageData
from pp_vae.inference import frozen
from pp_vae.vae import (
    ACTIVE_KL,
    VAE,
    TrainConfig,
    VAESpec,
    active_units,
    adopt_generative_model,
    anomaly_scores,
    auroc,
    bootstrap_auroc,
    bootstrap_auroc_difference,
    gap_decomposition,
    importance_weighted,
    ink_scores,
    kl_per_dimension,
    optimise_local_gaussians,
    pca_scores,
    posterior_usage,
    train,
)
from pp_vae.vae.bounds import sampled_in_chunks


def test_active_units_count_the_dimensions_whose_kl_exceeds_the_threshold():
    torch.manual_seed(0)
    vae = VAE(VAESpec(10, latent_dim=4, hidden_dim=6))
    with torch.no_grad():
        for head in (vae.encoder.loc, vae.encoder.log_scale):  # dimensions 1 and 3: q(z_i | x) = N(0, 1) for every x
            head.weight[[1, 3]] = 0.0
            head.bias[[1, 3]] = 0.0
        vae.encoder.loc.weight[[0, 2]] *= 20.0
    x = torch.rand(200, 10)
    kl = kl_per_dimension(vae, x)
    assert kl[1] == pytest.approx(0.0, abs=1e-7) and kl[3] == pytest.approx(0.0, abs=1e-7) and min(kl[0], kl[2]) > ACTIVE_KL
    assert active_units(vae, x) == 2
    usage = posterior_usage(vae, x)
    assert usage["active_units"] == 2 and usage["active_threshold"] == ACTIVE_KL
    assert usage["posterior_mean_variance"][1] == pytest.approx(0.0, abs=1e-10)


def test_kl_per_dimension_is_the_average_gaussian_kl():
    torch.manual_seed(1)
    vae = VAE(VAESpec(10, latent_dim=3, hidden_dim=6))
    x = torch.rand(50, 10)
    loc, scale = vae.encoder(x)
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(loc, scale), torch.distributions.Normal(0.0, 1.0)).mean(0)
    np.testing.assert_allclose(kl_per_dimension(vae, x), expected.detach().numpy(), rtol=1e-5)


def test_auroc_and_its_bootstrap_match_scikit_learn_and_the_normal_approximation():
    rng = np.random.default_rng(0)
    normal, anomalous = rng.normal(0, 1, 300), rng.normal(0.8, 1, 300)
    expected = roc_auc_score(np.r_[np.zeros(300), np.ones(300)], np.r_[normal, anomalous])
    assert auroc(normal, anomalous) == pytest.approx(expected)
    scores, is_anomalous = np.r_[normal, anomalous], np.r_[np.zeros(300, bool), np.ones(300, bool)]
    ((area, se),) = bootstrap_auroc({"x": scores}, is_anomalous, draws=1000).values()
    # Hanley and McNeil's (1982) standard error of an AUROC
    q1, q2 = area / (2 - area), 2 * area**2 / (1 + area)
    hanley = np.sqrt((area * (1 - area) + 299 * (q1 - area**2) + 299 * (q2 - area**2)) / (300 * 300))
    assert area == pytest.approx(expected) and se == pytest.approx(hanley, rel=0.2)
    difference, difference_se = bootstrap_auroc_difference(scores, scores, is_anomalous, draws=100)
    assert difference == 0.0 and difference_se == 0.0


def test_the_pca_baseline_scores_off_subspace_points():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    train_x = torch.tensor(rng.normal(size=(500, 2)) @ basis.T)
    inside, outside = torch.tensor(rng.normal(size=(3, 2)) @ basis.T), torch.tensor(np.eye(6)[:3])
    assert np.allclose(pca_scores(train_x, inside, components=2), 0.0, atol=1e-12)
    expected = 1 - (basis[:3] ** 2).sum(-1)  # squared distance of e_i from the plane
    np.testing.assert_allclose(pca_scores(train_x, outside, components=2), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ink_scores(outside), [1.0, 1.0, 1.0])


@pytest.mark.slow
def test_collapse_is_detected_when_provoked_and_not_when_absent(digits):
    # Measured (100 epochs, Binomial): beta 1 keeps all 10 dimensions (each > 1.4 nats); beta 16 keeps 4 (KL 2.68 nats in all)
    kept, _ = train(digits, TrainConfig(seed=0), device="cpu", progress=False)
    squeezed, _ = train(digits, TrainConfig(beta=16.0, seed=0), device="cpu", progress=False)
    assert active_units(kept, digits.test) == 10 and kl_per_dimension(kept, digits.test).min() > 1.0
    assert active_units(squeezed, digits.test) <= 5 and kl_per_dimension(squeezed, digits.test).sum() < 4


@pytest.mark.slow
def test_gaps_are_positive_beyond_their_errors_and_the_split_adds_up(digits):
    vae, _ = train(digits, TrainConfig(seed=0), device="cpu", progress=False)
    x = digits.test[:100]
    gaps = gap_decomposition(vae, x, iwae_samples=1000, steps=500, lr=0.02)
    # measured on 200 images: approximation 0.93 +- 0.03, amortisation 5.34 +- 0.26 nats
    assert gaps.approximation_gap > 5 * gaps.approximation_se and gaps.amortisation_gap > 5 * gaps.amortisation_se
    assert gaps.total == pytest.approx(gaps.log_likelihood - gaps.amortised_elbo, abs=1e-4)
    # the encoder is a worse importance-sampling proposal than each image's best Gaussian: its IWAE bound is lower
    torch.manual_seed(3)
    with torch.no_grad():
        encoder_iwae = importance_weighted(sampled_in_chunks(lambda k: vae.log_weights(x, k), 1000)).numpy()
    tighter = gaps.log_likelihoods - encoder_iwae
    assert tighter.mean() > 5 * tighter.std(ddof=1) / np.sqrt(tighter.size)


@pytest.mark.slow
def test_elbo_anomaly_scores_beat_a_model_free_baseline(digits):
    seen = digits.train_labels < 5
    data = ImageData("digits 0-4", digits.train[seen], digits.train_labels[seen], digits.test, digits.test_labels, digits.image_shape, 16)
    vae, _ = train(data, TrainConfig(seed=0), device="cpu", progress=False)
    torch.manual_seed(0)
    unseen = digits.test_labels.numpy() >= 5
    scores = anomaly_scores(vae, digits.test)
    difference, se = bootstrap_auroc_difference(scores, ink_scores(digits.test), unseen, draws=500)
    assert auroc(scores[~unseen], scores[unseen]) > 0.9 and difference > 5 * se  # measured 0.980, ink 0.505
    assert auroc(*(pca_scores(digits.train[seen], digits.test)[m] for m in (~unseen, unseen))) > 0.9  # the linear baseline is strong too


def test_label_accuracy_reads_labels_from_informative_dimensions_only():
    from pp_vae.vae import label_accuracy

    class Codes(torch.nn.Module):  # a stand-in VAE whose posterior is the image itself, sharply
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(()))

        def posterior(self, x):
            return torch.distributions.Normal(x, 0.01)

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (1200,), generator=g)
    x = torch.cat([labels[:, None].float(), torch.randn(1200, 1, generator=g)], 1)  # dim 0 is the label, dim 1 noise
    data = ImageData("toy", x[:1000], labels[:1000], x[1000:], labels[1000:], (1, 2))
    informative, noise = label_accuracy(Codes(), data, dims=[0]), label_accuracy(Codes(), data, dims=[1])
    assert informative[0] > 0.9 and abs(noise[0] - 0.1) < 5 * noise[1] + 0.05
    assert informative[0] - noise[0] > 5 * np.hypot(informative[1], noise[1])
    assert label_accuracy(Codes(), data) == label_accuracy(Codes(), data)  # seeded


def test_drawn_code_pixels_match_scipy_at_a_point_posterior_and_sum_to_the_elbo():
    from scipy import stats

    from pp_vae.vae import drawn_code_pixels

    torch.manual_seed(4)
    vae = VAE(VAESpec(12, latent_dim=3, hidden_dim=8, likelihood="gaussian", sigma=0.3))
    x = torch.rand(20, 12)
    torch.manual_seed(5)
    log_prob, squared = drawn_code_pixels(vae, x, num_samples=4000)
    elbo = vae.elbo(x, num_samples=4000) - log_prob.sum(-1) + vae.kl_per_dim(x).sum(-1)
    assert (
        float(elbo.abs().max()) < 0.3 and abs(float(elbo.mean())) < 0.05
    )  # the pixels' reconstruction terms add up to the ELBO plus its KL
    with torch.no_grad():  # q(z | x) a point: the drawn code is the posterior mean
        vae.encoder.log_scale.weight.zero_()
        vae.encoder.log_scale.bias.fill_(-20.0)
    log_prob, squared = drawn_code_pixels(vae, x, num_samples=3)
    mean = vae.decode(vae.posterior_mean(x)).detach().numpy()
    np.testing.assert_allclose(log_prob.numpy(), stats.norm.logpdf(x.numpy(), mean, 0.3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(squared.numpy(), (x.numpy() - mean) ** 2, rtol=1e-4, atol=1e-7)


def test_fitting_local_gaussians_leaves_a_decoder_frozen_on_purpose_frozen():
    torch.manual_seed(0)
    vae = VAE(VAESpec(10, latent_dim=2, hidden_dim=6))
    adopt_generative_model(vae, VAE(VAESpec(10, latent_dim=2, hidden_dim=6)))  # the decoder frozen, the encoder trainable
    flags = lambda: {name: p.requires_grad for name, p in vae.named_parameters()}  # noqa: E731
    before = flags()
    assert any(before.values()) and not all(before.values())
    optimise_local_gaussians(vae, torch.rand(5, 10).round(), steps=2)
    assert flags() == before  # it used to switch every parameter on, the adopted decoder's too
    with pytest.raises(RuntimeError, match="inside"), frozen(vae):
        assert not any(flags().values())
        raise RuntimeError("inside")
    assert flags() == before
