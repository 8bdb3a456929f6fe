"""``orthogonal.lemma5`` — local Polyak–Łojasiewicz near the minimum (NeurIPS 2022, Lemma 5).

The lemma: for λ ≤ λ*, ``inf_{θ ∈ B(θ*, λ^(ε/40)) ∩ Θ} ‖∇L(θ)‖²/L(θ) ≥ ‖D−‖`` (Θ: balanced
parameters, ``a_j² = ‖w_j‖²``), so the final loss decays exponentially at rate ≥ ‖D−‖. It is a
statement about the field on a ball, so it is checked on **states sampled from that ball**
(``n_states`` per λ, seeded), around the run's limit θ∞ (λ-close to the minimal-norm θ*), and
on the trajectory after t3.

**The radius (derived).** ``∇L = (1/n) Σ_k r_k ∇h(x_k)`` with residuals ``r``, so
``‖∇L‖²/L = (2/n) rᵀGr/‖r‖²`` with ``G`` the Gram matrix of the ``∇h(x_k)``. Shrinking one fitted
group g of θ* by a factor ``1 − τ`` (which stays balanced and moves by ``τ‖θ*_g‖``,
``‖θ*_g‖ = √(2U*_g)``) scales its block of G by ``(1 − τ)²`` and leaves its residuals collinear,
so along that path the ratio is ``4‖D_g‖(1 − τ)²`` (4‖D_g‖ is its limit at θ*, derived in
:mod:`gflow.bounds.orthogonal` and measured). It stays ≥ ‖D−‖ only while
``τ ≤ 1 − ½√(‖D−‖/‖D_g‖)``; towards τ = 1 it falls to 0 at the saddle. So the inequality can
hold only on balls of radius ``ρ_max = min_g (1 − ½√(‖D−‖/‖D_g‖))·√(2U*_g)`` (for the second
group ``½√(2U*_−)``), and "λ ≤ λ*" must include ``λ^(ε/40) ≤ ρ_max``: a hypothesis row. The
default radius is ``min(λ^(ε/40), 0.9·ρ_max)``; ``--pl-radius`` sets another.

**The samples.** Random ball points in Θ (``W = W∞ + ρu·Z/√2`` with Z uniform on the sphere,
``a_j = s_j‖w_j‖``: inside the ball) are far from the worst case in 100+ dimensions, so half
the states follow the shrinking directions above (each group scaled by ``1 − τ`` on a grid up
to the radius, then a random balanced perturbation with what is left of it). The infimum over
samples is an upper estimate of the true infimum: it can miss a worse point, and the report
says so.

Also: the trajectory's ratio after t3 (where ``L ≤ 1e−3·L_S`` and above the integration
floor) and the fitted exponential rate. Measured limit: the ratio tends to ``4‖D−‖``, so the
paper's constant is loose by a factor 4 (a finding).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gflow._config import jax as _jax
from gflow.data import stream
from gflow.flows import orthogonal as flow
from gflow.params import param
from gflow.report import Hypothesis, Report, Row

from .fact1 import _loss_fns

ID = "orthogonal.lemma5"
TITLE = "local PL inequality ‖∇L‖²/L ≥ ‖D−‖ on a ball around θ*, exponential convergence"


@dataclasses.dataclass(frozen=True)
class Params(flow.OrthoParams):
    pl_radius: float | None = param(None, "radius of the ball around θ* (default: min(λ^(ε/40), 0.9·ρ_max), derived)",
                                    kind=float, gt=0)
    n_states: int = param(2000, "states sampled from the ball per λ", ge=10, le=10**6)


def rho_max(run: flow.OrthoRun) -> float:
    """The largest radius on which the PL inequality can hold (module docstring)."""
    g1, g2 = run.groups
    return float(min((1 - 0.5 * np.sqrt(g2.norm / g.norm)) * np.sqrt(2 * g.capacity) for g in (g1, g2)))


def radius(p: flow.OrthoParams, run: flow.OrthoRun) -> float:
    """The ball's radius in force (plain :class:`OrthoParams` get the derived default)."""
    given = getattr(p, "pl_radius", None)
    return float(given) if given is not None else min(run.lam ** (p.eps / 40), 0.9 * rho_max(run))


def ball_states(p: Params, run: flow.OrthoRun, rho: float, seed: int) -> np.ndarray:
    """Flat Cartesian states ``(a, W)`` in ``B(θ∞, ρ) ∩ Θ``: half along the groups' shrinking
    directions, half uniform in the ball."""
    rng = stream(p.seed, 11, seed)
    a, W = run.cart()
    W = W[-1]
    m = len(run.s)
    n_states = getattr(p, "n_states", Params.n_states)
    n_rand = n_states // 2
    centres, left = [W[None]], [np.full(n_rand, rho)]
    per_group = (n_states - n_rand) // 2
    for idx in (run.sets["S1"], run.sets["S2"]):
        norm_g = float(np.sqrt(2 * (W[idx] ** 2).sum()))
        tau = np.linspace(0, min(1.0, rho / norm_g), per_group) if norm_g > 0 else np.zeros(per_group)
        scale = np.ones((per_group, m))
        scale[:, idx] = 1 - tau[:, None]
        centres.append(W[None] * scale[:, :, None])
        left.append(np.maximum(rho - tau * norm_g, 0.0) * rng.random(per_group))
    C = np.concatenate([np.repeat(centres[0], n_rand, axis=0)] + centres[1:])
    R = np.concatenate(left)
    Z = rng.standard_normal(C.shape)
    Z /= np.linalg.norm(Z.reshape(len(Z), -1), axis=1)[:, None, None]
    u = np.concatenate([rng.random(n_rand) ** (1 / W.size), np.ones(len(R) - n_rand)])
    Wp = C + (R * u / np.sqrt(2))[:, None, None] * Z   # ‖a' − a‖ ≤ ‖W' − W‖, so the move is ≤ ρ
    ap = run.s[None] * np.linalg.norm(Wp, axis=2)
    return np.concatenate([ap, Wp.reshape(len(Wp), -1)], axis=1)


def ball_ratios(run: flow.OrthoRun, flat: np.ndarray) -> np.ndarray:
    """``‖∇L‖²/L`` at each state (∇L = −the flow's own field, its kink convention)."""
    jax = _jax()
    loss, grad, _ = _loss_fns(run.data, float(run.kink))
    m = len(run.s)
    g = np.asarray(jax.vmap(lambda f: grad(f, m))(flat))
    L = np.asarray(jax.vmap(lambda f: loss(f, m))(flat))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(L > 0, (g * g).sum(axis=1) / L, np.inf)


def pl_measurements(run: flow.OrthoRun):
    """The trajectory after t3: ratios, the fitted rate and the number of points."""
    loss, grad, _ = _loss_fns(run.data, float(run.kink))
    a, W = run.cart()
    m = len(run.s)
    L = run.loss()
    t3 = run.t("t3") or np.inf
    # stay well above the floor the integration error leaves in L (~(rtol)² relative)
    tail = L[run.traj.ts >= run.traj.ts[-1] - 0.2 * (run.traj.ts[-1] - min(t3, run.traj.ts[-1]))]
    floor = max(1e-24, 1e4 * float(np.median(tail)))
    sel = np.flatnonzero((run.traj.ts >= t3) & (L <= 1e-3 * run.saddle_loss) & (L >= floor))
    ratios = []
    for i in sel:
        g = np.asarray(grad(np.concatenate([a[i], W[i].ravel()]), m))
        ratios.append(float(g @ g) / L[i])
    rate = float(-np.polyfit(run.traj.ts[sel], np.log(L[sel]), 1)[0]) if len(sel) >= 3 else float("nan")
    return np.array(ratios), rate, len(sel)


def rows(p: Params, runs) -> tuple[list[Row], list[str]]:
    out, findings = [], []
    worst_ratio, worst_rate, counts = np.inf, np.inf, []
    ball_worst, ball_n = np.inf, 0
    for n_lam, run in enumerate(runs):
        ratios, rate, n = pl_measurements(run)
        nD2 = run.groups[1].norm
        counts.append(n)
        if n:
            worst_ratio = min(worst_ratio, ratios.min() / nD2)
            worst_rate = min(worst_rate, rate / nD2)
            findings.append(f"λ={run.lam:g}: {n} trajectory points near θ*; min ‖∇L‖²/L = {ratios.min():.4g}, fitted "
                            f"decay rate {rate:.4g}; ‖D−‖ = {nD2:.4g}, derived limit 4‖D−‖ = {4 * nD2:.4g}")
        rho = radius(p, run)
        br = ball_ratios(run, ball_states(p, run, rho, n_lam)) / nD2
        ball_worst, ball_n = min(ball_worst, float(br.min())), ball_n + len(br)
        findings.append(f"λ={run.lam:g}: on B(θ∞, {rho:.4g}) ∩ Θ ({len(br)} states) min ratio/‖D−‖ = {br.min():.4g}; "
                        f"the paper's radius λ^(ε/40) = {run.lam ** (p.eps / 40):.4g}, ρ_max = {rho_max(run):.4g}")
    ok = min(counts) >= 3
    out.append(Row("pl.ball", "‖∇L(θ)‖²/L(θ) ≥ ‖D−‖ on B(θ*, ρ) ∩ Θ: states sampled from the ball (min ratio / ‖D−‖; "
                   "an upper estimate of the infimum)", float(ball_worst), "≥ 1", bool(ball_worst >= 1),
                   margin=float(ball_worst - 1), note=f"{ball_n} states"))
    out.append(Row("pl.ratio", "‖∇L(θ)‖²/L(θ) ≥ ‖D−‖ along the trajectory near θ* (ratio / ‖D−‖ shown)",
                   float(worst_ratio), "≥ 1", bool(ok and worst_ratio >= 1),
                   note="" if ok else "too few points near θ* to check"))
    out.append(Row("pl.rate", "the loss decays exponentially at rate ≥ ‖D−‖ (fitted rate / ‖D−‖)", float(worst_rate),
                   "≥ 1", bool(ok and worst_rate >= 1)))
    return out, findings


def hypotheses(p: Params, runs) -> list[Hypothesis]:
    worst = min(runs, key=lambda r: rho_max(r) - r.lam ** (p.eps / 40))
    paper = worst.lam ** (p.eps / 40)
    return flow.hypotheses(p, runs) + [
        Hypothesis("λ ≤ λ*: the lemma's ball B(θ*, λ^(ε/40)) lies where the PL inequality can hold (radius ≤ ρ_max)",
                   f"≤ {rho_max(worst):.4g}", paper, bool(paper <= rho_max(worst)),
                   f"ρ_max^(40/ε) = {rho_max(worst) ** (40 / p.eps):.3g} is the largest λ that meets it")]


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    rep = flow.report(ID, TITLE, p, runs, *rows(p, runs),
                       extra={"pl_radius": {f"{r.lam:g}": radius(p, r) for r in runs},
                              "rho_max": {f"{r.lam:g}": rho_max(r) for r in runs}})
    rep.hypotheses = hypotheses(p, runs)
    return rep


plot = flow.plot
