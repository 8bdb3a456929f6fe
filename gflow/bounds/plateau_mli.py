"""The plateau bounds α1–α4 of linear interpolation curves (plateau paper, Theorems 1 and 3).

Model H (Theorem 3), with class k the one with the largest final bias,
``Δ_i = b_k(T) − b_i(T)`` (i ≠ k), ``R_i = Δ_i / W_ii(T)^r``:

    α1 = δ/Δ_min
    α2 = (1/(1 + C2·√δ))^(r/(r−1)) · R_min^(1/(r−1))        (leading order: R_min^(1/(r−1)))
    α3 = ε^(1/r) / W_max
    α4 = ((1 + C4·δ) · R_max / r)^(1/(r−1))

The paper writes α2 with ``1/(1+O(√δ))`` and α4 with ``(1+O(δ))``: ``C2``, ``C4`` are those
hidden constants (default 1). Model F (Theorem 1), with ``V_max`` the largest spectral norm
of a trained layer:

    α1 = δ/Δ_min,  α2 = (1/(1+√δ))^(r/(r−1)) · (Δ_min / (2 V_max^r))^(1/(r−1)),  α3 = ε^(1/r)/V_max.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class BiasGaps:
    """Bias gaps of a trained Model H: ``top`` = class with the largest bias (the paper's k)."""

    top: int
    delta_i: np.ndarray  # Δ_i for the other classes, in label order without `top`
    w_ii: np.ndarray     # W_ii(T) for the same classes
    w_max: float         # max over all classes of W_ii(T)

    @property
    def delta_min(self) -> float:
        return float(self.delta_i.min())

    @property
    def delta_max(self) -> float:
        return float(self.delta_i.max())

    @property
    def w_min(self) -> float:
        return float(self.w_ii.min())

    def R(self, r: int) -> np.ndarray:
        return self.delta_i / self.w_ii**r


def bias_gaps(W: np.ndarray, b: np.ndarray) -> BiasGaps:
    """Δ_i, W_ii(T) and W_max of Theorem 3 from the trained Model H parameters."""
    k = len(b)
    diag = np.diag(np.asarray(W)[:, :k])
    top = int(np.argmax(b))
    others = np.array([i for i in range(k) if i != top])
    return BiasGaps(top, b[top] - b[others], diag[others], float(diag.max()))


def theorem3_alphas(gaps: BiasGaps, delta: float, r: int, eps: float, c2: float = 1.0, c4: float = 1.0) -> dict:
    """α1–α4 of Theorem 3 (and the leading-order α2)."""
    R = gaps.R(r)
    with np.errstate(divide="ignore"):
        a1 = delta / gaps.delta_min if gaps.delta_min > 0 else np.inf
    lead = float(max(R.min(), 0.0) ** (1 / (r - 1)))
    return {
        "alpha1": float(a1),
        "alpha2": float((1 / (1 + c2 * np.sqrt(delta))) ** (r / (r - 1)) * lead),
        "alpha2_leading": lead,
        "alpha3": float(eps ** (1 / r) / gaps.w_max),
        "alpha4": float(((1 + c4 * delta) * max(R.max(), 0.0) / r) ** (1 / (r - 1))),
    }


def theorem3_delta_conditions(gaps: BiasGaps, r: int, eps: float) -> dict:
    """The three terms of Theorem 3's condition ``δ ≤ min(...)`` (Θ constants 1)."""
    return {
        "eps^(1/r)": float(eps ** (1 / r)),
        "R_min^(1/(r−1))·Δ_min^(1/r)": float(max(gaps.R(r).min(), 0) ** (1 / (r - 1)) * max(gaps.delta_min, 0) ** (1 / r)),
        "(W_min/W_max)^(2r/(r−2))": float((gaps.w_min / gaps.w_max) ** (2 * r / (r - 2))),
    }


def theorem1_alphas(delta: float, delta_min: float, v_max: float, r: int, eps: float) -> dict:
    """α1–α3 of Theorem 1 (deep fully-connected networks)."""
    a1 = delta / delta_min if delta_min > 0 else np.inf
    a2 = (1 / (1 + np.sqrt(delta))) ** (r / (r - 1)) * (max(delta_min, 0) / (2 * v_max**r)) ** (1 / (r - 1))
    return {"alpha1": float(a1), "alpha2": float(a2), "alpha3": float(eps ** (1 / r) / v_max)}


def theorem1_delta_bound(r: int, eps: float) -> float:
    """``min(ε^(1/r)/r, 1/r², (1/(2e))^(2/(r−2)))``: the last term is what Lemma 8's proof
    (Appendix B.3) needs, ``δ − 2eδ^(r/2) > 0``."""
    return float(min(eps ** (1 / r) / r, 1 / r**2, (1 / (2 * np.e)) ** (2 / (r - 2))))
