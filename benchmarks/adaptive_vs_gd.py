"""Benchmark: the default adaptive solver vs the papers' fixed-step gradient descent on Model H.

For each (r, δ): a reference trajectory (Dopri8, rtol 1e−12) gives the phase times (every
located event); Tsit5 at rtol 1e−6 is timed; gradient descent's step is halved from
h = 1 until every phase time is within 1 % of the reference. Printed: vector-field
evaluations and warm wall time, as ratios GD / Tsit5, measured in this process.
Also: cold and warm wall time of `gflow check theorem2` (fresh processes; the cold run
uses an empty compilation cache).

Run by hand: python benchmarks/adaptive_vs_gd.py
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
from theory_checks.plateau._flow import FlowParams, events_for, initial_gaussian

_jax()


def phase_error(traj, ref):
    names = [n for n in ref.events if ref.events[n].t > 0]
    errs = [abs(traj.event_time(n) - ref.event_time(n)) / ref.event_time(n) if traj.event_time(n) else np.inf
            for n in names]
    return max(errs)


def one(r, delta, k=4, d=50, n=200, sigma=0.1):
    import jax.numpy as jnp

    p = FlowParams(k=k, r=r, d=d, n_samples=n, sigma=sigma)
    data = class_dataset(k, d, n, sigma, seed=0)
    y0 = H.init_state(k, d, delta, gaussian=initial_gaussian(p))
    order = np.argsort(-np.diag(y0.W[:, :k]))
    args = dict(data.args(), mu0=jnp.float64(0.5), mu1=jnp.float64(1.0), mu2=jnp.float64(0.1),
                mu3=jnp.float64(0.5), margin=jnp.float64(1.0), gap=jnp.float64(0.5), last=jnp.int32(order[-1]))
    evs = events_for(k, r)
    # horizon: just past T (every event of interest has happened)
    probe = solve(H.vector_field(r), y0, 8.0 * delta ** -(r - 2), args, solver="dopri8", rtol=1e-12,
                  atol=1e-14, events=evs)
    t1 = 1.02 * probe.event_time("T")
    ref = solve(H.vector_field(r), y0, t1, args, solver="dopri8", rtol=1e-12, atol=1e-14, events=evs)
    ad = solve(H.vector_field(r), y0, t1, args, solver="tsit5", rtol=1e-6, atol=1e-9, events=evs)
    ad = solve(H.vector_field(r), y0, t1, args, solver="tsit5", rtol=1e-6, atol=1e-9, events=evs)  # warm
    h = 1.0
    while True:
        try:
            gd = solve(H.vector_field(r), y0, t1, args, solver="gd", dt=h, events=evs, max_steps=50_000_000)
            if phase_error(gd, ref) <= 0.01:
                break
        except SolverError:  # unstable step: NaN/inf
            pass
        h /= 2
    gd = solve(H.vector_field(r), y0, t1, args, solver="gd", dt=h, events=evs, max_steps=50_000_000)  # warm
    return dict(r=r, delta=delta, err_ad=phase_error(ad, ref), evals_ad=ad.stats.rhs_evals, wall_ad=ad.stats.wall_s,
                h=h, err_gd=phase_error(gd, ref), evals_gd=gd.stats.rhs_evals, wall_gd=gd.stats.wall_s)


def cli_times():
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        env["GFLOW_CACHE_DIR"] = cache
        out = []
        for label in ("cold (empty compile cache)", "warm (persistent cache)"):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "gflow.cli", "check", "theorem2", "--quiet"], env=env, check=True,
                           capture_output=True)
            out.append((label, time.perf_counter() - t))
    return out


def main():
    rows = [one(r, d) for r in (3, 4) for d in (0.2, 0.1, 0.05)]
    print("Model H (k=4, d=50, N=200, σ=0.1): Tsit5 rtol 1e-6 vs gradient descent at ≤ 1 % phase-time error")
    print(f"{'r':>2} {'δ':>5} | {'Tsit5 evals':>11} {'err':>8} {'wall s':>8} | {'GD h':>8} {'GD steps':>10} {'err':>8} "
          f"{'wall s':>8} | {'evals GD/Tsit5':>14} {'wall GD/Tsit5':>13}")
    for x in rows:
        print(f"{x['r']:>2} {x['delta']:>5} | {x['evals_ad']:>11} {x['err_ad']:>8.1e} {x['wall_ad']:>8.4f} | "
              f"{x['h']:>8.4g} {x['evals_gd']:>10} {x['err_gd']:>8.1e} {x['wall_gd']:>8.4f} | "
              f"{x['evals_gd'] / x['evals_ad']:>14.1f} {x['wall_gd'] / x['wall_ad']:>13.1f}")
    for label, secs in cli_times():
        print(f"gflow check theorem2, {label}: {secs:.1f} s")


if __name__ == "__main__":
    main()
