"""``simplicity.theorem1`` — concentration of the early-alignment field (2025, Theorem 1).

``E[sup_{w ∈ S^{d−1}} ‖D_N(w) − D(w)‖]`` decreases like ``√(d log N / N)``. Checked on a geometric
grid of N (expectation over ``reps`` draws; sup by many directions + local ascent): the fitted
log-log slope in N is −1/2 within ``SLOPE_TOL``, and ``sup/√(d log N/N)`` does not grow along the
grid, so one constant C (reported) bounds the whole grid. D(w) = Σβ*/2 is exact for the
symmetric laws (see :mod:`gflow.bounds.simplicity`); this check therefore needs ``--dist gaussian``
or ``cone``.
"""

from __future__ import annotations

import numpy as np

from gflow.bounds.simplicity import D_linear_symmetric, sup_deviation
from gflow.data.teacher import linear_teacher, second_moment
from gflow.errors import InputError
from gflow.fitting import slope
from gflow.report import Hypothesis, Report, Row

from ._common import SimParams

ID = "simplicity.theorem1"
TITLE = "concentration: E sup_w ‖D_N(w) − D(w)‖ ≲ √(d log N / N)"
Params = SimParams
SLOPE_TOL = 0.15


def measure(p: Params) -> np.ndarray:
    D = D_linear_symmetric(p.beta, second_moment(p.dist, p.beta))
    out = []
    for n in p.n_grid:
        sups = [sup_deviation(*linear_teacher(n, p.beta, p.sigma, p.dist, seed=np.random.default_rng([p.seed, n, r])),
                              D, rng=np.random.default_rng([p.seed, r])) for r in range(p.reps)]
        out.append(float(np.mean(sups)))
    return np.array(out)


def rows(p: Params, sups: np.ndarray) -> tuple[list[Row], list[str]]:
    N = np.array(p.n_grid, float)
    rate = np.sqrt(p.d * np.log(N) / N)
    s = slope(N, sups)
    ratio = sups / rate
    s_ratio = slope(N, ratio)
    C = float(ratio.max())
    out = [Row("rate.exponent", "fitted log-log slope of E sup‖D_N − D‖ in N is −1/2", s, f"−0.5 ± {SLOPE_TOL}",
               bool(abs(s + 0.5) <= SLOPE_TOL), margin=SLOPE_TOL - abs(s + 0.5)),
           Row("rate.constant", "sup/√(d log N/N) does not grow along the grid (one constant C bounds it)", s_ratio,
               f"slope ≤ {SLOPE_TOL}", bool(s_ratio <= SLOPE_TOL), margin=SLOPE_TOL - s_ratio,
               note=f"C = max ratio = {C:.4g}")]
    return out, [f"N = {int(n)}: E sup = {v:.4g}, ratio to √(d log N/N) = {r:.3g}" for n, v, r in zip(N, sups, ratio)]


def run(p: Params, progress=None) -> Report:
    p.validate()
    if p.dist not in ("gaussian", "cone"):
        raise InputError("simplicity.theorem1 compares with the closed form D(w) = Σβ*/2, exact for the symmetric "
                         "laws (--dist gaussian or cone)")
    sups = measure(p)
    row_list, findings = rows(p, sups)
    hyps = [Hypothesis("the law of x is continuous", "yes", p.dist, True),
            Hypothesis("x sub-Gaussian (moment factors of the bound)", "yes", p.dist, True)]
    import dataclasses

    return Report(check=ID, title=TITLE, rows=row_list, hypotheses=hyps, params=dataclasses.asdict(p),
                  solver={"name": "none (no ODE)", "rtol": None, "atol": None, "steps": 0, "rejected": 0, "rhs_evals": 0,
                          "wall_s": 0.0, "compile_s": 0.0},
                  phase_times={}, initial_state=None, final_state=None, findings=findings,
                  extra={"sup_deviation": dict(zip(map(str, p.n_grid), sups.tolist()))})
