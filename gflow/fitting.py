"""Scaling-law fits for asymptotic claims (THEOREMS.md, "How an asymptotic claim becomes
a numerical check").

A claim ``Q = O(g(δ))`` is judged on a sweep by the slope of ``log(Q/g)`` against
``log(1/δ)``: the upper side holds if the slope is ≤ ``tol`` (the ratio does not grow as
δ → 0), the lower side (Ω) if it is ≥ ``−tol`` (the ratio does not shrink).
"""

from __future__ import annotations

import dataclasses

import numpy as np


def slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def slope_interval(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Least-squares slope of ``log y`` against ``log x`` with its two-sided ``level`` confidence interval
    (Student t on the fit's residuals; infinite with fewer than 3 points)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    n = len(lx)
    s, c = np.polyfit(lx, ly, 1)
    if n < 3:
        return float(s), -np.inf, np.inf
    from scipy import stats

    resid = ly - (s * lx + c)
    se = np.sqrt(resid @ resid / (n - 2) / np.sum((lx - lx.mean()) ** 2))
    half = float(stats.t.ppf(0.5 + level / 2, n - 2) * se)
    return float(s), float(s - half), float(s + half)


def ratio_slope_interval(deltas, q, g, level: float = 0.95) -> tuple[float, float, float]:
    """:func:`ratio_slope` with its confidence interval (nan when some q ≤ 0 but not all are 0)."""
    q = np.asarray(q, float)
    if np.all(q == 0):
        return 0.0, 0.0, 0.0
    if np.any(q <= 0):
        return float("nan"), float("nan"), float("nan")
    return slope_interval(1.0 / np.asarray(deltas, float), q / np.asarray(g, float), level)


def ratio_slope(deltas, q, g) -> float:
    """Slope of ``log(q/g(δ))`` against ``log(1/δ)``; 0 when every ``q`` is 0."""
    q = np.asarray(q, float)
    if np.all(q == 0):
        return 0.0
    if np.any(q <= 0):
        return float("nan")
    return slope(1.0 / np.asarray(deltas, float), q / np.asarray(g, float))


@dataclasses.dataclass(frozen=True)
class LawFit:
    """``T ≈ A·g(δ) + B`` by least squares: ``A``, ``B`` and the relative RMS residual."""

    name: str
    A: float
    B: float
    rel_rms: float


def fit_affine_law(name: str, g: np.ndarray, T: np.ndarray) -> LawFit:
    g, T = np.asarray(g, float), np.asarray(T, float)
    M = np.stack([g, np.ones_like(g)], axis=1)
    (A, B), *_ = np.linalg.lstsq(M, T, rcond=None)
    rel = float(np.sqrt(np.mean(((M @ [A, B]) - T) ** 2 / T**2)))
    return LawFit(name, float(A), float(B), rel)


@dataclasses.dataclass(frozen=True)
class LawComparison:
    """Which of several mutually exclusive scaling laws a sweep supports.

    ``best`` is the law name the data support, or ``None`` when the sweep cannot decide
    ("undecided on this range"): fewer than 3 points (an affine fit through 2 points is
    exact for any law), or the best fit's relative RMS is not at least ``factor`` times
    smaller than the runner-up's."""

    fits: tuple[LawFit, ...]
    best: str | None
    factor: float

    def describe(self) -> str:
        fits = ", ".join(f"{f.rel_rms:.2e} for {f.name}" for f in self.fits)
        verdict = f"the data support {self.best}" if self.best else "undecided on this range"
        return f"affine fits Q ≈ A·g + B: relative RMS {fits}: {verdict}"


def compare_laws(laws: dict[str, np.ndarray], T: np.ndarray, factor: float = 10.0) -> LawComparison:
    """Fit ``T ≈ A·g + B`` for every candidate ``g`` (name -> values on the sweep) and say
    which law the data support (see :class:`LawComparison`). The laws must exclude each
    other asymptotically (e.g. ``δ^−(r−2)`` and ``log(1/δ)·δ^−(r−2)``)."""
    T = np.asarray(T, float)
    fits = tuple(fit_affine_law(name, g, T) for name, g in laws.items()) if len(T) >= 3 else ()
    best = None
    if len(fits) >= 2:
        ranked = sorted(fits, key=lambda f: f.rel_rms)
        if ranked[0].rel_rms * factor <= ranked[1].rel_rms:
            best = ranked[0].name
    return LawComparison(fits, best, factor)
