"""``simplicity.threshold`` — the optimisation threshold (2025, Figure 1).

Train and test loss at the end of training against N (log-spaced), next to the OLS-on-halves
estimator's and the noise level σ²/2, for several dimensions d. The paper's threshold N* is
where the trained network **stops interpolating**: here, the first N of the grid from which
the training loss stays above ``interp_tol``·σ²/2 for every larger N (the tolerance is stated
and an option; with several draws a point interpolates when its median draw does). "Matches OLS on halves" (train/OLS-train ≥ 0.9 and test within 20 % of the
noise) is a separate row, at the largest N: where the loss first comes close to OLS depends
on training time, m and λ (late-growing unaligned neurons), so it does not define N*. The
paper reports N* growing like d³ (Gaussian inputs and init); this check brackets N* on the
grid for each d, checks that it does not decrease with d, and reports the exponent of
N* ∝ d^e with an interval: from the brackets, and with ``reps`` ≥ 2 from the spread over
independent draws (each draw's own N*). Every point is a full training run (see
:mod:`gflow.flows.simplicity`), run through :mod:`gflow.sweep`: stored as it finishes, resumable, on local
processes or Dask.

Solver: gradient descent at ``--dt`` by default here, with the two points around each N* rerun
at dt/2. ``--solver exact`` trains every point on the exact Filippov flow and reruns the points
around each N* with the paper's gradient descent: a two-integrator hypothesis and the Appendix
A.2 finding (is non-interpolation above N* a step-size effect?) below and above N*. It is not the
default because it is slow on this sweep: measured 3 min 12 s for d = 3, 5 and N = 10 … 300 on
2 cores (the sweep's small-N points train to interpolation through long sliding phases), against
~36 s for the GD default on N = 10 … 1000. The exact flow is the default of ``simplicity.theorem2``.

"At convergence" is made operational: each point trains in segments of ``t_max`` until its
training loss moves by at most ``stable_tol`` over a segment (a stall) or interpolates, for at
most ``segments`` segments; points that never stall are listed under a hypothesis the run does
not meet. A stall is not a proof of convergence: a loss that plateaus and later falls towards
interpolation moves N* up.

``--refine K`` then bisects the bracket ``(N_below, N*]`` K times per d (geometric midpoints,
each a new sweep point). The default is CI-sized (d = 3, 5; one draw); ``--full`` (CLI) runs a
paper-sized grid (d = 3, 4, 5, 6 — at d = 2 the network already stops interpolating below N = 10, so
its bracket would stay open; N up to 10⁴; m = 200; 3 draws per point; segments of
t = 10⁴ up to t = 10⁵; two refinement rounds) — several hours on 2 cores, meant for a cluster
(``--scheduler``) or an accelerator.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import numpy as np

from gflow.errors import InputError
from gflow.flows.simplicity import SimParams, ols_halves, test_set, train_final, train_loss
from gflow.params import param, redefault
from gflow.report import Hypothesis, Report, Row


ID = "simplicity.threshold"
TITLE = "optimisation threshold: interpolation below N*, OLS above; N* grows with d"
RATIO = 0.9          # "matches OLS on halves": train/OLS-train ≥ RATIO
STEP_TOL = 0.05      # GD accuracy: relative change of a point's loss when the step is halved


@dataclasses.dataclass(frozen=True)
class Params(SimParams):
    unused = ("d", "n_samples")
    dims: tuple = param((3, 5), "dimensions d compared, comma-separated", ge=2, le=10**4, increasing=True)
    solver: str = redefault(SimParams, "solver", "gd")            # see the module docstring
    n_grid: tuple = redefault(SimParams, "n_grid", (10, 30, 100, 300, 1000))
    t_max: float = param(1500.0, "training time per segment", gt=0, le=1e9)
    full: bool = param(False, "the paper-sized run (dims 3–6, N to 10⁴, m = 200, t-max 10⁴)")
    store: str | None = param(None, "sweep directory: finished points are kept there and a rerun resumes",
                              kind=str, none="none")
    executor: str | None = param(None, "where the points run", none="serial, or dask with --scheduler or --dask-local",
                                 kind=str, choices=("serial", "processes", "dask"))
    scheduler: str | None = param(None, "dask scheduler ADDRESS (host:port) to run the sweep on a cluster", kind=str,
                                  none="none")
    dask_local: int | None = param(None, "run the sweep on a dask LocalCluster of N workers", kind=int, ge=1, le=256,
                                   none="off")
    reps: int = redefault(SimParams, "reps", 1)
    batch: bool | None = param(None, "run the --reps draws of a point as one vmapped solve (default: only off the CPU)",
                               kind=bool)
    refine: int | None = param(None, "bisection rounds that narrow N*", kind=int, none="0; 2 with --full",
                               ge=0, le=10)
    segments: int = param(4, "train up to this many t-max segments, until the loss is stable", ge=1, le=100)
    stable_tol: float = param(0.01, "stable: the train loss moves at most this (relative) over a segment", gt=0, lt=1)
    interp_tol: float = param(1e-3, "the network interpolates when its train loss ≤ this·σ²/2 (defines N*)",
                              gt=0, lt=1)

    def validate(self) -> None:
        super().validate()
        if self.executor not in (None, "dask") and (self.scheduler or self.dask_local):
            raise InputError(f"--scheduler and --dask-local run on dask; they conflict with --executor {self.executor}")
        if self.scheduler and self.dask_local:
            raise InputError("--scheduler and --dask-local conflict: give one")
        if self.store is not None:
            from gflow._io import check_dir

            check_dir(self.store, "--store directory")

    def resolved(self) -> "Params":
        if self.full:
            return dataclasses.replace(self, dims=(3, 4, 5, 6), n_grid=(10, 30, 100, 300, 1000, 3000, 10000), m=200,
                                       t_max=10000.0, segments=max(self.segments, 10), full=False,
                                       reps=max(self.reps, 3), refine=2 if self.refine is None else self.refine)
        return self


def point(d: int, n: int, m: int, sigma: float, dist: str, lam: float, dt: float, t_max: float, seed: int,
          reps: int = 1, batch: bool | None = None, max_segments: int = 1, stable_tol: float = 0.01,
          interp_tol: float = 1e-3, solver: str = "gd", rtol: float = 1e-6) -> dict:
    """One sweep point: train on N samples in dimension d (``reps`` independent draws, averaged),
    return the losses (module level, so a process or Dask worker can import it).

    Training runs in segments of ``t_max`` until the training loss moves by at most
    ``stable_tol`` over a segment, or interpolates (below ``interp_tol``·σ²/2), for at most
    ``max_segments`` segments (:func:`gflow.flows.simplicity.train_final`); ``t_trained``, ``drift`` (the
    largest relative change over the last segment) and ``stable`` (every draw settled) come with
    the losses, and ``train_draws`` holds each draw's own training loss.

    Repetitions have the same shapes and can run as one ``jax.vmap``-ed gradient descent.
    Measured on the 2-core CPU this ranges from 1.1× faster to 2× slower than one after the
    other, depending on N (``benchmarks/RESULTS.md``), so ``batch=None`` batches only on an
    accelerator backend."""
    from gflow._config import jax

    t0 = time.perf_counter()
    jax_mod = jax()
    p = SimParams(d=d, n_samples=n, m=m, sigma=sigma, dist=dist, lam=lam, dt=dt, t_max=t_max, seed=seed,
                  solver=solver, rtol=rtol)
    if batch is None:
        batch = jax_mod.default_backend() != "cpu"
    Xt, yt = test_set(p)
    pos = Xt @ p.beta > 0
    rows = []
    infos = []
    for X, y, a, W, info in train_final(p, n, reps, batched=batch, max_segments=max_segments, stable_tol=stable_tol,
                                        floor=interp_tol * sigma**2 / 2, solver=solver):
        infos.append(info)
        bp, bm, ols = ols_halves(X, y, p.beta)
        rows.append((train_loss(X, y, a, W), train_loss(Xt, yt, a, W), ols,
                     0.5 * np.mean((np.where(pos, Xt @ bp, Xt @ bm) - yt) ** 2)))
    tr, te, ot, ote = (float(v) for v in np.mean(rows, axis=0))
    return {"train": tr, "test": te, "ols_train": ot, "ols_test": ote, "noise": sigma**2 / 2,
            "train_draws": [float(r[0]) for r in rows],
            "t_trained": max(i["t"] for i in infos), "drift": max(i["drift"] for i in infos),
            "stable": all(i["stable"] for i in infos), "evals": int(sum(i["evals"] for i in infos)),
            "solver": solver, "wall_s": time.perf_counter() - t0}


def _points(p: Params, grid: dict, dt: float, solver: str | None = None) -> list[dict]:
    solver = solver or p.solver
    return [dict(d=d, n=n, m=p.m, sigma=p.sigma, dist=p.dist, lam=p.lam, dt=dt, t_max=p.t_max, seed=p.seed,
                 reps=p.reps, max_segments=p.segments, stable_tol=p.stable_tol, interp_tol=p.interp_tol,
                 **({"solver": "exact", "rtol": p.rtol} if solver == "exact" else {}),
                 **({} if p.batch is None else {"batch": p.batch}))
            for d in grid for n in grid[d]]


def _run(p: Params, points: list[dict], progress=None):
    from gflow.sweep import run_sweep

    cb = None if progress is None else (lambda i, n: progress(0, 1, i, max(n, 1)))
    executor = p.executor or ("dask" if p.scheduler or p.dask_local else "serial")
    return run_sweep(point, points, p.store, executor=executor, workers=min(2, os.cpu_count() or 1),
                     scheduler=p.scheduler, dask_local=p.dask_local, progress=cb)


def step_check(p: Params, df, progress=None) -> dict[int, tuple[bool, float]]:
    """The numerics where they matter: the two grid points around N* of every d rerun by a second
    integrator (stored like any point) — gradient descent at half the step (``--solver gd``), or
    the paper's gradient descent at ``dt`` against the exact flow (the default; with the per-point
    losses this answers Appendix A.2 below and above N*: see :func:`a2_finding`). Per d: whether both
    keep their verdict (interpolates or not) and the relative change of the non-interpolating
    point's loss."""
    return {d: (same, change) for d, (same, change, _) in second_integrator(p, df, progress).items()}


def second_integrator(p: Params, df, progress=None) -> dict[int, tuple[bool, float, list]]:
    """:func:`step_check` with, per d, ``[(N, loss, other loss, verdict, other verdict)]``."""
    grid = {}
    for d in p.dims:
        lo, hi = bracket(df[df["d"] == d], p.interp_tol)
        if hi is not None:
            grid[d] = [n for n in (lo, hi) if n is not None]
    if not grid:
        return {}
    half = _run(p, _points(p, grid, p.dt / 2) if p.solver == "gd" else _points(p, grid, p.dt, solver="gd"), progress)
    out = {}
    for d, ns in grid.items():
        same, change, pts = True, 0.0, []
        for n in ns:
            a = df[(df["d"] == d) & (df["n"] == n)].iloc[:1]
            b = half[(half["d"] == d) & (half["n"] == n)].iloc[:1]
            la, lb = float(verdict_loss(a)[0]), float(verdict_loss(b)[0])
            ia, ib = interpolates(la, a["noise"].iloc[0], p.interp_tol), interpolates(lb, b["noise"].iloc[0], p.interp_tol)
            same &= bool(ia == ib)
            if not ia:
                change = max(change, abs(lb - la) / la)
            pts.append((int(n), la, lb, bool(ia), bool(ib)))
        out[d] = (same, float(change), pts)
    return out


def a2_finding(p: Params, second: dict) -> str | None:
    """Appendix A.2 (is non-interpolation above the threshold a step-size effect?), read off the
    points around each N* trained by the exact flow (no step) and by gradient descent at dt."""
    if p.solver != "exact" or not second:
        return None
    parts = []
    for d, (same, _, pts) in second.items():
        for n, la, lb, ia, ib in pts:
            parts.append(f"d={d} N={n}: exact {'interpolates' if ia else 'does not interpolate'} (train {la:.3g}), "
                         f"GD dt={p.dt:g} {'interpolates' if ib else 'does not'} (train {lb:.3g})")
    agree = all(same for same, _, _ in second.values())
    return ("Appendix A.2 (is non-interpolation above N* a step-size effect?), the grid points around each N* with "
            "no step at all: " + "; ".join(parts) + (": the exact flow and gradient descent give the same verdicts, "
            "so the threshold is not a step-size effect here" if agree else ": the verdicts differ"))


def measure(p: Params, progress=None):
    """The sweep over ``dims × n_grid``, then ``refine`` rounds that add, per d, the geometric
    midpoint of the bracket ``(N_below, N*]`` (see :func:`bracket`) and rerun the sweep (finished
    points come from the store): each round halves the bracket's log-width."""
    grid = {d: sorted(p.n_grid) for d in p.dims}

    def sweep():
        return _run(p, _points(p, grid, p.dt), progress)

    df = sweep()
    for _ in range(p.refine or 0):
        added = False
        for d in p.dims:
            lo, hi = bracket(df[df["d"] == d], p.interp_tol)
            mid = None if lo is None else int(round(np.sqrt(lo * hi)))
            if mid is not None and lo < mid < hi:
                grid[d] = sorted(grid[d] + [mid])
                added = True
        if not added:
            break
        df = sweep()
    return df


def interpolates(train, noise, tol: float):
    """The network interpolates: its training loss is at most ``tol``·σ²/2."""
    return np.asarray(train) <= tol * np.asarray(noise)


def verdict_loss(df_d, column: str = "train") -> np.ndarray:
    """The training loss a point's interpolation verdict is read from: the median draw when the
    point has several (a mean is dominated by one draw that did not interpolate), else ``column``."""
    if column == "train" and "train_draws" in df_d and df_d["train_draws"].notna().all():
        return np.array([np.median(v) for v in df_d["train_draws"]], float)
    return df_d[column].to_numpy(float)


def threshold(df_d, tol: float = Params.interp_tol, column: str = "train") -> int | None:
    """N*: the first N of the grid from which the network does not interpolate at any larger N
    (None if it interpolates at the largest N); a point with several draws interpolates when its
    median draw does. ``column`` may name another loss column."""
    df_d = df_d.sort_values("n")
    ok = ~interpolates(verdict_loss(df_d, column), df_d["noise"].to_numpy(float), tol)
    for i in range(len(ok)):
        if ok[i:].all():
            return int(df_d["n"].iloc[i])
    return None


def bracket(df_d, tol: float = Params.interp_tol, column: str = "train") -> tuple[int | None, int | None]:
    """``(N_below, N*)``: the grid point just below the threshold and the threshold itself, so that
    the true threshold lies in ``(N_below, N*]`` (``N_below`` is None when N* is the first point)."""
    star = threshold(df_d, tol, column)
    ns = sorted(int(n) for n in df_d["n"])
    if star is None:
        return None, None
    i = ns.index(star)
    return (ns[i - 1] if i else None), star


def exponent_interval(brackets: dict[int, tuple]) -> tuple[float, float] | None:
    """Bounds on e in N* ∝ d^e from closed brackets ``d -> (lo, hi]``: the least and the largest
    least-squares slope of log N* on log d over the corners of the brackets (every d's N*
    anywhere in its bracket). None unless every bracket is closed and there are ≥ 2 dims."""
    ds = sorted(brackets)
    if len(ds) < 2 or any(brackets[d][0] is None for d in ds):
        return None
    x = np.log(np.array(ds, float))
    xc = x - x.mean()
    w = xc / (xc @ xc)           # slope = w · log N*: extreme at the corners
    lo = sum(wi * np.log(brackets[d][1] if wi < 0 else brackets[d][0]) for wi, d in zip(w, ds))
    hi = sum(wi * np.log(brackets[d][0] if wi < 0 else brackets[d][1]) for wi, d in zip(w, ds))
    return float(lo), float(hi)


def draw_table(df):
    """One row per (d, N, draw) with that draw's training loss (the ``train_draws`` column)."""
    import pandas as pd

    if "train_draws" not in df:
        return df.assign(draw=0)
    rows = [{"d": r.d, "n": r.n, "noise": r.noise, "draw": k, "train": v}
            for r in df.itertuples() for k, v in enumerate(r.train_draws)]
    return pd.DataFrame(rows)


def rows(p: Params, df) -> tuple[list[Row], list[str]]:
    out, findings = [], []
    tol = p.interp_tol
    stars, brackets = {}, {}
    for d in p.dims:
        sub = df[df["d"] == d].sort_values("n")
        lo, hi = sub.iloc[0], sub.iloc[-1]
        ratio_hi = float(hi["train"] / hi["ols_train"])
        lo_loss = float(verdict_loss(sub.iloc[:1])[0])
        out.append(Row(f"d{d}.interpolation", f"d = {d}: at the smallest N ({int(lo['n'])}) the trained network "
                       f"interpolates (train loss ≤ {tol:g}·σ²/2; median draw)", lo_loss / float(lo["noise"]),
                       f"≤ {tol:g}", bool(interpolates(lo_loss, lo["noise"], tol))))
        out.append(Row(f"d{d}.ols_regime", f"d = {d}: at the largest N ({int(hi['n'])}) train ≈ OLS on halves "
                       f"(ratio ≥ {RATIO}) and test within 20 % of the noise", ratio_hi, f"≥ {RATIO}",
                       bool(ratio_hi >= RATIO and abs(hi["test"] / hi["noise"] - 1) <= 0.2)))
        stars[d] = threshold(sub, tol)
        brackets[d] = bracket(sub, tol)
        findings.append(f"d = {d}: N* ∈ ({brackets[d][0]}, {brackets[d][1]}]; " + ", ".join(
            f"N={int(r.n)}: train {r.train:.3g} (OLS {r.ols_train:.3g}), test {r.test:.3g} (OLS {r.ols_test:.3g})"
            for r in sub.itertuples()))
    located = {d: s for d, s in stars.items() if s is not None}
    out.append(Row("threshold.located", f"N* (the network stops interpolating, train > {tol:g}·σ²/2) is located on "
                   "the grid for every d", str(stars), "all located", len(located) == len(stars)))
    if len(located) >= 2:
        ds = sorted(located)
        mono = all(located[a] <= located[b] for a, b in zip(ds, ds[1:]))
        out.append(Row("threshold.grows_with_d", "N* does not decrease with d", [located[d] for d in ds],
                       "non-decreasing", mono))
        iv = exponent_interval({d: brackets[d] for d in ds})
        if iv is not None:
            findings.append(f"the grid brackets give N* ∝ d^e with e ∈ [{iv[0]:.2f}, {iv[1]:.2f}] "
                            f"({len(ds)} dimensions" + (", averaged draws)" if p.reps > 1 else ", one draw)")
                            + (": contains the paper's 3" if iv[0] <= 3 <= iv[1] else ": excludes the paper's 3"))
        sens = []
        for t in (tol / 10, tol * 10):
            iv_t = exponent_interval({d: bracket(df[df["d"] == d], t) for d in ds})
            if iv_t is not None:
                sens.append(f"tolerance {t:g}: [{iv_t[0]:.2f}, {iv_t[1]:.2f}]")
        if sens:
            findings.append("how the interval depends on the interpolation tolerance: " + "; ".join(sens))
    draws = draw_table(df)
    if draws["draw"].nunique() >= 2:
        per = []
        for k in sorted(draws["draw"].unique()):
            bk = {d: bracket(draws[(draws["d"] == d) & (draws["draw"] == k)], tol) for d in p.dims}
            if all(b[0] is not None for b in bk.values()):
                mid = np.array([np.log(np.sqrt(b[0] * b[1])) for b in bk.values()])
                per.append(float(np.polyfit(np.log(np.array(list(bk), float)), mid, 1)[0]))
        if per:
            findings.append("per draw (each draw's own N*, geometric bracket midpoints): e = "
                            + ", ".join(f"{e:.2f}" for e in per) + f"; spread over {len(per)} draws: "
                            f"[{min(per):.2f}, {max(per):.2f}]")
    return out, findings


def run(p: Params, progress=None) -> Report:
    p.validate()
    p = p.resolved()
    if p.store is None:
        p = dataclasses.replace(p, store=tempfile.mkdtemp(prefix="gflow-threshold-"))
    df = measure(p, progress)
    second = second_integrator(p, df, progress)
    steps_ok = {d: (same, change) for d, (same, change, _) in second.items()}
    row_list, findings = rows(p, df)
    a2 = a2_finding(p, second)
    if a2:
        findings.append(a2)
    evals = int(df["evals"].sum()) if "evals" in df else int(np.sum(np.round(df["t_trained"] / p.dt)) * p.reps)
    wall = float(df["wall_s"].sum())
    hyps = [Hypothesis("Gaussian inputs and Gaussian (balanced) init, as in the paper's Figure 1", "gaussian", p.dist,
                       p.dist == "gaussian")]
    unstable = df[df["stable"].ne(True)].sort_values(["d", "n"])
    hyps.append(Hypothesis(
        f"losses at convergence: every point trained (in segments of t = {p.t_max:g}, at most {p.segments}) until its "
        f"train loss moved ≤ {p.stable_tol:g} (relative) over a segment or interpolated (a stall can still be a "
        "plateau that ends later)",
        "every point", "all" if unstable.empty else "not " + ", ".join(
            f"d={int(r.d)} N={int(r.n)} (moved {r.drift:.2g} by t = {r.t_trained:g})" for r in unstable.itertuples()),
        unstable.empty))
    what = (f"gradient descent at dt = {p.dt:g} approximates the flow — the two grid points around each N* rerun at dt/2"
            if p.solver == "gd" else f"two integrators agree — the two grid points around each N*, trained by the exact "
            f"flow (rtol {p.rtol:g}), rerun by gradient descent at dt = {p.dt:g},")
    hyps.append(Hypothesis(
        f"numerics: {what} keep their verdict (interpolates or not) and the non-interpolating loss changes by ≤ {STEP_TOL:g}",
        f"same verdict, ≤ {STEP_TOL:g}", "; ".join(f"d={d}: {'same' if s_ else 'CHANGED'}, {c:.2g}"
                                                   for d, (s_, c) in steps_ok.items()) or "no N* located",
        bool(steps_ok) and all(s_ and c <= STEP_TOL for s_, c in steps_ok.values())))
    for d in p.dims:
        star = threshold(df[df["d"] == d], p.interp_tol)
        late = unstable[(unstable["d"] == d) & (unstable["n"] >= (star or 0))]
        if star is not None and not late.empty:
            findings.append(f"d = {d}: the train loss was still moving at N = {', '.join(str(int(n)) for n in late['n'])} "
                            f"(≥ N* = {star}) when training stopped: longer training may move N*(d={d}) up "
                            "(--segments)")
    return Report(check=ID, title=TITLE, rows=row_list, hypotheses=hyps, params=p.to_dict(),
                  solver={"name": "gd", "rtol": None, "atol": None, "dt": p.dt, "steps": evals, "rejected": 0,
                          "rhs_evals": evals, "wall_s": wall, "compile_s": None,
                          **({"name": "tsit5-events", "convention": "filippov", "rtol": p.rtol, "atol": p.rtol * 1e-3,
                              "dt": None, "steps": None, "rejected": None} if p.solver == "exact" else {}),
                          "note": "wall_s: seconds summed over the sweep's points (each includes its compilation)"},
                  phase_times={f"N*(d={d})": threshold(df[df["d"] == d], p.interp_tol) for d in p.dims},
                  initial_state=None,
                  final_state=None, findings=findings, context=df, extra={"table": df.to_dict(orient="records")})


def plot(report: Report, path) -> None:
    from gflow.plotting import threshold_curves

    df = report.context
    tol = report.params.get("interp_tol", Params.interp_tol)
    draws = "train_draws" in df and df["train_draws"].map(len).max() > 1
    shown = df.assign(train=verdict_loss(df)) if draws else df   # the loss the N* verdict reads
    threshold_curves(shown, path, n_star={d: threshold(df[df["d"] == d], tol) for d in df["d"].unique()},
                     floor_ratio=tol, train_label="network, train (median draw)" if draws else "network, train")
