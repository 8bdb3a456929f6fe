"""Balanced k-class data of the plateau paper (Section 4): ``x = e_i + ξ``, ``ξ ~ N(0, σ²/d I_d)``.

With σ = 0 every sample of class i equals ``e_i``, so the N-sample flow of ``(k/N)·L``
is *exactly* the flow on the k distinct points ``e_1 … e_k`` with weight 1 each
(N/k copies × k/N): :func:`class_dataset` returns that reduction, whose cost does not
depend on N (and the columns of W beyond k never move).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError


@dataclasses.dataclass(frozen=True)
class ClassData:
    """``X`` (n×d) inputs, ``labels`` (n) in 0..k−1, ``weights`` (n): each sample's weight
    in the flow (``k/N``, or 1 in the σ = 0 reduction). ``n_samples`` is the N the data
    stands for; ``reduced`` says whether X holds the k distinct points only."""

    X: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    k: int
    n_samples: int
    sigma: float
    reduced: bool

    def args(self) -> dict:
        """Traced arguments of the Model H field."""
        import jax.numpy as jnp

        return {"X": jnp.asarray(self.X), "Y": jnp.asarray(np.eye(self.k)[self.labels]),
                "w": jnp.asarray(self.weights)}

    @property
    def noise(self) -> np.ndarray:
        """``ξ_x = x − e_{y(x)}`` for every stored sample."""
        return self.X - np.eye(self.X.shape[1])[self.labels]


def class_dataset(k: int, d: int, n_samples: int, sigma: float = 0.0,
                  seed: int | np.random.Generator = 0, reduce: bool = True) -> ClassData:
    """``N/k`` samples per class, ``x = e_i + ξ``. σ = 0 and ``reduce`` give the exact
    k-point reduction."""
    if int(k) != k or k < 2:
        raise InputError(f"k must be an integer ≥ 2, got {k}")
    if d < k:
        raise InputError(f"d must be ≥ k, got d={d} < k={k}")
    if n_samples < k or n_samples % k:
        raise InputError(f"the number of samples N must be a positive multiple of k={k}, got N={n_samples}")
    if not sigma >= 0 or not np.isfinite(sigma):
        raise InputError(f"sigma must be ≥ 0, got {sigma}")
    eye = np.eye(k, d)   # the k class means e_1 … e_k (never a d × d identity)
    if sigma == 0 and reduce:
        labels = np.arange(k)
        return ClassData(eye[:k], labels, np.ones(k), k, n_samples, 0.0, True)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n_samples // k)
    X = eye[labels] + rng.normal(0.0, sigma / np.sqrt(d), (n_samples, d))
    return ClassData(X, labels, np.full(n_samples, k / n_samples), k, n_samples, float(sigma), False)
