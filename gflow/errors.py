"""Errors a user can act on. The CLI maps them to exit codes and one-line messages."""


class GflowError(Exception):
    """Base class of gflow's own errors."""

    exit_code = 1


class InputError(GflowError, ValueError):
    """A parameter is outside what the model or the theorem allows (exit code 2)."""

    exit_code = 2


class SolverError(GflowError, RuntimeError):
    """The integrator failed: max_steps hit, NaN/inf state, step size collapse (exit code 3).

    ``t_reached`` is the last time at which the state was still finite and trusted.
    """

    exit_code = 3

    def __init__(self, message: str, t_reached: float | None = None):
        super().__init__(message)
        self.t_reached = t_reached
