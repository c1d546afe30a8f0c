"""Probabilistic PCA: the linear-Gaussian latent variable model, where everything a VAE approximates has a closed form.

``z ~ N(0, I_q)``, ``x | z ~ N(W z + mu, sigma^2 I_D)`` (Tipping and Bishop 1999). Its evidence is Gaussian,
``x ~ N(mu, W W^T + sigma^2 I)``; its posterior ``p(z | x)`` is Gaussian with a covariance shared by every ``x``;
its maximum-likelihood ``(W, sigma^2)`` come from the data covariance's eigenvectors; and EM, whose E-step is
that exact posterior, converges to them. A VAE with a linear decoder and a linear Gaussian encoder can
represent the exact posterior, so its ELBO can reach ``log p(x)``: the lecture's check that the VAE
generalises EM (lecture 7).

Everything here is NumPy (float64), the independent truth the trained torch models are compared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy import linalg, special

from pp_vae.validation import integer_at_least, positive_scalar

if TYPE_CHECKING:
    from pp_vae.vae.family import VAEFamily

LOG_2PI = float(np.log(2 * np.pi))


def _images(name: str, x: Any) -> np.ndarray:
    """``x`` as a float64 ``(n, D)`` array, or a ``ValueError`` naming ``name``."""
    array = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of images (rows) by pixels, got shape {array.shape}")
    if not np.isfinite(array).all():
        row, column = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name} must be finite, got {array[row, column].item()!r} in image {row}, pixel {column}")
    return array


class GaussianPosterior(NamedTuple):
    """``p(z | x)`` of each row of ``x``: its own mean, and one covariance shared by every row."""

    mean: np.ndarray
    """``(n, q)``."""
    covariance: np.ndarray
    """``(q, q)``."""


@dataclass(frozen=True)
class LinearGaussian:
    """``z ~ N(0, I)``, ``x | z ~ N(weight z + mean, noise_variance I)``: probabilistic PCA with ``q = weight.shape[1]`` factors."""

    weight: np.ndarray
    """``W``, shape ``(D, q)``."""
    mean: np.ndarray
    """``mu``, shape ``(D,)``."""
    noise_variance: float
    """``sigma^2``."""

    @property
    def latent_dim(self) -> int:
        """``q``: the number of latent factors."""
        return int(self.weight.shape[1])

    def covariance(self) -> np.ndarray:
        """The evidence's covariance ``W W^T + sigma^2 I``."""
        return self.weight @ self.weight.T + self.noise_variance * np.eye(self.weight.shape[0])

    def _check(self, x: Any) -> np.ndarray:
        array = _images("x", x)
        if array.shape[1] != self.weight.shape[0]:
            raise ValueError(f"x has {array.shape[1]} pixels per image, but the model has {self.weight.shape[0]}")
        return array

    def log_marginal(self, x: Any) -> np.ndarray:
        """Each image's exact ``log p(x) = log N(x; mu, W W^T + sigma^2 I)`` (nats)."""
        x = self._check(x)
        factor = linalg.cho_factor(self.covariance(), lower=True)
        centred = x - self.mean
        mahalanobis = np.einsum("nd,nd->n", centred, linalg.cho_solve(factor, centred.T).T)
        log_det = 2 * np.log(np.diag(factor[0])).sum()
        return -0.5 * (mahalanobis + log_det + x.shape[1] * LOG_2PI)

    def posterior(self, x: Any) -> GaussianPosterior:
        """The exact ``p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1)`` with ``M = W^T W + sigma^2 I``: the E-step."""
        x = self._check(x)
        m = self.weight.T @ self.weight + self.noise_variance * np.eye(self.latent_dim)
        m_inv = linalg.inv(m)
        return GaussianPosterior((x - self.mean) @ self.weight @ m_inv, self.noise_variance * m_inv)

    def log_joint(self, x: Any, z: np.ndarray) -> np.ndarray:
        """``log p(x, z) = log N(z; 0, I) + log N(x; W z + mu, sigma^2 I)`` for codes ``z`` of shape ``(..., n, q)``."""
        x = self._check(x)
        residual = x - z @ self.weight.T - self.mean
        d = x.shape[1]
        log_likelihood = -0.5 * ((residual**2).sum(-1) / self.noise_variance + d * np.log(self.noise_variance) + d * LOG_2PI)
        return log_likelihood - 0.5 * ((z**2).sum(-1) + self.latent_dim * LOG_2PI)

    def _per_image(self, covariance: Any, n: int) -> np.ndarray:
        """One ``(q, q)`` covariance per image, ``(n, q, q)``, from one shared or ``n`` of them."""
        return np.broadcast_to(np.asarray(covariance, dtype=float), (n, self.latent_dim, self.latent_dim))

    def elbo(self, x: Any, q_mean: np.ndarray, q_covariance: np.ndarray) -> np.ndarray:
        """Each image's ELBO under ``q = N(q_mean[i], q_covariance[i])``, in closed form: reconstruction minus ``KL(q || p(z))``.

        ``E_q log p(x | z) = -D/2 log(2 pi sigma^2) - (||x - mu - W m||^2 + tr(W S W^T)) / (2 sigma^2)`` and
        ``KL(N(m, S) || N(0, I)) = (tr S + m^T m - q - log det S) / 2``. ``q_covariance`` is ``(q, q)`` or ``(n, q, q)``.
        """
        reconstruction, kl = self.elbo_terms(x, q_mean, q_covariance)
        return reconstruction - kl

    def elbo_terms(self, x: Any, q_mean: np.ndarray, q_covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ELBO's two terms per image: ``E_q log p(x | z)`` (the reconstruction) and ``KL(q(z) || p(z))``."""
        x = self._check(x)
        m, s = np.asarray(q_mean, dtype=float), self._per_image(q_covariance, x.shape[0])
        d = x.shape[1]
        residual = x - self.mean - m @ self.weight.T
        spread = np.einsum("dq,nqr,dr->n", self.weight, s, self.weight)  # tr(W S W^T)
        reconstruction = -0.5 * (d * np.log(2 * np.pi * self.noise_variance) + ((residual**2).sum(-1) + spread) / self.noise_variance)
        kl = 0.5 * (np.trace(s, axis1=1, axis2=2) + (m**2).sum(-1) - self.latent_dim - np.linalg.slogdet(s)[1])
        return reconstruction, kl

    def posterior_kl(self, x: Any, q_mean: np.ndarray, q_covariance: np.ndarray) -> np.ndarray:
        """Each image's ``KL(q(z) || p(z | x))`` in closed form: the exact gap ``log p(x) - ELBO(q)``."""
        post = self.posterior(x)
        m, s = np.asarray(q_mean, dtype=float), self._per_image(q_covariance, post.mean.shape[0])
        precision = linalg.inv(post.covariance)
        diff = post.mean - m
        return 0.5 * (
            np.einsum("qr,nrq->n", precision, s)
            + np.einsum("nq,qr,nr->n", diff, precision, diff)
            - self.latent_dim
            + np.linalg.slogdet(post.covariance)[1]
            - np.linalg.slogdet(s)[1]
        )

    def meanfield_posterior(self, x: Any) -> GaussianPosterior:
        """The best diagonal Gaussian in ``KL(q || p(z | x))``: the exact mean, variances ``1 / diag(posterior precision)``.

        Lecture 3's mean-field result for a Gaussian target: it matches the precision's diagonal, so it is
        narrower than the posterior wherever the posterior is correlated.
        """
        post = self.posterior(x)
        return GaussianPosterior(post.mean, np.diag(1 / np.diag(linalg.inv(post.covariance))))

    def rotated(self, rotation: np.ndarray) -> LinearGaussian:
        """The same model in a rotated latent basis, ``W R``: every ``log p(x)`` unchanged, the posterior rotated with it."""
        return LinearGaussian(self.weight @ np.asarray(rotation, dtype=float), self.mean, self.noise_variance)

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws ``(x, z)`` from the model."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        z = rng.standard_normal((integer_at_least("n", n), self.latent_dim))
        noise = rng.standard_normal((n, self.weight.shape[0])) * np.sqrt(self.noise_variance)
        return z @ self.weight.T + self.mean + noise, z

    def subspace(self) -> np.ndarray:
        """An orthonormal basis ``(D, q)`` of the column space of ``W``: what the model's factors span."""
        return linalg.orth(self.weight)


def _latent_dim(x: np.ndarray, latent_dim: int) -> int:
    q = integer_at_least("latent_dim", latent_dim)
    if q >= x.shape[1]:
        raise ValueError(f"latent_dim must be smaller than the {x.shape[1]} pixels per image, got {q}")
    return q


def fit_ppca(x: Any, latent_dim: int) -> LinearGaussian:
    """The maximum-likelihood PPCA of the rows of ``x`` in closed form (Tipping and Bishop 1999, eqs. 7-8).

    ``mu`` is the data mean; with ``S``'s eigenvalues ``l_1 >= ... >= l_D`` and eigenvectors ``U``,
    ``sigma^2 = mean(l_{q+1}, ..., l_D)`` (the variance the factors leave out) and
    ``W = U_q (diag(l_1..l_q) - sigma^2 I)^{1/2}``, unique up to a rotation of the latent space.
    """
    x = _images("x", x)
    q = _latent_dim(x, latent_dim)
    mean = x.mean(0)
    values, vectors = linalg.eigh(np.cov(x, rowvar=False, bias=True))
    values, vectors = values[::-1], vectors[:, ::-1]
    noise = float(values[q:].mean())
    return LinearGaussian(vectors[:, :q] * np.sqrt(np.maximum(values[:q] - noise, 0.0)), mean, noise)


class EMFit(NamedTuple):
    """PPCA fitted by EM: the model, and the training data's mean log-likelihood after each iteration."""

    model: LinearGaussian
    log_likelihood: np.ndarray


def fit_ppca_em(x: Any, latent_dim: int, iterations: int = 200, seed: int = 0, noise_variance: float | None = None) -> EMFit:
    """PPCA by exact EM from a random start (Tipping and Bishop 1999, eqs. 29-30, in the data covariance ``S``).

    E-step: the exact posterior ``p(z | x)`` of every image under the current ``(W, sigma^2)``; M-step:
    ``W <- S W (sigma^2 I + M^-1 W^T S W)^-1`` and ``sigma^2 <- tr(S - S W M^-1 W_new^T) / D``. Each
    iteration cannot lower the likelihood (the ELBO with the exact posterior touches ``log p(x)``).
    With ``noise_variance`` given, ``sigma^2`` is held there and only ``W`` is updated (the collapse rule's setting).
    """
    x = _images("x", x)
    q = _latent_dim(x, latent_dim)
    integer_at_least("iterations", iterations)
    fixed = None if noise_variance is None else positive_scalar("noise_variance", noise_variance)
    n, d = x.shape
    mean = x.mean(0)
    s = np.cov(x, rowvar=False, bias=True)
    rng = np.random.default_rng(seed)
    weight, noise = rng.standard_normal((d, q)) * np.sqrt(np.trace(s) / d), float(np.trace(s) / d) if fixed is None else fixed
    history = []
    for _ in range(iterations):
        m_inv = linalg.inv(weight.T @ weight + noise * np.eye(q))
        sw = s @ weight
        new_weight = sw @ linalg.inv(noise * np.eye(q) + m_inv @ weight.T @ sw)
        noise = float(np.trace(s - sw @ m_inv @ new_weight.T) / d) if fixed is None else fixed
        weight = new_weight
        history.append(LinearGaussian(weight, mean, noise).log_marginal(x).mean())
    return EMFit(LinearGaussian(weight, mean, noise), np.array(history))


def importance_log_evidence(
    model: LinearGaussian,
    x: Any,
    proposal: GaussianPosterior | None,
    num_samples: int,
    seed: int | np.random.Generator | None = None,
    chunk: int = 250,
) -> np.ndarray:
    """Each image's estimate ``log (1/K sum_k p(x, z_k) / q(z_k))`` with ``z_k ~ q``, ``K = num_samples``.

    ``proposal`` is ``q(z | x)`` per image (e.g. :meth:`LinearGaussian.meanfield_posterior`): the IWAE
    estimate. ``None`` draws from the prior ``N(0, I)``, where the weight is ``p(x | z)``: the naive Monte
    Carlo estimate of ``log p(x) = log E_p(z)[p(x | z)]``. Both are biased low by Jensen's inequality.
    """
    x = model._check(x)
    k_total = integer_at_least("num_samples", num_samples)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n, q = x.shape[0], model.latent_dim
    if proposal is None:
        proposal = GaussianPosterior(np.zeros((n, q)), np.eye(q))
    root = linalg.cholesky(proposal.covariance, lower=True)
    log_det = 2 * np.log(np.diag(root)).sum()
    running = np.full(n, -np.inf)
    for start in range(0, k_total, chunk):
        eps = rng.standard_normal((min(chunk, k_total - start), n, q))
        z = proposal.mean + eps @ root.T
        log_q = -0.5 * ((eps**2).sum(-1) + log_det + q * LOG_2PI)
        running = np.logaddexp(running, special.logsumexp(model.log_joint(x, z) - log_q, axis=0))
    return running - np.log(k_total)


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The principal angles (radians, largest first) between the column spaces of ``a`` and ``b``: 0 when they span the same subspace."""
    return np.asarray(linalg.subspace_angles(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


def linear_gaussian_of(vae: VAEFamily) -> LinearGaussian:
    """The generative model of a VAE with a linear decoder and a Gaussian likelihood, as a :class:`LinearGaussian`.

    Its decoder is ``x = W z + b``, its ``sigma`` the likelihood's (fixed, learned, or the optimal one's
    running estimate): exactly PPCA's form, so its ``log p(x)`` and posterior have closed forms.
    """
    import torch

    from pp_vae.vae.likelihoods import Gaussian

    if vae.arch != "linear" or not isinstance(vae.likelihood, Gaussian) or vae.code_dim != vae.latent_dim:
        raise ValueError("only a one-layer VAE with arch='linear' and likelihood='gaussian' is a linear-Gaussian model")
    layer = vae.decoder
    assert isinstance(layer, torch.nn.Linear)
    was_training = vae.training
    vae.eval()
    with torch.no_grad():
        sigma = float(torch.as_tensor(vae.likelihood.sigma_value()))
    vae.train(was_training)
    return LinearGaussian(layer.weight.detach().double().cpu().numpy(), layer.bias.detach().double().cpu().numpy(), sigma**2)
