"""The Pyro VAE: against an independent plain-PyTorch VAE, its bounds, checkpoints, resume, CLI."""

import json
import subprocess
import sys

import pyro
import pytest
import torch

from pp_vae.data import load_digits
from pp_vae.vae import VAE, elbo_per_image, iwae_bound, vae_from_config
from pp_vae.vae_analysis import fit_per_datapoint
from pp_vae.vae_training import CHECKPOINT, TrainConfig, load_checkpoint, resolve_device, train
from tests.reference_vae import train_plain

# Measured once on digits, 30 epochs, latent 10, hidden 256, batch 128, lr 1e-3, seeds 0 and 1:
# Pyro VAE test ELBO -25.82 nats/image; plain PyTorch -25.92. The floor leaves 0.5 nat of slack.
TEST_ELBO_FLOOR = -26.3


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def trained(digits):
    return train(digits, TrainConfig(epochs=30, seed=0), device="cpu", progress=False)


@pytest.mark.slow
def test_pyro_vae_matches_the_plain_pytorch_vae_and_the_pinned_floor(digits, trained):
    _, history = trained
    plain = train_plain(digits.train, digits.test, epochs=30, latent_dim=10, hidden_dim=256, batch_size=128, lr=1e-3, seed=0)
    assert history.test_elbo[-1] >= plain - 1.0
    assert history.test_elbo[-1] >= TEST_ELBO_FLOOR


@pytest.mark.slow
def test_elbo_improves_over_training(trained):
    _, history = trained
    assert history.train_elbo[-1] > history.train_elbo[0] + 5
    assert history.test_elbo[-1] > history.test_elbo[0] + 2


@pytest.mark.slow
def test_iwae_is_above_the_elbo_and_grows_with_k(digits, trained):
    vae, _ = trained
    x = digits.test
    torch.manual_seed(0)
    elbo = elbo_per_image(vae, x, num_samples=50)
    bounds = {k: iwae_bound(vae, x, num_samples=k) for k in (1, 10, 100, 1000)}
    assert bounds[1] == pytest.approx(elbo, abs=0.1)  # K = 1 is the ELBO
    assert bounds[10] > bounds[1] and bounds[100] > bounds[10] and bounds[1000] >= bounds[100] - 0.01
    assert bounds[1000] > elbo


@pytest.mark.slow
def test_amortised_encoder_vs_per_datapoint_optimisation(digits, trained):
    vae, _ = trained
    x = digits.test[:40]
    per_point_elbo, seconds_per_point = fit_per_datapoint(vae, x, steps=800, lr=0.02)
    torch.manual_seed(0)
    encoder_elbo = elbo_per_image(vae, x, num_samples=50)
    # optimising each q_i directly can only do as well or better than the encoder (the amortisation gap >= 0)
    assert per_point_elbo >= encoder_elbo - 0.1
    assert seconds_per_point > 0


def test_checkpoint_round_trip_and_resume_give_the_same_state(digits, tmp_path):
    config = TrainConfig(epochs=3, hidden_dim=32, latent_dim=4, seed=5)
    straight, straight_history = train(digits, config, device="cpu", out_dir=tmp_path / "straight", progress=False)

    first_part = TrainConfig(epochs=2, hidden_dim=32, latent_dim=4, seed=5)
    train(digits, first_part, device="cpu", out_dir=tmp_path / "resumed", progress=False)
    state = load_checkpoint(tmp_path / "resumed" / CHECKPOINT)
    assert len(state["history"]["train_elbo"]) == 2
    resumed, resumed_history = train(digits, config, device="cpu", out_dir=tmp_path / "resumed", resume=True, progress=False)

    assert resumed_history.train_elbo == pytest.approx(straight_history.train_elbo, rel=1e-5)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    final = load_checkpoint(tmp_path / "resumed" / CHECKPOINT)
    rebuilt = vae_from_config(final["vae_config"])
    rebuilt.load_state_dict(final["vae"])
    torch.testing.assert_close(rebuilt.reconstruct(digits.test[:5]), resumed.reconstruct(digits.test[:5]))


def test_corrupt_or_foreign_checkpoints_are_clear_errors(tmp_path):
    bad = tmp_path / CHECKPOINT
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="is not a readable pp-vae checkpoint"):
        load_checkpoint(bad)
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(ValueError, match=r"is not a pp-vae checkpoint \(missing keys\)"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_resume_with_other_sizes_is_refused(digits, tmp_path):
    train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="was trained with .* not with these options"):
        train(digits, TrainConfig(epochs=2, hidden_dim=32, latent_dim=2), device="cpu", out_dir=tmp_path, resume=True, progress=False)


def test_bad_options_and_devices():
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1, got 0"):
        TrainConfig(latent_dim=0)
    with pytest.raises(ValueError, match="likelihood must be one of bernoulli, gaussian"):
        VAE(64, likelihood="poisson")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' was asked for, but PyTorch sees no CUDA GPU"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"


def test_gaussian_likelihood_is_the_mse_view():
    vae = VAE(4, latent_dim=2, hidden_dim=8, likelihood="gaussian", sigma=0.5)
    x, mean = torch.rand(3, 4), torch.rand(3, 4)
    log_p = vae.likelihood_dist(mean).log_prob(x)
    mse_view = -((x - mean) ** 2).sum(-1) / (2 * 0.25) - 4 * torch.log(torch.tensor(0.5 * (2 * torch.pi) ** 0.5))
    torch.testing.assert_close(log_p, mse_view)


@pytest.mark.slow
def test_cli_train_writes_the_metrics_contract_and_figures(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pp_vae.cli", "train", "--epochs", "2", "--latent-dim", "2", "--hidden-dim", "32",
           "--iwae-samples", "50", "--seed", "3", "--device", "cpu", "--out", str(out), "--quiet"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"train_elbo", "test_elbo", "epochs", "seconds_per_epoch", "device", "test_log_likelihood"} <= set(metrics)
    assert metrics["epochs"] == 2 and metrics["device"] == "cpu" and metrics["test_log_likelihood"] > metrics["test_elbo"] - 0.5
    for figure in ("elbo.png", "reconstructions.png", "samples.png", "latent_means.png", "manifold.png", CHECKPOINT):
        assert (out / figure).stat().st_size > 0
    resumed = subprocess.run([*cmd[:5], "3", *cmd[6:], "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and json.loads((out / "metrics.json").read_text())["epochs"] == 3


def test_cli_train_bad_input_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pp_vae.cli", "train", "--dataset", f"mnist:{tmp_path}/none", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: MNIST folder not found") and "Traceback" not in result.stderr


@pytest.mark.gpu
def test_one_cuda_epoch(digits, tmp_path):
    vae, history = train(digits, TrainConfig(epochs=1), device="cuda", out_dir=tmp_path, progress=False)
    assert next(vae.parameters()).is_cuda and history.test_elbo[-1] > -60
    assert load_checkpoint(tmp_path / CHECKPOINT)["history"]["train_elbo"]


def teardown_module():
    pyro.clear_param_store()


def test_ctrl_c_keeps_the_last_complete_checkpoint(digits, tmp_path, monkeypatch):
    real_step, calls = VAE.forward, {"n": 0}
    steps_per_epoch = -(-digits.train.shape[0] // 128)

    def interrupted_step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 3:  # a few steps into the second epoch
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(VAE, "forward", interrupted_step)
    with pytest.raises(KeyboardInterrupt, match="checkpoint of epoch 1 is kept: rerun with --resume"):
        train(digits, TrainConfig(epochs=3, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    assert len(load_checkpoint(tmp_path / CHECKPOINT)["history"]["train_elbo"]) == 1
    assert not list(tmp_path.glob(".checkpoint-*"))  # no temporary file left behind
