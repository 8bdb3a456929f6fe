"""``orthogonal.lemma2`` — early alignment (NeurIPS 2022, Lemma 2).

At ``t1 = −ε ln λ / ‖D−‖``: (i) every ``j ∈ S_{+,1}`` has ``<w̄_j, D+> ≥ (1 − 2λ^ε)‖D+‖``;
(ii) every ``j ∈ S_{−,1}`` has ``<w̄_j, −D−> ≥ (1 − 2λ^ε)‖D−‖``; (iii) every neuron has
``‖w_j(t1)‖ ≤ 2cλ^(1−rε)``, ``r = ‖D+‖/‖D−‖``, ``c = max_j ‖w_j(0)‖/λ``. (t1 is saved exactly.)
"""

from __future__ import annotations

import numpy as np

from gflow.flows import orthogonal as flow
from gflow.report import Report, Row


ID = "orthogonal.lemma2"
TITLE = "early alignment at t1 = −ε ln λ/‖D−‖"
Params = flow.OrthoParams


def slacks(p: Params, run: flow.OrthoRun) -> tuple[float, float, float]:
    i = flow.index_at(run, run.pred["t1"])
    rho, wbar = run.geometry()
    g1, g2 = run.groups
    lam, eps, ratio = run.lam, p.eps, run.pred["ratio"]
    s1 = float((wbar[i][run.sets["S1"]] @ g1.D).min() - (1 - 2 * lam**eps) * g1.norm)
    s2 = float((wbar[i][run.sets["S2"]] @ g2.D).min() - (1 - 2 * lam**eps) * g2.norm)
    s3 = float(np.log(2 * run.c) + (1 - ratio * eps) * np.log(lam) - rho[i].max())  # log-space
    return s1, s2, s3


def rows(p: Params, runs) -> tuple[list[Row], list[str]]:
    sl = np.array([slacks(p, r) for r in runs])
    texts = ["(i) S_{+,1} aligned with D+: <w̄_j, D+> ≥ (1 − 2λ^ε)‖D+‖ at t1",
             "(ii) S_{−,1} aligned with −D−: <w̄_j, −D−> ≥ (1 − 2λ^ε)‖D−‖ at t1",
             "(iii) every ‖w_j(t1)‖ ≤ 2cλ^(1−rε) (slack in log ‖w‖)"]
    out = [Row(f"alignment.{k}", t, float(sl[:, n].min()), "slack ≥ 0", bool(sl[:, n].min() >= 0),
               margin=float(sl[:, n].min())) for n, (k, t) in enumerate(zip(("plus", "minus", "norms"), texts))]
    return out, [f"λ={r.lam:g}: t1 = {r.pred['t1']:.4g}" for r in runs]


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    return flow.report(ID, TITLE, p, runs, *rows(p, runs))


plot = flow.plot
