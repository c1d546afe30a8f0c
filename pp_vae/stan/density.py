"""A built Stan program's log density, gradient and constraining transform, called in-process.

PyStan's ``log_prob`` goes through httpstan's HTTP server (about 2.5 ms a call here); this calls the
same compiled module directly, which makes VI through Stan practical. Everything a method needs comes
from the compiled model itself: the size of the unconstrained space, the transform to Stan's
constrained parameters and back, so any continuous parameter type works (``simplex``,
``positive_ordered``, ``cholesky_factor_corr``, ``cov_matrix``, ...).

Each call of the compiled module rebuilds the model from the data dict, and most of that cost is
httpstan's Python ``_split_data`` re-flattening the dict (kid-IQ, 434 rows: 190 us a call with
PyStan's lists, 40 us with the split done once). A density therefore splits its own data once and
serves that split to httpstan for its own dict only (:func:`_serve_split`); every other caller of
httpstan is untouched.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pp_vae.stan.programs import StanProgram, stan_name

_SIZE_MISMATCH = "number of parameters does not match"
_SPLITS: dict[int, tuple[dict[str, Any], tuple[Any, ...]]] = {}
"""id(data dict) -> (the dict, httpstan's split of it), for the dicts densities own (never mutated)."""
_ORIGINAL_SPLIT: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None


def _serve_split(data: dict[str, Any], owner: object) -> None:
    """Have httpstan reuse one split of ``data`` for as long as ``owner`` lives (other dicts: httpstan's own split)."""
    global _ORIGINAL_SPLIT
    import httpstan.utils

    if _ORIGINAL_SPLIT is None:
        original: Callable[[dict[str, Any]], tuple[Any, ...]] = httpstan.utils._split_data
        _ORIGINAL_SPLIT = original

        def split_data(data: dict[str, Any]) -> tuple[Any, ...]:
            hit = _SPLITS.get(id(data))
            return hit[1] if hit is not None and hit[0] is data else original(data)

        httpstan.utils._split_data = split_data  # the compiled module looks it up on every call
    names_r, values_r, dims_r, names_i, values_i, dims_i = _ORIGINAL_SPLIT(data)
    split = (names_r, [float(v) for v in values_r], dims_r, names_i, [int(v) for v in values_i], dims_i)
    _SPLITS[id(data)] = (data, split)
    weakref.finalize(owner, _SPLITS.pop, id(data), None)


class StanDensity:
    """``log p(u | data)`` of a built Stan program on its unconstrained space ``u`` in R^dim.

    The density includes the Jacobian of the constraining transform (``adjust_transform``), so it is
    the density of ``u`` itself: the one NUTS samples and VI approximates. Calls are counted in
    :attr:`gradient_evaluations` and :attr:`density_evaluations`, the cost measure ``pp-vae compare``
    reports beside wall-clock.
    """

    def __init__(self, posterior: Any, program: StanProgram) -> None:
        import httpstan.models

        self._module = httpstan.models.import_services_extension_module(posterior.model_name)
        self._data = {k: np.asarray(v) if isinstance(v, list) else v for k, v in posterior.data.items()}
        _serve_split(self._data, self)
        self.program = program
        sizes = {name: int(np.prod(dims, dtype=int)) for name, dims in zip(posterior.param_names, posterior.dims)}
        self.dim = self._unconstrained_dim(sum(sizes[name] for name in program.parameters))
        self.names = [stan_name(name) for name in posterior.constrained_param_names]
        """Stan's flattened names of parameters, transformed parameters and generated quantities, in ``write_array`` order."""
        self.parameter_names = self.names[: len(self._module.write_array(self._data, [0.0] * self.dim, False, False))]
        """Stan's flattened names of the ``parameters`` block alone (the first of :attr:`names`)."""
        self._with_tparams = self.names[: len(self._module.write_array(self._data, [0.0] * self.dim, True, False))]
        self.gradient_evaluations = 0
        self.density_evaluations = 0

    @classmethod
    def of(cls, program: StanProgram, data: dict[str, Any], seed: int = 0) -> StanDensity:
        """Build ``program`` with ``data`` (cached after the first time) and wrap its compiled density.

        ``data`` must already have passed :func:`pp_vae.stan.check_data`; a program without parameters is refused.
        """
        from pp_vae.stan.builds import build

        if not program.parameters:
            raise ValueError(f"Stan program {program.name!r} declares no parameters: there is nothing to infer")
        return cls(build(program, data, seed=seed), program)

    def _unconstrained_dim(self, upper: int) -> int:
        """The compiled model's own answer: the length of ``u`` its ``log_prob`` accepts.

        No Stan type has more unconstrained than constrained scalars (a simplex[K] has K - 1, a
        cov_matrix[K] K (K + 1) / 2), so the constrained size of the ``parameters`` block bounds it.
        """
        for size in range(upper, -1, -1):
            try:
                self._module.log_prob(self._data, [0.0] * size, True)
            except RuntimeError as error:
                if _SIZE_MISMATCH in str(error):
                    continue
            return size
        raise ValueError("the compiled Stan model accepted no parameter vector of any size")

    def log_prob(self, u: ArrayLike) -> float:
        """``log p(u, data)`` at unconstrained ``u`` with the Jacobian, up to a constant (``-inf`` outside the support)."""
        self.density_evaluations += 1
        point = _point(u, self.dim)
        try:
            return float(self._module.log_prob(self._data, point, True))
        except (RuntimeError, ValueError):  # Stan's domain errors arrive as either
            return -np.inf

    def log_prob_grad(self, u: ArrayLike) -> tuple[float, np.ndarray]:
        """``(log p(u, data), its gradient in u)``: one gradient evaluation (and one density evaluation)."""
        point = _point(u, self.dim)
        self.gradient_evaluations += 1
        self.density_evaluations += 1
        try:
            value = float(self._module.log_prob(self._data, point, True))
            gradient = np.asarray(self._module.log_prob_grad(self._data, point, True), dtype=float)
        except (RuntimeError, ValueError):  # a domain error (a Cholesky factor of a matrix that is not positive definite, ...)
            return -np.inf, np.full(self.dim, np.nan)
        return value, gradient

    def log_prob_grad_rows(self, points: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Log densities ``(n,)`` and gradients ``(n, dim)`` at the rows of ``points``, the module called in one loop.

        What :meth:`log_prob_grad` gives row by row (a domain error: ``-inf`` and a NaN gradient), without its
        per-row conversions: a flow's step asks for 16 rows, and those conversions were a third of their cost.
        """
        rows = _rows(points, self.dim)
        values, gradients = np.full(len(rows), -np.inf), np.full((len(rows), self.dim), np.nan)
        log_prob, log_prob_grad, data = self._module.log_prob, self._module.log_prob_grad, self._data
        for i, row in enumerate(rows.tolist()):
            try:
                value, gradient = log_prob(data, row, True), log_prob_grad(data, row, True)
            except (RuntimeError, ValueError):  # a domain error, as in log_prob_grad
                continue
            values[i], gradients[i] = value, gradient
        self.gradient_evaluations += len(rows)
        self.density_evaluations += len(rows)
        return values, gradients

    def log_prob_rows(self, points: ArrayLike) -> np.ndarray:
        """Log densities ``(n,)`` at the rows of ``points`` (``-inf`` outside the support), the module called in one loop."""
        rows = _rows(points, self.dim)
        values = np.full(len(rows), -np.inf)
        log_prob, data = self._module.log_prob, self._data
        for i, row in enumerate(rows.tolist()):
            try:
                values[i] = log_prob(data, row, True)
            except (RuntimeError, ValueError):
                continue
        self.density_evaluations += len(rows)
        return values

    def constrain(self, u: ArrayLike, include_tparams: bool = True, include_gqs: bool = False) -> np.ndarray:
        """Stan's constrained parameters (and transformed parameters) at ``u``, in the order of :attr:`names`."""
        return np.asarray(self._module.write_array(self._data, _point(u, self.dim), include_tparams, include_gqs), dtype=float)

    def constrain_draws(self, draws: np.ndarray, include_tparams: bool = True) -> dict[str, np.ndarray]:
        """Flattened Stan name -> constrained values for each row of ``draws`` (shape ``(n, dim)``).

        A row where Stan's transform throws (a transformed parameter outside its declared bounds) is NaN.
        """
        names = self._with_tparams if include_tparams else self.parameter_names
        values = np.full((len(np.atleast_2d(draws)), len(names)), np.nan)
        for i, row in enumerate(np.atleast_2d(draws)):
            try:
                values[i] = self.constrain(row, include_tparams)
            except (RuntimeError, ValueError):
                continue
        return {name: values[:, i] for i, name in enumerate(names)}

    def unconstrain(self, constrained: Mapping[str, Any]) -> np.ndarray:
        """The unconstrained point of Stan's constrained parameter values (name -> value, as Stan's JSON inits)."""
        values = {k: np.asarray(v).tolist() for k, v in constrained.items()}
        return np.asarray(self._module.transform_inits(self._data, values), dtype=float)


def _rows(points: ArrayLike, dim: int) -> np.ndarray:
    rows = np.atleast_2d(np.asarray(points, dtype=float))
    if rows.ndim != 2 or rows.shape[1] != dim:
        raise ValueError(f"the unconstrained points must be rows of {dim} entries, got an array of shape {rows.shape}")
    return rows


def _point(u: ArrayLike, dim: int) -> list[float]:
    point = np.asarray(u, dtype=float).ravel()
    if point.size != dim:
        raise ValueError(f"the unconstrained point must have {dim} entries, got {point.size}")
    return point.tolist()
