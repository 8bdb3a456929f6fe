"""The exact (Filippov) gradient flow of Model R on any data: crossings and sliding.

Model R (:mod:`gflow.models.relu2`) is non-smooth: σ'(z) = 1[z > 0] jumps on the switching
surfaces ``Σ_jk = {<w_j, x_k> = 0}``. Between them the field is smooth (a fixed activation
pattern); on them Filippov's solution replaces σ'(·) by ``α_jk ∈ [0, 1]``. With
``r_k = h(x_k) − y_k`` and the active samples ``A_j`` of neuron j,

    D_j = −(1/n) Σ_{k∈A_j} r_k x_k − (1/n) Σ_{k∈S_j} α_jk r_k x_k,

where ``S_j`` are the samples along whose hyperplane neuron j *slides*. Utkin's equivalent
control picks α so that ``d/dt <w_j, x_k> = 0`` for every k ∈ S_j; since ``<w_j, x_k> = 0`` there,
the residuals (σ(0) = 0) and ``ȧ_j = <D_j, w_j>`` do not depend on α, the neurons decouple and the
condition is linear: ``D_j = P_j^⊥ D_j^A`` (the projection of the active-samples direction onto the
complement of ``span{x_k : k ∈ S_j}``), ``α_jk = n c_jk / r_k`` with ``c_j = G_{S_j}^{-1} X_{S_j} D_j^A``.
A pair slides while ``α_jk ∈ [0, 1]``; it leaves to the inactive side when α reaches 0 and to the
active side when it reaches 1 (there the one-sided field is tangent: the field is continuous at an
exit, so exits are located by linear interpolation of α). A pair reaching its surface *crosses*
when the field on the other side carries it on (α ∉ (0, 1) for the tentative constraint) and
*slides* otherwise. Balancedness ``a_j² − ‖w_j‖²`` is conserved in sliding too.

References: Filippov (1988); Utkin (1992); Dieci & Lopez, SIAM J. Numer. Anal. 47 (2009) — see
:mod:`gflow.backends.switching` for the integrator.

Crossings are absorbed into steps where the error control allows (each crossing pair at its
time-averaged activation over the step plus the Lie-bracket correction, see
:mod:`gflow.backends.switching`). Here a crossing's field jump is ``g_p = ∂f/∂A_jk`` (the pair's
term ``−(1/n) r_k x_k`` of ``D_j``), the bracket ``[f, G]`` is computed with Jacobian–vector products
in ``A`` and the state, and a crossing is absorbed only if flipping ``A_jk`` leaves the sign of
``d<w_j, x_k>/dt`` on the surface unchanged, by a margin (the jump of that derivative is
``−coef_j·ΔA·r_k·x_kᵀP_j x_k/n``); anything else (a sliding entry or exit) is located — except that a
step's sliding exits are resolved at its next other event (or its end) when sliding on past them keeps
the step within the tolerance (the field is continuous at an exit, so that costs a second-order error;
``defer_exits``).

The sliding sets are stored in ``K = min(n, d)`` slots per neuron (a nonzero ``w_j`` is orthogonal
to at most ``d − 1`` samples in general position) with the inverse Gram matrix of each neuron's
sliding samples, recomputed only for the neurons an event changes. Within a step the pattern is
frozen and the field is its polynomial continuation (``h = Σ_j a_j A_jk <w_j, x_k>``), so every
stage sees one smooth field.

Coordinates: log-radius ``(ρ, w̄)`` for a balanced init (``|a_j| = ‖w_j‖``), Cartesian ``(a, W)``
otherwise (see :mod:`gflow.models.relu2`). A bias is the input ``[x, 1]``.

From a small init (log-radius coordinates) the early phase, where the output is far below the
labels and the neurons do not interact, is followed in closed form neuron by neuron
(:mod:`gflow.models.relu2_early`) before this integrator takes over.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import numpy as np

from .._config import jax as _jax
from ..backends.switching import COUNT_NAMES, SwitchedSystem, alpha_exits, first_crossing

EPS_Z = 1e-11      # a pre-activation counts as across its surface beyond EPS_Z·‖x_k‖‖w_j‖ (rounding: ~1e-15)
HIT_REL = 0.1      # ... or beyond HIT_REL·rtol: the solver's own error in <w̄_j, x_k> is ~rtol, and a pair
                   # hovering at its surface would otherwise "cross" on that noise again and again. Measured on the
                   # Gaussian n < d example (RESULTS.md): from t = 110 to 400, where the residuals are ~1e−6 and pairs
                   # sit within ~rtol of their surfaces, 1e−3 took 42 941 evaluations (28 881 crossings), 0.1 took
                   # 5 983 (507) with the final loss equal to 9e−7; the whole run's error against GD is unchanged
EPS_ALPHA = 1e-9   # α beyond [−EPS_ALPHA, 1 + EPS_ALPHA] ends sliding

INACTIVE, ACTIVE, SLIDING = 0, 1, 2


class Mode(NamedTuple):
    A: object     # (n, m) 1.0 where the pair is active and not sliding
    S: object     # (n, m) bool: the pair slides
    idx: object   # (m, K) int: sample of each sliding slot
    on: object    # (m, K) bool: slot in use
    Q: object     # (m, K, K) inverse Gram matrix of the neuron's sliding samples (0 off the used slots)
    overflow: object  # () bool: a neuron ran out of slots (reported as a solver failure)


class Aux(NamedTuple):
    pre: object    # (n, m) <w_j, x_k> (log-radius: <w̄_j, x_k>)
    dpre: object   # (n, m) its time derivative
    alpha: object  # (m, K) equivalent control of the sliding slots
    scale: object  # (m,) ‖w_j‖ (log-radius: 1): normalises pre
    res: object    # (n,) residuals h(x_k) − y_k
    coef: object   # (m,) d<w_j, x_k>/dt = coef_j·<D_j, x_k> on the surface (log-radius: s_j; Cartesian: a_j)


class Pend(NamedTuple):
    """The crossing pairs of one step (gathered: at most ``H`` of them)."""

    rows: object   # (H,) sample k (n where unused: dropped by scatters)
    cols: object   # (H,) neuron j
    theta: object  # (H,) fraction of the step at which the pair reaches its surface
    dA: object     # (H,) +1: switches on, −1: switches off
    valid: object  # (H,) bool
    pa: object     # (H,) |coef_j r_k|‖x_k‖/n: the jump of the neuron's field at this crossing
    pb: object     # (H,) pa·‖x_k‖/|d<w_j, x_k>/dt|: how far another jump of the neuron moves its time


PAIR_BUDGET = 1 << 22  # gathered pairs × K² (the slots' Gram data of each pair's neuron) per step
CROSS_MARGIN = 0.1     # a crossing is absorbed only if the far side carries the pair on by ≥ this × the jump
MIN_ABSORB = 3         # a step absorbs its crossings only if it has at least this many (else: located)


def max_pairs(n: int, m: int, K: int) -> int:
    """How many crossing pairs one step tracks (more: the step is halved)."""
    return int(min(n * m, 2048, max(64, PAIR_BUDGET // max(K * K, 1))))


def _unpack(y, spherical, s):
    jnp = _jax().numpy
    if spherical:
        rho, wb = y
        wn = wb / jnp.linalg.norm(wb, axis=-1, keepdims=True)
        return s * jnp.exp(2 * rho), wn, jnp.ones_like(rho)
    a, W = y
    return a, W, jnp.linalg.norm(W, axis=-1)


def _field(y, mode: Mode, args, spherical: bool, gram: bool):
    """``(dy, aux)`` for the frozen mode. ``gram``: use the n×n Gram matrix (cheaper when n ≤ d)."""
    jnp = _jax().numpy
    X, yy, G = args["X"], args["y"], args["G"]
    n = X.shape[0]
    s = args.get("s")
    amp, Wn, scale = _unpack(y, spherical, s)   # output weights (a_j or s_j e^{2ρ_j}), directions
    pre = X @ Wn.T                              # (n, m)
    res = (mode.A * pre) @ amp - yy
    E = mode.A * res[:, None] / n               # (n, m)
    m, K = mode.idx.shape
    cols = jnp.broadcast_to(jnp.arange(m)[:, None], (m, K))
    if gram:
        XDA = -G @ E                                             # <x_k, D_j^A>
        u = jnp.where(mode.on, XDA[mode.idx, cols], 0.0)         # (m, K)
    else:
        DA = -E.T @ X
        Xs = X[mode.idx]                                         # (m, K, d)
        u = jnp.where(mode.on, jnp.einsum("mkd,md->mk", Xs, DA), 0.0)
    c = jnp.where(mode.on, jnp.einsum("mkl,ml->mk", mode.Q, u), 0.0)
    if gram:   # D_j = D_j^A − Σ_slots c_js x_{idx_js}, without an (n, m) scatter
        D = -E.T @ X - jnp.einsum("mk,mkd->md", c, X[mode.idx])
        XD = XDA - jnp.einsum("mk,nmk->nm", c, G[:, mode.idx])
    else:
        D = DA - jnp.einsum("mk,mkd->md", c, Xs)                 # (m, d) projected directions
        XD = X @ D.T
    rs = res[mode.idx]
    alpha = jnp.where(mode.on, n * c / jnp.where(rs == 0, 1e-300, rs), 0.5)
    if spherical:
        rho, wb = y
        proj = (D * Wn).sum(-1)
        dy = (s * proj, s[:, None] * (D - proj[:, None] * Wn))
        dpre = s[None, :] * (XD - proj[None, :] * pre)
        coef = s
    else:
        a, W = y
        dy = ((D * W).sum(-1), a[:, None] * D)
        dpre = a[None, :] * XD
        coef = a
    return type(y)(*dy), Aux(pre, dpre, alpha, scale, res, coef)


def _violation(pre, mode: Mode, scale, xn):
    """Signed distance past the pair's surface in units of ‖x_k‖‖w_j‖ (> 0: on the wrong side)."""
    jnp = _jax().numpy
    sign = jnp.where(mode.A > 0, -1.0, 1.0)
    return sign * pre / (xn[:, None] * scale[None, :])


def _locate(aux0: Aux, aux1: Aux, mode: Mode, args, h, gram: bool):
    """Where the frozen-mode step meets a surface. Non-sliding pairs that pass theirs are gathered
    (at most :func:`max_pairs`; more: ``too_many``) and their θ found by bisection of the cubic
    Hermite interpolant of ``<w_j, x_k>`` (values and derivatives at the step's ends); a sliding
    pair's exit is where α leaves [0, 1] (linear interpolation). ``theta``: the earliest event
    (> 1 if none); ``trig``: the events at it. ``absorbable``: every event of the step is a
    crossing that the far side's field carries on (the one-sided derivatives of ``<w_j, x_k>``
    have the same sign, by a margin: flipping A_jk changes ``d<w_j, x_k>/dt`` on the surface by
    ``−coef_j·ΔA·r_k·x_kᵀP_j x_k/n``, with P_j the projection off the neuron's sliding samples)."""
    jax = _jax()
    jnp = jax.numpy
    X, xn = args["X"], args["xn"]
    n, m = mode.A.shape
    K = mode.idx.shape[1]
    H = max_pairs(n, m, K)
    sc = aux0.scale
    sign = jnp.where(mode.A > 0, -1.0, 1.0)
    norm = 1.0 / (xn[:, None] * sc[None, :])
    eps = args["eps_z"]
    v0 = sign * aux0.pre * norm - eps
    v1 = sign * aux1.pre * norm - eps
    hit = (~mode.S) & (v1 > 0) & (v1 > v0)
    nh = jnp.sum(hit)
    flat = jnp.nonzero(hit.reshape(-1), size=H, fill_value=0)[0]
    valid = jnp.arange(H) < nh
    k, j = flat // m, flat % m
    sg = sign[k, j] * norm[k, j]
    p0, p1 = v0[k, j], v1[k, j]
    q0, q1 = sg * aux0.dpre[k, j] * h, sg * aux1.dpre[k, j] * h
    th_pair = jnp.where(valid, first_crossing(p0, p1, q0, q1), jnp.inf)
    th_exit, low, high = alpha_exits(aux0.alpha, aux1.alpha, mode.on, EPS_ALPHA)
    theta = jnp.minimum(jnp.min(th_pair), jnp.min(th_exit))
    tol = 1e-9
    rows = jnp.where(valid, k, n)
    at_first = jnp.zeros((n, m), bool).at[rows, j].set(th_pair <= theta + tol, mode="drop")
    trig = (at_first, (low | high) & (th_exit <= theta + tol), high)

    # crossing or sliding entry? the one-sided derivatives of <w_j, x_k> at θ
    t_ = jnp.clip(th_pair, 0.0, 1.0)
    dA = 1.0 - 2.0 * mode.A[k, j]
    res_t = (1 - t_) * aux0.res[k] + t_ * aux1.res[k]
    dpre_t = (1 - t_) * aux0.dpre[k, j] + t_ * aux1.dpre[k, j]
    on_j = mode.on[j]                                                     # (H, K)
    if gram:
        u = args["G"][mode.idx[j], k[:, None]]                            # <x_slot, x_k>
    else:
        u = jnp.einsum("hkd,hd->hk", X[mode.idx[j]], X[k])
    u = jnp.where(on_j, u, 0.0)
    xPx = xn[k] ** 2 - jnp.einsum("hk,hkl,hl->h", u, mode.Q[j], u)
    jump = -aux0.coef[j] * dA * res_t * xPx / n
    d_other = dpre_t + jump
    crossing = (p0 <= 0) & (dA * dpre_t > 0) & (dA * d_other > CROSS_MARGIN * jnp.abs(jump))
    # absorb on [0, θ_lim·h]: up to the first event that is not such a crossing. Several crossings
    # of one neuron may share a step: that one moves the other's time is bounded in the error norm
    # (see _bracket). (Allowing one per neuron only was measured at N = 2000, d = 3, m = 100: the
    # alignment phase then took 1 127 steps to t = 0.5 instead of 26, and it was not more accurate at N = 300.)
    lim = jnp.minimum(jnp.min(jnp.where(valid & ~crossing, th_pair, jnp.inf)), jnp.min(th_exit))
    n_abs = jnp.sum(valid & crossing & (th_pair < lim))
    absorbable = args["absorb"] & (nh <= H) & (n_abs >= args["min_absorb"]) & (lim > 0)
    pa = jnp.abs(aux0.coef[j] * res_t) * xn[k] / n
    pb = pa * xn[k] / jnp.maximum(jnp.abs(dpre_t), 1e-300)
    pend = Pend(rows=rows.astype(jnp.int32), cols=j.astype(jnp.int32), theta=t_, dA=dA, valid=valid, pa=pa, pb=pb)
    # exits deferred: the field is continuous at an exit, so sliding on past it to θ_d (the first
    # crossing or entry, or the step's end) costs the pair's field a drift that grows from 0:
    # |Δα_jk|·|coef_j r_k|·‖P_j x_k‖/n at θ_d (Δα: how far α went past its bound), i.e. a state error
    # ≈ that × (θ_d − θ_exit)h/2 in neuron j (second order in the step). The integrator defers the
    # step's exits to θ_d when this, added to the step's error, stays within the tolerance.
    th_d = jnp.where(args["defer_exits"], jnp.minimum(jnp.min(th_pair), 1.0), theta)
    exiting = (low | high) & (th_exit <= th_d + tol)
    bound = jnp.where(high, 1.0, 0.0)
    a_d = (1 - th_d) * aux0.alpha + th_d * aux1.alpha
    rs = jnp.abs(aux1.res[mode.idx])                                       # (m, K)
    xs = xn[mode.idx]
    e_slot = jnp.where(exiting, jnp.abs(a_d - bound) * jnp.abs(aux1.coef)[:, None] * rs * xs / n
                       * jnp.maximum(th_d - th_exit, 0.0) * h / 2, 0.0)
    e = jnp.sum(e_slot, axis=1)
    d = X.shape[1]
    trig_d = (jnp.zeros((n, m), bool).at[rows, j].set(th_pair <= th_d + tol, mode="drop"), exiting, high)
    defer = (th_d, trig_d, (jnp.zeros(m), jnp.broadcast_to(e[:, None] / np.sqrt(d), (m, d))))
    return theta, trig, absorbable, pend, nh > H, lim, defer


def _pair_matrix(pend: Pend, values, like):
    """An (n, m) array, zero but for the valid crossing pairs, which hold ``values`` (H,)."""
    jnp = _jax().numpy
    rows = jnp.where(pend.valid, pend.rows, like.shape[0])
    return jnp.zeros_like(like).at[rows, pend.cols].set(jnp.where(pend.valid, values, 0.0), mode="drop")


def _field_jvp_A(y, mode: Mode, A, tangent, args, spherical: bool, gram: bool):
    """``∂f/∂A · tangent`` at ``(y, A)``: how the field moves when activations move (one JVP)."""
    jax = _jax()
    return jax.jvp(lambda AA: _field(y, mode._replace(A=AA), args, spherical, gram)[0], (A,), (tangent,))[1]


def _no_pend(mode: Mode):
    jnp = _jax().numpy
    n, m = mode.A.shape
    H = max_pairs(n, m, mode.idx.shape[1])
    zi = jnp.zeros(H, jnp.int32)
    return Pend(rows=zi + n, cols=zi, theta=jnp.zeros(H), dA=jnp.zeros(H), valid=jnp.zeros(H, bool),
                pa=jnp.zeros(H), pb=jnp.zeros(H))


def _frac_mode(mode: Mode, pend: Pend, on):
    """Crossing pairs at their time-averaged activation over the step (``on``: else unchanged)."""
    jnp = _jax().numpy
    n = mode.A.shape[0]
    rows = jnp.where(on & pend.valid, pend.rows, n)
    frac = jnp.where(pend.dA > 0, 1.0 - pend.theta, pend.theta)
    return mode._replace(A=mode.A.at[rows, pend.cols].set(frac, mode="drop"))


def _absorbed_mode(mode: Mode, pend: Pend, on):
    """The mode after the step: crossing pairs on their far side (``on``: else unchanged)."""
    jnp = _jax().numpy
    n = mode.A.shape[0]
    rows = jnp.where(on & pend.valid, pend.rows, n)
    return mode._replace(A=mode.A.at[rows, pend.cols].set(jnp.where(pend.dA > 0, 1.0, 0.0), mode="drop"))


def _shorten(pend: Pend, ratio):
    """The crossings of a step ``1/ratio`` times as long (θ → θ·ratio; beyond its end: dropped)."""
    jnp = _jax().numpy
    th = pend.theta * ratio
    return pend._replace(theta=jnp.minimum(th, 1.0), valid=pend.valid & (th < 1.0))


def _n_pend(pend: Pend):
    return _jax().numpy.sum(pend.valid)


def _bracket(y, f, mode: Mode, pend: Pend, args, h, spherical: bool, gram: bool):
    """The leading error of averaging the crossing pairs' activations over the step:
    ``Σ_p θ_p(1 − θ_p)h²/2 · [f, g_p]`` with ``g_p = ΔA_p ∂f/∂A_p`` the pair's part of the field and
    ``[f, g] = g'f − f'g``. Derivation: with ``ẏ = f + H(t − τ)g`` against ``ẏ = f + (1 − θ)g``
    (τ = θh), the difference at the end of the step is ``∫₀ʰ (H − (1 − θ))(g(y(s)) + f'δ(s)) ds``
    to second order; ``∫(H − (1 − θ))·s ds = θ(1 − θ)h²/2`` and ``∫δ = −θ(1 − θ)h²/2·g``. Checked
    on ``ẏ = 1 + H(t − τ)y`` (exact: difference 1.254e−5, term 1.250e−5 at h = 0.01, θ = 1/2) and
    against stopping at every crossing (tests). Cost: one second-order and one first-order JVP,
    counted as 4 + 2 evaluations."""
    jax = _jax()
    jnp = jax.numpy
    Wm = _pair_matrix(pend, pend.theta * (1 - pend.theta) * h**2 / 2 * pend.dA, mode.A)
    G0, dG = jax.jvp(lambda yy: _field_jvp_A(yy, mode, mode.A, Wm, args, spherical, gram), (y,), (f,))
    _, JG = jax.jvp(lambda yy: _field(yy, mode, args, spherical, gram)[0], (y,), (G0,))
    corr = jax.tree_util.tree_map(lambda a, b: a - b, dG, JG)
    # Two crossings p, q of one neuron in the step: p's jump moves q's crossing time by up to
    # h·|J_pq|/|d<w_j, x_q>/dt| with |J_pq| ≤ |coef_j r_p|‖x_p‖‖x_q‖/n, which costs |g_q| times that;
    # summed over ordered pairs (half of all pairs) per neuron: h/2·(S_a S_b − Σ pa·pb). Not a
    # correction (its sign is unknown): an error bound, in the neuron's direction entries.
    m, d = y[1].shape
    pa, pb = jnp.where(pend.valid, pend.pa, 0.0), jnp.where(pend.valid, pend.pb, 0.0)
    Sa = jnp.zeros(m).at[pend.cols].add(pa)
    Sb = jnp.zeros(m).at[pend.cols].add(pb)
    Sab = jnp.zeros(m).at[pend.cols].add(pa * pb)
    e = 0.5 * h * jnp.maximum(Sa * Sb - Sab, 0.0)
    inter = type(y)(jnp.zeros_like(y[0]), jnp.broadcast_to(e[:, None] / np.sqrt(d), y[1].shape))
    return corr, inter, jnp.asarray(6, jnp.int64)


def _dense_fix(y, mode: Mode, pend: Pend, th, h, args, spherical: bool, gram: bool):
    """Inside an absorbed step, at fraction ``th``: the switched flow minus the averaged one to first
    order, ``Σ_p ∂f/∂A_p · ΔA_p((s − τ_p)₊ − (1 − θ_p)s)`` with ``s = th·h``, ``τ_p = θ_p h`` (zero at
    ``th`` = 0 and 1). ``mode``: the mode after the step (the pairs' far side)."""
    jnp = _jax().numpy
    sv = th * h
    Psi = _pair_matrix(pend, pend.dA * (jnp.maximum(sv - pend.theta * h, 0.0) - (1 - pend.theta) * sv), mode.A)
    return _field_jvp_A(y, mode, _frac_mode(mode, pend, True).A, Psi, args, spherical, gram)


def _fix_mismatch(y, aux: Aux, mode: Mode, args, h, spherical: bool, gram: bool):
    """After pass 2: a non-sliding pair on the wrong side of its mode at the end (the predicted
    crossing time was just past the step, or a crossing pass 1 did not see came just before its
    end) takes the side it is on; its activation was wrong for ``≈ |<w_j, x_k>|/|d<w_j, x_k>/dt|``
    (at most h). Returns the mode, that first-order difference (one JVP in A: the caller adds it
    and counts it as error), the evaluations and the number of pairs fixed."""
    jnp = _jax().numpy
    v = _violation(aux.pre, mode, aux.scale, args["xn"]) - args["eps_z"]
    bad = ~mode.S & (v > 0)
    A_fix = jnp.where(bad, 1.0 - mode.A, mode.A)
    wrong = jnp.minimum(jnp.abs(aux.pre) / jnp.maximum(jnp.abs(aux.dpre), 1e-300), h)
    corr = _field_jvp_A(y, mode, A_fix, jnp.where(bad, (A_fix - mode.A) * wrong, 0.0), args, spherical, gram)
    return mode._replace(A=A_fix), corr, jnp.asarray(2, jnp.int64), jnp.sum(bad)


def _consistent(aux: Aux, mode: Mode, args):
    """Every non-sliding pair on its mode's side (to the band) and every sliding α in [0, 1]."""
    jnp = _jax().numpy
    v = _violation(aux.pre, mode, aux.scale, args["xn"]) - args["eps_z"]
    ok_pairs = jnp.all(mode.S | (v <= 0))
    ok_alpha = jnp.all(~mode.on | ((aux.alpha >= -EPS_ALPHA) & (aux.alpha <= 1 + EPS_ALPHA)))
    return ok_pairs & ok_alpha


def _inverse_gram(Xs, on):
    """Inverse of the Gram matrix of the used slots' samples ``Xs`` (K, d), zero elsewhere."""
    jnp = _jax().numpy
    mask = on[:, None] & on[None, :]
    M = jnp.where(mask, Xs @ Xs.T, 0.0) + jnp.diag(jnp.where(on, 0.0, 1.0))
    return jnp.where(mask, jnp.linalg.inv(M), 0.0)


def _refresh(mode: Mode, dirty, y, args):
    """Recompute Q for the neurons flagged in ``dirty`` (one at a time: an event touches few) and
    put each exactly on its sliding samples' hyperplanes, ``w_j ← P_j^⊥ w_j`` (this removes the
    rounding drift of the linear invariants ``<w_j, x_k> = 0``)."""
    jax = _jax()
    jnp = jax.numpy
    X = args["X"]

    def body(st):
        Q, W, dirty = st
        j = jnp.argmax(dirty)
        idx, on = mode.idx[j], mode.on[j]
        Xs = X[idx]                                     # (K, d)
        Qj = _inverse_gram(Xs, on)
        c = Qj @ jnp.where(on, Xs @ W[j], 0.0)
        return Q.at[j].set(Qj), W.at[j].add(-(c @ Xs)), dirty.at[j].set(False)

    Q, W, _ = jax.lax.while_loop(lambda st: jnp.any(st[2]), body, (mode.Q, y[1], dirty))
    return mode._replace(Q=Q), type(y)(y[0], W)


def _resolve(y, mode: Mode, trig, args, spherical: bool, gram: bool):
    """The mode after an event at state ``y``: exits leave their slots (to the side α left
    through); hit pairs enter a slot tentatively; then, until consistent, slots whose equivalent
    control is outside [0, 1] are released (an entering pair then crosses: it goes to the side it
    did not come from; a sliding pair goes to the side α left through)."""
    jax = _jax()
    jnp = jax.numpy
    G = args["G"]
    hit, exit_, exit_high = trig
    n, m = mode.A.shape
    K = mode.idx.shape[1]
    cols = jnp.broadcast_to(jnp.arange(m)[:, None], (m, K))
    A_old, S_old = mode.A, mode.S
    # exits
    rows_ex = jnp.where(exit_, mode.idx, n)                       # n: out of range → dropped
    A = mode.A.at[rows_ex, cols].set(jnp.where(exit_high, 1.0, 0.0), mode="drop")
    S = mode.S.at[rows_ex, cols].set(False, mode="drop")
    on = mode.on & ~exit_
    dirty = jnp.any(exit_, axis=1)
    overflow = mode.overflow

    # entries, one hit pair at a time
    def enter(st):
        A, S, idx, on, dirty, hit, overflow = st
        p = jnp.argmax(hit.reshape(-1))
        k, j = p // m, p % m
        free = ~on[j]
        has = jnp.any(free)
        slot = jnp.argmax(free)
        idx = idx.at[j, slot].set(jnp.where(has, k, idx[j, slot]).astype(idx.dtype))
        on = on.at[j, slot].set(on[j, slot] | has)
        S = S.at[k, j].set(has)
        A = A.at[k, j].set(jnp.where(has, 0.0, 1.0 - A[k, j]))   # no slot: cross
        return A, S, idx, on, dirty.at[j].set(True), hit.at[k, j].set(False), overflow | ~has

    A, S, idx, on, dirty, _, overflow = jax.lax.while_loop(
        lambda st: jnp.any(st[5]), enter, (A, S, mode.idx, on, dirty, hit, overflow))
    mode, y = _refresh(Mode(A, S, idx, on, mode.Q, overflow), dirty, y, args)
    entering = hit                                                # (n, m)

    def bad_slots(mode, aux):
        return mode.on & ((aux.alpha < -EPS_ALPHA) | (aux.alpha > 1 + EPS_ALPHA))

    def release(st):
        mode, y, f, aux, n_ev, it = st
        bad = bad_slots(mode, aux)
        was_entering = entering[mode.idx, cols]
        side_alpha = jnp.where(aux.alpha > 1, 1.0, 0.0)
        side_cross = 1.0 - A_old[mode.idx, cols]                  # an entering pair crosses
        side = jnp.where(was_entering, side_cross, side_alpha)
        rows = jnp.where(bad, mode.idx, n)
        A = mode.A.at[rows, cols].set(side, mode="drop")
        S = mode.S.at[rows, cols].set(False, mode="drop")
        mode, y = _refresh(mode._replace(A=A, S=S, on=mode.on & ~bad), jnp.any(bad, axis=1), y, args)
        f, aux = _field(y, mode, args, spherical, gram)
        return mode, y, f, aux, n_ev + 1, it + 1

    f, aux = _field(y, mode, args, spherical, gram)
    mode, y, f, aux, n_ev, _ = jax.lax.while_loop(
        lambda st: (st[5] < K + 2) & jnp.any(bad_slots(st[0], st[3])), release, (mode, y, f, aux, 1, 0))
    crossings = jnp.sum(entering & ~mode.S & (mode.A != A_old))
    entries = jnp.sum(mode.S & ~S_old)
    exits = jnp.sum(S_old & ~mode.S)     # α left [0, 1] here, or was pushed out by an entering pair
    null = jnp.sum(entering & ~mode.S & (mode.A == A_old))
    counts = jnp.concatenate([jnp.stack([crossings, entries, exits, null]).astype(jnp.int64),
                              jnp.zeros(len(COUNT_NAMES) - 4, jnp.int64)])
    return y, mode, f, aux, counts, n_ev


def _sliding_pairs(mode: Mode):
    return _jax().numpy.sum(mode.on)


def _resolve_initial(y, args, spherical: bool, gram: bool, K: int):
    """The mode at the start: pattern from the signs of the pre-activations; pairs exactly on a
    surface (within EPS_Z) are hit pairs, resolved as at an event."""
    jnp = _jax().numpy
    X = args["X"]
    n, m = X.shape[0], y[1].shape[0]
    amp, Wn, scale = _unpack(y, spherical, args.get("s"))
    pre = X @ Wn.T
    rel = pre / (args["xn"][:, None] * scale[None, :])
    mode = Mode(A=(rel > EPS_Z).astype(X.dtype), S=jnp.zeros((n, m), bool), idx=jnp.zeros((m, K), jnp.int32),
                on=jnp.zeros((m, K), bool), Q=jnp.zeros((m, K, K), X.dtype), overflow=jnp.zeros((), bool))
    on_surface = jnp.abs(rel) <= EPS_Z
    none = jnp.zeros((m, K), bool)
    y, mode, f, aux, counts, n_ev = _resolve(y, mode, (on_surface, none, none), args, spherical, gram)
    return y, mode, f, aux, n_ev


@functools.lru_cache(maxsize=None)
def system(spherical: bool, gram: bool, K: int) -> SwitchedSystem:
    """The switched system of Model R in the given coordinates (cached: the compilation key)."""
    return SwitchedSystem(
        field=lambda y, mode, args: _field(y, mode, args, spherical, gram),
        locate=lambda aux0, aux1, mode, args, h: _locate(aux0, aux1, mode, args, h, gram),
        resolve=lambda y, mode, trig, args: _resolve(y, mode, trig, args, spherical, gram),
        sliding_pairs=_sliding_pairs,
        resolve_initial=lambda y, args: _resolve_initial(y, args, spherical, gram, K),
        codes=mode_codes,
        no_trigger=_no_trigger,
        no_pend=_no_pend,
        frac_mode=_frac_mode,
        absorbed_mode=_absorbed_mode,
        bracket=lambda y, f, mode, pend, args, h: _bracket(y, f, mode, pend, args, h, spherical, gram),
        consistent=_consistent,
        n_pend=_n_pend,
        shorten=_shorten,
        fix_mismatch=lambda y, aux, mode, args, h: _fix_mismatch(y, aux, mode, args, h, spherical, gram),
        dense_fix=lambda y, mode, pend, th, h, args: _dense_fix(y, mode, pend, th, h, args, spherical, gram),
        defers_exits=True,
    )


def _no_trigger(mode: Mode):
    jnp = _jax().numpy
    return (jnp.zeros(mode.A.shape, bool), jnp.zeros(mode.on.shape, bool), jnp.zeros(mode.on.shape, bool))


def mode_codes(mode: Mode):
    """(n, m) int8: 0 inactive, 1 active, 2 sliding."""
    jnp = _jax().numpy
    return jnp.where(mode.S, SLIDING, jnp.where(mode.A > 0, ACTIVE, INACTIVE)).astype(jnp.int8)


CONVENTIONS = ("filippov", "sigma0")
BALANCE_TOL = 1e-10


def is_balanced(W, a) -> bool:
    """``|a_j| = ‖w_j‖`` for every neuron (to ``BALANCE_TOL`` relative): log-radius coordinates apply."""
    norms = np.linalg.norm(W, axis=1)
    return bool(np.all(norms > 0) and np.all(np.abs(np.abs(a) - norms) <= BALANCE_TOL * norms))


def validate(X, y, W, a, t1=None) -> tuple[np.ndarray, ...]:
    """The arrays as float64 after the checks a user's files need; InputError (one line) otherwise."""
    from ..errors import InputError

    arrs = []
    for name, v, nd in (("X", X, 2), ("y", y, 1), ("W", W, 2), ("a", a, 1)):
        v = np.asarray(v)
        if v.ndim != nd:
            raise InputError(f"{name} must be {nd}-dimensional, got shape {v.shape}")
        if not np.issubdtype(v.dtype, np.number):
            raise InputError(f"{name} must be numeric, got dtype {v.dtype}")
        v = v.astype(np.float64)
        if not np.all(np.isfinite(v)):
            raise InputError(f"{name} has non-finite entries (NaN or inf)")
        arrs.append(v)
    X, y, W, a = arrs
    if X.shape[0] != y.shape[0]:
        raise InputError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels")
    if W.shape[1] != X.shape[1]:
        raise InputError(f"W has input dimension {W.shape[1]} but X has {X.shape[1]}")
    if W.shape[0] != a.shape[0]:
        raise InputError(f"W has {W.shape[0]} neurons but a has {a.shape[0]}")
    if X.shape[0] < 1 or W.shape[0] < 1:
        raise InputError("need at least one sample and one neuron")
    if np.any(np.linalg.norm(X, axis=1) == 0):
        raise InputError("X has a zero sample: its hyperplane is everything")
    if len(np.unique(X, axis=0)) < X.shape[0]:
        raise InputError("X has duplicate samples (their hyperplanes coincide: merge them, summing weights)")
    if t1 is not None and not (np.isfinite(t1) and t1 > 0):
        raise InputError(f"t1 must be a finite time > 0, got {t1}")
    return X, y, W, a


def solve_relu2(X, y, W, a, t1: float, *, bias: bool = False, coords: str = "auto", convention: str = "filippov",
                solver: str = "tsit5", rtol: float = 1e-6, atol: float = 1e-9, dt: float | None = None,
                save_ts=None, max_steps: int = 2_000_000, absorb: bool = True, min_absorb: int | None = None,
                decoupled: bool = True, defer_exits: bool = True, progress=None):
    """The gradient flow of the two-layer ReLU network ``h(x) = Σ_j a_j σ(<w_j, x>)`` with square
    loss ``(1/2n) Σ_k (h(x_k) − y_k)²`` from ``(W, a)`` to time ``t1``, on any data.

    - ``solver="tsit5"`` with ``convention="filippov"`` (default): the exact Filippov flow, event
      driven (crossings located, sliding by equivalent control; see the module docstring);
    - ``convention="sigma0"``: σ'(0) = 0 read literally (today's smooth-between-kinks fields with
      :func:`gflow.solve`; adaptive solvers may stall at kinks on general data);
    - ``solver="gd"`` with ``dt``: gradient descent, the papers' method (σ'(0) = 0).

    ``absorb`` (default): crossings that the far side's field carries on are absorbed into the
    step that contains them (see :mod:`gflow.backends.switching`) instead of each ending a step;
    ``absorb=False`` stops at every crossing (a cross-check; slower when N ≫ d). A step absorbs its
    crossings only when it holds at least ``min_absorb`` of them (default ``MIN_ABSORB``; fewer are
    located: measured cheaper). Sliding entries are always located.

    ``defer_exits`` (default): a sliding exit inside a step is resolved at the step's next other
    event or its end when sliding on past it keeps the step within the tolerance (the field is
    continuous at an exit: the cost is second order); ``False`` locates every exit.

    ``decoupled`` (default; log-radius coordinates): while the network's output is below
    ``TAU_REL·rtol`` of the labels (from a small init), the neurons do not interact and each goes
    from event to event of its own in closed form (:mod:`gflow.models.relu2_early`); the event-driven
    integrator takes over where the output grows past that. ``decoupled=False`` integrates from 0.

    ``bias`` appends a constant input 1 (then ``W`` has ``d + 1`` columns, the last the bias).
    ``coords``: ``"auto"`` (log-radius for a balanced init, else Cartesian), ``"spherical"`` or
    ``"cartesian"``. Returns a :class:`gflow.Trajectory` whose ``ys`` is a
    :class:`gflow.models.relu2.CartState` ``(a, W)`` at ``ts`` (``ts[0] = 0``) and whose ``modes``
    record the activation/sliding pattern at each saved time (event-driven solves).
    """
    from .. import _solve
    from ..errors import InputError
    from ..trajectory import SolverStats, Trajectory
    from . import relu2 as R

    jax = _jax()
    jnp = jax.numpy
    X = np.asarray(X, dtype=float) if not bias else np.asarray(X, dtype=float)
    if bias:
        X = np.concatenate([np.asarray(X, float), np.ones((np.shape(X)[0], 1))], axis=1)
    X, y, W, a = validate(X, y, W, a, t1)
    if convention not in CONVENTIONS:
        raise InputError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if coords not in ("auto", "spherical", "cartesian"):
        raise InputError(f"coords must be auto, spherical or cartesian, got {coords!r}")
    if solver not in _solve.SOLVERS:
        raise InputError(f"unknown solver {solver!r}; choose one of {', '.join(_solve.SOLVERS)}")
    if solver == "gd":
        if dt is None or not (dt > 0 and np.isfinite(dt)):
            raise InputError("gradient descent needs a step --dt > 0")
        if convention == "filippov" and coords == "spherical":
            raise InputError("gradient descent runs in Cartesian coordinates")
    elif dt is not None:
        raise InputError(f"--dt is gradient descent's step; solver {solver} chooses its own steps")
    if convention == "filippov" and solver not in ("tsit5", "gd"):
        raise InputError(f"the exact Filippov flow is integrated by the event-driven tsit5; got solver {solver!r} "
                         "(use --convention sigma0 for the other solvers)")
    if not (rtol > 0 and atol > 0):
        raise InputError(f"rtol and atol must be > 0, got rtol={rtol}, atol={atol}")
    if min_absorb is not None and not (int(min_absorb) == min_absorb and min_absorb >= 1):
        raise InputError(f"min_absorb must be an integer ≥ 1, got {min_absorb}")
    if not absorb and (solver == "gd" or convention == "sigma0"):
        raise InputError("locating every crossing (absorb=False, --locate-all) applies to the exact Filippov flow, "
                         "not to gradient descent or the sigma0 convention")
    if not decoupled and (solver == "gd" or convention == "sigma0"):
        raise InputError("integrating the decoupled early phase (decoupled=False, --no-decoupled) applies to the "
                         "exact Filippov flow, not to gradient descent or the sigma0 convention")
    balanced = is_balanced(W, a)
    if coords == "spherical" and not balanced:
        raise InputError("log-radius (spherical) coordinates need a balanced init |a_j| = ‖w_j‖")
    spherical = (coords == "spherical" or (coords == "auto" and balanced)) and solver != "gd"
    if not spherical and solver != "gd":
        R.check_cartesian_tolerance(float(np.min(np.linalg.norm(W, axis=1))) or 1.0, rtol, atol)
    save_ts = np.asarray([t1] if save_ts is None else save_ts, float)
    if save_ts.ndim != 1 or not np.all(np.isfinite(save_ts)) or np.any(save_ts < 0) or np.any(save_ts > t1):
        raise InputError(f"save times must be finite and within [0, t1 = {t1:g}]")
    save_ts = np.unique(np.concatenate([save_ts[save_ts > 0], [t1]]))
    n, d = X.shape
    m = W.shape[0]
    s = np.sign(a)
    s[s == 0] = 1.0

    if convention == "sigma0" or solver == "gd":
        grid = np.concatenate([[0.0], save_ts])
        if spherical:
            y0 = R.SphState(rho=np.log(np.linalg.norm(W, axis=1)), wbar=W / np.linalg.norm(W, axis=1)[:, None])
            args = {"X": jnp.asarray(X), "y": jnp.asarray(y), "s": jnp.asarray(s)}
            tr = _solve.solve(R.spherical_field(), y0, t1, args, solver=solver, rtol=rtol, atol=atol,
                              save_ts=grid, max_steps=max_steps, progress=progress)
            cart = R.to_cartesian(R.SphState(*map(jnp.asarray, tr.ys)), jnp.asarray(s))
            tr.ys = R.CartState(np.asarray(cart.a), np.asarray(cart.W))
        else:
            args = {"X": jnp.asarray(X), "y": jnp.asarray(y), "kink": jnp.float64(0.0)}
            tr = _solve.solve(R.cartesian_field(), R.CartState(a, W), t1, args, solver=solver, rtol=rtol,
                              atol=atol, dt=dt, save_ts=grid, max_steps=max_steps, progress=progress)
        tr.stats.convention = "sigma'(0)=0"
        return tr

    from ..backends import switching

    K = min(n, d)
    gram = n <= d
    args = {"X": jnp.asarray(X), "y": jnp.asarray(y), "G": jnp.asarray(X @ X.T if gram else np.zeros((1, 1))),
            "xn": jnp.asarray(np.linalg.norm(X, axis=1)), "eps_z": jnp.float64(max(EPS_Z, HIT_REL * rtol)),
            "absorb": jnp.asarray(bool(absorb)), "defer_exits": jnp.asarray(bool(defer_exits)),
            "min_absorb": jnp.asarray(MIN_ABSORB if min_absorb is None else min_absorb)}
    if spherical:
        norms = np.linalg.norm(W, axis=1)
        y0 = R.SphState(rho=np.log(norms), wbar=W / norms[:, None])
        args["s"] = jnp.asarray(s)
    else:
        y0 = R.CartState(a=a, W=W)
    sysm = system(spherical, gram, K)
    res, early = _integrate_filippov(sysm, y0, save_ts, args, rtol=rtol, atol=atol, max_steps=max_steps,
                                     decoupled=decoupled and spherical, gram=gram, progress=progress)
    if bool(np.asarray(res.final_mode.overflow)):
        from ..errors import SolverError

        raise SolverError(f"a neuron slid along more than min(n, d) = {K} hyperplanes at once "
                          "(samples not in general position?)", t_reached=float(res.ts[-1]))
    st = res.stats
    stats = SolverStats(name="tsit5-events", rtol=rtol, atol=atol, steps=st["steps"], rejected=st["rejected"],
                        rhs_evals=st["rhs_evals"], wall_s=st["wall_s"], compile_s=st["compile_s"],
                        segments=st["segments"], convention="filippov",
                        switching={k: st[k] for k in ("crossings", "slide_entries", "slide_exits", "null_hits",
                                                      "crossings_absorbed", "absorbed_steps", "absorb_too_coarse",
                                                      "absorb_disagreed", "sliding_time", "sliding_pair_time")})
    if spherical:
        cart = R.to_cartesian(R.SphState(*map(jnp.asarray, res.ys)), jnp.asarray(s))
        ys = R.CartState(np.asarray(cart.a), np.asarray(cart.W))
    else:
        ys = R.CartState(np.asarray(res.ys[0]), np.asarray(res.ys[1]))
    stats.switching["coords"] = "log-radius" if spherical else "cartesian"
    if early is not None:
        stats.switching.update({"decoupled_until": early["until"], "decoupled_evals": early["rhs_evals"],
                                "decoupled_event_steps": early["event_steps"], "decoupled_tau": early["tau"]})
    return Trajectory(ts=res.ts, ys=ys, events={}, stats=stats, t1=float(t1), modes=np.stack(res.modes))


def _integrate_filippov(sysm, y0, save_ts, args, *, rtol, atol, max_steps, decoupled: bool, gram: bool,
                        progress=None):
    """The event-driven integration from 0 through ``save_ts``, after the closed-form decoupled
    phase where it applies (``decoupled``: log-radius coordinates). Returns the integrator's
    :class:`gflow.backends.switching.SwitchedResult` with both parts merged (statistics summed; the
    closed form's work counted as its field evaluations) and the phase's own statistics (or None)."""
    from ..backends import switching

    if not decoupled:
        return switching.integrate(sysm, y0, 0.0, save_ts, args, rtol=rtol, atol=atol, max_steps=max_steps,
                                   progress=progress), None
    from . import relu2_early

    jax = _jax()
    jnp = jax.numpy
    tmap = jax.tree_util.tree_map
    tc = time.perf_counter()
    y_init, mode_init, _, _, n_ev0 = switching._start_fn(sysm)(tmap(lambda v: jnp.asarray(v, jnp.float64), y0),
                                                               args)
    compile0 = time.perf_counter() - tc
    t0, y, mode, saved, early = relu2_early.decoupled_phase(y_init, mode_init, args, save_ts, rtol=rtol, gram=gram,
                                                            progress=progress)
    early["rhs_evals"] += int(n_ev0)
    head_ts = [0.0] + [t for t, _, _ in saved]
    head_ys = [tmap(np.asarray, y_init)] + [v for _, v, _ in saved]
    head_modes = [np.asarray(mode_codes(mode_init))] + [c for _, _, c in saved]
    rest = save_ts[save_ts > t0]
    keys = ("crossings", "slide_entries", "slide_exits", "null_hits", "sliding_time", "sliding_pair_time")
    if len(rest):
        res = switching.integrate(sysm, y, t0, rest, args, rtol=rtol, atol=atol, max_steps=max_steps,
                                  progress=progress, mode0=mode)   # the mode resolved above: not again
        ts = np.concatenate([head_ts, res.ts[1:]])
        ys = tmap(lambda h, r: np.concatenate([h, r[1:]]), tmap(lambda *a: np.stack(a), *head_ys), res.ys)
        modes = head_modes + list(res.modes[1:])
        stats = dict(res.stats)
        final_mode, t_stop = res.final_mode, res.t_stop
    else:   # the closed form reached the last save time
        ts, ys, modes = np.asarray(head_ts), tmap(lambda *a: np.stack(a), *head_ys), head_modes
        stats = {"steps": 0, "rejected": 0, "rhs_evals": 0, "wall_s": 0.0, "compile_s": 0.0, "segments": 0,
                 **{k: 0 for k in COUNT_NAMES}, "sliding_time": 0.0, "sliding_pair_time": 0.0}
        final_mode, t_stop = mode, None
    for k in keys:
        stats[k] += early[k]
    stats["rhs_evals"] += early["rhs_evals"]
    stats["wall_s"] += early["wall_s"]
    stats["compile_s"] += early["compile_s"] + compile0
    stats["segments"] += early["windows"]
    return switching.SwitchedResult(ts, ys, modes, stats, final_mode, t_stop), early


def loss_curve(X, y, traj, bias: bool = False) -> np.ndarray:
    """``(1/2n) Σ (h(x_k) − y_k)²`` at every saved time of a :func:`solve_relu2` trajectory."""
    X = np.asarray(X, float)
    if bias:
        X = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1)
    from . import relu2 as R

    return R.loss(np.asarray(traj.ys.a), np.asarray(traj.ys.W), X, np.asarray(y))


def load_problem(data_path, init_path):
    """``(X, y, W, a)`` from ``D.npz`` (``X`` (n, d), ``y`` (n)) and ``I.npz`` (``W`` (m, d), ``a`` (m));
    InputError (one line) for a missing or unreadable file, a missing key, or bad arrays."""
    from ..errors import InputError

    out = []
    for path, keys in ((data_path, ("X", "y")), (init_path, ("W", "a"))):
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in keys if k not in f.files]
                if missing:
                    raise InputError(f"{path}: missing key{'s' if len(missing) > 1 else ''} "
                                     f"{', '.join(missing)} (has {', '.join(f.files) or 'none'})")
                out += [np.asarray(f[k]) for k in keys]
        except InputError:
            raise
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read as .npz ({e.__class__.__name__}: {e})") from None
    return validate(*out)


def read_times(path, t1: float) -> np.ndarray:
    """Save times from a text file, one per line (blank lines and ``#`` comments skipped)."""
    from ..errors import InputError

    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    ts = []
    for i, line in enumerate(lines, 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        try:
            ts.append(float(line))
        except ValueError:
            raise InputError(f"{path}:{i}: not a time: {line!r}") from None
    ts = np.asarray(ts)
    if ts.size == 0:
        raise InputError(f"{path}: no times")
    if not np.all(np.isfinite(ts)) or np.any(ts < 0) or np.any(ts > t1):
        raise InputError(f"{path}: times must be finite and within [0, t1 = {t1:g}]")
    if np.any(np.diff(ts) <= 0):
        raise InputError(f"{path}: times must be strictly increasing")
    return ts


def result_dict(X, y, traj, bias: bool = False) -> dict:
    """The JSON of ``gflow solve relu2``: times, loss, Σa² + ‖W‖², solver statistics, final state."""
    st = traj.stats
    solver = {"name": st.name, "steps": st.steps, "rejected": st.rejected, "rhs_evals": st.rhs_evals,
              "wall_s": st.wall_s, "compile_s": st.compile_s, "rtol": st.rtol, "atol": st.atol, "step": st.step,
              "convention": st.convention, **(st.switching or {})}
    return {"ts": traj.ts.tolist(), "loss": loss_curve(X, y, traj, bias=bias).tolist(),
            "sqnorm": (np.sum(traj.ys.a**2, axis=1) + np.sum(traj.ys.W**2, axis=(1, 2))).tolist(),
            "solver": solver, "bias": bias,
            "final_state": {"W": traj.ys.W[-1].tolist(), "a": traj.ys.a[-1].tolist()}}
