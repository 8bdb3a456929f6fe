"""The command line: exit codes, one-line errors, the JSON report, instant help."""

import json
import os
import subprocess
import sys

import pytest

GFLOW = [sys.executable, "-m", "gflow_cli"]


def run(*args, timeout=300):
    env = dict(os.environ, COLUMNS="160")
    return subprocess.run([*GFLOW, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_help_and_list_do_not_import_jax():
    code = ("import sys; from click.testing import CliRunner; from gflow_cli import main; "
            "r = CliRunner().invoke(main, ['list']); assert r.exit_code == 0, r.output; "
            "assert 'plateau.theorem2' in r.output and 'theorem2' in r.output; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
            "assert 'jax' not in sys.modules and 'diffrax' not in sys.modules, 'jax imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("args, needle", [
    (["check", "nosuch"], "unknown check id"),
    (["check", "theorem2", "--r", "2"], "--r must be ≥ 3"),
    (["check", "theorem2", "--delta", "0"], "delta must be in (0, 1)"),
    (["check", "theorem2", "--delta", "-0.1,0.05"], "delta must be in (0, 1)"),
    (["check", "theorem2", "--k", "1"], "k must"),
    (["check", "theorem2", "--n-samples", "201"], "multiple of k"),
    (["check", "theorem2", "--delta", "abc"], "cannot read"),
    (["check", "plateau.tensor_power", "--mu3", "0.2"], "No such option '--mu3'"),
    (["check", "theorem2", "--solver", "gd"], "needs a step --dt"),
])
def test_bad_input_exit_2_one_line(args, needle):
    res = run(*args)
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_unknown_option_is_usage_error():
    res = run("check", "theorem2", "--frobnicate", "1")
    assert res.returncode == 2 and "No such option" in res.stderr and "Traceback" not in res.stderr


def test_solver_failure_exit_3():
    """A failure no check of the input can foresee: gradient descent at step 5 diverges (the bias relaxation's
    eigenvalue ≈ −1 needs a step < 2). A step count beyond max_steps is foreseeable and refused with exit 2
    (tests/test_bad_input.py)."""
    res = run("check", "theorem2", "--delta", "0.1", "--solver", "gd", "--dt", "5")
    assert res.returncode == 3, res.stderr
    assert "non-finite" in res.stderr and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr


def test_theorem2_single_delta_json(tmp_path):
    out = tmp_path / "out.json"
    fig = tmp_path / "fig.png"
    res = run("check", "theorem2", "--delta", "0.05", "--json", str(out), "--plot", str(fig))
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(out.read_text())
    for key in ("check", "passed", "rows", "hypotheses", "params", "solver", "phase_times", "initial_state",
                "final_state"):
        assert key in rep
    assert rep["check"] == "plateau.theorem2" and rep["passed"] is True
    for row in rep["rows"]:
        assert {"id", "statement", "measured", "bound", "holds"} <= set(row)
    for key in ("name", "rtol", "atol", "steps", "rejected", "rhs_evals", "wall_s", "compile_s"):
        assert key in rep["solver"]
    for key in ("mu0", "mu1", "mu2", "mu3", "k", "r", "delta", "sigma", "seed"):
        assert key in rep["params"]
    k = rep["params"]["k"]
    pt = rep["phase_times"]
    assert all(f"t_{i}" in pt for i in range(1, k)) and all(f"s_{i}" in pt for i in range(2, k + 1))
    assert pt["t_1"] < pt["s_2"] < pt["t_2"]
    W = rep["initial_state"]["W"]
    assert len(W) == k and len(W[0]) == rep["params"]["d"] and len(rep["final_state"]["b"]) == k
    assert fig.stat().st_size > 10_000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_claim_failure_exit_1_and_json_per_delta(tmp_path):
    out = tmp_path / "eq.json"
    res = run("check", "theorem2", "--init", "equal", "--delta", "0.1,0.05", "--json", str(out))
    assert res.returncode == 1, res.stdout + res.stderr
    rep = json.loads(out.read_text())
    assert rep["passed"] is False
    assert set(rep["phase_times"]) == {"0.1", "0.05"}
    assert {r["id"]: r["holds"] for r in rep["rows"]}["bias_gap"] is False


def test_sweep_command_runs_resumes_and_rejects_bad_grids(tmp_path):
    store = tmp_path / "runs"
    args = ["sweep", "theorem2", "--grid", "r=3,4", "--grid", "delta=0.1", "--store", str(store), "--executor",
            "serial", "--csv", str(tmp_path / "t.csv")]
    res = run(*args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(list(store.glob("*.json"))) == 2 and (tmp_path / "t.csv").read_text().count("\n") == 3
    again = run(*args)  # everything stored: resumes instantly, same table
    assert again.returncode == 0 and again.stdout == res.stdout
    bad = run("sweep", "theorem2", "--grid", "frobnicate=1", "--store", str(store))
    assert bad.returncode == 2 and "NAME one of" in bad.stderr and "Traceback" not in bad.stderr


def test_atomic_write_replaces_whole_files_with_an_ordinary_mode(tmp_path):
    from gflow.report import write_atomic

    path = tmp_path / "sub" / "r.json"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    umask = os.umask(0)
    os.umask(umask)
    assert path.read_bytes() == b"second" and (path.stat().st_mode & 0o777) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]
