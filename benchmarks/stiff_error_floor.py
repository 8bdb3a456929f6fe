"""Why implicit solvers stall on Model H's plateau at small δ (a lead for the stiff-plateau issue).

Model H, k = 4, r = 4, σ = 0 (the exact k-point reduction), solved to 2·log(1/δ)/δ^(r−2) with
diffrax's Kvaerno5 (rtol 1e−8) at two absolute tolerances, plus the float64 rounding error of
ḃ at the initial state against a 50-digit mpmath evaluation. ḃ_i = 1 − Σ_m u_i(e_m) is an
O(δ^r) difference of O(1) softmax terms, so float64 leaves an absolute error of ~1e−16 in it;
an error norm with atol below ~h·1e−16 then rejects steps longer than atol/1e−16.

Run: python benchmarks/stiff_error_floor.py   (about a minute on 2 cores)
"""

import time

import diffrax as dfx
import mpmath as mp
import numpy as np

from gflow._config import jax as _jax
from gflow.data.classes import class_dataset
from gflow.models import homogeneous as H

jax = _jax()
jnp = jax.numpy
R, K = 4, 4
DATA = class_dataset(K, K, 10 * K, 0.0)
ARGS = DATA.args()
FIELD = H.vector_field(R)
G = np.abs(np.random.default_rng(np.random.SeedSequence([0, 1])).standard_normal((K, K)))


def solve(delta, atol, rtol=1e-8, max_steps=200_000):
    y0 = H.HState(W=jnp.asarray(delta * G), b=jnp.zeros(K))
    t1 = 2 * np.log(1 / delta) / delta ** (R - 2)
    t = time.perf_counter()
    sol = dfx.diffeqsolve(dfx.ODETerm(FIELD), dfx.Kvaerno5(), 0.0, t1, None, y0, ARGS,
                          stepsize_controller=dfx.PIDController(rtol=rtol, atol=atol), max_steps=max_steps,
                          throw=False, saveat=dfx.SaveAt(t1=True))
    ok = sol.result == dfx.RESULTS.successful
    return int(sol.stats["num_accepted_steps"]), int(sol.stats["num_rejected_steps"]), bool(ok), time.perf_counter() - t


def bdot_rounding(delta):
    """max |ḃ_float64 − ḃ_exact| at W = δ·G, b = 0 (exact: mpmath, 50 digits)."""
    mp.mp.dps = 50
    W = delta * G
    exact = []
    for i in range(K):
        s = mp.mpf(0)
        for m in range(K):
            f = [mp.mpf(float(W[j, m])) ** R for j in range(K)]
            s += (1 if m == i else 0) - mp.e ** f[i] / sum(mp.e ** v for v in f)
        exact.append(float(s))
    got = np.asarray(FIELD(0.0, H.HState(W=jnp.asarray(W), b=jnp.zeros(K)), ARGS).b)
    return float(np.abs(got - np.array(exact)).max()), float(np.abs(exact).max())


if __name__ == "__main__":
    print("delta   |bdot|      float64 error of bdot")
    for delta in (1e-2, 1e-3, 1e-4):
        err, size = bdot_rounding(delta)
        print(f"{delta:<7g} {size:.3e}   {err:.1e}")
    print("\nKvaerno5, rtol 1e-8: accepted / rejected steps (finished?) and wall time")
    for delta in (1e-1, 1e-2, 1e-3, 1e-4):
        row = [f"{delta:<7g}"]
        for atol in (1e-14, 1e-12):
            acc, rej, ok, wall = solve(delta, atol)
            row.append(f"atol {atol:g}: {acc} / {rej} ({'yes' if ok else 'NO'}) {wall:.1f} s")
        print("   ".join(row))
