"""Interpolation curves, plateau.theorem3 and plateau.bias_lemmas: pass where the claims hold,
fail (with the right row) where they do not."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from gflow._config import jax as _jax
from gflow.interpolation import MLI, interpolate
from gflow.models import homogeneous as H
from gflow.flows import plateau as flow
from theory_checks.plateau import bias_lemmas, theorem3

from helpers import failing

jax = _jax()
P3 = theorem3.Params()


@pytest.fixture(scope="module")
def runs():
    return flow.run_sweep(P3)


def test_interpolate_endpoints_and_homogeneous_bias():
    t0 = H.HState(W=np.zeros((2, 2)), b=np.zeros(2))
    t1 = H.HState(W=np.ones((2, 2)), b=np.array([1.0, -2.0]))
    mid = interpolate(t0, t1, 0.5)
    np.testing.assert_allclose(mid.W, 0.5)
    hom = interpolate(t0, t1, 0.5, bias_power={"b": 3})
    np.testing.assert_allclose(hom.b, 0.125 * t1.b)
    np.testing.assert_allclose(interpolate(t0, t1, 1.0, bias_power={"b": 3}).b, t1.b)


def test_error_change_points_are_roots_of_margins(runs):
    c = theorem3.curves(P3, runs[1])
    for a, before, after in c.steps:
        m = c.mli.margins([a])[0]
        assert np.min(np.abs(m)) < 1e-8  # some sample sits exactly on its decision boundary
        assert before != after
    # the loss boundary is a root of the derivative, and the loss decreases after it
    a = c.monotone_from
    assert abs(c.mli.dloss([a])[0]) < 1e-6
    assert np.all(np.diff(c.mli.loss(np.linspace(a + 1e-6, 1, 200))) < 0)


def test_theorem3_passes_at_defaults(runs):
    rows, _ = theorem3.rows(P3, runs)
    assert failing(rows) == []


def test_theorem3_fails_without_a_bias_gap(runs):
    """Equal final biases: α1 = δ/Δ_min = ∞, no error plateau."""
    cs = []
    for run in runs:
        th = theorem3.trained(run)
        flat = H.HState(W=th.W, b=np.full_like(th.b, th.b.mean()))
        cs.append(theorem3.curves(P3, run, theta1=flat))
    rows, _ = theorem3.rows(P3, runs, cs)
    assert "error_plateau" in failing(rows)


def test_theorem3_fails_on_a_reversed_path(runs):
    """Swap θ(0) and θ(T): the loss rises towards α = 1 and the error increases."""
    cs = []
    for run in runs:
        c = theorem3.curves(P3, run)
        c.mli = MLI(c.mli.logits, c.mli.theta1, c.mli.theta0, c.mli.X, c.mli.labels)
        c.monotone_from = c.mli.loss_monotone_from()
        c.steps = c.mli.error_steps(min(c.alphas["alpha1"], 1.0), 1.0)
        cs.append(c)
    rows, _ = theorem3.rows(P3, runs, cs)
    bad = failing(rows)
    assert "loss_decreasing" in bad and "error_nonincreasing" in bad


class _ShiftedLoss:
    """An MLI whose loss curve is lifted by ``by`` (everything else unchanged)."""

    def __init__(self, mli, by):
        self._mli, self._by = mli, by

    def __getattr__(self, name):
        return getattr(self._mli, name)

    def loss(self, a):
        return self._mli.loss(a) + self._by


def test_theorem3_loss_band_fails_when_the_loss_leaves_the_band(runs):
    cs = [theorem3.curves(P3, run) for run in runs]
    for c in cs:
        c.mli = _ShiftedLoss(c.mli, 1.0)
    assert failing(theorem3.rows(P3, runs, cs)[0]) == ["loss_band"]


def test_theorem3_error_nonincreasing_fails_on_an_added_increase(runs):
    cs = [theorem3.curves(P3, run) for run in runs]
    for c in cs:
        c.steps = list(c.steps) + [(0.999, 0.0, 0.5)]
    assert failing(theorem3.rows(P3, runs, cs)[0]) == ["error_nonincreasing"]


def test_theorem3_leading_order_fails_when_the_plateau_end_drifts_away(runs):
    """The measured plateau end moved away from R_min^(1/(r−1)) more as δ shrinks."""
    cs = [theorem3.curves(P3, run) for run in runs]
    for c in cs:
        c.plateau_end = c.alphas["alpha2_leading"] * (1 + 0.01 * (0.1 / c.delta))
    assert failing(theorem3.rows(P3, runs, cs)[0]) == ["alpha2.leading_order"]


def test_error_plateau_margin_is_measured_to_the_first_change(runs):
    """The margin of the error-plateau row is the distance from α2 to the error's first change,
    not 1 − α2."""
    c = theorem3.curves(P3, runs[-1])
    row = theorem3.rows(P3, runs[-1:], [c])[0][0]
    assert row.id == "error_plateau" and row.margin == pytest.approx(c.steps[0][0] - c.alphas["alpha2"])
    assert row.margin < 1 - c.alphas["alpha2"]


def test_theorem3_cli_json_single_delta(tmp_path):
    out = tmp_path / "t3.json"
    res = subprocess.run([sys.executable, "-m", "gflow_cli", "check", "plateau.theorem3", "--delta", "0.05",
                          "--eps", "0.1", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(out.read_text())
    assert set(rep["alphas"]) >= {"alpha1", "alpha2", "alpha3", "alpha4"}
    b = rep["boundaries"]
    assert rep["alphas"]["alpha1"] < b["error_plateau_end"] <= 1
    assert 0 <= b["loss_monotone_from"] <= rep["alphas"]["alpha4"]
    assert len(rep["final_state"]["W"]) == rep["params"]["k"] and rep["params"]["eps"] == 0.1


# --- bias lemmas -------------------------------------------------------------------------

PB = bias_lemmas.Params()


@pytest.fixture(scope="module")
def counts(runs):
    return bias_lemmas.measure(PB, runs)


def test_bias_field_matches_finite_differences(runs):
    """ḃ as the check evaluates it agrees with the trajectory's own finite difference."""
    run = runs[0]
    ts, b = run.traj.ts, run.traj.ys.b
    s = bias_lemmas.trajectory_states(PB, run, 3)
    i = len(ts) // 3
    fd = (b[i + 1] - b[i - 1]) / (ts[i + 1] - ts[i - 1])
    np.testing.assert_allclose(fd, s.bdot[i], atol=5e-3 * max(1.0, np.abs(s.bdot[i]).max()))


def test_derived_constants():
    assert bias_lemmas.mu_proof(PB) == PB.c_w**PB.r
    mu, c2 = bias_lemmas.constants(PB)
    assert mu == pytest.approx(1.2 * PB.c_w**PB.r)
    # Lemma 3's bound at C2_proof is exactly −c3
    c2p = bias_lemmas.c2_proof(PB, 0.1)
    bound = 2 * PB.c1 - 1 + (PB.k - 1) * np.tanh((c2p + 2 * (PB.c_w * 0.1) ** PB.r) / 2)
    assert bound == pytest.approx(-PB.c3) and c2 == pytest.approx(0.9 * c2p)


def test_bias_lemmas_pass_at_defaults_on_sampled_states(counts):
    rows, findings, not_checked = bias_lemmas.rows(PB, counts)
    assert failing(rows) == [] and not not_checked
    for name in ("lemma1", "lemma2", "lemma3"):
        assert all(c.sampled >= 1000 for c in counts[name]), name   # ≥ 1000 sampled states per lemma and δ
    assert any("smallest working µ" in f for f in findings)


def test_bias_lemmas_cli_defaults_and_a_mu_below_the_proofs_constant(tmp_path):
    out = tmp_path / "bl.json"
    ok = subprocess.run([sys.executable, "-m", "gflow_cli", "check", "plateau.bias_lemmas", "--json", str(out)],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    rep = json.loads(out.read_text())
    for name in ("lemma1", "lemma2", "lemma3"):
        assert next(r for r in rep["rows"] if r["id"] == f"{name}.checked")["measured"] >= 1000
    bad = subprocess.run([sys.executable, "-m", "gflow_cli", "check", "plateau.bias_lemmas", "--c-w", "3", "--mu", "3",
                          "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    rep = json.loads(out.read_text())
    assert {"lemma1.sign", "lemma2.sign"} <= {r["id"] for r in rep["rows"] if not r["holds"]}
    assert not next(h for h in rep["hypotheses"] if h["statement"].startswith("Lemmas 1–2"))["met"]


def test_lemmas_1_2_fail_with_mu_below_c_w_to_the_r(runs):
    """c_W = 3, µ = 3 < 3^4: states in the set where W^r outweighs µδ^r violate the sign
    (and no µ below c_B works): only the Lemma 1–2 rows fail."""
    p = dataclasses.replace(PB, c_w=3.0, mu=3.0)
    bad = set(failing(bias_lemmas.rows(p, bias_lemmas.measure(p, runs))[0]))
    assert {"lemma1.sign", "lemma2.sign"} <= bad <= {"lemma1.sign", "lemma2.sign", "lemma1.mu_bounded",
                                                     "lemma2.mu_bounded"}


def test_lemma3_fails_with_c2_above_what_its_proof_allows(runs):
    p = dataclasses.replace(PB, c2=3.0)
    bad = set(failing(bias_lemmas.rows(p, bias_lemmas.measure(p, runs))[0]))
    assert "lemma3.sign" in bad and bad <= {"lemma3.sign", "lemma3.omega1"}


def test_lemma_rows_fail_on_a_tampered_field(runs, monkeypatch):
    """ḃ with its sign flipped: every sign row fails."""
    real = bias_lemmas.evaluate

    def flipped(*a, **kw):
        s = real(*a, **kw)
        return dataclasses.replace(s, bdot=-s.bdot)
    monkeypatch.setattr(bias_lemmas, "evaluate", flipped)
    bad = set(failing(bias_lemmas.rows(PB, bias_lemmas.measure(PB, runs))[0]))
    assert {"lemma1.sign", "lemma2.sign", "lemma3.sign"} <= bad


def test_lemma_rows_fail_when_nothing_is_checked(runs):
    """µ above the whole band c_B: no state meets Lemmas 1–2, and that is a failure, not a pass."""
    p = dataclasses.replace(PB, mu=1e6)
    bad = set(failing(bias_lemmas.rows(p, bias_lemmas.measure(p, runs))[0]))
    assert bad == {"lemma1.checked", "lemma1.sign", "lemma2.checked", "lemma2.sign"}


def test_lemma3_unchecked_when_no_class_is_learned_enough(runs):
    """C1 = 1e−9: no state has 1 − u_j ≤ C1 (W_jj ≤ 2), so Lemma 3 is not checked — a failure."""
    p = dataclasses.replace(PB, c1=1e-9)
    bad = set(failing(bias_lemmas.rows(p, bias_lemmas.measure(p, runs))[0]))
    assert {"lemma3.checked", "lemma3.sign"} <= bad <= {"lemma3.checked", "lemma3.sign", "lemma3.omega1"}


def test_mu_bounded_row_fails_when_mu_star_grows(counts):
    grown = {k: [dataclasses.replace(c, constant=c.constant * (0.1 / c.delta)) for c in v] if k == "lemma1" else v
             for k, v in counts.items()}
    assert failing(bias_lemmas.rows(PB, grown)[0]) == ["lemma1.mu_bounded"]


def test_c3_star_row_fails_when_it_shrinks(counts):
    shrunk = {k: [dataclasses.replace(c, constant=c.constant * (c.delta / 0.1)) for c in v] if k == "lemma3" else v
              for k, v in counts.items()}
    assert failing(bias_lemmas.rows(PB, shrunk)[0]) == ["lemma3.omega1"]
