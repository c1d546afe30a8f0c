"""Checkpoints: atomic, resumable to the same state, refused when foreign, kept when training is interrupted or a write fails."""

import errno
import os

import pytest
import torch

from pp_vae.files import WriteError
from pp_vae.vae import CHECKPOINT, VAE, History, TrainConfig, VAESpec, load_checkpoint, save_checkpoint, train, vae_from_config


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


def test_a_resumed_run_steps_at_the_schedules_rate_for_its_epoch(digits, tmp_path):
    """Stopped after epoch 3 (stage 1 of the IWAE schedule), resumed into epoch 4 (stage 2): the same run as one straight through."""
    from dataclasses import replace

    config = TrainConfig(epochs=5, hidden_dim=16, latent_dim=2, seed=1, arch="iwae", lr_schedule="iwae")
    straight, straight_history = train(digits, config, device="cpu", out_dir=tmp_path / "straight", progress=False)
    train(digits, replace(config, epochs=4), device="cpu", out_dir=tmp_path / "resumed", progress=False)
    assert load_checkpoint(tmp_path / "resumed" / CHECKPOINT)["optimiser"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 10 ** (-1 / 7))
    with pytest.raises(ValueError, match="'lr_schedule': 'iwae'.*not with these options"):  # the schedule is part of the run
        train(digits, replace(config, lr_schedule="constant"), device="cpu", out_dir=tmp_path / "resumed", resume=True, progress=False)
    resumed, resumed_history = train(digits, config, device="cpu", out_dir=tmp_path / "resumed", resume=True, progress=False)
    assert resumed_history.train_elbo == pytest.approx(straight_history.train_elbo, rel=1e-5)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    for run in ("straight", "resumed"):
        group = load_checkpoint(tmp_path / run / CHECKPOINT)["optimiser"]["param_groups"][0]
        assert group["lr"] == pytest.approx(1e-3 * 10 ** (-2 / 7), rel=1e-12) and group["eps"] == 1e-4


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


def test_resume_with_other_options_is_refused(digits, tmp_path):
    train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="was trained with .* not with these options"):
        train(digits, TrainConfig(epochs=2, hidden_dim=32, latent_dim=2), device="cpu", out_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"was trained with .*'beta': 1.0.* not with these options"):
        train(
            digits,
            TrainConfig(epochs=2, hidden_dim=16, latent_dim=2, beta=2.0),
            device="cpu",
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint to resume from"):
        train(digits, TrainConfig(epochs=1), device="cpu", out_dir=tmp_path / "empty", resume=True, progress=False)


def test_ctrl_c_keeps_the_last_complete_checkpoint(digits, tmp_path, monkeypatch):
    from pp_vae.vae.objective import TrainingLoss

    real_step, calls = TrainingLoss.forward, {"n": 0}
    steps_per_epoch = -(-digits.train.shape[0] // 128)

    def interrupted_step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + 3:  # a few steps into the second epoch
            raise KeyboardInterrupt
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(TrainingLoss, "forward", interrupted_step)
    with pytest.raises(KeyboardInterrupt, match="checkpoint of epoch 1 is kept: rerun with --resume"):
        train(digits, TrainConfig(epochs=3, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, progress=False)
    assert len(load_checkpoint(tmp_path / CHECKPOINT)["history"]["train_elbo"]) == 1
    assert not list(tmp_path.glob(".checkpoint*.tmp"))  # no temporary file left behind


def test_a_checkpoint_loads_onto_the_device_asked_for(tmp_path):
    vae = VAE(VAESpec(8, latent_dim=2, hidden_dim=4))
    save_checkpoint(tmp_path / CHECKPOINT, vae, torch.optim.Adam(vae.parameters()), TrainConfig(), History())
    state = load_checkpoint(tmp_path / CHECKPOINT, device="meta")  # any device: a CUDA checkpoint resumes on a CPU
    assert all(t.device.type == "meta" for t in state["vae"].values())


def test_a_failed_checkpoint_write_names_the_file_and_the_cause_and_the_last_one_resumes(digits, tmp_path, monkeypatch):
    import pp_vae.vae.checkpoints as checkpoints

    real_write, calls = checkpoints.atomic_write, {"n": 0}

    def disk_full_on_the_second(path, write):
        calls["n"] += 1
        if calls["n"] < 2:
            return real_write(path, write)

        def full(f):
            f.write(b"part of a checkpoint")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return real_write(path, full)

    monkeypatch.setattr(checkpoints, "atomic_write", disk_full_on_the_second)
    config = TrainConfig(epochs=3, hidden_dim=16, latent_dim=2)
    with pytest.raises(WriteError) as failed:
        train(digits, config, device="cpu", out_dir=tmp_path, progress=False)
    path = tmp_path / CHECKPOINT
    assert str(failed.value) == (
        f"cannot write {path}: No space left on device; the checkpoint of epoch 1 is kept: make room and rerun with --resume"
    )
    assert len(load_checkpoint(path)["history"]["train_elbo"]) == 1 and [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]
    monkeypatch.undo()
    _, history = train(digits, config, device="cpu", out_dir=tmp_path, resume=True, progress=False)
    assert history.epochs == 3 and len(load_checkpoint(path)["history"]["train_elbo"]) == 3
