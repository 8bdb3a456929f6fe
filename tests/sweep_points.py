"""Module-level functions for the sweep tests (workers import them by name)."""

import os
from pathlib import Path


def square(x: int, log: str, fail_at: int = -1) -> dict:
    """Records every call in ``log`` (one line each); raises at ``x == fail_at`` (a crash)."""
    with open(log, "a") as fh:
        fh.write(f"{x}\n")
    if x == fail_at:
        raise RuntimeError("killed half-way")
    return {"y": x * x, "pid_differs": os.getpid() != int(Path(log).with_suffix(".pid").read_text() or 0)}
