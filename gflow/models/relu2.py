"""Model R: the two-layer ReLU network of the orthogonal-inputs paper (NeurIPS 2022) and of
the simplicity-bias paper (2025), square loss, in two coordinate systems.

``h_θ(x) = Σ_j a_j σ(<w_j, x>)``, σ = ReLU with ``σ'(0) = 0`` (the paper's choice, the only one
with global solutions), ``L(θ) = (1/2n) Σ_k (h_θ(x_k) − y_k)²``. With
``D_j = −(1/n) Σ_k 1[<w_j, x_k> > 0] (h_θ(x_k) − y_k) x_k`` the gradient flow is

* Cartesian ``(a, W)``: ``ȧ_j = <D_j, w_j>``, ``ẇ_j = a_j D_j``; ``a_j² − ‖w_j‖²`` is conserved
  (Lemma 1: balancedness);
* spherical / log-radius ``(ρ, w̄)`` for a balanced init ``a_j = s_j ‖w_j‖`` (equation (9)):
  ``w_j = e^(ρ_j) w̄_j``, ``ρ̇_j = s_j <D_j, w̄_j>``, ``w̄̇_j = s_j (D_j − <D_j, w̄_j> w̄_j)``.

Kinks: ``σ'(z) = 1[z > κ‖w_j‖‖x_k‖]`` with ``κ = args["kink"]`` (default 1e−9, 0 gives the strict
convention). On orthogonal data a neuron active on one sample sees its pre-activation on
another decay to 0 from below: the exact flow stays on the inactive side forever, but
Runge–Kutta stages overshoot it by rounding, the field jumps there, and the adaptive solver
rejects step after step until max_steps (measured: 4·10⁵ rejections at t ≈ 45 on 3
orthonormal samples). Counting pre-activations within κ of the kink as inactive is the
σ'(0) = 0 convention made robust to rounding; it changes the field only within 1e−9 of a kink.

In spherical form ρ starts at ``ln λ`` and moves at a rate of order 1, so λ = 1e−30 costs what
λ = 1e−6 costs, and the solver's tolerances apply to quantities of order 1. In Cartesian form
the state is of size λ and an absolute tolerance above ``rtol·λ`` makes the error control
meaningless (gflow refuses that combination, see :func:`check_cartesian_tolerance`). The
field uses ``w̄/‖w̄‖``, so a drift of ``‖w̄‖`` away from 1 (monitored) cannot change the dynamics.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from typing import TYPE_CHECKING

import numpy as np

from .._config import jax as _jax
from ..errors import InputError

if TYPE_CHECKING:
    from .._types import Directions, Inputs, InnerWeights, LogRadii, OuterWeights, Targets


class CartState(NamedTuple):
    a: OuterWeights   # (m,), or (t, m) along a trajectory
    W: InnerWeights   # (m, d)


class SphState(NamedTuple):
    rho: LogRadii      # (m,) log-radius: ‖w_j‖ = e^ρ_j
    wbar: Directions   # (m, d) unit directions


def predict(a: OuterWeights, W: InnerWeights, X: Inputs) -> Targets:
    """``h(x) = Σ_j a_j σ(<w_j, x>)`` for every row of X: ``a`` (…, m), ``W`` (…, m, d), a leading time
    axis allowed; numpy in, numpy out (JAX in, JAX out, with σ'(0) = 0 under autodiff)."""
    if isinstance(a, np.ndarray) and isinstance(W, np.ndarray):
        relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
        xp = np
    else:
        jax = _jax()
        relu, xp = jax.nn.relu, jax.numpy
    act = relu(X @ xp.swapaxes(W, -1, -2))
    return act @ a if a.ndim == 1 else (act @ a[..., None])[..., 0]


def loss(a: OuterWeights, W: InnerWeights, X: Inputs, y: Targets):
    """``(1/2n) Σ_k (h(x_k) − y_k)²`` (per saved time when ``a``, ``W`` carry a time axis)."""
    r = predict(a, W, X) - y
    return 0.5 * (r * r).sum(-1) / X.shape[0]


def loss_cart(theta: CartState, X, y):
    return loss(theta.a, theta.W, X, y)


def _D(a, W, X, y, kink=0.0):
    """``D_j`` for every neuron: (m, d), with σ'(z) = 1[z > κ‖w_j‖‖x_k‖] (κ = 0: σ'(0) = 0)."""
    jnp = _jax().numpy
    n = X.shape[0]
    pre = X @ W.T                       # (n, m)
    res = predict(a, W, X) - y          # (n,)
    scale = jnp.linalg.norm(X, axis=1)[:, None] * jnp.linalg.norm(W, axis=1)[None, :]
    active = (pre > kink * scale).astype(X.dtype)
    return -(active * res[:, None]).T @ X / n


@functools.lru_cache(maxsize=None)
def cartesian_field():
    def field(t, y, args):
        D = _D(y.a, y.W, args["X"], args["y"], args.get("kink", 0.0))
        return CartState(a=(D * y.W).sum(-1), W=y.a[:, None] * D)

    return field


CHUNK = 1024        # samples per block when N > CHUNK_ABOVE (measured, benchmarks/gd_step.py)
CHUNK_ABOVE = 4096


def chunk_samples(X, y, size: int | None = None):
    """``(XT, Y)``: the samples in blocks, ``XT`` of shape (B, d, C) and ``Y`` (B, C), zero-padded.
    A padded sample has x = 0, so its pre-activations are 0 and (σ'(0) = 0) it contributes nothing.
    Default block: all N samples up to ``CHUNK_ABOVE``, else ``CHUNK`` (the (m, C) blocks then stay
    in cache: measured 1.4× faster per step at N = 10⁴, m = 200)."""
    jnp = _jax().numpy
    n, d = X.shape
    size = size or (n if n <= CHUNK_ABOVE else CHUNK)
    pad = (-n) % size
    Xp = jnp.concatenate([jnp.asarray(X), jnp.zeros((pad, d), X.dtype)])
    yp = jnp.concatenate([jnp.asarray(y), jnp.zeros(pad, X.dtype)])
    return Xp.reshape(-1, size, d).transpose(0, 2, 1), yp.reshape(-1, size)


def gd_step(a, W, XT, Y, n, dt):
    """One gradient-descent step ``θ ← θ + dt·F(θ)`` of the Cartesian field at κ = 0 on samples
    blocked by :func:`chunk_samples` (``n``: the number of real samples). Mathematically the step
    of :func:`cartesian_field` with ``kink = 0`` (tested to rounding): per block the activation mask
    is computed once and shared by the forward and backward passes, and the blocks' ``D``
    contributions are summed in a ``lax.scan``."""
    jax = _jax()
    jnp = jax.numpy

    def block(D, xy):
        xt, yy = xy
        pre = W @ xt                                       # (m, C)
        act = pre > 0
        res = (a @ jnp.where(act, pre, 0.0) - yy) / n
        return D - jnp.where(act, res[None, :], 0.0) @ xt.T, None

    D, _ = jax.lax.scan(block, jnp.zeros_like(W), (XT, Y))
    return a + dt * (D * W).sum(-1), W + dt * a[:, None] * D


def to_cartesian(state: SphState, s) -> CartState:
    """Log-radius coordinates → ``(a, W)`` with ``a_j = s_j e^ρ_j``, ``w_j = e^ρ_j w̄_j/‖w̄_j‖`` (numpy or JAX,
    a leading time axis allowed)."""
    xp = np if isinstance(state.rho, np.ndarray) and isinstance(state.wbar, np.ndarray) else _jax().numpy
    wbar = state.wbar / xp.linalg.norm(state.wbar, axis=-1, keepdims=True)
    r = xp.exp(state.rho)
    return CartState(a=xp.broadcast_to(s, r.shape) * r, W=r[..., None] * wbar)


@functools.lru_cache(maxsize=None)
def spherical_field():
    def field(t, y, args):
        jnp = _jax().numpy
        s = args["s"]
        wbar = y.wbar / jnp.linalg.norm(y.wbar, axis=-1, keepdims=True)
        r2 = jnp.exp(2 * y.rho)
        X, yy = args["X"], args["y"]
        pre = X @ wbar.T                                   # same sign as <w_j, x_k>
        res = jax_relu(pre) @ (s * r2) - yy                # h(x_k) − y_k
        kink = args.get("kink", 0.0) * jnp.linalg.norm(X, axis=1)[:, None]
        active = (pre > kink).astype(X.dtype)
        D = -(active * res[:, None]).T @ X / X.shape[0]    # (m, d)
        proj = (D * wbar).sum(-1)
        return SphState(rho=s * proj, wbar=s[:, None] * (D - proj[:, None] * wbar))

    return field


def jax_relu(z):
    return _jax().nn.relu(z)


def init(m: int, d: int, lam: float, seed: int | np.random.Generator = 0):
    """``w_j = λ g_j``, ``g_j ~ N(0, I_d)``, ``s_j`` uniform on {±1}, ``a_j = s_j ‖w_j‖``.
    Returns ``(SphState, s, g)`` with ``ρ_j = ln λ + ln ‖g_j‖`` (exact for any λ > 0, no
    underflow) and the draws, so one ``g`` can serve a whole λ sweep."""
    if not lam > 0:
        raise InputError(f"lambda (--lam) must be > 0, got {lam}")
    if int(m) != m or m < 1:
        raise InputError(f"m (neurons) must be ≥ 1, got {m}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    g = rng.standard_normal((m, d))
    s = rng.choice([-1.0, 1.0], size=m)
    return from_draws(g, s, lam), s, g


def from_draws(g: np.ndarray, s: np.ndarray, lam: float) -> SphState:
    norms = np.linalg.norm(g, axis=1)
    return SphState(rho=np.log(lam) + np.log(norms), wbar=g / norms[:, None])


def check_cartesian_tolerance(lam_scale: float, rtol: float, atol: float) -> None:
    """Refuse a Cartesian solve whose absolute tolerance dwarfs the state: the error control
    would accept anything (measured: λ = 1e−30 with atol 1e−9 gave phase times off by 400 %
    without any error)."""
    if atol > rtol * lam_scale:
        raise InputError(
            f"cartesian coordinates with atol={atol:g} cannot be trusted at initial scale {lam_scale:.3g}: "
            f"atol must be ≤ rtol·scale = {rtol * lam_scale:.3g} (or use --coords spherical)")
