"""The decoupled early phase of Model R's exact flow, in closed form (log-radius coordinates).

From a small init the network's output is far below the labels for a long time: at scale λ it is
``O(λ²e^{2|D|t})``. While ``max_k |h(x_k)|`` is below ``τ·max_k |y_k|`` (``τ = TAU_REL·rtol``), the
residuals are ``r_k = −y_k`` to within τ and the neurons do not interact. In a fixed mode
(activation pattern ``A_j`` and sliding set ``S_j`` of neuron j, see :mod:`gflow.models.relu2_exact`)
each neuron then follows a constant direction ``c_j = s_j D_j`` (``D_j = P_j^⊥ D_j^A``, constant as
long as the residuals are), and the log-radius field ``ẇ̄_j = c_j − <c_j, w̄_j> w̄_j``,
``ρ̇_j = <c_j, w̄_j>`` has the closed form (a great circle towards ``ĉ_j``; this is the early
alignment of Maennel, Bousquet & Gelly 2018 and Boursier, Pillaud-Vivien & Flammarion 2022):

    w̄_j(t) = cos φ(t) ĉ_j + sin φ(t) ê_j,   tan(φ/2) = tan(φ₀/2)·e^{−|c_j|t},
    ρ_j(t) = ρ_j(0) − log(sin φ(t) / sin φ₀)
           = ρ_j(0) + |c_j|t − log(1 + u₀²) + log(1 + u₀²e^{−2|c_j|t}),   u₀ = tan(φ₀/2),

with ``ê_j`` the unit vector of ``w̄_j(0) − cos φ₀ ĉ_j``. A non-sliding pair ``<w̄_j, x_k> =
cos φ <ĉ_j, x_k> + sin φ <ê_j, x_k>`` has at most one zero on the way to ``φ = 0``; it is reached
(and the pair meets its surface) exactly when the pair's side disagrees with the sign of
``<ĉ_j, x_k>``, at ``tan φ* = −<ĉ_j, x_k>/<ê_j, x_k>``. A sliding pair stays on its surface (``ĉ_j`` and
``ê_j`` are orthogonal to it), and its equivalent control ``α_jk = n c_jk / r_k`` is constant in the
mode, so sliding ends only at the neuron's own crossings. Each neuron is carried from event to
event of its own; the events are resolved by :func:`gflow.models.relu2_exact._resolve` (Filippov's
rules: a pair reaching its surface slides if its equivalent control lies in [0, 1] and crosses
otherwise; a sliding pair whose control left [0, 1] is released).

The phase runs in windows: inside a window every neuron goes through its own events (one
vectorised event step serves all neurons; it costs one field evaluation, plus the resolution's,
and each step re-reads ``c_j`` from the field at the current state), the states at the save times
inside it are written in closed form (dense output), and at its end the network's output is
checked. A window whose end has ``max|h| > τ max|y|`` is discarded and the exact integrator takes
over from the last accepted one (:func:`gflow.backends.switching.integrate`, continuing in the
same mode). A window's length is chosen from the growth rate ``2 max_j |c_j|`` of the output and
ends no later than its 64th save time. The error of freezing the residuals is ``O(τ)`` relative
(the field's relative error is ``max|h|/max|y|``, integrated over the ``1/(2|c|)`` in which the
output grows by e).
"""

from __future__ import annotations

import functools

import numpy as np

from .._config import jax as _jax
from .relu2_exact import _field, _resolve, mode_codes

TAU_REL = 1e-2        # hand off once max|h| > TAU_REL·rtol·max|y|
MIN_WINDOW = 1e-3     # a window shorter than this (in units of 1/max_j |c_j|) ends the phase
SAVE_BLOCK = 64       # save times per window (dense output written by the event steps)
MAX_EVENT_STEPS = 100_000   # event steps in one window (more: a Zeno point or a bug — SolverError)
LOG_CLIP = 700.0


def _log_tan_half(cos, sin):
    """``log tan(φ/2)`` from ``cos φ`` and ``sin φ ≥ 0``, accurate at both ends (clipped to ±700)."""
    jnp = _jax().numpy
    v = jnp.where(cos >= 0, jnp.log(sin) - jnp.log1p(cos), jnp.log1p(-cos) - jnp.log(sin))   # log 0 = −inf: clipped
    return jnp.clip(v, -LOG_CLIP, LOG_CLIP)


def _softplus(x):
    jnp = _jax().numpy
    return jnp.logaddexp(0.0, x)


@functools.lru_cache(maxsize=None)
def _fns(gram: bool):
    jax = _jax()
    jnp = jax.numpy

    def probe(y, mode, args):
        """``(max_k |h(x_k)|, max_j |c_j|)``: the output (without the labels' cancellation) and the
        fastest neuron's rate."""
        rho, wb = y
        wn = wb / jnp.linalg.norm(wb, axis=-1, keepdims=True)
        h = (mode.A * (args["X"] @ wn.T)) @ (args["s"] * jnp.exp(2 * rho))
        f, _ = _field(y, mode, args, True, gram)
        c = f[1] + f[0][:, None] * wn
        return jnp.max(jnp.abs(h)), jnp.max(jnp.linalg.norm(c, axis=-1))

    def arc(rho, wn, ch, eh, cn, lu0, tau):
        """The closed form ``tau`` after the neuron's last event (broadcast over leading axes)."""
        lu = lu0 - cn * tau
        w = -jnp.tanh(lu)[..., None] * ch + (1.0 / jnp.cosh(lu))[..., None] * eh
        moving = cn > 0
        return (jnp.where(moving, rho + cn * tau - _softplus(2 * lu0) + _softplus(2 * lu), rho),
                jnp.where(moving[..., None], w, wn))

    def event_step(y, mode, t, t_to, save_t, buf, args):
        """Every neuron with ``t_j < t_to`` to its next event or to ``t_to`` (closed form), writing
        its state at the save times ``save_t`` (inf-padded) that its stretch covers into ``buf``
        (ρ, w̄, mode codes): dense output. Returns the state, the new per-neuron times, the hit
        pairs (n, m), the buffer, the sliding pairs × time, and which neurons slid for how long."""
        X = args["X"]
        n, m = mode.A.shape
        rho, wb = y
        wn = wb / jnp.linalg.norm(wb, axis=-1, keepdims=True)
        f, _ = _field(y, mode, args, True, gram)
        c = f[1] + f[0][:, None] * wn                            # s_j D_j
        cn = jnp.linalg.norm(c, axis=-1)
        live = t < t_to
        cs = jnp.where(cn > 0, cn, 1.0)
        ch = c / cs[:, None]
        cos0 = jnp.clip((wn * ch).sum(-1), -1.0, 1.0)
        e = wn - cos0[:, None] * ch
        sin0 = jnp.linalg.norm(e, axis=-1)
        eh = e / jnp.where(sin0 > 0, sin0, 1.0)[:, None]
        lu0 = _log_tan_half(cos0, sin0)
        P, Q = X @ ch.T, X @ eh.T                                # (n, m): components along ĉ_j, ê_j
        cand = ~mode.S & (P != 0) & ((P > 0) != (mode.A > 0)) & (cn > 0)[None, :]   # ends on the other side
        R = jnp.hypot(P, Q)
        Rs = jnp.where(R > 0, R, 1.0)
        lus = _log_tan_half(-jnp.sign(P) * Q / Rs, jnp.abs(P) / Rs)
        tk = jnp.where(cand, jnp.maximum((lu0[None, :] - lus) / cs[None, :], 0.0), jnp.inf)
        k = jnp.argmin(tk, axis=0)
        tmin = tk[k, jnp.arange(m)]
        left = t_to - t
        hit_j = live & (tmin <= left)
        dt = jnp.where(live, jnp.minimum(tmin, left), 0.0)       # a still neuron (c_j = 0) goes to t_to
        rho_new, w_new = arc(rho, wn, ch, eh, cn, lu0, dt)
        y_new = type(y)(jnp.where(live, rho_new, rho), jnp.where(live[:, None], w_new, wb))
        hit = jnp.zeros((n, m), bool).at[k, jnp.arange(m)].set(hit_j)
        t_new = jnp.where(hit_j, t + tmin, jnp.maximum(t, t_to))
        # dense output: save time s in (t_j, t_j + dt_j]
        tau = save_t[:, None] - t[None, :]                       # (S, m)
        cov = live[None, :] & (tau > 0) & (tau <= dt[None, :])
        rho_s, w_s = arc(rho[None], wn[None], ch[None], eh[None], cn[None], lu0[None], jnp.where(cov, tau, 0.0))
        codes = mode_codes(mode)
        buf = (jnp.where(cov, rho_s, buf[0]), jnp.where(cov[..., None], w_s, buf[1]),
               jnp.where(cov[:, None, :], codes[None], buf[2]))
        pair_time = jnp.sum(jnp.sum(mode.on, axis=1) * dt)
        return y_new, t_new, hit, buf, pair_time, jnp.any(mode.on, axis=1), dt

    def resolve(y, mode, hit, args):
        none = jnp.zeros(mode.on.shape, bool)
        y, mode, _, _, counts, n_ev = _resolve(y, mode, (hit, none, none), args, True, gram)
        return y, mode, counts, n_ev

    return jax.jit(probe), jax.jit(event_step, donate_argnums=(5,)), jax.jit(resolve)


def _union_length(starts, lengths):
    """Length of the union of the intervals ``[s, s + l)``."""
    if len(starts) == 0:
        return 0.0
    order = np.argsort(starts)
    s, e = starts[order], (starts + lengths)[order]
    total, cur_s, cur_e = 0.0, s[0], e[0]
    for a, b in zip(s[1:], e[1:]):
        if a > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = a, b
        else:
            cur_e = max(cur_e, b)
    return float(total + cur_e - cur_s)


def decoupled_phase(y0, mode0, args, save_ts, *, rtol: float, gram: bool, tau_rel: float | None = None,
                    progress=None):
    """Carry the log-radius state ``y0`` (in mode ``mode0``, at t = 0) in closed form while the
    output stays below ``tau_rel·rtol·max|y|``. Returns ``(t, y, mode, saved, stats)``: the hand-off
    time (0 if the phase does not apply), the state and mode there, the save times passed with
    their states and mode codes, and the work (field evaluations, event steps, event counts)."""
    import time

    from ..errors import SolverError

    jax = _jax()
    jnp = jax.numpy
    tau_rel = TAU_REL if tau_rel is None else tau_rel
    tc = time.perf_counter()
    m = mode0.A.shape[1]
    probe, event_step, resolve = _fns(gram)
    probe = probe.lower(y0, mode0, args).compile()
    compile_s = time.perf_counter() - tc
    thr = tau_rel * rtol * float(np.max(np.abs(np.asarray(args["y"]))))
    hmax, cmax = map(float, probe(y0, mode0, args))
    evals = 1
    stats = {"until": 0.0, "rhs_evals": evals, "event_steps": 0, "windows": 0, "crossings": 0, "slide_entries": 0,
             "slide_exits": 0, "null_hits": 0, "sliding_pair_time": 0.0, "sliding_time": 0.0,
             "wall_s": time.perf_counter() - tc - compile_s, "tau": tau_rel * rtol, "compile_s": compile_s}
    if not (hmax <= thr) or cmax <= 0:      # the output is already too large (or nothing moves)
        return 0.0, y0, mode0, [], stats
    saves = np.asarray(save_ts, float)
    S = int(min(SAVE_BLOCK, len(saves)))
    d = y0[1].shape[1]
    n = mode0.A.shape[0]

    def new_buf():
        return (jnp.zeros((S, m)), jnp.zeros((S, m, d)), jnp.zeros((S, n, m), jnp.int8))

    tc = time.perf_counter()
    event_step = event_step.lower(y0, mode0, jnp.zeros(m), jnp.float64(0.0), jnp.zeros(S), new_buf(),
                                  args).compile()
    resolve = resolve.lower(y0, mode0, jnp.zeros(mode0.A.shape, bool), args).compile()
    compile_s += time.perf_counter() - tc
    tc = time.perf_counter()
    t, y, mode = 0.0, y0, mode0
    t_end = float(saves[-1])
    i_save = 0
    saved, slide_starts, slide_lens = [], [], []
    counts_total = np.zeros(4, np.int64)
    pair_time, steps, windows = 0.0, 0, 0
    width = np.log(thr / max(hmax, 1e-300)) / (2 * cmax)
    while t < t_end:
        block = saves[i_save:i_save + S]
        # a window ends by its width, and no later than the block's last save time
        t_to = float(min(t + width, block[-1]))
        block_pad = jnp.asarray(np.concatenate([block, np.full(S - len(block), np.inf)]))
        tn = jnp.full(m, t)
        y1, mode1, buf = y, mode, new_buf()
        w_counts, w_pair, w_steps, w_starts, w_lens = np.zeros(4, np.int64), 0.0, 0, [], []
        while True:
            t_prev = np.asarray(tn)
            y1, tn, hit, buf, ptime, sliding, dt = event_step(y1, mode1, tn, jnp.float64(t_to), block_pad, buf, args)
            w_steps += 1
            evals += 1
            w_pair += float(ptime)
            sl = np.asarray(sliding) & (np.asarray(dt) > 0)
            w_starts.append(t_prev[sl])
            w_lens.append(np.asarray(dt)[sl])
            if bool(jnp.any(hit)):
                y1, mode1, cnt, n_ev = resolve(y1, mode1, hit, args)
                w_counts += np.asarray(cnt)[:4]
                evals += int(n_ev)
            if bool(jnp.all(tn >= t_to)):
                break
            if w_steps > MAX_EVENT_STEPS:
                raise SolverError(f"the closed-form early phase took over {MAX_EVENT_STEPS} event steps in one "
                                  f"window ending at t = {t_to:.6g} (a Zeno point?)", t_reached=t)
        h1, c1 = map(float, probe(y1, mode1, args))
        evals += 1
        if not np.isfinite(h1) or h1 > thr:        # too far: shorten, or hand off here
            width = (t_to - t) / 4
            if cmax * width < MIN_WINDOW:
                break
            continue
        t, y, mode, cmax = t_to, y1, mode1, max(c1, 1e-300)
        windows += 1
        steps += w_steps
        counts_total += w_counts
        pair_time += w_pair
        slide_starts += w_starts
        slide_lens += w_lens
        n_in = int(np.sum(block <= t))
        if n_in:
            b_rho, b_w, b_codes = (np.asarray(v) for v in buf)
            saved += [(float(block[i]), type(y)(b_rho[i], b_w[i]), b_codes[i]) for i in range(n_in)]
            i_save += n_in
            if progress is not None:
                progress(t, t_end)
        width = np.log(thr / max(h1, 1e-300)) / (2 * cmax)
        if cmax * width < MIN_WINDOW:
            break
    st = np.concatenate(slide_starts) if slide_starts else np.zeros(0)
    ln = np.concatenate(slide_lens) if slide_lens else np.zeros(0)
    stats.update(until=t, rhs_evals=evals, event_steps=steps, windows=windows,
                 crossings=int(counts_total[0]), slide_entries=int(counts_total[1]),
                 slide_exits=int(counts_total[2]), null_hits=int(counts_total[3]),
                 sliding_pair_time=pair_time, sliding_time=_union_length(st, ln),
                 wall_s=time.perf_counter() - tc, compile_s=compile_s)
    return t, y, mode, saved, stats
