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
    with pytest.raises(ValueError, match="lr_schedule must be one of constant, iwae, got 'cosine'"):
        TrainConfig(lr_schedule="cosine")
    with pytest.raises(ValueError, match="arch must be one of mlp, conv, linear, iwae, made, got 'rnn'"):
        TrainConfig(arch="rnn")


def test_the_iwae_objective_is_refused_where_it_would_not_be_read():
    with pytest.raises(ValueError, match="objective must be one of elbo, iwae, got 'vimco'"):
        TrainConfig(objective="vimco")
    with pytest.raises(ValueError, match="iwae_train_samples must be an integer >= 1, got 0"):
        TrainConfig(objective="iwae", iwae_train_samples=0)
    with pytest.raises(ValueError, match="iwae_train_samples=5 needs objective='iwae'"):
        TrainConfig(iwae_train_samples=5)
    needs = "needs beta=1, anneal_epochs=0 and free_bits=0, got "
    with pytest.raises(ValueError, match=needs + "beta=2.0, anneal_epochs=0, free_bits=0.0"):
        TrainConfig(objective="iwae", iwae_train_samples=5, beta=2.0)
    with pytest.raises(ValueError, match=needs + "beta=1.0, anneal_epochs=3, free_bits=0.0"):
        TrainConfig(objective="iwae", anneal_epochs=3)
    with pytest.raises(ValueError, match=needs + "beta=1.0, anneal_epochs=0, free_bits=2.0"):
        TrainConfig(objective="iwae", free_bits=2.0)
    assert TrainConfig(objective="iwae", iwae_train_samples=5).training_samples == 5 and TrainConfig().training_samples == 0


def test_an_iwae_run_steps_on_the_k_sample_bound_and_records_it(digits, tmp_path):
    """Every step's loss is minus IWAE_K of its batch; the checkpoint's config says so; a resume must repeat it."""
    from unittest import mock

    from pp_vae.vae.objective import TrainingLoss

    config = TrainConfig(epochs=1, hidden_dim=16, latent_dim=2, objective="iwae", iwae_train_samples=4)
    with mock.patch.object(TrainingLoss, "forward", autospec=True, side_effect=TrainingLoss.forward) as forward:
        train(digits, config, device="cpu", out_dir=tmp_path, progress=False)
    assert {call.args[0].iwae_samples for call in forward.call_args_list} == {4}
    saved = load_checkpoint(tmp_path / CHECKPOINT)["train_config"]
    assert (saved["objective"], saved["iwae_train_samples"]) == ("iwae", 4)
    with pytest.raises(ValueError, match="'objective': 'iwae', 'iwae_train_samples': 4"):
        train(digits, TrainConfig(epochs=2, hidden_dim=16, latent_dim=2), device="cpu", out_dir=tmp_path, resume=True, progress=False)


def test_the_iwae_schedule_is_the_papers_stages_of_3_to_the_i_epochs():
    """Burda et al. (2016): 3^i passes at 0.001 * 10^(-i/7), i = 0..7; epoch -> stage written out by hand."""
    from tests.reference_vae import paper_learning_rate

    paper = TrainConfig(lr_schedule="iwae")
    for epoch, stage in {0: 0, 1: 1, 3: 1, 4: 2, 12: 2, 13: 3, 3279: 7, 3280: 8}.items():
        assert paper.lr_at(epoch) == pytest.approx(0.001 * 10 ** (-stage / 7), rel=1e-12), epoch
    # a second, independently written schedule agrees on every epoch of the run and a stage beyond
    assert [paper.lr_at(e) for e in range(3300)] == pytest.approx([paper_learning_rate(e) for e in range(3300)], rel=1e-12)
    assert TrainConfig(lr_schedule="iwae", lr=2e-3).lr_at(4) == pytest.approx(2e-3 * 10 ** (-2 / 7), rel=1e-12)
    assert TrainConfig().lr_at(3279) == 1e-3 and TrainConfig().adam_eps == 1e-8 and paper.adam_eps == 1e-4
    with pytest.raises(ValueError, match="epoch must be an integer >= 0, got -1"):
        paper.lr_at(-1)


def test_each_epoch_steps_at_its_scheduled_rate_with_the_papers_epsilon(digits, monkeypatch):
    import torch

    seen, real = [], torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append((self.param_groups[0]["lr"], self.param_groups[0]["eps"]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    config = TrainConfig(epochs=5, hidden_dim=16, latent_dim=2, batch_size=512, arch="iwae", lr_schedule="iwae")
    train(digits, config, device="cpu", progress=False)
    steps = -(-digits.train.shape[0] // config.batch_size)
    stages = [0, 1, 1, 1, 2]  # epochs 0..4
    assert seen == [(pytest.approx(1e-3 * 10 ** (-stages[e] / 7), rel=1e-12), 1e-4) for e in range(5) for _ in range(steps)]


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
    objective = config.kl_schedule(steps)
    assert seen == [objective.kl_weight(step) for step in range(3 * steps)]
    assert seen[0] == pytest.approx(2.0 / (2 * steps)) and seen[-1] == 2.0


# Seed-to-seed spread of the digits' test ELBO after 10 epochs (Binomial, batch 128, CPU, seeds 0-3) is about
# 0.3 nats; CPU and CUDA draw different random numbers, so their runs differ like two seeds: 1.5 nats is 5 sd.
DEVICE_TOLERANCE = 1.5


@pytest.mark.gpu
def test_a_cuda_run_matches_the_cpu_run_and_its_graph_replays_the_eager_steps(digits, tmp_path):
    config = TrainConfig(epochs=10)
    cpu_vae, cpu = train(digits, config, device="cpu", progress=False)
    vae, graphed = train(digits, config, device="cuda", out_dir=tmp_path, progress=False)
    _, eager = train(digits, config, device="cuda", progress=False, cuda_graph=False)
    assert vae.device.type == "cuda" and cpu_vae.device.type == "cpu"
    assert graphed.test_elbo[-1] == pytest.approx(cpu.test_elbo[-1], abs=DEVICE_TOLERANCE)
    # the recorded step draws the same random numbers as the eager one: the runs differ by rounding only
    print("graph - eager test ELBO per epoch:", [a - b for a, b in zip(graphed.test_elbo, eager.test_elbo)])
    assert graphed.test_elbo == pytest.approx(eager.test_elbo, abs=0.05)
    assert load_checkpoint(tmp_path / CHECKPOINT)["history"]["train_elbo"] == graphed.train_elbo


@pytest.mark.gpu
@pytest.mark.parametrize("model", list(FAMILIES))
def test_every_member_trains_on_cuda_through_its_recorded_step(digits, model):
    config = TrainConfig(epochs=3, model=model, likelihood="gaussian", sigma="optimal")
    _, graphed = train(digits, config, device="cuda", progress=False)
    _, eager = train(digits, config, device="cuda", progress=False, cuda_graph=False)
    assert graphed.test_elbo == pytest.approx(eager.test_elbo, abs=0.05)


@pytest.mark.gpu
def test_a_cuda_run_resumes_exactly_and_on_the_cpu(digits, tmp_path):
    config = TrainConfig(epochs=4)
    _, straight = train(digits, config, device="cuda", progress=False)
    train(digits, TrainConfig(epochs=2), device="cuda", out_dir=tmp_path, progress=False)
    _, resumed = train(digits, config, device="cuda", out_dir=tmp_path, resume=True, progress=False)
    assert resumed.test_elbo == pytest.approx(straight.test_elbo, abs=1e-3)
    _, on_cpu = train(digits, TrainConfig(epochs=5), device="cpu", out_dir=tmp_path, resume=True, progress=False)
    assert on_cpu.epochs == 5 and on_cpu.test_elbo[:4] == resumed.test_elbo


@pytest.mark.gpu
def test_a_recorded_step_follows_the_learning_rate_schedule_and_resumes_on_it(digits, tmp_path):
    """The graph reads the rate from a device tensor each epoch sets: a rate frozen at epoch 0's would run as the constant
    schedule does, which ends 10-23 nats away per epoch here (measured on the CPU), far outside the 0.05 of rounding."""
    from dataclasses import replace

    config = TrainConfig(epochs=5, arch="iwae", hidden_dim=32, latent_dim=4, batch_size=64, lr_schedule="iwae")
    _, graphed = train(digits, config, device="cuda", progress=False)
    _, eager = train(digits, config, device="cuda", progress=False, cuda_graph=False)
    _, constant = train(digits, replace(config, lr_schedule="constant"), device="cuda", progress=False, cuda_graph=False)
    assert graphed.test_elbo == pytest.approx(eager.test_elbo, abs=0.05)
    assert abs(constant.test_elbo[-1] - eager.test_elbo[-1]) > 1.0
    train(digits, replace(config, epochs=4), device="cuda", out_dir=tmp_path, progress=False)  # stopped in stage 1
    _, resumed = train(digits, config, device="cuda", out_dir=tmp_path, resume=True, progress=False)  # epoch 4: stage 2
    assert resumed.test_elbo == pytest.approx(graphed.test_elbo, abs=0.05)
    _, on_cpu = train(digits, replace(config, epochs=6), device="cpu", out_dir=tmp_path, resume=True, progress=False)
    assert on_cpu.epochs == 6 and on_cpu.test_elbo[:5] == resumed.test_elbo


def test_a_run_started_from_a_trained_vae_takes_its_first_step_from_all_its_weights(digits, monkeypatch):
    """The first loss is evaluated at the source's weights (and not at a fresh seed's); then every weight learns, the source's stay."""
    import torch

    from pp_vae.vae.objective import TrainingLoss

    config = TrainConfig(epochs=1, hidden_dim=16, latent_dim=2)
    source, _ = train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2, beta=50.0), device="cpu", progress=False)
    kept = {name: value.clone() for name, value in source.state_dict().items()}
    first, real = [], TrainingLoss.forward

    def spy(self, x):
        if len(first) < 2:  # the first step's weights, once with start_from and once without
            first.append({name: value.clone() for name, value in self.vae.state_dict().items()})
        return real(self, x)

    monkeypatch.setattr(TrainingLoss, "forward", spy)
    started, _ = train(digits, config, device="cpu", progress=False, start_from=source)
    fresh, _ = train(digits, config, device="cpu", progress=False)
    assert first[0].keys() == kept.keys()
    for name, value in kept.items():
        torch.testing.assert_close(first[0][name], value, rtol=0, atol=0)
        torch.testing.assert_close(source.state_dict()[name], value, rtol=0, atol=0)  # copied, not shared: the source is as it was
    assert any(not torch.equal(first[1][name], value) for name, value in kept.items())  # a fresh run starts elsewhere
    learned = {name for name, value in started.named_parameters() if not torch.equal(value, kept[name])}
    assert learned == {name for name, _ in started.named_parameters()}  # decoder and encoder both learn (generative_from freezes one)


def test_start_from_refuses_a_vae_of_other_sizes_and_the_options_it_cannot_combine_with(digits):
    source, _ = train(digits, TrainConfig(epochs=1, hidden_dim=16, latent_dim=2), device="cpu", progress=False)
    for options, differing in ((dict(hidden_dim=8), "'hidden_dim': 8"), (dict(hidden_dim=16, arch="iwae"), "'arch': 'iwae'")):
        with pytest.raises(ValueError, match=f"start_from: the trained VAE is .*'hidden_dim': 16.*, not the .*{differing}"):
            train(digits, TrainConfig(epochs=1, latent_dim=2, **options), device="cpu", progress=False, start_from=source)
    config = TrainConfig(epochs=1, hidden_dim=16, latent_dim=2)
    for other in (dict(resume=True), dict(generative_from=source)):
        with pytest.raises(ValueError, match="start_from .* cannot be combined with resume or generative_from"):
            train(digits, config, device="cpu", progress=False, start_from=source, **other)


def test_after_epoch_sees_each_epoch_and_the_vae_in_eval_mode_that_train_returns(digits):
    seen = []

    def record(epoch, vae):
        seen.append((epoch, vae.training, float(vae.kl_per_dim(digits.test).sum())))

    vae, history = train(digits, TrainConfig(epochs=3, hidden_dim=16, latent_dim=2), device="cpu", progress=False, after_epoch=record)
    assert [(epoch, training) for epoch, training, _ in seen] == [(0, False), (1, False), (2, False)] and history.epochs == 3
    assert seen[-1][2] == float(vae.kl_per_dim(digits.test).sum()) and seen[0][2] != seen[-1][2]
