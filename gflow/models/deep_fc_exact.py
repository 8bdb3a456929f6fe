"""The exact (Filippov) gradient flow of Model F with ReLU: crossings and sliding in every layer.

Model F (:mod:`gflow.models.deep_fc`) with σ = ReLU has a gradient field that jumps wherever a
hidden pre-activation ``z_{l,k,j}`` (layer l, sample k, unit j) is 0. With the activation pattern
``D_l ∈ {0, 1}^{N×width}`` frozen, the network is ``g = V_r(D_{r−1} ⊙ (V_{r−1} ⋯ D_1 ⊙ (V_1 x + c_1) ⋯))
+ b``, a polynomial in the weights, and its cross-entropy flow is smooth. On a surface
``Σ_p = {z_p = 0}`` Filippov's solution replaces ``D_p`` by ``α_p ∈ [0, 1]`` (the convex
combination of the two one-sided fields). Utkin's *equivalent control* picks the α of the
sliding pairs P so that they stay on their surfaces:

    F(α) = ( d/dt z_p )_{p ∈ P} = ( ∂z_p/∂θ · v(θ; D(α)) )_{p ∈ P} = 0,

with ``v = −∇_θ (1/N) L(θ; D)``. Unlike the two-layer case (:mod:`gflow.models.relu2_exact`), where
the condition is linear and the neurons decouple, here ``v`` is *multilinear* in the D's of one
sample across layers (the backward pass multiplies them), so ``F`` is a polynomial; it is affine
in each α_p alone. It is solved by Newton's method in α (the Jacobian ``∂F/∂α`` by one
forward-mode derivative per used slot, its pseudo-inverse where a slot's rate does not depend on
the α's) at every field evaluation, from the α of the last event, until no α moves by more than
``NEWTON_TOL`` (two iterations when F is affine: no sample slides in two layers at once). The
forward pass does not depend on α (``z_p = 0``), so neither do the logits, the loss or the margins.

A pair slides while its α stays in [0, 1] and leaves to the active side when α reaches 1, to the
inactive side when it reaches 0 (located by linear interpolation of α across the step). A pair
reaching its surface is entered tentatively as a sliding pair; if its equivalent control is
outside [0, 1] the far side's field carries it on and it *crosses* (since ``d z_p/dt`` is affine in
``α_p``, this is Filippov's transversality test; with several coupled pairs at once the slot
furthest outside [0, 1] is released first, then the rest re-solved: an active-set step). A pair of
layer l ≥ 2 whose inputs ``h_{l−1,k}`` all sit at their surfaces (a corner: the sample's last active
unit below is switching) meets its surface with them; its activation does not matter there and it
takes the side it moves to. The event-driven Tsit5 of
:mod:`gflow.backends.switching` integrates between events with the pattern frozen (every stage
sees one smooth field) and locates events on the cubic Hermite interpolant of each ``z_p``.
References: Filippov (1988); Utkin (1992); Dieci & Lopez, SIAM J. Numer. Anal. 47 (2009).

Model F's training stops at the first time every sample has margin ≥ m (``fit``): that surface is
located the same way (per sample and class, the cubic interpolant of the margin slack) and ends
the solve. Crossings are not absorbed here (N is small; every crossing is located).

Sliding pairs live in ``P`` slots (:data:`SLOTS` by default; more at once is a solver error).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .._config import jax as _jax
from ..backends.switching import COUNT_NAMES, SwitchedSystem, alpha_exits, first_crossing
from . import deep_fc as F

EPS_Z = 1e-11      # beyond EPS_Z (relative to the pre-activation's scale) a pair counts as across its surface
HIT_REL = 1e-3     # ... or beyond HIT_REL·rtol (the solver's own error in z is ~rtol)
EPS_ALPHA = 1e-9   # α beyond [−EPS_ALPHA, 1 + EPS_ALPHA] ends sliding
NEWTON_MAX = 8     # Newton iterations for the equivalent control at an evaluation, at most
NEWTON_TOL = 1e-12  # ... until no α moves by more than this (two when F is affine: the usual case)
SLOTS = 32         # sliding pairs tracked at once (default)
PINV_RTOL = 1e-12  # singular values of ∂F/∂α below this × the largest are dropped
DEGENERATE = 1e-6  # a layer's input ‖h_{l−1,k}‖ below this × ‖z_{l−1,k}‖: its pairs are at a corner

INACTIVE, ACTIVE, SLIDING = 0, 1, 2


class FMode(NamedTuple):
    A: object        # (L, N, W) 1.0 where the pair is active and not sliding
    S: object        # (L, N, W) bool: the pair slides
    sl: object       # (P,) layer of each sliding slot
    sk: object       # (P,) sample
    sj: object       # (P,) unit
    on: object       # (P,) slot in use
    alpha: object    # (P,) equivalent control at the last event (Newton's start)
    stop: object     # () bool: the fit surface was reached
    overflow: object  # () bool: more sliding pairs than slots


class FAux(NamedTuple):
    pre: object      # (L, N, W) hidden pre-activations z
    dpre: object     # (L, N, W) dz/dt
    scale: object    # (L, N, W) ‖V_l[j]‖·‖h_{l−1,k}‖ + |c_l[j]|: the size a pre-activation is measured against
    alpha: object    # (P,) equivalent control of the slots
    slack: object    # (N, k) margin slack own − other − m (+inf for the own class)
    dslack: object   # (N, k) its time derivative


class NoPend(NamedTuple):
    """Model F locates every crossing: nothing is ever absorbed."""

    none: object


def _D(mode: FMode, alpha):
    """The activation derivatives: the pattern, with the sliding slots at ``alpha``."""
    L = mode.A.shape[0]
    rows = _jax().numpy.where(mode.on, mode.sl, L)
    return mode.A.at[rows, mode.sk, mode.sj].set(alpha, mode="drop")


def _pre_logits(theta: F.FState, D, X):
    """Hidden pre-activations (L, N, W) and logits (N, k) with the activation pattern D frozen
    (the polynomial continuation of the network beyond its surfaces), and each pair's scale."""
    jnp = _jax().numpy
    h, pres, scales = X, [], []
    for i, V in enumerate(theta.V[:-1]):
        z = h @ V.T
        c = theta.c[i][None, :] if theta.c else 0.0
        z = z + c
        scales.append(jnp.linalg.norm(h, axis=1)[:, None] * jnp.linalg.norm(V, axis=1)[None, :] + jnp.abs(c))
        pres.append(z)
        h = D[i] * z
    return jnp.stack(pres), h @ theta.V[-1].T + theta.b[None, :], jnp.stack(scales)


def _velocity(theta, D, args, bias: str):
    """``−∇_θ (1/N) L`` with the pattern D (a disabled last-layer bias stays 0)."""
    jax = _jax()

    def loss(th):
        _, f, _ = _pre_logits(th, D, args["X"])
        return -(args["Y"] * jax.nn.log_softmax(f, axis=-1)).sum(-1).mean()

    g = jax.grad(loss)(theta)
    v = jax.tree_util.tree_map(lambda a: -a, g)
    return v._replace(b=0 * v.b) if bias == "none" else v


def _zdot(theta, D, args, bias: str):
    """``(v, pre, dpre, logits, dlogits, scale)``: the velocity and the pre-activations' and logits' rates."""
    jax = _jax()
    v = _velocity(theta, D, args, bias)
    (pre, f, sc), (dpre, df, _) = jax.jvp(lambda th: _pre_logits(th, D, args["X"]), (theta,), (v,))
    return v, pre, dpre, f, df, sc


def _slot_rates(theta, mode: FMode, al, args, bias: str):
    """``dz_p/dt`` of every used slot with the slots at ``al`` (0 for unused slots)."""
    jnp = _jax().numpy
    dpre = _zdot(theta, _D(mode, al), args, bias)[2]
    return jnp.where(mode.on, dpre[jnp.where(mode.on, mode.sl, 0), mode.sk, mode.sj], 0.0)


def _equivalent_control(theta, mode: FMode, args, bias: str, fixed=None):
    """α of the sliding slots: Newton on ``F(α) = (dz_p/dt)_{p ∈ slots} = 0`` (unused slots: α = 0;
    ``fixed`` slots keep ``mode.alpha`` and their rows are dropped)."""
    jax = _jax()
    jnp = jax.numpy
    P = mode.on.shape[0]
    free = mode.on if fixed is None else mode.on & ~fixed

    def resid(al):
        return jnp.where(free, _slot_rates(theta, mode, al, args, bias), 0.0)

    def newton(al):
        r, lin = jax.linearize(resid, al)
        cols = jnp.nonzero(free, size=P, fill_value=0)[0]

        def column(st):   # ∂F/∂α_i for the free slots only (one JVP each)
            i, J = st
            return i + 1, J.at[:, cols[i]].set(lin(jnp.zeros(P).at[cols[i]].set(1.0)))

        _, J = jax.lax.while_loop(lambda st: st[0] < jnp.sum(free), column, (0, jnp.zeros((P, P))))
        J = jnp.where(free[:, None] & free[None, :], J, 0.0)
        # the pseudo-inverse: a slot whose rate does not depend on the α's (its inputs are 0, a corner)
        # or whose α moves no rate keeps its α (least-squares, minimal change) instead of a singular solve
        return jnp.where(free, al - jnp.linalg.pinv(J, rtol=PINV_RTOL) @ r, jnp.where(mode.on, al, 0.0))

    al0 = jnp.where(mode.on, mode.alpha, 0.0)
    def body(st):
        al, _, it = st
        new = newton(al)
        return new, jnp.max(jnp.abs(new - al)), it + 1

    def more(st):
        return (st[2] < NEWTON_MAX) & (st[1] > NEWTON_TOL)

    return jax.lax.while_loop(more, body, (al0, jnp.where(jnp.any(free), jnp.inf, 0.0), 0))[0]


def _slack(f, Y, margin):
    jnp = _jax().numpy
    own = (f * Y).sum(-1, keepdims=True)
    return jnp.where(Y > 0, jnp.inf, own - f - margin)


def _field(y, mode: FMode, args, bias: str):
    jnp = _jax().numpy
    alpha = _equivalent_control(y, mode, args, bias)
    v, pre, dpre, f, df, sc = _zdot(y, _D(mode, alpha), args, bias)
    own_d = (df * args["Y"]).sum(-1, keepdims=True)
    dslack = jnp.where(args["Y"] > 0, 0.0, own_d - df)
    return v, FAux(pre, dpre, sc, alpha, _slack(f, args["Y"], args["margin"]), dslack)


def _locate(aux0: FAux, aux1: FAux, mode: FMode, args, h):
    jnp = _jax().numpy
    eps = args["eps_z"]
    sign = jnp.where(mode.A > 0, -1.0, 1.0)
    norm = 1.0 / jnp.maximum(aux0.scale, 1e-300)
    v0 = sign * aux0.pre * norm - eps
    v1 = sign * aux1.pre * norm - eps
    hit = ~mode.S & (v1 > 0) & (v1 > v0)
    th_pair = jnp.where(hit, first_crossing(v0, v1, sign * norm * aux0.dpre * h, sign * norm * aux1.dpre * h),
                        jnp.inf)
    th_exit, low, high = alpha_exits(aux0.alpha, aux1.alpha, mode.on, EPS_ALPHA)
    # fit: every slack ≥ 0 at the end and not at the start; its time is the last slack's crossing
    s0, s1 = aux0.slack, aux1.slack
    fin = jnp.isfinite(s0)
    fit = args["stop_on_fit"] & jnp.all(s1 >= 0) & jnp.any(s0 < 0)
    th_s = first_crossing(jnp.where(fin, s0, 1.0), jnp.where(fin, s1, 1.0), aux0.dslack * h, aux1.dslack * h)
    th_fit = jnp.where(fit, jnp.max(jnp.where(fin & (s0 < 0), th_s, 0.0)), jnp.inf)
    theta = jnp.minimum(jnp.minimum(jnp.min(th_pair), jnp.min(th_exit)), th_fit)
    tol = 1e-9
    trig = (th_pair <= theta + tol, (low | high) & (th_exit <= theta + tol), high, th_fit <= theta + tol)
    no = jnp.zeros((), bool)
    return theta, trig, no, _no_pend(mode), no, jnp.float64(1.0)


def _resolve(y, mode: FMode, trig, args, bias: str):
    """Exits leave their slots (to the side α left through); hit pairs enter a slot tentatively;
    then, until consistent, slots whose equivalent control is outside [0, 1] are released (an
    entering pair crosses, a sliding one goes to the side α left through). The fit surface stops
    the solve."""
    jax = _jax()
    jnp = jax.numpy
    hit, ex, ex_high, fit = trig
    L = mode.A.shape[0]
    P = mode.on.shape[0]
    A_old, S_old = mode.A, mode.S
    rows = jnp.where(ex, mode.sl, L)
    A = mode.A.at[rows, mode.sk, mode.sj].set(jnp.where(ex_high, 1.0, 0.0), mode="drop")
    S = mode.S.at[rows, mode.sk, mode.sj].set(False, mode="drop")
    on = mode.on & ~ex
    alpha = jnp.where(on, mode.alpha, 0.5)
    shape = mode.A.shape
    # a corner: a pair of layer l ≥ 2 whose inputs h_{l−1,k} all sit at their own surfaces (e.g. the
    # sample's last active unit below is crossing off) reaches its surface with them, whatever its
    # sign; its activation does not matter there (its input is 0). It takes the side it moves to
    # once the rest is resolved (below), instead of a slot.
    pre, _, _ = _pre_logits(y, A, args["X"])
    up = jnp.linalg.norm(A * pre, axis=-1)                       # ‖h_{l,k}‖ (L, N)
    ref = jnp.linalg.norm(pre, axis=-1)
    deg_k = jnp.concatenate([jnp.zeros((1, shape[1]), bool), (up <= DEGENERATE * ref)[:-1]])   # (L, N)
    deg = hit & deg_k[:, :, None]
    hit_all, hit = hit, hit & ~deg

    def enter(st):
        A, S, sl, sk, sj, on, hit, overflow = st
        p = jnp.argmax(hit.reshape(-1))
        l, k, j = jnp.unravel_index(p, shape)
        free = ~on
        has = jnp.any(free)
        slot = jnp.argmax(free)
        sl = sl.at[slot].set(jnp.where(has, l, sl[slot]).astype(sl.dtype))
        sk = sk.at[slot].set(jnp.where(has, k, sk[slot]).astype(sk.dtype))
        sj = sj.at[slot].set(jnp.where(has, j, sj[slot]).astype(sj.dtype))
        on = on.at[slot].set(on[slot] | has)
        S = S.at[l, k, j].set(has)
        A = A.at[l, k, j].set(jnp.where(has, 0.0, 1.0 - A[l, k, j]))   # no slot: cross
        return A, S, sl, sk, sj, on, hit.at[l, k, j].set(False), overflow | ~has

    A, S, sl, sk, sj, on, _, overflow = jax.lax.while_loop(
        lambda st: jnp.any(st[6]), enter, (A, S, mode.sl, mode.sk, mode.sj, on, hit, mode.overflow))
    A = jnp.where(S, 0.0, A)
    mode = FMode(A, S, sl, sk, sj, on, alpha, mode.stop | fit, overflow)
    entering_slot = on & hit[sl, sk, sj]
    # Newton's start for an entering pair. With pairs of one sample sliding in several layers the
    # control has several roots; starting at 0.5 found one outside [0, 1] while both sides pushed in,
    # and the pair chattered across its surface (Model F r = 5, seed 3).
    # Filippov's test on the one-sided rates (the other slots re-solved): it slides iff both sides push
    # it in (rate > 0 at α = 0, < 0 at α = 1); then Newton starts where the rate's interpolant vanishes.
    def rate(a_enter):
        m = mode._replace(alpha=jnp.where(entering_slot, a_enter, alpha))
        return _slot_rates(y, m, _equivalent_control(y, m, args, bias, fixed=entering_slot), args, bias)

    r0, r1 = rate(0.0), rate(1.0)
    slides = (r0 > 0) & (r1 < 0)
    start = jnp.where(slides, r0 / jnp.where(slides, r0 - r1, 1.0), 0.5)
    mode = mode._replace(alpha=jnp.where(entering_slot, start, alpha))

    def bad_slots(mode, aux):
        return mode.on & ((aux.alpha < -EPS_ALPHA) | (aux.alpha > 1 + EPS_ALPHA))

    def release(st):
        """Release the slot whose α is furthest outside [0, 1], then solve again (an active-set step:
        releasing every bad slot at once can send two coupled pairs across together when one of them
        should slide, and they then come straight back — a Zeno loop, seen on Model F, r = 5)."""
        mode, f, aux, n_ev, it = st
        out = jnp.where(bad_slots(mode, aux), jnp.maximum(-aux.alpha, aux.alpha - 1.0), -1.0)
        bad = (jnp.arange(P) == jnp.argmax(out)) & (out >= 0)
        side = jnp.where(entering_slot, 1.0 - A_old[mode.sl, mode.sk, mode.sj], jnp.where(aux.alpha > 1, 1.0, 0.0))
        r = jnp.where(bad, mode.sl, L)
        mode = mode._replace(A=mode.A.at[r, mode.sk, mode.sj].set(side, mode="drop"),
                             S=mode.S.at[r, mode.sk, mode.sj].set(False, mode="drop"), on=mode.on & ~bad,
                             alpha=jnp.where(bad, 0.5, aux.alpha))
        f, aux = _field(y, mode, args, bias)
        return mode, f, aux, n_ev + 1, it + 1

    f, aux = _field(y, mode, args, bias)
    n_start = 2 * jnp.any(entering_slot)
    mode, f, aux, n_ev, _ = jax.lax.while_loop(
        lambda st: (st[4] < P + 2) & jnp.any(bad_slots(st[0], st[2])), release, (mode, f, aux, 1 + n_start, 0))
    mode = mode._replace(alpha=jnp.where(mode.on, aux.alpha, 0.0))
    mode = mode._replace(A=jnp.where(deg, (aux.dpre > 0).astype(mode.A.dtype), mode.A))
    f, aux = jax.lax.cond(jnp.any(deg), lambda: _field(y, mode, args, bias), lambda: (f, aux))
    n_ev = n_ev + jnp.any(deg)
    hit = hit_all
    crossings = jnp.sum(hit & ~mode.S & (mode.A != A_old))
    entries = jnp.sum(mode.S & ~S_old)
    exits = jnp.sum(S_old & ~mode.S)
    null = jnp.sum(hit & ~mode.S & (mode.A == A_old))
    counts = jnp.concatenate([jnp.stack([crossings, entries, exits, null]).astype(jnp.int64),
                              jnp.zeros(len(COUNT_NAMES) - 4, jnp.int64)])
    return y, mode, f, aux, counts, n_ev


def _resolve_initial(y, args, bias: str, P: int):
    """The pattern from the signs of the pre-activations; pairs on a surface (within EPS_Z of their
    scale) are resolved as at an event; a start that already fits stops at once."""
    jnp = _jax().numpy
    L = len(y.V) - 1
    A = jnp.ones((L, args["X"].shape[0], y.V[0].shape[0]))
    for layer in range(L):   # layer by layer: a layer's pre-activations depend on the pattern below it
        pre, f, sc = _pre_logits(y, A, args["X"])
        rel = pre / jnp.maximum(sc, 1e-300)
        A = A.at[layer].set((rel[layer] > EPS_Z).astype(A.dtype))
    zi = jnp.zeros(P, jnp.int32)
    mode = FMode(A=A, S=jnp.zeros(pre.shape, bool), sl=zi, sk=zi, sj=zi,
                 on=jnp.zeros(P, bool), alpha=jnp.zeros(P), stop=jnp.zeros((), bool), overflow=jnp.zeros((), bool))
    fit0 = args["stop_on_fit"] & jnp.all(_slack(f, args["Y"], args["margin"]) >= 0)
    none = jnp.zeros(P, bool)
    y, mode, f, aux, _, n_ev = _resolve(y, mode, ((jnp.abs(rel) <= EPS_Z) & (sc > 0), none, none, fit0), args, bias)
    return y, mode, f, aux, n_ev


def _no_pend(mode):
    return NoPend(_jax().numpy.zeros((), bool))


def _zeros(y):
    jax = _jax()
    return jax.tree_util.tree_map(jax.numpy.zeros_like, y)


def mode_codes(mode: FMode):
    """(L, N, W) int8: 0 inactive, 1 active, 2 sliding."""
    jnp = _jax().numpy
    return jnp.where(mode.S, SLIDING, jnp.where(mode.A > 0, ACTIVE, INACTIVE)).astype(jnp.int8)


@functools.lru_cache(maxsize=None)
def system(bias: str, P: int) -> SwitchedSystem:
    """The switched system of Model F with ReLU (cached: the compilation key)."""
    jnp = _jax().numpy
    zero_i = lambda: jnp.zeros((), jnp.int64)  # noqa: E731
    return SwitchedSystem(
        field=lambda y, mode, args: _field(y, mode, args, bias),
        locate=_locate,
        resolve=lambda y, mode, trig, args: _resolve(y, mode, trig, args, bias),
        sliding_pairs=lambda mode: jnp.sum(mode.on),
        resolve_initial=lambda y, args: _resolve_initial(y, args, bias, P),
        codes=mode_codes,
        no_trigger=lambda mode: (jnp.zeros(mode.A.shape, bool), jnp.zeros(mode.on.shape, bool),
                                 jnp.zeros(mode.on.shape, bool), jnp.zeros((), bool)),
        no_pend=_no_pend,
        frac_mode=lambda mode, pend, on: mode,
        absorbed_mode=lambda mode, pend, on: mode,
        bracket=lambda y, f, mode, pend, args, h: (_zeros(y), _zeros(y), zero_i()),
        consistent=lambda aux, mode, args: jnp.ones((), bool),
        n_pend=lambda pend: zero_i(),
        shorten=lambda pend, ratio: pend,
        dense_fix=lambda y, mode, pend, th, h, args: _zeros(y),
        fix_mismatch=lambda y, aux, mode, args, h: (mode, _zeros(y), zero_i(), zero_i()),
        stopped=lambda mode: mode.stop,
    )


def solve_model_f(theta0: F.FState, X, Y, t1: float, *, bias: str = "last", margin: float | None = None,
                  rtol: float = 1e-8, atol: float = 1e-12, save_ts=None, max_steps: int = 1_000_000,
                  slots: int = SLOTS, progress=None):
    """The exact Filippov gradient flow of Model F with ReLU from ``theta0`` to ``t1`` on inputs
    ``X`` (N, d) and one-hot labels ``Y`` (N, k), by the event-driven Tsit5. ``margin``: stop at the
    first time every sample has margin ≥ m (the event ``"fit"``). Returns a
    :class:`gflow.Trajectory` (``modes``: (T, L, N, width) per saved time, 2 = sliding)."""
    from ..backends import switching
    from ..errors import InputError, SolverError
    from ..events import Occurrence
    from ..trajectory import SolverStats, Trajectory

    jax = _jax()
    jnp = jax.numpy
    if not (rtol > 0 and atol > 0):
        raise InputError(f"rtol and atol must be > 0, got rtol={rtol}, atol={atol}")
    if int(slots) != slots or slots < 1:
        raise InputError(f"slots must be an integer ≥ 1, got {slots}")
    widths = {V.shape[0] for V in theta0.V[:-1]}
    if len(widths) != 1:
        raise InputError("the exact ReLU flow of Model F needs hidden layers of one width")
    save_ts = np.asarray([t1] if save_ts is None else save_ts, float)
    save_ts = np.unique(np.concatenate([save_ts[(save_ts > 0) & (save_ts <= t1)], [t1]]))
    args = {"X": jnp.asarray(X, jnp.float64), "Y": jnp.asarray(Y, jnp.float64),
            "margin": jnp.float64(0.0 if margin is None else margin), "stop_on_fit": jnp.asarray(margin is not None),
            "eps_z": jnp.float64(max(EPS_Z, HIT_REL * rtol))}
    y0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), theta0)
    res = switching.integrate(system(bias, int(slots)), y0, 0.0, save_ts, args, rtol=rtol, atol=atol, max_steps=max_steps,
                              progress=progress)
    if bool(np.asarray(res.final_mode.overflow)):
        raise SolverError(f"more than {slots} hidden pre-activations slid along their surfaces at once "
                          "(raise slots)", t_reached=float(res.ts[-1]))
    st = res.stats
    stats = SolverStats(name="tsit5-events", rtol=rtol, atol=atol, steps=st["steps"], rejected=st["rejected"],
                        rhs_evals=st["rhs_evals"], wall_s=st["wall_s"], compile_s=st["compile_s"],
                        segments=st["segments"], convention="filippov",
                        switching={k: st[k] for k in ("crossings", "slide_entries", "slide_exits", "null_hits",
                                                      "sliding_time", "sliding_pair_time")})
    events = {}
    if res.t_stop is not None:
        events["fit"] = Occurrence(res.t_stop, jax.tree_util.tree_map(lambda a: a[-1], res.ys))
    return Trajectory(ts=res.ts, ys=res.ys, events=events, stats=stats, t1=float(t1), modes=np.stack(res.modes))
