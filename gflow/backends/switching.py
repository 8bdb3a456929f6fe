"""Event-driven Runge–Kutta for piecewise-smooth (Filippov) vector fields.

A *switched system* is a family of smooth fields ``f(y, mode)``, one per mode (for a ReLU
network: an activation pattern and a set of sliding constraints), and a rule that tells, from
the values at the two ends of a step, whether and where a switching surface was reached, and
what the mode is after it. Between events the mode is frozen, so every Runge–Kutta stage sees
one smooth field (the polynomial continuation of the pattern beyond its surfaces): the step's
error estimate is valid, and no step is rejected because of a kink. When the model reports an
event inside an accepted step at fraction ``θ`` of it, the step is cut there, the state is taken
from the method's dense output (4th order for Tsit5), and the model's ``resolve`` chooses the
new mode (crossing, sliding entry or exit, in the sense of Filippov's convex combination with
Utkin's equivalent control) and returns the field there, which becomes the first stage of the
next step. This is the classical event-driven scheme for discontinuous ODEs:

* A. F. Filippov, *Differential Equations with Discontinuous Righthand Sides*, Kluwer 1988;
* V. I. Utkin, *Sliding Modes in Control and Optimization*, Springer 1992 (equivalent control);
* L. Dieci, L. Lopez, "Sliding motion in Filippov differential systems: theoretical results
  and a computational approach", SIAM J. Numer. Anal. 47 (2009) 2023–2051;
* the event location of Hairer–Nørsett–Wanner, *Solving ODEs I*, §II.6 (dense output).

One ``jax.jit`` compilation serves a whole solve (and every solve of the same shapes): the loop
runs on the device in a ``lax.while_loop`` and returns to Python only at the save times, where
the host records the state and the mode and reports progress.

**Absorbed crossings.** Where a step reaches surfaces that are all *crossed* (the field on the
far side carries the pair on; no sliding starts or ends), stopping at each is what makes data
with many samples per neuron expensive (N ≫ d: every neuron's hyperplane sweeps over hundreds of
samples). Such a step is instead taken again (pass 2) with each crossing pair's activation frozen
at its *time average* over the step, ``1 − θ`` for a pair that switches on at fraction θ (θ for
one that switches off), and corrected by the leading term of what averaging misses:
for a field ``f + H(t − θh)·g`` the averaged step differs from the switched one by

    θ(1 − θ)·h²/2 · [f, g],   [f, g] = g'·f − f'·g   (the Lie bracket of the two fields),

summed over the crossing pairs (computed with two Jacobian–vector products; see
:func:`gflow.models.relu2_exact` for the derivation's setting). That term is added to the step
(local extrapolation, as Tsit5 propagates its higher-order solution) and is also its error
estimate: the step size control keeps it within the tolerance, so crossings are absorbed only
where they cost no accuracy, and located one by one where they would. A pass 2 whose end state
disagrees with the crossing set (another pair crossed, a sliding pair's α left [0, 1]) is
discarded and the step falls back to locating the first event.

A model provides a :class:`SwitchedSystem`: ``field(y, mode, args) -> (dy, aux)``,
``locate(aux0, aux1, mode, args, h) -> (θ, trigger, absorbable, pend, too_many, lim)`` with ``θ ≤ 1``
when a surface is reached within the step (``trigger``: model data saying which; ``pend``: the
crossing pairs and their θ, ``absorbable`` when every event of the step is such a crossing,
``too_many`` when more pairs crossed than the model can track in one step; ``lim``: the fraction of
the step that can absorb them), ``resolve(y, mode,
trigger, args) -> (y, mode, dy, aux, counts, n_evals)``, ``sliding_pairs(mode) -> int``, and for
absorption ``frac_mode(mode, pend, on)``, ``absorbed_mode(mode, pend, on)``,
``bracket(y, f, mode, pend, args, h) -> (correction, error bound of what it omits, n_evals)``, ``consistent(aux, mode, args)``,
``n_pend(pend)``, ``shorten(pend, ratio)`` (the same crossings on a step ``1/ratio`` as long),
``fix_mismatch(y, aux, mode, args, h) -> (mode, correction, n_evals, n_fixed)`` and
``dense_fix(y, mode, pend, θ, h, args)`` (the switched flow minus the averaged one inside a step).
Optionally ``stopped(mode) -> bool``: a terminal surface was resolved (e.g. Model F's fit margin);
the solve ends there and :func:`integrate` returns its time as ``t_stop``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._config import jax as _jax
from ..errors import SolverError

COUNT_NAMES = ("crossings",            # located or absorbed
               "slide_entries", "slide_exits",
               "null_hits",            # hits resolved without a change
               "crossings_absorbed", "absorbed_steps",
               "absorb_too_coarse",    # pass 2 rejected by the error control (retried with a smaller step)
               "absorb_disagreed")     # pass 2's end disagreed with the crossing set (event located instead)
N_COUNTS = len(COUNT_NAMES)
COUNT = {name: i for i, name in enumerate(COUNT_NAMES)}
SAVE_BLOCK = 64     # save times per dispatch of the compiled loop
ZENO_LIMIT = 1000   # consecutive events without the time advancing: a Zeno point (or a bug)

# status codes of the loop
RUNNING, DONE, MAX_STEPS, NONFINITE, ZENO, STEP_COLLAPSE, STOPPED = 0, 1, 2, 3, 4, 5, 6
STATUS_TEXT = {MAX_STEPS: "hit max_steps", NONFINITE: "produced a non-finite state or field",
               ZENO: f"stopped at a Zeno point ({ZENO_LIMIT} events without time advancing)",
               STEP_COLLAPSE: "step size collapsed below 1e-14 of the time"}


class SwitchedSystem(NamedTuple):
    field: Callable
    locate: Callable
    resolve: Callable
    sliding_pairs: Callable
    resolve_initial: Callable
    codes: Callable
    no_trigger: Callable
    no_pend: Callable
    frac_mode: Callable
    absorbed_mode: Callable
    bracket: Callable
    consistent: Callable
    n_pend: Callable
    shorten: Callable
    dense_fix: Callable
    fix_mismatch: Callable
    stopped: Callable | None = None   # mode -> bool: a terminal surface was reached (the solve ends there)
    defers_exits: bool = False        # locate also returns (θ_d, trig_d, error): the step's sliding exits
                                      # deferred to θ_d (the field is continuous there) and what that costs


class Carry(NamedTuple):
    t: Any
    y: Any
    f: Any          # field at y (first stage of the next step)
    aux: Any        # model data at y
    mode: Any
    h: Any          # proposed step
    steps: Any
    rejected: Any
    evals: Any
    counts: Any     # (N_COUNTS,) int
    slide_pair_time: Any
    slide_time: Any
    zeno: Any
    status: Any
    pending: Any    # an accepted step ended at an event that awaits resolution
    trig: Any       # the model's trigger data of that event
    last_t0: Any    # the last accepted step (for dense output at the save times): start,
    last_h: Any     # full length (before an event cut it),
    last_y0: Any    # start state,
    last_k: Any     # stacked stage increments,
    last_codes: Any  # and the mode it ran in (model codes)
    last_corr: Any  # the bracket correction added at its end (absorbed steps; 0 otherwise)
    absorb: Any     # the next attempt is pass 2 of a step whose crossings are absorbed (data in pend)
    noabs: Any      # the next pass 1 locates its first event instead of absorbing (pass 2 disagreed)
    pend: Any       # the model's crossing pairs and their θ
    last_pend: Any  # the crossing pairs absorbed by the last accepted step (none: not absorbed)


BISECT = 40         # bisections of a cubic Hermite interpolant over a step (θ to 1e-12)


def first_crossing(p0, p1, q0, q1):
    """θ ∈ [0, 1] where the cubic Hermite interpolant over a step (values ``p0``, ``p1`` at its ends,
    slopes times the step ``q0``, ``q1``) first turns > 0, by bisection (0 if ``p0 > 0``; assumes
    ``p1 > 0``). Elementwise: models locate their surfaces with it."""
    jax = _jax()
    jnp = jax.numpy

    def cubic(th):
        h00, h10 = 2 * th**3 - 3 * th**2 + 1, th**3 - 2 * th**2 + th
        h01, h11 = -2 * th**3 + 3 * th**2, th**3 - th**2
        return h00 * p0 + h10 * q0 + h01 * p1 + h11 * q1

    def bis(_, lh):
        lo, hi = lh
        mid = 0.5 * (lo + hi)
        up = cubic(mid) > 0
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    _, hi = jax.lax.fori_loop(0, BISECT, bis, (jnp.zeros_like(p0), jnp.ones_like(p0)))
    return jnp.where(p0 > 0, 0.0, hi)


def alpha_exits(a0, a1, on, eps):
    """Where a sliding pair's equivalent control leaves [0, 1] within the step (linear interpolation
    of α from ``a0`` to ``a1``; the field is continuous at an exit): ``(θ (inf where none), low, high)``."""
    jnp = _jax().numpy
    low = on & (a1 < -eps)
    high = on & (a1 > 1 + eps)
    th = jnp.where(low, a0 / jnp.where(a0 - a1 == 0, 1.0, a0 - a1),
                   jnp.where(high, (1 - a0) / jnp.where(a1 - a0 == 0, 1.0, a1 - a0), jnp.inf))
    return jnp.where(low | high, jnp.clip(th, 0.0, 1.0), jnp.inf), low, high


def _tableau():
    import diffrax

    tab = diffrax.Tsit5.tableau
    return ([np.asarray(r, float) for r in tab.a_lower], np.asarray(tab.b_sol, float),
            np.asarray(tab.b_error, float), diffrax.Tsit5.interpolation_cls)


def _norm(err, y0, y1, rtol, atol):
    """diffrax's RMS norm of the error scaled by ``atol + rtol·max(|y0|, |y1|)``."""
    jax = _jax()
    jnp = jax.numpy
    leaves = jax.tree_util.tree_leaves(jax.tree_util.tree_map(
        lambda e, a, b: (e / (atol + rtol * jnp.maximum(jnp.abs(a), jnp.abs(b)))) ** 2, err, y0, y1))
    size = sum(x.size for x in leaves)
    return jnp.sqrt(sum(jnp.sum(x) for x in leaves) / size)


@functools.lru_cache(maxsize=32)
def _advance_fn(system: SwitchedSystem):
    """Jitted ``advance(carry, t_save, t_end, args, rtol, atol, max_steps) -> (carry, y, codes)``.

    Two nested ``while_loop`` s and no ``lax.cond`` (a conditional copies its operands, and the
    mode holds a neuron × slot × slot array): the inner loop takes Runge–Kutta steps in a frozen
    mode until a step reports an event (or reaches ``t_save``); the outer loop then resolves it.
    An exit of the inner loop without an event resolves an empty trigger, which changes nothing."""
    jax = _jax()
    jnp = jax.numpy
    tmap = jax.tree_util.tree_map
    a_lower, b_sol, b_err, interp_cls = _tableau()

    def sel(p, a, b):
        return tmap(lambda x, y: jnp.where(p, x, y), a, b)

    def step(c: Carry, t_end, args, rtol, atol, max_steps):
        """One attempt: pass 1 (the frozen mode) or, when ``c.absorb``, pass 2 of the same step
        (crossing pairs at their time-averaged activation, plus the bracket correction)."""
        h = jnp.minimum(c.h, t_end - c.t)
        clipped = h < c.h
        ab = c.absorb
        mode_eff = system.frac_mode(c.mode, c.pend, ab)
        f0 = jax.lax.cond(ab, lambda: system.field(c.y, mode_eff, args)[0], lambda: c.f)
        ks = [f0]
        for row in a_lower:
            yi = tmap(lambda y0, *k: y0 + h * sum(w * ki for w, ki in zip(row, k)), c.y, *ks)
            if len(ks) < len(a_lower):
                ks.append(system.field(yi, mode_eff, args)[0])
        y1 = yi  # Tsit5 is FSAL: the last stage is the solution
        f1, aux1 = system.field(y1, mode_eff, args)
        ks.append(f1)
        err = tmap(lambda *k: h * sum(w * ki for w, ki in zip(b_err, k)), *ks)
        zero = tmap(jnp.zeros_like, c.y)
        corr, inter, n_br = jax.lax.cond(ab, lambda: system.bracket(c.y, f0, mode_eff, c.pend, args, h),
                                         lambda: (zero, zero, jnp.zeros((), jnp.int64)))
        y1 = tmap(lambda a, b: a + b, y1, corr)
        en_rk = _norm(err, c.y, y1, rtol, atol)
        en_c = jnp.sqrt(_norm(corr, c.y, y1, rtol, atol) ** 2 + _norm(inter, c.y, y1, rtol, atol) ** 2)
        en = jnp.sqrt(en_rk**2 + en_c**2)
        finite = jnp.isfinite(en) & jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x))
                                                         for x in jax.tree_util.tree_leaves(y1)]))
        # the bracket term is O(h³) per step (O(h²) per crossing, O(h) crossings): exponent 1/3
        factor = jnp.clip(jnp.minimum(0.9 * jnp.maximum(en_rk, 1e-10) ** -0.2,
                                      0.9 * jnp.maximum(en_c, 1e-10) ** (-1.0 / 3.0)), 0.2, 10.0)
        mode_ab = system.absorbed_mode(c.mode, c.pend, ab)
        # pairs whose pass-1 prediction missed by a hair (a crossing just past the end, or one
        # pass 1 did not see): their mode follows their sign at the end, with the first-order fix
        mode_ab, corr_mis, n_mis, n_fixed = jax.lax.cond(
            ab, lambda: system.fix_mismatch(y1, aux1, mode_ab, args, h),
            lambda: (mode_ab, zero, jnp.zeros((), jnp.int64), jnp.zeros((), jnp.int64)))
        y1 = tmap(lambda a, b: a + b, y1, corr_mis)
        en_mis = _norm(corr_mis, c.y, y1, rtol, atol)
        en = jnp.sqrt(en**2 + en_mis**2)
        ok_err = finite & (en <= 1.0)
        # the mismatch fixes are first order in h (exponent 1): without this a pass 2 failing on them
        # shrank by 0.9 per retry. Measured on the Gaussian n < d example, t = 16 … 26: 51 046 evaluations
        # before (1 487 pass 2s too coarse, nearly all on mismatches of 50–300× the tolerance), 29 814 now
        # (locating every crossing: 24 597); `simplicity.theorem2` 151 071 (was 157 791).
        factor = jnp.clip(jnp.minimum(factor, 0.9 / jnp.maximum(en_mis, 1e-10)), 0.2, 10.0)
        f_ab, aux_ab = jax.lax.cond(ab, lambda: system.field(y1, mode_ab, args), lambda: (f1, aux1))
        consistent = system.consistent(aux_ab, mode_ab, args)
        kst = tmap(lambda *k: h * jnp.stack(k), *ks)

        # pass 1: where does the frozen mode meet a surface, and can the step absorb it?
        theta, trig, absorbable, pend, too_many, lim, *defer = system.locate(c.aux, aux1, c.mode, args, h)
        if system.defers_exits:   # exits resolved late, at the next other event or the step's end
            th_d, trig_d, err_d = defer[0]
            en_d = _norm(type(c.y)(*err_d), c.y, y1, rtol, atol)
            use_d = ~ab & (th_d > theta) & (jnp.sqrt(en**2 + en_d**2) <= 1.0) & ~(absorbable & ~c.noabs)
            theta = jnp.where(use_d, th_d, theta)
            trig = tmap(lambda u, v: jnp.where(use_d, u, v), trig_d, trig)
        cut = jnp.minimum(1.0, 0.99 * lim)   # absorb on [0, cut·h]: the crossings before the first other event
        p1 = ~ab
        accept1 = p1 & ok_err & ~too_many
        event = accept1 & (theta <= 1.0)
        go_abs = event & absorbable & ~c.noabs
        ev_route = event & ~go_abs
        accept2 = ab & ok_err & consistent
        accept = (accept1 & ~go_abs) | accept2
        h_grow = jnp.where(clipped, jnp.maximum(c.h, h * factor), h * factor)
        h_next = jnp.where(accept, h_grow, h * jnp.minimum(factor, 0.9))
        h_next = jnp.where(ab & ok_err & ~consistent, c.h, h_next)   # the retry: same step
        h_next = jnp.where(go_abs, h * cut, h_next)                  # pass 2
        # pass 2 too coarse: retry pass 2 on the shorter step (pass 1's θ rescale: its frozen-mode
        # trajectory is valid on any part of the step; pairs beyond the new end drop out)
        retry2 = ab & finite & ~ok_err
        h_next = jnp.where(p1 & ok_err & too_many, 0.5 * h, h_next)
        h_next = jnp.where(finite, h_next, 0.25 * h)

        th = jnp.clip(theta, 0.0, 1.0)
        y_ev = interp_cls(t0=0.0, t1=1.0, y0=c.y, y1=y1, k=kst).evaluate(th)
        t_full = jnp.where(clipped, t_end, c.t + h)
        t_new = jnp.where(accept, jnp.where(ev_route & (th < 1.0), c.t + th * h, t_full), c.t)
        y_new = sel(accept, sel(ev_route, y_ev, y1), c.y)
        f_new = sel(accept & ~ev_route, sel(ab, f_ab, f1), c.f)   # after an event the resolution re-evaluates
        aux_new = sel(accept & ~ev_route, sel(ab, aux_ab, aux1), c.aux)
        mode_new = c.mode._replace(A=jnp.where(accept2, mode_ab.A, c.mode.A))   # absorbed pairs and fixes
        trig = tmap(lambda x: x & ev_route, trig)
        dt = t_new - c.t
        k = system.sliding_pairs(c.mode)
        n_abs = system.n_pend(c.pend)
        counts = (c.counts.at[COUNT["crossings"]].add(jnp.where(accept2, n_abs + n_fixed, 0))
                  .at[COUNT["crossings_absorbed"]].add(jnp.where(accept2, n_abs + n_fixed, 0))
                  .at[COUNT["absorbed_steps"]].add(accept2)
                  .at[COUNT["absorb_too_coarse"]].add(ab & ~ok_err)
                  .at[COUNT["absorb_disagreed"]].add(ab & ok_err & ~consistent))
        out = c._replace(
            t=t_new, y=y_new, f=f_new, aux=aux_new, mode=mode_new, h=h_next, pending=ev_route, trig=trig,
            steps=c.steps + accept, rejected=c.rejected + ~(accept | go_abs),
            evals=c.evals + len(a_lower) + jnp.where(ab, 2 + n_br + n_mis, 0), counts=counts,
            slide_pair_time=c.slide_pair_time + dt * k, slide_time=c.slide_time + jnp.where(k > 0, dt, 0.0),
            zeno=jnp.where(accept & (dt > 0), 0, c.zeno + ev_route),
            last_t0=jnp.where(accept, c.t, c.last_t0), last_h=jnp.where(accept, h, c.last_h),
            last_y0=sel(accept, c.y, c.last_y0), last_k=sel(accept, kst, c.last_k),
            last_codes=jnp.where(accept, system.codes(c.mode), c.last_codes),
            last_corr=sel(accept, corr, c.last_corr),
            last_pend=sel(accept2, c.pend, sel(accept, system.no_pend(c.mode), c.last_pend)),
            absorb=go_abs | retry2,
            noabs=jnp.where(ab & ok_err & ~consistent, True, jnp.where(accept, False, c.noabs)),
            pend=sel(go_abs, system.shorten(pend, 1.0 / cut), sel(retry2, system.shorten(c.pend, h / h_next), c.pend)))
        scale = 1e-14 * jnp.maximum(1.0, jnp.abs(c.t))
        status = jnp.where(~finite & (h < scale), NONFINITE, RUNNING)
        status = jnp.where(finite & (h_next < scale), STEP_COLLAPSE, status)
        status = jnp.where(out.steps + out.rejected >= max_steps, MAX_STEPS, status)
        status = jnp.where(out.zeno >= ZENO_LIMIT, ZENO, status)
        return out._replace(status=status)

    def advance(c: Carry, t_save, t_end, args, rtol, atol, max_steps):
        """Step (never past ``t_end``) until ``t ≥ t_save``; return the carry and the state and
        mode codes at ``t_save`` from the dense output of the step that covers it."""

        def inner(c):
            return jax.lax.while_loop(lambda c: (c.status == RUNNING) & ~c.pending & (c.t < t_save),
                                      lambda c: step(c, t_end, args, rtol, atol, max_steps), c)

        def outer(c):
            c = inner(c)
            y, mode, f, aux, counts, n_ev = system.resolve(c.y, c.mode, c.trig, args)
            c = c._replace(y=y, mode=mode, f=f, aux=aux, counts=c.counts + counts,
                           evals=c.evals + jnp.where(c.pending, n_ev, 0), pending=False,
                           trig=tmap(lambda x: x & False, c.trig))
            if system.stopped is not None:
                c = c._replace(status=jnp.where((c.status == RUNNING) & system.stopped(mode), STOPPED, c.status))
            return c._replace(status=jnp.where((c.status == RUNNING) & (c.t >= t_save), DONE, c.status))

        c = c._replace(status=jnp.where(c.status != RUNNING, c.status, jnp.where(c.t >= t_save, DONE, RUNNING)))
        c = jax.lax.while_loop(lambda c: c.status == RUNNING, outer, c)
        th = jnp.clip((t_save - c.last_t0) / jnp.where(c.last_h > 0, c.last_h, 1.0), 0.0, 1.0)
        y_dense = interp_cls(t0=0.0, t1=1.0, y0=c.last_y0, y1=c.y, k=c.last_k).evaluate(th)
        y_dense = tmap(lambda a, b: a + th * b, y_dense, c.last_corr)
        # inside an absorbed step the interpolant is the averaged flow's: add each crossing pair's
        # first-order difference to the switched one (zero at the step's ends)
        y_dense = tmap(lambda a, b: a + b, y_dense,
                       system.dense_fix(y_dense, c.mode, c.last_pend, th, c.last_h, args))
        at_end = t_save >= c.t
        y_s = sel(at_end, c.y, y_dense)
        codes = jnp.where(at_end, system.codes(c.mode), c.last_codes)
        return c, y_s, codes

    def advance_many(c: Carry, t_saves, t_end, args, rtol, atol, max_steps):
        """:func:`advance` through a block of save times (one dispatch per block); after a
        failure the remaining times of the block leave the carry unchanged."""

        def one(c, t_s):
            ok = c.status == DONE
            c2, y_s, codes = advance(c._replace(status=jnp.where(ok, RUNNING, c.status)), t_s, t_end,
                                     args, rtol, atol, max_steps)
            return jax.lax.cond(ok, lambda: c2, lambda: c), (y_s, codes)

        c = c._replace(status=jnp.asarray(DONE, c.status.dtype))
        return jax.lax.scan(one, c, t_saves)

    return jax.jit(advance_many)


@functools.lru_cache(maxsize=32)
def _start_fn(system: SwitchedSystem):
    jax = _jax()
    return jax.jit(system.resolve_initial)


@functools.lru_cache(maxsize=32)
def _field_fn(system: SwitchedSystem):
    jax = _jax()
    return jax.jit(system.field)


def initial_step(f, y, rtol, atol, span):
    """Hairer–Nørsett–Wanner's first guess ``0.01·‖y‖/‖f‖`` in the error norm, capped by the span."""
    jax = _jax()
    leaves_y = [np.asarray(x) for x in jax.tree_util.tree_leaves(y)]
    leaves_f = [np.asarray(x) for x in jax.tree_util.tree_leaves(f)]
    sc = [atol + rtol * np.abs(v) for v in leaves_y]
    d0 = np.sqrt(sum(np.sum((v / s) ** 2) for v, s in zip(leaves_y, sc)) / sum(v.size for v in leaves_y))
    d1 = np.sqrt(sum(np.sum((v / s) ** 2) for v, s in zip(leaves_f, sc)) / sum(v.size for v in leaves_y))
    h = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    return float(min(h, span))


class SwitchedResult(NamedTuple):
    ts: np.ndarray
    ys: Any
    modes: list
    stats: dict
    final_mode: Any
    t_stop: float | None = None   # where a terminal surface (``system.stopped``) ended the solve


def integrate(system: SwitchedSystem, y0, t0: float, save_ts: np.ndarray, args, *, rtol: float, atol: float,
              max_steps: int, progress: Callable | None = None, mode0=None) -> SwitchedResult:
    """Integrate from ``t0`` through every time in ``save_ts`` (increasing, > t0); the state and
    the model's mode codes are recorded at ``t0`` and at each save time (dense output). ``mode0``:
    the mode at ``t0`` (continuing a solve); by default it is resolved from the state. Raises
    :class:`gflow.errors.SolverError` on max_steps, a non-finite state, a step collapse or a Zeno
    point, with the time reached."""
    jax = _jax()
    jnp = jax.numpy
    tmap = jax.tree_util.tree_map
    y0 = tmap(lambda a: jnp.asarray(a, jnp.float64), y0)
    tc = time.perf_counter()
    advance = _advance_fn(system)
    start = _start_fn(system)
    if mode0 is None:
        y, mode, f, aux, n_ev = start(y0, args)
    else:
        y, mode, n_ev = y0, mode0, 1
        f, aux = _field_fn(system)(y, mode, args)
    h0 = initial_step(f, y, rtol, atol, float(save_ts[-1] - t0))
    z = jnp.zeros((), jnp.int64)
    carry = Carry(t=jnp.float64(t0), y=y, f=f, aux=aux, mode=mode, h=jnp.float64(h0), steps=z, rejected=z,
                  evals=jnp.asarray(n_ev, jnp.int64), counts=jnp.zeros(N_COUNTS, jnp.int64),
                  slide_pair_time=jnp.float64(0.0), slide_time=jnp.float64(0.0), zeno=z, status=z,
                  pending=jnp.zeros((), bool), trig=system.no_trigger(mode),
                  last_t0=jnp.float64(t0), last_h=jnp.float64(0.0), last_y0=y,
                  last_k=tmap(lambda a: jnp.zeros((7,) + a.shape, a.dtype), y), last_codes=system.codes(mode),
                  last_corr=tmap(jnp.zeros_like, y), absorb=jnp.zeros((), bool), noabs=jnp.zeros((), bool),
                  pend=system.no_pend(mode), last_pend=system.no_pend(mode))
    rt, at, ms = jnp.float64(rtol), jnp.float64(atol), jnp.int64(max_steps)
    t_end = jnp.float64(save_ts[-1])
    blocks = np.array_split(save_ts, max(1, int(np.ceil(len(save_ts) / SAVE_BLOCK))))
    width = max(len(b) for b in blocks)
    pad = lambda b: np.concatenate([b, np.full(width - len(b), b[-1])])  # noqa: E731  (repeats: no-ops)
    compiled = advance.lower(carry, jnp.asarray(pad(blocks[0])), t_end, args, rt, at, ms).compile()
    compile_s = time.perf_counter() - tc
    ts, ys, modes = [float(t0)], [tmap(np.asarray, y)], [np.asarray(system.codes(mode))]
    tw = time.perf_counter()
    t_stop = None
    for block in blocks:
        carry, (y_b, codes_b) = compiled(carry, jnp.asarray(pad(block)), t_end, args, rt, at, ms)
        status = int(carry.status)
        if status == STOPPED:   # a terminal surface: keep the save times before it, then the stop itself
            t_stop = float(carry.t)
            y_b, codes_b = tmap(np.asarray, y_b), np.asarray(codes_b)
            for i, t_s in enumerate(block):
                if t_s < t_stop:
                    ts.append(float(t_s))
                    ys.append(tmap(lambda v: v[i], y_b))
                    modes.append(codes_b[i])
            ts.append(t_stop)
            ys.append(tmap(np.asarray, carry.y))
            modes.append(np.asarray(system.codes(carry.mode)))
            break
        if status != DONE:
            raise SolverError(f"the event-driven solver {STATUS_TEXT.get(status, status)} "
                              f"(integration reached t = {float(carry.t):.6g}; {int(carry.steps)} steps, "
                              f"{int(carry.counts[0])} crossings, {int(carry.counts[1])} sliding entries)",
                              t_reached=float(carry.t))
        y_b, codes_b = tmap(np.asarray, y_b), np.asarray(codes_b)
        for i, t_s in enumerate(block):
            ts.append(float(t_s))
            ys.append(tmap(lambda v: v[i], y_b))
            modes.append(codes_b[i])
        if progress is not None:
            progress(float(block[-1]), float(save_ts[-1]))
    wall = time.perf_counter() - tw
    counts = np.asarray(carry.counts)
    stats = {"steps": int(carry.steps), "rejected": int(carry.rejected), "rhs_evals": int(carry.evals),
             "wall_s": wall, "compile_s": compile_s, "segments": len(blocks),
             **{k: int(v) for k, v in zip(COUNT_NAMES, counts)},
             "sliding_time": float(carry.slide_time), "sliding_pair_time": float(carry.slide_pair_time)}
    return SwitchedResult(np.asarray(ts), tmap(lambda *a: np.stack(a), *ys), modes, stats, carry.mode, t_stop)
