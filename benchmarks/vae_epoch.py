"""VAE seconds per epoch and images per second: pp_vae (Pyro SVI) vs a plain-PyTorch VAE of the same architecture.

Datasets: the 8x8 digits (64-256-10, batch 128), MNIST-size synthetic images (60,000 x 784,
784-400-50, batch 256) and the embedded MNIST digits (4,000 x 784, dynamically binarised, 784-400-50,
batch 100). On CUDA also the conv architecture and a batch of 1024, each step both replayed
from a CUDA graph (training's default there) and run eagerly through Pyro (``--no-cuda-graph``), with the
plain-PyTorch VAE likewise. CPU always unless ``--cuda-only``; CUDA too when present.
Run: .venv/bin/python benchmarks/vae_epoch.py [--cuda-only]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from record import record  # noqa: E402

from pp_vae.data import ImageData, load_dataset, load_digits  # noqa: E402
from pp_vae.vae import TrainConfig, train  # noqa: E402
from pp_vae.vae.graphs import GraphedStep  # noqa: E402
from tests.reference_vae import PlainConvVAE, PlainVAE  # noqa: E402

EPOCHS = 3


def synthetic_mnist(n: int = 60_000, seed: int = 0) -> ImageData:
    """Random smooth-ish 28x28 images in [0, 1] (timing only: the content does not matter)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.sigmoid(torch.randn(n, 784, generator=g) * 2)
    y = torch.zeros(n, dtype=torch.long)
    return ImageData("synthetic-60k", x, y, x[:1000], y[:1000], (28, 28))


def plain_seconds_per_epoch(data: ImageData, config: TrainConfig, device: torch.device, graph: bool = False) -> float:
    torch.manual_seed(config.seed)
    if config.arch == "conv":
        vae: PlainVAE = PlainConvVAE(data.image_shape[0], config.latent_dim, config.hidden_dim).to(device)
    else:
        vae = PlainVAE(data.input_dim, config.latent_dim, config.hidden_dim).to(device)
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.lr, capturable=graph)
    x = data.train.to(device)
    recorded = GraphedStep(lambda b: -vae.elbo(b).sum(), vae, optimiser, x[: config.batch_size]) if graph else None
    times = []
    for _ in range(EPOCHS):
        start = time.perf_counter()
        order = torch.randperm(x.shape[0], device=device)
        for first in range(0, x.shape[0], config.batch_size):
            batch = data.observe(x[order[first : first + config.batch_size]])  # dynamic binarisation, as pp_vae trains
            if recorded is not None and batch.shape[0] == config.batch_size:
                recorded(batch)
                continue
            loss = -vae.elbo(batch).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times[1:])  # first epoch warms up


def main() -> None:
    cuda_only = "--cuda-only" in sys.argv[1:]
    digits, synthetic, mnist5k = load_digits(), synthetic_mnist(), load_dataset("mnist5k", binarize="dynamic")
    mlp = TrainConfig(epochs=EPOCHS, latent_dim=50, hidden_dim=400, batch_size=256, likelihood="bernoulli")
    cases = (
        [] if cuda_only else [("cpu", "digits", digits, TrainConfig(epochs=EPOCHS, latent_dim=10, hidden_dim=256, batch_size=128), False)]
    )
    cases += [] if cuda_only else [("cpu", "synthetic 60000x784", synthetic, mlp, False)]
    # the VAE lectures' default: the embedded MNIST digits, dynamically binarised, Bernoulli, batch 100
    mnist_mlp = replace(mlp, batch_size=100, likelihood="auto")
    cases += [] if cuda_only else [("cpu", "mnist5k, dynamic binarisation", mnist5k, mnist_mlp, False)]
    if torch.cuda.is_available():
        for config in (mlp, replace(mlp, arch="conv"), replace(mlp, batch_size=1024)):
            cases += [("cuda", "synthetic 60000x784", synthetic, config, graph) for graph in (True, False)]
    rows = []
    for device, name, data, config, graph in cases:
        _, history = train(data, config, device=device, progress=False, cuda_graph=graph)
        ours = min(history.seconds[1:])
        plain = plain_seconds_per_epoch(data, config, torch.device(device), graph=graph)
        n = data.train.shape[0]
        shape = "conv" if config.arch == "conv" else f"{data.input_dim}-{config.hidden_dim}-{config.latent_dim}"
        rows.append(
            {
                "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                "data": name,
                "architecture": shape,
                "batch": config.batch_size,
                "step": "CUDA graph" if graph else "eager",
                "pp_vae s/epoch": ours,
                "plain torch s/epoch": plain,
                "ratio": ours / plain,
                "pp_vae images/s": n / ours,
                "plain images/s": n / plain,
            }
        )
        print(rows[-1], file=sys.stderr)
    record(
        "VAE epoch time: pp_vae (Pyro model/guide, SyncFreeELBO + one torch Adam) vs plain PyTorch",
        rows,
        ".venv/bin/python benchmarks/vae_epoch.py" + (" --cuda-only" if cuda_only else ""),
        notes="Best of epochs 2-3. pp_vae's epoch excludes its per-epoch test-ELBO evaluation. conv: two stride-2 "
        "convolutions (32, 64 channels) each way around a 400-unit layer, latent 50. 'CUDA graph': every full batch's "
        "step replayed from one recorded graph (pp_vae.vae.graphs), for both implementations; 'eager': every step "
        "through Pyro's tracing (pp_vae) or plain autograd.",
    )


if __name__ == "__main__":
    main()
