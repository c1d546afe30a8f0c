"""Where training runs: devices named clearly, and data-parallel training under torchrun (gloo, 2 CPU processes)."""

import json
import subprocess
import sys

import pytest

# Measured on the 8x8 digits (named: the default is now MNIST, far more work), Binomial, 100 epochs, batch 128 (2026-11-22):
# one process, seeds 0-3: -105.60, -105.02, -105.48, -105.16
# (sd 0.27); two gloo processes: -106.64, -105.05, -105.35, -104.66 (sd 0.86): the same mean within 0.11 nat. One seed's pair
# differs by up to 1.04 (seed 0); the tolerance is about twice the spread of a difference.
TOLERANCE = 1.5


def _train(out, *launcher, epochs=100):
    cmd = [
        *launcher,
        "-m",
        "pp_vae.cli",
        "train",
        "--dataset",
        "digits",
        "--likelihood",
        "binomial",
        "--epochs",
        str(epochs),
        "--batch-size",
        "128",
        "--seed",
        "0",
        "--device",
        "cpu",
        "--iwae-samples",
        "20",
        "--out",
        str(out),
        "--quiet",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_at_the_same_global_batch(tmp_path):
    one = _train(tmp_path / "one", sys.executable)
    two = _train(tmp_path / "two", sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc-per-node", "2")
    assert two["processes"] == 2 and one["processes"] == 1
    assert set(two) == set(one)
    assert two["epochs"] == one["epochs"] == 100
    assert two["test_elbo"] == pytest.approx(one["test_elbo"], abs=TOLERANCE)
    assert two["train_elbo"] == pytest.approx(one["train_elbo"], abs=TOLERANCE)  # summed over both processes' shares
    assert not list((tmp_path / "two").glob(".checkpoint-*")) and (tmp_path / "two" / "checkpoint.pt").is_file()


def test_a_batch_that_does_not_split_evenly_is_refused(monkeypatch, digits):
    from pp_vae.vae import Parallel, TrainConfig, train

    monkeypatch.setattr(Parallel, "start", classmethod(lambda cls, device: cls(0, 3, device)))
    with pytest.raises(ValueError, match="batch_size 128 must be a multiple of the 3 processes"):
        train(digits, TrainConfig(epochs=1), device="cpu", progress=False)


def test_devices_are_resolved_or_named():
    import torch

    from pp_vae.vae import resolve_device

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' was asked for, but PyTorch sees no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda, got 'tpu'"):
        resolve_device("tpu")
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_more_nccl_processes_than_gpus_is_a_clear_error(monkeypatch):
    import torch

    from pp_vae.vae import Parallel

    for name, value in {"TORCHELASTIC_RUN_ID": "x", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match="torchrun started 2 processes on this machine, but it has 1 GPU: .*--nproc-per-node 1"):
        Parallel.start(torch.device("cuda"))


def test_a_checkpoint_of_a_recorded_cuda_run_resumes_on_the_cpu(digits, tmp_path):
    import torch

    from pp_vae.vae import TrainConfig, load_checkpoint, train
    from pp_vae.vae.checkpoints import CHECKPOINT

    train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    state = load_checkpoint(tmp_path / CHECKPOINT)
    for group in state["optimiser"]["param_groups"]:
        group["capturable"] = True  # as a CUDA run that replays a recorded step writes it
    torch.save(state, tmp_path / CHECKPOINT)
    _, history = train(
        digits, TrainConfig(epochs=2, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, resume=True, progress=False
    )
    assert history.epochs == 2 and history.test_elbo[-1] > history.test_elbo[0]
