"""Benchmark: the gradient-descent step that the simplicity checks run 2·10⁵ times per point.

Three ways of taking ``n_steps`` steps of the Model R flow (square loss, d = 5, m = 200), all in
one ``lax.fori_loop`` in the same process, compile time excluded:

* ``field``: Euler steps of the general field :func:`gflow.models.relu2.cartesian_field` (κ traced,
  so the (n, m) kink scale is formed every step) — the baseline;
* ``gd_step``: :func:`gflow.models.relu2.gd_step` (κ = 0, transposed inputs, shared mask);
* per draw, ``reps`` draws one after the other (unbatched) vs one ``jax.vmap``-ed solve.

Run by hand: ``python benchmarks/gd_step.py``."""

from __future__ import annotations

import time

import numpy as np

from gflow._config import jax as _jax
from gflow.models import relu2 as R
from theory_checks.simplicity._common import _gd


def timed(fn, *args, repeat=3):
    jax = _jax()
    jax.block_until_ready(fn(*args))  # compile
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best


def main(d=5, m=200, n_steps=400, reps=4):
    jax = _jax()
    jnp = jax.numpy
    field = R.cartesian_field()

    @jax.jit
    def euler(a, W, X, y, dt, n):
        args = {"X": X, "y": y, "kink": jnp.float64(0.0)}

        def step(_, th):
            f = field(0.0, R.CartState(*th), args)
            return th[0] + dt * f.a, th[1] + dt * f.W

        return jax.lax.fori_loop(0, n, step, (a, W))

    print(f"d = {d}, m = {m}, {n_steps} steps, best of 3, ms per step")
    for n in (1000, 3000, 10000):
        rng = np.random.default_rng(0)
        X, y = jnp.asarray(rng.standard_normal((reps, n, d))), jnp.asarray(rng.standard_normal((reps, n)))
        W = jnp.asarray(1e-2 * rng.standard_normal((reps, m, d)))
        a = jnp.linalg.norm(W, axis=-1)
        base = timed(euler, a[0], W[0], X[0], y[0], 0.05, n_steps) / n_steps * 1e3
        lean = timed(_gd(False), a[0], W[0], X[0], y[0], 0.05, n_steps) / n_steps * 1e3
        seq = sum(timed(_gd(False), a[i], W[i], X[i], y[i], 0.05, n_steps, repeat=1) for i in range(reps))
        bat = timed(_gd(True), a, W, X, y, 0.05, n_steps, repeat=1)
        print(f"N = {n:>5}: field {base:6.3f}  gd_step {lean:6.3f}  ({base / lean:.2f}× faster) | "
              f"{reps} draws: sequential {seq / n_steps * 1e3:6.3f}, vmapped {bat / n_steps * 1e3:6.3f} "
              f"({seq / bat:.2f}× the sequential speed)")


if __name__ == "__main__":
    main()
