"""Data sets: generators with explicit seeds."""

from __future__ import annotations

import numpy as np


def stream(seed: int, *keys: int) -> np.random.Generator:
    """An independent random stream for one purpose of a run: the run's ``seed`` and a key (by convention
    1 the initialisation, 2 the data, 3 a test set, then any sub-keys such as N or a repetition), so that
    changing one draw never shifts another."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))
