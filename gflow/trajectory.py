"""The result of a solve: saved times and states, located events, solver statistics."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .events import Occurrence


@dataclasses.dataclass
class SolverStats:
    """What the integrator did, in the spirit of scipy's ``OdeResult``.

    ``rhs_evals`` are vector-field evaluations (counted: explicit Runge–Kutta methods
    by their tableau, verified in the tests against an instrumented vector field;
    implicit methods by the instrumented field when ``count_evals=True`` — a host callback per
    evaluation that made Kvaerno5 ~25× slower on Model H — and ``None``, "not counted", otherwise). ``compile_s`` is the time spent
    compiling (or loading from the persistent cache) for this solve; ``wall_s`` the
    time spent integrating, compilation excluded.
    """

    name: str
    rtol: float | None
    atol: float | None
    steps: int = 0
    rejected: int | None = 0
    rhs_evals: int | None = 0
    jac_evals: int | None = None
    wall_s: float = 0.0
    compile_s: float = 0.0
    segments: int = 0
    step: float | None = None  # the fixed step of gradient descent
    convention: str | None = None  # how a non-smooth field is read at its kinks (ReLU: "filippov", "sigma'(0)=0")
    switching: dict | None = None  # event-driven solves: crossings, sliding entries/exits, time sliding
    coords: str | None = None      # the coordinates the solver integrated in, where not the model's own

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def merge(self, other: SolverStats) -> SolverStats:
        """Statistics of two solves run with the same solver, added up."""

        def add(a, b):
            return None if a is None or b is None else a + b

        return dataclasses.replace(
            self,
            name=_merge_names(self.name, other.name),
            steps=self.steps + other.steps,
            rejected=add(self.rejected, other.rejected),
            rhs_evals=add(self.rhs_evals, other.rhs_evals),
            jac_evals=add(self.jac_evals, other.jac_evals),
            wall_s=self.wall_s + other.wall_s,
            compile_s=self.compile_s + other.compile_s,
            segments=self.segments + other.segments,
            switching=_merge_counts(self.switching, other.switching),
            coords=_merge_names(self.coords, other.coords),
        )


def merge_stats(stats) -> SolverStats:
    """The statistics of several solves with one solver, added up (a non-empty iterable)."""
    import functools

    return functools.reduce(SolverStats.merge, stats)


def _merge_names(a: str | None, b: str | None) -> str | None:
    """``"tsit5"`` and ``"kvaerno5"`` → ``"tsit5+kvaerno5"`` (each name once, in order; None where neither has one)."""
    names = [x for x in (a or "").split("+") + (b or "").split("+") if x]
    return "+".join(dict.fromkeys(names)) or None


def _merge_counts(a: dict | None, b: dict | None) -> dict | None:
    """Event counts of two event-driven solves added up (entries that are not numbers: the first's)."""
    if a is None or b is None:
        return a if b is None else b
    return {k: (v + b[k] if isinstance(v, (int, float)) and isinstance(b.get(k), (int, float)) else v)
            for k, v in a.items()}


@dataclasses.dataclass
class Trajectory:
    """``ts``: saved times (event times included), increasing; ``ys``: the state pytree
    with a leading time axis (numpy arrays); ``events``: name -> :class:`Occurrence`
    (absent events are missing: they did not happen before ``t1``)."""

    ts: np.ndarray
    ys: Any
    events: dict[str, Occurrence]
    stats: SolverStats
    t1: float
    modes: np.ndarray | None = None  # int8 per saved time: 0 inactive, 1 active, 2 sliding; (T, n, m) for
    #                                  Model R (sample, neuron), (T, L, N, width) for Model F (layer, sample, unit)

    def sliding(self, i: int) -> np.ndarray:
        """The pairs sliding along their surface at saved time ``ts[i]``: (neuron, sample) rows,
        shape (p, 2), for Model R (``<w_j, x_k> = 0``; :func:`gflow.solve_relu2`); (layer, unit,
        sample) rows, shape (p, 3), for Model F (:func:`gflow.models.deep_fc_exact.solve_model_f`)."""
        if self.modes is None:
            raise ValueError("this trajectory does not record sliding modes (use gflow.solve_relu2)")
        if self.modes.ndim == 4:   # Model F (solve_model_f): (layer, unit, sample)
            layer, k, j = np.nonzero(self.modes[i] == 2)
            return np.stack([layer, j, k], axis=1)
        k, j = np.nonzero(self.modes[i] == 2)
        return np.stack([j, k], axis=1)

    def event_time(self, name: str) -> float | None:
        occ = self.events.get(name)
        return None if occ is None else occ.t

    @property
    def y_final(self) -> Any:
        import jax

        return jax.tree_util.tree_map(lambda a: a[-1], self.ys)

    @property
    def y_initial(self) -> Any:
        import jax

        return jax.tree_util.tree_map(lambda a: a[0], self.ys)

    def at(self, i: int) -> Any:
        import jax

        return jax.tree_util.tree_map(lambda a: a[i], self.ys)


def max_event_time_change(a: Trajectory, b: Trajectory) -> float:
    """Largest relative change of any located event time between two solves of one problem
    (e.g. gradient descent at step h and h/2); inf if an event occurs in one and not the other."""
    worst = 0.0
    for name in set(a.events) | set(b.events):
        ta, tb = a.event_time(name), b.event_time(name)
        if (ta is None) != (tb is None):
            return float("inf")
        if ta is not None and ta > 0:
            worst = max(worst, abs(ta - tb) / ta)
    return worst
