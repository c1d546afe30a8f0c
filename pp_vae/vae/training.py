"""Training a VAE (any member of the family) by stochastic VI on CPU or GPU: the loop.

Each step is SVI's step: Pyro's ``differentiable_loss`` of the model/guide pair at the objective's KL
weight (:mod:`pp_vae.vae.objective`) and one torch Adam over all the weights, at the learning rate that
the config's schedule gives the epoch (:func:`pp_vae.vae.config.learning_rate`). Checkpoints
(:mod:`pp_vae.vae.checkpoints`) are written every epoch, so an interrupted run resumes; under
``torchrun`` the processes share each batch (:mod:`pp_vae.vae.devices`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyro
import torch
from pyro.poutine.util import is_validation_enabled

from pp_vae.data.images import ImageData
from pp_vae.files import WriteError
from pp_vae.vae.bounds import elbo_per_image
from pp_vae.vae.checkpoints import CHECKPOINT, data_description, load_checkpoint, save_checkpoint
from pp_vae.vae.config import History, TrainConfig
from pp_vae.vae.devices import Parallel, resolve_device
from pp_vae.vae.family import VAEFamily, adopt_generative_model, make_vae
from pp_vae.vae.graphs import GraphedStep
from pp_vae.vae.objective import TrainingLoss


def new_vae(data: ImageData, config: TrainConfig, device: torch.device | str = "cpu") -> VAEFamily:
    """A fresh VAE of ``config``'s kind and sizes for ``data``'s images, initialised from ``config.seed``, on ``device``."""
    torch.manual_seed(config.seed)
    vae = make_vae(config.model, config.vae_spec(data.input_dim, data.levels, data.image_shape))
    return vae.to(device)


def start_from_vae(vae: VAEFamily, source: VAEFamily) -> None:
    """Copy every weight of ``source`` (model and guide) into ``vae``, which must be the same kind and sizes: a warm start."""
    if vae.config() != source.config():
        raise ValueError(f"start_from: the trained VAE is {source.config()}, not the {vae.config()} that the config asks for")
    vae.load_state_dict(source.state_dict())


def _save(
    checkpoint: Path, vae: VAEFamily, optimiser: torch.optim.Optimizer, config: TrainConfig, history: History, data: ImageData
) -> None:
    """:func:`save_checkpoint`; a failed write says which checkpoint is kept and how to go on."""
    try:
        save_checkpoint(checkpoint, vae, optimiser, config, history, data_description(data))
    except WriteError as error:
        kept = history.epochs - 1
        hint = f"the checkpoint of epoch {kept} is kept: make room and rerun with --resume" if kept else "no checkpoint was written"
        raise error.with_hint(hint) from error


def _set_learning_rate(optimiser: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group's learning rate to ``lr``: in place where it is a tensor (a recorded CUDA graph reads it there)."""
    for group in optimiser.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def train(
    data: ImageData,
    config: TrainConfig,
    *,
    device: str | torch.device = "auto",
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    generative_from: VAEFamily | None = None,
    start_from: VAEFamily | None = None,
    after_epoch: Callable[[int, VAEFamily], None] | None = None,
    cuda_graph: bool = True,
) -> tuple[VAEFamily, History]:
    """Train a VAE of ``config.model``'s kind on ``data`` by stochastic VI; checkpoint every epoch into ``out_dir``.

    Adam's learning rate in each epoch is ``config.lr_at(epoch)`` (constant, or the IWAE paper's stages), its
    epsilon ``config.adam_eps``. ``history.train_elbo`` is the training objective (the ELBO when beta = 1 and no annealing,
    the IWAE bound with ``config.iwae_train_samples`` draws under ``objective="iwae"``);
    ``history.test_elbo`` is always the ELBO. Each epoch shuffles with a generator seeded by ``(seed,
    epoch)`` and reseeds Pyro the same way, so a resumed run continues exactly as an uninterrupted one
    would. Ctrl-C, or a checkpoint that cannot be written (:class:`~pp_vae.files.WriteError`), leaves the last
    complete epoch's checkpoint in place. Launched by ``torchrun``, it
    trains data-parallel; only rank 0 evaluates the test ELBO and writes checkpoints. With ``generative_from``
    the new VAE adopts that trained VAE's ``p(x, z)``, frozen, and only its guide learns. With ``start_from`` it starts
    from all of that trained VAE's weights (same kind and sizes), and all of them learn, under a fresh Adam.
    ``after_epoch(epoch, vae)`` is called on the main process after each epoch's test ELBO, the VAE in eval mode.

    On a GPU each full batch's step is replayed from a CUDA graph (:mod:`pp_vae.vae.graphs`) unless
    ``cuda_graph`` is false, the KL weight is annealed, or the run is data-parallel: the same steps and
    random draws, without Pyro's Python on every step.
    """
    from tqdm.auto import tqdm

    if start_from is not None and (resume or generative_from is not None):
        raise ValueError("start_from starts a new run from a trained VAE's weights: it cannot be combined with resume or generative_from")
    parallel = Parallel.start(resolve_device(device))
    torch_device = parallel.device
    if config.batch_size % parallel.world_size:
        raise ValueError(
            f"batch_size {config.batch_size} must be a multiple of the {parallel.world_size} processes (each takes an equal share)"
        )
    pyro.clear_param_store()
    vae = new_vae(data, config, torch_device)
    if start_from is not None:
        start_from_vae(vae, start_from)
    frozen = [getattr(vae, name) for name in vae.generative] if generative_from is not None else []
    if generative_from is not None:
        adopt_generative_model(vae, generative_from)
    # what the model will see: under dynamic binarisation, binary draws of the grey levels (drawn aside, off the run's stream)
    vae.likelihood.check(f"{data.name} train", data.observe(data.train.cpu(), torch.Generator().manual_seed(0)).numpy())
    vae.likelihood.check(f"{data.name} test", data.test.cpu().numpy())
    data = data.to(torch_device)
    checkpoint = Path(out_dir) / CHECKPOINT if out_dir else None
    progress = progress and parallel.is_main
    steps_per_epoch = -(-data.train.shape[0] // config.batch_size)
    objective = config.kl_schedule(steps_per_epoch)
    use_graph = cuda_graph and torch_device.type == "cuda" and not parallel.grouped and objective.anneal_steps == 0
    optimiser = torch.optim.Adam([p for p in vae.parameters() if p.requires_grad], lr=config.lr, eps=config.adam_eps, capturable=use_graph)
    history = History()
    if resume:
        if checkpoint is None or not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint to resume from in {out_dir}")
        state = load_checkpoint(checkpoint, torch_device)
        was = state["train_config"]
        trained = {
            **state["vae_config"],
            "beta": was["beta"],
            "anneal_epochs": was["anneal_epochs"],
            "lr": was["lr"],
            "lr_schedule": was.get("lr_schedule", "constant"),  # written before learning-rate schedules
            "free_bits": was.get("free_bits", 0.0),  # written before free bits
            "objective": was.get("objective", "elbo"),  # written before the IWAE objective
            "iwae_train_samples": was.get("iwae_train_samples", 1),
        }
        asked = {**vae.config(), "lr": config.lr, "lr_schedule": config.lr_schedule}
        asked.update(objective=config.objective, iwae_train_samples=config.iwae_train_samples)
        asked.update(beta=config.beta, anneal_epochs=config.anneal_epochs, free_bits=config.free_bits)
        if trained != asked:
            raise ValueError(f"{checkpoint} was trained with {trained}, not with these options; use another --out")
        if state["data"] and state["data"] != data_description(data):
            raise ValueError(f"{checkpoint} was trained on {state['data']}, not on {data_description(data)}; use another --out")
        vae.load_state_dict(state["vae"])
        optimiser.load_state_dict(state["optimiser"])
        history = History(**state["history"])
    # a recorded step reads a varying learning rate from a tensor on the device (a float would be frozen into the graph)
    lr_on_device = use_graph and config.lr_schedule != "constant"
    for group in optimiser.param_groups:  # (a resumed state may have been written on another device, or with(out) a graph)
        group["capturable"] = use_graph
        group["eps"] = config.adam_eps
        group["lr"] = torch.tensor(config.lr, device=torch_device) if lr_on_device else config.lr  # each epoch sets its own

    loss = TrainingLoss(vae, free_bits=config.free_bits, iwae_samples=config.training_samples)
    loss_of = parallel.wrap(loss)  # the loss module, or DistributedDataParallel of it: both return the batch's loss
    n = data.train.shape[0]
    validate = is_validation_enabled()
    graphed: GraphedStep | None = None
    if use_graph and n >= config.batch_size and history.epochs < config.epochs:
        # recorded before any step runs eagerly (an autograd graph kept alive from such a step, as the IAF's
        # cached transforms keep one, would tie the recording to the default stream), in training mode,
        # without Pyro's argument checks (they read the GPU), leaving the random stream as it was
        vae.train()
        for module in frozen:
            module.eval()
        loss.kl_weight = objective.kl_weight(0)
        rng = torch.cuda.get_rng_state(torch_device)
        with pyro.validation_enabled(False):
            graphed = GraphedStep(loss, vae, optimiser, data.observe(data.train[: config.batch_size]))
        torch.cuda.set_rng_state(rng, torch_device)
    try:
        for epoch in range(history.epochs, config.epochs):
            vae.train()  # a Gaussian likelihood's optimal sigma follows the batches while training
            for module in frozen:
                module.eval()  # an adopted generative model stays as it was (its sigma too)
            start = time.perf_counter()
            _set_learning_rate(optimiser, config.lr_at(epoch))  # a function of the epoch alone: resumed runs step alike
            generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=generator).to(torch_device)
            pyro.set_rng_seed(config.seed * 100_003 + epoch + 7919 * parallel.rank)
            total = torch.zeros((), device=torch_device)
            batches = range(0, n, config.batch_size)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False, unit="batch")
            for i, first in enumerate(bar):
                loss.kl_weight = objective.kl_weight(epoch * steps_per_epoch + i)
                # every process takes every world_size-th image of the global batch
                # (dynamically binarised data: fresh binary pixels, drawn from the epoch's seeded stream)
                batch = data.observe(data.train[order[first : first + config.batch_size][parallel.rank :: parallel.world_size]])
                if batch.shape[0] == 0:
                    continue
                # Pyro's argument checks on the first step of a run only: they cost a third of a step
                checking = validate and epoch == history.epochs and i == 0
                if graphed is not None and not checking and batch.shape[0] == config.batch_size:
                    total += graphed(batch)
                else:
                    with pyro.validation_enabled(checking):
                        value = loss_of(batch)
                    optimiser.zero_grad(set_to_none=True)
                    # DDP averages gradients over processes; scaling by their number gives the global batch's sum
                    (value * parallel.world_size).backward()
                    optimiser.step()
                    total += value.detach()
                    del value  # no autograd graph outlives its step (a recorded step must not meet one)
                if progress and i % 20 == 0:
                    bar.set_postfix(elbo=f"{-float(total) * parallel.world_size / min(n, first + config.batch_size):.2f}")
            history.train_elbo.append(-parallel.sum(total) / n)
            history.seconds.append(time.perf_counter() - start)
            vae.eval()  # and is frozen at its running estimate to score the test images
            if parallel.is_main:
                pyro.set_rng_seed(config.seed + 7 * epoch + 1)
                history.test_elbo.append(elbo_per_image(vae, data.test))
                if after_epoch is not None:
                    after_epoch(epoch, vae)
                if progress:
                    tqdm.write(
                        f"epoch {epoch + 1}: train ELBO {history.train_elbo[-1]:.3f}, test ELBO {history.test_elbo[-1]:.3f} nats/image"
                    )
                if checkpoint:
                    _save(checkpoint, vae, optimiser, config, history, data)
            else:
                history.test_elbo.append(float("nan"))  # only the main process evaluates and writes
    except KeyboardInterrupt:
        where = f"; the checkpoint of epoch {history.epochs} is kept: rerun with --resume" if checkpoint and history.epochs else ""
        raise KeyboardInterrupt(f"training interrupted{where}") from None
    vae.eval()
    return vae, history
