"""A plain-PyTorch VAE of the same architecture as pp_vae.vae.VAE, written independently.

Manual reparameterisation ``z = loc + scale * eps``, the analytic Gaussian KL, the Bernoulli likelihood as
binary cross-entropy with logits or the Binomial written out with ``lgamma``, Adam, the same epochs and
batches: the yardstick the Pyro VAE is held to.
"""

import torch
from torch import nn
from torch.nn import functional as F


class PlainVAE(nn.Module):
    def __init__(self, input_dim: int, latent_dim: int, hidden_dim: int, trials: int | None = None) -> None:
        super().__init__()
        self.trials = trials  # None: Bernoulli on grey levels; else Binomial(trials) on the counts trials * x
        self.enc = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus())
        self.enc_loc = nn.Linear(hidden_dim, latent_dim)
        self.enc_log_scale = nn.Linear(hidden_dim, latent_dim)
        self.dec = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, input_dim))

    def elbo(self, x: torch.Tensor, samples: int = 1) -> torch.Tensor:
        """ELBO of each image: reconstruction log-likelihood minus KL(q(z|x) || N(0, I))."""
        h = self.enc(x)
        loc, log_scale = self.enc_loc(h), self.enc_log_scale(h)
        scale = log_scale.exp()
        eps = torch.randn((samples, *loc.shape), device=x.device)
        z = loc + scale * eps
        logits = self.dec(z)
        if self.trials is None:
            reconstruction = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1).mean(0)
        else:
            n, k = float(self.trials), torch.round(x * self.trials)
            log_choose = torch.lgamma(torch.tensor(n + 1)) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)
            # k log p + (n - k) log (1 - p) with log p = -softplus(-logits), log(1 - p) = -softplus(logits)
            per_pixel = log_choose - k * F.softplus(-logits) - (n - k) * F.softplus(logits)
            reconstruction = per_pixel.sum(-1).mean(0)
        kl = 0.5 * (scale**2 + loc**2 - 1 - 2 * log_scale).sum(-1)
        return reconstruction - kl


def train_plain(
    train_x: torch.Tensor,
    test_x: torch.Tensor,
    *,
    epochs: int,
    latent_dim: int,
    hidden_dim: int,
    batch_size: int,
    lr: float,
    seed: int,
    trials: int | None = None,
) -> float:
    """Train by Adam on minus the summed ELBO; return the test ELBO per image (10 samples per image)."""
    torch.manual_seed(seed)
    vae = PlainVAE(train_x.shape[1], latent_dim, hidden_dim, trials)
    optimiser = torch.optim.Adam(vae.parameters(), lr=lr)
    n = train_x.shape[0]
    for epoch in range(epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 7 + epoch))
        for first in range(0, n, batch_size):
            loss = -vae.elbo(train_x[order[first : first + batch_size]]).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        torch.manual_seed(seed + 1)
        return float(vae.elbo(test_x, samples=10).mean())


class PlainConvVAE(PlainVAE):
    """The same VAE with pp_vae's ``conv`` networks written out: two 4x4 stride-2 convolutions (32, 64 channels) each way."""

    def __init__(self, side: int, latent_dim: int, hidden_dim: int) -> None:
        super().__init__(side * side, latent_dim, hidden_dim)
        quarter = side // 4
        self.enc = nn.Sequential(
            nn.Unflatten(-1, (1, side, side)),
            nn.Conv2d(1, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(64 * quarter * quarter, hidden_dim),
            nn.SiLU(),
        )
        up = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, 64 * quarter * quarter),
            nn.SiLU(),
            nn.Unflatten(-1, (64, quarter, quarter)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
            nn.Flatten(),
        )
        self.dec = _FoldSamples(up)


class _FoldSamples(nn.Module):
    """Apply ``net`` to ``(samples, n, latent)`` codes by folding the sample dimension into the batch."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(z.reshape(-1, z.shape[-1]))
        return out.reshape(*z.shape[:-1], out.shape[-1])
