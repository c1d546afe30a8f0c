"""The amortised VAE and its variants as Pyro model/guide pairs (after Pyro's ``examples/vae/vae.py``).

``VAE.model(x)``: ``z ~ N(0, I)``, ``x ~ p(x | decoder(z))`` with a Bernoulli likelihood or a Gaussian
one whose sigma is fixed, learned (one shared sigma) or set to its optimum on the batch (sigma-VAE).
``VAE.guide(x)``: ``z ~ N(encoder(x))`` -- one network outputs every datapoint's variational
parameters (amortisation). ``beta`` weights the KL term (beta-VAE). :class:`IAFVAE` puts inverse
autoregressive flows on top of the Gaussian guide; :class:`LadderVAE` has two stochastic layers.

Every variant answers the same questions, which training and the analyses use:
``log_weights(x, K)`` (``log p(x, z_k) - log q(z_k | x)``), ``elbo(x)``, ``posterior_mean(x)``,
``kl_per_dim(x)`` (or ``None``), ``loss()`` (the Pyro ELBO to train it with).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import pyro
import pyro.distributions as dist
import pyro.distributions.transforms as T
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO
from torch import nn

from pp_vae.info import diagonal_gaussian_kl, gaussian_kl
from pp_vae.validation import integer_at_least

LIKELIHOODS = ("bernoulli", "gaussian")
SIGMA_MODES = ("learned", "optimal")
MIN_LOG_SIGMA = -6.0  # the sigma-VAE's floor on log sigma (Rybkin et al. 2020): sigma >= 0.0025


def check_sigma(sigma: Any) -> float | str:
    """A positive number (fixed sigma), ``"learned"`` or ``"optimal"``; anything else is a clear error."""
    if isinstance(sigma, str):
        if sigma in SIGMA_MODES:
            return sigma
        try:
            sigma = float(sigma)
        except ValueError:
            raise ValueError(f"sigma must be a positive number, 'learned' or 'optimal', got {sigma!r}") from None
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f"sigma must be a positive number, 'learned' or 'optimal', got {sigma!r}")
    return float(sigma)


def optimal_sigma(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """The sigma that maximises ``sum log N(x; mean, sigma^2)``: ``sqrt(mean squared error)`` (floored)."""
    return ((x - mean) ** 2).mean().sqrt().clamp_min(math.exp(MIN_LOG_SIGMA))


class Encoder(nn.Module):
    """``x -> (loc, scale)`` of the Gaussian ``q(z | x)``: an MLP with one hidden layer."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.Softplus())
        self.loc = nn.Linear(hidden_dim, latent_dim)
        self.log_scale = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.heads(self.hidden(x))

    def heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loc, scale)`` from the hidden features ``h``."""
        return self.loc(h), torch.exp(self.log_scale(h))


class Decoder(nn.Module):
    """``z -> `` pixel logits (Bernoulli) or means (Gaussian); holds the shared ``log_sigma`` when it is learned."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int, learn_sigma: bool = False) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.Softplus(), nn.Linear(hidden_dim, output_dim))
        self.log_sigma = nn.Parameter(torch.zeros(())) if learn_sigma else None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """A variational autoencoder with ``model`` and ``guide`` methods for Pyro's SVI.

    Parameters
    ----------
    input_dim
        Pixels per (flattened) image.
    latent_dim, hidden_dim
        Size of ``z`` and of the encoder's and decoder's hidden layer.
    likelihood
        ``"bernoulli"`` (grey levels in [0, 1] as Bernoulli means: the usual VAE) or ``"gaussian"``
        (the lectures' "MSE" view: ``-log p(x|z) = ||x - mean||^2 / (2 sigma^2) + D log sigma + const``).
    sigma
        For the Gaussian likelihood: a fixed positive number, ``"learned"`` (one shared sigma trained
        with the networks) or ``"optimal"`` (the batch's closed-form optimum, the sigma-VAE).
    beta
        Weight of the KL term (beta-VAE); 1 is the ELBO. ``anneal`` (set by training) multiplies it.
    """

    kind = "vae"

    def __init__(self, input_dim: int, latent_dim: int = 10, hidden_dim: int = 256, likelihood: str = "bernoulli",
                 sigma: float | str = 0.1, beta: float = 1.0) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim), ("hidden_dim", hidden_dim)):
            integer_at_least(name, value)
        if not (isinstance(beta, (int, float)) and beta > 0 and math.isfinite(beta)):
            raise ValueError(f"beta must be a positive number, got {beta!r}")
        self.input_dim, self.latent_dim, self.hidden_dim = input_dim, latent_dim, hidden_dim
        self.likelihood, self.sigma, self.beta = likelihood, check_sigma(sigma), float(beta)
        self.anneal = 1.0
        self._training_loss: Trace_ELBO | None = None
        self.encoder = Encoder(input_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(self.decoder_input_dim, hidden_dim, input_dim, learn_sigma=likelihood == "gaussian" and self.sigma == "learned")

    @property
    def decoder_input_dim(self) -> int:
        """Size of the code the decoder reads (``latent_dim``; the bottom layer for the ladder VAE)."""
        return self.latent_dim

    def config(self) -> dict[str, Any]:
        """The constructor arguments (stored in checkpoints; :func:`vae_from_config` rebuilds from them)."""
        return {"kind": self.kind, "input_dim": self.input_dim, "latent_dim": self.latent_dim, "hidden_dim": self.hidden_dim,
                "likelihood": self.likelihood, "sigma": self.sigma, "beta": self.beta}

    @property
    def kl_weight(self) -> float:
        """The KL term's weight in the training objective now: ``beta`` times the annealing factor."""
        return self.beta * self.anneal

    @contextlib.contextmanager
    def plain_elbo(self):
        """Within this block the model/guide pair's objective is the ELBO itself (KL weight 1), whatever ``beta``."""
        anneal, self.anneal = self.anneal, 1.0 / self.beta
        try:
            yield self
        finally:
            self.anneal = anneal

    def kl_scale(self) -> contextlib.AbstractContextManager:
        """``poutine.scale`` by the KL weight around the latent sites (beta-VAE); nothing at weight 1 (the hot path)."""
        weight = self.kl_weight
        return contextlib.nullcontext() if weight == 1.0 else poutine.scale(scale=weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch: minus the (beta-weighted) ELBO, summed over images, differentiable.

        Pyro's ``differentiable_loss`` runs ``model`` and ``guide`` as SVI would; being the module's
        ``forward`` lets a plain torch optimizer, and ``DistributedDataParallel``, train the pair.
        """
        if self._training_loss is None:
            self._training_loss = self.loss()
        return self._training_loss.differentiable_loss(self.model, self.guide, x)

    def sigma_value(self, x: torch.Tensor | None = None, mean: torch.Tensor | None = None) -> torch.Tensor | float | None:
        """The Gaussian likelihood's sigma (``None`` for Bernoulli); the optimal one needs ``x`` and the decoded mean."""
        if self.likelihood == "bernoulli":
            return None
        if self.sigma == "learned":
            return self.decoder.log_sigma.clamp_min(MIN_LOG_SIGMA).exp()
        if self.sigma == "optimal":
            if x is None or mean is None:
                raise ValueError("the optimal sigma is a property of a batch: pass the images and their decoded means")
            return optimal_sigma(x, mean)
        return self.sigma

    def likelihood_dist(self, decoded: torch.Tensor, x: torch.Tensor | None = None) -> dist.Distribution:
        """``p(x | z)`` given the decoder's output, with the pixels as one event (``x`` sets the optimal sigma)."""
        if self.likelihood == "bernoulli":
            # grey levels are not 0/1: skip the support check, as Pyro's VAE example does
            return dist.Bernoulli(logits=decoded, validate_args=False).to_event(1)
        return dist.Normal(decoded, self.sigma_value(x, decoded)).to_event(1)

    def model(self, x: torch.Tensor) -> None:
        """``p(x, z) = N(z; 0, I) p(x | decoder(z))`` for a batch of images ``x`` (shape ``(n, input_dim)``)."""
        pyro.module("decoder", self.decoder)
        with pyro.plate("data", x.shape[0], device=x.device):
            prior = dist.Normal(x.new_zeros(self.latent_dim), x.new_ones(self.latent_dim)).to_event(1)
            with self.kl_scale():  # beta-VAE: scales log p(z) here and log q(z|x) in the guide
                z = pyro.sample("z", prior)
            pyro.sample("x", self.likelihood_dist(self.decoder(z), x), obs=x)

    def guide(self, x: torch.Tensor) -> None:
        """``q(z | x) = N(z; encoder(x))``: amortised, one network for every image."""
        pyro.module("encoder", self.encoder)
        with pyro.plate("data", x.shape[0], device=x.device), self.kl_scale():
            pyro.sample("z", self.posterior(x))

    def posterior(self, x: torch.Tensor) -> dist.Distribution:
        """The amortised ``q(z | x)`` of a batch: batch shape ``(n,)``, event shape ``(latent_dim,)``."""
        loc, scale = self.encoder(x)
        return dist.Normal(loc, scale).to_event(1)

    def loss(self) -> Trace_ELBO:
        """The ELBO estimator to train with: ``TraceMeanField_ELBO`` (closed-form Gaussian KL)."""
        return TraceMeanField_ELBO()

    def log_weights(self, x: torch.Tensor, num_samples: int) -> torch.Tensor:
        """``log p(x, z_k) - log q(z_k | x)`` for ``z_k ~ q(z | x)``, shape ``(num_samples, n)``."""
        return gaussian_q_log_weights(self, x, *self.encoder(x), num_samples)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """Each image's ELBO (beta = 1): ``E_q[log p(x|z)]`` by sampling minus the closed-form KL."""
        return gaussian_q_elbo(self, x, *self.encoder(x), num_samples=num_samples)

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor) -> torch.Tensor:
        """``E_q[z | x]`` for each image, shape ``(n, latent_dim)``."""
        return self.encoder(x)[0]

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor) -> torch.Tensor | None:
        """``KL(q(z_i | x) || N(0, 1))`` for each image and latent dimension, shape ``(n, latent_dim)``."""
        return gaussian_kl(*self.encoder(x))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``p(x | z)`` at ``z`` = the posterior mean: what the VAE makes of ``x``."""
        return self.mean_image(self.posterior_mean(x)[:, :self.decoder_input_dim])

    @torch.no_grad()
    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel means (probabilities for Bernoulli) decoded from latent codes ``z``."""
        decoded = self.decoder(z)
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """New images: draw ``z`` from the prior and decode it (pixel means)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.mean_image(z)


class IAFVAE(VAE):
    """A VAE whose guide adds inverse autoregressive flows to the Gaussian (Kingma et al. 2016).

    ``z_0 ~ N(encoder(x))``, then ``flows`` affine autoregressive layers, each conditioned on the
    encoder's hidden features, give a ``q(z | x)`` with correlations the diagonal Gaussian lacks.
    Its KL has no closed form, so it trains with ``Trace_ELBO``.
    """

    kind = "iaf"

    def __init__(self, input_dim: int, latent_dim: int = 10, hidden_dim: int = 256, likelihood: str = "bernoulli",
                 sigma: float | str = 0.1, beta: float = 1.0, flows: int = 2) -> None:
        super().__init__(input_dim, latent_dim, hidden_dim, likelihood, sigma, beta)
        integer_at_least("flows", flows)
        if latent_dim < 2:
            raise ValueError(f"an IAF guide needs latent_dim >= 2 (autoregression over one dimension is the Gaussian), got {latent_dim}")
        self.flows = nn.ModuleList(
            T.conditional_affine_autoregressive(latent_dim, hidden_dim, hidden_dims=[max(32, 4 * latent_dim)]) for _ in range(flows))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "flows": len(self.flows)}

    def guide(self, x: torch.Tensor) -> None:
        pyro.module("encoder", self.encoder)
        pyro.module("flows", self.flows)
        with pyro.plate("data", x.shape[0], device=x.device), self.kl_scale():
            pyro.sample("z", self.posterior(x))

    def posterior(self, x: torch.Tensor) -> dist.Distribution:
        h = self.encoder.hidden(x)
        loc, scale = self.encoder.heads(h)
        return dist.TransformedDistribution(dist.Normal(loc, scale).to_event(1), [flow.condition(h) for flow in self.flows])

    def loss(self) -> Trace_ELBO:
        return Trace_ELBO()

    def log_weights(self, x: torch.Tensor, num_samples: int) -> torch.Tensor:
        q = self.posterior(x)
        z = q.rsample((num_samples,))
        return log_joint(self, x, z) - q.log_prob(z)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        return self.log_weights(x, num_samples).mean(0)

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, num_samples: int = 64) -> torch.Tensor:
        return self.posterior(x).sample((num_samples,)).mean(0)

    def kl_per_dim(self, x: torch.Tensor) -> None:
        """``None``: with flows the KL does not split over dimensions."""
        return None


class LadderVAE(VAE):
    """A two-layer hierarchical VAE with the ladder VAE's inference (Sonderby et al. 2016).

    Model: ``z2 ~ N(0, I)``, ``z1 ~ N(top_down(z2))``, ``x ~ p(x | decoder(z1))``.
    Guide: a bottom-up pass gives ``(mu_hat, sigma_hat)`` for each layer; ``q(z2|x) = N(mu_hat2, sigma_hat2)``;
    ``q(z1|z2, x)`` merges the bottom-up ``N(mu_hat1, sigma_hat1)`` with the model's top-down prior
    ``N(mu_p1, sigma_p1)`` by precision weighting (:func:`precision_weighted`), so the guide and the
    model share the top-down network. ``latent_dim`` is the size of ``z1``, ``top_dim`` that of ``z2``.
    """

    kind = "ladder"

    def __init__(self, input_dim: int, latent_dim: int = 10, hidden_dim: int = 256, likelihood: str = "bernoulli",
                 sigma: float | str = 0.1, beta: float = 1.0, top_dim: int = 4) -> None:
        integer_at_least("top_dim", top_dim)
        self.top_dim = top_dim
        super().__init__(input_dim, latent_dim, hidden_dim, likelihood, sigma, beta)
        upper = max(hidden_dim // 2, 8)
        self.encoder_top = Encoder(hidden_dim, upper, top_dim)  # reads the bottom encoder's hidden features
        self.top_down = Encoder(top_dim, upper, latent_dim)  # z2 -> (mu_p1, sigma_p1), shared by model and guide

    def config(self) -> dict[str, Any]:
        return {**super().config(), "top_dim": self.top_dim}

    def posterior(self, x: torch.Tensor) -> dist.Distribution:
        raise TypeError("the ladder VAE's q(z1, z2 | x) is hierarchical: use its guide, log_weights or posterior_mean")

    def model(self, x: torch.Tensor) -> None:
        pyro.module("decoder", self.decoder)
        pyro.module("top_down", self.top_down)
        with pyro.plate("data", x.shape[0], device=x.device):
            with self.kl_scale():
                z2 = pyro.sample("z2", dist.Normal(x.new_zeros(self.top_dim), x.new_ones(self.top_dim)).to_event(1))
                z1 = pyro.sample("z1", dist.Normal(*self.top_down(z2)).to_event(1))
            pyro.sample("x", self.likelihood_dist(self.decoder(z1), x), obs=x)

    def bottom_up(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """The deterministic upward pass: ``(mu_hat1, sigma_hat1)`` and ``(mu_hat2, sigma_hat2)``."""
        h = self.encoder.hidden(x)
        return self.encoder.heads(h), self.encoder_top(h)

    def guide(self, x: torch.Tensor) -> None:
        pyro.module("encoder", self.encoder)
        pyro.module("encoder_top", self.encoder_top)
        pyro.module("top_down", self.top_down)
        (loc1, scale1), (loc2, scale2) = self.bottom_up(x)
        with pyro.plate("data", x.shape[0], device=x.device), self.kl_scale():
            z2 = pyro.sample("z2", dist.Normal(loc2, scale2).to_event(1))
            pyro.sample("z1", dist.Normal(*precision_weighted(loc1, scale1, *self.top_down(z2))).to_event(1))

    def loss(self) -> Trace_ELBO:
        return TraceMeanField_ELBO()  # both layers' KLs in closed form, z1's given the sampled z2

    def _layers(self, x: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, ...]:
        """Draws ``z2, z1`` from the guide with ``q`` and ``p`` of each layer's Gaussian parameters."""
        (loc1, scale1), (loc2, scale2) = self.bottom_up(x)
        z2 = loc2 + scale2 * torch.randn((num_samples, *loc2.shape), device=x.device, dtype=x.dtype)
        prior1 = self.top_down(z2)
        q1 = precision_weighted(loc1, scale1, *prior1)
        z1 = q1[0] + q1[1] * torch.randn_like(q1[0])
        return z2, (loc2, scale2), z1, q1, prior1

    def log_weights(self, x: torch.Tensor, num_samples: int) -> torch.Tensor:
        z2, q2, z1, q1, prior1 = self._layers(x, num_samples)
        log_p = (self.likelihood_dist(self.decoder(z1), x).log_prob(x) + dist.Normal(0.0, 1.0).log_prob(z2).sum(-1)
                 + dist.Normal(*prior1).log_prob(z1).sum(-1))
        return log_p - dist.Normal(*q2).log_prob(z2).sum(-1) - dist.Normal(*q1).log_prob(z1).sum(-1)

    def elbo(self, x: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
        """``E_q[log p(x|z1)] - KL(q(z2|x) || p(z2)) - E_q(z2)[KL(q(z1|z2,x) || p(z1|z2))]``, KLs in closed form."""
        z2, q2, z1, q1, prior1 = self._layers(x, num_samples)
        reconstruction = self.likelihood_dist(self.decoder(z1), x).log_prob(x)
        return (reconstruction - diagonal_gaussian_kl(*q1, *prior1)).mean(0) - diagonal_gaussian_kl(*q2)

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, num_samples: int = 64) -> torch.Tensor:
        """``E_q[z1 | x]`` and ``E_q[z2 | x]`` side by side, shape ``(n, latent_dim + top_dim)``."""
        z2, q2, z1, q1, _ = self._layers(x, num_samples)
        return torch.cat([q1[0].mean(0), q2[0]], -1)

    @torch.no_grad()
    def kl_per_dim(self, x: torch.Tensor, num_samples: int = 16) -> torch.Tensor:
        """Per-dimension KLs: ``z1``'s (given ``z2``, averaged over ``q(z2|x)``) then ``z2``'s."""
        z2, q2, z1, q1, prior1 = self._layers(x, num_samples)
        return torch.cat([gaussian_kl(*q1, *prior1).mean(0), gaussian_kl(*q2)], -1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        device = next(self.parameters()).device
        z2 = torch.randn(n, self.top_dim, generator=generator).to(device)
        loc, scale = self.top_down(z2)
        return self.mean_image(loc + scale * torch.randn(loc.shape, generator=generator).to(device))


MODELS: dict[str, type[VAE]] = {"vae": VAE, "iaf": IAFVAE, "ladder": LadderVAE}


def vae_from_config(config: dict[str, Any]) -> VAE:
    """Rebuild a VAE (any variant) from :meth:`VAE.config`, as stored in a checkpoint."""
    config = dict(config)
    kind = config.pop("kind", "vae")
    if kind not in MODELS:
        raise ValueError(f"unknown VAE kind {kind!r}; expected one of {', '.join(MODELS)}")
    return MODELS[kind](**config)


def precision_weighted(loc_a: torch.Tensor, scale_a: torch.Tensor, loc_b: torch.Tensor, scale_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Product of two Gaussians, renormalised: precisions add, means are precision-weighted (the ladder merge)."""
    precision_a, precision_b = scale_a.pow(-2), scale_b.pow(-2)
    variance = 1.0 / (precision_a + precision_b)
    return (loc_a * precision_a + loc_b * precision_b) * variance, variance.sqrt()


def log_joint(vae: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``log p(x | z) + log N(z; 0, I)`` for a one-layer VAE; ``z`` may carry leading sample dimensions."""
    return vae.likelihood_dist(vae.decoder(z), x).log_prob(x) + dist.Normal(0.0, 1.0).log_prob(z).sum(-1)


def gaussian_q_log_weights(vae: VAE, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int) -> torch.Tensor:
    """``log p(x, z_k) - log q(z_k)`` for ``z_k ~ q = N(loc, scale)`` (any Gaussian q, amortised or not)."""
    q = dist.Normal(loc, scale).to_event(1)
    z = q.rsample((num_samples,))
    return log_joint(vae, x, z) - q.log_prob(z)


def sampled_in_chunks(log_weights: Any, num_samples: int, chunk: int = 250) -> torch.Tensor:
    """``log_weights(k)`` called for chunks of ``k <= chunk`` draws and stacked: ``(num_samples, n)`` in bounded memory."""
    return torch.cat([log_weights(min(chunk, num_samples - k)) for k in range(0, num_samples, chunk)])


def importance_weighted(terms: torch.Tensor) -> torch.Tensor:
    """``log (1/K sum_k exp(terms_k))`` per image: the IWAE estimate from ``K`` log weights."""
    return torch.logsumexp(terms, dim=0) - math.log(terms.shape[0])


@torch.no_grad()
def iwae_bound(vae: VAE, x: torch.Tensor, num_samples: int = 1000, batch_size: int = 100, chunk: int = 250) -> float:
    """Importance-weighted bound ``E log (1/K sum_k p(x, z_k) / q(z_k | x))`` per image (nats).

    With ``K = num_samples`` it lies above the ELBO (K = 1) and rises towards ``log p(x)`` as K grows.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        batch = x[start:start + batch_size]
        terms = sampled_in_chunks(lambda k: vae.log_weights(batch, k), num_samples, chunk)
        total += float(importance_weighted(terms).sum())
    return total / x.shape[0]


@torch.no_grad()
def gaussian_q_elbo(vae: VAE, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, num_samples: int = 10) -> torch.Tensor:
    """ELBO of each image under ``q(z) = N(loc, scale)``: ``E_q[log p(x|z)]`` by sampling minus the closed-form KL."""
    z = loc + scale * torch.randn((num_samples, *loc.shape), device=loc.device, dtype=loc.dtype)
    reconstruction = vae.likelihood_dist(vae.decoder(z), x).log_prob(x).mean(0)
    return reconstruction - diagonal_gaussian_kl(loc, scale)


@torch.no_grad()
def elbo_per_image(vae: VAE, x: torch.Tensor, num_samples: int = 10, batch_size: int = 500) -> float:
    """ELBO per image (nats) with the VAE's own ``q(z|x)``: ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``, beta = 1."""
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        total += float(vae.elbo(x[start:start + batch_size], num_samples=num_samples).sum())
    return total / x.shape[0]
