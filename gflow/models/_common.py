"""Quantities every classifier model shares, written once (numpy or JAX arrays, traced or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .._types import Labels, Logits, Margins, OneHot


def _xp(*arrays):
    if all(isinstance(a, np.ndarray | np.generic | float | int) for a in arrays):
        return np
    import jax.numpy as jnp

    return jnp


def class_mask(y, k: int):
    """Boolean (…, n, k) mask of each sample's own class, from integer labels (n,) or a one-hot/weight
    array (…, n, k) (a positive entry marks the class)."""
    xp = _xp(y)
    y = xp.asarray(y)
    if xp.issubdtype(y.dtype, xp.integer):
        return y[..., None] == xp.arange(k)[(None,) * y.ndim]
    return y > 0


def class_margins(f: Logits, y: Labels | OneHot) -> Margins:
    """The classification margin ``f_{y(x)}(x) − max_{j≠y(x)} f_j(x)`` of every sample, from logits ``f``
    (…, n, k) and labels ``y`` (integer (n,) or one-hot (…, n, k)); positive = correctly classified."""
    xp = _xp(f, y)
    mask = class_mask(y, f.shape[-1])
    mask = xp.broadcast_to(mask, f.shape)   # labels (n,) against logits with a time axis (t, n, k)
    own = xp.where(mask, f, 0.0).sum(-1)
    return own - xp.where(mask, -xp.inf, f).max(-1)
