"""Integrators behind :func:`gflow.solve`: diffrax (default), scipy (cross-check),
and fixed-step gradient descent (the papers' own method, via diffrax's Euler)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Backend(Protocol):
    """What a backend module provides: ``solve`` with exactly this signature (what :func:`gflow.solve` calls).

    Rules a new backend follows (as scipy's ``OdeSolver`` states its own):

    1. ``vector_field(t, y, args)`` is a pure JAX function of a PyTree state; the backend may jit it and must
       not change it. The state is float64 throughout.
    2. Save exactly at ``save_ts`` (sorted, within ``[t0, t1]``; ``None``: only t0 and t1) and return a
       :class:`gflow.Trajectory` whose ``ys`` keep ``y0``'s PyTree structure with a leading time axis.
    3. Events (:class:`gflow.Event`) are located to the integrator's accuracy (not at a step end), each
       occurrence recorded once; terminal events end the solve there.
    4. Failure is never silent: hitting ``max_steps`` (per segment), a non-finite state or field, or a step
       size collapse raises :class:`gflow.SolverError` with the last trusted time (``t_reached``).
    5. Options a solver cannot honour are refused with :class:`gflow.InputError`, never ignored:
       ``dt`` is gradient descent's step; adaptive solvers take ``rtol``/``atol``.
    6. Statistics (:class:`gflow.SolverStats`): name, tolerances or step, accepted and rejected steps,
       field evaluations (counted, or exact from the method's tableau), Jacobians, wall and compile seconds.
    7. ``progress(t_reached, t1)`` after each segment, from the calling thread; compile once per shape
       (caches bounded), never per parameter value.
    """

    def solve(self, vector_field: Callable, y0: Any, t1: float, args: Any = None, *, t0: float = 0.0,
              solver: str = ..., rtol: float = ..., atol: float = ..., events: Sequence[Any] = (),
              save_ts: Any = None, max_steps: int = ..., dt: float | None = None, count_evals: bool | None = None,
              progress: Callable[[float, float], None] | None = None) -> Any: ...
