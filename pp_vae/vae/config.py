"""A training run's configuration and history: what checkpoints and ``metrics.json`` record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pp_vae.vae.catalogue import ARCHITECTURES, AUTO, FAMILIES, LIKELIHOODS, LR_SCHEDULES, default_likelihood, lookup
from pp_vae.vae.spec import VAESpec, refuse_unread
from pp_vae.validation import integer_at_least

if TYPE_CHECKING:  # the module stays light: the CLI reads its defaults before any torch import
    from pp_vae.vae.objective import Objective

OBJECTIVES = ("elbo", "iwae")
"""Training objectives: the ELBO, or the K-sample importance-weighted bound of Burda et al. (2016)."""

IWAE_ADAM_EPS = 1e-4
"""Adam's epsilon in Burda et al. (2016)'s optimisation (torch's default is 1e-8)."""


def iwae_stage(epoch: int) -> int:
    """The stage ``i`` that epoch ``epoch`` (counted from 0) falls in when stage ``i`` lasts ``3**i`` epochs."""
    integer_at_least("epoch", epoch, 0)
    stage, end = 0, 1  # stage i covers epochs [(3**i - 1) / 2, (3**(i + 1) - 1) / 2)
    while epoch >= end:
        stage += 1
        end += 3**stage
    return stage


def learning_rate(schedule: str, lr: float, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (from 0) under ``schedule``, a pure function of the epoch.

    ``constant``: ``lr`` throughout. ``iwae``: ``lr * 10**(-i / 7)`` in stage ``i`` of ``3**i`` epochs (Burda et al.
    2016: i = 0..7 over 3,280 epochs; later epochs go on into stage 8). A resumed run steps at the rate an
    uninterrupted one would.
    """
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    if schedule == "constant":
        integer_at_least("epoch", epoch, 0)
        return lr
    return lr * 10 ** (-iwae_stage(epoch) / 7)


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in the checkpoint and in ``metrics.json``).

    The VAE: ``model`` (a member of :data:`pp_vae.vae.catalogue.FAMILIES`), ``latent_dim``, ``hidden_dim``,
    ``arch`` (:data:`~pp_vae.vae.catalogue.ARCHITECTURES`: ``mlp``, ``conv``, ``linear``, or ``iwae``, two tanh hidden
    layers each way as in Burda et al. 2016), ``likelihood`` (``auto``: the Bernoulli on binary images, else the
    Binomial over the grey levels), ``sigma`` (Gaussian), ``trials`` (Binomial; ``None``: the data's own grey levels,
    16 for the digits), ``flows`` (IAF), ``top_dim`` (ladder). The objective: ``beta``,
    ``anneal_epochs`` and ``free_bits`` (nats per latent dimension, 0: off; :func:`pp_vae.vae.objective.free_bits_kl`),
    or ``objective="iwae"`` with ``iwae_train_samples`` draws per image (the IWAE bound of Burda et al. 2016, at beta 1,
    without annealing or free bits). The optimisation: ``epochs``, ``batch_size``, ``lr``, ``seed`` and ``lr_schedule``:
    ``constant`` (Adam at ``lr`` with torch's epsilon 1e-8), or ``iwae``, the optimisation of Burda et al. (2016):
    stage ``i`` lasts ``3**i`` epochs at ``lr * 10**(-i / 7)`` (:func:`learning_rate`) and Adam's epsilon is 1e-4.
    """

    epochs: int = 100
    latent_dim: int = VAESpec.latent_dim  # the VAE's defaults are the spec's, written once there
    hidden_dim: int = VAESpec.hidden_dim
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    likelihood: str = VAESpec.likelihood
    sigma: float | str = VAESpec.sigma
    trials: int | None = VAESpec.trials
    arch: str = VAESpec.arch
    model: str = "vae"
    beta: float = 1.0
    anneal_epochs: int = 0
    flows: int = VAESpec.flows
    top_dim: int = VAESpec.top_dim
    lr_schedule: str = "constant"
    free_bits: float = 0.0
    objective: str = "elbo"
    iwae_train_samples: int = 1

    def __post_init__(self) -> None:
        from pp_vae.vae.likelihoods import check_sigma
        from pp_vae.vae.objective import Objective, check_free_bits

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
        self.free_bits = check_free_bits(self.free_bits)
        learning_rate(self.lr_schedule, self.lr, 0)  # checks lr_schedule
        self._check_objective()
        refuse_unread(self.model, self)  # an option the model would not read is refused before any data loads

    def _check_objective(self) -> None:
        """``objective`` and ``iwae_train_samples``: K > 1 only with the IWAE bound, which has no KL weight to set."""
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        integer_at_least("iwae_train_samples", self.iwae_train_samples)
        if self.objective == "elbo" and self.iwae_train_samples > 1:
            raise ValueError(f"iwae_train_samples={self.iwae_train_samples} needs objective='iwae' (the ELBO takes one draw per image)")
        if self.objective == "iwae" and (self.beta != 1 or self.anneal_epochs or self.free_bits):
            raise ValueError(
                f"objective='iwae' is a bound on log p(x) with no KL term to weight or clamp: it needs beta=1, anneal_epochs=0 "
                f"and free_bits=0, got beta={self.beta!r}, anneal_epochs={self.anneal_epochs!r}, free_bits={self.free_bits!r}"
            )

    @property
    def training_samples(self) -> int:
        """Draws per image of the IWAE training bound; 0 when the objective is the ELBO."""
        return self.iwae_train_samples if self.objective == "iwae" else 0

    def lr_at(self, epoch: int) -> float:
        """Adam's learning rate in epoch ``epoch`` (from 0): :func:`learning_rate` of ``lr_schedule``."""
        return learning_rate(self.lr_schedule, self.lr, epoch)

    @property
    def adam_eps(self) -> float:
        """Adam's epsilon: 1e-4 under the ``iwae`` schedule (the paper's), else torch's default 1e-8."""
        return IWAE_ADAM_EPS if self.lr_schedule == "iwae" else 1e-8

    def vae_spec(self, input_dim: int, data_levels: int | None = None, image_shape: tuple[int, int] | None = None) -> VAESpec:
        """The spec of this run's VAE (:func:`pp_vae.vae.family.make_vae`) for images of ``input_dim`` pixels.

        Completed by the data's grey levels (``auto``'s choice of likelihood, and the Binomial's trials unless
        ``trials`` is set) and image shape (what the ``conv`` networks need).
        """
        return VAESpec(
            input_dim,
            latent_dim=self.latent_dim,
            hidden_dim=self.hidden_dim,
            likelihood=default_likelihood(data_levels) if self.likelihood == AUTO else self.likelihood,
            sigma=self.sigma,
            trials=self.trials if self.trials is not None else data_levels,
            arch=self.arch,
            image_shape=image_shape,
            flows=self.flows,
            top_dim=self.top_dim,
        )

    def kl_schedule(self, steps_per_epoch: int) -> Objective:
        """The KL weight schedule: ``beta``, reached over ``anneal_epochs`` epochs of ``steps_per_epoch`` steps."""
        from pp_vae.vae.objective import Objective

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
