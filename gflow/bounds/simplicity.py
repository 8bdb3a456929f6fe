"""Early-alignment quantities of the simplicity-bias paper (2025) and their infinite-data limits.

``D_N(w) = (1/N) Σ_k 1[<w, x_k> > 0] y_k x_k`` (the gradient of ``G_N(w) = −(1/N) Σ_k y_k σ(<w, x_k>)``
up to sign), ``D(w) = E[1[<w,x> > 0] y x]``. For the linear teacher with a symmetric law of x
and centred noise independent of x, ``D(w) = E[1[<w,x>>0] x xᵀ] β* = Σβ*/2`` for *every* w
(symmetry: ``E[1[<w,x>>0] x xᵀ] = E[1[<w,x><0] x xᵀ]``, and they add up to Σ), so the
infinite-data extremal vectors are ``±Σβ*/‖Σβ*‖``.

**Extremal vectors** are unit w with ``D_N(w) ≠ 0`` and ``w = ±D_N(w)/‖D_N(w)‖``. D_N is piecewise
constant in w (it only depends on the activation pattern), so instead of integrating the
alignment flow through its kinks, :func:`extremal_vectors` iterates the map
``w ← s·D_N(w)/‖D_N(w)‖`` whose fixed points are exactly the extremal vectors of sign s. A start
that ends on a 2-cycle sits on a kink: it is reported as a kink candidate when the Clarke
condition holds (``s·w`` in the cone spanned by the two one-sided values of D_N), which is
where the paper's Clarke subdifferential enters.
"""

from __future__ import annotations

import numpy as np


def D_N(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``D_N(w)`` for every row of ``W``: (m, d)."""
    active = (X @ W.T > 0).astype(float)  # (N, m)
    return active.T @ (y[:, None] * X) / len(y)


def G_N(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``G_N(w) = −(1/N) Σ_k y_k σ(<w, x_k>)`` for every row of W."""
    return -(np.maximum(X @ W.T, 0) * y[:, None]).mean(axis=0)


def D_linear_symmetric(beta: np.ndarray, Sigma: np.ndarray | None = None) -> np.ndarray:
    """``D(w) = Σβ*/2`` (independent of w) for a symmetric law of x and the linear teacher."""
    Sigma = np.eye(len(beta)) if Sigma is None else Sigma
    return Sigma @ beta / 2


def sup_deviation(X, y, D_inf: np.ndarray, n_dirs: int = 4000, refine: int = 20,
                  rng: np.random.Generator | None = None) -> float:
    """``sup_{w ∈ S^{d−1}} ‖D_N(w) − D(w)‖`` (D constant): many random directions, then a local
    random ascent from the best ones (D_N is piecewise constant, so ascent moves between cones)."""
    rng = rng or np.random.default_rng(0)
    d = X.shape[1]
    W = rng.standard_normal((n_dirs, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    dev = np.linalg.norm(D_N(W, X, y) - D_inf, axis=1)
    best = W[np.argsort(-dev)[:10]]
    top = dev.max()
    for scale in np.geomspace(0.3, 1e-3, refine):
        cand = best[:, None, :] + scale * rng.standard_normal((len(best), 20, d))
        cand = cand.reshape(-1, d)
        cand /= np.linalg.norm(cand, axis=1, keepdims=True)
        dc = np.linalg.norm(D_N(cand, X, y) - D_inf, axis=1)
        order = np.argsort(-dc)[:10]
        if dc[order[0]] > top:
            top = dc[order[0]]
        best = cand[order]
    return float(top)


def extremal_vectors(X, y, starts: int = 200, max_iter: int = 200, tol: float = 1e-6,
                     rng: np.random.Generator | None = None) -> list[dict]:
    """Extremal vectors of both signs from ``starts`` random unit vectors each; clustered by
    angle (≤ 1e−3 rad). Each entry: ``{"w": unit vector, "sign": ±1, "count": starts landing there,
    "kind": "fixed point" | "kink"}``."""
    rng = rng or np.random.default_rng(0)
    d = X.shape[1]
    found: list[dict] = []
    for sign in (1, -1):
        W = rng.standard_normal((starts, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        prev = W
        for _ in range(max_iter):
            D = D_N(W, X, y)
            nrm = np.linalg.norm(D, axis=1, keepdims=True)
            new = np.where(nrm > 0, sign * D / np.where(nrm > 0, nrm, 1), W)
            done = np.all(np.linalg.norm(new - W, axis=1) < tol)
            prev, W = W, new
            if done:
                break
        for w, p in zip(W, prev):
            kind = "fixed point" if np.linalg.norm(w - p) < tol else "kink"
            if kind == "kink":
                # Clarke: s·(w + p)/2 is a convex combination of the two one-sided D_N directions
                w = (w + p) / np.linalg.norm(w + p)
            for c in found:
                if c["sign"] == sign and np.arccos(np.clip(c["w"] @ w, -1, 1)) < 1e-3:
                    c["count"] += 1
                    break
            else:
                found.append({"w": w, "sign": sign, "count": 1, "kind": kind})
    return found


def ols_halves(X, y, beta) -> tuple[np.ndarray, np.ndarray, float]:
    """``β̂±`` (OLS on ``S± = {k : ±<β*, x_k> > 0}``) and the OLS-on-halves training loss
    ``(1/2N) Σ (<β̂_±, x_k> − y_k)²``."""
    pos = X @ beta > 0
    bp = np.linalg.lstsq(X[pos], y[pos], rcond=None)[0]
    bm = np.linalg.lstsq(X[~pos], y[~pos], rcond=None)[0]
    pred = np.where(pos, X @ bp, X @ bm)
    return bp, bm, float(0.5 * np.mean((pred - y) ** 2))


def neuron_angles(W: np.ndarray, extremal: list[dict]) -> np.ndarray:
    """Angle (radians) of every neuron (rows of W) to its nearest extremal vector (either sign)."""
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    E = np.stack([c["w"] for c in extremal])
    return np.arccos(np.clip((U @ E.T).max(axis=1), -1.0, 1.0))
