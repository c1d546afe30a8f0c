"""A plain-PyTorch VAE of the same architecture as pp_vae.vae.VAE, written independently.

Manual reparameterisation ``z = loc + scale * eps``, the analytic Gaussian KL, the Bernoulli likelihood as
binary cross-entropy with logits or the Binomial written out with ``lgamma``, Adam, the same epochs and
batches: the yardstick the Pyro VAE is held to. The networks: one softplus hidden layer (``mlp``), two tanh
hidden layers (``iwae``, Burda et al. 2016) or the convolutions (``conv``); the learning rate constant or in the
IWAE paper's stages, written out here from the paper's description.
"""

import time

import numpy as np
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


class PlainTanhVAE(PlainVAE):
    """The same VAE with the IWAE paper's networks written out: x -> 200 -> 200 -> (loc, log scale), z -> 200 -> 200 -> logits, tanh."""

    def __init__(self, input_dim: int, latent_dim: int, hidden_dim: int) -> None:
        nn.Module.__init__(self)
        self.trials = None
        self.enc = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, hidden_dim), nn.Tanh())
        self.enc_loc = nn.Linear(hidden_dim, latent_dim)
        self.enc_log_scale = nn.Linear(hidden_dim, latent_dim)
        self.dec = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, input_dim)
        )


def paper_learning_rate(epoch: int, base: float = 1e-3) -> float:
    """Burda et al. (2016): 3^i passes at 0.001 * 10^(-i/7) for i = 0..7; the passes before stage i number (3^i - 1) / 2."""
    i = 0
    while (3 ** (i + 1) - 1) // 2 <= epoch:  # stage i + 1 starts at pass (3^(i+1) - 1) / 2
        i += 1
    return base * 10.0 ** (-i / 7.0)


def plain_log_weights(vae: PlainVAE, x: torch.Tensor, samples: int) -> torch.Tensor:
    """``log p(x|z) + log N(z; 0, I) - log q(z|x)`` for ``samples`` draws of ``z ~ q``, written out: shape ``(samples, n)``.

    Binary images only (the Bernoulli likelihood as binary cross-entropy with logits).
    """
    h = vae.enc(x)
    loc, log_scale = vae.enc_loc(h), vae.enc_log_scale(h)
    eps = torch.randn((samples, *loc.shape), device=x.device)
    z = loc + log_scale.exp() * eps
    log_px = -F.binary_cross_entropy_with_logits(vae.dec(z), x.expand(samples, *x.shape), reduction="none").sum(-1)
    half_log_2pi = 0.5 * torch.log(torch.tensor(2 * torch.pi))
    log_prior = (-0.5 * z**2 - half_log_2pi).sum(-1)
    log_q = (-0.5 * eps**2 - log_scale - half_log_2pi).sum(-1)
    return log_px + log_prior - log_q


def train_plain_binarised(train_grey: torch.Tensor, config, epoch_elbos: list[float] | None = None) -> tuple[PlainVAE, list[float]]:
    """A plain VAE trained as pp_vae trains on dynamically binarised images: the same seeds for the initial weights,
    the order of each epoch and its binary draws (``config`` is a ``TrainConfig``: its ``arch``, ``mlp`` or ``iwae``, and
    ``lr_schedule``, ``constant`` or ``iwae``, are honoured). Returns it and seconds per epoch; ``epoch_elbos``, when
    given, receives each epoch's training ELBO per image (minus the summed step losses over the images), pp_vae's
    ``history.train_elbo``."""
    torch.manual_seed(config.seed)
    networks = {"mlp": PlainVAE, "iwae": PlainTanhVAE}[config.arch]
    vae = networks(train_grey.shape[1], config.latent_dim, config.hidden_dim)
    paper = config.lr_schedule == "iwae"
    optimiser = torch.optim.Adam(vae.parameters(), lr=config.lr, eps=1e-4 if paper else 1e-8)
    n, seconds = train_grey.shape[0], []
    for epoch in range(config.epochs):
        start = time.perf_counter()
        for group in optimiser.param_groups:
            group["lr"] = paper_learning_rate(epoch, config.lr) if paper else config.lr
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
        torch.manual_seed(config.seed * 100_003 + epoch)
        total = 0.0
        for first in range(0, n, config.batch_size):
            batch = torch.bernoulli(train_grey[order[first : first + config.batch_size]])
            loss = -vae.elbo(batch).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        if epoch_elbos is not None:
            epoch_elbos.append(-total / n)
        seconds.append(time.perf_counter() - start)
    return vae.eval(), seconds


@torch.no_grad()
def plain_bounds(vae: PlainVAE, x: torch.Tensor, samples: int, batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Each binary image's ELBO and IWAE bound under the plain VAE, from ``samples`` draws (in chunks of 250)."""
    elbos, iwaes = [], []
    for start in range(0, x.shape[0], batch):
        chunk = x[start : start + batch]
        terms = torch.cat([plain_log_weights(vae, chunk, min(250, samples - k)) for k in range(0, samples, 250)])
        elbos.append(terms.mean(0))
        iwaes.append(torch.logsumexp(terms, 0) - np.log(samples))
    return torch.cat(elbos).numpy().astype(float), torch.cat(iwaes).numpy().astype(float)


def linear_gaussian_vae():
    """A pp_vae VAE whose decoder is linear and likelihood Gaussian (sigma 0.5): p(x) = N(b, W W^T + sigma^2 I) exactly."""
    from pp_vae.vae import VAE, VAESpec

    torch.manual_seed(0)
    vae = VAE(VAESpec(4, latent_dim=2, hidden_dim=8, likelihood="gaussian", sigma=0.5))
    vae.decoder.net = torch.nn.Linear(2, 4)
    return vae
