"""Model H's gradient flow with the phase events of Proposition 1, shared by the plateau checks.

For one δ: draw the data and ``W(0) = δ·|G|`` (one ``G`` per seed, reused for every δ of a
sweep so that only the scale changes), solve to the horizon ``C_T·g(δ)`` with
``g = log(1/δ)/δ^(r−2)``, and locate, for every class ``i`` (original labels):

* ``t:i``   — ``W_ii`` first reaches µ0 (Proposition 1's ``t_i``);
* ``mu1:i`` — ``W_ii`` first reaches µ1 (end of Stage 1);
* ``u:i``   — ``min_{x∈S_i} u_i(x) ≥ 1 − µ2`` (the class is *learned*, Claim 2 of the paper);
* ``s:i``   — ``b_i − b_last ≤ −µ3``, with ``last`` the class of smallest ``W_ii(0)``
  (Proposition 1's ``s_{i+1}``, after relabelling by decreasing ``W_ii(0)``);
* ``margin`` — every sample has margin ``f_y(x) − max_{j≠y} f_j(x) ≥ m``;
* ``gap``    — ``b_{i*} − max_{i≠i*} b_i ≥ γ`` (top bias minus the second);
* ``T``      — both at once: Theorem 2's operational ``T``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from gflow import Event, Trajectory, save_grid, solve
from gflow._config import jax as _jax
from gflow._solve import SOLVERS
from gflow.bounds.plateau import g_theorem2
from gflow.data import stream
from gflow.data.classes import ClassData, class_dataset
from gflow.errors import InputError
from gflow.models import homogeneous as H
from gflow.models._common import class_margins
from gflow.params import ParamSet, fits_in_memory, gd_needs_dt, param, redefault
from gflow.trajectory import max_event_time_change, merge_stats

GD_PHASE_TOL = 0.01  # gradient descent: largest relative change of a phase time when dt is halved
# δ^r below this: an O(δ^r) difference of O(1) biases is rounding noise (ḃ's float64 error is ~5e−17, RESULTS.md)
FLOAT64_REACH = 100 * float(np.finfo(np.float64).eps)
MAX_STEPS = 400_000   # per solve


def format_deltas(deltas) -> str:
    """``0.1, 0.03, 0.001``: a list of δ as rows, notes and findings print it."""
    return ", ".join(f"{float(d):g}" for d in deltas)


def coupling_floor(p) -> float:
    """The smallest δ^r at which an O(δ^r) difference of O(1) biases is resolved by the run: 100× float64's
    rounding and, for an adaptive solver, 100× its rtol (the solver's error in an O(1) bias is ~rtol)."""
    return max(FLOAT64_REACH, 100 * p.rtol) if p.solver != "gd" else FLOAT64_REACH


@dataclasses.dataclass(frozen=True)
class FlowParams(ParamSet):
    """Model, data and solver parameters shared by the Model H checks."""

    k: int = param(4, "number of classes", ge=2)
    r: int = param(4, "degree r of the homogeneous signal (Theorem 2 needs r ≥ 3)", ge=3)
    delta: tuple = param((0.1, 0.05, 0.02, 0.01), "init scales δ of the sweep, comma-separated", gt=0, lt=1)
    sigma: float = param(0.0, "noise level σ (0: the exact k-point reduction)", ge=0, le=10)
    d: int = param(50, "input dimension (≥ k: inputs are e_i + noise)", ge=2)
    n_samples: int = param(200, "number of samples N (a multiple of k)", ge=2)
    seed: int = param(0, "one seed for data and init", ge=0, lt=2**32)
    init: str = param("abs-gaussian", "W(0) = δ·|G| (abs-gaussian) or δ·1 (equal, a falsification setting)",
                      choices=("abs-gaussian", "equal"))
    solver: str = param("auto", "integrator (auto: Tsit5, or Kvaerno5 once the plateau δ^−(r−2) exceeds 1e4; "
                        "gd: gradient descent with --dt)", choices=SOLVERS + ("auto",))
    rtol: float = param(1e-11, "relative tolerance (resolves the O(δ^r) bias couplings at δ = 0.01)",
                        ge=1e-15, lt=1)
    atol: float = param(1e-14, "absolute tolerance", gt=0, lt=1)
    mu0: float = param(0.5, "µ0: t_i = first time W_ii ≥ µ0", gt=0)
    mu1: float = param(1.0, "µ1: end of Stage 1 (W_ii ≥ µ1)", gt=0)
    mu2: float = param(0.1, "µ2: class learned when min u_i ≥ 1 − µ2", gt=0, lt=1)
    mu3: float = param(0.5, "µ3: s_{i+1} = first time b_i − b_k ≤ −µ3", gt=0)
    margin: float = param(1.0, "m: T needs every margin ≥ m", gt=0)
    gap: float = param(0.5, "γ: T needs a bias gap ≥ γ", gt=0)
    horizon: float = param(2.0, "solve to C_T·log(1/δ)/δ^(r−2): this C_T", gt=0, le=1e3)
    slope_tol: float = param(0.25, "tolerance on fitted log-log slopes", gt=0, lt=10)
    dt: float | None = param(None, "gradient-descent step (solver gd)", kind=float, gt=0, lt=10,
                             none="none; required with --solver gd")
    count_evals: bool = param(False, "count an implicit solver's field evaluations (a host callback per evaluation: "
                              "~15× slower, and not cached on disk; explicit solvers are always counted)")

    def validate(self) -> None:
        super().validate()
        if self.d < self.k:
            raise InputError(f"--d must be ≥ k (inputs are e_i + noise), got d={self.d} < k={self.k}")
        if self.n_samples % self.k:
            raise InputError(f"--n-samples must be a multiple of k={self.k}, got {self.n_samples}")
        if not self.mu0 < self.mu1:
            raise InputError(f"need mu0 < mu1, got mu0={self.mu0}, mu1={self.mu1}")
        gd_needs_dt(self.solver, self.dt)
        with np.errstate(over="ignore"):
            t1 = self.horizon * g_theorem2(min(self.delta), self.r)
        if not np.isfinite(t1) or t1 > 1e15:
            raise InputError(f"the horizon C_T·log(1/δ)/δ^(r−2) = {t1:.3g} at δ = {min(self.delta):g}, r = {self.r} is "
                             "beyond what a solve can reach (≤ 1e15): use a larger --delta or a smaller --r")
        fits_in_memory(8 * self.n_samples * (self.d + self.k) * 6, "the data and the solver's stages")
        if self.solver == "gd" and self.dt is not None:   # GD's step count is known before it runs (+ the dt/2 rerun)
            need = 2 * t1 / self.dt
            if need > MAX_STEPS:
                raise InputError(f"gradient descent at --dt {self.dt:g} needs {need:.3g} steps at δ = {min(self.delta):g} "
                                 f"(horizon {t1:.3g}, rerun at dt/2; at most {MAX_STEPS} per run): use a larger --delta "
                                 "or --solver auto")

    @property
    def deltas(self) -> np.ndarray:
        return np.sort(np.asarray(self.delta, float))[::-1]


# The Θ-law checks' default sweep: three decades at r = 4 (the plateau grows to δ^−(r−2) = 1e8; the stiff end runs
# on Kvaerno5 in V = W^−(r−2), steps ~log(1/δ)). At r ≥ 6 its horizon is beyond a solve's reach: pass --delta.
WIDE_SWEEP = (0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001)


@dataclasses.dataclass(frozen=True)
class SweepParams(FlowParams):
    """:class:`FlowParams` with the wide default sweep (``theorem2``, ``prop1``: their Θ rows need decades)."""

    delta: tuple = redefault(FlowParams, "delta", WIDE_SWEEP)


@dataclasses.dataclass
class FlowRun:
    """One solved flow at one δ: data, trajectory, and the class order of Proposition 1."""

    delta: float
    data: ClassData
    traj: Trajectory
    order: np.ndarray        # classes by decreasing W_ii(0): order[0] is Proposition 1's class 1
    horizon: float
    gd_change: float = float("nan")  # gradient descent only: phase-time change when dt is halved

    @property
    def last(self) -> int:
        return int(self.order[-1])

    def t(self, name: str) -> float | None:
        return self.traj.event_time(name)


@functools.lru_cache(maxsize=None)
def events_for(k: int, r: int, power: bool = False) -> tuple[Event, ...]:
    """The phase events of Model H with ``k`` classes and degree ``r`` (cached so the
    compiled solve is reused); ``power``: of a state in the coordinates ``V = W^−(r−2)``
    (:func:`gflow.models.homogeneous.reduced_power_field`)."""
    jnp = _jax().numpy

    def own_u(y, a):
        return (H.softmax(y, a["X"], r) * a["Y"]).sum(-1)

    def margins(y, a):
        return class_margins(H.logits(y, a["X"], r), a["Y"])

    def gap(y, a):
        s = jnp.sort(y.b)
        return s[-1] - s[-2]

    evs = []
    for i in range(k):
        evs.append(Event(f"t:{i}", lambda y, a, i=i: y.W[i, i] - a["mu0"]))
        evs.append(Event(f"mu1:{i}", lambda y, a, i=i: y.W[i, i] - a["mu1"]))
        evs.append(Event(f"u:{i}", lambda y, a, i=i: jnp.min(jnp.where(a["Y"][:, i] > 0, own_u(y, a), jnp.inf))
                         - (1.0 - a["mu2"])))
        evs.append(Event(f"s:{i}", lambda y, a, i=i: (y.b[a["last"]] - y.b[i]) - a["mu3"] - 1e6 * (a["last"] == i)))
    evs.append(Event("margin", lambda y, a: margins(y, a).min() - a["margin"]))
    evs.append(Event("gap", lambda y, a: gap(y, a) - a["gap"]))
    evs.append(Event("T", lambda y, a: jnp.minimum(margins(y, a).min() - a["margin"], gap(y, a) - a["gap"])))
    if power:
        evs = [Event(e.name, lambda y, a, fn=e.fn: fn(H.HState(W=H.from_power_coords(y.W, r), b=y.b), a)) for e in evs]
    return tuple(evs)


def initial_gaussian(p: FlowParams) -> np.ndarray:
    """The standard normals behind ``W(0) = δ·|G|`` (independent of δ)."""
    rng = stream(p.seed, 1)
    return rng.standard_normal((p.k, p.d))


def make_data(p: FlowParams) -> ClassData:
    rng = stream(p.seed, 2)
    return class_dataset(p.k, p.d, p.n_samples, p.sigma, seed=rng)


def run_flow(p: FlowParams, delta: float, progress: Callable[[float, float], None] | None = None,
             data: ClassData | None = None, formulation: str = "best") -> FlowRun:
    """Solve Model H's flow at one δ with every phase event located.

    ``formulation="best"``: at σ = 0 the k × k block that moves, ḃ without cancellation
    (:func:`~gflow.models.homogeneous.reduced_field`) and, for adaptive solvers, the coordinates
    ``V = W^−(r−2)`` (:func:`~gflow.models.homogeneous.reduced_power_field`); ``"plain"``: the general field
    in W itself (``ḃ = 1 − Σ u``), an independent formulation to check the first against."""
    if formulation not in ("best", "plain"):
        raise InputError(f"formulation must be best or plain, got {formulation!r}")
    jnp = _jax().numpy
    data = make_data(p) if data is None else data
    if p.init == "equal":
        y0 = H.HState(W=np.full((p.k, p.d), float(delta)), b=np.zeros(p.k))
    else:
        y0 = H.init_state(p.k, p.d, delta, gaussian=initial_gaussian(p))
    diag = np.diag(y0.W[:, : p.k])
    order = np.argsort(-diag, kind="stable")
    args = dict(data.args(), mu0=jnp.float64(p.mu0), mu1=jnp.float64(p.mu1), mu2=jnp.float64(p.mu2),
                mu3=jnp.float64(p.mu3), margin=jnp.float64(p.margin), gap=jnp.float64(p.gap),
                last=jnp.int32(order[-1]))
    horizon = float(p.horizon * g_theorem2(delta, p.r))
    solver = pick_solver(p, delta)
    cols = p.k if data.reduced else p.d   # σ = 0: X = e_1 … e_k, so W's columns beyond k never move
    if cols < p.d:
        args["X"] = args["X"][:, :cols]
    W0 = np.asarray(y0.W)[:, :cols]
    # σ = 0: ḃ without cancellation; adaptive solvers in V = W^−(r−2), where the plateau's growth is linear
    best = formulation == "best"
    power = best and cols < p.d and solver != "gd" and bool(np.all(W0 > 0))
    if power:
        field, y_start = H.reduced_power_field(p.r), H.HState(W=H.to_power_coords(W0, p.r), b=y0.b)
    else:
        field = H.reduced_field(p.r) if best and cols < p.d else H.vector_field(p.r)
        y_start = H.HState(W=W0, b=y0.b)
    traj = solve(field, y_start, horizon, args, solver=solver, rtol=p.rtol, atol=p.atol,
                 events=events_for(p.k, p.r, power), save_ts=save_grid(horizon, 600, t_min=1e-2), dt=p.dt,
                 max_steps=MAX_STEPS, progress=progress, count_evals=p.count_evals or None)
    if power:
        traj = _map_W(traj, lambda V: H.from_power_coords(np.asarray(V), p.r))
        traj.stats.coords = f"V = W^-{p.r - 2}"
    if cols < p.d:
        frozen = np.asarray(y0.W)[:, cols:]
        traj = _map_W(traj, lambda W: np.concatenate([W, np.broadcast_to(frozen, W.shape[:-2] + frozen.shape)], -1))
    return FlowRun(float(delta), data, traj, order, horizon)


# --solver auto: an L-stable implicit method once the plateau δ^−(r−2) exceeds this. Measured at r = 4 in
# V = W^−(r−2) (RESULTS.md, stiff_table.py): δ = 0.01 Tsit5 33 819 evaluations, 0.12 s, Kvaerno5 39 372, 0.29 s;
# δ = 0.003 Tsit5 280 167, 0.98 s, Kvaerno5 42 752, 0.31 s.
AUTO_STIFF_PLATEAU = 1e4


def pick_solver(p: FlowParams, delta: float) -> str:
    """The solver a run uses: ``p.solver``, or for ``auto`` Tsit5 on short plateaus and Kvaerno5 (L-stable,
    its steps not limited by the bias relaxation's eigenvalue ≈ −1) once ``δ^−(r−2) > AUTO_STIFF_PLATEAU``.
    Either runs in the coordinates ``V = W^−(r−2)`` at σ = 0 (see :func:`run_flow`)."""
    if p.solver != "auto":
        return p.solver
    return "kvaerno5" if delta ** -(p.r - 2) > AUTO_STIFF_PLATEAU else "tsit5"


def _map_W(traj: Trajectory, fn) -> Trajectory:
    """The trajectory with ``fn`` applied to ``W`` of every saved and event state (back from the solver's
    coordinates; the columns the reduced solve left out put back: their field is exactly 0)."""
    traj.ys = H.HState(W=fn(np.asarray(traj.ys.W)), b=np.asarray(traj.ys.b))
    traj.events = {name: dataclasses.replace(occ, y=H.HState(W=fn(np.asarray(occ.y[0])), b=np.asarray(occ.y[1])))
                   for name, occ in traj.events.items()}
    return traj


def run_sweep(p: FlowParams, progress=None) -> list[FlowRun]:
    """``run_flow`` for every δ (largest first); ``progress(i, n, t, t1)`` after each segment."""
    p.validate()
    data = make_data(p)
    runs = []
    deltas = p.deltas
    for i, delta in enumerate(deltas):
        cb = None if progress is None else (lambda t, t1, i=i: progress(i, len(deltas), t, t1))
        run = run_flow(p, float(delta), cb, data=data)
        if p.solver == "gd":  # the step's accuracy: the same solve at half the step
            half = run_flow(dataclasses.replace(p, dt=p.dt / 2), float(delta), None, data=data)
            run = dataclasses.replace(run, gd_change=max_event_time_change(run.traj, half.traj))
        runs.append(run)
    return runs


def merged_stats(runs: list[FlowRun]) -> dict:
    return merge_stats(r.traj.stats for r in runs).to_dict()


def observables(run: FlowRun, r: int) -> dict[str, np.ndarray]:
    """Per saved time: margins (n_t × n), own-class softmax ``u`` (n_t × n), and ``b``, ``W``."""
    X, labels = run.data.X, run.data.labels
    W, b = run.traj.ys.W, run.traj.ys.b
    f = np.einsum("nd,tkd->tnk", X, W) ** r + b[:, None, :]
    m = class_margins(f, labels)
    e = np.exp(f - f.max(axis=2, keepdims=True))
    u = e / e.sum(axis=2, keepdims=True)
    u_own = np.take_along_axis(u, labels[None, :, None], axis=2)[..., 0]
    sb = np.sort(b, axis=1)
    return {"margins": m, "u_own": u_own, "b": b, "W": W, "gap": sb[:, -1] - sb[:, -2]}


def state_dict(W, b) -> dict:
    return {"W": np.asarray(W).tolist(), "b": np.asarray(b).tolist()}


def params_dict(p: FlowParams, reduced: bool) -> dict:
    out = p.to_dict()
    out["delta"] = [float(x) for x in p.deltas]
    out["reduced_k_point_flow"] = reduced
    return out


def standard_hypotheses(p: FlowParams, runs: list[FlowRun], couplings: str | None = "all"):
    """Theorem 2's hypotheses with constant 1 in every Θ, and Lemma 10's init event. ``couplings``: how the
    check reads O(δ^r) bias differences — ``"all"`` on every δ (the numerics must resolve them at δ_min),
    ``"restricted"`` only where they are resolved (shown, not a condition of the report), ``None`` not at all."""
    from gflow.report import Hypothesis

    r, k = p.r, p.k
    dmin = float(min(p.deltas))
    dmax = float(max(p.deltas))
    hyps = [
        Hypothesis("δ ≤ Θ(1)  (constant 1)", "≤ 1", dmax, dmax <= 1),
        Hypothesis("σ ≤ Θ(1)  (constant 1)", "≤ 1", p.sigma, p.sigma <= 1),
    ]
    need_d = dmin ** -(2 * r - 2)
    need_n = dmin ** -(r - 1)
    if p.sigma == 0:
        note = "σ = 0: the noise terms these control vanish; the flow is the exact k-point reduction"
        hyps.append(Hypothesis("d ≥ δ^−(2r−2)  (controls the noise)", f"≥ {need_d:.3g}", p.d, True, note, applies=False))
        hyps.append(Hypothesis("N ≥ δ^−(r−1)  (controls the noise)", f"≥ {need_n:.3g}", p.n_samples, True, note,
                               applies=False))
    else:
        hyps.append(Hypothesis("d ≥ δ^−(2r−2)", f"≥ {need_d:.3g}", p.d, p.d >= need_d))
        hyps.append(Hypothesis("N ≥ δ^−(r−1)", f"≥ {need_n:.3g}", p.n_samples, p.n_samples >= need_n))
    # Lemma 10 (the probability-0.99 event): distinct diagonal entries, gaps Ω(δ).
    gaps = []
    for run in runs:
        diag = np.sort(np.diag(run.traj.ys.W[0][:, :k]))[::-1]
        gaps.append(float(np.min(-np.diff(diag)) / run.delta))
    g = min(gaps)
    if couplings is not None:
        floor = coupling_floor(p)
        reach = floor ** (1 / r)
        short = format_deltas(d for d in p.deltas if d**r < floor)
        what = "100·max(rtol, ε_float64)" if p.solver != "gd" else "100·ε_float64"
        note = ""
        if short and couplings == "restricted":
            note = f"the rows on O(δ^r) bias differences leave δ = {short} out"
        elif short:
            note = "below it the O(δ^r) differences are rounding or solver error, not data"
        hyps.append(Hypothesis(f"numerics: the O(δ^r) bias couplings are resolved (δ^r ≥ {what} = {floor:.2g})",
                               f"δ_min ≥ {reach:.3g}", dmin, dmin >= reach, note,
                               applies=couplings != "restricted"))
    hyps.append(Hypothesis("init: W_ii(0) distinct, gaps ≥ Ω(δ) (Lemma 10; constant 0.01)",
                           "min gap/δ ≥ 0.01", g, g >= 0.01))
    if p.solver == "gd":
        change = max((run.gd_change for run in runs), default=float("inf"))
        hyps.append(Hypothesis(f"numerics: gradient descent at dt = {p.dt:g} approximates the flow — rerun at dt/2, "
                               f"the largest relative change of any phase time (t_i, s_i, T) ≤ {GD_PHASE_TOL:g}",
                               f"≤ {GD_PHASE_TOL:g}", change, bool(change <= GD_PHASE_TOL),
                               "; ".join(f"δ={run.delta:g}: {run.gd_change:.3g}" for run in runs)))
    return hyps


def learning_times(run: FlowRun) -> dict[int, float]:
    """Class -> time it is learned (``min_{x∈S_i} u_i ≥ 1 − µ2``), for classes that are."""
    return {i: run.t(f"u:{i}") for i in range(len(run.order)) if run.t(f"u:{i}") is not None}


def learned_order(run: FlowRun) -> list[int]:
    """Classes sorted by the time they are learned; never-learned classes last, by W_ii(0)."""
    times = learning_times(run)
    done = sorted(times, key=times.get)
    return done + [int(i) for i in run.order if int(i) not in times]


def phase_times(run: FlowRun) -> dict[str, float | None]:
    """Proposition 1's ``t_1 … t_{k−1}`` and ``s_2 … s_k`` (classes numbered in learning
    order), plus ``T`` and the times its two conditions were first met."""
    order = learned_order(run)
    out: dict[str, float | None] = {}
    for n, cls in enumerate(order[:-1], start=1):
        out[f"t_{n}"] = run.t(f"t:{cls}")
    for n, cls in enumerate(order[:-1], start=1):
        out[f"s_{n + 1}"] = run.t(f"s:{cls}")
    out["T"] = run.t("T")
    out["T_margin"] = run.t("margin")
    out["T_gap"] = run.t("gap")
    out["learned"] = {f"class_{n + 1}": learning_times(run).get(cls) for n, cls in enumerate(order)}
    out["class_labels_in_learning_order"] = [int(c) for c in order]
    return out


def report(check_id: str, title: str, p: FlowParams, runs: list[FlowRun], rows, findings, extra=None,
           final=None, couplings: str | None = "all"):
    """A Model H check's :class:`Report`: per-δ phase times and states (flat for one δ).
    ``final(run)`` picks the final state (default: the end of the solve)."""
    from gflow.report import Report

    def per_delta(fn):
        out = {f"{r.delta:g}": fn(r) for r in runs}
        return next(iter(out.values())) if len(runs) == 1 else out

    extra = {k: per_delta(v) if callable(v) else v for k, v in (extra or {}).items()}
    if p.solver == "auto":   # say what auto picked, per δ
        picked = {}
        for r in runs:
            picked.setdefault(r.traj.stats.name, []).append(r.delta)
        coords = {r.traj.stats.coords or "W" for r in runs}
        findings = list(findings) + ["solver auto picked " + "; ".join(
            f"{name} for δ = {format_deltas(ds)}" for name, ds in picked.items())
            + f" (Kvaerno5 once δ^−(r−2) > {AUTO_STIFF_PLATEAU:g}), in {' and '.join(sorted(coords))} coordinates"
            + ("" if p.count_evals or "kvaerno5" not in picked else "; --count-evals counts Kvaerno5's evaluations")]
        extra["solver_per_delta"] = per_delta(lambda r: r.traj.stats.name)
    return Report(check=check_id, title=title, rows=rows, hypotheses=standard_hypotheses(p, runs, couplings),
                  params=params_dict(p, runs[0].data.reduced), solver=merged_stats(runs),
                  phase_times=per_delta(phase_times),
                  initial_state=per_delta(lambda r: state_dict(r.traj.ys.W[0], r.traj.ys.b[0])),
                  final_state=per_delta(final or (lambda r: state_dict(r.traj.ys.W[-1], r.traj.ys.b[-1]))),
                  findings=findings, context=runs, extra=extra)


def plot(report, path) -> None:
    """W_ii(t) and b_i(t) on a log-time axis with t_i, s_i and T marked (the paper's Figure 3)."""
    from gflow.plotting import model_h_phases

    model_h_phases(report.context, path, report.params["r"])
