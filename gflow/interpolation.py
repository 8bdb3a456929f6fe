"""Monotonic linear interpolation (MLI) curves and their exact boundaries.

For parameters ``θ(0)`` and ``θ(T)`` the path is ``θ[α] = (1−α) θ(0) + α θ(T)``, α ∈ [0, 1]
(plateau paper, Section 3). Along it gflow evaluates the loss curve ``γ_loss(α)`` (mean
cross-entropy) and the error curve ``γ_err(α)`` (fraction of misclassified samples),
vectorised over α. The paper's *homogeneous bias interpolation* (Section 5) replaces the
bias of layer h (input = layer 0) by ``α^h b_h(T)``: pass ``bias_power = h``.

Boundaries are located exactly, not read off a grid:

* the error is piecewise constant in α and changes only where some sample's margin
  ``m_x(α) = f_y(x) − max_{j≠y} f_j(x)`` crosses 0: :meth:`MLI.error_change_points` brackets
  those roots on a fine grid and refines each with Brent's method;
* the loss decreases strictly on ``[a, 1]`` iff ``dγ_loss/dα < 0`` there: the boundary is
  the last root of the derivative (computed by autodiff), refined by Brent's method.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import brentq

from ._config import jax as _jax
from .models._common import class_margins

Logits = Callable[[Any, Any], Any]  # (theta, X) -> (n, k) logits


def interpolate(theta0, theta1, alpha: float, bias_power: dict | None = None):
    """``θ[α]``; ``bias_power`` maps a top-level key (or NamedTuple field) of θ to the power h
    of the homogeneous interpolation ``α^h θ1[key]`` used for that entry instead (a tuple of
    powers for a tuple-valued entry, e.g. one per hidden layer)."""
    jax = _jax()
    path = jax.tree_util.tree_map(lambda a, b: (1 - alpha) * a + alpha * b, theta0, theta1)
    for key, h in (bias_power or {}).items():
        target = _get(theta1, key)
        if isinstance(h, tuple):
            value = tuple(alpha**hi * t for hi, t in zip(h, target))
        else:
            value = alpha**h * target
        path = _replace(path, key, value)
    return path


def _get(theta, key):
    return getattr(theta, key) if hasattr(theta, "_fields") else theta[key]


def _replace(theta, key, value):
    if hasattr(theta, "_replace"):
        return theta._replace(**{key: value})
    out = dict(theta)
    out[key] = value
    return out


@functools.lru_cache(maxsize=64)
def _compiled_curves(logits: Logits, power: tuple) -> dict:
    """Jitted margin, loss and dloss/dα along the path, with θ(0), θ(T) and the data as traced
    arguments: one compilation per (model, bias powers, shapes) serves every δ and every run.
    ``logits`` must be a stable function object (e.g. :func:`gflow.models.homogeneous.logits_fn`)."""
    jax = _jax()
    jnp = jax.numpy
    bias_power = dict(power) or None

    def logits_at(alpha, t0, t1, X):
        return logits(interpolate(t0, t1, alpha, bias_power), X)

    def margins(alpha, t0, t1, X, y):
        return class_margins(logits_at(alpha, t0, t1, X), y)

    def loss(alpha, t0, t1, X, y):
        f = logits_at(alpha, t0, t1, X)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(f, axis=1), y[:, None], axis=1))

    over_alpha = (0, None, None, None, None)
    return {"margins": jax.jit(jax.vmap(margins, in_axes=over_alpha)), "margins1": jax.jit(margins),
            "loss": jax.jit(jax.vmap(loss, in_axes=over_alpha)),
            "dloss": jax.jit(jax.vmap(jax.grad(loss), in_axes=over_alpha)), "dloss1": jax.jit(jax.grad(loss))}


@dataclasses.dataclass
class MLI:
    """The interpolation path of one model between ``theta0`` and ``theta1`` on data ``(X, labels)``.

    ``logits(theta, X)`` must be a pure JAX function. ``grid`` sets the bracketing grid used
    to find roots (its size bounds how close two roots can be and still be separated).
    """

    logits: Logits
    theta0: Any
    theta1: Any
    X: np.ndarray
    labels: np.ndarray
    bias_power: dict | None = None
    grid: int = 4001

    def __post_init__(self):
        jnp = _jax().numpy
        self._data = (self.theta0, self.theta1, jnp.asarray(self.X), jnp.asarray(self.labels))
        power = tuple(sorted((self.bias_power or {}).items()))
        self._fns = _compiled_curves(self.logits, power)
        self.k = int(np.asarray(self.logits(self.theta1, jnp.asarray(self.X[:1]))).shape[1])
        self.alphas = np.unique(np.concatenate([np.linspace(0, 1, self.grid), np.geomspace(1e-6, 1, 400)]))

    def _margins(self, alphas):
        return self._fns["margins"](alphas, *self._data)

    def _margins1(self, alpha):
        return self._fns["margins1"](alpha, *self._data)

    def _loss(self, alphas):
        return self._fns["loss"](alphas, *self._data)

    def _dloss(self, alphas):
        return self._fns["dloss"](alphas, *self._data)

    def _dloss1(self, alpha):
        return self._fns["dloss1"](alpha, *self._data)

    # --- curves -----------------------------------------------------------------------------
    def margins(self, alpha) -> np.ndarray:
        """Per-sample margins, shape (len(alpha), n)."""
        return np.asarray(self._margins(np.atleast_1d(np.asarray(alpha, float))))

    def loss(self, alpha) -> np.ndarray:
        """``γ_loss(α) = (1/N) L(θ[α])`` (mean cross-entropy)."""
        return np.asarray(self._loss(np.atleast_1d(np.asarray(alpha, float))))

    def dloss(self, alpha) -> np.ndarray:
        return np.asarray(self._dloss(np.atleast_1d(np.asarray(alpha, float))))

    def error(self, alpha) -> np.ndarray:
        """``γ_err(α)``: fraction of samples whose margin is ≤ 0 (ties count as errors)."""
        return (self.margins(alpha) <= 0).mean(axis=1)

    # --- exact boundaries -------------------------------------------------------------------
    def error_change_points(self, lo: float = 0.0, hi: float = 1.0, xtol: float = 1e-12) -> np.ndarray:
        """Every α in (lo, hi) where some sample's margin crosses 0, root-found to ``xtol``."""
        a = self.alphas[(self.alphas >= lo) & (self.alphas <= hi)]
        a = np.unique(np.concatenate([[lo], a, [hi]]))
        m = self.margins(a)
        roots = []
        for i in range(m.shape[1]):
            s = np.sign(m[:, i])
            for j in np.flatnonzero(s[:-1] * s[1:] < 0):
                roots.append(brentq(lambda t, i=i: float(self._margins1(t)[i]), a[j], a[j + 1], xtol=xtol,
                                    rtol=4 * np.finfo(float).eps))
        return np.unique(np.asarray(roots))

    def error_steps(self, lo: float = 0.0, hi: float = 1.0) -> list[tuple[float, float, float]]:
        """``(α, error just before, error just after)`` at every change point in (lo, hi)."""
        out = []
        for r in self.error_change_points(lo, hi):
            eps = max(1e-10, 1e-9 * r)
            before, after = self.error([max(lo, r - eps), min(hi, r + eps)])
            if before != after:
                out.append((float(r), float(before), float(after)))
        return out

    def first_error_below(self, level: float, lo: float = 0.0) -> float | None:
        """The first α ≥ ``lo`` at which the error drops below ``level`` (None if never)."""
        if self.error([lo])[0] < level:
            return float(lo)
        for r, _, after in self.error_steps(lo, 1.0):
            if after < level:
                return r
        return None

    def error_below_from(self, level: float) -> float | None:
        """The α from which the error stays below ``level`` up to α = 1 (its last drop below it; 0 if
        it is below on the whole path; None if it is not below at α = 1). Unlike
        :meth:`first_error_below` a transient dip (e.g. near α = 0, where tiny initial logits meet
        ``α·b(T)``) does not end the plateau."""
        if self.error([1.0])[0] >= level:
            return None
        end = 0.0
        for r, before, after in self.error_steps(0.0, 1.0):
            if before >= level > after:
                end = r
        return float(end)

    def loss_monotone_from(self, xtol: float = 1e-12) -> float:
        """The smallest α from which the loss decreases strictly up to α = 1 (the last
        root of ``dγ_loss/dα``; 0 if the derivative is negative on the whole path,
        1 if it is not negative at 1)."""
        a = self.alphas
        d = self.dloss(a)
        if d[-1] >= 0:
            return 1.0
        nonneg = np.flatnonzero(d >= 0)
        if nonneg.size == 0:
            return 0.0
        j = nonneg[-1]
        if d[j] == 0:
            return float(a[j])
        return float(brentq(lambda t: float(self._dloss1(t)), a[j], a[j + 1], xtol=xtol))

    def bumps(self) -> list[dict]:
        """Non-monotone stretches of the loss curve: every local maximum of ``γ_loss``
        (a root of the derivative where it turns from + to −), with its height above the
        lowest loss before it."""
        a = self.alphas
        d = self.dloss(a)
        loss = self.loss(a)
        out = []
        for j in np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0)):
            peak = brentq(lambda t: float(self._dloss1(t)), a[j], a[j + 1], xtol=1e-12) if d[j + 1] < 0 else a[j + 1]
            height = float(self.loss([peak])[0] - loss[: j + 1].min())
            out.append({"alpha": float(peak), "height": height})
        return out

    def is_monotone(self) -> bool:
        """Whether the loss is non-increasing along the whole path (on the bracketing grid
        and, between grid points, by the sign of the derivative at the roots)."""
        return not self.bumps() and bool(np.all(np.diff(self.loss(self.alphas)) <= 1e-15))
