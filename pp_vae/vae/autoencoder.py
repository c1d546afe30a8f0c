"""A plain (deterministic) autoencoder, the VAE's ancestor: an encoder to a code, a decoder back, squared error between.

Lecture 7 sets it beside PCA and the VAE. With ``arch="linear"`` it is PCA by gradient descent: its
decoder spans the principal subspace (Baldi and Hornik 1989). With a hidden layer it reconstructs
better than PCA, but nothing shapes its codes: there is no prior to sample new images from, and no
likelihood to score one. The same networks as the VAE's (:mod:`pp_vae.vae.networks`), so the three
differ only in what they optimise.
"""

from __future__ import annotations

import torch
from torch import nn

from pp_vae.data.images import ImageData
from pp_vae.vae.catalogue import ARCH_MEMBERS, ARCHITECTURES
from pp_vae.vae.networks import make_decoder, make_encoder
from pp_vae.validation import integer_at_least


class Autoencoder(nn.Module):
    """``x -> code -> reconstruction``: the encoder's ``loc`` head is the code; the decoder outputs pixel values directly."""

    def __init__(
        self, input_dim: int, latent_dim: int, hidden_dim: int = 256, arch: str = "mlp", image_shape: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        takes = [name for name in ARCHITECTURES if name not in ARCH_MEMBERS]  # a decoder of z alone
        if arch not in takes:
            raise ValueError(f"arch must be one of {', '.join(takes)}, got {arch!r}")
        self.encoder = make_encoder(arch, input_dim, hidden_dim, latent_dim, image_shape)
        self.decoder = make_decoder(arch, latent_dim, hidden_dim, input_dim, image_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's code, shape ``(n, latent_dim)``."""
        return self.encoder(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Each image's reconstruction."""
        return self.decoder(self.encode(x))


def fit_autoencoder(
    data: ImageData,
    latent_dim: int,
    arch: str = "mlp",
    hidden_dim: int = 256,
    epochs: int = 100,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
) -> tuple[Autoencoder, list[float]]:
    """Train an :class:`Autoencoder` on ``data.train`` by Adam on the mean squared error; return it and the test MSE per epoch."""
    for name, value in (("latent_dim", latent_dim), ("epochs", epochs), ("batch_size", batch_size)):
        integer_at_least(name, value)
    torch.manual_seed(seed)
    model = Autoencoder(data.input_dim, latent_dim, hidden_dim, arch, data.image_shape)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    n = data.train.shape[0]
    for epoch in range(epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        for first in range(0, n, batch_size):
            batch = data.train[order[first : first + batch_size]]
            loss = ((model(batch) - batch) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            history.append(float(((model(data.test) - data.test) ** 2).mean()))
    return model.eval(), history
