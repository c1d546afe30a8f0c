"""Every bundled model by name: the one place that lists them."""

from __future__ import annotations

from pp_vae.models import (
    banana,
    beta_bernoulli,
    correlated_gaussian,
    correlated_regression,
    eight_schools,
    logistic_regression,
    normal_known_variance,
)
from pp_vae.models.registry import BundledModel

MODELS: dict[str, BundledModel] = {
    model.name: model
    for model in (
        beta_bernoulli.MODEL,
        normal_known_variance.MODEL,
        eight_schools.CENTERED,
        eight_schools.NONCENTERED,
        logistic_regression.MODEL,
        correlated_gaussian.MODEL,
        correlated_regression.MODEL,
        banana.MODEL,
    )
}


def get_model(name: str) -> BundledModel:
    """The bundled model called ``name`` (a Stan program's name in ``stan_models/``)."""
    if name not in MODELS:
        raise ValueError(f"no bundled model named {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]
