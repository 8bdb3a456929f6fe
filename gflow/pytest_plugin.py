"""pytest plugin (entry point ``pytest11: gflow``): the ``gflow_check`` fixture runs a check once per
pytest session for each distinct set of parameters, so many tests can assert on one expensive report.

    def test_gap(gflow_check):
        from gflow.testing import assert_claims
        assert_claims(gflow_check("theorem2", delta=(0.05,)), "gap")

A failed :func:`gflow.testing.assert_claims` prints the failing rows (claim, measured, bound, margin).
"""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def gflow_check():
    """``gflow_check(check_id, **params) -> Report``, cached for the session by (id, params)."""
    from .testing import run_check

    cache = {}

    def get(check_id: str, **params):
        key = (check_id, json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
                                    sort_keys=True, default=str))
        if key not in cache:
            cache[key] = run_check(check_id, **params)
        return cache[key]

    return get
