"""Rows shared by the interpolation checks (Theorems 1 and 3): the error plateau on
[α1, α2], a non-increasing error after α1, and the loss band on [0, α3].

Each takes objects with ``delta``, ``mli`` (:class:`gflow.interpolation.MLI`), ``alphas``
and ``steps`` (the error's change points on [α1, 1]).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from gflow.report import Row


def error_rows(cs, chance: float) -> list[Row]:
    """``error = 1 − 1/k on [α1, α2]`` (exact: no margin root inside, error 1 − 1/k at α1)
    and ``error non-increasing on [α1, 1]`` (at every change point)."""
    worst, bad = np.inf, []
    for c in cs:
        a1, a2 = c.alphas["alpha1"], c.alphas["alpha2"]
        if not a1 < a2:
            bad.append(f"δ={c.delta:g}: α1 = {a1:.3g} ≥ α2 = {a2:.3g}")
            worst = -np.inf
            continue
        at_a1 = float(c.mli.error([a1])[0])
        changes = [s for s in c.steps if s[0] < a2]
        # the margin is the distance from α2 to the error's first change after α1 (1 if it never
        # changes on [α1, 1]), not to the end of the path
        first_change = c.steps[0][0] if c.steps else 1.0
        if abs(at_a1 - chance) > 1e-12 or changes:
            bad.append(f"δ={c.delta:g}: error {at_a1:.3g} at α1, first change at α = {first_change:.6g}")
        worst = min(worst, first_change - a2 if abs(at_a1 - chance) <= 1e-12 else -np.inf)
    rows = [Row("error_plateau", "error = 1 − 1/k for every α ∈ [α1, α2] (no margin root inside, error "
                "1 − 1/k at α1)", worst if np.isfinite(worst) else "none", "first change − α2 ≥ 0",
                not bad, margin=worst if np.isfinite(worst) else None, note="; ".join(bad))]
    ups = [(c.delta, s) for c in cs for s in c.steps if s[2] > s[1]]
    rows.append(Row("error_nonincreasing", "the error is non-increasing on [α1, 1] (checked at every change point)",
                    f"{len(ups)} increases", "0 increases", not ups,
                    note="; ".join(f"δ={d:g}: α={s[0]:.6g} {s[1]:.3g}→{s[2]:.3g}" for d, s in ups[:3])))
    return rows


def loss_band_margin(c, k: int, slack: float, delta_max: float) -> float:
    """``min over α ∈ [0, α3]`` of the distance of γ_loss to the nearer side of the band
    ``[log k − slack, log k + αΔ_max + slack]`` (negative: outside). Grid, then bounded
    refinement of the worst point."""
    a3 = min(c.alphas["alpha3"], 1.0)
    lo_b = np.log(k)

    def dist(a):
        g = float(c.mli.loss([a])[0])
        return min(g - (lo_b - slack), (lo_b + a * delta_max + slack) - g)

    grid = np.linspace(0, a3, 801)
    g = c.mli.loss(grid)
    s = np.minimum(g - (lo_b - slack), (lo_b + grid * delta_max + slack) - g)
    j = int(np.argmin(s))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, len(grid) - 1)]
    if hi > lo:
        res = minimize_scalar(dist, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        return float(min(s[j], res.fun))
    return float(s[j])


def loss_band_row(band: np.ndarray, slack_name: str) -> Row:
    return Row("loss_band", f"log k − {slack_name} ≤ γ_loss(α) ≤ log k + αΔ_max + {slack_name} for every α ∈ [0, α3]",
               float(band.min()), "distance to the band ≥ 0", bool(band.min() >= 0), margin=float(band.min()))
