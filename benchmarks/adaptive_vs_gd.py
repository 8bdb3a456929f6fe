"""Benchmark: the default adaptive solver (Tsit5) vs the papers' fixed-step gradient descent on Model H.

For each (r, δ) a reference (Dopri8, rtol 1e−12) locates every phase event of the
theorem2 flow (t_i, s_i, learned, T). For each accuracy target ε the *cheapest* run of
each method whose worst relative phase-time error is ≤ ε is found:

* Tsit5: rtol = 1e−2, 1e−3, … (atol = 1e−3·rtol) until the error is ≤ ε;
* gradient descent: h = 1, 1/2, 1/4, … until the error is ≤ ε (GD's event times are
  interpolated linearly between iterates, which flatters GD: reading iteration counts
  would be coarser).

Printed: vector-field evaluations and warm wall time of both, as ratios GD / Tsit5 in this
process; then the cold and warm wall time of `gflow check theorem2` (fresh processes,
the cold one with an empty compilation cache).

Run by hand: python benchmarks/adaptive_vs_gd.py [--quick]

``--stiff``: the stiff regime (r = 4, σ = 0, δ = 1e−2 and 1e−3 or the list in ``STIFF_DELTAS``, theorem2's set-up integrated on the k × k block
that moves), Kvaerno5 (evaluations counted) and Tsit5 in the coordinates V = W^−(r−2) (as gflow solves it)
against gradient descent in W at ε = 1e−2; the reference is Tsit5 at rtol 1e−12 in W with the general field.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from gflow import SolverError, solve
from gflow._config import jax as _jax
from gflow.data.classes import class_dataset
from gflow.models import homogeneous as H
from gflow.flows.plateau import FlowParams, events_for, initial_gaussian

_jax()


def phase_error(traj, ref) -> float:
    """Worst relative error over every event the reference located (t > 0)."""
    errs = []
    for name, occ in ref.events.items():
        if occ.t > 0:
            t = traj.event_time(name)
            errs.append(np.inf if t is None else abs(t - occ.t) / occ.t)
    return max(errs)


def problem(r, delta, k=4, d=50, n=200, sigma=0.1):
    """The MEASURED.md setting: k = 4, d = 50, N = 200, σ = 0.1, W(0) = δ·|G| (one G)."""
    import jax.numpy as jnp

    p = FlowParams(k=k, r=r, d=d, n_samples=n, sigma=sigma)
    data = class_dataset(k, d, n, sigma, seed=0)
    y0 = H.init_state(k, d, delta, gaussian=initial_gaussian(p))
    order = np.argsort(-np.diag(y0.W[:, :k]))
    args = dict(data.args(), mu0=jnp.float64(0.5), mu1=jnp.float64(1.0), mu2=jnp.float64(0.1),
                mu3=jnp.float64(0.5), margin=jnp.float64(1.0), gap=jnp.float64(0.5), last=jnp.int32(order[-1]))
    field, evs = H.vector_field(r), events_for(k, r)
    probe = solve(field, y0, 8.0 * delta ** -(r - 2), args, solver="dopri8", rtol=1e-12, atol=1e-14, events=evs)
    t1 = 1.02 * probe.event_time("T")  # just past T: every event of interest has happened
    ref = solve(field, y0, t1, args, solver="dopri8", rtol=1e-12, atol=1e-14, events=evs)
    return field, y0, args, evs, t1, ref


def cheapest_tsit5(field, y0, args, evs, t1, ref, eps):
    for rtol in 10.0 ** -np.arange(2, 13):
        tr = solve(field, y0, t1, args, solver="tsit5", rtol=rtol, atol=1e-3 * rtol, events=evs,
                   max_steps=50_000_000)
        err = phase_error(tr, ref)
        if err <= eps:
            tr = solve(field, y0, t1, args, solver="tsit5", rtol=rtol, atol=1e-3 * rtol, events=evs,
                       max_steps=50_000_000)  # warm
            return dict(knob=rtol, err=err, evals=tr.stats.rhs_evals, wall=tr.stats.wall_s)
    raise RuntimeError("Tsit5 did not reach the target")


def problem_reduced(r, delta, k=4):
    """theorem2's defaults at σ = 0 on the k × k block of W that moves, in W (gradient descent, the reference)
    and in the coordinates V = W^−(r−2) with ḃ free of cancellation (the adaptive solvers, as
    gflow.flows.plateau solves it). Returns ``(W problem, V problem, t1, reference)``, a problem being
    ``(field, y0, args, events)``; the reference is Tsit5 at rtol 1e−12 in W with the general field."""
    import jax.numpy as jnp

    p = FlowParams(k=k, r=r)
    data = class_dataset(k, p.d, p.n_samples, 0.0, seed=0)
    G = initial_gaussian(p)[:, :k]
    y0 = H.HState(W=delta * np.abs(G), b=np.zeros(k))
    order = np.argsort(-np.diag(y0.W))
    args = dict(data.args(), mu0=jnp.float64(0.5), mu1=jnp.float64(1.0), mu2=jnp.float64(0.1),
                mu3=jnp.float64(0.5), margin=jnp.float64(1.0), gap=jnp.float64(0.5), last=jnp.int32(order[-1]))
    args["X"] = args["X"][:, :k]
    in_W = (H.vector_field(r), y0, args, events_for(k, r))
    in_V = (H.reduced_power_field(r), H.HState(W=H.to_power_coords(y0.W, r), b=y0.b), args, events_for(k, r, True))
    kw = dict(solver="tsit5", rtol=1e-12, atol=1e-15, events=in_W[3], max_steps=50_000_000)
    probe = solve(in_W[0], y0, 8.0 * delta ** -(r - 2), args, **kw)
    t1 = 1.02 * probe.event_time("T")
    return in_W, in_V, t1, solve(in_W[0], y0, t1, args, **kw)


def cheapest_implicit(field, y0, args, evs, t1, ref, eps, solver="kvaerno5"):
    for rtol in 10.0 ** -np.arange(2, 13):
        kw = dict(solver=solver, rtol=rtol, atol=1e-3 * rtol, events=evs, max_steps=2_000_000)
        try:
            tr = solve(field, y0, t1, args, **kw)
        except SolverError:
            continue
        err = phase_error(tr, ref)
        if err <= eps:
            warm = solve(field, y0, t1, args, **kw)                      # uncounted: the solve's own time
            counted = solve(field, y0, t1, args, count_evals=True, **kw)
            return dict(knob=rtol, err=err, evals=counted.stats.rhs_evals, wall=warm.stats.wall_s,
                        steps=warm.stats.steps)
    raise RuntimeError(f"{solver} did not reach the target")


def stiff_main():
    print("Model H stiff regime (k=4, r=4, σ=0, the k × k block), cheapest run with every phase time "
          "within ε = 1e-2; Kvaerno5 and Tsit5 in V = W^-(r-2), GD in W")
    print(f"{'δ':>6} | {'Kvaerno5 rtol':>13} {'evals':>8} {'wall s':>7} | {'Tsit5 rtol':>10} {'evals':>9} "
          f"{'wall s':>7} | {'GD h':>6} {'evals':>10} {'wall s':>7} | {'GD/Kv evals':>11} {'GD/Tsit5':>8}")
    for delta in [float(x) for x in os.environ.get("STIFF_DELTAS", "1e-2,1e-3").split(",")]:
        in_W, in_V, t1, ref = problem_reduced(4, delta)
        kv = cheapest_implicit(*in_V[:3], in_V[3], t1, ref, 1e-2)
        try:
            ts = cheapest_tsit5(*in_V[:3], in_V[3], t1, ref, 1e-2)
        except (RuntimeError, SolverError):   # stability-limited: beyond max_steps
            ts = dict(knob=float("nan"), evals=float("nan"), wall=float("nan"))
        g = cheapest_gd(*in_W[:3], in_W[3], t1, ref, 1e-2, 2.0)
        print(f"{delta:>6g} | {kv['knob']:>13.0e} {kv['evals']:>8} {kv['wall']:>7.3f} | {ts['knob']:>10.0e} "
              f"{ts['evals']:>9} {ts['wall']:>7.3f} | {g['knob']:>6.3g} {g['evals']:>10} {g['wall']:>7.2f} | "
              f"{g['evals'] / kv['evals']:>11.1f} {g['evals'] / ts['evals']:>8.1f}", flush=True)


def cheapest_gd(field, y0, args, evs, t1, ref, eps, h0=1.0):
    h = h0
    while h > 1e-7:
        try:
            tr = solve(field, y0, t1, args, solver="gd", dt=h, events=evs, max_steps=50_000_000)
            err = phase_error(tr, ref)
            if err <= eps:
                tr = solve(field, y0, t1, args, solver="gd", dt=h, events=evs, max_steps=50_000_000)  # warm
                return dict(knob=h, err=err, evals=tr.stats.rhs_evals, wall=tr.stats.wall_s)
        except SolverError:  # unstable step (NaN/inf): smaller step
            pass
        h /= 2
    raise RuntimeError("GD did not reach the target")


def cli_times():
    env = dict(os.environ)
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env["GFLOW_CACHE_DIR"] = cache
        for label in ("cold (empty compile cache)", "warm (persistent cache)"):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gflow_cli", "check", "theorem2", "--quiet"], env=env, check=True,
                           capture_output=True)
            out.append((label, time.perf_counter() - t))
    return out


def main():
    if "--stiff" in sys.argv:
        return stiff_main()
    quick = "--quick" in sys.argv
    cases = [(4, 0.05)] if quick else [(3, 0.2), (3, 0.1), (3, 0.05), (3, 0.02), (4, 0.2), (4, 0.1), (4, 0.05), (4, 0.02)]
    targets = (1e-2, 1e-4)
    print("Model H (k=4, d=50, N=200, σ=0.1), cheapest run of each method with every phase time within ε")
    print(f"{'r':>2} {'δ':>5} {'ε':>6} | {'Tsit5 rtol':>10} {'evals':>7} {'wall s':>8} | {'GD h':>9} {'steps':>9} "
          f"{'wall s':>8} | {'evals GD/Tsit5':>14} {'wall GD/Tsit5':>13}")
    for r, delta in cases:
        field, y0, args, evs, t1, ref = problem(r, delta)
        h0 = 1.0
        for eps in targets:
            a = cheapest_tsit5(field, y0, args, evs, t1, ref, eps)
            g = cheapest_gd(field, y0, args, evs, t1, ref, eps, h0)
            h0 = g["knob"]
            print(f"{r:>2} {delta:>5} {eps:>6.0e} | {a['knob']:>10.0e} {a['evals']:>7} {a['wall']:>8.4f} | "
                  f"{g['knob']:>9.3g} {g['evals']:>9} {g['wall']:>8.4f} | {g['evals'] / a['evals']:>14.1f} "
                  f"{g['wall'] / a['wall']:>13.1f}", flush=True)
    for label, secs in cli_times():
        print(f"gflow check theorem2, {label}: {secs:.1f} s")


if __name__ == "__main__":
    main()
