"""Training a VAE (any variant) by SVI on CPU or GPU, with KL annealing, atomic checkpoints and resume."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyro
import torch
from pyro.poutine.util import is_validation_enabled

from pp_vae.data import ImageData, check_images
from pp_vae.validation import integer_at_least
from pp_vae.vae import MODELS, VAE, check_sigma, elbo_per_image, iwae_bound
from pp_vae.vae_analysis import posterior_usage

CHECKPOINT = "checkpoint.pt"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without a GPU is a clear error."""
    if isinstance(device, torch.device):
        device = device.type
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here; use --device cpu or auto")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in the checkpoint and in ``metrics.json``)."""

    epochs: int = 50
    latent_dim: int = 10
    hidden_dim: int = 256
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    likelihood: str = "bernoulli"
    sigma: float | str = 0.1
    model: str = "vae"
    beta: float = 1.0
    anneal_epochs: int = 0
    flows: int = 2
    top_dim: int = 4

    def __post_init__(self) -> None:
        for name in ("epochs", "latent_dim", "hidden_dim", "batch_size", "flows", "top_dim"):
            integer_at_least(name, getattr(self, name))
        integer_at_least("anneal_epochs", self.anneal_epochs, 0)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        self.sigma = check_sigma(self.sigma)

    def vae_options(self) -> dict[str, Any]:
        """The constructor arguments of this run's VAE class."""
        options = {"latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim, "likelihood": self.likelihood,
                   "sigma": self.sigma, "beta": self.beta}
        if self.model == "iaf":
            options["flows"] = self.flows
        if self.model == "ladder":
            options["top_dim"] = self.top_dim
        return options


@dataclass
class History:
    """Per-epoch train and test ELBO (nats per image) and seconds."""

    train_elbo: list[float] = field(default_factory=list)
    test_elbo: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_elbo)


def save_checkpoint(path: Path, vae: VAE, optimiser: torch.optim.Optimizer, config: TrainConfig, history: History) -> None:
    """Write the checkpoint atomically: a temporary file in the same folder, then ``os.replace``."""
    state = {
        "vae": vae.state_dict(),
        "vae_config": vae.config(),
        "optimiser": optimiser.state_dict(),
        "train_config": asdict(config),
        "history": asdict(history),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a damaged or foreign file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:
        raise ValueError(f"{path} is not a readable pp-vae checkpoint ({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    if not isinstance(state, dict) or not {"vae", "vae_config", "optimiser", "train_config", "history"} <= set(state):
        raise ValueError(f"{path} is not a pp-vae checkpoint (missing keys)")
    return state


def build_vae(input_dim: int, config: TrainConfig, device: torch.device) -> VAE:
    """A fresh VAE of ``config``'s kind and sizes, initialised from ``config.seed``, on ``device``."""
    torch.manual_seed(config.seed)
    return MODELS[config.model](input_dim, **config.vae_options()).to(device)


def anneal_factor(config: TrainConfig, epoch: int, step: int, steps_per_epoch: int) -> float:
    """KL annealing: the KL weight rises linearly from ~0 to ``beta`` over ``anneal_epochs`` (then stays)."""
    if config.anneal_epochs == 0:
        return 1.0
    return min(1.0, (epoch * steps_per_epoch + step + 1) / (config.anneal_epochs * steps_per_epoch))


def train(
    data: ImageData,
    config: TrainConfig,
    *,
    device: str = "auto",
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> tuple[VAE, History]:
    """Train a VAE of ``config.model``'s kind on ``data`` by stochastic VI (the variant's ELBO, Adam); checkpoint every epoch.

    Each step is SVI's step: Pyro's ``differentiable_loss`` of the model/guide pair (:meth:`VAE.forward`)
    and one torch Adam over all the VAE's weights (cheaper than Pyro's per-parameter optimisers).
    Launched by ``torchrun``, it trains data-parallel (:class:`Parallel`); only rank 0 evaluates the
    test ELBO and writes checkpoints.

    ``history.train_elbo`` is the training objective (the ELBO when beta = 1 and no annealing);
    ``history.test_elbo`` is always the ELBO. Each epoch shuffles with a generator seeded by ``(seed, epoch)`` and reseeds Pyro the same way,
    so a resumed run continues exactly as an uninterrupted one would. Ctrl-C leaves the last
    complete epoch's checkpoint in place.
    """
    from tqdm.auto import tqdm

    torch_device = resolve_device(device)
    parallel = Parallel.start(torch_device)
    torch_device = parallel.device
    if config.batch_size % parallel.world_size:
        raise ValueError(f"batch_size {config.batch_size} must be a multiple of the {parallel.world_size} processes (each takes an equal share)")
    check_images(f"{data.name} train", data.train.cpu().numpy(), config.likelihood)
    check_images(f"{data.name} test", data.test.cpu().numpy(), config.likelihood)
    data = data.to(torch_device)
    checkpoint = Path(out_dir) / CHECKPOINT if out_dir else None
    progress = progress and parallel.is_main

    pyro.clear_param_store()
    vae = build_vae(data.input_dim, config, torch_device)
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.lr)
    history = History()
    if resume:
        if checkpoint is None or not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint to resume from in {out_dir}")
        state = load_checkpoint(checkpoint, torch_device)
        if state["vae_config"] != vae.config():
            raise ValueError(f"{checkpoint} was trained with {state['vae_config']}, not with these options; use another --out")
        vae.load_state_dict(state["vae"])
        optimiser.load_state_dict(state["optimiser"])
        history = History(**state["history"])

    loss_of = parallel.wrap(vae)  # vae itself, or DistributedDataParallel(vae): both return the batch's loss
    n = data.train.shape[0]
    steps_per_epoch = -(-n // config.batch_size)
    validate = is_validation_enabled()
    try:
        for epoch in range(history.epochs, config.epochs):
            start = time.perf_counter()
            generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=generator).to(torch_device)
            pyro.set_rng_seed(config.seed * 100_003 + epoch + 7919 * parallel.rank)
            total = torch.zeros((), device=torch_device)
            batches = range(0, n, config.batch_size)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress, leave=False, unit="batch")
            for i, first in enumerate(bar):
                vae.anneal = anneal_factor(config, epoch, i, steps_per_epoch)
                # every process takes every world_size-th image of the global batch
                batch = data.train[order[first:first + config.batch_size][parallel.rank::parallel.world_size]]
                if batch.shape[0] == 0:
                    continue
                # Pyro's argument checks on the first step of a run only: they cost a third of a step
                with pyro.validation_enabled(validate and epoch == history.epochs and i == 0):
                    loss = loss_of(batch)
                optimiser.zero_grad(set_to_none=True)
                # DDP averages gradients over processes; scaling by their number gives the global batch's sum
                (loss * parallel.world_size).backward()
                optimiser.step()
                total += loss.detach()
                if progress and i % 5 == 0:
                    bar.set_postfix(elbo=f"{-float(total) * parallel.world_size / min(n, first + config.batch_size):.2f}")
            history.train_elbo.append(-parallel.sum(total) / n)
            history.seconds.append(time.perf_counter() - start)
            vae.anneal = 1.0
            if parallel.is_main:
                pyro.set_rng_seed(config.seed + 7 * epoch + 1)
                history.test_elbo.append(elbo_per_image(vae, data.test))
                if progress:
                    tqdm.write(f"epoch {epoch + 1}: train ELBO {history.train_elbo[-1]:.3f}, test ELBO {history.test_elbo[-1]:.3f} nats/image")
                if checkpoint:
                    save_checkpoint(checkpoint, vae, optimiser, config, history)
            else:
                history.test_elbo.append(float("nan"))  # only the main process evaluates and writes
    except KeyboardInterrupt:
        where = f"; the checkpoint of epoch {history.epochs} is kept: rerun with --resume" if checkpoint and history.epochs else ""
        raise KeyboardInterrupt(f"training interrupted{where}") from None
    return vae, history


def launched_as() -> tuple[int, int]:
    """``(rank, world_size)`` of this process as torchrun set them; ``(0, 1)`` when not launched by torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class Parallel:
    """This process's place in a ``torchrun`` launch (one process, rank 0, when not launched by torchrun).

    ``torchrun --nproc-per-node N -m pp_vae.cli train ...`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``;
    the processes join one group (NCCL on GPUs, gloo on CPUs), each trains on its share of every batch,
    and ``DistributedDataParallel`` averages their gradients.
    """

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def start(cls, device: torch.device) -> Parallel:
        """Join the process group when launched by torchrun; pick this process's GPU."""
        _, world_size = launched_as()
        if world_size == 1:
            return cls(0, 1, device)
        import torch.distributed as dist

        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), device)

    @property
    def is_main(self) -> bool:
        """Whether this process evaluates, prints and writes checkpoints and metrics (rank 0)."""
        return self.rank == 0

    def wrap(self, vae: VAE) -> torch.nn.Module:
        """``vae``, or ``DistributedDataParallel(vae)`` when there are several processes."""
        if self.world_size == 1:
            return vae
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(vae, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def sum(self, value: torch.Tensor) -> float:
        """``value`` summed over the processes."""
        if self.world_size > 1:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value)
        return float(value)


def metrics(vae: VAE, data: ImageData, config: TrainConfig, history: History, device: torch.device, iwae_samples: int = 0) -> dict[str, Any]:
    """The ``metrics.json`` contract: ELBOs (nats per image), epochs, seconds per epoch, device, config,
    KL per latent dimension and active units, the Gaussian likelihood's sigma, and the IWAE log-likelihood."""
    report = {
        "train_elbo": history.train_elbo[-1],
        "test_elbo": history.test_elbo[-1],
        "epochs": history.epochs,
        "seconds_per_epoch": float(np.mean(history.seconds)) if history.seconds else None,
        "device": str(device),
        "processes": launched_as()[1],
        "dataset": data.name,
        "config": asdict(config),
        "history": asdict(history),
    }
    report.update(posterior_usage(vae, data.test.to(device)))
    with torch.no_grad():
        sigma = vae.sigma_value(*((data.test.to(device), vae.reconstruct(data.test.to(device))) if vae.sigma == "optimal" else ()))
    if sigma is not None:
        report["sigma"] = float(sigma)
    if iwae_samples:
        report["test_log_likelihood"] = iwae_bound(vae, data.test.to(device), num_samples=iwae_samples)
        report["iwae_samples"] = iwae_samples
    return report


def write_metrics(path: Path, report: dict[str, Any]) -> None:
    """Write ``metrics.json`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, path)
