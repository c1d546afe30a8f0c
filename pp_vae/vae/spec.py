"""What a VAE of the family is built from: one frozen spec, the one place its options and their defaults are written.

Light on purpose (no torch import): :class:`~pp_vae.vae.config.TrainConfig` and the CLI take their defaults from it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pp_vae.vae.catalogue import ARCH_MEMBERS, AUTO, MEMBER_OPTIONS, default_likelihood
from pp_vae.validation import integer_at_least


@dataclass(frozen=True)
class VAESpec:
    """A VAE's sizes, likelihood and networks: what every member's constructor takes.

    ``input_dim`` pixels per (flattened) image; ``latent_dim`` the size of ``z`` (the bottom layer for the
    ladder); ``hidden_dim`` the networks' hidden units; ``likelihood`` ``p(x | z)`` by name
    (:data:`~pp_vae.vae.catalogue.LIKELIHOODS`), or ``auto`` (:meth:`likelihood_name`); ``sigma`` the
    Gaussian's; ``trials`` the Binomial's; ``arch`` and ``image_shape`` the networks (``conv`` needs the
    shape); ``flows`` the IAF's layers and ``top_dim`` the ladder's top layer, read by those members alone.
    """

    input_dim: int
    latent_dim: int = 10
    hidden_dim: int = 256
    likelihood: str = AUTO
    sigma: float | str = 0.1
    trials: int | None = None
    arch: str = "mlp"
    image_shape: tuple[int, int] | None = None
    flows: int = 2
    top_dim: int = 4

    def __post_init__(self) -> None:
        for name in ("input_dim", "latent_dim", "hidden_dim", "flows", "top_dim"):
            integer_at_least(name, getattr(self, name))
        if self.image_shape is not None:  # a checkpoint stores it as a list
            object.__setattr__(self, "image_shape", (int(self.image_shape[0]), int(self.image_shape[1])))

    @classmethod
    def of(cls, input_dim: int, **options: Any) -> VAESpec:
        """The spec of these keyword options; an option no member reads is refused by name."""
        known = {f.name for f in fields(cls)}
        for name in options:
            if name not in known:
                raise ValueError(f"no VAE reads an option {name!r}; the options are {', '.join(sorted(known))}")
        return cls(input_dim, **options)

    def likelihood_name(self) -> str:
        """The likelihood by name: ``auto`` is the Binomial when ``trials`` is set above 1, else the Bernoulli."""
        if self.likelihood != AUTO:
            return self.likelihood
        return default_likelihood(1 if self.trials is None else self.trials)


DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(VAESpec) if f.name != "input_dim"}
"""Each option's default, written once (in :class:`VAESpec`)."""


def refuse_unread(kind: str, options: object) -> None:
    """A ``ValueError`` naming an option of ``options`` (a spec or a config) that member ``kind`` does not read.

    Only an option set away from the spec's default counts (``flows=3`` for ``"vae"``): a default is no choice.
    An architecture only some members take (``made``) is refused for the others, and ``made`` for a likelihood other
    than the Bernoulli (its draws are binary pixels).
    """
    arch = getattr(options, "arch")  # noqa: B009 (``options`` is a spec or a config, typed ``object``)
    if kind not in ARCH_MEMBERS.get(arch, (kind,)):
        raise ValueError(f"model {kind!r} does not take arch {arch!r}: only model {' or '.join(map(repr, ARCH_MEMBERS[arch]))} does")
    likelihood = options.likelihood_name() if isinstance(options, VAESpec) else getattr(options, "likelihood")  # noqa: B009
    if arch == "made" and likelihood not in (AUTO, "bernoulli"):
        raise ValueError(f"arch 'made' models binary pixels: it needs likelihood 'bernoulli', got {likelihood!r}")
    for name, reader in MEMBER_OPTIONS.items():
        value, default = getattr(options, name), DEFAULTS[name]
        if reader != kind and value != default:
            raise ValueError(f"model {kind!r} does not read {name} (set to {value!r}): only model {reader!r} does")
