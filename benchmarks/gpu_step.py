"""Milliseconds per VAE training step on CUDA, and what the step waits on: host reads, launches, or the GPU.

Variants, each at 784-400-50 (MLP) and the conv architecture, batch 256, synthetic 60,000 x 784 images:
plain PyTorch eager; pp_vae's step as it trains (Pyro's ``differentiable_loss``); the same ELBO with the
host reads removed (SyncFreeELBO, as training uses it); and that step and the plain one replayed from a CUDA graph
(GraphedStep). Also counts the step's host-device
synchronisations (``torch.cuda.set_sync_debug_mode``).
Run: python benchmarks/gpu_step.py  (needs CUDA)
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import pyro  # noqa: E402
import torch  # noqa: E402
from record import record  # noqa: E402
from vae_epoch import synthetic_mnist  # noqa: E402

from pp_vae.vae import TrainConfig  # noqa: E402
from pp_vae.vae.graphs import GraphedStep  # noqa: E402
from pp_vae.vae.objective import TrainingLoss  # noqa: E402
from pp_vae.vae.training import new_vae  # noqa: E402
from tests.reference_vae import PlainVAE  # noqa: E402

STEPS = 200


def timed(step, x, batch):
    n = x.shape[0]
    order = torch.randperm(n, device=x.device)
    for i in range(20):
        first = (i * batch) % (n - batch)
        step(x[order[first : first + batch]])
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(STEPS):
        first = (i * batch) % (n - batch)
        step(x[order[first : first + batch]])
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / STEPS * 1e3


def syncs(step, x):
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step(x)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in seen)


def eager(loss_fn, params):
    opt = torch.optim.Adam(params, lr=1e-3)

    def step(x):
        value = loss_fn(x)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        return value.detach()

    return step


def graphed(loss_fn, module, x0):
    opt = torch.optim.Adam(module.parameters(), lr=1e-3, capturable=True)
    return GraphedStep(loss_fn, module, opt, x0)


def main() -> None:
    pyro.enable_validation(False)
    data = synthetic_mnist()  # the epoch benchmark's images; the steps read them from the GPU
    x = data.train.cuda()
    rows = []
    for arch, batch in (("mlp", 256), ("conv", 256), ("mlp", 1024), ("mlp", 4096)):
        config = TrainConfig(latent_dim=50, hidden_dim=400, batch_size=batch, likelihood="bernoulli", arch=arch)
        row: dict = {"arch": arch, "batch": batch}

        def fresh(config=config):
            torch.manual_seed(0)
            pyro.clear_param_store()
            return TrainingLoss(new_vae(data, config, "cuda"))

        if arch == "mlp":
            torch.manual_seed(0)
            plain = PlainVAE(784, 50, 400).cuda()

            def plain_loss(b, plain=plain):
                return -plain.elbo(b).sum()

            row["plain eager ms"] = timed(eager(plain_loss, list(plain.parameters())), x, batch)
            row["plain syncs"] = syncs(eager(plain_loss, list(plain.parameters())), x[:batch])
            row["plain graph ms"] = timed(graphed(plain_loss, plain, x[:batch]), x, batch)
        loss = fresh()
        loss._estimator = loss.vae.elbo_estimator()  # Pyro's own differentiable_loss
        row["pyro eager ms"] = timed(eager(loss, list(loss.parameters())), x, batch)
        row["pyro syncs"] = syncs(eager(loss, list(loss.parameters())), x[:batch])
        loss = fresh()  # SyncFreeELBO, as training uses it
        row["sync-free eager ms"] = timed(eager(loss, list(loss.parameters())), x, batch)
        row["sync-free syncs"] = syncs(eager(loss, list(loss.parameters())), x[:batch])
        row["sync-free graph ms"] = timed(graphed(loss, loss, x[:batch]), x, batch)
        print(json.dumps(row), flush=True)
        rows.append(row)
    record(
        "VAE training step on a GPU: where the time goes",
        rows,
        "python benchmarks/gpu_step.py",
        notes=f"Pyro {pyro.__version__}. Milliseconds per step (mean of {STEPS} after 20 warm-up steps), synthetic 60,000 x 784 "
        "images, Bernoulli likelihood, latent 50, hidden 400. 'syncs': host-device synchronisations in one step. 'pyro': Pyro's "
        "own differentiable_loss; 'sync-free': SyncFreeELBO, as training uses it; 'graph': the whole step replayed from one "
        "CUDA graph (GraphedStep).",
    )


if __name__ == "__main__":
    if not torch.cuda.is_available():
        print("gpu_step.py measures CUDA steps: no GPU here, nothing to measure")
    else:
        main()
