"""Scoring a trained run: per-image bounds against exact quadrature, standard errors, and ``evaluate_run``'s refusals."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from pp_vae.data import load_dataset
from pp_vae.vae import TrainConfig, train
from pp_vae.vae.baseline import no_latent_log_likelihood
from pp_vae.vae.bounds import iwae_bound
from pp_vae.vae.checkpoints import CHECKPOINT
from pp_vae.vae.evaluation import evaluate_run, load_trained_vae, mean_and_se, per_image_bounds, score_against_baseline
from pp_vae.vae.quadrature import grid_log_likelihood


@pytest.fixture(scope="module")
def mnist5k_dynamic():
    """The 5,000 embedded MNIST digits, dynamically binarised (loaded once for the draw-for-draw comparisons)."""
    return load_dataset("mnist5k", binarize="dynamic")


def test_mean_and_se():
    values = np.array([1.0, 2.0, 3.0, 6.0])
    assert mean_and_se(values) == pytest.approx((3.0, np.std(values, ddof=1) / 2))


@pytest.mark.slow
def test_per_image_bounds_bracket_the_exact_log_likelihood_of_a_2d_code(digits):
    vae, _ = train(digits, TrainConfig(latent_dim=2, epochs=5, hidden_dim=64, seed=0), device="cpu", progress=False)
    x = digits.test[:40]
    exact = grid_log_likelihood(vae, x)  # log p(x) by quadrature over the 2-D code: an independent truth
    torch.manual_seed(0)
    elbo, iwae = per_image_bounds(vae, x, num_samples=500)
    gap = exact - iwae
    # IWAE(500) lies below log p(x) on average (one image's estimate may stray above it) and closes most of the ELBO's gap
    assert 0 < gap.mean() < 0.5 * (exact - elbo).mean()
    assert (iwae >= elbo).all()
    torch.manual_seed(0)
    assert iwae.mean() == pytest.approx(iwae_bound(vae, x, num_samples=500), abs=1e-4)  # the same draws, the same bound


@pytest.mark.slow
def test_evaluate_run_scores_a_checkpoint_beside_the_baseline(tmp_path):
    data = load_dataset("mnist5k", binarize="dynamic")
    train(data, TrainConfig(epochs=1, hidden_dim=32, latent_dim=4), device="cpu", out_dir=tmp_path, progress=False)
    report = evaluate_run(tmp_path, "mnist5k", iwae_samples=20, limit=200)
    assert report["images"] == 200 and report["binarize"] == "dynamic" and report["trained_on"] == "mnist5k"
    subset = data.test[:200]
    baseline = no_latent_log_likelihood(data)[:200]
    assert report["no_latent_log_likelihood"] == pytest.approx(baseline.mean(), rel=1e-6)
    # the margin is paired: its SE is the spread of the per-image differences, below the score's own spread
    assert report["log_likelihood_margin"] == pytest.approx(report["test_log_likelihood"] - baseline.mean(), abs=1e-4)
    assert report["log_likelihood_margin_se"] < report["test_log_likelihood_se"]
    # the library call on the same 200 images gives the same baseline and, with the same draws, the same bound
    vae, _ = load_trained_vae(tmp_path)
    torch.manual_seed(1)
    again = score_against_baseline(vae, replace(data, test=subset), iwae_samples=20)
    assert again["no_latent_log_likelihood"] == pytest.approx(report["no_latent_log_likelihood"], rel=1e-6)
    assert again["test_log_likelihood"] == pytest.approx(report["test_log_likelihood"], abs=3 * report["test_log_likelihood_se"])


def test_evaluate_run_names_what_is_wrong(tmp_path, digits):
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        evaluate_run(tmp_path / "nowhere", "mnist5k")
    with pytest.raises(FileNotFoundError, match=f"holds no {CHECKPOINT}: train a run there first"):
        evaluate_run(tmp_path, "mnist5k")
    train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"mnist5k: images are 28x28, but .* was trained on 8x8 images \(digits\)"):
        evaluate_run(tmp_path, "mnist5k")
    with pytest.raises(FileNotFoundError, match="scoring needs the two t10k files"):
        evaluate_run(tmp_path, f"mnist:{tmp_path}")


@pytest.mark.slow
def _assert_same_bounds(ours, plain, test):
    """pp_vae's per-image ELBO and IWAE(30) and the plain-PyTorch VAE's, from the same draws, agree to 1e-3 nats."""
    from tests.reference_vae import plain_bounds

    torch.manual_seed(1)
    our_elbo, our_iwae = per_image_bounds(ours, test, 30)
    torch.manual_seed(1)
    plain_elbo, plain_iwae = plain_bounds(plain, test, 30)
    np.testing.assert_allclose(our_iwae, plain_iwae, atol=1e-3)
    np.testing.assert_allclose(our_elbo, plain_elbo, atol=1e-3)


def test_the_pyro_vae_on_binarised_mnist_is_the_plain_pytorch_vae_draw_for_draw(mnist5k_dynamic):
    """pp_vae's model/guide trained by SVI on dynamically binarised digits equals a plain-PyTorch VAE written out by hand."""
    from dataclasses import replace as replace_data

    from tests.reference_vae import train_plain_binarised

    data = replace_data(mnist5k_dynamic, train=mnist5k_dynamic.train[:600], test=mnist5k_dynamic.test[:50])
    config = TrainConfig(epochs=2, latent_dim=8, hidden_dim=64, batch_size=100, seed=2)
    ours, _ = train(data, config, device="cpu", progress=False)
    plain, _ = train_plain_binarised(data.train, config)
    _assert_same_bounds(ours, plain, data.test)


def test_the_iwae_networks_on_the_papers_schedule_are_the_plain_pytorch_vae_draw_for_draw(mnist5k_dynamic):
    """Burda et al.'s 784-200-200-50 tanh VAE at batch 20 with the paper's learning-rate stages and Adam epsilon, trained by
    pp_vae's SVI and by plain PyTorch written out by hand (tests/reference_vae.py) from the same seed: 25 steps over
    epochs 0-4 (stages 0, 1, 1, 1, 2) give the same training loss every epoch and the same bounds after."""
    from tests.reference_vae import train_plain_binarised

    data = replace(mnist5k_dynamic, train=mnist5k_dynamic.train[:100], test=mnist5k_dynamic.test[:20])
    config = TrainConfig(epochs=5, arch="iwae", latent_dim=50, hidden_dim=200, batch_size=20, lr_schedule="iwae", seed=4)
    ours, history = train(data, config, device="cpu", progress=False)
    plain_losses: list[float] = []
    plain, _ = train_plain_binarised(data.train, config, plain_losses)
    np.testing.assert_allclose(history.train_elbo, plain_losses, rtol=1e-5)
    _assert_same_bounds(ours, plain, data.test)
    # the check can fail: the same plain VAE at a constant rate with torch's epsilon trains otherwise from epoch 1 on
    constant_losses: list[float] = []
    train_plain_binarised(data.train, replace(config, lr_schedule="constant"), constant_losses)
    print("epoch losses, paper's schedule - constant:", np.subtract(plain_losses, constant_losses))
    assert np.abs(np.subtract(plain_losses, constant_losses)[1:]).min() > 1e-3 * np.abs(plain_losses).max()


def test_metrics_of_pixels_without_a_baseline_still_carry_the_iwae_bound(digits):
    """Grey levels with no integer levels have no discrete no-latent baseline: metrics.json says so and still scores the run."""
    from pp_vae.vae.metrics import training_metrics

    floats = replace(digits, levels=None)
    config = TrainConfig(epochs=1, hidden_dim=16, latent_dim=2, likelihood="gaussian", sigma="optimal")
    vae, history = train(floats, config, device="cpu", progress=False)
    report = training_metrics(vae, floats, config, history, iwae_samples=5)
    assert report["no_latent_log_likelihood"] is None and "no discrete no-latent baseline" in report["no_latent_note"]
    assert report["test_log_likelihood"] > report["test_elbo"] - 5 * report["test_log_likelihood_se"]
    assert "log_likelihood_margin" not in report
