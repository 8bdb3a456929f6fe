"""The input contract, table-driven: every bad input gets its exit code and one line on stderr, before any
computation — no traceback, no file left behind. The CLI cases run in-process (click's runner: the same
`main` as the `gflow` script); the Python cases build the same Params and must raise InputError."""

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gflow.errors import InputError
from gflow.flows.deep import DeepParams
from gflow.flows.orthogonal import OrthoParams
from gflow.flows.plateau import FlowParams
from gflow.flows.simplicity import SimParams
from gflow_cli import main
from theory_checks.plateau import bias_lemmas, trends
from theory_checks.simplicity import threshold

T2 = ["check", "theorem2"]
F1 = ["check", "plateau.theorem1"]
TR = ["check", "plateau.trends"]
L2 = ["check", "orthogonal.lemma2"]
S2 = ["check", "simplicity.theorem2"]
S1 = ["check", "simplicity.theorem1"]
TH = ["check", "simplicity.threshold"]
SW = ["sweep", "theorem2", "--store", "runs"]

# (arguments, exit code, a piece of the one-line message). "FILE" is an existing file, "DIR" an existing
# directory (both made in the test's working directory).
CLI_CASES = [
    (["check", "nosuch"], 2, "unknown check id"),
    ([*T2, "--delta", "1"], 2, "--delta must be in (0, 1)"),
    ([*T2, "--delta", "0"], 2, "--delta must be in (0, 1)"),
    ([*T2, "--delta", "-0.1,0.05"], 2, "--delta must be in (0, 1)"),
    ([*T2, "--delta", "abc"], 2, "cannot read 'abc'"),
    ([*T2, "--delta", "0.1,0.1"], 2, "repeated values"),
    ([*T2, "--delta", "0.1,"], 2, "comma-separated"),
    ([*T2, "--delta", "nan"], 2, "must be finite"),
    ([*T2, "--delta", "inf"], 2, "must be finite"),
    ([*T2, "--delta", "1e-400"], 2, "underflows float64"),
    ([*T2, "--r", "2"], 2, "--r must be ≥ 3"),
    ([*T2, "--r", "3.5"], 2, "as an integer"),
    ([*T2, "--k", "1"], 2, "--k must be ≥ 2"),
    ([*T2, "--n-samples", "201"], 2, "multiple of k"),
    ([*T2, "--seed", "-1"], 2, "--seed must be in [0"),
    ([*T2, "--seed", "abc"], 2, "as an integer"),
    ([*T2, "--solver", "foo"], 2, "--solver must be one of"),
    ([*T2, "--solver", "gd"], 2, "needs a step --dt"),
    ([*T2, "--solver", "gd", "--dt", "0"], 2, "--dt must be in (0, 10)"),
    ([*T2, "--dt", "-1"], 2, "--dt must be in (0, 10)"),
    ([*T2, "--dt", "0.1"], 2, "--dt is gradient descent's step"),
    ([*T2, "--solver", "gd", "--dt", "1"], 2, "gradient descent at --dt 1 needs"),
    ([*T2, "--rtol", "0"], 2, "--rtol must be in [1e-15, 1)"),
    ([*T2, "--rtol", "2"], 2, "--rtol must be in [1e-15, 1)"),
    ([*T2, "--rtol", "1e-20"], 2, "--rtol must be in [1e-15, 1)"),
    ([*T2, "--json", "/dev/null"], 2, "not a regular file"),
    ([*T2, "--atol", "-1e-9"], 2, "--atol must be in (0, 1)"),
    ([*T2, "--init", "foo"], 2, "--init must be one of"),
    ([*T2, "--sigma", "-1"], 2, "--sigma must be in [0, 10]"),
    ([*T2, "--mu2", "1.5"], 2, "--mu2 must be in (0, 1)"),
    ([*T2, "--mu0", "2"], 2, "need mu0 < mu1"),
    ([*T2, "--horizon", "0"], 2, "--horizon must be in (0, 1000]"),
    ([*T2, "--d", "2"], 2, "--d must be ≥ k"),
    ([*T2, "--r", "40", "--delta", "0.001"], 2, "beyond what a solve can reach"),
    ([*T2, "--delta", "0.1", "--delta", "0.2"], 2, "--delta given 2 times"),
    ([*T2, "--frobnicate", "1"], 2, "No such option '--frobnicate'"),
    (["check", "plateau.tensor_power", "--mu3", "0.2"], 2, "No such option '--mu3'"),
    ([*T2, "--json", "DIR"], 2, "is a directory"),
    ([*T2, "--json", "FILE/out.json"], 2, "is a file"),
    ([*T2, "--json", "nowhere/out.json"], 2, "does not exist"),
    ([*T2, "--plot", "fig.xyz"], 2, "the extension must be one of"),
    ([*T2, "--json", "out.png", "--plot", "out.png"], 2, "would both be written to"),
    ([*S1, "--plot", "fig.png"], 2, "has no figure"),
    ([*T2, "--json", " "], 2, "path is empty"),
    ([*T2, "--json", "a.json", "--json", "b.json"], 2, "--json given 2 times"),
    ([*F1, "--activation", "tanh"], 2, "--activation must be one of"),
    ([*F1, "--activation", "relu", "--solver", "dopri5"], 2, "use --solver tsit5"),
    ([*F1, "--width", "0"], 2, "--width must be ≥ 1"),
    ([*F1, "--n-samples", "31"], 2, "multiple of k=3"),
    ([*F1, "--eps", "1"], 2, "--eps must be in (0, 1)"),
    ([*F1, "--t-max", "1e300"], 2, "--t-max must be in (0"),
    ([*TR, "--delta", "0.1,0.3"], 2, "--delta LARGER,SMALLER"),
    ([*TR, "--delta", "0.3"], 2, "--delta takes 2 values"),
    ([*TR, "--depths", "3,3"], 2, "repeated values"),
    ([*TR, "--depths", "2,3"], 2, "--depths must be ≥ 3"),
    ([*TR, "--depths", "5,3"], 2, "--depths must be increasing"),
    ([*L2, "--dataset", "foo"], 2, "--dataset must be one of"),
    ([*L2, "--lam", "0"], 2, "--lam must be in (0, 1)"),
    ([*L2, "--lam", "1e-30,1e-30"], 2, "repeated values"),
    ([*L2, "--eps", "0.5"], 2, "--eps must be in (0, 0.3333)"),
    ([*L2, "--kink", "-1"], 2, "--kink must be in [0, 0.001)"),
    ([*L2, "--m", "1"], 2, "--m must be ≥ 2"),
    ([*L2, "--coords", "polar"], 2, "--coords must be one of"),
    ([*L2, "--dataset", "orthonormal", "--n", "8", "--d", "4"], 2, "need --d ≥ --n"),
    (["check", "orthogonal.lemma5", "--n-states", "5"], 2, "--n-states must be in [10"),
    (["check", "orthogonal.lemma5", "--pl-radius", "-1"], 2, "--pl-radius must be > 0"),
    (["check", "plateau.bias_lemmas", "--c1", "0.45", "--c3", "0.2"], 2, "2·C1 + c3 < 1"),
    (["check", "plateau.bias_lemmas", "--mu", "-1"], 2, "--mu must be > 0"),
    ([*S2, "--dist", "foo"], 2, "--dist must be one of"),
    ([*S2, "--lam", "1e-4,1e-5"], 2, "cannot read '1e-4,1e-5' as a number"),
    ([*S2, "--solver", "tsit5"], 2, "--solver must be one of exact, gd"),
    ([*S2, "--m", "1"], 2, "--m must be ≥ 2"),
    ([*S2, "--d", "1"], 2, "--d must be ≥ 2"),
    ([*S2, "--n-samples", "1000000000", "--d", "1000"], 2, "GiB"),
    ([*S1, "--n-grid", "100,50"], 2, "--n-grid must be increasing"),
    ([*S1, "--n-grid", "100"], 2, "--n-grid takes at least 2 values"),
    ([*TH, "--dims", "1"], 2, "--dims must be in [2"),
    ([*TH, "--executor", "serial", "--scheduler", "localhost:1"], 2, "conflict with --executor serial"),
    ([*TH, "--scheduler", "localhost:1", "--dask-local", "2"], 2, "conflict: give one"),
    ([*TH, "--refine", "11"], 2, "--refine must be in [0, 10]"),
    ([*TH, "--store", "FILE"], 2, "is a file, not a directory"),
    ([*TH, "--stable-tol", "1"], 2, "--stable-tol must be in (0, 1)"),
    ([*SW, "--grid", "frob=1"], 2, "NAME one of"),
    ([*SW, "--grid", "delta=0.1", "--grid", "delta=0.2"], 2, "names delta twice"),
    ([*SW, "--grid", "seed=0,1", "--seeds", "0"], 2, "--seeds and --grid seed=… conflict"),
    ([*SW, "--grid", "delta=0.1", "--seeds", "abc"], 2, "cannot read 'abc' as an integer"),
    ([*SW, "--grid", "delta=0.1", "--seeds", "-1"], 2, "--seeds must be in [0"),
    ([*SW, "--grid", "delta=0.1,2"], 2, "sweep point --delta 2"),
    ([*SW, "--grid", "delta"], 2, "give NAME=V1,V2"),
    ([*SW, "--grid", "delta=0.1,0.1"], 2, "repeats a value"),
    ([*SW, "--grid", "delta=0.1", "--csv", "FILE/t.csv"], 2, "is a file"),
    ([*SW, "--grid", "delta=0.1", "--scheduler", "127.0.0.1:1"], 2, "cannot reach a dask scheduler"),
    ([*SW, "--grid", "delta=0.1", "--scheduler", "x:1", "--dask-local", "2"], 2, "conflict: give one"),
    ([*SW, "--grid", "delta=0.1", "--workers", "0"], 2, "--workers"),
    (["sweep", "theorem2", "--grid", "delta=0.1", "--store", "FILE"], 2, "is a file, not a directory"),
    (["sweep", "simplicity.theorem1", "--grid", "d=3", "--store", "runs", "--seeds", "0,0"], 2, "repeated values"),
    (["solve", "relu2", "--data", "missing.npz", "--init", "missing.npz", "--t1", "1"], 2, "missing.npz"),
    (["solve", "relu2", "--data", "D.npz", "--init", "I.npz", "--t1", "nan"], 2, "--t1"),
    (["solve", "relu2", "--data", "D.npz", "--init", "I.npz", "--t1", "1", "--rtol", "0"], 2, "rtol"),
    (["solve", "relu2", "--data", "D.npz", "--init", "I.npz", "--t1", "1", "--json", "o.png", "--plot", "o.png"], 2,
     "would both be written"),
    (["solve", "relu2", "--data", "D.npz", "--init", "I.npz", "--t1", "1", "--plot", "o.txt"], 2, "extension"),
    (["frobnicate"], 2, "No such command"),
]


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("a file\n")
    (tmp_path / "DIR").mkdir()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "D.npz", X=rng.standard_normal((4, 3)), y=rng.standard_normal(4))
    W = 1e-3 * rng.standard_normal((5, 3))
    np.savez(tmp_path / "I.npz", W=W, a=np.linalg.norm(W, axis=1))
    return tmp_path


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_table_is_large_enough():
    assert len(CLI_CASES) + len(PY_CASES) >= 60


@pytest.mark.parametrize("args, code, needle", CLI_CASES, ids=[" ".join(c[0])[:60] for c in CLI_CASES])
def test_cli_bad_input(workdir, args, code, needle):
    before = _files(workdir)
    res = CliRunner().invoke(main, args, env={"COLUMNS": "200"})
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == code, (res.stdout, res.stderr)
    assert isinstance(res.exception, SystemExit), f"not a clean exit: {res.exception!r}"
    assert len(lines) == 1 and lines[0].startswith("gflow: error: "), res.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in res.stderr + res.stdout
    assert _files(workdir) == before, "a file was left behind"


PY_CASES = [
    (lambda: FlowParams(delta=(2.0,)), "--delta must be in (0, 1)"),
    (lambda: FlowParams(delta=0.1), "takes a list"),
    (lambda: FlowParams(k=1), "--k must be ≥ 2"),
    (lambda: FlowParams(r=3.5), "--r must be an integer"),
    (lambda: FlowParams(seed=-1), "--seed"),
    (lambda: FlowParams(sigma=float("nan")), "finite"),
    (lambda: FlowParams(solver="gd"), "needs a step"),
    (lambda: FlowParams(rtol="1e-6"), "must be a number"),
    (lambda: FlowParams(delta=(0.1, 0.1)), "repeated"),
    (lambda: dataclasses.replace(FlowParams(), mu0=5.0), "need mu0 < mu1"),
    (lambda: DeepParams(activation="tanh"), "--activation"),
    (lambda: DeepParams(delta=()), "takes at least 1 value"),
    (lambda: OrthoParams(lam=(0.0,)), "--lam"),
    (lambda: OrthoParams(coords="polar"), "--coords"),
    (lambda: SimParams(dist="x"), "--dist"),
    (lambda: SimParams(lam=(1e-4,)), "must be a number"),
    (lambda: threshold.Params(dims=()), "--dims takes at least 1 value"),
    (lambda: threshold.Params(executor="serial", scheduler="h:1"), "conflict"),
    (lambda: trends.Params(delta=(0.1, 0.3)), "LARGER,SMALLER"),
    (lambda: bias_lemmas.Params(n_states=5), "--n-states"),
    (lambda: SimParams(full=True), "unexpected keyword"),
]


@pytest.mark.parametrize("make, needle", PY_CASES, ids=[str(i) for i in range(len(PY_CASES))])
def test_python_api_bad_input(make, needle):
    with pytest.raises((InputError, TypeError), match=None) as e:
        make()
    assert needle in str(e.value)
    if "unexpected keyword" not in needle:
        assert e.type is InputError


def test_solve_relu2_refuses_nonfinite_data():
    from gflow import solve_relu2

    X = np.ones((3, 2))
    X[0, 0] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        solve_relu2(X, np.ones(3), 1e-3 * np.ones((2, 2)), 1e-3 * np.ones(2) * np.sqrt(2), 1.0)


def test_read_only_directory(workdir):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere: the read-only case needs an ordinary user")
    ro = workdir / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        res = CliRunner().invoke(main, [*T2, "--json", "ro/out.json"])
        assert res.exit_code == 2 and "not writable" in res.stderr
    finally:
        ro.chmod(0o700)


def test_interrupt_exits_130_and_is_never_swallowed(tmp_path):
    """Ctrl-C during a long solve: exit 130 and one line, never exit 0 with a report."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "gflow_cli", "check", "theorem2", "--delta", "0.1,0.01,0.002,0.001",
                             "--json", str(tmp_path / "r.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "gflow: interrupted" and "Traceback" not in err
    assert not (tmp_path / "r.json").exists() and not list(tmp_path.iterdir())
