"""The default backend: diffrax, with exact events and restarts.

Events are located with :class:`diffrax.Event` and ``optimistix.Bisection`` on the
bracketing step's dense interpolant. diffrax events are terminal, so a solve with
several events runs in *segments*: integrate until the first pending event, record it,
restart from there with that event masked out. Masks, levels and time spans are
traced arguments: one compilation serves every segment, every δ of a sweep and every
threshold value.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._config import jax as _jax
from ..errors import SolverError
from ..events import Event, Occurrence
from ..trajectory import SolverStats, Trajectory
from ._common import first_finite_prefix

# Explicit Runge–Kutta methods: new vector-field evaluations per attempted step
# (first-same-as-last tableaux reuse the last stage) and evaluations at start-up.
# Verified against an instrumented vector field in tests/test_solve.py.
EXPLICIT = {
    "tsit5": ("Tsit5", 6, 1),
    "dopri5": ("Dopri5", 6, 1),
    "dopri8": ("Dopri8", 13, 1),
    "bosh3": ("Bosh3", 3, 2),
    "heun": ("Heun", 2, 1),
    "gd": ("Euler", 1, 0),
}
IMPLICIT = {"kvaerno5": "Kvaerno5", "kvaerno3": "Kvaerno3"}
NEWTON_RTOL, NEWTON_ATOL = 1e-8, 1e-10   # the implicit solvers' Newton tolerance floor (see _segment_fn)
SOLVERS = tuple(EXPLICIT) + tuple(IMPLICIT)

_MASKED = -1e300  # value of a masked (already recorded) event: never crosses zero
COMPILED_CACHE_SIZE = 64   # executables kept in memory (JAX's persistent cache keeps them on disk too)
_COMPILED: collections.OrderedDict = collections.OrderedDict()  # (jitted fn, argument shapes) -> executable


def _compiled(key, build):
    """The executable for ``key``, built on a miss; least recently used ones beyond the bound are dropped."""
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        return _COMPILED[key], False
    exe = _COMPILED[key] = build()
    while len(_COMPILED) > COMPILED_CACHE_SIZE:
        _COMPILED.popitem(last=False)
    return exe, True


class _EvalCounter:
    """Field evaluations seen by instrumented solves (implicit solvers: diffrax does not report them). A solve
    reads the difference across its run; the lock keeps concurrent increments exact."""

    def __init__(self):
        self._n = 0
        self._lock = threading.Lock()

    def add(self, n) -> np.ndarray:
        with self._lock:
            self._n += int(np.sum(n))
        return np.zeros((), np.int32)

    @property
    def value(self) -> int:
        with self._lock:
            return self._n


_EVALS = _EvalCounter()


def _instrumented(vf):
    jax = _jax()
    import jax.numpy as jnp
    from jax.experimental import io_callback

    def counted(t, y, args):
        out = vf(t, y, args)
        tok = io_callback(_EVALS.add, jax.ShapeDtypeStruct((), jnp.int32), jnp.int32(1))
        return jax.tree_util.tree_map(lambda a: a + 0 * tok, out)

    return counted


@functools.lru_cache(maxsize=None)
def _event_bisection():
    """optimistix's Bisection, also stopping once the bracket is down to a few float64 spacings of t.

    Bisection stops when the bracket is small *and* |event value| < atol. Late on a long plateau the
    event value can move by more than atol between adjacent floats of t (Model H, δ = 1e−4: W_11 crosses
    µ0 at t ≈ 2·10⁷, where one spacing of t is 3.7e−9 and W_11 grows at 0.4 per unit time, so 1.5e−9 per
    spacing against atol 1e−10): there the bisection cannot meet its own test and failed with "nonlinear
    max steps reached". At float resolution the time is as located as it can be."""
    import jax.numpy as jnp
    import optimistix as optx

    class FloatResolutionBisection(optx.Bisection):
        def terminate(self, fn, y, args, options, state, tags):
            done, result = super().terminate(fn, y, args, options, state, tags)
            spacing = 8 * jnp.finfo(jnp.float64).eps * jnp.maximum(jnp.abs(state.lower), jnp.abs(state.upper))
            return done | (jnp.abs(state.upper - state.lower) <= spacing), result

    return FloatResolutionBisection


@functools.lru_cache(maxsize=64)
def _segment_fn(vf: Callable, event_fns: tuple, solver: str, max_steps: int, count: bool):
    """A jitted ``(y0, args, t0, t1, ts, pending, dt0) -> (ts, ys, t_end, y_end, stats)``."""
    jax = _jax()
    import diffrax
    import jax.numpy as jnp
    import optimistix as optx

    field = _instrumented(vf) if count else vf
    term = diffrax.ODETerm(lambda t, y, a: field(t, y, a["__user"]))
    def make_solver(rtol, atol):
        if solver in EXPLICIT:
            return getattr(diffrax, EXPLICIT[solver][0])()
        # Newton (chord) iterations to the step's own tolerance, but no tighter than 1e-8/1e-10: measured on
        # Model H (RESULTS.md), tying them to a tight step tolerance cost ~10 % more evaluations, a fixed
        # 1e-8 made loose solves ~2× dearer than needed
        return getattr(diffrax, IMPLICIT[solver])(
            root_finder=optx.Chord(rtol=jnp.maximum(rtol, NEWTON_RTOL), atol=jnp.maximum(atol, NEWTON_ATOL),
                                   norm=optx.rms_norm)
        )

    def cond(t, y, args, **kwargs):
        pending = args["__pending"]
        vals = jnp.stack([jnp.asarray(fn(y, args["__user"]), jnp.float64) for fn in event_fns])
        return jnp.max(jnp.where(pending, vals, _MASKED))

    event = None
    if event_fns:
        # Bisection on the step's bracket (diffrax passes it): cannot diverge on a coarse
        # interpolant, unlike Newton, which failed at rtol 1e-2 in benchmarks/adaptive_vs_gd.py.
        # Every event is an up-crossing, so flip=False: "detect" adds an eqx.error_if host
        # callback, and executables with callbacks are never written to the persistent cache.
        event = diffrax.Event(cond, _event_bisection()(rtol=1e-13, atol=1e-10, flip=False), direction=True)

    def run(y0, args, t0, t1, ts, pending, dt0, rtol, atol):
        if solver == "gd":
            controller = diffrax.ConstantStepSize()
        else:
            controller = diffrax.PIDController(rtol=rtol, atol=atol)
        sol = diffrax.diffeqsolve(
            term,
            make_solver(rtol, atol),
            t0,
            t1,
            dt0,
            y0,
            {"__user": args, "__pending": pending},
            saveat=diffrax.SaveAt(ts=ts, t1=True),
            stepsize_controller=controller,
            event=event,
            max_steps=max_steps,
            throw=False,
        )
        code = jnp.int32(len(RESULT_NAMES))               # "unknown": a result this list does not name
        for i, name in enumerate(RESULT_NAMES):
            if hasattr(diffrax.RESULTS, name):
                code = jnp.where(sol.result == getattr(diffrax.RESULTS, name), jnp.int32(i), code)
        return sol.ts, sol.ys, code, sol.stats

    def event_values(y, args):
        return jnp.stack([jnp.asarray(fn(y, args), jnp.float64) for fn in event_fns])

    return jax.jit(run), jax.jit(event_values) if event_fns else None, jax.jit(vf)


# diffrax's outcomes, mapped to small codes inside the compiled solve through the public RESULTS members
RESULT_NAMES = ("successful", "event_occurred", "max_steps_reached", "dt_min_reached", "singular", "breakdown",
                "nonlinear_max_steps_reached", "nonlinear_divergence")


def _result_code(name: str) -> int:
    return RESULT_NAMES.index(name)


def _result_name(code: int) -> str:
    return (RESULT_NAMES[code] if 0 <= code < len(RESULT_NAMES) else "unknown").replace("_", " ")


def solve(
    vector_field: Callable,
    y0: Any,
    t1: float,
    args: Any = None,
    *,
    t0: float = 0.0,
    solver: str = "tsit5",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    events: Sequence[Event] = (),
    save_ts: np.ndarray | None = None,
    max_steps: int = 200_000,
    dt: float | None = None,
    count_evals: bool | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> Trajectory:
    jax = _jax()
    import jax.numpy as jnp

    if solver not in SOLVERS:
        raise ValueError(f"unknown diffrax solver {solver!r}")
    if solver == "gd":
        if dt is None or not dt > 0:
            raise ValueError("gradient descent needs a step dt > 0")
        # a terminal event may stop it early; otherwise hitting max_steps raises as for any solver
        max_steps = min(int(np.ceil((t1 - t0) / dt)) + 16, max_steps)
    count = bool(count_evals)   # explicit methods are counted from their tableau; implicit ones only on request
    event_fns = tuple(e.fn for e in events)
    run, event_values, field = _segment_fn(vector_field, event_fns, solver, max_steps, count)

    y0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), y0)
    save_ts = np.asarray([t0, t1] if save_ts is None else save_ts, np.float64)
    if save_ts.ndim != 1 or np.any(np.diff(save_ts) < 0):
        raise ValueError("save_ts must be a non-decreasing 1-D array")
    save_ts = np.clip(save_ts, t0, t1)
    pending = np.ones(len(events), bool)
    stats = SolverStats(name=solver, rtol=None if solver == "gd" else rtol,
                        atol=None if solver == "gd" else atol, step=dt)
    occurred: dict[str, Occurrence] = {}
    pieces_t: list[np.ndarray] = []
    pieces_y: list[Any] = []
    t_now, y_now = float(t0), y0
    to_np = functools.partial(jax.tree_util.tree_map, np.asarray)

    def record(hit, t, y):
        for i in np.flatnonzero(hit):
            occurred[events[i].name] = Occurrence(float(t), to_np(y))
            pending[i] = False

    if event_values is not None:  # events already true at t0 happen at t0
        at_start = pending & (np.asarray(event_values(y_now, args)) >= 0)
        record(at_start, t_now, y_now)
        if any(events[i].terminal for i in np.flatnonzero(at_start)):
            leaves = jax.tree_util.tree_map(lambda a: np.asarray(a)[None], y_now)
            return Trajectory(ts=np.asarray([t_now]), ys=leaves, events=occurred, stats=stats, t1=float(t1))
    evals_before = _EVALS.value
    compiled = None
    while True:
        call = (y_now, args, jnp.float64(t_now), jnp.float64(t1), jnp.asarray(np.maximum(save_ts, t_now)),
                jnp.asarray(pending), None if solver != "gd" else jnp.float64(dt),
                jnp.float64(rtol), jnp.float64(atol))
        if compiled is None:
            key = (run, jax.tree_util.tree_structure(call),
                   tuple((np.shape(x), str(getattr(x, "dtype", type(x)))) for x in jax.tree_util.tree_leaves(call)))
            tc = time.perf_counter()
            compiled, built = _compiled(key, lambda: run.lower(*call).compile())
            if built:
                stats.compile_s += time.perf_counter() - tc
        tw = time.perf_counter()
        out_ts, out_ys, result, sstats = jax.block_until_ready(compiled(*call))
        stats.wall_s += time.perf_counter() - tw
        stats.segments += 1
        out_ts, out_ys, result = np.asarray(out_ts), to_np(out_ys), int(result)
        accepted, rejected = int(sstats["num_accepted_steps"]), int(sstats["num_rejected_steps"])
        stats.steps += accepted
        stats.rejected += rejected
        if solver in EXPLICIT:
            _, per_step, init = EXPLICIT[solver]
            stats.rhs_evals += per_step * (accepted + rejected) + init

        # diffrax fills the save slots up to the end of the segment, then stores the
        # final (event or t1) state in the next slot; the remaining slots are inf.
        finite_t = np.flatnonzero(np.isfinite(out_ts))
        n_slots = int(finite_t[-1]) if finite_t.size else 0
        t_end = float(out_ts[n_slots]) if finite_t.size else t_now
        first = not pieces_t
        idx = np.arange(n_slots)
        keep = ((save_ts[idx] > t_now) | (first & (save_ts[idx] == t_now))) & (save_ts[idx] <= t_end)
        keep &= np.concatenate([[True], save_ts[idx][1:] > save_ts[idx][:-1]])[: n_slots]
        seg_t = out_ts[idx][keep]
        seg_y = jax.tree_util.tree_map(lambda a: a[idx][keep], out_ys)
        end_y = jax.tree_util.tree_map(lambda a: a[n_slots:n_slots + 1], out_ys)
        ok_codes = (_result_code("successful"), _result_code("event_occurred"))
        n_ok = first_finite_prefix(np.concatenate([seg_t, [t_end]]),
                                   [np.concatenate([s, e]) for s, e in zip(jax.tree_util.tree_leaves(seg_y),
                                                                           jax.tree_util.tree_leaves(end_y))])
        if result not in ok_codes or n_ok < len(seg_t) + 1:
            if n_ok == len(seg_t) + 1:  # the state is finite where the solver stopped
                reached, y_last = t_end, jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), end_y)
            else:
                reached = float(seg_t[n_ok - 1]) if n_ok else t_now
                y_last = jax.tree_util.tree_map(lambda a: jnp.asarray(a[n_ok - 1]), seg_y) if n_ok else y_now
            raise SolverError(_failure_message(result, solver, max_steps, reached, y_last, args, field,
                                               n_ok <= len(seg_t), rejected), t_reached=reached)
        pieces_t += [seg_t, np.asarray([t_end])]
        pieces_y += [seg_y, end_y]
        y_end = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), end_y)
        if progress is not None:
            progress(t_end, float(t1))
        if result == _result_code("event_occurred"):
            vals = np.asarray(event_values(y_end, args))
            hit = pending & (vals >= -1e-9 * (1.0 + np.abs(vals)))
            if not hit.any():  # the root finder stopped just short: take the largest pending
                hit = pending & (vals == np.max(np.where(pending, vals, -np.inf)))
            record(hit, t_end, y_end)
            t_now, y_now = t_end, y_end
            if t_end < t1 and not any(events[i].terminal for i in np.flatnonzero(hit)):
                continue
        break
    if count:
        stats.rhs_evals = _EVALS.value - evals_before
    elif solver in IMPLICIT:
        stats.rhs_evals = None   # not counted: see SolverStats
    ts = np.concatenate(pieces_t)
    ys = jax.tree_util.tree_map(lambda *a: np.concatenate(a), *pieces_y)
    t1 = float(ts[-1]) if ts[-1] < t1 else t1  # stopped early at a terminal event
    # drop repeated times (an event exactly on a save point, t1 saved twice)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    uniq = np.concatenate([[True], ts[1:] > ts[:-1]])
    ys = jax.tree_util.tree_map(lambda a: a[order][uniq], ys)
    return Trajectory(ts=ts[uniq], ys=ys, events=occurred, stats=stats, t1=float(t1))


def _failure_message(result, solver, max_steps, reached, y_last, args, field, state_bad, rejected):
    """One line: what went wrong, where, and whether the state or the field is non-finite there."""
    jax = _jax()

    if result == _result_code("max_steps_reached"):
        what = f"hit max_steps={max_steps}"
    elif result in (_result_code("successful"), _result_code("event_occurred")):
        what = "produced a non-finite state"
    else:
        what = f"failed (diffrax result: {_result_name(result)})"
    if state_bad:
        what += "; the state became NaN/inf"
    else:
        # probe the field at and just after the point reached: a NaN/inf or singular field
        # there makes the adaptive controller reject every step until max_steps
        scale = max(1.0, abs(reached))
        for dt in (0.0, 1e-12, 1e-9, 1e-6, 1e-3):
            f = field(reached + dt * scale, y_last, args)
            if not all(np.all(np.isfinite(np.asarray(v))) for v in jax.tree_util.tree_leaves(f)):
                what += f"; the vector field is NaN/inf {'at' if dt == 0 else 'just after'} that point"
                break
        else:
            if rejected:
                what += f" ({rejected} steps rejected in the last segment)"
    return f"solver {solver} {what} (integration reached t = {reached:.6g})"
