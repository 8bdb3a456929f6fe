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


def _reduced_parts(W, b, r: int):
    """``(G, ḃ)`` of the σ = 0 reduction: ``G[i, j] = δ_ij − u_j(e_i)`` and ``ḃ`` (see :func:`reduced_field`)."""
    jax = _jax()
    jnp = jax.numpy
    k = W.shape[0]
    eye = jnp.eye(k, dtype=bool)
    P = W**r                                                # P[l, i] = <W_l, e_i>^r
    logu = jax.nn.log_softmax(P.T + b[None, :], axis=-1)    # logu[i, l] = log u_l(e_i)
    u = jnp.exp(logu)
    others = jnp.where(eye, 0.0, u).sum(-1)                 # 1 − u_i(e_i), no cancellation
    G = jnp.where(eye, others[:, None], -u)
    # L[i, j] = LSE_j − LSE_i = log1p(Σ_l u_l(e_i) expm1(P_lj − P_li)): accurate while the sum is
    # small; beyond |sum| = 1/2 (|L| > 0.4) the plain difference has no cancellation to speak of
    s = jnp.einsum("il,lij->ij", u, jnp.expm1(P[:, None, :] - P[:, :, None]))
    lse = jax.nn.logsumexp(P.T + b[None, :], axis=-1)
    L = jnp.where(jnp.abs(s) < 0.5, jnp.log1p(jnp.where(jnp.abs(s) < 0.5, s, 0.0)), lse[None, :] - lse[:, None])
    Delta = (P - P.T) + (b[:, None] - b[None, :]) - L         # Δ[i, j]
    db = jnp.where(eye, 0.0, u * jnp.expm1(Delta)).sum(0)   # ḃ_j = Σ_{i≠j} u_j(e_i) expm1(Δ_ij)
    return G, db


@functools.lru_cache(maxsize=None)
def reduced_field(r: int):
    """The field of the exact σ = 0 reduction (samples ``e_1 … e_k``, one per class, weight 1,
    ``W`` k×k), with ``ḃ`` computed without cancellation.

    :func:`vector_field` forms ``ḃ_j = 1 − Σ_i u_j(e_i)``: on a plateau both terms are O(1) and
    their difference is O(δ^r), so ``ḃ`` carries rounding noise of ~1e−16 that does not shrink
    with δ. An implicit solver's error estimate sees that noise times its (long) step and rejects
    steps on it (RESULTS.md: at δ = 1e−4 more than half of Kvaerno5's steps). Here, with
    ``P_li = W_li^r`` and ``u_l(e_i) = softmax_l(P_li + b_l)``,

        ḃ_j = Σ_{i≠j} [u_i(e_j) − u_j(e_i)] = Σ_{i≠j} u_j(e_i)·expm1(Δ_ij),
        Δ_ij = log u_i(e_j) − log u_j(e_i) = (P_ij − P_ji) + (b_i − b_j) − (LSE_j − LSE_i),
        LSE_j − LSE_i = log1p(Σ_l u_l(e_i)·expm1(P_lj − P_li))   (the plain difference where that sum is not small),

    where every difference is of small numbers or exact (Sterbenz), so ``ḃ`` has small *relative*
    error; and ``1 − u_i(e_i)`` is ``Σ_{l≠i} u_l(e_i)``. The same flow as :func:`vector_field` on
    the reduced data (tested to rounding, and against 50-digit arithmetic on a plateau)."""
    jax = _jax()
    jnp = jax.numpy

    def field(t, y, args):
        G, db = _reduced_parts(y.W, y.b, r)
        return HState(W=(G * (r * y.W.T ** (r - 1))).T, b=db)   # Ẇ_ji = G_ij r W_ji^(r−1)

    field.__name__ = f"model_h_reduced_field_r{r}"
    return field


def to_power_coords(W, r: int):
    """``V = W^−(r−2)`` entrywise (W > 0): the coordinates of :func:`reduced_power_field`."""
    return W ** -(r - 2)


def from_power_coords(V, r: int):
    """``W = V^−1/(r−2)``: back from :func:`to_power_coords`."""
    return V ** (-1.0 / (r - 2))


@functools.lru_cache(maxsize=None)
def reduced_power_field(r: int):
    """:func:`reduced_field` in the coordinates ``V = W^−(r−2)`` (entrywise; W > 0, which the
    flow keeps: ``Ẇ_ji ∝ W_ji^(r−1)``), state ``HState(W=V, b)``.

    There ``V̇_ji = −(r−2) W_ji^−(r−1) Ẇ_ji = −r(r−2)·G_ij`` with ``G_ij = δ_ij − u_j(e_i)``: the
    tensor-power growth ``Ẇ_ii ≈ (1 − 1/k) r W_ii^(r−1)`` of a plateau, which blows up from ``δ`` to
    O(1) over a time ``δ^−(r−2)``, is a straight line in ``V`` (as log-radius coordinates make
    the exponential growth of Model R linear). What is left of the plateau's stiffness is the bias
    relaxation (eigenvalue ≈ −1), which an L-stable implicit method steps over; measured in
    ``benchmarks/RESULTS.md`` (Kvaerno5's steps nearly flat in δ). Gradient descent stays in ``W``:
    it is the papers' discretisation of *that* flow."""

    jnp = _jax().numpy

    def field(t, y, args):
        # V ≤ 0 is past the blow-up W = ∞: no state of the flow. NaN makes the solver reject a step that lands
        # there (for r = 3, W = 1/V would otherwise continue on a negative branch whose field looks smooth)
        V = jnp.where(y.W > 0, y.W, jnp.nan)
        G, db = _reduced_parts(from_power_coords(V, r), y.b, r)
        return HState(W=-(r * (r - 2)) * G.T, b=db)

    field.__name__ = f"model_h_power_field_r{r}"
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
