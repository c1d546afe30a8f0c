"""The VAE's networks: an encoder ``x -> (loc, scale)`` of a diagonal Gaussian and a decoder ``z ->`` one number per pixel.

Five architectures (``arch``): ``mlp``, one hidden layer each way (softplus), as Pyro's VAE example;
``iwae``, two tanh hidden layers each way, the one-stochastic-layer networks of Burda et al. (2016)
(784-200-200-50 up, 50-200-200-784 down with ``hidden_dim`` 200 and ``latent_dim`` 50); ``conv``, two
stride-2 convolutions down and two transposed convolutions up around a fully connected layer, the usual
choice for MNIST-sized images on a GPU (for images whose sides divide by 4: 8x8, 28x28); and ``linear``, no
nonlinearity at all: with a Gaussian likelihood, probabilistic PCA (lecture 7); and ``made``, the ``mlp`` encoder with an
autoregressive decoder (:class:`~pp_vae.vae.made.MADEDecoder`), whose pixel ``d`` also reads the pixels before it, so it
is called with the images too (:func:`decoder_logits`).
Every encoder exposes ``hidden(x)`` (the features the IAF and ladder guides read) and ``heads(h)``.
"""

from __future__ import annotations

import torch
from torch import nn

from pp_vae.vae.catalogue import ARCHITECTURES
from pp_vae.vae.made import MADEDecoder


class Encoder(nn.Module):
    """``x -> (loc, scale)`` of the Gaussian ``q(z | x)``: an MLP with one hidden layer (softplus)."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int, hidden: nn.Module | None = None) -> None:
        super().__init__()
        # ``hidden``: other features of ``hidden_dim`` (a subclass's), built before the heads so the weights draw in layer order
        self.hidden: nn.Module = hidden if hidden is not None else nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus())
        self.loc = nn.Linear(hidden_dim, latent_dim)
        self.log_scale = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loc, scale)`` for each row of ``x``."""
        return self.heads(self.hidden(x))

    def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loc, scale)`` from the hidden features ``h``."""
        return self.loc(h), torch.exp(self.log_scale(h))


class Decoder(nn.Module):
    """``z -> `` one number per pixel (logits or means, as the likelihood reads them): an MLP with one hidden layer."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int, net: nn.Module | None = None) -> None:
        super().__init__()
        if net is None:
            net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, output_dim))
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for each code in ``z`` (leading sample dimensions allowed)."""
        return self.net(z)


class LinearEncoder(Encoder):
    """``x -> (loc, log scale)``, both linear in ``x`` (through ``hidden_dim`` linear features): the linear VAE's encoder.

    PPCA's exact posterior has a mean linear in ``x`` and a covariance that does not depend on ``x``; this
    family holds it whenever that covariance is diagonal.
    """

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.hidden = nn.Linear(input_dim, hidden_dim)  # no nonlinearity: the features stay linear in x


class TanhEncoder(Encoder):
    """``x -> (loc, scale)``: two tanh hidden layers of ``hidden_dim`` (the IWAE paper's recognition network), then the heads."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int) -> None:
        hidden = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, hidden_dim), nn.Tanh())
        super().__init__(input_dim, hidden_dim, latent_dim, hidden)


class TanhDecoder(Decoder):
    """``z -> `` one number per pixel: two tanh hidden layers of ``hidden_dim`` (the IWAE paper's generative network)."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int) -> None:
        net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, output_dim)
        )
        super().__init__(latent_dim, hidden_dim, output_dim, net)


def _check_shape(image_shape: tuple[int, int] | None, input_dim: int) -> tuple[int, int]:
    if image_shape is None or len(image_shape) != 2:
        raise ValueError(f"a convolutional network needs the images' shape (rows, columns), got {image_shape!r}")
    rows, cols = image_shape
    if rows * cols != input_dim:
        raise ValueError(f"image_shape {image_shape} has {rows * cols} pixels, but the images have {input_dim}")
    if rows % 4 or cols % 4:
        raise ValueError(f"a convolutional network halves each side twice: image_shape {image_shape} must have sides divisible by 4")
    return rows, cols


class ConvEncoder(Encoder):
    """``x -> (loc, scale)``: two 4x4 stride-2 convolutions (32 and 64 channels), then a hidden layer of ``hidden_dim``."""

    def __init__(self, image_shape: tuple[int, int], hidden_dim: int, latent_dim: int) -> None:
        rows, cols = _check_shape(image_shape, image_shape[0] * image_shape[1] if image_shape else 0)
        super().__init__(1, hidden_dim, latent_dim)
        self.hidden = nn.Sequential(
            nn.Unflatten(-1, (1, rows, cols)),
            nn.Conv2d(1, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(64 * (rows // 4) * (cols // 4), hidden_dim),
            nn.SiLU(),
        )


class ConvDecoder(nn.Module):
    """``z -> `` one number per pixel: a hidden layer, then two 4x4 stride-2 transposed convolutions back to the image."""

    def __init__(self, latent_dim: int, hidden_dim: int, image_shape: tuple[int, int]) -> None:
        super().__init__()
        rows, cols = _check_shape(image_shape, image_shape[0] * image_shape[1] if image_shape else 0)
        self.input = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, 64 * (rows // 4) * (cols // 4)), nn.SiLU()
        )
        self.up = nn.Sequential(
            nn.Unflatten(-1, (64, rows // 4, cols // 4)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
            nn.Flatten(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for each code in ``z``; leading sample dimensions are folded into the batch and back."""
        lead = z.shape[:-1]
        out = self.up(self.input(z.reshape(-1, z.shape[-1])))
        return out.reshape(*lead, out.shape[-1])


def make_encoder(arch: str, input_dim: int, hidden_dim: int, latent_dim: int, image_shape: tuple[int, int] | None) -> Encoder:
    """The encoder of architecture ``arch`` (one of :data:`~pp_vae.vae.catalogue.ARCHITECTURES`)."""
    if arch in ("mlp", "made"):
        return Encoder(input_dim, hidden_dim, latent_dim)
    if arch == "iwae":
        return TanhEncoder(input_dim, hidden_dim, latent_dim)
    if arch == "conv":
        _check_shape(image_shape, input_dim)
        assert image_shape is not None
        return ConvEncoder(image_shape, hidden_dim, latent_dim)
    if arch == "linear":
        return LinearEncoder(input_dim, hidden_dim, latent_dim)
    raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")


def make_decoder(arch: str, latent_dim: int, hidden_dim: int, output_dim: int, image_shape: tuple[int, int] | None) -> nn.Module:
    """The decoder of architecture ``arch`` (one of :data:`~pp_vae.vae.catalogue.ARCHITECTURES`)."""
    if arch == "mlp":
        return Decoder(latent_dim, hidden_dim, output_dim)
    if arch == "iwae":
        return TanhDecoder(latent_dim, hidden_dim, output_dim)
    if arch == "conv":
        _check_shape(image_shape, output_dim)
        assert image_shape is not None
        return ConvDecoder(latent_dim, hidden_dim, image_shape)
    if arch == "linear":
        return nn.Linear(latent_dim, output_dim)  # x = W z + b: PPCA's decoder
    if arch == "made":
        return MADEDecoder(latent_dim, hidden_dim, output_dim)
    raise ValueError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")


def decoder_logits(decoder: nn.Module, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The decoder's output for codes ``z`` scoring images ``x``: an autoregressive decoder also reads ``x``, the others ``z`` alone."""
    return decoder(z, x) if isinstance(decoder, MADEDecoder) else decoder(z)
