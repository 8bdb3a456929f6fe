"""Model R's gradient flow on orthogonal data with the paper's phases located as events,
shared by the ``orthogonal.*`` checks.

Group 1 (the paper's "+") is the sign with the larger ‖D‖, fitted first; group 2 ("−") second.
``S1``, ``S2`` are the paper's ``S_{+,1}``, ``S_{−,1}``; ``c = max_j ‖w_j(0)‖/λ``. Events:

* ``t2``: Lemma 3's (i) ``<w̄_j, D1> ≥ ‖D1‖ − λ^(ε/5)`` on S1, (ii) ``|U1 − U1*| ≤ λ^(ε/5)``,
  (iii) ``‖w_j‖ ≤ 2cλ^ε`` off S1 — all at once;
* ``t3``: Lemma 4's (i) ``<w̄_j, D2> ≥ ‖D2‖ − λ^(ε/14)`` on S2, (ii) ``|U2 − U2*| ≤ λ^(ε/20)``,
  (iv) ``‖w_j‖ ≤ 3cλ^ε`` off S1 ∪ S2 ((iii) is checked at t3 from the trajectory);
* ``half1``/``half2``: ``U_g`` reaches ``U_g*/2`` (leading-order fit times ``−ln λ/‖D_g‖``);
* ``plateau_start``/``plateau_end``: the loss enters / leaves ``[L_S(1 − τ), L_S(1 + τ)]``.

``U_g = Σ_{j∈S_g} ‖w_j‖²``, ``U_g*`` its capacity (:mod:`gflow.bounds.orthogonal`). Norms are
compared in log space (``ρ_j = ln ‖w_j‖``), so nothing underflows at λ = 1e−30.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from gflow import Event, save_grid, solve
from gflow._config import jax as _jax
from gflow._solve import SOLVERS
from gflow.bounds import orthogonal as B
from gflow.data import orthogonal as OD
from gflow.data import stream
from gflow.errors import InputError
from gflow.models import relu2 as R
from gflow.params import ParamSet, fits_in_memory, gd_needs_dt, param
from gflow.trajectory import max_event_time_change, merge_stats

GD_PHASE_TOL = 0.01  # gradient descent: largest relative change of a phase time when dt is halved


@dataclasses.dataclass(frozen=True)
class OrthoParams(ParamSet):
    """Model R on orthogonal data."""

    dataset: str = param("two-point", "two-point (the paper's example) or orthonormal",
                         choices=("two-point", "orthonormal"))
    n: int = param(4, "orthonormal: number of samples", ge=2)
    d: int = param(6, "orthonormal: input dimension (≥ n)", ge=2)
    m: int = param(60, "number of neurons", ge=2)
    lam: tuple = param((1e-30,), "init scale λ, or a comma-separated list", gt=0, lt=1)
    eps: float = param(0.1, "ε of the lemmas", gt=0, lt=1 / 3)
    seed: int = param(0, "seed of data and init", ge=0, lt=2**32)
    coords: str = param("spherical", "Model R coordinates: spherical (log-radius) or cartesian",
                        choices=("spherical", "cartesian"))
    solver: str = param("tsit5", "integrator (gd: gradient descent with --dt)", choices=SOLVERS)
    rtol: float = param(1e-10, "relative tolerance", ge=1e-15, lt=1)
    atol: float = param(1e-12, "absolute tolerance", gt=0, lt=1)
    plateau_tol: float = param(1e-3, "fact1: relative band around the saddle loss", gt=0, lt=1)
    kink: float = param(1e-9, "pre-activations within κ·‖w‖‖x‖ of 0 count as inactive (0: strict σ'(0) = 0)",
                        ge=0, lt=1e-3)
    dt: float | None = param(None, "gradient-descent step (solver gd)", kind=float, gt=0, lt=10,
                             none="none; required with --solver gd")

    def validate(self) -> None:
        super().validate()
        if self.dataset == "orthonormal" and self.d < self.n:
            raise InputError(f"orthonormal data need --d ≥ --n, got d={self.d} < n={self.n}")
        gd_needs_dt(self.solver, self.dt)
        fits_in_memory(8 * (self.n * self.d + self.m * (self.d + 2)) * 64, "the data and the network")

    @property
    def lams(self) -> np.ndarray:
        return np.sort(np.asarray(self.lam, float))[::-1]


def make_data(p: OrthoParams) -> OD.OrthoData:
    if p.dataset == "two-point":
        return OD.two_point()
    return OD.orthonormal(p.n, p.d, seed=stream(p.seed, 2))


@dataclasses.dataclass
class OrthoRun:
    lam: float
    data: OD.OrthoData
    s: np.ndarray
    traj: object
    sets: dict
    groups: tuple
    pred: dict
    c: float
    saddle_loss: float
    t_end: float
    kink: float = 1e-9
    gd_change: float = float("nan")  # gradient descent only: phase-time change when dt is halved

    def t(self, name):
        return self.traj.event_time(name)

    def cart(self) -> tuple[np.ndarray, np.ndarray]:
        """``a`` (n_t, m) and ``W`` (n_t, m, d) along the trajectory."""
        ys = self.traj.ys
        if hasattr(ys, "rho"):
            return tuple(R.to_cartesian(R.SphState(np.asarray(ys.rho), np.asarray(ys.wbar)), self.s))
        return ys.a, ys.W

    def geometry(self) -> tuple[np.ndarray, np.ndarray]:
        """``ρ`` (n_t, m) and unit ``w̄`` (n_t, m, d)."""
        ys = self.traj.ys
        if hasattr(ys, "rho"):
            return ys.rho, ys.wbar / np.linalg.norm(ys.wbar, axis=-1, keepdims=True)
        nrm = np.linalg.norm(ys.W, axis=-1)
        return np.log(nrm), ys.W / nrm[..., None]

    def loss(self) -> np.ndarray:
        a, W = self.cart()
        h = np.einsum("tm,tnm->tn", a, np.maximum(np.einsum("nd,tmd->tnm", self.data.X, W), 0))
        return 0.5 * ((h - self.data.y) ** 2).mean(axis=1)


def _geom(y, coords):
    jnp = _jax().numpy
    if coords == "spherical":
        return y.rho, y.wbar / jnp.linalg.norm(y.wbar, axis=-1, keepdims=True)
    nrm = jnp.linalg.norm(y.W, axis=-1)
    return jnp.log(nrm), y.W / nrm[:, None]


@functools.lru_cache(maxsize=None)
def events_for(coords: str) -> tuple[Event, ...]:
    jnp = _jax().numpy

    def masked_min(v, mask):
        return jnp.min(jnp.where(mask, v, jnp.inf))

    def masked_max(v, mask):
        return jnp.max(jnp.where(mask, v, -jnp.inf))

    def U(rho, mask):
        return jnp.sum(jnp.where(mask, jnp.exp(2 * rho), 0.0))

    def loss(y, a):
        rho, wbar = _geom(y, coords)
        h = jnp.maximum(a["X"] @ wbar.T, 0) @ (a["s"] * jnp.exp(2 * rho))
        return 0.5 * jnp.mean((h - a["y"]) ** 2)

    def t2(y, a):
        rho, wbar = _geom(y, coords)
        i = masked_min(wbar @ a["D1"], a["S1"]) - (a["nD1"] - a["tol5"])
        ii = a["tol5"] - jnp.abs(U(rho, a["S1"]) - a["cap1"])
        iii = a["log2c"] + a["eps_loglam"] - masked_max(rho, ~a["S1"])
        return jnp.minimum(jnp.minimum(i, ii), jnp.minimum(iii, 1.0))

    def t3(y, a):
        rho, wbar = _geom(y, coords)
        i = masked_min(wbar @ a["D2"], a["S2"]) - (a["nD2"] - a["tol14"])
        ii = a["tol20"] - jnp.abs(U(rho, a["S2"]) - a["cap2"])
        iv = a["log3c"] + a["eps_loglam"] - masked_max(rho, ~(a["S1"] | a["S2"]))
        return jnp.minimum(jnp.minimum(i, ii), jnp.minimum(iv, 1.0))

    return (
        Event("t2", t2),
        Event("t3", t3),
        Event("half1", lambda y, a: U(_geom(y, coords)[0], a["S1"]) - 0.5 * a["cap1"]),
        Event("half2", lambda y, a: U(_geom(y, coords)[0], a["S2"]) - 0.5 * a["cap2"]),
        Event("plateau_start", lambda y, a: a["LS"] * (1 + a["ptol"]) - loss(y, a)),
        Event("plateau_end", lambda y, a: a["LS"] * (1 - a["ptol"]) - loss(y, a)),
    )


def run_flow(p: OrthoParams, lam: float, data=None, draws=None, progress=None,
             require_assumption3: bool = True) -> OrthoRun:
    """Solve at one λ. ``draws = (s, g)`` fixes the init directions; ``require_assumption3=False``
    lets a falsification run start with an empty S_{+,1} or S_{−,1}."""
    jnp = _jax().numpy
    data = make_data(p) if data is None else data
    d = data.X.shape[1]
    if draws is None:
        _, s, g = R.init(p.m, d, 1.0, seed=stream(p.seed, 1))
    else:
        s, g = draws
    y0 = R.from_draws(g, s, lam)
    c = float(np.linalg.norm(g, axis=1).max())
    sets = OD.check_assumptions(data, g, s)
    g1, g2 = B.group_constants(data)
    S1 = sets["S_plus"] if g1.sign > 0 else sets["S_minus"]
    S2 = sets["S_minus"] if g1.sign > 0 else sets["S_plus"]
    if require_assumption3 and (len(S1) == 0 or len(S2) == 0):
        raise InputError(f"Assumption 3 fails: S_{{+,1}} has {len(sets['S_plus'])} and S_{{−,1}} has "
                         f"{len(sets['S_minus'])} neurons (both must be non-empty); try another --seed or a larger --m")
    pred = B.phase_predictions(data, lam, p.eps)
    LS = B.saddle_loss(data)
    mask = lambda idx: jnp.asarray(np.isin(np.arange(p.m), idx))  # noqa: E731
    args = dict(data.args(s, p.kink), S1=mask(S1), S2=mask(S2), D1=jnp.asarray(g1.D), D2=jnp.asarray(g2.D),
                nD1=g1.norm, nD2=g2.norm, cap1=g1.capacity, cap2=g2.capacity,
                tol5=lam ** (p.eps / 5), tol14=lam ** (p.eps / 14), tol20=lam ** (p.eps / 20),
                log2c=np.log(2 * c), log3c=np.log(3 * c), eps_loglam=p.eps * np.log(lam),
                LS=LS, ptol=p.plateau_tol)
    args = {k: (jnp.float64(v) if isinstance(v, float) else v) for k, v in args.items()}
    t_end = 1.2 * pred["t3_bound"] + 40.0 / g2.norm
    grid = np.unique(np.concatenate([save_grid(t_end, 500, t_min=1e-3), [pred["t1"]],
                                     np.linspace(pred["plateau_start"], pred["plateau_end"], 60)]))
    if p.coords == "spherical":
        field, state0 = R.spherical_field(), y0
    else:
        R.check_cartesian_tolerance(lam * float(np.linalg.norm(g, axis=1).min()), p.rtol, p.atol)
        field, state0 = R.cartesian_field(), R.CartState(*map(np.asarray, R.to_cartesian(
            R.SphState(*map(jnp.asarray, y0)), jnp.asarray(s))))
    traj = solve(field, state0, t_end, args, solver=p.solver, rtol=p.rtol, atol=p.atol, events=events_for(p.coords),
                 save_ts=grid, dt=p.dt, max_steps=500_000, progress=progress)
    return OrthoRun(float(lam), data, s, traj, {"S1": S1, "S2": S2}, (g1, g2), pred, c, LS, t_end, p.kink)


def run_sweep(p: OrthoParams, progress=None) -> list[OrthoRun]:
    p.validate()
    data = make_data(p)
    _, s, g = R.init(p.m, data.X.shape[1], 1.0, seed=stream(p.seed, 1))
    out = []
    lams = p.lams
    for i, lam in enumerate(lams):
        cb = None if progress is None else (lambda t, t1, i=i: progress(i, len(lams), t, t1))
        run = run_flow(p, float(lam), data, (s, g), cb)
        if p.solver == "gd":  # the step's accuracy: the same solve at half the step
            half = run_flow(dataclasses.replace(p, dt=p.dt / 2), float(lam), data, (s, g))
            run = dataclasses.replace(run, gd_change=max_event_time_change(run.traj, half.traj))
        out.append(run)
    return out


def index_at(run: OrthoRun, t: float) -> int:
    """Index of the saved time closest to ``t`` (event and prediction times are saved exactly)."""
    return int(np.argmin(np.abs(run.traj.ts - t)))


def hypotheses(p: OrthoParams, runs: list[OrthoRun]):
    from gflow.report import Hypothesis

    run = runs[0]
    g1, g2 = run.groups
    form = "orthonormal constants" if run.data.orthonormal else "generalised constants (equal norms per sign group)"
    return [
        Hypothesis("Assumption 1: inputs pairwise orthogonal", "yes", "yes", True, form),
        Hypothesis("Assumption 2: y_k ≠ 0 and ‖D+‖ ≠ ‖D−‖", "‖D+‖ ≠ ‖D−‖", f"{g1.norm:.4g} vs {g2.norm:.4g}", True),
        Hypothesis("Assumption 3: S_{+,1} and S_{−,1} non-empty", "≥ 1 each",
                   f"{len(run.sets['S1'])} and {len(run.sets['S2'])}", True),
        Hypothesis("λ small (the bounds are asymptotic in λ; λ^(ε/5) must be small to mean much)",
                   "λ^(ε/5) ≪ 1", [float(r.lam ** (p.eps / 5)) for r in runs],
                   all(r.lam ** (p.eps / 5) < 0.5 for r in runs)),
    ] + ([Hypothesis(f"numerics: gradient descent at dt = {p.dt:g} approximates the flow — rerun at dt/2, the "
                     f"largest relative change of any phase time ≤ {GD_PHASE_TOL:g}", f"≤ {GD_PHASE_TOL:g}",
                     max(r.gd_change for r in runs), bool(max(r.gd_change for r in runs) <= GD_PHASE_TOL),
                     "; ".join(f"λ={r.lam:g}: {r.gd_change:.3g}" for r in runs))] if p.solver == "gd" else [])


def report(check_id: str, title: str, p: OrthoParams, runs: list[OrthoRun], rows, findings, extra=None):
    from gflow.report import Report

    def per(fn):
        out = {f"{r.lam:g}": fn(r) for r in runs}
        return next(iter(out.values())) if len(runs) == 1 else out

    def phases(r):
        return {"t1": r.pred["t1"], "t2": r.t("t2"), "t3": r.t("t3"), "plateau_start": r.t("plateau_start"),
                "plateau_end": r.t("plateau_end"), "half_fit_first": r.t("half1"), "half_fit_second": r.t("half2"),
                "predicted": r.pred}

    def state(r, i):
        a, W = r.cart()
        return {"a": a[i].tolist(), "W": W[i].tolist(), "s": r.s.tolist()}

    stats = merge_stats(r.traj.stats for r in runs)
    params = p.to_dict()
    params["lam"] = [float(x) for x in p.lams]
    extra = {k: per(v) if callable(v) else v for k, v in (extra or {}).items()}
    return Report(check=check_id, title=title, rows=rows, hypotheses=hypotheses(p, runs), params=params,
                  solver=stats.to_dict(), phase_times=per(phases), initial_state=per(lambda r: state(r, 0)),
                  final_state=per(lambda r: state(r, -1)), findings=findings, context=runs, extra=extra)


def plot(report, path) -> None:
    from gflow.plotting import orthogonal_loss

    orthogonal_loss(report.context, path)


def event_before_bound_row(runs: list[OrthoRun], event: str, bound_key: str, statement: str):
    """Row: the located ``event`` happens for every λ, no later than ``pred[bound_key]``."""
    from gflow.report import Row

    t = np.array([r.t(event) if r.t(event) is not None else np.inf for r in runs])
    bound = np.array([r.pred[bound_key] for r in runs])
    return Row(f"{event}.exists", statement, float((t - bound).max()), f"{event} − bound ≤ 0", bool(np.all(t <= bound)),
               margin=float((bound - t).min()),
               note=f"{event} = " + ", ".join(f"{x:.4g}" for x in t) + "; bound " + ", ".join(f"{b:.4g}" for b in bound))
