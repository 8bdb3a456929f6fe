"""``plateau.theorem1`` — plateau of the interpolation curves of deep fully-connected networks
(ICLR 2023, Theorem 1).

Model F (depth r ≥ 3, last-layer bias only, ``‖V_i(0)‖ ≤ δ``, biases starting at 0, inputs
``‖x‖ ≤ 1``) is trained by gradient flow to zero training error (every margin ≥ m) at T.
Assumption 1: the trained biases have a gap ``Δ_min = b_k(T) − max_{i<k} b_i(T) > 0``
(k: the class with the largest bias); ``Δ_max = b_k(T) − min_i b_i(T)``; ``V_max`` is the
largest spectral norm of a trained layer. For ``δ < min(ε^(1/r)/r, 1/r², (1/(2e))^(2/(r−2)))``
(the last term is what the proof of Lemma 8, Appendix B.3, needs: ``δ − 2eδ^(r/2) > 0``):

* the error is ``1 − 1/k`` on ``[α1, α2]`` with ``α1 = δ/Δ_min``,
  ``α2 = (1/(1+√δ))^(r/(r−1)) (Δ_min/(2 V_max^r))^(1/(r−1))``;
* ``log k − 2eε ≤ γ_loss(α) ≤ log k + αΔ_max + 2eε`` on ``[0, α3]``, ``α3 = ε^(1/r)/V_max``.

Boundaries are root-found as in ``plateau.theorem3``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gflow.bounds.plateau_mli import theorem1_alphas, theorem1_delta_bound
from gflow.flows import deep
from gflow.models import deep_fc as F
from gflow.report import Hypothesis, Report, Row
from gflow.trajectory import merge_stats

from . import mli_rows

ID = "plateau.theorem1"
TITLE = "deep fully-connected networks: error plateau on [α1, α2] and loss band on [0, α3]"
Params = deep.DeepParams


@dataclasses.dataclass
class Curves:
    delta: float
    mli: object
    alphas: dict
    steps: list
    plateau_end: float | None
    delta_min: float
    delta_max: float
    v_max: float
    norms0: list
    normsT: list


def curves(p: Params, run: deep.DeepRun) -> Curves:
    b = np.asarray(run.thetaT.b)
    top = int(np.argmax(b))
    others = np.delete(b, top)
    dmin, dmax = float(b[top] - others.max()), float(b[top] - b.min())
    normsT = F.spectral_norms(run.thetaT)
    al = theorem1_alphas(run.delta, dmin, max(normsT), run.r, p.eps)
    m = deep.mli(p, run)
    a1 = min(al["alpha1"], 1.0)
    return Curves(run.delta, m, al, m.error_steps(a1, 1.0), m.first_error_below(1 - 1 / p.k - 1e-12, lo=a1),
                  dmin, dmax, max(normsT), F.spectral_norms(run.theta0), normsT)


def rows(p: Params, cs: list[Curves]) -> tuple[list[Row], list[str]]:
    out = mli_rows.error_rows(cs, 1 - 1 / p.k)
    band = np.array([mli_rows.loss_band_margin(c, p.k, 2 * np.e * p.eps, c.delta_max) for c in cs])
    out.append(mli_rows.loss_band_row(band, "2eε"))
    findings = [f"δ={c.delta:g}: Δ_min={c.delta_min:.4g}, Δ_max={c.delta_max:.4g}, V_max={c.v_max:.4g}; "
                f"α1={c.alphas['alpha1']:.4g}, α2={c.alphas['alpha2']:.4g}, α3={c.alphas['alpha3']:.4g}; the error "
                f"plateau ends at α = {c.plateau_end if c.plateau_end is None else round(c.plateau_end, 6)}"
                + (f", {c.plateau_end / c.alphas['alpha2']:.3g}× α2 (the bound is valid and loose by that factor)"
                   if c.plateau_end and c.alphas["alpha2"] > 0 else "")
                for c in cs]
    return out, findings


def hypotheses(p: Params, runs, cs) -> list[Hypothesis]:
    norm_x = float(np.linalg.norm(runs[0].data.X, axis=1).max())
    bound = theorem1_delta_bound(p.r, p.eps)
    hyps = [Hypothesis("inputs ‖x‖ ≤ 1", "≤ 1", norm_x, norm_x <= 1 + 1e-12),
            Hypothesis("biases start at 0, bias on the last layer only", "yes", "yes", True)]
    for c in cs:
        hyps.append(Hypothesis(f"‖V_i(0)‖ ≤ δ at δ={c.delta:g}", f"≤ {c.delta:g}", max(c.norms0),
                               max(c.norms0) <= c.delta * (1 + 1e-9)))
        hyps.append(Hypothesis(f"δ < min(ε^(1/r)/r, 1/r², (1/(2e))^(2/(r−2))) at δ={c.delta:g}", f"< {bound:.4g}", c.delta,
                               c.delta < bound))
        hyps.append(Hypothesis(f"Assumption 1 (bias gap) at δ={c.delta:g}: Δ_min > 0", "> 0", c.delta_min,
                               c.delta_min > 0))
    return hyps + deep.gd_hypothesis(p, runs)


def run(p: Params, progress=None) -> Report:
    p.validate()
    data = deep.make_data(p)
    runs = []
    for i, delta in enumerate(p.delta):
        runs.append(deep.train(p, p.r, float(delta), "last", data))
        if progress is not None:
            progress(i, len(p.delta), 1.0, 1.0)
    cs = [curves(p, r) for r in runs]
    row_list, findings = rows(p, cs)
    stats = merge_stats(r.stats for r in runs)
    one = len(runs) == 1

    def per(fn):
        out = {f"{r.delta:g}": fn(r, c) for r, c in zip(runs, cs)}
        return next(iter(out.values())) if one else out

    return Report(
        check=ID, title=TITLE, rows=row_list, hypotheses=hypotheses(p, runs, cs), params=deep.params_dict(p),
        solver=stats.to_dict(), phase_times=per(lambda r, c: {"T": r.T}), initial_state=per(lambda r, c: deep.state_dict(r.theta0)),
        final_state=per(lambda r, c: deep.state_dict(r.thetaT)), findings=findings, context=cs,
        extra={"alphas": per(lambda r, c: c.alphas),
               "boundaries": per(lambda r, c: {"error_plateau_end": c.plateau_end}),
               "spectral_norms": per(lambda r, c: {"initial": c.norms0, "final": c.normsT, "V_max": c.v_max}),
               "bias_gap": per(lambda r, c: {"delta_min": c.delta_min, "delta_max": c.delta_max})})


def plot(report: Report, path) -> None:
    from gflow.plotting import mli_curves

    mli_curves(report.context, path, k=report.params["k"], title=f"Model F, r = {report.params['r']},")
