"""Located events: the first time an observable of the state reaches a level.

An :class:`Event` is ``first t such that fn(y, args) >= 0``. ``fn`` is a pure JAX
function; put the level in ``args`` (``fn = lambda y, a: y.W[0, 0] - a["mu0"]``) so
that changing the level does not recompile. Backends locate the crossing by root
finding on the solver's dense interpolant (diffrax: ``optimistix.Bisection`` on the step's bracket; scipy:
``solve_ivp``'s event machinery), never by reading a save grid.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Event:
    """``name``: key in :attr:`Trajectory.events`; ``fn(y, args) -> scalar``: the
    event happens the first time ``fn >= 0``; ``terminal``: the solve stops there."""

    name: str
    fn: Callable[[Any, Any], Any]
    terminal: bool = False


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """Where an event happened: its time and the state there."""

    t: float
    y: Any
