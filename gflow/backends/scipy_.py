"""Cross-check backend: :func:`scipy.integrate.solve_ivp` (LSODA, Radau, BDF, RK45, DOP853).

Independent of diffrax's step control and error norms. The vector field and its
Jacobian are still the same jitted JAX functions (one Python call per evaluation,
~70 µs: this backend is for checking, not for speed). Events use scipy's own root
finding on its dense output.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._config import jax as _jax
from ..errors import SolverError
from ..events import Event, Occurrence
from ..trajectory import SolverStats, Trajectory

METHODS = {"lsoda": "LSODA", "radau": "Radau", "bdf": "BDF", "rk45": "RK45", "dop853": "DOP853"}
IMPLICIT = {"lsoda", "radau", "bdf"}


@functools.lru_cache(maxsize=64)
def _flat_functions(vf: Callable, event_fns: tuple, treedef, shapes: tuple):
    """Jitted field, Jacobian and events on the flattened state (cached per structure)."""
    jax = _jax()
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    template = jax.tree_util.tree_unflatten(treedef, [jnp.zeros(s) for s in shapes])
    _, unravel = ravel_pytree(template)

    def flat_f(t, y, args):
        return ravel_pytree(vf(t, unravel(y), args))[0]

    f = jax.jit(flat_f)
    jac = jax.jit(jax.jacfwd(flat_f, argnums=1))
    evs = tuple(jax.jit(lambda y, args, fn=fn: jnp.asarray(fn(unravel(y), args), jnp.float64))
                for fn in event_fns)
    return f, jac, evs, unravel


def solve(
    vector_field: Callable,
    y0: Any,
    t1: float,
    args: Any = None,
    *,
    t0: float = 0.0,
    solver: str = "lsoda",
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
    from jax.flatten_util import ravel_pytree
    from scipy.integrate import solve_ivp

    y0 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), y0)
    leaves, treedef = jax.tree_util.tree_flatten(y0)
    f, jac, evs, unravel = _flat_functions(vector_field, tuple(e.fn for e in events), treedef,
                                           tuple(np.shape(x) for x in leaves))
    flat0 = np.asarray(ravel_pytree(y0)[0])
    nfev = [0]

    def fun(t, y):
        nfev[0] += 1
        return np.asarray(f(t, y, args))

    def jacobian(t, y):
        return np.asarray(jac(t, y, args))

    event_callables = []
    for ev, spec in zip(evs, events):
        def g(t, y, ev=ev):
            return float(ev(y, args))
        g.terminal, g.direction = spec.terminal, 1.0
        event_callables.append(g)

    tc = time.perf_counter()
    fun(t0, flat0)  # compile outside the timed solve
    if solver in IMPLICIT:
        jacobian(t0, flat0)
    for g in event_callables:
        g(t0, flat0)
    compile_s = time.perf_counter() - tc
    nfev[0] = 0

    kwargs = dict(method=METHODS[solver], rtol=rtol, atol=atol, dense_output=True,
                  events=event_callables or None)
    if solver in IMPLICIT:
        kwargs["jac"] = jacobian
    tw = time.perf_counter()
    sol = solve_ivp(fun, (t0, t1), flat0, **kwargs)
    wall = time.perf_counter() - tw
    if progress is not None:
        progress(float(sol.t[-1]), float(t1))
    if sol.status not in (0, 1) or not np.all(np.isfinite(sol.y)):  # 1: a terminal event
        reached = float(sol.t[np.all(np.isfinite(sol.y), axis=0)][-1]) if sol.t.size else t0
        why = sol.message if sol.status not in (0, 1) else "the state became NaN/inf"
        raise SolverError(f"solver {solver} failed: {why} (integration reached t = {reached:.6g})",
                          t_reached=reached)
    if len(sol.t) - 1 > max_steps:
        raise SolverError(f"solver {solver} took {len(sol.t) - 1} steps > max_steps={max_steps}",
                          t_reached=float(t1))

    save = np.asarray([t0, t1] if save_ts is None else save_ts, np.float64)
    occurred: dict[str, Occurrence] = {}
    extra_t = []
    for ev, spec, te, ye in zip(evs, events, sol.t_events, sol.y_events):
        v0 = float(ev(flat0, args))
        if v0 >= 0:
            occurred[spec.name] = Occurrence(float(t0), jax.tree_util.tree_map(np.asarray, unravel(flat0)))
        elif len(te):
            occurred[spec.name] = Occurrence(float(te[0]), jax.tree_util.tree_map(np.asarray, unravel(ye[0])))
            extra_t.append(float(te[0]))
    t_stop = float(sol.t[-1])  # t1, or a terminal event
    ts = np.unique(np.concatenate([save[save <= t_stop], extra_t, [t_stop]]))
    t1 = t_stop
    flat = sol.sol(ts).T
    ys = jax.vmap(unravel)(jnp.asarray(flat))
    stats = SolverStats(name=solver, rtol=rtol, atol=atol, steps=len(sol.t) - 1, rejected=None,
                        rhs_evals=int(sol.nfev), jac_evals=int(sol.njev) if solver in IMPLICIT else None,
                        wall_s=wall, compile_s=compile_s, segments=1)
    return Trajectory(ts=ts, ys=jax.tree_util.tree_map(np.asarray, ys), events=occurred,
                      stats=stats, t1=float(t1))
