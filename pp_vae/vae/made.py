"""An autoregressive decoder: a MADE (Germain et al. 2015) over the pixels, conditioned on the code ``z``.

``p(x | z) = prod_d p(x_d | x_<d, z)``: one masked MLP gives every pixel's logit at once, each from the pixels
before it (raster order) and from ``z``, so the exact ``log p(x | z)`` of an image costs one pass. Hidden unit
``k`` has a *degree* ``m_k`` in ``0..D-1``, spread evenly: it reads pixels ``i < m_k`` (and ``z``, which enters the
hidden layer unmasked), and pixel ``d``'s logit reads the units with ``m_k <= d``. Pixel ``d``'s logit thus
depends on pixels ``< d`` alone; ``z`` reaches pixel ``d`` only through the units of degree at most ``d`` (one for the
first pixels, all of them for the last). Drawing an image takes ``D``
steps, one pixel at a time. Besides the hidden layer, pixel ``d``'s logit reads the pixels before it directly (a
strictly lower-triangular linear map of the pixels, started at zero). So ``mlp`` against ``made`` changes two
things: whether a pixel sees the pixels before it, and how many hidden units carry ``z`` to each pixel (all of them
in ``mlp``'s one softplus hidden layer of ``hidden_dim``; those of degree at most ``d`` here).

Such a decoder can model the digits well without any code, which is why a VAE with it tends to leave ``z``
unused (posterior collapse; Bowman et al. 2016, Chen et al. 2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def hidden_degrees(input_dim: int, hidden_dim: int) -> torch.Tensor:
    """Each hidden unit's degree ``floor(k D / H)``: spread evenly over ``0..D-1``, so unit 0 reads no pixel."""
    return torch.arange(hidden_dim) * input_dim // hidden_dim


class MADEDecoder(nn.Module):
    """``(z, x) ->`` one logit per pixel, pixel ``d``'s from ``z`` and ``x_<d`` alone: a masked MLP, one hidden layer, direct links."""

    input_mask: torch.Tensor
    output_mask: torch.Tensor
    direct_mask: torch.Tensor

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        self.output_dim = output_dim
        degrees, pixels = hidden_degrees(output_dim, hidden_dim), torch.arange(output_dim)
        self.latent = nn.Linear(latent_dim, hidden_dim)  # z -> hidden, as the mlp decoder's first layer
        self.pixels = nn.Linear(output_dim, hidden_dim, bias=False)  # x -> hidden, masked
        self.out = nn.Linear(hidden_dim, output_dim)  # hidden -> logits, masked
        self.direct = nn.Linear(output_dim, output_dim, bias=False)  # x -> logits, strictly lower triangular
        nn.init.zeros_(self.direct.weight)
        self.register_buffer("input_mask", (pixels[None, :] < degrees[:, None]).float())  # (H, D): unit k reads pixel i < m_k
        self.register_buffer("output_mask", (degrees[None, :] <= pixels[:, None]).float())  # (D, H): pixel d reads m_k <= d
        self.register_buffer("direct_mask", (pixels[None, :] < pixels[:, None]).float())  # (D, D): pixel d reads pixel i < d

    def forward(self, z: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Every pixel's logit given ``z`` ``(..., n, latent)`` and the images ``x`` ``(n, D)`` it conditions on."""
        if x is None:
            raise ValueError("the MADE decoder's logit for a pixel depends on the pixels before it: call decoder(z, x) with the images")
        if x.shape[-1] != self.output_dim:
            raise ValueError(f"the MADE decoder models {self.output_dim} pixels, got images of {x.shape[-1]}")
        hidden = F.softplus(self.latent(z) + F.linear(x, self.pixels.weight * self.input_mask))
        return F.linear(hidden, self.out.weight * self.output_mask, self.out.bias) + F.linear(x, self.direct.weight * self.direct_mask)

    @torch.no_grad()
    def draw(self, z: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary images drawn from ``p(x | z)`` pixel by pixel, and each pixel's probability as it was drawn.

        ``D`` steps, each adding the drawn pixel's column to the hidden layer's input and reading one logit: one
        forward pass's arithmetic in all. ``generator`` (on any device) makes the draws reproducible.
        """
        into_hidden = self.pixels.weight * self.input_mask  # (H, D)
        out_of_hidden, direct = self.out.weight * self.output_mask, self.direct.weight * self.direct_mask
        pre_activation = self.latent(z)  # (..., H): z's part now, each pixel's as it is drawn
        x = z.new_zeros((*z.shape[:-1], self.output_dim))
        probabilities = torch.empty_like(x)
        device = generator.device if generator is not None else z.device
        uniforms = torch.rand(x.shape, generator=generator, device=device).to(z.device)
        for d in range(self.output_dim):
            logit = F.softplus(pre_activation) @ out_of_hidden[d] + self.out.bias[d] + x @ direct[d]
            probabilities[..., d] = p = torch.sigmoid(logit)
            x[..., d] = (uniforms[..., d] < p).to(x.dtype)
            pre_activation = pre_activation + x[..., d, None] * into_hidden[:, d]
        return x, probabilities
