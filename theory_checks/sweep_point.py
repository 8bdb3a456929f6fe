"""One point of ``gflow sweep``: run a check with given parameters, return its verdict and rows
as flat columns (module level, so process and Dask workers import it by name)."""

from __future__ import annotations


def run_check(check: str, **params) -> dict:
    from gflow._config import jax

    jax()
    from .registry import get

    module = get(check).load()
    p = module.Params(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    report = module.run(p)
    out = {"passed": report.passed}
    for row in report.rows:
        out[f"{row.id}.holds"] = bool(row.holds)
        if isinstance(row.measured, (int, float, bool)):
            out[f"{row.id}.measured"] = row.measured
    return out
