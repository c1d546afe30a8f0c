"""The ladder of approximations vs NUTS on every bundled model: wall-clock, gradient evaluations, accuracy against NUTS.

Speed goals (issue 14): every VI method faster than NUTS's sampling on every bundled model; Pathfinder at least
10x fewer gradient evaluations than NUTS (its leapfrog steps, warm-up included).

Run: .venv/bin/python benchmarks/vi_vs_nuts.py [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from record import record  # noqa: E402

from pp_vae.inference import compare, info  # noqa: E402
from pp_vae.models import MODELS  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "reference_posteriors"
LADDER = ["laplace", "meanfield", "lowrank", "fullrank", "flow", "pathfinder"]
VI = {"meanfield", "lowrank", "fullrank", "flow", "pathfinder"}


def cases() -> dict[str, tuple[str, dict]]:
    """Every bundled model with its example data, and posteriordb's kid-IQ when ../shared has it."""
    found = {name: (name, model.example_data) for name, model in MODELS.items()}
    folder = SHARED / "kidiq-kidscore_momiq"
    if folder.is_dir():
        data = json.loads((folder / "data.json").read_text())
        found["kidiq (posteriordb)"] = (str(folder / "model.stan"), {k: data[k] for k in ("N", "kid_score", "mom_iq")})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1, help="runs per model (best wall-clock kept; default 1)")
    args = parser.parse_args()
    rows = []
    for label, (model, data) in cases().items():
        best: dict[str, dict] = {}
        failed: dict[str, str] = {}
        for repeat in range(args.repeats):
            comparison = compare(model, data, ["nuts", *LADDER], seed=1 + repeat)
            failed |= comparison.failed
            table = comparison.tidy()
            for method, result in comparison.results.items():
                meta = info(result)
                if method in best and best[method]["seconds"] <= meta.seconds:
                    continue
                own = table[table.method == method]
                best[method] = {
                    "seconds": meta.seconds,
                    "gradients": meta.gradient_evaluations,
                    "densities": meta.density_evaluations,
                    "max abs mean error (NUTS sd)": float(own.mean_error_in_nuts_sd.abs().max()) if method != "nuts" else None,
                    "sd ratio": f"{own.sd_ratio_to_nuts.min():.2f}-{own.sd_ratio_to_nuts.max():.2f}" if method != "nuts" else "",
                    "k-hat": meta.khat,
                } | ({"NUTS divergences": int(result.sample_stats.diverging.sum())} if method == "nuts" else {})
        nuts = best["nuts"]
        for method, entry in best.items():
            row = {"model": label, "method": method, **entry}
            if method != "nuts":
                row["x faster than NUTS"] = nuts["seconds"] / entry["seconds"]
                row["x fewer gradients"] = nuts["gradients"] / entry["gradients"] if entry["gradients"] else None
                row["goal met"] = (("yes" if entry["seconds"] < nuts["seconds"] else "NO") if method in VI else "-") + (
                    "" if method != "pathfinder" else (", 10x gradients: " + ("yes" if row["x fewer gradients"] >= 10 else "NO"))
                )
            rows.append(row)
            print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, file=sys.stderr, flush=True)
        rows += [{"model": label, "method": method, "goal met": f"- (failed: {why})"} for method, why in failed.items()]
    met = [r for r in rows if r["method"] in VI and "seconds" in r]
    faster = sum(r["seconds"] < next(n["seconds"] for n in rows if n["model"] == r["model"] and n["method"] == "nuts") for r in met)
    record(
        "The ladder vs NUTS on the bundled models (4 x 1000 NUTS draws after 1000 warm-up; 4000 draws per approximation)",
        rows,
        ".venv/bin/python benchmarks/vi_vs_nuts.py" + (f" --repeats {args.repeats}" if args.repeats > 1 else ""),
        notes=(
            f"VI faster than NUTS's sampling in {faster} of {len(met)} (model, VI method) pairs. NUTS seconds: sampling only "
            "(build cached); approximations: everything after the build (mode search, optimisation, 4000 draws with their log "
            "density, mapping through Stan's transform). gradients: log-density gradients (NUTS: leapfrog steps, warm-up "
            "included); densities: log-density evaluations without a gradient (the draws' importance weights, Pathfinder's "
            "ELBO draws). Accuracy against this run's NUTS, in NUTS sds (itself noisy by about 0.02-0.03 sd); where NUTS "
            "diverges (the centred eight schools) it is no truth, and its time is that of a run Stan warns against."
            + (f" Best of {args.repeats} runs." if args.repeats > 1 else "")
        ),
    )
    print(json.dumps({"pairs": len(met), "faster": int(faster), "mean_speedup": float(np.mean([r["x faster than NUTS"] for r in met]))}))


if __name__ == "__main__":
    main()
