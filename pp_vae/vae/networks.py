"""The VAE's networks: an encoder ``x -> (loc, scale)`` of a diagonal Gaussian and a decoder ``z -> `` likelihood parameters."""

from __future__ import annotations

import torch
from torch import nn


class Encoder(nn.Module):
    """``x -> (loc, scale)`` of the Gaussian ``q(z | x)``: an MLP with one hidden layer (softplus)."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus())
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

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, output_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's output for each code in ``z`` (leading sample dimensions allowed)."""
        return self.net(z)
