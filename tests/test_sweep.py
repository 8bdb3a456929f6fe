"""Sweeps: resumable storage, local processes and Dask give the same table; the threshold check."""

import os
from pathlib import Path

import numpy as np
import pytest

from gflow.sweep import SweepPointError, load, point_key, run_sweep
from theory_checks.simplicity import threshold

from helpers import failing

import sweep_points


def _log(tmp_path):
    log = tmp_path / "calls.log"
    log.write_text("")
    log.with_suffix(".pid").write_text(str(os.getpid()))
    return str(log)


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    log = _log(tmp_path)
    store = tmp_path / "store"
    points = [dict(x=x, log=log) for x in range(6)]
    with pytest.raises(SweepPointError, match="point x=3.*killed half-way"):   # the failing point, named
        run_sweep(sweep_points.square, [dict(p, fail_at=3) for p in points], store)
    assert len(list(store.glob("*.json"))) == 3  # 0, 1, 2 finished and stored
    df = run_sweep(sweep_points.square, [dict(p, fail_at=3) if p["x"] < 3 else p for p in points], store)
    calls = [int(v) for v in Path(log).read_text().split()]
    assert calls == [0, 1, 2, 3, 3, 4, 5]  # 0–2 never recomputed; 3 retried once
    assert list(df["y"]) == [x * x for x in range(6)]
    assert len(load(store)) == 6 and not [p for p in store.iterdir() if p.name.startswith(".")]


def test_local_processes_and_dask_give_the_same_table(tmp_path):
    log = _log(tmp_path)
    points = [dict(x=x, log=log) for x in range(4)]
    serial = run_sweep(sweep_points.square, points, tmp_path / "a")
    procs = run_sweep(sweep_points.square, points, tmp_path / "b", executor="processes", workers=2)
    dask = run_sweep(sweep_points.square, points, tmp_path / "c", executor="dask", dask_local=2)
    for other in (procs, dask):
        assert list(other["y"]) == list(serial["y"]) and list(other["x"]) == list(serial["x"])
        assert other["pid_differs"].all()  # really ran in other processes
    assert point_key(points[0]) != point_key(points[1])


SMALL = dict(dims=(3,), n_grid=(10, 30, 100, 300), m=60, t_max=2000.0)


def test_threshold_small_grid_passes(tmp_path):
    p = threshold.Params(**SMALL, store=str(tmp_path / "s"))
    rep = threshold.run(p)
    assert rep.passed, [(r.id, r.measured) for r in rep.rows]
    step = next(h for h in rep.hypotheses if h.statement.startswith("numerics"))
    assert step.met and "d=3: same" in step.measured   # the points around N* keep their verdict at dt/2
    again = threshold.run(p)  # resumes from the store: identical table
    assert again.context.equals(rep.context)


def test_threshold_step_check_flags_a_coarse_step(tmp_path):
    """dt = 1 is far too coarse for m = 60: at half the step the loss of the point above N* moves."""
    p = threshold.Params(**dict(SMALL, n_grid=(10, 100)), dt=1.0, store=str(tmp_path / "c"))
    df = threshold.measure(p)
    checks = threshold.step_check(p, df)
    assert checks and not all(same and c <= threshold.STEP_TOL for same, c in checks.values())


def test_threshold_fails_when_the_grid_stays_below_it():
    """d = 5 on N = 10, 30: the network interpolates at every N, so N* is not on the grid and
    the OLS regime is never reached."""
    p = threshold.Params(dims=(5,), n_grid=(10, 30), m=60, t_max=2000.0)
    rep = threshold.run(p)
    assert {r.id for r in rep.rows if not r.holds} == {"d5.ols_regime", "threshold.located"}


def test_threshold_interpolation_row_fails_when_the_grid_starts_above_it():
    rows, _ = threshold.rows(threshold.Params(dims=(3, 5)), _table({3: 10, 5: 100}))
    assert failing(rows) == ["d3.interpolation"]


def test_batched_repetitions_equal_sequential_ones():
    """Same-shape points as one vmapped gradient descent give the sequential results exactly."""
    from gflow.flows.simplicity import SimParams, train_final

    p = SimParams(d=3, m=20, t_max=50.0)
    seq = train_final(p, 40, reps=3, batched=False)
    bat = train_final(p, 40, reps=3, batched=True)
    for (_, _, a1, W1, _), (_, _, a2, W2, _) in zip(seq, bat):
        np.testing.assert_allclose(a1, a2, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(W1, W2, rtol=1e-10, atol=1e-14)


def test_threshold_is_where_the_network_stops_interpolating():
    """N* = the first N from which train > interp_tol·σ²/2 at every larger N; where the loss
    first approaches OLS plays no part."""
    import pandas as pd

    df = pd.DataFrame({"n": [10, 30, 100], "noise": 0.125, "train": [1e-30, 0.05, 0.12], "ols_train": 0.12})
    assert threshold.threshold(df) == 30 and threshold.bracket(df) == (10, 30)  # 0.05: below OLS, not interpolating
    df.loc[1, "train"] = 1e-6
    assert threshold.threshold(df) == 100 and threshold.threshold(df, tol=1e-6) == 30
    df.loc[2, "train"] = 1e-8
    assert threshold.threshold(df) is None and threshold.bracket(df) == (None, None)


def test_a_point_interpolates_when_its_median_draw_does():
    """Two of three draws interpolate: the point does, although the mean loss (one draw at 3e−3) is
    above the tolerance."""
    import pandas as pd

    df = pd.DataFrame({"n": [30, 100, 300], "noise": 0.125, "ols_train": 0.12, "train": [1e-9, 1.1e-3, 0.1],
                       "train_draws": [[1e-9] * 3, [3e-3, 2e-6, 1e-4], [0.1] * 3]})
    assert threshold.threshold(df) == 300 and threshold.bracket(df) == (100, 300)


def test_exponent_interval_over_bracket_corners():
    # two dims: the old closed form
    lo, hi = threshold.exponent_interval({3: (10, 30), 5: (100, 300)})
    assert lo == pytest.approx(np.log(100 / 30) / np.log(5 / 3)) and hi == pytest.approx(np.log(300 / 10) / np.log(5 / 3))
    # four dims on an exact d³ law with tight brackets: the interval contains 3 and is narrow
    b = {d: (0.95 * d**3, 1.05 * d**3) for d in (2, 3, 4, 5)}
    lo, hi = threshold.exponent_interval(b)
    assert lo < 3 < hi and hi - lo < 0.3
    assert threshold.exponent_interval({3: (None, 30), 5: (100, 300)}) is None


def test_threshold_refinement_bisects_the_bracket(tmp_path):
    base = dict(dims=(3,), n_grid=(10, 100, 1000), m=60, t_max=2000.0, store=str(tmp_path / "s"))
    coarse = threshold.run(threshold.Params(**base))
    lo, hi = threshold.bracket(coarse.context)
    fine = threshold.run(threshold.Params(**base, refine=1))
    ns = sorted(fine.context["n"])
    mid = int(round(np.sqrt(lo * hi)))
    assert len(ns) == 4 and mid in ns  # one geometric midpoint added inside the bracket
    lo2, hi2 = threshold.bracket(fine.context)
    assert lo <= lo2 < hi2 <= hi and (lo2, hi2) in ((lo, mid), (mid, hi))


def test_threshold_reports_points_not_trained_to_a_stall():
    """One short segment cannot show a stall: the convergence hypothesis is reported as not met."""
    rep = threshold.run(threshold.Params(dims=(3,), n_grid=(100, 300), m=30, t_max=100.0, segments=1))
    hyp = next(h for h in rep.hypotheses if h.statement.startswith("losses at convergence"))
    assert not hyp.met and "N=300" in str(hyp.measured) and not rep.within_hypotheses
    assert set(rep.context["t_trained"]) == {100.0}
    longer = threshold.run(threshold.Params(dims=(3,), n_grid=(100, 300), m=30, t_max=100.0, segments=3))
    assert longer.context["t_trained"].max() > 100.0  # kept training past the first segment


def _table(stars: dict, ns=(10, 30, 100, 300, 1000)):
    """A synthetic sweep table whose threshold sits at ``stars[d]`` for each d."""
    import pandas as pd

    rows = [{"d": d, "n": n, "noise": 0.125, "ols_train": 0.12, "train": 0.12 if n >= star else 1e-8,
             "test": 0.125, "ols_test": 0.125, "stable": True}
            for d, star in stars.items() for n in ns]
    return pd.DataFrame(rows)


def test_threshold_rows_on_two_dimensions_and_the_exponent_interval():
    p = threshold.Params(dims=(3, 5))
    rows, findings = threshold.rows(p, _table({3: 30, 5: 300}))
    by = {r.id: r for r in rows}
    assert by["threshold.located"].holds and by["threshold.grows_with_d"].holds
    # N*(3) ∈ (10, 30], N*(5) ∈ (100, 300]: e ∈ [log(100/30), log(300/10)] / log(5/3)
    lo, hi = np.log(100 / 30) / np.log(5 / 3), np.log(300 / 10) / np.log(5 / 3)
    assert any(f"[{lo:.2f}, {hi:.2f}]" in f and "contains the paper's 3" in f for f in findings)


def test_threshold_exponent_from_draws():
    """With several draws per point the report gives each draw's exponent and their spread."""
    df = _table({3: 30, 5: 300})
    df["train_draws"] = [[t, t if n != 30 else 1e-8] for t, n in zip(df["train"], df["n"])]
    _, findings = threshold.rows(threshold.Params(dims=(3, 5)), df)
    assert any("spread over 2 draws" in f for f in findings)


def test_threshold_row_fails_when_n_star_shrinks_with_d():
    rows, _ = threshold.rows(threshold.Params(dims=(3, 5)), _table({3: 300, 5: 30}))
    assert not {r.id: r for r in rows}["threshold.grows_with_d"].holds


def test_threshold_point_averages_draws_and_trains_each_until_it_settles():
    one = threshold.point(d=3, n=100, m=20, sigma=0.5, dist="gaussian", lam=1e-4, dt=0.05, t_max=200.0, seed=0,
                          max_segments=3)
    two = threshold.point(d=3, n=100, m=20, sigma=0.5, dist="gaussian", lam=1e-4, dt=0.05, t_max=200.0, seed=0,
                          reps=2, max_segments=3)
    assert two["train"] != one["train"] and np.isfinite(two["train"]) and two["ols_train"] > 0
    assert 200.0 <= two["t_trained"] <= 600.0 and isinstance(two["stable"], bool)


def test_full_threshold_uses_four_dimensions_and_three_draws():
    full = threshold.Params(full=True).resolved()
    assert len(full.dims) >= 4 and full.reps >= 3 and max(full.n_grid) >= 10_000 and full.refine == 2


def test_threshold_on_the_exact_flow_answers_appendix_a2(tmp_path):
    """--solver exact: every point on the Filippov flow, the points around N* rerun by the paper's
    gradient descent; the A.2 finding reads both verdicts below and above N*."""
    p = threshold.Params(dims=(3,), n_grid=(10, 100), m=60, t_max=2000.0, segments=1, solver="exact",
                         store=str(tmp_path / "e"))
    rep = threshold.run(p)
    assert rep.solver["name"] == "tsit5-events" and rep.solver["convention"] == "filippov"
    assert set(rep.context["solver"]) == {"exact"} and (rep.context["evals"] > 0).all()
    a2 = next(f for f in rep.findings if f.startswith("Appendix A.2"))
    assert "d=3 N=10: exact interpolates" in a2 and "d=3 N=100: exact does not interpolate" in a2
    hyp = next(h for h in rep.hypotheses if h.statement.startswith("numerics: two integrators agree"))
    assert "d=3:" in hyp.measured


def test_a2_finding_says_when_the_verdicts_differ():
    p = threshold.Params(solver="exact")
    same = {3: (True, 0.01, [(10, 1e-6, 2e-6, True, True), (30, 0.1, 0.1, False, False)])}
    assert "not a step-size effect" in threshold.a2_finding(p, same)
    differ = {3: (False, 0.0, [(30, 0.1, 1e-6, False, True)])}
    assert threshold.a2_finding(p, differ).endswith("the verdicts differ")
    assert threshold.a2_finding(threshold.Params(), same) is None   # gd: no A.2 comparison
