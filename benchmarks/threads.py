"""Benchmark: XLA CPU thread settings on a small implicit solve (Kvaerno5 on Model H).

MEASURED.md saw identical warm Kvaerno5 calls take 3 s to 70 s with XLA's multi-threaded
Eigen pool on 2 cores; gflow therefore turns it off by default (``gflow._config``).
This script runs the same solve in fresh processes with gflow's setting and with XLA's
default (``GFLOW_XLA_THREADS=1``), several warm repeats each, and prints the spread.

Run by hand: python benchmarks/threads.py [repeats]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
from gflow import solve
from gflow._config import jax; jax()
from gflow.data.classes import class_dataset
from gflow.models import homogeneous as H
data = class_dataset(4, 50, 200, 0.1, seed=0)
y0 = H.init_state(4, 50, 0.1, seed=1)
walls = []
for _ in range(int(sys.argv[1]) + 1):
    tr = solve(H.vector_field(4), y0, 300.0, data.args(), solver=sys.argv[2], rtol=1e-6, atol=1e-9)
    walls.append(tr.stats.wall_s)
print(json.dumps({"walls": walls[1:], "evals": tr.stats.rhs_evals, "steps": tr.stats.steps}))
"""


def measure(env_extra, repeats, solver):
    env = dict(os.environ, **env_extra)
    out = subprocess.run([sys.executable, "-c", CHILD, str(repeats), solver], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"{'solver':>9} {'setting':>28} | {'min s':>8} {'median s':>9} {'max s':>8} | evals")
    for solver in ("kvaerno5", "tsit5"):
        base = None
        for label, env in (("gflow default (1 thread)", {}), ("XLA default (Eigen pool)", {"GFLOW_XLA_THREADS": "1"})):
            r = measure(env, repeats, solver)
            w = sorted(r["walls"])
            med = w[len(w) // 2]
            base = base or med
            print(f"{solver:>9} {label:>28} | {w[0]:>8.4f} {med:>9.4f} {w[-1]:>8.4f} | {r['evals']}  "
                  f"(median / gflow default: {med / base:.1f}×)")


if __name__ == "__main__":
    main()
