"""Pieces shared by the backends."""

from __future__ import annotations

import numpy as np


def first_finite_prefix(ts: np.ndarray, leaves: list[np.ndarray]) -> int:
    """Number of leading saved points whose time and state are all finite."""
    ok = np.isfinite(ts)
    for leaf in leaves:
        ok &= np.all(np.isfinite(leaf.reshape(leaf.shape[0], -1)), axis=1)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else len(ts)
