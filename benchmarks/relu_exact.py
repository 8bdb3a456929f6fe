"""Benchmark (issue 10): the exact (Filippov) event-driven flow of Model R against gradient
descent, in one process.

* ``two-point``: the orthogonal paper's example (m = 60, λ = 1e−6/√60, balanced) to t = 32, the
  paper's 16 000 GD iterations (lr 1e−3 on the MSE without ½: step 2e−3 of flow time). Phase
  times = the times at which the loss falls below 90 %, 50 % and 10 % of its range, read on a
  0.01 grid with linear interpolation, against a reference (exact flow, rtol 1e−12).
* ``gaussian``: n = 75 < d = 150, 6-neuron ReLU teacher, m = 200, balanced init 1e−20, t = 400:
  the loss every 0.1 against GD at steps 2e−3 … 2.5e−4, read from ``relu_gaussian/gd.npz``
  (``relu_gaussian_gd.py``; step → 0 by Richardson extrapolation of the two smallest steps).
  Slow (~17 min on 2 cores).
* ``many-samples``: ``simplicity.theorem2``'s default instance (N = 2000 ≫ d = 3, m = 100,
  λ = 1e−4, t = 2000): the exact flow with crossings absorbed against GD at steps 0.1 … 0.0125;
  the learned sums and the train loss at t = 100 and t = 2000 against the exact flow at rtol 1e−7.

* ``model-f``: Model F with ReLU (``plateau.theorem1 --activation relu`` defaults: r = 3, width 16,
  N = 30, δ = 0.03) trained to margin 1: the fit time T of the exact flow
  (:func:`gflow.models.deep_fc_exact.solve_model_f`) at rtol 1e−6 … 1e−10 and of gradient descent at
  steps 0.1 … 0.0125, against the exact flow at rtol 1e−12.

Run by hand: python benchmarks/relu_exact.py [two-point|gaussian|many-samples|model-f]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from gflow import solve_relu2
from gflow.data.orthogonal import two_point
from gflow.models import relu2 as R
from gflow.models.relu2_exact import loss_curve

HERE = Path(__file__).parent


def phase_times(ts, L, levels=(0.9, 0.5, 0.1)):
    lo, hi = L[-1], L[0]
    out = []
    for f in levels:
        target = lo + f * (hi - lo)
        i = int(np.argmax(L <= target))
        out.append(ts[i - 1] + (ts[i] - ts[i - 1]) * (L[i - 1] - target) / (L[i - 1] - L[i]))
    return np.asarray(out)


def two_point_bench():
    data = two_point()
    m, lam = 60, 1e-6 / np.sqrt(60)
    _, s, g = R.init(m, 2, 1.0, seed=np.random.default_rng(np.random.SeedSequence([0, 1])))
    W = lam * g
    a = s * np.linalg.norm(W, axis=1)
    T = 32.0
    ts = np.linspace(0, T, 3201)[1:]
    X, y = data.X, data.y
    ref = solve_relu2(X, y, W, a, T, save_ts=ts, rtol=1e-12, atol=1e-14)
    t_ref = phase_times(ref.ts, loss_curve(X, y, ref))
    rows = []
    for name, kw in (("exact rtol 1e-6", dict(rtol=1e-6, atol=1e-9)), ("exact rtol 1e-4", dict(rtol=1e-4, atol=1e-7)),
                     ("GD lr 1e-3 (paper)", dict(solver="gd", dt=2e-3))):
        solve_relu2(X, y, W, a, T, save_ts=ts, **kw)  # warm
        tr = solve_relu2(X, y, W, a, T, save_ts=ts, **kw)
        err = np.max(np.abs(phase_times(tr.ts, loss_curve(X, y, tr)) - t_ref) / t_ref)
        rows.append((name, tr.stats.rhs_evals, tr.stats.wall_s, err, tr.stats.switching))
    print("two-point, m = 60, λ = 1e-6/√60, t = 32; phase times (loss at 90/50/10 % of its range):",
          np.round(t_ref, 4))
    gd = rows[-1]
    for name, ev, wall, err, sw in rows:
        print(f"{name:>20}: {ev:>7} evals {wall:8.3f} s  phase-time error {err:.1e}  "
              f"(GD/this: {gd[1] / ev:6.1f}× evals, {gd[2] / wall:6.1f}× wall)"
              + (f"  {sw['crossings']} crossings, {sw['slide_entries']} sliding entries" if sw else ""))


def gaussian_bench():
    sys.path.insert(0, str(HERE))
    from relu_gaussian_gd import T1, instance

    X, y, W, a = instance(0)
    gd = np.load(HERE / "relu_gaussian" / "gd.npz")
    steps = [float(s) for s in gd["steps"]]
    ref = 2 * gd[f"loss_{steps[-1]:g}"] - gd[f"loss_{steps[-2]:g}"]
    L0 = ref[0]
    ts = gd["ts"][1:]
    t0 = time.perf_counter()
    tr = solve_relu2(X, y, W, a, T1, save_ts=ts, rtol=1e-6, atol=1e-9,
                     progress=lambda t, T: print(f"  t = {t:.0f} ({time.perf_counter() - t0:.0f} s)", flush=True)
                     if abs(t / 40 - round(t / 40)) < 1e-9 else None)
    L = loss_curve(X, y, tr)
    err = np.max(np.abs(L - ref)) / L0
    print(f"gaussian n=75 d=150 m=200 init 1e-20 t=400; exact flow (rtol 1e-6): {tr.stats.rhs_evals} evals, "
          f"{tr.stats.wall_s:.0f} s (+{tr.stats.compile_s:.1f} s compile), max |L − L_ref|/L0 = {err:.2e}")
    print("  switching:", tr.stats.switching, f"steps {tr.stats.steps}, rejected {tr.stats.rejected}")
    print(f"  Richardson check (2L(5e-4) − L(1e-3) vs reference): "
          f"{np.max(np.abs(2 * gd['loss_0.0005'] - gd['loss_0.001'] - ref)) / L0:.2e}")
    for s in steps:
        e = np.max(np.abs(gd[f"loss_{s:g}"] - ref)) / L0
        print(f"  GD step {s:g}: {int(round(T1 / s))} evals, {float(gd[f'wall_{s:g}']):.0f} s, max error {e:.2e}")
    e_last = np.max(np.abs(gd[f"loss_{steps[-1]:g}"] - ref)) / L0
    need = steps[-1] * min(1.0, max(err, 1e-3) / e_last)
    print(f"  GD at first order needs step ≈ {need:.2g} ({T1 / need:.3g} evals) to reach max(error of the exact "
          f"flow, 1e-3) = {max(err, 1e-3):.1e}: {T1 / need / tr.stats.rhs_evals:.2f}× the exact flow's evals")


def many_samples_bench():
    from gflow.flows.simplicity import SimParams, problem
    from theory_checks.simplicity.theorem2 import sums

    p = SimParams()
    X, y, a, W = problem(p, p.n_samples, 0)
    T = p.t_max
    ts = np.array([100.0, T])

    def measure(tr):
        out = []
        for i in (1, 2):
            sp, sm = sums(tr.ys.a[i], tr.ys.W[i])
            out.append((np.concatenate([sp, sm]), float(loss_curve(X, y, tr)[i])))
        return out

    def err(m, ref):
        return max(max(np.linalg.norm(u[0] - v[0]) / np.linalg.norm(v[0]), abs(u[1] - v[1]) / v[1])
                   for u, v in zip(m, ref))

    ref_tr = solve_relu2(X, y, W, a, T, save_ts=ts, rtol=1e-7, atol=1e-10)
    ref = measure(ref_tr)
    print(f"many samples N = {p.n_samples}, d = {p.d}, m = {p.m}, λ = {p.lam[0]:g}, t = {T:g}; reference: exact flow "
          f"rtol 1e-7 ({ref_tr.stats.rhs_evals} evals, {ref_tr.stats.wall_s:.0f} s); error = max over t = 100, {T:g} "
          "of the relative error of the learned sums (both signs) and of the train loss")
    rows = []
    for name, kw in (("exact rtol 1e-6", dict(rtol=1e-6, atol=1e-9)),
                     *((f"GD step {dt:g}", dict(solver="gd", dt=dt)) for dt in (0.1, 0.05, 0.025, 0.0125))):
        tr = solve_relu2(X, y, W, a, T, save_ts=ts, **kw)
        rows.append((name, tr.stats.rhs_evals, tr.stats.wall_s, tr.stats.compile_s, err(measure(tr), ref),
                     tr.stats.switching))
    for name, ev, wall, comp, e, sw in rows:
        print(f"{name:>18}: {ev:>8} evals {wall:7.1f} s (+{comp:.1f} s compile)  error {e:.1e}"
              + (f"  {sw['crossings']} crossings ({sw['crossings_absorbed']} absorbed in {sw['absorbed_steps']} steps), "
                 f"{sw['slide_entries']} sliding entries" if sw else ""))


def model_f_bench():
    import dataclasses

    from gflow.models import deep_fc as F
    from gflow.models.deep_fc_exact import solve_model_f
    from gflow.flows import deep as deep
    from theory_checks.plateau import theorem1

    p = theorem1.Params(activation="relu")
    data = deep.make_data(p)
    dims = [p.d] + [p.width] * (p.r - 1) + [p.k]
    th0 = F.init_state(dims, p.delta[0], "last", seed=np.random.default_rng(np.random.SeedSequence([p.seed, 1, p.r])))
    Y = np.eye(p.k)[data.labels]

    def exact(rtol):
        return solve_model_f(th0, data.X, Y, p.t_max, margin=p.margin, rtol=rtol, atol=rtol * 1e-4,
                             save_ts=np.geomspace(1, p.t_max, 50))

    ref = exact(1e-12)
    T = ref.event_time("fit")
    sw = ref.stats.switching
    print(f"Model F, ReLU, r = {p.r}, width {p.width}, N = {p.n_samples}, δ = {p.delta[0]:g}: reference T = {T!r} "
          f"(exact, rtol 1e-12: {ref.stats.rhs_evals} evals, {sw['crossings']} crossings, {sw['slide_entries']} "
          f"sliding entries, sliding {sw['sliding_time']:.0f} of {T:.0f} time units)")
    for rtol in (1e-6, 1e-8, 1e-10):
        tr = exact(rtol)
        print(f"  exact rtol {rtol:g}: {tr.stats.rhs_evals:>7} evals {tr.stats.wall_s:6.2f} s  "
              f"T error {abs(tr.event_time('fit') - T) / T:.1e}")
    for dt in (0.1, 0.05, 0.025, 0.0125):
        t0 = time.perf_counter()
        run = deep.train(dataclasses.replace(p, solver="gd", dt=dt), p.r, p.delta[0], "last", data, check_step=False)
        print(f"  GD step {dt:<6g}: {run.stats.rhs_evals:>7} evals {time.perf_counter() - t0:6.2f} s  "
              f"T error {abs(run.T - T) / T:.1e}")


if __name__ == "__main__":
    which = sys.argv[1:] or ["two-point", "gaussian", "many-samples", "model-f"]
    if "two-point" in which:
        two_point_bench()
    if "gaussian" in which:
        gaussian_bench()
    if "many-samples" in which:
        many_samples_bench()
    if "model-f" in which:
        model_f_bench()
