"""Where training runs: the device (CPU or CUDA) and, under ``torchrun``, the processes that share the work."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch


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


def launched_as() -> tuple[int, int]:
    """``(rank, world_size)`` of this process as torchrun set them; ``(0, 1)`` when not launched by torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def launched_by_torchrun() -> bool:
    """Whether torchrun started this process (it sets ``TORCHELASTIC_RUN_ID``), even as a group of one."""
    return "TORCHELASTIC_RUN_ID" in os.environ or launched_as()[1] > 1


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
    grouped: bool = False
    """Whether this process joined a process group (every torchrun launch, a group of one included)."""

    @classmethod
    def start(cls, device: torch.device) -> Parallel:
        """Join the process group when launched by torchrun; pick this process's GPU (one GPU per process)."""
        if not launched_by_torchrun():
            return cls(0, 1, device)
        import torch.distributed as dist

        _, world_size = launched_as()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            gpus = torch.cuda.device_count()
            local = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
            if local > gpus:
                raise ValueError(
                    f"torchrun started {local} processes on this machine, but it has {gpus} GPU{'s' * (gpus != 1)}: "
                    f"NCCL needs a GPU of its own for each process; use --nproc-per-node {gpus}, or --device cpu (gloo)"
                )
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None)
        return cls(dist.get_rank(), dist.get_world_size(), device, grouped=True)

    @property
    def is_main(self) -> bool:
        """Whether this process evaluates, prints and writes checkpoints and metrics (rank 0)."""
        return self.rank == 0

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """``module``, or ``DistributedDataParallel(module)`` when this process is in a group."""
        if not self.grouped:
            return module
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(module, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def sum(self, value: torch.Tensor) -> float:
        """``value`` summed over the processes."""
        if self.grouped:
            import torch.distributed as dist

            value = value.clone()
            dist.all_reduce(value)
        return float(value)


def leave_process_group() -> None:
    """Leave torchrun's process group together (a gloo process that tears it down while another still works aborts it)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
