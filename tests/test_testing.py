"""The pytest face: assert_claims prints the failing rows; the gflow_check fixture runs a check once per session."""

import subprocess
import sys

import pytest

from gflow.testing import ClaimsFailed, assert_claims, failure_message


def test_fixture_runs_once_and_rows_hold(gflow_check):
    rep = gflow_check("theorem2", delta=(0.05,))
    assert gflow_check("theorem2", delta=[0.05]) is rep          # same parameters: the same report, not a rerun
    assert gflow_check("theorem2", delta=(0.1,)) is not rep
    assert_claims(rep)
    assert_claims(rep, "bias_gap")
    with pytest.raises(KeyError, match="no row"):
        assert_claims(rep, "no_such_row")


def test_failing_rows_are_listed_only_them(gflow_check):
    rep = gflow_check("theorem2", init="equal", delta=(0.1, 0.05))   # the falsification setting of the tests
    bad = {r.id for r in rep.rows if not r.holds}
    assert "T.upper" in bad
    with pytest.raises(ClaimsFailed) as e:
        assert_claims(rep)
    msg = str(e.value)
    assert "claim" in msg and "measured" in msg and "bound" in msg and "margin" in msg
    for r in rep.rows:
        assert (f"\n  {r.id}: " in msg) == (r.id in bad)
    assert "outside the theorem's hypotheses" in msg or rep.within_hypotheses
    ok = gflow_check("theorem2", delta=(0.05,))
    assert failure_message(ok).startswith(f"plateau.theorem2: 0 of {len(ok.rows)}")


def test_plugin_is_registered_and_prints_the_table(tmp_path):
    test = tmp_path / "test_user.py"
    test.write_text(
        "from gflow.testing import assert_claims\n"
        "def test_t2(gflow_check):\n"
        "    assert_claims(gflow_check('theorem2', init='equal', delta=(0.1, 0.05)))\n")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "ClaimsFailed" in res.stdout and "T.upper" in res.stdout and "do not hold" in res.stdout
