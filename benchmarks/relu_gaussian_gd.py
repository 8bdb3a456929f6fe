"""Gradient-descent reference for issue 10's Gaussian n < d example (n = 75, d = 150, 6-neuron
teacher, m = 200, balanced init 1e−20, t = 400): GD in Cartesian coordinates at steps
2e−3, 1e−3, 5e−4, 2.5e−4, loss saved every 0.1 time units, stored in
``benchmarks/relu_gaussian/gd.npz`` (the step → 0 extrapolation is computed by
``relu_gaussian.py``). Slow (~25 min on 2 cores); run by hand:
python benchmarks/relu_gaussian_gd.py [--seed S] [--steps 5e-4,2.5e-4] [--out F]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gflow._config import jax as _jax
from gflow.data.teacher import relu_teacher
from gflow.models import relu2 as R

N, D, M, K, INIT, T1 = 75, 150, 200, 6, 1e-20, 400.0
SAVE_EVERY = 0.1
STEPS = (2e-3, 1e-3, 5e-4, 2.5e-4)


def instance(seed: int = 0):
    """Data ``(X, y)`` and balanced init ``(W, a)`` of the example (seed 0: the benchmark's)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 10]))
    X, y = relu_teacher(N, D, K, seed=rng)
    g = rng.standard_normal((M, D))
    s = rng.choice([-1.0, 1.0], size=M)
    W = INIT * g
    return X, y, W, s * np.linalg.norm(W, axis=1)


def gd_losses(X, y, W, a, dt):
    jax = _jax()
    jnp = jax.numpy
    per = int(round(SAVE_EVERY / dt))
    XT, Y = R.chunk_samples(jnp.asarray(X), jnp.asarray(y))

    @jax.jit
    def block(th):
        return jax.lax.fori_loop(0, per, lambda _, t: R.gd_step(t[0], t[1], XT, Y, X.shape[0], dt), th)

    th = (jnp.asarray(a), jnp.asarray(W))
    out = [R.loss_cart(R.CartState(th[0], th[1]), X, y)]
    for _ in range(int(round(T1 / SAVE_EVERY))):
        th = block(th)
        out.append(R.loss_cart(R.CartState(th[0], th[1]), X, y))
    return np.asarray(out, float), th


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "relu_gaussian" / "gd.npz"))
    ap.add_argument("--steps", default=",".join(f"{s:g}" for s in STEPS),
                    help="GD steps, comma-separated (the two smallest give the step → 0 extrapolation)")
    opts = ap.parse_args()
    steps = sorted((float(s) for s in opts.steps.split(",")), reverse=True)
    X, y, W, a = instance(opts.seed)
    res = {"ts": np.arange(int(round(T1 / SAVE_EVERY)) + 1) * SAVE_EVERY, "steps": np.asarray(steps)}
    for dt in steps:
        t0 = time.perf_counter()
        loss, th = gd_losses(X, y, W, a, dt)
        res[f"loss_{dt:g}"] = loss
        res[f"wall_{dt:g}"] = time.perf_counter() - t0
        print(f"GD step {dt:g}: {int(round(T1 / dt))} steps, {res[f'wall_{dt:g}']:.1f} s, final loss {loss[-1]:.3e}",
              flush=True)
        np.savez(opts.out, **res)


if __name__ == "__main__":
    main()
