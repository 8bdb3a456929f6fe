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

Run by hand: python benchmarks/relu_exact.py [two-point|gaussian]
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


if __name__ == "__main__":
    which = sys.argv[1:] or ["two-point", "gaussian"]
    if "two-point" in which:
        two_point_bench()
    if "gaussian" in which:
        gaussian_bench()
