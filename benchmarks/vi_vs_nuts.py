"""Mean-field VI (Stan bridge) vs NUTS per model: wall-clock and accuracy against NUTS (and the reference).

Run: .venv/bin/python benchmarks/vi_vs_nuts.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import record  # noqa: E402

from pp_vae.data import logistic_regression_data, without_truth  # noqa: E402
from pp_vae.inference import compare, info  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "reference_posteriors"
SCHOOLS = {"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], "sigma": [15, 10, 16, 11, 9, 11, 10, 18]}
CASES = {
    "beta_bernoulli": ("beta_bernoulli", {"N": 10, "y": [1, 0, 1, 1, 1, 0, 1, 1, 0, 1], "alpha": 2.0, "beta": 2.0}),
    "normal_known_variance": (
        "normal_known_variance",
        {"N": 5, "y": [2.1, 3.4, 0.7, 2.9, 1.8], "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0},
    ),
    "eight_schools_noncentered": ("eight_schools_noncentered", SCHOOLS),
    "logistic_regression (N=1000, K=3)": ("logistic_regression", without_truth(logistic_regression_data(1000, [1.0, -2.0, 0.5], seed=0))),
}
if (SHARED / "kidiq-kidscore_momiq").is_dir():
    folder = SHARED / "kidiq-kidscore_momiq"
    data = json.loads((folder / "data.json").read_text())
    CASES["kidiq (posteriordb)"] = (str(folder / "model.stan"), {k: data[k] for k in ("N", "kid_score", "mom_iq")})


def main() -> None:
    rows = []
    for label, (model, data) in CASES.items():
        c = compare(model, data, ["nuts", "meanfield"], seed=1)
        t = c.tidy()
        mf = t[t.method == "meanfield"]
        rows.append(
            {
                "model": label,
                "NUTS s": info(c.results["nuts"]).seconds,
                "VI s": info(c.results["meanfield"]).seconds,
                "max abs mean error (NUTS sd)": float(mf.mean_error_in_nuts_sd.abs().max()),
                "min sd ratio VI/NUTS": float(mf.sd_ratio_to_nuts.min()),
                "max sd ratio VI/NUTS": float(mf.sd_ratio_to_nuts.max()),
                "min NUTS mass in VI 90%": float(mf.nuts_mass_in_90pct_interval.min()),
                "k-hat": info(c.results["meanfield"]).khat,
            }
        )
        print(rows[-1], file=sys.stderr)
    record(
        "Mean-field VI (Stan bridge, 1500 SVI steps) vs NUTS (4 x 1000 draws)",
        rows,
        ".venv/bin/python benchmarks/vi_vs_nuts.py",
        notes="NUTS s: sampling only (build cached). VI s: mode finding + SVI + 4000 draws mapped through Stan's constrain.",
    )


if __name__ == "__main__":
    main()
