"""Per likelihood: how much the code carries (total KL), IWAE - ELBO, the gap split and the margin over the no-latent baseline.

On the embedded MNIST digits (default; the VAE lectures' data: binarised for the Bernoulli, grey levels for the others)
or on the 8x8 digits (``digits``). Every mean is printed with its standard error over test images; the margin over
the no-latent baseline is paired image by image, and exists only where the VAE's number is a probability of the same
data as the baseline's (binary pixels, or 8-bit counts): the continuous Bernoulli and the Gaussian score grey levels as
densities, which no table of probabilities can be set beside without dequantising.
Run: .venv/bin/python benchmarks/likelihoods.py [mnist5k|digits]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from record import record  # noqa: E402

from pp_vae.data import load_dataset  # noqa: E402
from pp_vae.vae import ACTIVE_KL, TrainConfig, gap_decomposition, importance_weighted, kl_per_dimension, train  # noqa: E402
from pp_vae.vae.baseline import no_latent_log_likelihood  # noqa: E402
from pp_vae.vae.bounds import sampled_in_chunks  # noqa: E402
from pp_vae.vae.evaluation import mean_and_se  # noqa: E402

SETTINGS = {
    "mnist5k": {
        "config": dict(epochs=50, latent_dim=20, hidden_dim=400, batch_size=100),
        "cases": {
            "bernoulli (binarised, dynamic)": ("dynamic", dict(likelihood="bernoulli")),
            "binomial (255 trials, grey levels)": ("none", dict(likelihood="binomial")),
            "continuous-bernoulli (grey levels)": ("none", dict(likelihood="continuous-bernoulli")),
            "gaussian, optimal sigma (grey levels)": ("none", dict(likelihood="gaussian", sigma="optimal")),
        },
    },
    "digits": {
        "config": dict(epochs=100, latent_dim=10, hidden_dim=256, batch_size=128),
        "cases": {
            "binomial (16 trials)": ("none", dict(likelihood="binomial")),
            "bernoulli (grey levels)": ("none", dict(likelihood="bernoulli")),
            "continuous-bernoulli": ("none", dict(likelihood="continuous-bernoulli")),
            "gaussian (optimal sigma)": ("none", dict(likelihood="gaussian", sigma="optimal")),
        },
    },
}


def _formatted(values: np.ndarray) -> str:
    return "{:.2f} +- {:.2f}".format(*mean_and_se(values))


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "mnist5k"
    setting = SETTINGS[name]
    rows = []
    for label, (binarize, options) in setting["cases"].items():
        data = load_dataset(name, binarize=binarize)
        start = time.perf_counter()
        vae, history = train(data, TrainConfig(seed=0, **setting["config"], **options), device="cpu", progress=False)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            kl = vae.kl_per_dim(data.test).sum(-1).numpy()
            torch.manual_seed(0)
            terms = sampled_in_chunks(lambda k, vae=vae, x=data.test: vae.log_weights(x, k), 1000)
        elbo, iwae = terms.mean(0).numpy(), importance_weighted(terms).numpy()
        gaps = gap_decomposition(vae, data.test[:200], iwae_samples=1000, steps=500, lr=0.02)
        density = options["likelihood"] in ("continuous-bernoulli", "gaussian")
        baseline = None if density else no_latent_log_likelihood(data)
        rows.append(
            {
                "likelihood": label,
                "test ELBO": _formatted(elbo),
                "IWAE(1000)": _formatted(iwae),
                "no-latent baseline": "density: none" if baseline is None else _formatted(baseline),
                "IWAE margin (paired)": "-" if baseline is None else _formatted(iwae - baseline),
                "total KL (nats)": _formatted(kl),
                "active dims (KL > 0.05)": int((kl_per_dimension(vae, data.test) > ACTIVE_KL).sum()),
                "IWAE(1000) - ELBO": _formatted(iwae - elbo),
                "approximation gap": f"{gaps.approximation_gap:.2f} +- {gaps.approximation_se:.2f}",
                "amortisation gap": f"{gaps.amortisation_gap:.2f} +- {gaps.amortisation_se:.2f}",
                "train s": round(seconds, 1),
                "epochs": history.epochs,
            }
        )
        print(rows[-1], file=sys.stderr)
    config = setting["config"]
    record(
        f"VAE likelihoods on {name}: the code's worth over the no-latent baseline, KL, IWAE gain, gap split",
        rows,
        f".venv/bin/python benchmarks/likelihoods.py {name}",
        notes=f"{config['epochs']} epochs, latent {config['latent_dim']}, hidden {config['hidden_dim']}, batch {config['batch_size']}, "
        "lr 1e-3, seed 0, one thread. ELBO, IWAE, KL and IWAE - ELBO over all test images (1,000 for mnist5k, 359 for digits); "
        "gaps over the first 200 (best Gaussian per image: 500 SVI steps from the encoder's answer, log p(x) by IWAE with K = 1000). "
        "ELBOs are comparable only between rows that score the same data the same way: binary pixels (Bernoulli) and 8-bit counts "
        "(Binomial) are probabilities, each beside its own no-latent baseline; the continuous Bernoulli and the Gaussian are densities "
        "of grey levels.",
    )


if __name__ == "__main__":
    main()
