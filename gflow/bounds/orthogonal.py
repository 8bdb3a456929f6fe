"""Analytic predictions for the orthogonal-inputs paper (NeurIPS 2022), generalised to
orthogonal inputs that are not normalised.

The paper states its constants for orthonormal inputs. For pairwise orthogonal inputs whose
norms are equal *within each sign group* (orthonormal data, or the paper's two-point
example with one sample per sign) the same proofs go through with one change, derived here:

* a group of aligned neurons with direction ``u = D/‖D‖`` and mass ``U = Σ_j ‖w_j‖²`` predicts
  ``h(x_k) = U <u, x_k>`` on its samples, so ``<D_j, u> = ‖D‖ − U q/n`` with
  ``q = Σ_k <u, x_k>²`` (sum over the group) and ``U̇ = 2U(‖D‖ − U q/n)``: a logistic with rate
  ``2‖D‖`` and capacity ``U* = n‖D‖/q`` (orthonormal: ``q = 1``, ``U* = n‖D‖``);
* it fits every sample of the group exactly iff ``<u, x_k> ∝ y_k``, i.e. iff the norms are
  equal within the group (otherwise no single direction fits, and these forms do not apply:
  :func:`group_constants` refuses);
* near the fit ``U − U*`` decays at rate ``2‖D‖`` (linearise the logistic), the loss at rate
  ``4‖D‖``, and ``‖∇L‖²/L → 4‖D‖`` for the slower group: the paper's local PL constant ``‖D−‖``
  (Lemma 5) holds with room (factor 4);
* the minimum-ℓ2-norm interpolator: balanced neurons, one per group, ``‖θ*‖² = 2(U*_+ + U*_−)``
  (orthonormal: ``2n(‖D+‖ + ‖D−‖)``; two-point: ``2(|y1|/‖x1‖ + |y2|/‖x2‖)``), verified with sympy
  by :func:`sympy_min_norm_one_sample`.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..data.orthogonal import OrthoData
from ..errors import InputError


@dataclasses.dataclass(frozen=True)
class Group:
    """One sign group: ``D`` (vector), its norm, the capacity ``U*`` and ``q``."""

    sign: int
    D: np.ndarray
    norm: float
    q: float
    capacity: float


def group_constants(data: OrthoData) -> tuple[Group, Group]:
    """``(first, second)``: the group with the larger ‖D‖ is fitted first (the paper's +)."""
    groups = []
    for sign, D in ((1, data.d_plus), (-1, data.d_minus)):
        idx = data.y * sign > 0
        if not idx.any():
            raise InputError(f"no {'positive' if sign > 0 else 'negative'} labels: Assumption 2 needs both signs")
        norms = np.linalg.norm(data.X[idx], axis=1)
        if not np.allclose(norms, norms[0], rtol=1e-10):
            raise InputError("the generalised constants need equal input norms within each sign group "
                             "(orthonormal data or one sample per sign)")
        nD = float(np.linalg.norm(D))
        u = sign * D / nD
        q = float(((data.X[idx] @ u) ** 2).sum())
        groups.append(Group(sign, sign * D, nD, q, data.n * nD / q))
    first, second = sorted(groups, key=lambda g: -g.norm)
    if np.isclose(first.norm, second.norm):
        raise InputError("Assumption 2 fails: ‖D+‖ = ‖D−‖ (Σ_{y>0} y² = Σ_{y<0} y² up to norms)")
    return first, second


def phase_predictions(data: OrthoData, lam: float, eps: float) -> dict:
    """The paper's phase times, multiples of ``−ln λ`` (first/second = the paper's +/−)."""
    g1, g2 = group_constants(data)
    L = -np.log(lam)
    ratio = g1.norm / g2.norm
    return {
        "t1": eps * L / g2.norm,                          # Lemma 2: alignment
        "t2_bound": (1 + 3 * eps) * L / g1.norm,          # Lemma 3: first group fitted by then
        "plateau_start": (1 + 3 * eps) * L / g1.norm,     # Fact 1's window
        "plateau_end": (1 - eps) * L / g2.norm,
        "t3_bound": (1 + 3 * ratio * eps) * L / g2.norm,  # Lemma 4: second group fitted by then
        "t_first": L / g1.norm,                           # leading order of each fit
        "t_second": L / g2.norm,
        "ratio": ratio,
    }


def saddle_loss(data: OrthoData) -> float:
    """Loss at the saddle between the fits: the second group unfitted, ``(1/2n) Σ y_k²`` over it."""
    _, g2 = group_constants(data)
    return float((data.y[data.y * g2.sign > 0] ** 2).sum() / (2 * data.n))


def logistic(t, u0: float, rate: float, capacity: float):
    """``U(t)`` solving ``U̇ = rate·U(1 − U/capacity)``, ``U(0) = u0``."""
    return capacity / (1 + (capacity / u0 - 1) * np.exp(-rate * np.asarray(t, float)))


def min_norm_sq(data: OrthoData) -> float:
    """``‖θ*‖²`` of the minimum-ℓ2-norm interpolator (see the module docstring)."""
    g1, g2 = group_constants(data)
    return 2 * (g1.capacity + g2.capacity)


@functools.lru_cache(maxsize=None)
def sympy_min_norm_one_sample(claimed=None) -> bool:
    """sympy: ``min a² + t² s.t. a·t·c = y`` (one neuron fitting one sample of norm c, w ∥ x)
    is ``2|y|/c`` — the per-group term of :func:`min_norm_sq` for the two-point data.
    ``claimed(y, c)`` checks another closed form instead (a wrong one must fail)."""
    import sympy as sp

    a, t, c, y, mu = sp.symbols("a t c y mu", positive=True)
    target = 2 * y / c if claimed is None else claimed(y, c)
    lagr = a**2 + t**2 - mu * (a * t * c - y)
    sols = sp.solve([sp.diff(lagr, a), sp.diff(lagr, t), a * t * c - y], [a, t, mu], dict=True)
    values = [sp.simplify(s[a] ** 2 + s[t] ** 2) for s in sols]
    return any(sp.simplify(v - target) == 0 for v in values)
