"""NeuTra against plain NUTS on the centred eight schools (Pyro's NUTS for both, target acceptance 0.9), over seeds.

For each seed: plain NUTS, and NeuTra (AutoIAFNormal, 2 flows, 5000 SVI steps, then NUTS in the flow's base space),
CHAINS chains of DRAWS draws after as many warm-up iterations (default 4 x 1000). Per run: divergences, gradient
evaluations, ESS of tau per 1000 gradient evaluations, and tau's posterior mean against NUTS on the non-centred
program (Stan, 4 x 10,000 draws).

Run: .venv/bin/python benchmarks/neutra.py [seeds] [chains] [draws]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import record  # noqa: E402

from pp_vae.inference import fit_neutra, fit_nuts, fit_pyro_nuts, info, summary  # noqa: E402
from pp_vae.models import get_model  # noqa: E402
from pp_vae.models.registry import as_tensors  # noqa: E402


def main(seeds: int = 3, chains: int = 4, draws: int = 1000) -> None:
    model = get_model("eight_schools_centered")
    data = as_tensors(model.example_data)
    reference = summary(fit_nuts("eight_schools_noncentered", model.example_data, draws=10_000, chains=4, seed=1), ["tau", "mu"])
    rows = []
    for seed in range(seeds):
        for label, fit, options in [
            ("plain NUTS", fit_pyro_nuts, {}),
            ("NeuTra (IAF x2, 5000 SVI steps)", fit_neutra, {"guide_steps": 5000, "flows": 2}),
        ]:
            start = time.perf_counter()
            result = fit(
                model.pyro_model, data, name=model.name, draws=draws, warmup=draws, chains=chains, seed=seed, target_accept=0.9, **options
            )
            table, details = summary(result, ["tau", "mu"]), info(result)
            rows.append(
                {
                    "method": label,
                    "seed": seed,
                    "divergences": int(result.sample_stats["diverging"].sum()),
                    "gradient evaluations": details.gradient_evaluations,
                    "ESS(tau) per 1000 gradients": float(table.loc["tau", "ess_bulk"] / details.gradient_evaluations * 1000),
                    "max R-hat": float(table["rhat"].max()),
                    "tau mean (reference)": f"{table.loc['tau', 'mean']:.2f} ({reference.loc['tau', 'mean']:.2f})",
                    "NUTS seconds": details.seconds,
                    "guide seconds": details.guide_seconds or 0.0,
                    "total seconds": time.perf_counter() - start,
                }
            )
            print(rows[-1], flush=True)
    record(
        f"NeuTra vs plain NUTS, centred eight schools (Pyro NUTS, target acceptance 0.9, {chains} x {draws} draws)",
        rows,
        f".venv/bin/python benchmarks/neutra.py {seeds} {chains} {draws}",
        notes="The reference tau mean is Stan's NUTS on the non-centred program (4 x 10,000 draws).",
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
