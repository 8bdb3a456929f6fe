"""gflow: watch a theorem happen — gradient flows of small networks as ODEs, checked claim by claim.

The public names are imported lazily so that ``import gflow`` (and the CLI's
``gflow --help``) does not pay for importing JAX and diffrax.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "solve": "gflow._solve",
    "save_grid": "gflow._solve",
    "SOLVERS": "gflow._solve",
    "solve_relu2": "gflow.models.relu2_exact",
    "solve_model_f": "gflow.models.deep_fc_exact",
    "Event": "gflow.events",
    "Occurrence": "gflow.events",
    "Trajectory": "gflow.trajectory",
    "SolverStats": "gflow.trajectory",
    "GflowError": "gflow.errors",
    "InputError": "gflow.errors",
    "SolverError": "gflow.errors",
    "Row": "gflow.report",
    "Hypothesis": "gflow.report",
    "Report": "gflow.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gflow' has no attribute {name!r}")
