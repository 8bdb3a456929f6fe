"""Claim rows and reports: one source of truth for the terminal table, JSON and pytest.

A :class:`Row` is one claim: id, statement in words, measured value, bound, margin,
holds. A :class:`Report` is a check's rows plus everything needed to reproduce and
judge them: hypotheses (and whether the run meets them), parameters, seed, solver
statistics, phase times, initial and final state, and findings in plain words.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


@dataclasses.dataclass
class Row:
    id: str
    statement: str
    measured: Any
    bound: Any
    holds: bool
    margin: float | None = None
    note: str = ""


@dataclasses.dataclass
class Hypothesis:
    """One hypothesis of the theorem and whether this run meets it. ``applies=False`` marks a
    hypothesis that does not apply to this run (e.g. a noise condition at σ = 0): it is shown
    as "n/a (note)" and does not count as met or missed."""

    statement: str
    required: Any
    measured: Any
    met: bool
    note: str = ""
    applies: bool = True


@dataclasses.dataclass
class Report:
    check: str
    title: str
    rows: list[Row]
    hypotheses: list[Hypothesis]
    params: dict[str, Any]
    solver: dict[str, Any]
    phase_times: dict[str, Any]
    initial_state: Any
    final_state: Any
    findings: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    not_checked: dict[str, str] = dataclasses.field(default_factory=dict)  # claim -> why this run cannot check it
    context: Any = dataclasses.field(default=None, repr=False)  # trajectories for plots; not in JSON

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.holds for r in self.rows)

    @property
    def within_hypotheses(self) -> bool:
        return all(h.met for h in self.hypotheses if h.applies)

    def row(self, row_id: str) -> Row:
        for r in self.rows:
            if r.id == row_id:
                return r
        raise KeyError(f"{self.check} has no row {row_id!r}; rows: {[r.id for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        out = {
            "check": self.check,
            "title": self.title,
            "passed": self.passed,
            "within_hypotheses": self.within_hypotheses,
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "hypotheses": [dataclasses.asdict(h) for h in self.hypotheses],
            "params": self.params,
            "solver": self.solver,
            "phase_times": self.phase_times,
            "initial_state": self.initial_state,
            "final_state": self.final_state,
            "findings": self.findings,
            "not_checked": self.not_checked,
        }
        out.update(self.extra)
        return jsonable(out)

    def write_json(self, path: str | os.PathLike) -> None:
        write_atomic(path, json.dumps(self.to_dict(), indent=1, allow_nan=False).encode() + b"\n")


def jsonable(x: Any) -> Any:
    """numpy/jax values and NamedTuples to plain JSON types; non-finite floats to strings."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if hasattr(x, "_asdict"):
        return {k: jsonable(v) for k, v in x._asdict().items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "__array__") and not isinstance(x, (str, bytes)):
        arr = np.asarray(x)
        if arr.ndim:
            return [jsonable(v) for v in arr.tolist()]
        x = arr.item()
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return x


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename: a reader never
    sees half a file, and a failure leaves any previous file untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file an ordinary file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fmt(x: Any) -> str:
    """Compact human formatting of a measured value or bound."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if x == 0 or not math.isfinite(x):
            return str(x)
        return f"{x:.4g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    return str(x)


def render(report: Report, console=None) -> None:
    """Print a report as rich tables (hypotheses, claims, solver line, findings)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{report.check}[/bold] — {report.title}")
    hyp = Table(title="Hypotheses", title_justify="left", show_lines=False)
    for col in ("hypothesis", "required", "this run", "met"):
        hyp.add_column(col)
    for h in report.hypotheses:
        if not h.applies:
            hyp.add_row(h.statement, fmt(h.required), f"n/a ({h.note})" if h.note else "n/a", "[dim]n/a[/dim]")
            continue
        met = "[green]yes[/green]" if h.met else "[yellow]NO[/yellow]"
        hyp.add_row(h.statement, fmt(h.required), fmt(h.measured) + (f" ({h.note})" if h.note else ""), met)
    console.print(hyp)
    if not report.within_hypotheses:
        console.print("[yellow]This run is OUTSIDE the theorem's hypotheses (marked NO above): "
                      "its rows test the claims beyond what the theorem promises.[/yellow]")
    rows = Table(title="Claims", title_justify="left")
    for col in ("id", "claim", "measured", "bound", "holds"):
        rows.add_column(col, overflow="fold")
    for r in report.rows:
        holds = "[green]yes[/green]" if r.holds else "[red]NO[/red]"
        rows.add_row(r.id, r.statement + (f"\n[dim]{r.note}[/dim]" if r.note else ""), fmt(r.measured),
                     fmt(r.bound), holds)
    console.print(rows)
    for label, s in (("solver", report.solver), ("compared with", report.solver.get("comparison"))):
        if s:
            console.print(solver_line(s, label))
    for f in report.findings:
        console.print(f"[cyan]finding:[/cyan] {f}")
    console.print(summary_line(report, markup=True))


def solver_line(s: dict, label: str = "solver") -> str:
    """``solver tsit5 rtol=… atol=…: N steps (R rejected), E field evaluations, …``."""
    tol = "" if s.get("rtol") is None else f" rtol={fmt(s.get('rtol'))} atol={fmt(s.get('atol'))}"
    dt = s.get("step", s.get("dt"))
    step = f" dt={fmt(dt)}" if dt is not None else ""
    conv = f" ({s['convention']})" if s.get("convention") else ""
    conv += f" in {s['coords']} coordinates" if s.get("coords") else ""
    timing = ", ".join(f"{fmt(s[k])} s {what}" for k, what in (("wall_s", "solving"), ("compile_s", "compiling"))
                       if s.get(k) is not None)
    sw = s.get("switching") or {}
    events = (f", {sw['crossings']} crossings, {sw['slide_entries']} sliding entries" if "crossings" in sw else "")
    return (f"{label} {s.get('name')}{conv}{tol}{step}: "
            f"{s.get('steps')} steps ({s.get('rejected')} rejected), "
            + (f"{s.get('rhs_evals')} field evaluations" if s.get("rhs_evals") is not None
               else "field evaluations not counted (implicit solver)")
            + events + (f", {timing}" if timing else ""))


def summary_line(report: Report, markup: bool = False) -> str:
    """``PASSED: 5/5 claims hold`` (plus the claims this run could not check, if any)."""
    ok = report.passed
    verdict = ("[green]PASSED[/green]" if ok else "[red]FAILED[/red]") if markup else ("PASSED" if ok else "FAILED")
    n_bad = sum(not r.holds for r in report.rows)
    line = f"{verdict}: {len(report.rows) - n_bad}/{len(report.rows)} claims hold"
    if report.not_checked:
        line += "; not checked: " + "; ".join(f"{k} ({v})" for k, v in report.not_checked.items())
    if not report.within_hypotheses:
        line += " (outside the theorem's hypotheses)"
    return line
