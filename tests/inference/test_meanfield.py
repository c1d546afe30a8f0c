"""Mean-field VI against closed forms, the reference posterior, and its own identities."""

import json
import subprocess
import sys

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch

from pp_vae import models, stan, vi
from pp_vae.conjugate import BetaBernoulli, NormalKnownVariance
from pp_vae.info import gaussian_kl
from tests.reference import reference

FLIPS = [1, 0, 1, 1, 1, 0, 1, 1, 0, 1]


def _fixed_normal_guide(loc, scale):
    def guide(data):
        pyro.sample("mu", dist.Normal(torch.tensor(loc), torch.tensor(scale)))
    return guide


def test_elbo_plus_kl_is_the_log_evidence_on_the_conjugate_model():
    model = NormalKnownVariance(prior_mean=0.0, prior_sd=1.0, noise_sd=2.0)
    y = [2.1, 3.4, 0.7, 2.9, 1.8]
    data = {"N": 5, "y": y, "prior_mean": 0.0, "prior_sd": 1.0, "noise_sd": 2.0}
    posterior, log_evidence = model.posterior(y), model.log_evidence(y)
    for loc, scale in [(posterior.mean(), posterior.std()), (posterior.mean() + 0.4, 0.7 * posterior.std()), (-1.0, 2.0)]:
        pyro.set_rng_seed(0)
        weights = vi.log_weights(models.normal_known_variance, _fixed_normal_guide(loc, scale), models.as_tensors(data), num_samples=4000)
        elbo, se = weights.mean(), weights.std() / np.sqrt(weights.size)
        kl = gaussian_kl(loc, scale, posterior.mean(), posterior.std())
        assert elbo <= log_evidence + 4 * se
        assert log_evidence - elbo == pytest.approx(kl, abs=4 * se + 1e-4)


def test_beta_bernoulli_vi_matches_the_exact_posterior():
    fit = vi.fit_meanfield("beta_bernoulli", {"N": 10, "y": FLIPS, "alpha": 2.0, "beta": 2.0}, guide="manual", steps=2000, progress=False, seed=1)
    exact = BetaBernoulli(2.0, 2.0).posterior(FLIPS)
    assert fit.draws["theta"].mean() == pytest.approx(exact.mean(), abs=0.01)
    assert fit.draws["theta"].std() == pytest.approx(exact.std(), rel=0.10)
    assert np.isfinite(fit.khat) and fit.khat < 0.5 and fit.khat_reading.endswith("good, q covers the posterior well")
    assert fit.elbo[-100:].mean() > fit.elbo[:10].mean()  # the ELBO rose
    assert fit.idata.posterior["theta"].shape == (1, 4000)


def test_autoguide_on_eight_schools_keeps_stan_names():
    data = {"J": 8, "y": [28, 8, -3, 7, -1, 1, 18, 12], "sigma": [15, 10, 16, 11, 9, 11, 10, 18]}
    fit = vi.fit_meanfield("eight_schools_noncentered", data, steps=300, num_samples=500, khat_samples=200, progress=False)
    assert list(fit.draws)[:2] == ["mu", "tau"] and "theta_raw[8]" in fit.draws and "theta[8]" in fit.draws
    np.testing.assert_allclose(fit.draws["theta[3]"], fit.draws["mu"] + fit.draws["tau"] * fit.draws["theta_raw[3]"], rtol=1e-4, atol=1e-4)
    assert np.isfinite(fit.khat)


@pytest.mark.slow
def test_mean_field_on_a_correlated_gaussian_shrinks_sd_to_sqrt_one_minus_rho_squared():
    program = stan.load_program("correlated_gaussian")
    for rho in (0.0, 0.9):
        fit = vi.fit_stan_meanfield(program, {"rho": rho}, steps=2000, num_samples=8000, progress=False, seed=2)
        for name in ("z[1]", "z[2]"):
            assert fit.draws[name].std() == pytest.approx(np.sqrt(1 - rho**2), rel=0.05)
            assert abs(fit.draws[name].mean()) < 0.05


@pytest.mark.slow
def test_stan_bridge_vi_on_kidiq_matches_reference_means():
    ref = reference("kidiq-kidscore_momiq")
    program = stan.load_program(ref["program"])
    data = stan.check_data(program, ref["data"], extra_fields="ignore")
    fit = vi.fit_stan_meanfield(program, data, progress=False, seed=3)
    ratios = {}
    for name, truth in ref["draws"].items():
        assert abs(fit.draws[name].mean() - truth.mean()) < 0.3 * truth.std(), name
        ratios[name] = fit.draws[name].std() / truth.std()
    # mean-field cannot represent the -0.99 correlation of the intercept and slope: it under-disperses them
    assert ratios["beta[1]"] < 0.5 and ratios["beta[2]"] < 0.5
    assert ratios["sigma"] == pytest.approx(1.0, rel=0.15)
    assert np.isfinite(fit.khat) and fit.khat > 0.7  # and PSIS says so


def test_program_without_parameters_or_with_discrete_ones_is_a_clear_error():
    with pytest.raises(ValueError, match="declares no parameters"):
        vi.fit_stan_meanfield(stan.load_program("data { real x; } generated quantities { real y = x; }"), {"x": 1.0})
    with pytest.raises(stan.StanProgramError, match="Parameters cannot be integers"):
        stan.load_program("parameters { int k; } model { }")
    with pytest.raises(ValueError, match="no hand-written guide for 'eight_schools_noncentered'"):
        vi.fit_meanfield("eight_schools_noncentered", {}, guide="manual")


def test_khat_readings_and_psis_on_known_weights():
    assert vi.khat_reading(0.3).startswith("k-hat 0.30 < 0.5: good")
    assert "usable" in vi.khat_reading(0.6) and "unreliable" in vi.khat_reading(0.9)
    # q = N(0, 1) proposing for p = N(0, s^2): the weights exp(z^2 (1 - 1/s^2) / 2) have a Pareto tail
    # with k = 1 - 1/s^2 when s > 1, and are bounded (k < 0) when s < 1
    z = np.random.default_rng(0).normal(size=8000)
    for s in (0.5, 1.2, 1.5, 2.0):
        k = vi.psis_khat(-0.5 * (z / s) ** 2 - np.log(s) + 0.5 * z**2)
        if s < 1:
            assert k < 0
        else:
            assert k == pytest.approx(1 - 1 / s**2, abs=0.12), s


@pytest.mark.slow
def test_cli_compare_with_meanfield_writes_khat(tmp_path):
    data = tmp_path / "coin.json"
    data.write_text(json.dumps({"N": 10, "y": FLIPS, "alpha": 2.0, "beta": 2.0}))
    out = tmp_path / "out.json"
    result = subprocess.run([sys.executable, "-m", "pp_vae.cli", "compare", "beta_bernoulli", str(data), "--methods", "nuts,meanfield",
                             "--draws", "500", "--seed", "4", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["methods"]) == {"nuts", "meanfield"}
    meanfield = report["methods"]["meanfield"]
    # numeric; a Gaussian q on logit(theta) has lighter tails than the Beta posterior there, so k-hat is not small
    assert isinstance(meanfield["khat"], float) and np.isfinite(meanfield["khat"])
    assert meanfield["summary"]["theta"]["mean"] == pytest.approx(report["exact"]["theta"]["mean"], abs=0.02)
    assert "exact mean" in result.stdout and "meanfield mean" in result.stdout
