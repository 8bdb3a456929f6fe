"""Data for the orthogonal-inputs paper (NeurIPS 2022): orthonormal sets and its two-point example,
with the checks of Assumptions 1–3.

``D+ = (1/n) Σ_{y_k>0} y_k x_k``, ``D− = (1/n) Σ_{y_k<0} y_k x_k``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError


@dataclasses.dataclass(frozen=True)
class OrthoData:
    X: np.ndarray       # (n, d), rows pairwise orthogonal
    y: np.ndarray       # (n,), all non-zero
    name: str

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def d_plus(self) -> np.ndarray:
        return (self.y[self.y > 0, None] * self.X[self.y > 0]).sum(0) / self.n

    @property
    def d_minus(self) -> np.ndarray:
        return (self.y[self.y < 0, None] * self.X[self.y < 0]).sum(0) / self.n

    @property
    def orthonormal(self) -> bool:
        return bool(np.allclose(self.X @ self.X.T, np.eye(self.n), atol=1e-12))

    def args(self, s: np.ndarray, kink: float = 1e-9) -> dict:
        """Traced arguments of the Model R fields (``kink``: see :mod:`gflow.models.relu2`)."""
        import jax.numpy as jnp

        return {"X": jnp.asarray(self.X), "y": jnp.asarray(self.y), "s": jnp.asarray(s), "kink": jnp.float64(kink)}


def two_point() -> OrthoData:
    """The paper's example: ``x1 = (−0.5, 1), y1 = −1``; ``x2 = (2, 1), y2 = +1`` (orthogonal, not unit norm)."""
    return OrthoData(np.array([[-0.5, 1.0], [2.0, 1.0]]), np.array([-1.0, 1.0]), "two-point")


def orthonormal(n: int, d: int, y=None, seed: int | np.random.Generator = 0) -> OrthoData:
    """``n`` random orthonormal inputs in ``R^d`` (n ≤ d). Default labels: the first ⌈n/2⌉
    positive, decreasing from 1.5 to 1, the rest negative from −1 to −0.5, so that
    ``Σ_{y>0} y² ≠ Σ_{y<0} y²``."""
    if not 1 <= n <= d:
        raise InputError(f"orthonormal data need 1 ≤ n ≤ d, got n={n}, d={d}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = Q[:, :n].T
    if y is None:
        n_pos = (n + 1) // 2
        y = np.concatenate([np.linspace(1.5, 1.0, n_pos), -np.linspace(1.0, 0.5, n - n_pos)])
    y = np.asarray(y, float)
    if y.shape != (n,):
        raise InputError(f"need {n} labels, got {y.shape}")
    return OrthoData(X, y, "orthonormal")


def check_assumptions(data: OrthoData, W0: np.ndarray, s: np.ndarray) -> dict:
    """Assumptions 1–3 with the sets S_{+,1}, S_{−,1}; raises InputError with a clear message
    when one fails (the paper's results are then silent). Returns the sets."""
    G = data.X @ data.X.T
    if not np.allclose(G - np.diag(np.diag(G)), 0, atol=1e-12):
        raise InputError("Assumption 1 fails: the inputs are not pairwise orthogonal")
    if np.any(data.y == 0):
        raise InputError("Assumption 2 fails: some label y_k = 0")
    # Assumption 2's Σ_{y>0} y² ≠ Σ_{y<0} y² is ‖D+‖ ≠ ‖D−‖ for orthonormal inputs; the proofs use
    # the latter, which is what we check (the two-point example has Σ y² equal on both sides
    # but ‖D+‖ = 2‖D−‖)
    if not (data.y > 0).any() or not (data.y < 0).any():
        raise InputError("Assumption 2 fails: the labels need both signs")
    if np.isclose(np.linalg.norm(data.d_plus), np.linalg.norm(data.d_minus)):
        raise InputError("Assumption 2 fails: ‖D+‖ = ‖D−‖ (for orthonormal inputs: Σ_{y>0} y² = Σ_{y<0} y²)")
    pre = W0 @ data.X.T  # (m, n)
    s_plus = np.flatnonzero((s > 0) & np.all(pre[:, data.y > 0] >= 0, axis=1))
    s_minus = np.flatnonzero((s < 0) & np.all(pre[:, data.y < 0] >= 0, axis=1))
    return {"S_plus": s_plus, "S_minus": s_minus}
