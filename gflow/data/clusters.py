"""A small balanced k-class data set with ‖x‖ ≤ 1 (for Model F, plateau paper Theorem 1).

Class i is a Gaussian cluster around a random unit vector ``µ_i`` with spread ``noise``;
the whole set is scaled so that ``max ‖x‖ = 1`` (Theorem 1 assumes ``‖x‖ ≤ 1``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .classes import ClassData


def cluster_dataset(k: int, d: int, n_samples: int, noise: float = 0.3,
                    seed: int | np.random.Generator = 0) -> ClassData:
    if int(k) != k or k < 2:
        raise InputError(f"k must be an integer ≥ 2, got {k}")
    if n_samples < k or n_samples % k:
        raise InputError(f"the number of samples N must be a positive multiple of k={k}, got N={n_samples}")
    if not noise >= 0:
        raise InputError(f"noise must be ≥ 0, got {noise}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    means = rng.standard_normal((k, d))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    labels = np.repeat(np.arange(k), n_samples // k)
    X = means[labels] + noise * rng.standard_normal((n_samples, d)) / np.sqrt(d)
    X /= np.linalg.norm(X, axis=1).max()
    return ClassData(X, labels, np.full(n_samples, 1.0 / n_samples), k, n_samples, float(noise), False)
