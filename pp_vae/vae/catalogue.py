"""The VAE family's members and the likelihoods, by name: the one list the CLI and checkpoints read.

Light on purpose (no torch import): ``pp-vae --help`` lists the choices without loading PyTorch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """A named class and what it is, imported when first asked for."""

    name: str
    description: str
    target: str
    """``module:class``."""

    def load(self) -> Any:
        """The class itself."""
        module, attribute = self.target.split(":")
        return getattr(importlib.import_module(module), attribute)


FAMILIES: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry("vae", "diagonal Gaussian guide (the amortised VAE of lecture 4)", "pp_vae.vae.gaussian:VAE"),
        Entry("iaf", "inverse autoregressive flows on the Gaussian guide (lecture 6)", "pp_vae.vae.iaf:IAFVAE"),
        Entry("ladder", "two stochastic layers with the ladder VAE's inference (lecture 6)", "pp_vae.vae.ladder:LadderVAE"),
        Entry("binary", "a code of Bernoulli bits, trained by the straight-through estimator (lecture 8)", "pp_vae.vae.binary:BinaryVAE"),
    )
}

LIKELIHOODS: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry(
            "binomial",
            "each pixel a count out of --trials (the digits' 16 ink cells): a true probability",
            "pp_vae.vae.likelihoods:Binomial",
        ),
        Entry(
            "bernoulli",
            "pixels in [0, 1] as Bernoulli means (binary cross-entropy; Pyro's VAE example)",
            "pp_vae.vae.likelihoods:Bernoulli",
        ),
        Entry("continuous-bernoulli", "the Bernoulli normalised as a density on [0, 1]", "pp_vae.vae.likelihoods:ContinuousBernoulli"),
        Entry(
            "gaussian", "Normal(mean, sigma^2) per pixel; sigma fixed, learned or optimal (sigma-VAE)", "pp_vae.vae.likelihoods:Gaussian"
        ),
    )
}

MEMBER_OPTIONS: dict[str, str] = {"flows": "iaf", "top_dim": "ladder"}
"""The options only one member reads, and that member (:meth:`pp_vae.vae.spec.VAESpec.refuse_unread`)."""

AUTO = "auto"
"""The likelihood option that picks the data's honest default (:func:`default_likelihood`)."""


def default_likelihood(levels: int | None) -> str:
    """The likelihood ``auto`` picks: the Bernoulli for binary pixels (``levels == 1``), else the Binomial over the grey levels."""
    return "bernoulli" if levels == 1 else "binomial"


ARCHITECTURES = ("mlp", "conv", "linear", "iwae", "made")
"""The encoder and decoder networks: one hidden layer each (``mlp``), two strided convolutions (``conv``), none (``linear``),
two tanh hidden layers each (``iwae``: Burda et al. 2016's one-stochastic-layer networks), or the ``mlp`` encoder with an
autoregressive decoder over binary pixels (``made``: Germain et al. 2015's masked MLP, conditioned on ``z``)."""

ARCH_MEMBERS: dict[str, tuple[str, ...]] = {"made": ("vae", "iaf")}
"""Architectures only some members take, and those members (the others call their decoder without the images)."""

LR_SCHEDULES = ("constant", "iwae")
"""How the learning rate moves over the epochs: not at all, or the IWAE paper's stages (:func:`pp_vae.vae.config.learning_rate`)."""

SIGMA_MODES = ("learned", "optimal")


def lookup(registry: dict[str, Entry], kind: str, what: str) -> Entry:
    """``registry[kind]``, or a ``ValueError`` that names the choices."""
    if kind not in registry:
        raise ValueError(f"{what} must be one of {', '.join(registry)}, got {kind!r}")
    return registry[kind]
