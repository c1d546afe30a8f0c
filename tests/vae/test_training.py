"""The training loop: options named when wrong, reproducible from its seed, the objective applied, a GPU epoch."""

import pytest

from pp_vae.vae import FAMILIES, TrainConfig, load_checkpoint, train
from pp_vae.vae.checkpoints import CHECKPOINT


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1, got 0"):
        TrainConfig(latent_dim=0)
    with pytest.raises(ValueError, match=f"model must be one of {', '.join(FAMILIES)}, got 'flow'"):
        TrainConfig(model="flow")
    with pytest.raises(ValueError, match="lr must be positive, got 0"):
        TrainConfig(lr=0)
    with pytest.raises(ValueError, match="beta must be a positive number, got -1"):
        TrainConfig(beta=-1)


def test_the_same_seed_gives_the_same_run_and_another_seed_another(digits):
    config = TrainConfig(epochs=2, hidden_dim=16, latent_dim=2, seed=3)
    _, first = train(digits, config, device="cpu", progress=False)
    _, again = train(digits, config, device="cpu", progress=False)
    _, other = train(digits, TrainConfig(epochs=2, hidden_dim=16, latent_dim=2, seed=4), device="cpu", progress=False)
    assert first.train_elbo == again.train_elbo and first.test_elbo == again.test_elbo
    assert first.train_elbo != other.train_elbo


def test_each_step_uses_the_objectives_kl_weight(digits, monkeypatch):
    from pp_vae.vae.objective import TrainingLoss

    seen, real = [], TrainingLoss.forward

    def spy(self, x):
        seen.append(self.kl_weight)
        return real(self, x)

    monkeypatch.setattr(TrainingLoss, "forward", spy)
    config = TrainConfig(epochs=3, hidden_dim=16, latent_dim=2, beta=2.0, anneal_epochs=2)
    train(digits, config, device="cpu", progress=False)
    steps = -(-digits.train.shape[0] // config.batch_size)
    objective = config.objective(steps)
    assert seen == [objective.kl_weight(step) for step in range(3 * steps)]
    assert seen[0] == pytest.approx(2.0 / (2 * steps)) and seen[-1] == 2.0


@pytest.mark.gpu
def test_one_cuda_epoch(digits, tmp_path):
    vae, history = train(digits, TrainConfig(epochs=1), device="cuda", out_dir=tmp_path, progress=False)
    assert vae.device.type == "cuda" and history.test_elbo[-1] > -60
    assert load_checkpoint(tmp_path / CHECKPOINT)["history"]["train_elbo"]
