"""``orthogonal.lemma4`` — the second group is fitted (NeurIPS 2022, Lemma 4).

Some ``t3 ≤ −(1+3rε) ln λ/‖D−‖`` has (i) ``<w̄_j, −D−> ≥ ‖D−‖ − λ^(ε/14)`` on S_{−,1};
(ii) ``|Σ_{S_{−,1}} ‖w_j‖² − U−*| ≤ λ^(ε/20)``; (iii) ``‖w_j(t2) − w_j(t3)‖ ≤ λ^(ε/15)`` on S_{+,1};
(iv) ``‖w_j‖ ≤ 3cλ^ε`` for the other neurons. t3 is located as the first time (i), (ii), (iv)
hold together; (iii) is then checked at that t3.
"""

from __future__ import annotations

import numpy as np

from gflow.flows import orthogonal as flow
from gflow.report import Report, Row


ID = "orthogonal.lemma4"
TITLE = "second group fitted by t3 ≤ −(1+3rε) ln λ/‖D−‖, first group frozen"
Params = flow.OrthoParams


def rows(p: Params, runs) -> tuple[list[Row], list[str]]:
    out = [flow.event_before_bound_row(runs, "t3", "t3_bound", "(i), (ii), (iv) hold together at some t3 ≤ −(1+3rε) ln λ/‖D−‖")]
    moves = []
    for r in runs:
        if r.t("t2") is None or r.t("t3") is None:
            moves.append(np.inf)
            continue
        _, W = r.cart()
        i2, i3 = flow.index_at(r, r.t("t2")), flow.index_at(r, r.t("t3"))
        move = np.linalg.norm(W[i3][r.sets["S1"]] - W[i2][r.sets["S1"]], axis=1).max()
        moves.append(float(move - r.lam ** (p.eps / 15)))
    moves = np.array(moves)
    out.append(Row("frozen_first_group", "(iii) ‖w_j(t2) − w_j(t3)‖ ≤ λ^(ε/15) on S_{+,1}", float(moves.max()),
                   "move − λ^(ε/15) ≤ 0", bool(np.all(moves <= 0)), margin=float(-moves.max())))
    return out, [f"λ={r.lam:g}: t3 = {r.t('t3')}, U− reaches half its capacity at {r.t('half2')} "
                 f"(leading order −ln λ/‖D−‖ = {r.pred['t_second']:.4g})" for r in runs]


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    return flow.report(ID, TITLE, p, runs, *rows(p, runs))


plot = flow.plot
