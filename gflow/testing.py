"""gflow in a researcher's pytest suite: assert that a check's claims hold, and see why not when they don't.

    from gflow.testing import assert_claims, run_check

    def test_theorem2_at_small_delta():
        report = run_check("theorem2", delta=(0.05, 0.02))
        assert_claims(report)                       # every row
        assert_claims(report, "gap", "order")       # or the named rows only

On failure the message lists the failing rows the way pytest prints a failed comparison —
claim, measured, bound, margin — with the hypotheses the run missed (a claim outside its
theorem's hypotheses is not a counterexample) and the solver line.

The pytest plugin (:mod:`gflow.pytest_plugin`, registered as the ``gflow`` entry point of ``pytest11``)
adds a session-scoped fixture ``gflow_check``: ``gflow_check("theorem2", delta=(0.05,))`` runs a check
once per pytest session for each distinct set of parameters and hands every test the same report.
"""

from __future__ import annotations

from typing import Any

from .report import Report, fmt


class ClaimsFailed(AssertionError):
    """A check's claim rows did not hold (an AssertionError, so pytest shows it as a failed assertion)."""


def run_check(check_id: str, progress=None, **params: Any) -> Report:
    """Run a registered check with the given parameters (Python values: tuples for lists), validated
    exactly as the CLI validates them."""
    from theory_checks.registry import get

    module = get(check_id).load()
    p = module.Params(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    return module.run(p, progress=progress)


def failure_message(report: Report, rows=None) -> str:
    """The failing rows of ``report`` (restricted to ``rows`` ids if given) as an aligned table."""
    chosen = [r for r in report.rows if rows is None or r.id in rows]
    bad = [r for r in chosen if not r.holds]
    head = ("claim", "measured", "bound", "margin")
    table = [head] + [(r.id, fmt(r.measured), fmt(r.bound), "" if r.margin is None else fmt(r.margin)) for r in bad]
    widths = [max(len(str(row[i])) for row in table) for i in range(4)]
    lines = [f"{report.check}: {len(bad)} of {len(chosen)} claim rows do not hold"]
    for i, row in enumerate(table):
        lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    for r in bad:
        lines.append(f"  {r.id}: {r.statement}" + (f" ({r.note})" if r.note else ""))
    missed = [h for h in report.hypotheses if h.applies and not h.met]
    if missed:
        lines.append("  outside the theorem's hypotheses (not a counterexample to the paper):")
        lines += [f"    - {h.statement}: required {fmt(h.required)}, this run {fmt(h.measured)}" for h in missed]
    s = report.solver or {}
    if s.get("name"):
        step = f"step {s['step']:g}" if s.get("step") else f"rtol {s.get('rtol')}, atol {s.get('atol')}"
        lines.append(f"  solver {s['name']} ({step}): {s.get('steps')} steps, {s.get('rhs_evals')} field evaluations")
    return "\n".join(lines)


def assert_claims(report: Report, *rows: str) -> None:
    """Assert that every claim row of ``report`` holds (or the rows named); raise :class:`ClaimsFailed`
    with the failing rows otherwise. Unknown row ids are an error, so a renamed row cannot pass silently."""
    if rows:
        known = {r.id for r in report.rows}
        unknown = [r for r in rows if r not in known]
        if unknown:
            raise KeyError(f"{report.check} has no row(s) {unknown}; its rows: {sorted(known)}")
    chosen = [r for r in report.rows if not rows or r.id in rows]
    if not chosen:
        raise ClaimsFailed(f"{report.check}: no claim rows to assert")
    if not all(r.holds for r in chosen):
        raise ClaimsFailed(failure_message(report, set(rows) if rows else None))
