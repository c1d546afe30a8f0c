"""One CPU training step, pp_vae (Pyro model/guide, SyncFreeELBO, one torch Adam) against plain PyTorch, paired.

The epoch benchmark (``vae_epoch.py``) takes the best of two epochs of each, minutes apart: on a shared 2-core
machine its ratio moves by more than the 1.15x target's margin. Here both steps run in one process, interleaved in
rounds of ``STEPS`` steps each on the same batch of the embedded MNIST digits (784-400-50, batch 100, Bernoulli,
dynamically binarised), timed by the process's CPU clock; each round gives one ratio, and the table reports their
median and quartiles, with the machine's load before and after.
Run: .venv/bin/python benchmarks/vae_step.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyro  # noqa: E402
import torch  # noqa: E402
from record import record  # noqa: E402

from pp_vae.data import ImageData, load_dataset  # noqa: E402
from pp_vae.vae import TrainConfig, TrainingLoss  # noqa: E402
from pp_vae.vae.training import new_vae  # noqa: E402
from tests.reference_vae import PlainVAE  # noqa: E402

STEPS = 100


def pp_vae_step(data: ImageData, x: torch.Tensor, config: TrainConfig) -> Callable[[], None]:
    """pp_vae's training step as ``train`` runs it after a run's first: Pyro's checks off, the loss through SyncFreeELBO."""
    vae = new_vae(data, config)
    loss, optimiser = TrainingLoss(vae), torch.optim.Adam(vae.parameters(), lr=config.lr)

    def step() -> None:
        with pyro.validation_enabled(False):
            value = loss(x)
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()

    return step


def plain_step(x: torch.Tensor, config: TrainConfig) -> Callable[[], None]:
    """The plain-PyTorch VAE's step (``tests/reference_vae.py``): the same layers, the ELBO written out by hand."""
    vae = PlainVAE(x.shape[1], config.latent_dim, config.hidden_dim)
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.lr)

    def step() -> None:
        value = -vae.elbo(x).sum()
        optimiser.zero_grad(set_to_none=True)
        value.backward()
        optimiser.step()

    return step


def milliseconds_per_step(step: Callable[[], None]) -> float:
    """CPU milliseconds per step over ``STEPS`` steps."""
    start = time.process_time()
    for _ in range(STEPS):
        step()
    return (time.process_time() - start) / STEPS * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = TrainConfig(latent_dim=50, hidden_dim=400, batch_size=100, likelihood="auto")
    data = load_dataset("mnist5k", binarize="dynamic")
    x = data.observe(data.train[: config.batch_size])  # one batch of binary pixels, the same for both
    ours, theirs = pp_vae_step(data, x, config), plain_step(x, config)
    for _ in range(20):  # warm up both
        ours(), theirs()
    load_before = os.getloadavg()[0]
    times = np.array([(milliseconds_per_step(ours), milliseconds_per_step(theirs)) for _ in range(rounds)])
    load_after = os.getloadavg()[0]
    ratios = times[:, 0] / times[:, 1]
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    row = {
        "data": "mnist5k, binarised",
        "architecture": "784-400-50",
        "batch": 100,
        "rounds": rounds,
        "pp_vae ms/step (median)": float(np.median(times[:, 0])),
        "plain ms/step (median)": float(np.median(times[:, 1])),
        "ratio median": float(median),
        "ratio quartiles": f"{q1:.3f}-{q3:.3f}",
        "load before/after": f"{load_before:.2f}/{load_after:.2f}",
    }
    record(
        "VAE training step on CPU, pp_vae vs plain PyTorch, paired in one process",
        [row],
        ".venv/bin/python benchmarks/vae_step.py",
        notes=f"{rounds} rounds of {STEPS} steps of each, interleaved, one thread, CPU time; each round's ratio is pp_vae's "
        "time over plain's. pp_vae's step is train's after a run's first (Pyro's validation off): SyncFreeELBO over the "
        "guide's trace and the model's replayed against it.",
    )


if __name__ == "__main__":
    main()
