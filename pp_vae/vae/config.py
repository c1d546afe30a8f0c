"""A training run's configuration and history: what checkpoints and ``metrics.json`` record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pp_vae.vae.catalogue import ARCHITECTURES, AUTO, FAMILIES, LIKELIHOODS, default_likelihood, lookup
from pp_vae.vae.likelihoods import check_sigma
from pp_vae.vae.objective import Objective
from pp_vae.validation import integer_at_least


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in the checkpoint and in ``metrics.json``).

    The VAE: ``model`` (a member of :data:`pp_vae.vae.catalogue.FAMILIES`), ``latent_dim``, ``hidden_dim``,
    ``arch`` (``mlp`` or ``conv``), ``likelihood`` (``auto``: the Bernoulli on binary images, else the Binomial
    over the grey levels), ``sigma`` (Gaussian), ``trials`` (Binomial; ``None``: the data's own grey levels,
    16 for the digits), ``flows`` (IAF), ``top_dim`` (ladder). The objective: ``beta``
    and ``anneal_epochs``. The optimisation: ``epochs``, ``batch_size``, ``lr``, ``seed``.
    """

    epochs: int = 100
    latent_dim: int = 10
    hidden_dim: int = 256
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    likelihood: str = AUTO
    sigma: float | str = 0.1
    trials: int | None = None
    arch: str = "mlp"
    model: str = "vae"
    beta: float = 1.0
    anneal_epochs: int = 0
    flows: int = 2
    top_dim: int = 4

    def __post_init__(self) -> None:
        for name in ("epochs", "latent_dim", "hidden_dim", "batch_size", "flows", "top_dim"):
            integer_at_least(name, getattr(self, name))
        integer_at_least("anneal_epochs", self.anneal_epochs, 0)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        lookup(FAMILIES, self.model, "model")
        if self.likelihood != AUTO:
            lookup(LIKELIHOODS, self.likelihood, "likelihood")
        self.sigma = check_sigma(self.sigma)
        if self.trials is not None:
            integer_at_least("trials", self.trials)
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {self.arch!r}")
        Objective(self.beta)  # checks beta

    def vae_options(self, data_levels: int | None = None, image_shape: tuple[int, int] | None = None) -> dict[str, Any]:
        """The options every member reads what it needs from (:func:`pp_vae.vae.build_vae`).

        Completed by the data's grey levels (the Binomial's trials unless ``trials`` is set) and image shape
        (what the ``conv`` networks need).
        """
        return {
            "latent_dim": self.latent_dim,
            "hidden_dim": self.hidden_dim,
            "likelihood": default_likelihood(data_levels) if self.likelihood == AUTO else self.likelihood,
            "sigma": self.sigma,
            "trials": self.trials if self.trials is not None else data_levels,
            "arch": self.arch,
            "image_shape": image_shape,
            "flows": self.flows,
            "top_dim": self.top_dim,
        }

    def objective(self, steps_per_epoch: int) -> Objective:
        """The KL weight schedule: ``beta``, reached over ``anneal_epochs`` epochs of ``steps_per_epoch`` steps."""
        return Objective(self.beta, self.anneal_epochs * steps_per_epoch)


@dataclass
class History:
    """Per-epoch train objective and test ELBO (nats per image) and seconds."""

    train_elbo: list[float] = field(default_factory=list)
    test_elbo: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Epochs completed."""
        return len(self.train_elbo)
