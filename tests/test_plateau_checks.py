"""The three Model H checks: they pass at their defaults (rows as the CLI prints them), and
each one FAILS, with the right row saying so, where its claim is false."""

import dataclasses

import numpy as np
import pytest

from gflow.bounds.plateau import predicted_t1, sympy_tensor_power
from theory_checks.plateau import _flow, prop1, tensor_power, theorem2

DEFAULT = _flow.FlowParams()


@pytest.fixture(scope="module")
def default_runs():
    return _flow.run_sweep(DEFAULT)


def failing(rows):
    return [r.id for r in rows if not r.holds]


def test_theorem2_passes_at_defaults(default_runs):
    rows, findings = theorem2.rows(DEFAULT, default_runs)
    assert failing(rows) == []
    assert {"T.upper", "T.lower", "zero_error_margin", "bias_gap", "learning_order", "last_largest_bias"} <= {
        r.id for r in rows}
    # the finding the sweep produces: the first time follows δ^-(r-2), not the log law
    assert any("δ^−(r−2) fits better" in f for f in findings)


def test_prop1_passes_at_defaults(default_runs):
    rows, _ = prop1.rows(DEFAULT, default_runs)
    assert failing(rows) == []


def test_tensor_power_passes_at_defaults(default_runs):
    rows, _ = tensor_power.rows(tensor_power.Params(), default_runs)
    assert failing(rows) == []


def test_t1_prediction_is_close_at_small_delta(default_runs):
    run = default_runs[-1]
    t, _ = prop1.prop_times(run)
    w0 = np.diag(run.traj.ys.W[0])[run.order[0]]
    assert abs(t[0] - predicted_t1(w0, DEFAULT.mu0, DEFAULT.k, DEFAULT.r)) / t[0] < 1e-4


@pytest.mark.parametrize("r", [3, 4])
def test_sympy_derivation(r):
    assert sympy_tensor_power(r)[:3] == (True, True, True)


# --- falsification: settings and tampered trajectories where the claims are false ---------

EQUAL = dataclasses.replace(DEFAULT, init="equal", delta=(0.1, 0.05), horizon=2.0)


@pytest.fixture(scope="module")
def equal_runs():
    return _flow.run_sweep(EQUAL)


def test_theorem2_fails_with_equal_initial_weights(equal_runs):
    """Equal W_ii(0): all classes are learned together, by symmetry no bias gap ever opens."""
    rows, _ = theorem2.rows(EQUAL, equal_runs)
    bad = failing(rows)
    assert "bias_gap" in bad and "learning_order" in bad and "T.upper" in bad


def test_prop1_fails_with_equal_initial_weights(equal_runs):
    rows, _ = prop1.rows(EQUAL, equal_runs)
    assert "phase_order" in failing(rows)


def test_prop1_fails_when_phases_overlap():
    """A large δ (W_ii(0) above µ0 for some class): t_i = 0 = s_i, the phases overlap."""
    p = dataclasses.replace(DEFAULT, delta=(0.9, 0.6))
    rows, _ = prop1.rows(p, _flow.run_sweep(p))
    assert "phase_order" in failing(rows)


def test_tensor_power_fails_on_a_tampered_trajectory(default_runs):
    """Stretch time by 10 %: t_1 no longer matches the closed form, its error no longer shrinks."""
    tampered = []
    for run in default_runs:
        traj = dataclasses.replace(run.traj, ts=run.traj.ts * 1.1,
                                   events={k: dataclasses.replace(v, t=v.t * 1.1) for k, v in run.traj.events.items()})
        tampered.append(dataclasses.replace(run, traj=traj))
    rows, _ = tensor_power.rows(tensor_power.Params(), tampered)
    assert "t1.prediction" in failing(rows)


def test_theorem2_fails_on_a_shuffled_bias(default_runs):
    """Swap the final biases of the last-learned class and another: the largest bias is no
    longer the last-learned class's."""
    runs = []
    for run in default_runs:
        occ = run.traj.events["T"]
        b = occ.y.b.copy()
        last = theorem2.learned_order(run)[-1]
        other = theorem2.learned_order(run)[0]
        b[[last, other]] = b[[other, last]]
        events = dict(run.traj.events, T=dataclasses.replace(occ, y=occ.y._replace(b=b)))
        runs.append(dataclasses.replace(run, traj=dataclasses.replace(run.traj, events=events)))
    rows, _ = theorem2.rows(DEFAULT, runs)
    assert "last_largest_bias" in failing(rows)
