"""Benchmark: the orthogonal paper's two-point experiment (m = 60, λ = 1e−6/√m) by the ODE solver
vs the paper's gradient descent (MSE without the 1/2, lr 1e−3: one iteration = 2e−3 of flow
time), over the paper's ~16 000 iterations (t = 32); and the cost of λ = 1e−30 vs 1e−6 in
log-radius coordinates. Ratios are measured in this process.

Run by hand: python benchmarks/orthogonal_two_point.py
"""

from __future__ import annotations

import numpy as np

from gflow import solve
from gflow.models import relu2 as R
from gflow.flows import orthogonal as flow


def main():
    p = flow.OrthoParams(lam=(1e-6 / np.sqrt(60),))
    data = flow.make_data(p)
    _, s, g = R.init(p.m, 2, 1.0, seed=np.random.default_rng(np.random.SeedSequence([p.seed, 1])))
    lam = p.lam[0]
    y0 = R.from_draws(g, s, lam)
    events = flow.events_for("spherical")[2:4]  # half1, half2: each group at half its capacity
    run = flow.run_flow(p, lam, data, (s, g))  # builds the args (capacities, masks)
    import jax.numpy as jnp  # noqa: F401

    args = dict(data.args(s), S1=jnp.asarray(np.isin(np.arange(p.m), run.sets["S1"])),
                S2=jnp.asarray(np.isin(np.arange(p.m), run.sets["S2"])),
                cap1=run.groups[0].capacity, cap2=run.groups[1].capacity)
    T = 32.0
    ref = solve(R.spherical_field(), y0, T, args, solver="dopri8", rtol=1e-12, atol=1e-14, events=events)
    rows = []
    for name, kw in (("tsit5 rtol 1e-6", dict(solver="tsit5", rtol=1e-6, atol=1e-9)),
                     ("tsit5 rtol 1e-10", dict(solver="tsit5", rtol=1e-10, atol=1e-12)),
                     ("GD lr 1e-3 (paper)", dict(solver="gd", dt=2e-3))):
        solve(R.spherical_field(), y0, T, args, events=events, **kw)  # warm
        tr = solve(R.spherical_field(), y0, T, args, events=events, **kw)
        err = max(abs(tr.event_time(n) - ref.event_time(n)) / ref.event_time(n) for n in ("half1", "half2"))
        rows.append((name, tr.stats.rhs_evals, tr.stats.wall_s, err))
    print("two-point, m = 60, λ = 1e-6/√60, to t = 32 (16 000 paper iterations); log-radius coordinates")
    gd = rows[-1]
    for name, evals, wall, err in rows:
        print(f"{name:>20}: {evals:>7} evals  {wall:8.4f} s  phase-time error {err:.1e}   "
              f"(GD/this: {gd[1] / evals:6.1f}× evals, {gd[2] / wall:6.1f}× wall)")
    print("times at half capacity:", {n: round(ref.event_time(n), 4) for n in ("half1", "half2")},
          "≈ iterations", {n: round(500 * ref.event_time(n)) for n in ("half1", "half2")})
    costs = {}
    for lam_ in (1e-6, 1e-30, 1e-100):
        r = flow.run_sweep(flow.OrthoParams(lam=(lam_,)))[0]
        costs[lam_] = (r.traj.stats.rhs_evals, r.traj.stats.wall_s, r.t_end)
    for lam_, (e, w, t) in costs.items():
        print(f"λ = {lam_:g}: {e} evals, {w:.3f} s to t = {t:.4g} "
              f"({e / costs[1e-6][0]:.2f}× the evals of λ = 1e-6, for a horizon {t / costs[1e-6][2]:.2f}× longer)")


if __name__ == "__main__":
    main()
