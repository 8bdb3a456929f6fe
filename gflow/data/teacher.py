"""Linear-teacher data of the simplicity-bias paper (2025): ``y = <β*, x> + η``.

``dist``: ``"gaussian"`` (x ~ N(0, I_d), symmetric, as in the paper's experiments) or
``"skewed"`` (x ~ Exp(1) − 1 coordinates: centred but *not* symmetric — a setting where the
paper's symmetry assumption fails). Noise ``η ~ N(0, σ²)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

DISTRIBUTIONS = ("gaussian", "skewed")


def sample_x(n: int, d: int, dist: str, rng: np.random.Generator) -> np.ndarray:
    if dist == "gaussian":
        return rng.standard_normal((n, d))
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
    X = sample_x(n, len(beta), dist, rng)
    return X, X @ beta + sigma * rng.standard_normal(n)
