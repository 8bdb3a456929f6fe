"""Model H: the r-homogeneous-weight network of the plateau paper (ICLR 2023, Section 4).

Output ``f_i(x) = <W_i, x>^r + b_i`` with ``W ∈ R^{k×d}``, ``b ∈ R^k``, integer ``r ≥ 3``.
Loss ``L(W, b) = Σ_i Σ_{x∈S_i} −log softmax(f(x))_i``; training is the gradient flow of
``(k/N)·L``. With per-sample weights ``w_x`` (``k/N`` for the full data set, ``1`` for
the exact σ = 0 reduction, see :mod:`gflow.data.classes`) the flow has the closed form

    u_i(x) = softmax(f(x))_i
    ḃ_i    = Σ_x w_x (1[x∈S_i] − u_i(x))                  (= 1 − (k/N) Σ_x u_i(x))
    Ẇ_i    = Σ_x w_x (1[x∈S_i] − u_i(x)) · r <W_i,x>^(r−1) · x

which :func:`vector_field` implements and the tests compare with ``−∇`` of :func:`loss`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .._config import jax as _jax
from ..errors import InputError
from ._common import class_margins

if TYPE_CHECKING:
    from .._types import Biases, ClassWeights


class HState(NamedTuple):
    """Parameters of Model H: ``W`` (k×d) and ``b`` (k)."""

    W: ClassWeights   # (k, d): row i is class i's weight vector
    b: Biases         # (k,)


def validate(k: int, r: int, d: int | None = None) -> None:
    if int(k) != k or k < 2:
        raise InputError(f"k must be an integer ≥ 2 (number of classes), got {k}")
    if int(r) != r or r < 3:
        raise InputError(f"r must be an integer ≥ 3 (Theorem 2 needs r ≥ 3), got {r}")
    if d is not None and d < k:
        raise InputError(f"d must be ≥ k (inputs are e_i + noise), got d={d} < k={k}")


def logits(state: HState, X, r: int):
    """``f(x)`` for every row ``x`` of ``X``: shape (N, k)."""
    return (X @ state.W.T) ** r + state.b[None, :]


def softmax(state: HState, X, r: int):
    jax = _jax()
    return jax.nn.softmax(logits(state, X, r), axis=-1)


def loss(state: HState, args: dict, r: int):
    """``Σ_x w_x · (−log softmax(f(x))_{y(x)})``: ``(k/N)·L`` for the full data set."""
    jax = _jax()
    logp = jax.nn.log_softmax(logits(state, args["X"], r), axis=-1)
    return -(args["w"] * (args["Y"] * logp).sum(-1)).sum()


@functools.lru_cache(maxsize=None)
def vector_field(r: int):
    """The gradient-flow field ``(t, HState, args) -> HState`` for degree ``r`` (cached,
    so every δ, seed and data set of the same shape shares one compilation)."""
    jax = _jax()

    def field(t, y, args):
        X, Y, w = args["X"], args["Y"], args["w"]
        z = X @ y.W.T
        u = jax.nn.softmax(z**r + y.b[None, :], axis=-1)
        G = (Y - u) * w[:, None]
        return HState(W=(G * (r * z ** (r - 1))).T @ X, b=G.sum(0))

    field.__name__ = f"model_h_field_r{r}"
    return field


@functools.lru_cache(maxsize=None)
def batched_field(r: int):
    """The field evaluated at many saved states at once, ``(t, HState[T, …], args) -> HState[T, …]``
    (jitted once per r)."""
    jax = _jax()
    return jax.jit(jax.vmap(vector_field(r), in_axes=(None, 0, None)))


@functools.lru_cache(maxsize=None)
def logits_fn(r: int):
    """``(θ, X) -> f`` for degree r: a stable function object (a cache key for compiled curves)."""
    return functools.partial(logits, r=r)


def init_state(k: int, d: int, delta: float, seed: int | np.random.Generator = 0,
               gaussian: np.ndarray | None = None) -> HState:
    """``W_ij = |N(0, δ²)|``, ``b = 0``. Pass ``gaussian`` (k×d standard normals) to
    reuse one draw across a δ sweep, so that only the scale changes."""
    if not delta > 0:
        raise InputError(f"delta must be > 0, got {delta}")
    if gaussian is None:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        gaussian = rng.standard_normal((k, d))
    return HState(W=delta * np.abs(np.asarray(gaussian, np.float64)), b=np.zeros(k))


def margins(state: HState, X, labels, r: int):
    """``f_{y(x)}(x) − max_{j≠y(x)} f_j(x)`` for every sample (numpy or jax arrays)."""
    return class_margins(logits(state, X, r), labels)
