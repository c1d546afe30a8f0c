"""VI as NUTS's warm-up: Stan's NUTS from its default start and from Pathfinder's draws, over warm-up lengths.

For each posteriordb reference posterior named below (from ../shared/reference_posteriors; skipped if absent):
4 chains of 1000 draws after each warm-up length, the same seed for both starts. Per run: the largest R-hat,
the smallest bulk ESS, divergences, gradient evaluations and seconds (Pathfinder's included), and bulk ESS
per second; then, per start, the shortest warm-up from which every longer one also converged
(no divergence, R-hat < 1.01 and bulk ESS >= 400: lecture 2's rule).

Run: .venv/bin/python benchmarks/warm_start.py [posterior ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import record  # noqa: E402

from pp_vae.inference.warm_start import STARTS, as_rows, shortest_converged_warmup, warmup_sweep  # noqa: E402

REFERENCES = Path(__file__).resolve().parents[2] / "shared" / "reference_posteriors"
DEFAULT = ["kidiq-kidscore_momhsiq", "kidiq_with_mom_work-kidscore_interaction_z", "earnings-logearn_interaction_z", "nes2000-nes"]
WARMUPS = (25, 50, 100, 200, 1000)


def main(names: list[str]) -> None:
    rows, shortest = [], []
    for name in names:
        folder = REFERENCES / name
        if not folder.is_dir():
            print(f"skipping {name}: {folder} not found", file=sys.stderr)
            continue
        runs = warmup_sweep(folder / "model.stan", folder / "data.json", warmups=WARMUPS)
        for row in as_rows(runs):
            rows.append({"posterior": name} | {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            print(rows[-1], flush=True)
        shortest.append(
            {"posterior": name} | {f"shortest converged warm-up ({start})": shortest_converged_warmup(runs, start) for start in STARTS}
        )
    record(
        "VI as NUTS's warm-up: Stan's default start vs Pathfinder's draws, over warm-up lengths",
        rows,
        ".venv/bin/python benchmarks/warm_start.py " + " ".join(names),
        notes="Converged: no divergence, R-hat < 1.01 and bulk ESS >= 400 for every parameter. Seconds and gradients include Pathfinder's. "
        "PyStan 3 takes a start (init) but no initial inverse metric, so the metric is still learned in the warm-up. "
        "Shortest converged warm-up per start: " + "; ".join(str(row) for row in shortest),
    )


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
