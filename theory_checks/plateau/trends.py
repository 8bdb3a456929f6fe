"""``plateau.trends`` — Section 5 of the plateau paper, as claims with rows.

On Model F (same data, same init directions) the *error plateau* of the interpolation
curve is measured as the α from which the training error stays below half the chance
level, ``(1 − 1/k)/2`` (root-found on the per-sample margins; a common yardstick for
networks with and without biases; a transient dip below it, as ReLU networks with tiny
initial logits show near α = 0, does not end the plateau). The paper's trends:

1. no bias ⇒ a (much) shorter error plateau than with a last-layer bias;
2. homogeneous bias interpolation (``α^r b(T)`` for the last layer) ⇒ a shorter plateau;
3. smaller init ⇒ a longer plateau;
4. deeper ⇒ a longer plateau (depths ``r_min … r_max``, at least 3–6).

Each is one row; the measured lengths are in the report.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gflow.errors import InputError
from gflow.flows import deep
from gflow.params import param, redefault
from gflow.report import Hypothesis, Report, Row
from gflow.trajectory import merge_stats


ID = "plateau.trends"
TITLE = "Section 5 trends: no bias, homogeneous bias interpolation, init scale and depth vs the error plateau"


@dataclasses.dataclass(frozen=True)
class Params(deep.DeepParams):
    delta: tuple = param((0.3, 0.1), "the two per-layer init scales compared: LARGER,SMALLER", gt=0, lt=1,
                         count=(2, 2))
    r: int = redefault(deep.DeepParams, "r", 3)
    depths: tuple = param((3, 4, 5, 6), "depths compared at the larger δ, comma-separated", ge=3,
                          increasing=True, count=(2, None))

    def validate(self) -> None:
        super().validate()
        if not self.delta[0] > self.delta[1]:
            raise InputError("plateau.trends compares two init scales: --delta LARGER,SMALLER")


def plateau_length(p, run, homogeneous=False, power=None) -> tuple[float, object]:
    m = deep.mli(p, run, homogeneous, power=power)
    end = m.error_below_from((1 - 1 / p.k) / 2)
    return (1.0 if end is None else end), m


def train_all(p: Params, progress=None) -> dict:
    """The trained networks the trends compare: ``bias``, ``no_bias``, ``small_init`` and
    ``depth_r`` for every depth (``depth_{p.r}`` is the ``bias`` run)."""
    data = deep.make_data(p)
    big, small = p.delta
    jobs = [("bias", p.r, big, "last"), ("no_bias", p.r, big, "none"), ("small_init", p.r, small, "last")]
    jobs += [(f"depth_{r}", r, big, "last") for r in p.depths if r != p.r]
    runs = {}
    for i, (name, r, delta, bias) in enumerate(jobs):
        runs[name] = deep.train(p, r, delta, bias, data)
        if progress is not None:
            progress(i, len(jobs), 1.0, 1.0)
    runs[f"depth_{p.r}"] = runs["bias"]
    return runs


def lengths(p: Params, runs: dict, power: int | None = None) -> dict:
    """Error-plateau lengths (and curves) of every run, plus the homogeneous bias
    interpolation of the ``bias`` run (exponent ``power``, default the depth r)."""
    out = {"runs": runs, "lengths": {}, "curves": {}}
    for name, run in runs.items():
        out["lengths"][name], out["curves"][name] = plateau_length(p, run)
    out["lengths"]["homogeneous"], out["curves"]["homogeneous"] = plateau_length(p, runs["bias"], homogeneous=True,
                                                                                 power=power)
    return out


def measure(p: Params, progress=None) -> dict:
    return lengths(p, train_all(p, progress))


def rows(p: Params, L: dict) -> list[Row]:
    depth = [L[f"depth_{r}"] for r in p.depths]
    inc = all(a <= b for a, b in zip(depth, depth[1:])) and depth[-1] > depth[0]
    return [
        Row("no_bias_shorter", "no bias ⇒ shorter error plateau than with a last-layer bias",
            L["no_bias"], f"< {L['bias']:.4g} (with bias)", L["no_bias"] < L["bias"]),
        Row("homogeneous_shorter", "homogeneous bias interpolation α^r b(T) ⇒ shorter error plateau",
            L["homogeneous"], f"< {L['bias']:.4g} (linear)", L["homogeneous"] < L["bias"]),
        Row("smaller_init_longer", f"smaller init (δ = {p.delta[1]:g} vs {p.delta[0]:g} per layer) ⇒ longer plateau",
            L["small_init"], f"> {L['bias']:.4g}", L["small_init"] > L["bias"]),
        Row("deeper_longer", f"deeper ⇒ longer plateau (depths {', '.join(map(str, p.depths))}; non-decreasing, "
            "last > first)", depth, "increasing", bool(inc)),
    ]


def start_hypothesis(p: Params, curves: dict) -> Hypothesis:
    """The yardstick measures a plateau only if every curve starts above it: at α = 0 (the init
    θ(0)) the error must be ≥ (1 − 1/k)/2 with no sample's logits tied. (With ReLU at δ = 0.3 some
    draws start below it, or with every unit dead, so that all logits equal b(0) = 0: the "plateau"
    then ends at α ≈ 0 by the init, not by training.)"""
    level = (1 - 1 / p.k) / 2
    m0 = {name: c.margins(0.0)[0] for name, c in curves.items()}
    low = min(float((m <= 0).mean()) for m in m0.values())
    tied = sum(int(np.sum(m == 0)) for m in m0.values())
    return Hypothesis(f"every curve starts above the yardstick: error at α = 0 ≥ {level:.4g} with no tied logits",
                      f"≥ {level:.4g}, 0 tied", f"{low:.4g}, {tied} tied", bool(low >= level and tied == 0))


def run(p: Params, progress=None) -> Report:
    p.validate()
    m = measure(p, progress)
    runs = m["runs"]
    stats = merge_stats(r.stats for r in runs.values())
    norm_x = float(np.linalg.norm(runs["bias"].data.X, axis=1).max())
    hyps = [Hypothesis("inputs ‖x‖ ≤ 1", "≤ 1", norm_x, norm_x <= 1 + 1e-12),
            Hypothesis("every network reaches zero training error (margin ≥ m)", "all", len(runs), True)]
    hyps.append(start_hypothesis(p, m["curves"]))
    hyps += deep.gd_hypothesis(p, list(runs.values()))
    params = deep.params_dict(p)
    params["depths"] = list(p.depths)
    lengths = m["lengths"]
    return Report(
        check=ID, title=TITLE, rows=rows(p, lengths), hypotheses=hyps, params=params, solver=stats.to_dict(),
        phase_times={name: r.T for name, r in runs.items()},
        initial_state={"bias": deep.state_dict(runs["bias"].theta0)},
        final_state={"bias": deep.state_dict(runs["bias"].thetaT)},
        findings=["error plateau (α from which the error stays < (1 − 1/k)/2): "
                  + ", ".join(f"{k}: {v:.4g}" for k, v in lengths.items())],
        context=m, extra={"plateau_lengths": lengths})


def plot(report: Report, path) -> None:
    from gflow.plotting import trend_curves

    trend_curves(report.context, path, k=report.params["k"])
