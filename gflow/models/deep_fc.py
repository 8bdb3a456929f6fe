"""Model F: the depth-r fully-connected network of the plateau paper (ICLR 2023, Section 3).

``g(x) = V_r σ(V_{r−1} ⋯ σ(V_1 x + c_1) ⋯ + c_{r−1}) + b`` with σ the identity or ReLU,
a bias ``b`` on the last layer only (Theorem 1), or biases ``c_h`` on the hidden layers too
(the trends of Section 5), or no bias at all. Training is the gradient flow of the mean
cross-entropy ``(1/N) L``, by autodiff (``jax.grad``; ReLU with the subgradient 0 at 0).

Init (Theorem 1's hypothesis ``‖V_i(0)‖ ≤ δ``): ``V_i(0) = δ·G_i/‖G_i‖₂`` with Gaussian
``G_i``, so every layer has spectral norm exactly δ; biases start at 0.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .._config import jax as _jax
from ..errors import InputError

ACTIVATIONS = ("relu", "identity")
BIASES = ("last", "none", "all")


class FState(NamedTuple):
    """``V``: the r weight matrices (V_1 first); ``b``: last-layer bias (k); ``c``: hidden
    biases (one per hidden layer) or None."""

    V: tuple
    b: object
    c: tuple


def validate(r: int, activation: str, bias: str) -> None:
    if int(r) != r or r < 3:
        raise InputError(f"depth r must be an integer ≥ 3 (Theorem 1), got {r}")
    if activation not in ACTIVATIONS:
        raise InputError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if bias not in BIASES:
        raise InputError(f"bias must be one of {BIASES}, got {bias!r}")


def forward(theta: FState, X, activation: str = "relu"):
    """Logits ``g(x)`` for every row of ``X``: shape (n, k)."""
    jax = _jax()
    act = jax.nn.relu if activation == "relu" else (lambda z: z)
    h = X
    for i, V in enumerate(theta.V[:-1]):
        h = h @ V.T
        if theta.c:
            h = h + theta.c[i][None, :]
        h = act(h)
    return h @ theta.V[-1].T + theta.b[None, :]


@functools.lru_cache(maxsize=None)
def forward_fn(activation: str):
    """``(θ, X) -> logits`` for an activation: a stable function object (a cache key)."""
    return functools.partial(forward, activation=activation)


def loss(theta: FState, args: dict, activation: str = "relu"):
    """Mean cross-entropy ``(1/N) L``."""
    jax = _jax()
    logp = jax.nn.log_softmax(forward(theta, args["X"], activation), axis=-1)
    return -(args["Y"] * logp).sum(-1).mean()


@functools.lru_cache(maxsize=None)
def vector_field(activation: str, bias: str):
    """``−∇ (1/N) L`` as a field ``(t, FState, args) -> FState``; a disabled bias stays 0."""
    jax = _jax()

    def field(t, y, args):
        g = jax.grad(loss)(y, args, activation)
        out = jax.tree_util.tree_map(lambda a: -a, g)
        if bias == "none":
            out = out._replace(b=0 * out.b)
        return out

    field.__name__ = f"model_f_field_{activation}_{bias}"
    return field


def init_state(dims: list[int], delta: float, bias: str, seed: int | np.random.Generator = 0) -> FState:
    """Layers ``dims = [d, h, …, h, k]`` (r + 1 entries); every ``V_i(0)`` has spectral norm δ."""
    if not delta > 0:
        raise InputError(f"delta must be > 0, got {delta}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    V = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        G = rng.standard_normal((fan_out, fan_in))
        V.append(delta * G / np.linalg.norm(G, 2))
    c = tuple(np.zeros(h) for h in dims[1:-1]) if bias == "all" else None  # (): breaks diffrax buffers
    return FState(V=tuple(V), b=np.zeros(dims[-1]), c=c)


def spectral_norms(theta: FState) -> list[float]:
    return [float(np.linalg.norm(np.asarray(V), 2)) for V in theta.V]
