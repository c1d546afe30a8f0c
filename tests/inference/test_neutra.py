"""NeuTra and plain Pyro NUTS against exact posteriors: the change of variables keeps the chain exact."""

import numpy as np
import pytest

from pp_vae.inference import fit_neutra, fit_pyro_nuts, info, summary
from pp_vae.models import get_model
from pp_vae.models.registry import as_tensors


@pytest.fixture(scope="module")
def correlated():
    model = get_model("correlated_gaussian")
    return model, as_tensors(model.example_data)


@pytest.mark.slow
@pytest.mark.parametrize("fit", [fit_pyro_nuts, fit_neutra], ids=["nuts", "neutra"])
def test_both_samplers_recover_the_exact_posterior(fit, correlated):
    model, data = correlated
    options = {"guide_steps": 800} if fit is fit_neutra else {}
    result = fit(model.pyro_model, data, name=model.name, draws=400, warmup=300, chains=2, seed=0, **options)
    table = summary(result)
    exact = model.exact_posterior(model.example_data)
    for name, marginal in exact.items():
        assert abs(table.loc[name, "mean"] - marginal.mean()) < 5 * table.loc[name, "mcse_mean"] + 1e-3, name
        assert abs(table.loc[name, "sd"] / marginal.std() - 1) < 0.15, name
    details = info(result)
    assert details.chains == 2 and details.draws == 400
    assert details.gradient_evaluations >= 700 * 2  # at least one leapfrog step per iteration, every one counted
    assert result.sample_stats["diverging"].shape == (2, 400)
    if fit is fit_neutra:
        elbo = result.posterior.attrs["elbo"]
        assert len(elbo) == 800 and np.mean(elbo[-100:]) > np.mean(elbo[:100])
