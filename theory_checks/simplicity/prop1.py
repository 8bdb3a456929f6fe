"""``simplicity.prop1`` — finite-data extremal vectors approach the infinite-data ones (2025, Prop. 1).

For the linear teacher with a symmetric law of x, ``D(w) = Σβ*/2`` for every w, so the ideal
extremal vectors are ``±Σβ*/‖Σβ*‖`` (``±β*/‖β*‖`` here, Σ = I). For each N of the grid the
finite-data extremal vectors are found (:func:`gflow.bounds.simplicity.extremal_vectors`, fixed
points of ``w ↦ ±D_N(w)/‖D_N(w)‖`` from many starts, kinks by the Clarke condition) and their
largest distance to the nearest ideal one must shrink with N, to ≤ ``FINAL_TOL`` at the largest N.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gflow.bounds.simplicity import extremal_vectors
from gflow.data.teacher import linear_teacher, second_moment
from gflow.fitting import slope
from gflow.flows.simplicity import SimParams
from gflow.report import Hypothesis, Report, Row


ID = "simplicity.prop1"
TITLE = "finite-data extremal vectors → ±Σβ*/‖Σβ*‖ as N grows"


@dataclasses.dataclass(frozen=True)
class Params(SimParams):
    unused = ("n_samples", "m", "lam", "solver", "rtol", "dt", "t_max", "reps")


FINAL_TOL = 0.1


def measure(p: Params) -> tuple[np.ndarray, list]:
    # ±Σβ*/‖Σβ*‖ (Σ = I for the Gaussian law; the same direction for the cone law); for a
    # non-symmetric law there is no such closed form, and the distance to ±β* is what fails
    Sb = second_moment(p.dist, p.beta) @ p.beta if p.dist != "skewed" else p.beta
    ideal = Sb / np.linalg.norm(Sb)
    dists, found = [], []
    for n in p.n_grid:
        X, y = linear_teacher(n, p.beta, p.sigma, p.dist, seed=np.random.default_rng([p.seed, n]))
        ev = extremal_vectors(X, y, starts=50, rng=np.random.default_rng(p.seed))
        dists.append(max(min(np.linalg.norm(c["w"] - ideal), np.linalg.norm(c["w"] + ideal)) for c in ev))
        found.append(ev)
    return np.array(dists), found


def rows(p: Params, dists: np.ndarray) -> tuple[list[Row], list[str]]:
    N = np.array(p.n_grid, float)
    s = slope(N, np.maximum(dists, 1e-300))
    return ([Row("distance.shrinks", "largest distance of a finite-data extremal vector to ±β*/‖β*‖ shrinks with N "
                 "(fitted log-log slope < 0)", s, "< 0", bool(s < 0 and dists[-1] < dists[0]),
                 note="distances " + ", ".join(f"N={int(n)}: {v:.3g}" for n, v in zip(N, dists))),
             Row("distance.final", f"at the largest N the extremal vectors are within {FINAL_TOL} of ±β*/‖β*‖",
                 float(dists[-1]), f"≤ {FINAL_TOL}", bool(dists[-1] <= FINAL_TOL))], [])


def run(p: Params, progress=None) -> Report:
    p.validate()
    dists, found = measure(p)
    row_list, findings = rows(p, dists)
    findings = [f"N = {n}: {len(ev)} extremal vectors (" + ", ".join(f"{'+' if c['sign'] > 0 else '−'} {c['kind']} ×{c['count']}"
                for c in ev) + ")" for n, ev in zip(p.n_grid, found)]
    hyps = [Hypothesis("x symmetric (D(w) = Σβ*/2 for every w)", "symmetric", p.dist, p.dist in ("gaussian", "cone"))]
    return Report(check=ID, title=TITLE, rows=row_list, hypotheses=hyps, params=p.to_dict(),
                  solver={"name": "fixed-point iteration", "rtol": None, "atol": None, "steps": 0, "rejected": 0,
                          "rhs_evals": 0, "wall_s": 0.0, "compile_s": 0.0},
                  phase_times={}, initial_state=None, final_state=None, findings=findings,
                  extra={"extremal_distance": dict(zip(map(str, p.n_grid), dists.tolist()))})
