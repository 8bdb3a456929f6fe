"""``orthogonal.fact1`` — saddle to saddle (NeurIPS 2022, Fact 1).

There is a strict saddle ``θ_S ≠ 0`` with ``‖θ(t) − θ_S‖ ≤ λ^(ε/5)`` for every
``t ∈ [−(1+3ε) ln λ/‖D+‖, −(1−ε) ln λ/‖D−‖]``. Numerically:

* ``θ_S``: the state in the middle of the window refined to a stationary point of L: the
  unfitted neurons set to 0 (they are O(λ^ε) there, and ∇L vanishes on zero neurons), then
  Newton's method on ``∇L = 0`` over the fitted group (least-squares steps: the saddle is not
  isolated, the fitted neurons can trade mass), in Cartesian coordinates ``θ = (a, W)``;
* strict: the Hessian at ``θ_S`` has a negative eigenvalue. At θ_S the unfitted neurons are 0,
  where ReLU's Hessian is not defined; it is taken on the activation pattern the trajectory
  leaves by (those neurons placed at 1e−12 along their trajectory directions);
* the plateau: the loss stays within ``τ·L_S`` of the saddle value ``L_S = (1/2n) Σ_{y<0} y²``
  (generalised: the second group's) on a measured interval that must contain the window;
* the number of saddles visited (the origin, then θ_S) is counted from ``‖∇L‖``.
"""

from __future__ import annotations

import numpy as np

from gflow._config import jax as _jax
from gflow.flows import orthogonal as flow
from gflow.models import relu2 as R
from gflow.report import Report, Row


ID = "orthogonal.fact1"
TITLE = "a strict saddle θ_S ≠ 0 between the two fits, on the predicted window"
Params = flow.OrthoParams
STRICT_TOL = 1e-8  # a Hessian eigenvalue counts as negative below −STRICT_TOL·max|eigenvalue|


def _loss_fns(data, kink: float = 1e-9):
    """L, ∇L and its Jacobian on flat Cartesian parameters ``(a, W)``. ∇L is minus the flow's
    own vector field, so it uses the same kink convention as the dynamics (autodiff of ReLU
    would count a pre-activation of +1e−13 as active and see a gradient the flow does not)."""
    jax = _jax()
    jnp = jax.numpy
    X, y = jnp.asarray(data.X), jnp.asarray(data.y)
    args = {"X": X, "y": y, "kink": jnp.float64(kink)}
    field = R.cartesian_field()

    def loss(flat, m):
        a, W = flat[:m], flat[m:].reshape(m, -1)
        return R.loss_cart(R.CartState(a, W), X, y)

    def grad(flat, m):
        a, W = flat[:m], flat[m:].reshape(m, -1)
        f = field(0.0, R.CartState(a, W), args)
        return -jnp.concatenate([f.a, f.W.ravel()])

    return (jax.jit(loss, static_argnums=1), jax.jit(grad, static_argnums=1),
            jax.jit(jax.jacfwd(grad), static_argnums=1))


def refine_saddle(run: flow.OrthoRun, t_mid: float, iters: int = 60):
    """The stationary point next to the state at ``t_mid``: the unfitted neurons set to 0 (every
    gradient component on a zero neuron vanishes), then Newton on ``∇L = 0`` over the fitted
    group's coordinates only (least-squares steps, backtracking on ‖∇L‖).
    Returns (θ_S flat, ‖∇L(θ_S)‖ over all coordinates, L(θ_S))."""
    loss, grad, hess = _loss_fns(run.data, float(run.kink))
    a, W = run.cart()
    i = flow.index_at(run, t_mid)
    m, d = W.shape[1], W.shape[2]
    keep = np.zeros(m, bool)
    keep[run.sets["S1"]] = True
    a0, W0 = np.where(keep, a[i], 0.0), np.where(keep[:, None], W[i], 0.0)
    x = np.concatenate([a0, W0.ravel()])
    free = np.concatenate([keep, np.repeat(keep, d)])
    for _ in range(iters):
        g = np.asarray(grad(x, m))
        gn = np.linalg.norm(g)
        if gn < 1e-14:
            break
        H = np.asarray(hess(x, m))[np.ix_(free, free)]
        step = np.zeros_like(x)
        step[free], *_ = np.linalg.lstsq(H, -g[free], rcond=1e-12)
        for _ in range(30):
            if np.linalg.norm(np.asarray(grad(x + step, m))) < gn:
                break
            step = step / 2
        x = x + step
    return x, float(np.linalg.norm(np.asarray(grad(x, m)))), float(loss(x, m))


def saddle_spectrum(run: flow.OrthoRun, theta_s: np.ndarray, t_mid: float) -> np.ndarray:
    _, _, hess = _loss_fns(run.data, float(run.kink))
    m = len(run.s)
    d = run.data.X.shape[1]
    a, W = theta_s[:m].copy(), theta_s[m:].reshape(m, d).copy()
    _, wbar = run.geometry()
    i = flow.index_at(run, t_mid)
    off = np.setdiff1d(np.arange(m), run.sets["S1"])
    W[off] = 1e-12 * wbar[i][off]
    a[off] = 1e-12 * run.s[off]
    return np.linalg.eigvalsh(np.asarray(hess(np.concatenate([a, W.ravel()]), m)))


def saddles_visited(run: flow.OrthoRun) -> int:
    """Maximal stretches of saved times with ‖∇L‖ ≤ 1e−3·max‖∇L‖ while the loss is still
    above the final loss + 1e−6 (stationary, not yet the minimum)."""
    _, grad, _ = _loss_fns(run.data, float(run.kink))
    a, W = run.cart()
    m = len(run.s)
    g = np.array([np.linalg.norm(np.asarray(grad(np.concatenate([a[i], W[i].ravel()]), m)))
                  for i in range(len(run.traj.ts))])
    L = run.loss()
    flat = (g <= 1e-3 * g.max()) & (L > L[-1] + 1e-6)
    return int(np.sum(flat[1:] & ~flat[:-1]) + flat[0])


def rows(p: Params, runs) -> tuple[list[Row], list[str]]:
    out, findings = [], []
    cover, dist, stat, neg, lvl = [], [], [], [], []
    for run in runs:
        lo, hi = run.pred["plateau_start"], run.pred["plateau_end"]
        ps, pe = run.t("plateau_start"), run.t("plateau_end")
        cover.append(min(lo - ps, pe - hi) if ps is not None and pe is not None else -np.inf)
        t_mid = float(np.sqrt(lo * hi))
        theta_s, gnorm, Ls = refine_saddle(run, t_mid)
        a, W = run.cart()
        sel = (run.traj.ts >= lo) & (run.traj.ts <= hi)
        m = len(run.s)
        traj_flat = np.concatenate([a[sel], W[sel].reshape(sel.sum(), -1)], axis=1)
        dist.append(float(np.linalg.norm(traj_flat - theta_s, axis=1).max() - run.lam ** (p.eps / 5)))
        stat.append(gnorm)
        lvl.append(abs(Ls - run.saddle_loss))
        ev = saddle_spectrum(run, theta_s, t_mid)
        neg.append(float(ev.min() / np.abs(ev).max()))  # relative to the spectrum: zero modes round to ±1e−16
        nrm = float(np.linalg.norm(theta_s))
        findings.append(f"λ={run.lam:g}: measured plateau [{ps}, {pe}] vs predicted window [{lo:.4g}, {hi:.4g}]; "
                        f"θ_S: ‖θ_S‖ = {nrm:.4g}, ‖∇L‖ = {gnorm:.2e}, L = {Ls:.6g}, Hessian eigenvalues "
                        f"min {ev.min():.4g}, max {ev.max():.4g}; saddles visited: {saddles_visited(run)}"
                        f" (with m={m} neurons)")
    cover, dist = np.array(cover), np.array(dist)
    out.append(Row("plateau.window", "the loss stays within τ·L_S of the saddle value on the whole predicted window "
                   "[−(1+3ε) ln λ/‖D+‖, −(1−ε) ln λ/‖D−‖]", float(cover.min()), "window inside measured plateau",
                   bool(cover.min() >= 0), margin=float(cover.min())))
    out.append(Row("saddle.stationary", "θ_S (Newton-refined) is stationary: ‖∇L(θ_S)‖ ≤ 1e−10, at loss L_S",
                   float(max(stat)), "≤ 1e-10", bool(max(stat) <= 1e-10 and max(lvl) <= 1e-10)))
    out.append(Row("saddle.close", "‖θ(t) − θ_S‖ ≤ λ^(ε/5) on the window", float(dist.max()), "excess ≤ 0",
                   bool(dist.max() <= 0), margin=float(-dist.max())))
    out.append(Row("saddle.strict", f"θ_S is a strict saddle: the Hessian has a negative eigenvalue (smallest "
                   f"eigenvalue / largest |eigenvalue| < −{STRICT_TOL:g}: rounding puts zero modes at ±1e−16)",
                   float(max(neg)), f"< −{STRICT_TOL:g}", bool(max(neg) < -STRICT_TOL)))
    return out, findings


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    return flow.report(ID, TITLE, p, runs, *rows(p, runs))


plot = flow.plot
