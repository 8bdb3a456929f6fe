"""``simplicity.threshold`` — the optimisation threshold (2025, Figure 1).

Train and test loss at the end of training against N (log-spaced), next to the OLS-on-halves
estimator's and the noise level σ²/2, for two dimensions d. Below the threshold the network
interpolates (its training loss falls far below the OLS-on-halves loss) and its test loss is
much larger than OLS's; above it, it matches OLS. ``N*`` is the first N of the grid from which
``train/OLS-train ≥ 0.9`` for every larger N. The paper reports N* growing like d³ (Gaussian
inputs and init); this check locates N* for each d, checks that it does not decrease with d,
and reports the fitted exponent when both are located. Every point is a full training run
(gradient descent, see :mod:`._common`), run through :mod:`gflow.sweep`: stored as it
finishes, resumable, on local processes or Dask.

"At convergence" is made operational: each point trains in segments of ``t_max`` until its
training loss moves by at most ``stable_tol`` over a segment (a stall), interpolates, or drops
below ``RATIO``·OLS (it stays below: the loss only decreases), for at most ``segments``
segments; points that never stall are listed under a hypothesis the run does not meet. A stall
is not a proof of convergence: near the threshold the loss of the d = 5 runs plateaued at the
OLS value for ~10⁴ time units and then fell to 0.7·OLS (the few unaligned neurons the paper
mentions grow late), so N* depends on how long one trains.

``--refine K`` then bisects the bracket ``(N_below, N*]`` K times per d (geometric midpoints,
each a new sweep point). The default is CI-sized; ``--full`` (CLI) runs the paper-sized grid
(N up to 10⁴, m = 200, segments of t = 10⁴ up to t = 10⁵, two refinement rounds).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import numpy as np

from gflow.errors import InputError
from gflow.report import Hypothesis, Report, Row

from ._common import SimParams, ols_halves, test_set, train_final, train_loss

ID = "simplicity.threshold"
TITLE = "optimisation threshold: interpolation below N*, OLS above; N* grows with d"
RATIO = 0.9


@dataclasses.dataclass(frozen=True)
class Params(SimParams):
    dims: tuple = (3, 5)                                 # dimensions compared [--dims]
    n_grid: tuple = (10, 30, 100, 300, 1000)             # sample sizes [--n-grid]
    t_max: float = 1500.0                                # training time per segment [--t-max]
    full: bool = False                                   # paper-sized grid [--full]
    store: str | None = None                             # sweep directory (resumable) [--store]
    executor: str = "serial"                             # serial, processes or dask [--executor]
    scheduler: str | None = None                         # dask scheduler address [--scheduler]
    dask_local: int | None = None                        # a dask LocalCluster of N workers [--dask-local]
    reps: int = 1                                        # draws per point, averaged [--reps]
    batch: bool | None = None                            # vmap the draws (default: only off the CPU) [--batch]
    refine: int | None = None                            # bisection rounds on N* (default 0; 2 with --full) [--refine]
    segments: int = 4                                    # train up to this many t_max segments until stable [--segments]
    stable_tol: float = 0.01                             # stable: train loss moves ≤ this over a segment [--stable-tol]

    def validate(self) -> None:
        super().validate()
        if not self.dims or any(d < 2 for d in self.dims) or list(self.dims) != sorted(set(self.dims)):
            raise InputError(f"dims must be increasing integers ≥ 2, got {self.dims}")
        if self.executor not in ("serial", "processes", "dask"):
            raise InputError(f"executor must be serial, processes or dask, got {self.executor!r}")
        if not 1 <= self.segments <= 100:
            raise InputError(f"segments must be between 1 and 100, got {self.segments}")
        if not 0 < self.stable_tol < 1:
            raise InputError(f"stable-tol must be in (0, 1), got {self.stable_tol}")
        if self.refine is not None and not 0 <= self.refine <= 10:
            raise InputError(f"refine must be between 0 and 10 rounds, got {self.refine}")
        if self.dask_local is not None and self.dask_local < 1:
            raise InputError("dask-local must be ≥ 1")

    def resolved(self) -> "Params":
        if self.full:
            return dataclasses.replace(self, n_grid=(10, 30, 100, 300, 1000, 3000, 10000), m=200, t_max=10000.0,
                                       segments=max(self.segments, 10), full=False,
                                       refine=2 if self.refine is None else self.refine)
        return self


def point(d: int, n: int, m: int, sigma: float, dist: str, lam: float, dt: float, t_max: float, seed: int,
          reps: int = 1, batch: bool | None = None, max_segments: int = 1, stable_tol: float = 0.01) -> dict:
    """One sweep point: train on N samples in dimension d (``reps`` independent draws, averaged),
    return the losses (module level, so a process or Dask worker can import it).

    Training runs in segments of ``t_max`` until the training loss moves by at most
    ``stable_tol`` over a segment, or interpolates (below 10⁻³·σ²/2), or falls below ``RATIO``
    times the OLS-on-halves loss (below the threshold for good: the loss only decreases), for at
    most ``max_segments`` segments (:func:`._common.train_final`); ``t_trained``, ``drift`` (the
    largest relative change over the last segment) and ``stable`` (every draw settled; a point
    averaged over draws stopped below and draws above the line is not) come with the losses.

    Repetitions have the same shapes and can run as one ``jax.vmap``-ed gradient descent.
    Measured on the 2-core CPU this ranges from 1.1× faster to 2× slower than one after the
    other, depending on N (``benchmarks/RESULTS.md``), so ``batch=None`` batches only on an
    accelerator backend."""
    from gflow._config import jax

    t0 = time.perf_counter()
    jax_mod = jax()
    p = SimParams(d=d, n_samples=n, m=m, sigma=sigma, dist=dist, lam=(lam,), dt=dt, t_max=t_max, seed=seed)
    if batch is None:
        batch = jax_mod.default_backend() != "cpu"
    Xt, yt = test_set(p)
    pos = Xt @ p.beta > 0
    rows = []
    infos = []
    for X, y, a, W, info in train_final(p, n, reps, batched=batch, max_segments=max_segments, stable_tol=stable_tol,
                                        floor=1e-3 * sigma**2 / 2, below_ratio=RATIO):
        infos.append(info)
        bp, bm, ols = ols_halves(X, y, p.beta)
        rows.append((train_loss(X, y, a, W), train_loss(Xt, yt, a, W), ols,
                     0.5 * np.mean((np.where(pos, Xt @ bp, Xt @ bm) - yt) ** 2)))
    tr, te, ot, ote = (float(v) for v in np.mean(rows, axis=0))
    return {"train": tr, "test": te, "ols_train": ot, "ols_test": ote, "noise": sigma**2 / 2,
            "t_trained": max(i["t"] for i in infos), "drift": max(i["drift"] for i in infos),
            "stable": all(i["stable"] for i in infos) and not (any(i["below"] for i in infos) and tr >= RATIO * ot),
            "wall_s": time.perf_counter() - t0}


def measure(p: Params, progress=None):
    """The sweep over ``dims × n_grid``, then ``refine`` rounds that add, per d, the geometric
    midpoint of the bracket ``(N_below, N*]`` (see :func:`bracket`) and rerun the sweep (finished
    points come from the store): each round halves the bracket's log-width."""
    from gflow.sweep import run_sweep

    store = p.store or tempfile.mkdtemp(prefix="gflow-threshold-")
    cb = None if progress is None else (lambda i, n: progress(0, 1, i, max(n, 1)))
    grid = {d: sorted(p.n_grid) for d in p.dims}

    def sweep():
        points = [dict(d=d, n=n, m=p.m, sigma=p.sigma, dist=p.dist, lam=p.lam[0], dt=p.dt, t_max=p.t_max, seed=p.seed,
                       reps=p.reps, max_segments=p.segments, stable_tol=p.stable_tol,
                       **({} if p.batch is None else {"batch": p.batch}))
                  for d in p.dims for n in grid[d]]
        return run_sweep(point, points, store, executor=p.executor, workers=min(2, os.cpu_count() or 1),
                         scheduler=p.scheduler, dask_local=p.dask_local, progress=cb)

    df = sweep()
    for _ in range(p.refine or 0):
        added = False
        for d in p.dims:
            lo, hi = bracket(df[df["d"] == d])
            mid = None if lo is None else int(round(np.sqrt(lo * hi)))
            if mid is not None and lo < mid < hi:
                grid[d] = sorted(grid[d] + [mid])
                added = True
        if not added:
            break
        df = sweep()
    return df


def threshold(df_d, ratio: float = RATIO) -> int | None:
    """First N from which train/OLS-train ≥ RATIO for every larger N (None if never). A point where
    OLS on halves itself interpolates (its loss below a tenth of the noise: a half has ≤ d
    samples) is below the threshold whatever the ratio of two vanishing losses says."""
    df_d = df_d.sort_values("n")
    ok = ((df_d["train"] / df_d["ols_train"] >= ratio) & (df_d["ols_train"] > 0.1 * df_d["noise"])).to_numpy()
    for i in range(len(ok)):
        if ok[i:].all():
            return int(df_d["n"].iloc[i])
    return None


def bracket(df_d, ratio: float = RATIO) -> tuple[int | None, int | None]:
    """``(N_below, N*)``: the grid point just below the threshold and the threshold itself, so that
    the true threshold lies in ``(N_below, N*]`` (``N_below`` is None when N* is the first point)."""
    star = threshold(df_d, ratio)
    ns = sorted(int(n) for n in df_d["n"])
    if star is None:
        return None, None
    i = ns.index(star)
    return (ns[i - 1] if i else None), star


def rows(p: Params, df) -> tuple[list[Row], list[str]]:
    out, findings = [], []
    stars = {}
    for d in p.dims:
        sub = df[df["d"] == d].sort_values("n")
        real = sub[sub["ols_train"] > 0.1 * sub["noise"]]  # OLS itself does not interpolate there
        ratio = (real["train"] / real["ols_train"]).to_numpy()
        lo, hi = real.iloc[0], real.iloc[-1]
        out.append(Row(f"d{d}.interpolation", f"d = {d}: at the smallest N where OLS cannot interpolate (N = {int(lo['n'])}) "
                       "the network fits far better than OLS on halves (train/OLS ≤ 0.5)", float(ratio[0]), "≤ 0.5",
                       bool(ratio[0] <= 0.5)))
        out.append(Row(f"d{d}.ols_regime", f"d = {d}: at the largest N ({int(hi['n'])}) train ≈ OLS on halves "
                       f"(ratio ≥ {RATIO}) and test within 20 % of the noise", float(ratio[-1]), f"≥ {RATIO}",
                       bool(ratio[-1] >= RATIO and abs(hi["test"] / hi["noise"] - 1) <= 0.2)))
        stars[d] = threshold(sub)
        findings.append(f"d = {d}: N* = {stars[d]}; " + ", ".join(
            f"N={int(r.n)}: train {r.train:.3g} (OLS {r.ols_train:.3g}), test {r.test:.3g} (OLS {r.ols_test:.3g})"
            for r in sub.itertuples()))
    located = {d: s for d, s in stars.items() if s is not None}
    out.append(Row("threshold.located", "N* is located on the grid for every d", str(stars), "all located",
                   len(located) == len(stars)))
    if len(located) >= 2:
        ds = sorted(located)
        mono = all(located[a] <= located[b] for a, b in zip(ds, ds[1:]))
        out.append(Row("threshold.grows_with_d", "N* does not decrease with d", [located[d] for d in ds],
                       "non-decreasing", mono))
        if located[ds[-1]] > located[ds[0]]:
            expo = np.log(located[ds[-1]] / located[ds[0]]) / np.log(ds[-1] / ds[0])
            findings.append(f"N* grows like d^{expo:.2f} between d = {ds[0]} and {ds[-1]} on this grid (the paper: d³); "
                            "a coarse grid only brackets N*")
        span = np.log(ds[-1] / ds[0])
        intervals = {}
        for ratio in (0.8, RATIO, 0.95):  # how much the exponent depends on where the line is drawn
            lo, hi = bracket(df[df["d"] == ds[0]], ratio), bracket(df[df["d"] == ds[-1]], ratio)
            if lo[0] and hi[0]:  # both brackets closed: N*(d) ∈ (lo, hi] bounds the exponent
                intervals[ratio] = (np.log(hi[0] / lo[1]) / span, np.log(hi[1] / lo[0]) / span, lo, hi)
        if RATIO in intervals:
            e_min, e_max, lo, hi = intervals[RATIO]
            findings.append(f"the grid brackets N*(d={ds[0]}) ∈ ({lo[0]}, {lo[1]}] and N*(d={ds[-1]}) ∈ ({hi[0]}, {hi[1]}], "
                            f"so the exponent of N* ∝ d^e lies in [{e_min:.2f}, {e_max:.2f}]"
                            + (" (contains the paper's 3)" if e_min <= 3 <= e_max else " (excludes the paper's 3)"))
        if len(intervals) > 1:
            findings.append("exponent interval if N* is drawn at train/OLS ≥ " + ", ".join(
                f"{r:g}: [{v[0]:.2f}, {v[1]:.2f}]" for r, v in sorted(intervals.items())))
    return out, findings


def run(p: Params, progress=None) -> Report:
    p.validate()
    p = p.resolved()
    df = measure(p, progress)
    row_list, findings = rows(p, df)
    steps = int(np.sum(np.round(df["t_trained"] / p.dt)) * p.reps)
    wall = float(df["wall_s"].sum())
    hyps = [Hypothesis("Gaussian inputs and Gaussian (balanced) init, as in the paper's Figure 1", "gaussian", p.dist,
                       p.dist == "gaussian")]
    unstable = df[df["stable"].ne(True)].sort_values(["d", "n"])
    hyps.append(Hypothesis(
        f"losses at convergence: every point trained (in segments of t = {p.t_max:g}, at most {p.segments}) until its "
        f"train loss moved ≤ {p.stable_tol:g} (relative) over a segment, interpolated, or fell below {RATIO}·OLS "
        "for good (a stall can still be a plateau that ends later)",
        "every point", "all" if unstable.empty else "not " + ", ".join(
            f"d={int(r.d)} N={int(r.n)} (moved {r.drift:.2g} by t = {r.t_trained:g})" for r in unstable.itertuples()),
        unstable.empty))
    for d in p.dims:
        star = threshold(df[df["d"] == d])
        late = unstable[(unstable["d"] == d) & (unstable["n"] >= (star or 0))]
        if star is not None and not late.empty:
            findings.append(f"d = {d}: the train loss was still moving at N = {', '.join(str(int(n)) for n in late['n'])} "
                            f"(≥ N* = {star}) when training stopped: longer training may move N*(d={d}) up "
                            "(--segments)")
    return Report(check=ID, title=TITLE, rows=row_list, hypotheses=hyps, params=dataclasses.asdict(p),
                  solver={"name": "gd", "rtol": None, "atol": None, "dt": p.dt, "steps": steps, "rejected": 0,
                          "rhs_evals": steps, "wall_s": wall, "compile_s": None,
                          "note": "wall_s: seconds summed over the sweep's points (each includes its compilation)"},
                  phase_times={f"N*(d={d})": threshold(df[df["d"] == d]) for d in p.dims}, initial_state=None,
                  final_state=None, findings=findings, context=df, extra={"table": df.to_dict(orient="records")})


def plot(report: Report, path) -> None:
    from gflow.plotting import threshold_curves

    df = report.context
    threshold_curves(df, path, n_star={d: threshold(df[df["d"] == d]) for d in df["d"].unique()})
