"""Linear-teacher data of the simplicity-bias paper (2025): ``y = <β*, x> + η``.

``dist``:

* ``"gaussian"``: x ~ N(0, I_d) — symmetric, as in the paper's experiments (Section 5);
* ``"cone"``: ``x = ε (β*/‖β*‖ + η g)``, ε uniform on {±1}, g ~ N(0, I_d), η = ``CONE_ETA`` — our
  reconstruction of the example after Assumption 1 (its formula was lost in extraction): the
  data sit in a narrow double cone around ±β*, so the activation cone containing β* keeps a
  non-vanishing volume (items 3–4), and the law is symmetric, continuous and sub-Gaussian;
  ``Σ = E[xxᵀ] = β̄β̄ᵀ + η² I``;
* ``"skewed"``: coordinates Exp(1) − 1 — centred but *not* symmetric, where the paper's symmetry
  assumption fails.

Noise ``η ~ N(0, σ²)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

DISTRIBUTIONS = ("gaussian", "cone", "skewed")
CONE_ETA = 0.3


def sample_x(n: int, d: int, dist: str, rng: np.random.Generator, axis: np.ndarray | None = None) -> np.ndarray:
    if dist == "gaussian":
        return rng.standard_normal((n, d))
    if dist == "cone":
        u = np.ones(d) / np.sqrt(d) if axis is None else axis / np.linalg.norm(axis)
        eps = rng.choice([-1.0, 1.0], size=(n, 1))
        return eps * (u + CONE_ETA * rng.standard_normal((n, d)))
    if dist == "skewed":
        return rng.exponential(1.0, (n, d)) - 1.0
    raise InputError(f"dist must be one of {DISTRIBUTIONS}, got {dist!r}")


def linear_teacher(n: int, beta: np.ndarray, sigma: float, dist: str = "gaussian",
                   seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples ``(X, y)`` of the linear teacher."""
    if n < 1:
        raise InputError(f"N must be ≥ 1, got {n}")
    if not sigma >= 0:
        raise InputError(f"sigma must be ≥ 0, got {sigma}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    X = sample_x(n, len(beta), dist, rng, axis=beta)
    return X, X @ beta + sigma * rng.standard_normal(n)


def second_moment(dist: str, beta: np.ndarray) -> np.ndarray:
    """``Σ = E[xxᵀ]`` for the symmetric laws (the infinite-data field is ``D(w) = Σβ*/2``)."""
    d = len(beta)
    if dist == "gaussian":
        return np.eye(d)
    if dist == "cone":
        u = beta / np.linalg.norm(beta)
        return np.outer(u, u) + CONE_ETA**2 * np.eye(d)
    raise InputError(f"no closed-form Σβ*/2 field for the non-symmetric law {dist!r}")


def relu_teacher(n: int, d: int, k: int = 6, seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Gaussian inputs ``x ~ N(0, I_d)`` labelled by a ``k``-neuron ReLU teacher
    ``y = Σ_i v_i σ(<u_i, x>)`` with ``u_i ~ N(0, I_d / d)`` (pre-activations of order 1) and
    ``v_i`` uniform on {±1}: the general-position data on which a student's ReLU flow crosses and
    slides along the samples' hyperplanes (issue 10's n < d example: n = 75, d = 150, k = 6)."""
    if n < 1 or d < 1 or k < 1:
        raise InputError(f"need n, d, k ≥ 1, got n={n}, d={d}, k={k}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    U = rng.standard_normal((k, d)) / np.sqrt(d)
    v = rng.choice([-1.0, 1.0], size=k)
    return X, np.maximum(X @ U.T, 0.0) @ v
