"""``gflow solve relu2``: the exact flow from the user's files, its JSON and figure, bad files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

GFLOW = [sys.executable, "-m", "gflow_cli"]


def run(*args, timeout=300):
    env = dict(os.environ, COLUMNS="160")
    return subprocess.run([*GFLOW, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture()
def files(tmp_path):
    from gflow.data.teacher import relu_teacher

    rng = np.random.default_rng(3)
    X, y = relu_teacher(10, 20, 3, seed=rng)
    W = 1e-3 * rng.standard_normal((8, 20))
    a = rng.choice([-1.0, 1.0], 8) * np.linalg.norm(W, axis=1)
    np.savez(tmp_path / "D.npz", X=X, y=y)
    np.savez(tmp_path / "I.npz", W=W, a=a)
    return tmp_path, X, y, W, a


def test_solve_relu2_json_and_plot(files):
    tmp, X, y, W, a = files
    (tmp / "ts.txt").write_text("# save times\n1\n5\n\n20\n60\n")
    r = run("solve", "relu2", "--data", str(tmp / "D.npz"), "--init", str(tmp / "I.npz"), "--t1", "60",
            "--save-ts", str(tmp / "ts.txt"), "--json", str(tmp / "o.json"), "--plot", str(tmp / "o.png"))
    assert r.returncode == 0, r.stderr
    assert "crossings" in r.stdout and "log-radius" in r.stdout
    out = json.loads((tmp / "o.json").read_text())
    assert out["ts"] == [0.0, 1.0, 5.0, 20.0, 60.0]
    Wf, af = np.asarray(out["final_state"]["W"]), np.asarray(out["final_state"]["a"])
    h = np.maximum(X @ Wf.T, 0) @ af
    assert out["loss"][-1] == pytest.approx(0.5 * np.mean((h - y) ** 2), rel=1e-12)
    assert out["loss"][0] == pytest.approx(0.5 * np.mean((np.maximum(X @ W.T, 0) @ a - y) ** 2), rel=1e-12)
    assert out["sqnorm"][-1] == pytest.approx(np.sum(af**2) + np.sum(Wf**2), rel=1e-12)
    # a gradient flow: non-increasing, up to the solver's error on the converged plateau (measured
    # 6e-14 between t = 20 and 60 with absorbed crossings, at rtol 1e-6)
    assert all(b <= a_ + 1e-12 * out["loss"][0] for a_, b in zip(out["loss"], out["loss"][1:]))
    s = out["solver"]
    assert s["convention"] == "filippov" and s["rhs_evals"] > 0 and s["crossings"] > 0 and s["slide_entries"] > 0
    assert (tmp / "o.png").stat().st_size > 10_000
    # the same flow by gradient descent with a small step: close, and reported as GD
    r = run("solve", "relu2", "--data", str(tmp / "D.npz"), "--init", str(tmp / "I.npz"), "--t1", "60",
            "--save-ts", str(tmp / "ts.txt"), "--solver", "gd", "--dt", "1e-3", "--json", str(tmp / "g.json"))
    assert r.returncode == 0, r.stderr
    g = json.loads((tmp / "g.json").read_text())
    assert g["solver"]["step"] == 1e-3 and g["solver"]["convention"] == "sigma'(0)=0"
    assert abs(g["loss"][-1] - out["loss"][-1]) < 1e-3 * out["loss"][0]


def test_solve_relu2_small_init_closed_form(files):
    """From a small init the early phase is followed in closed form (and said so); --no-decoupled
    integrates it instead, to the same loss curve."""
    tmp, X, y, W, a = files
    np.savez(tmp / "I.npz", W=W * 1e-12, a=a * 1e-12)
    args = ["solve", "relu2", "--data", str(tmp / "D.npz"), "--init", str(tmp / "I.npz"), "--t1", "40",
            "--save", "20"]
    r = run(*args, "--json", str(tmp / "c.json"))
    assert r.returncode == 0, r.stderr
    assert "closed form" in r.stdout
    c = json.loads((tmp / "c.json").read_text())
    assert c["solver"]["decoupled_until"] > 1 and c["solver"]["decoupled_evals"] > 0
    r = run(*args, "--no-decoupled", "--json", str(tmp / "i.json"))
    assert r.returncode == 0, r.stderr
    assert "closed form" not in r.stdout
    i = json.loads((tmp / "i.json").read_text())
    assert "decoupled_until" not in i["solver"] and i["solver"]["rhs_evals"] > c["solver"]["rhs_evals"]
    assert i["ts"] == c["ts"] and np.max(np.abs(np.subtract(i["loss"], c["loss"]))) < 1e-6 * c["loss"][0]


@pytest.mark.parametrize("make, extra, needle", [
    (lambda t, X, y, W, a: np.savez(t / "I.npz", W=W), [], "missing key a"),
    (lambda t, X, y, W, a: np.savez(t / "D.npz", X=X, y=y[:-1]), [], "labels"),
    (lambda t, X, y, W, a: np.savez(t / "I.npz", W=W[:, :-1], a=a), [], "input dimension"),
    (lambda t, X, y, W, a: np.savez(t / "D.npz", X=np.where(X > 2, np.nan, X), y=y), [], "non-finite"),
    (lambda t, X, y, W, a: (t / "D.npz").write_text("not an npz"), [], "cannot read"),
    (lambda t, X, y, W, a: None, ["--t1", "-1"], "t1"),
    (lambda t, X, y, W, a: None, ["--solver", "gd"], "--dt"),
    (lambda t, X, y, W, a: None, ["--save", "10", "--save-ts", "x.txt"], "not both"),
    (lambda t, X, y, W, a: None, ["--solver", "gd", "--dt", "0.1", "--no-decoupled"], "decoupled"),
    (lambda t, X, y, W, a: None, ["--json", "/nonexistent/dir/o.json"], "cannot write"),
    (lambda t, X, y, W, a: (t / "ts.txt").write_text("1\n0.5\n"), ["--save-ts", "ts.txt"], "increasing"),
])
def test_bad_files_exit_2_with_one_line(files, make, extra, needle):
    tmp, X, y, W, a = files
    make(tmp, X, y, W, a)
    extra = [str(tmp / e) if e.endswith(".txt") else e for e in extra]
    args = ["solve", "relu2", "--data", str(tmp / "D.npz"), "--init", str(tmp / "I.npz")]
    if "--t1" not in extra:
        args += ["--t1", "5"]
    r = run(*args, *extra)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
