"""Benchmark: the gradient-descent step that the simplicity checks run 2·10⁵ times per point.

Ways of taking ``n_steps`` steps of the Model R flow (square loss, d = 5, m = 200), each in one
``lax.fori_loop``, all in the same process, compile time excluded, ms per step (best of 3):

* ``field``: Euler steps of the general field :func:`gflow.models.relu2.cartesian_field` — the baseline;
* ``field, vmap(1)``: the same under ``jax.vmap`` over a batch of one (what an always-batched code would run);
* ``gd_step, 1 block``: :func:`gflow.models.relu2.gd_step` on all samples at once;
* ``gd_step``: the same with gflow's default blocking (:func:`gflow.models.relu2.chunk_samples`);
* 4 draws one after the other vs one ``jax.vmap``-ed solve (what ``--reps 4 [--batch]`` runs).

Run by hand: ``python benchmarks/gd_step.py``."""

from __future__ import annotations

import time

import numpy as np

from gflow._config import jax as _jax
from gflow.models import relu2 as R
from gflow.flows.simplicity import _gd


def timed(fn, *args, repeat=3):
    jax = _jax()
    jax.block_until_ready(fn(*args))  # compile
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return best


def main(d=5, m=200, n_steps=1000, reps=4):
    jax = _jax()
    jnp = jax.numpy
    field = R.cartesian_field()

    def loop(step):
        def one(a, W, X, y, dt, n):
            return jax.lax.fori_loop(0, n, lambda _, th: step(th, X, y, dt), (a, W))
        return one

    def fstep(th, X, y, dt):
        f = field(0.0, R.CartState(*th), {"X": X, "y": y, "kink": jnp.float64(0.0)})
        return th[0] + dt * f.a, th[1] + dt * f.W

    def lstep(size):
        def step(th, X, y, dt):
            XT, Y = R.chunk_samples(X, y, size)
            return R.gd_step(th[0], th[1], XT, Y, X.shape[0], dt)
        return step

    plain = jax.jit(loop(fstep))
    vm = jax.jit(jax.vmap(loop(fstep), in_axes=(0, 0, 0, 0, None, None)))
    print(f"d = {d}, m = {m}, {n_steps} steps, best of 3, ms per step")
    for n in (1000, 3000, 10000):
        rng = np.random.default_rng(0)
        X, y = jnp.asarray(rng.standard_normal((reps, n, d))), jnp.asarray(rng.standard_normal((reps, n)))
        W = jnp.asarray(1e-2 * rng.standard_normal((reps, m, d)))
        a = jnp.linalg.norm(W, axis=-1)
        one = (a[0], W[0], X[0], y[0], 0.05, n_steps)
        ms = lambda s: s / n_steps * 1e3  # noqa: E731
        base = ms(timed(plain, *one))
        vm1 = ms(timed(vm, a[:1], W[:1], X[:1], y[:1], 0.05, n_steps))
        whole = ms(timed(jax.jit(loop(lstep(n))), *one))
        lean = ms(timed(_gd(False), *one))
        seq = ms(sum(timed(_gd(False), a[i], W[i], X[i], y[i], 0.05, n_steps, repeat=1) for i in range(reps)))
        bat = ms(timed(_gd(True), a, W, X, y, 0.05, n_steps, repeat=1))
        print(f"N = {n:>5}: field {base:6.3f} | field, vmap(1) {vm1:6.3f} ({base / vm1:.2f}×) | "
              f"gd_step, 1 block {whole:6.3f} ({base / whole:.2f}×) | gd_step {lean:6.3f} ({base / lean:.2f}×) | "
              f"{reps} draws: sequential {seq:6.3f}, vmapped {bat:6.3f} ({seq / bat:.2f}×)")


if __name__ == "__main__":
    main()
