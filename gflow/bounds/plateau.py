"""Analytic predictions for the plateau paper (ICLR 2023), Model H.

Tensor power dynamics (Lemma 12 and the phase-time prediction of THEOREMS.md):
``ẋ = C x^(r−1)``, ``x(0) = x0`` has the closed form

    x(t) = (x0^−(r−2) − (r−2) C t)^(−1/(r−2)),   blowing up at  t* = 1 / ((r−2) C x0^(r−2)).

Early in training ``1 − u_i ≈ 1 − 1/k``; in the σ = 0 data ``Ẇ_ii = (1 − u_i(e_i)) r W_ii^(r−1)``
exactly, so the time for ``W_ii`` to climb from ``x0`` to ``µ0`` is predicted by
:func:`tensor_power_time` with ``C = r (1 − u)``.
"""

from __future__ import annotations

import functools

import numpy as np


def g_theorem2(delta, r: int):
    """The paper's phase-time scale ``log(1/δ) / δ^(r−2)`` (Theorem 2, Proposition 1)."""
    delta = np.asarray(delta, float)
    return np.log(1.0 / delta) / delta ** (r - 2)


def g_no_log(delta, r: int):
    """The log-free candidate law ``δ^−(r−2)`` (the tensor-power blow-up time)."""
    return np.asarray(delta, float) ** -(r - 2)


def tensor_power_solution(t, x0, C, r: int):
    """Closed-form ``x(t)`` of ``ẋ = C x^(r−1)`` (valid for ``t < t*``)."""
    return (x0 ** -(r - 2) - (r - 2) * C * np.asarray(t, float)) ** (-1.0 / (r - 2))


def tensor_power_blowup(x0, C, r: int):
    """``t* = 1 / ((r−2) C x0^(r−2))``."""
    return 1.0 / ((r - 2) * C * x0 ** (r - 2))


def tensor_power_time(x0, level, C, r: int):
    """Time for ``ẋ = C x^(r−1)`` to climb from ``x0`` to ``level``:
    ``(x0^−(r−2) − level^−(r−2)) / ((r−2) C)``."""
    return (x0 ** -(r - 2) - level ** -(r - 2)) / ((r - 2) * C)


def predicted_t1(w11_0, mu0, k: int, r: int):
    """THEOREMS.md: ``(W_11(0)^−(r−2) − µ0^−(r−2)) / ((r−2) r (1 − 1/k))``."""
    return tensor_power_time(w11_0, mu0, r * (1.0 - 1.0 / k), r)


def lemma12_bound(wjj0, wii0, S, r: int):
    """Explicit form of Lemma 12's conclusion: if ``Ẇ_ii ≥ C_t W_ii^(r−1)`` and
    ``Ẇ_jj ≤ S C_t W_jj^(r−1)``, then at any time before ``W_ii`` blows up,
    ``W_jj^−(r−2) ≥ W_jj(0)^−(r−2) − S W_ii(0)^−(r−2)``, i.e.

        W_jj ≤ W_jj(0) · (1 − S (W_jj(0)/W_ii(0))^(r−2))^(−1/(r−2))

    (finite exactly when Lemma 12's hypothesis ``W_ii(0) > W_jj(0) S^(1/(r−2))`` holds;
    ``inf`` otherwise)."""
    q = 1.0 - S * (wjj0 / wii0) ** (r - 2)
    return np.where(q > 0, wjj0 * np.abs(q) ** (-1.0 / (r - 2)), np.inf)


@functools.lru_cache(maxsize=None)
def sympy_tensor_power(r: int, candidate=None):
    """Derive with sympy: solve ``ẋ = C x^(r−1)``, ``x(0) = x0``, and check that the
    closed form above satisfies the ODE and the initial condition, and that the
    blow-up time is where ``x^−(r−2)`` reaches 0. ``candidate(x0, C, t, r)`` checks another
    expression instead (a wrong one must fail).

    **Returns:** ``(residual_is_zero, initial_ok, blowup_ok, expression string)``.
    """
    import sympy as sp

    t, C, x0 = sp.symbols("t C x0", positive=True)
    # ``candidate(x0, C, t, r)`` replaces the closed form (a test feeds a wrong one)
    x = (x0 ** -(r - 2) - (r - 2) * C * t) ** sp.Rational(-1, r - 2) if candidate is None else candidate(x0, C, t, r)
    residual = sp.simplify(sp.diff(x, t) - C * x ** (r - 1))
    init = sp.simplify(x.subs(t, 0) - x0) == 0
    tstar = sp.solve(sp.Eq(x0 ** -(r - 2) - (r - 2) * C * t, 0), t)
    blow = len(tstar) == 1 and sp.simplify(tstar[0] - 1 / ((r - 2) * C * x0 ** (r - 2))) == 0
    # and sympy's own ODE solver agrees (separable ODE: x^-(r-1) dx = C dt)
    f = sp.Function("x")
    sol = sp.dsolve(sp.Eq(f(t).diff(t), C * f(t) ** (r - 1)), f(t), ics={f(0): x0})
    sols = sol if isinstance(sol, list) else [sol]
    agree = any(sp.simplify((s.rhs ** -(r - 2)) - x ** -(r - 2)) == 0 for s in sols)
    return bool(residual == 0), bool(init), bool(blow and agree), str(x)
