"""Model H's stiff plateau: cost against δ for each formulation and method (theorem2's set-up: k = 4, r = 4,
σ = 0, rtol 1e−11, atol 1e−14, solved to the horizon 2·log(1/δ)/δ^(r−2) with every phase event located).

Formulations (``gflow.flows.plateau.run_flow``): *best* — the k × k block, ḃ without cancellation, in
V = W^−(r−2) — and *plain* — the general field in W (ḃ = 1 − Σ u). Per run: steps (rejected), field
evaluations (counted: a second, instrumented solve for implicit methods) and the warm wall time of the
uncounted solve. Runs that would exceed ``MAX_EVALS`` (extrapolated) are skipped.

Run by hand: python benchmarks/stiff_table.py [δ ...]
"""

from __future__ import annotations

import dataclasses
import sys

from gflow.flows import plateau as flow

DELTAS = (0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001)
METHODS = (("tsit5", "best"), ("kvaerno5", "best"), ("kvaerno5", "plain"), ("tsit5", "plain"))
MAX_EVALS = 3e6


def measure(solver: str, formulation: str, delta: float) -> dict:
    p = flow.FlowParams(delta=(delta,), solver=solver)
    flow.run_flow(p, delta, formulation=formulation)                     # warm the compilation
    run = flow.run_flow(p, delta, formulation=formulation)
    evals = run.traj.stats.rhs_evals
    if evals is None:
        evals = flow.run_flow(dataclasses.replace(p, count_evals=True), delta, formulation=formulation).traj.stats.rhs_evals
    st = run.traj.stats
    return dict(steps=st.steps, rejected=st.rejected, evals=evals, wall=st.wall_s, T=run.t("T"))


def main():
    deltas = [float(x) for x in sys.argv[1:]] or list(DELTAS)
    print("| δ | " + " | ".join(f"{s} ({f})" for s, f in METHODS) + " |")
    print("|---|" + "---|" * len(METHODS))
    last = {}
    for delta in deltas:
        cells = []
        for method in METHODS:
            prev = last.get(method)
            if prev is not None and prev["evals"] * (prev["delta"] / delta) ** 2 > MAX_EVALS:
                cells.append("(skipped: > 3·10⁶ evaluations)")
                continue
            m = measure(*method, delta)
            last[method] = dict(m, delta=delta)
            cells.append(f"{m['steps']} ({m['rejected']}), {m['evals']}, {m['wall']:.2f} s")
        print(f"| {delta:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
