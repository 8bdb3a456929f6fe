"""``plateau.theorem3`` — plateau and monotonicity of the interpolation curves of Model H
(ICLR 2023, Theorem 3).

The trained network is ``θ(T)`` of ``plateau.theorem2``'s flow (T: every margin ≥ m and the
bias gap ≥ γ); the path is ``θ[α] = (1−α)θ(0) + αθ(T)``. With α1–α4 from
:func:`gflow.bounds.plateau_mli.theorem3_alphas` the claims are

1. the error is ``1 − 1/k`` on ``[α1, α2]`` and non-increasing on ``[α1, 1]``;
2. ``log k − eε ≤ γ_loss(α) ≤ log k + αΔ_max + eε`` on ``[0, α3]``, and the loss decreases
   strictly on ``[α4, 1]``.

Every boundary is root-found (:class:`gflow.interpolation.MLI`): the error's change points
are the roots of the per-sample margins, the loss boundary is the last root of
``dγ_loss/dα``. The measured end of the error plateau is also compared with the
constant-free leading order ``R_min^(1/(r−1))``: their relative gap must shrink as δ → 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from gflow.bounds.plateau_mli import bias_gaps, theorem3_alphas, theorem3_delta_conditions
from gflow.fitting import slope
from gflow.flows import plateau as flow
from gflow.interpolation import MLI
from gflow.models import homogeneous as H
from gflow.params import param
from gflow.report import Hypothesis, Report, Row

from . import mli_rows

ID = "plateau.theorem3"
TITLE = "Model H interpolation curves: error plateau on [α1, α2], loss band on [0, α3], monotone after α4"


@dataclasses.dataclass(frozen=True)
class Params(flow.FlowParams):
    eps: float = param(0.1, "ε of the loss band", gt=0, lt=1)
    c_alpha2: float = param(1.0, "hidden constant C of α2's 1/(1 + C√δ)", ge=0)
    c_alpha4: float = param(1.0, "hidden constant C of α4's (1 + Cδ)", ge=0)


@dataclasses.dataclass
class Curves:
    """One δ: the MLI path, its α's and its measured boundaries."""

    delta: float
    mli: MLI
    gaps: object
    alphas: dict
    plateau_end: float | None      # first α > α1 where the error drops below 1 − 1/k
    monotone_from: float           # smallest α from which the loss decreases strictly
    steps: list                    # (α, error before, error after) on [α1, 1]


def trained(run: flow.FlowRun) -> H.HState:
    """θ(T) (the end of the solve if T was never reached)."""
    occ = run.traj.events.get("T")
    return H.HState(*occ.y) if occ is not None else run.traj.y_final


def curves(p: Params, run: flow.FlowRun, theta1: H.HState | None = None) -> Curves:
    theta0 = run.traj.y_initial
    theta1 = trained(run) if theta1 is None else theta1
    mli = MLI(H.logits_fn(p.r), H.HState(*theta0), H.HState(*theta1), run.data.X,
              run.data.labels)
    gaps = bias_gaps(np.asarray(theta1.W), np.asarray(theta1.b))
    al = theorem3_alphas(gaps, run.delta, p.r, p.eps, p.c_alpha2, p.c_alpha4)
    chance = 1 - 1 / p.k
    a1 = min(al["alpha1"], 1.0)
    end = mli.first_error_below(chance - 1e-12, lo=a1)
    return Curves(run.delta, mli, gaps, al, end, mli.loss_monotone_from(), mli.error_steps(a1, 1.0))


def rows(p: Params, runs: list[flow.FlowRun], all_curves: list[Curves] | None = None):
    cs = all_curves or [curves(p, run) for run in runs]
    chance = 1 - 1 / p.k
    out: list[Row] = []
    findings: list[str] = []
    deltas = np.array([c.delta for c in cs])

    out += mli_rows.error_rows(cs, chance)
    band = np.array([mli_rows.loss_band_margin(c, p.k, np.e * p.eps, c.gaps.delta_max) for c in cs])
    out.append(mli_rows.loss_band_row(band, "eε"))
    # 2'. strictly decreasing loss on [α4, 1]
    gap = np.array([c.alphas["alpha4"] - c.monotone_from for c in cs])
    out.append(Row("loss_decreasing", "the loss decreases strictly on [α4, 1] (root of dγ/dα ≤ α4)",
                   float(gap.min()), "α4 − (monotone from) ≥ 0", bool(gap.min() >= 0), margin=float(gap.min())))
    # leading order of α2 against the measured plateau end
    ends = np.array([c.plateau_end if c.plateau_end is not None else np.nan for c in cs])
    lead = np.array([c.alphas["alpha2_leading"] for c in cs])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(lead > 0, np.abs(ends - lead) / np.where(lead > 0, lead, 1.0), np.inf)
    if len(cs) > 1 and np.all(np.isfinite(rel)) and np.all(rel > 0):
        s = slope(1 / deltas, rel)
        out.append(Row("alpha2.leading_order", "measured end of the error plateau → R_min^(1/(r−1)) as δ → 0: the "
                       "relative gap shrinks (fitted slope against 1/δ < 0, smallest δ closest)", s, "slope < 0",
                       bool(s < 0 and rel[-1] <= rel[0]),
                       note="relative gaps " + ", ".join(f"δ={d:g}: {g:.2e}" for d, g in zip(deltas, rel))))
    else:
        ok = bool(np.all(np.isfinite(rel)) and rel.max() <= 0.1)
        out.append(Row("alpha2.leading_order", "measured end of the error plateau within 10 % of R_min^(1/(r−1)) "
                       "(one δ: the trend is not tested)", float(np.nanmax(rel)) if np.any(np.isfinite(rel)) else "none",
                       "≤ 0.1", ok))
    for c in cs:
        findings.append(f"δ={c.delta:g}: α1={c.alphas['alpha1']:.4g}, α2={c.alphas['alpha2']:.4g} "
                        f"(leading {c.alphas['alpha2_leading']:.4g}), α3={c.alphas['alpha3']:.4g}, "
                        f"α4={c.alphas['alpha4']:.4g}; plateau ends at {c.plateau_end if c.plateau_end is None else round(c.plateau_end, 6)}, "
                        f"loss monotone from {c.monotone_from:.6g}; bumps: "
                        + (", ".join(f"α={b['alpha']:.4g} (+{b['height']:.3g})" for b in c.mli.bumps()) or "none"))
    return out, findings


def hypotheses(p: Params, runs, cs) -> list[Hypothesis]:
    hyps = [h for h in flow.standard_hypotheses(p, runs)]
    for c in cs:
        cond = theorem3_delta_conditions(c.gaps, p.r, p.eps)
        bound = min(cond.values())
        which = min(cond, key=cond.get)
        hyps.append(Hypothesis(f"δ ≤ min(ε^(1/r), R_min^(1/(r−1))Δ_min^(1/r), (W_min/W_max)^(2r/(r−2))) at δ={c.delta:g}"
                               " (Θ constants 1)", f"≤ {bound:.3g} ({which})", c.delta, c.delta <= bound))
    hyps.append(Hypothesis("θ(T) from Theorem 2's flow: T reached", "every δ",
                           sum(r.t("T") is not None for r in runs), all(r.t("T") is not None for r in runs)))
    return hyps


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    cs = [curves(p, r) for r in runs]
    row_list, findings = rows(p, runs, cs)
    by_delta = {c.delta: c for c in cs}
    rep = flow.report(
        ID, TITLE, p, runs, row_list, findings,
        extra={"alphas": lambda r: {k: v for k, v in by_delta[r.delta].alphas.items()},
               "boundaries": lambda r: {"error_plateau_end": by_delta[r.delta].plateau_end,
                                        "loss_monotone_from": by_delta[r.delta].monotone_from}},
        final=lambda r: flow.state_dict(trained(r).W, trained(r).b))
    rep.hypotheses = hypotheses(p, runs, cs)
    rep.context = cs
    return rep


def plot(report: Report, path) -> None:
    """Loss and error curves against α with α1–α4 and the measured boundaries marked
    (the paper's Figure 2, right)."""
    from gflow.plotting import mli_curves

    mli_curves(report.context, path, k=report.params["k"], title="Model H")
