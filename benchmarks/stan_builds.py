"""Per bundled Stan program: first (cold) build seconds, cached build seconds, NUTS ESS per second.

Run: .venv/bin/python benchmarks/stan_builds.py   (clears each program from httpstan's cache first)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpstan.cache  # noqa: E402
import httpstan.models  # noqa: E402
from record import record  # noqa: E402

from pp_vae import stan  # noqa: E402
from pp_vae.data import logistic_regression_data, without_truth  # noqa: E402
from pp_vae.inference import diagnostics, fit_nuts, info  # noqa: E402

SCHOOLS = {"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], "sigma": [15, 10, 16, 11, 9, 11, 10, 18]}
DATA = {
    "beta_bernoulli": {"N": 10, "y": [1, 0, 1, 1, 1, 0, 1, 1, 0, 1], "alpha": 2.0, "beta": 2.0},
    "normal_known_variance": {"N": 5, "y": [2.1, 3.4, 0.7, 2.9, 1.8], "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0},
    "eight_schools_centered": SCHOOLS,
    "eight_schools_noncentered": SCHOOLS,
    "logistic_regression": without_truth(logistic_regression_data(1000, [1.0, -2.0, 0.5], seed=0)),
}


def main() -> None:
    rows = []
    for name, data in DATA.items():
        program = stan.load_program(name)
        clean = stan.check_data(program, data)
        model_name = httpstan.models.calculate_model_name(program.code)
        if model_name in httpstan.cache.list_model_names():
            httpstan.cache.delete_model_directory(model_name)
        start = time.perf_counter()
        stan.build(program, clean, seed=1, verbose=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        stan.build(program, clean, seed=1, verbose=False)
        cached = time.perf_counter() - start
        idata = fit_nuts(program, clean, seed=1)
        report = diagnostics(idata, stan.parameter_names(program))
        seconds = info(idata).seconds
        rows.append(
            {
                "program": name,
                "first build s": cold,
                "cached build s": cached,
                "sampling s (4x1000+1000)": seconds,
                "min ESS bulk": report.min_ess_bulk,
                "min ESS/s": report.min_ess_bulk / seconds,
                "divergences": report.divergences,
            }
        )
        print(rows[-1], file=sys.stderr)
    record("Stan: build and NUTS", rows, ".venv/bin/python benchmarks/stan_builds.py")


if __name__ == "__main__":
    main()
