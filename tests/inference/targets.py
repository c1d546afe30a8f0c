"""Closed-form targets for the ladder's tests: correlated Gaussians, a banana, each with a counter of its calls."""

import numpy as np
from scipy.linalg import cho_factor, cho_solve

LOG_2PI = np.log(2 * np.pi)


class Counted:
    """A target ``u -> (log p, grad)`` that counts its own calls: the independent check of a method's gradient count."""

    def __init__(self, logp_grad):
        self.logp_grad = logp_grad
        self.calls = 0

    def __call__(self, u):
        self.calls += 1
        return self.logp_grad(u)


def gaussian(mean, covariance):
    """The normalised ``N(mean, covariance)`` log density and its gradient (log Z = 0, so the best ELBO is 0)."""
    mean, covariance = np.asarray(mean, float), np.asarray(covariance, float)
    factor = cho_factor(covariance, lower=True)
    precision = cho_solve(factor, np.eye(mean.size))
    constant = -0.5 * mean.size * LOG_2PI - np.sum(np.log(np.diag(factor[0])))

    def logp_grad(u):
        r = u - mean
        return float(constant - 0.5 * r @ precision @ r), -precision @ r

    return logp_grad


def equicorrelated(rho, d=2):
    """Mean 0, unit variances, every correlation ``rho``."""
    return np.zeros(d), (1 - rho) * np.eye(d) + rho * np.ones((d, d))


def random_gaussian(d=10, seed=4):
    """A d-D Gaussian with random correlations and sds from 0.5 to 2 (condition number about 30)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    corr = q @ np.diag(np.linspace(0.2, 2.0, d)) @ q.T
    corr /= np.sqrt(np.outer(np.diag(corr), np.diag(corr)))
    sds = np.exp(np.linspace(np.log(0.5), np.log(2.0), d))
    return rng.normal(0, 3, d), corr * np.outer(sds, sds)


def banana(b=1.0):
    """``u1 ~ N(0, 1)``, ``u2 | u1 ~ N(b u1^2, 1)``, normalised: E u2 = b, sd u2 = sqrt(1 + 2 b^2)."""

    def logp_grad(u):
        r = u[1] - b * u[0] ** 2
        return float(-0.5 * u[0] ** 2 - 0.5 * r**2 - LOG_2PI), np.array([-u[0] + 2 * b * u[0] * r, -r])

    return logp_grad


def saddle(u):
    """``log p = (u1^2 - u2^2) / 2``: a stationary point at 0 that is no mode."""
    return float(0.5 * u[0] ** 2 - 0.5 * u[1] ** 2), np.array([u[0], -u[1]])
