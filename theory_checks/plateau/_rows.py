"""Row builders shared by the plateau checks (the slope rule of THEOREMS.md)."""

from __future__ import annotations

import numpy as np

from gflow.fitting import ratio_slope, ratio_slope_interval
from gflow.report import Row


def upper_trend_row(row_id, statement, deltas, q, g, tol, note="") -> Row:
    """``q = O(g(δ))``: the fitted slope of ``log(q/g)`` against ``log(1/δ)`` is ≤ tol."""
    s = ratio_slope(deltas, q, g) if len(deltas) > 1 else float("nan")
    ok = len(deltas) > 1 and np.isfinite(s) and s <= tol
    note = note or ("needs ≥ 2 values of δ" if len(deltas) < 2 else "")
    return Row(row_id, statement, s, f"slope ≤ {tol}", bool(ok), margin=tol - s if np.isfinite(s) else None,
               note=_with_interval(note, deltas, q, g))


def _with_interval(note: str, deltas, q, g) -> str:
    """The note plus the fitted exponent's 95 % interval (from 3 values of δ on)."""
    if len(deltas) < 3:
        return note
    s, lo, hi = ratio_slope_interval(deltas, q, g)
    if not np.isfinite(lo):
        return note
    return "; ".join(x for x in (note, f"slope 95 % interval [{lo:+.3f}, {hi:+.3f}]") if x)


def lower_trend_row(row_id, statement, deltas, q, g, tol, floor=None, note="") -> Row:
    """``q = Ω(g(δ))``: slope ≥ −tol (and, with ``floor``, every q ≥ floor·g)."""
    s = ratio_slope(deltas, q, g) if len(deltas) > 1 else float("nan")
    ok = len(deltas) > 1 and np.isfinite(s) and s >= -tol
    bound = f"slope ≥ {-tol}"
    if floor is not None:
        ok = ok and bool(np.all(np.asarray(q) >= floor * np.asarray(g)))
        bound += f", min ≥ {floor}"
    note = note or ("needs ≥ 2 values of δ" if len(deltas) < 2 else "")
    return Row(row_id, statement, s, bound, bool(ok), margin=s + tol if np.isfinite(s) else None,
               note=_with_interval(note, deltas, q, g))
