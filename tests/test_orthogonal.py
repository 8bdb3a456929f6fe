"""Model R and the orthogonal-inputs checks."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from gflow import solve
from gflow._config import jax as _jax
from gflow.bounds import orthogonal as B
from gflow.data import orthogonal as OD
from gflow.errors import InputError
from gflow.models import relu2 as R
from gflow.flows import orthogonal as flow
from theory_checks.orthogonal import fact1, lemma2, lemma3, lemma4, lemma5, theorem1

from helpers import failing

jax = _jax()
jnp = jax.numpy


def test_cartesian_field_is_minus_gradient():
    data = OD.orthonormal(3, 5, seed=0)
    rng = np.random.default_rng(1)
    th = R.CartState(jnp.asarray(rng.normal(size=7)), jnp.asarray(rng.normal(size=(7, 5))))
    g = jax.grad(R.loss_cart)(th, jnp.asarray(data.X), jnp.asarray(data.y))
    f = R.cartesian_field()(0.0, th, data.args(np.ones(7)))
    np.testing.assert_allclose(f.a, -g.a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f.W, -g.W, rtol=1e-12, atol=1e-14)


def test_spherical_field_is_the_chain_rule_of_the_cartesian_one():
    data = OD.two_point()
    sph, s, _ = R.init(8, 2, 0.3, seed=2)
    sph = jax.tree_util.tree_map(jnp.asarray, sph)
    args = data.args(s)
    f = R.spherical_field()(0.0, sph, args)
    cart = R.to_cartesian(sph, jnp.asarray(s))
    fc = R.cartesian_field()(0.0, cart, args)
    # ẇ = e^ρ (ρ̇ w̄ + w̄̇), ȧ = s e^ρ ρ̇
    r = np.exp(np.asarray(sph.rho))
    np.testing.assert_allclose(r[:, None] * (np.asarray(f.rho)[:, None] * sph.wbar + f.wbar), fc.W, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(s * r * np.asarray(f.rho), fc.a, rtol=1e-11, atol=1e-15)


def test_coordinates_agree_and_balancedness_is_conserved():
    p = flow.OrthoParams(lam=(1e-3,), rtol=1e-11, atol=1e-16)
    sph = flow.run_sweep(p)[0]
    cart = flow.run_sweep(dataclasses.replace(p, coords="cartesian"))[0]
    for name in ("half1", "half2", "plateau_start", "plateau_end"):
        assert abs(sph.t(name) - cart.t(name)) / sph.t(name) < 1e-6, name
    a, W = cart.cart()
    bal = a**2 - (W**2).sum(-1)
    assert np.abs(bal - bal[0]).max() < 1e-12 * 1 + 1e-9 * np.abs(bal[0]).max()
    assert np.abs(np.linalg.norm(sph.traj.ys.wbar, axis=-1) - 1).max() < 1e-6


def test_tiny_lambda_costs_what_a_moderate_one_costs():
    p = flow.OrthoParams(lam=(1e-6,))
    small = flow.run_sweep(dataclasses.replace(p, lam=(1e-30,)))[0]
    moderate = flow.run_sweep(p)[0]
    assert small.traj.stats.rhs_evals < 2 * moderate.traj.stats.rhs_evals
    assert abs(small.t("half2") / small.pred["t_second"] - 1) < 0.05


def test_cartesian_refuses_a_meaningless_tolerance():
    with pytest.raises(InputError, match="cannot be trusted"):
        flow.run_sweep(flow.OrthoParams(lam=(1e-30,), coords="cartesian", atol=1e-9))


def test_assumption_messages():
    data = OD.two_point()
    s = np.ones(4)
    g = np.ones((4, 2))
    assert len(OD.check_assumptions(data, g, s)["S_minus"]) == 0
    with pytest.raises(InputError, match="Assumption 2"):
        OD.check_assumptions(OD.OrthoData(np.eye(2), np.array([1.0, -1.0]), "sym"), g, s)
    with pytest.raises(InputError, match="Assumption 3"):
        flow.run_flow(flow.OrthoParams(), 1e-10, draws=(s, g))


def test_logistic_and_min_norm_closed_forms():
    t = np.linspace(0, 5, 50)
    tr = solve(lambda t, u, a: a * u * (1 - u / 3.0), jnp.float64(0.01), 5.0, 2.0, rtol=1e-11, atol=1e-14, save_ts=t)
    np.testing.assert_allclose(tr.ys, B.logistic(t, 0.01, 2.0, 3.0), rtol=1e-8)
    data = OD.two_point()
    assert np.isclose(B.min_norm_sq(data), 2 * (1 / np.sqrt(5) + 1 / np.sqrt(1.25)))
    o = OD.orthonormal(4, 6)
    assert np.isclose(B.min_norm_sq(o), 2 * 4 * (np.linalg.norm(o.d_plus) + np.linalg.norm(o.d_minus)))
    assert B.sympy_min_norm_one_sample()


@pytest.fixture(scope="module")
def default_runs():
    return flow.run_sweep(flow.OrthoParams())


@pytest.mark.parametrize("mod", [lemma2, lemma3, fact1, lemma4, lemma5])
def test_checks_pass_at_defaults(mod, default_runs):
    rows, _ = mod.rows(mod.Params(), default_runs)
    assert failing(rows) == []


def test_lemma5_samples_the_ball_and_reports_lambda_star(default_runs):
    """At λ = 1e−30 the paper's ball λ^(ε/40) ≈ 0.84 is larger than ρ_max, the radius beyond
    which PL cannot hold (shrinking a fitted group): "λ ≤ λ*" is reported as not met, and the
    check samples the derived ball 0.9·ρ_max, where it holds."""
    p = lemma5.Params()
    run = default_runs[-1]
    assert lemma5.radius(p, run) == pytest.approx(0.9 * lemma5.rho_max(run))
    assert not lemma5.hypotheses(p, default_runs)[-1].met
    # along the second group's shrinking path the ratio is 4‖D−‖(1 − τ)² (the derivation)
    a, W = run.cart()
    idx = run.sets["S2"]
    taus = np.array([0.0, 0.25, 0.5, 0.7])
    flat = []
    for tau in taus:
        sc = np.ones(len(run.s))
        sc[idx] = 1 - tau
        flat.append(np.concatenate([a[-1] * sc, (W[-1] * sc[:, None]).ravel()]))
    r = lemma5.ball_ratios(run, np.array(flat)) / run.groups[1].norm
    np.testing.assert_allclose(r, 4 * (1 - taus) ** 2, rtol=2e-2)


def test_fact1_finds_a_strict_saddle_and_two_saddles(default_runs):
    _, findings = fact1.rows(fact1.Params(), default_runs)
    assert "saddles visited: 2" in findings[0]


def test_orthonormal_data():
    """Orthonormal data with two samples per sign: every check passes and two saddles are visited."""
    p = flow.OrthoParams(dataset="orthonormal", n=4, d=6, m=80)
    runs = flow.run_sweep(p)
    for mod in (lemma2, lemma3, fact1, lemma4, lemma5):
        assert failing(mod.rows(p, runs)[0]) == [], mod.ID
    assert "saddles visited: 2" in fact1.rows(p, runs)[1][0]


# --- falsification ---------------------------------------------------------------------

def test_large_lambda_has_no_separated_plateau():
    p = flow.OrthoParams(lam=(1e-6 / np.sqrt(60),))
    rows, _ = fact1.rows(p, flow.run_sweep(p))
    assert "plateau.window" in failing(rows)


def test_empty_s_minus_never_fits_the_negative_label():
    p = flow.OrthoParams()
    _, s, g = R.init(p.m, 2, 1.0, seed=0)
    s = np.ones_like(s)  # no negative output neuron at all: S_{−,1} is empty
    run = flow.run_flow(p, 1e-30, draws=(s, g), require_assumption3=False)
    assert "t3.exists" in failing(lemma4.rows(p, [run])[0])
    assert "zero_loss" in failing(theorem1.rows(theorem1.Params(lam=(1e-30,)), [run])[0])
    assert set(failing(lemma5.rows(p, [run])[0])) == {"pl.ball", "pl.ratio", "pl.rate"}


def test_lemma5_ball_row_fails_beyond_rho_max(default_runs):
    p = lemma5.Params(pl_radius=1.0)
    assert failing(lemma5.rows(p, default_runs)[0]) == ["pl.ball"]


def test_lemma5_rate_fails_when_time_is_stretched(default_runs):
    """Time × 5: the loss decays 5× slower than ‖D−‖ allows (the ratios, read off states, are unchanged)."""
    runs = [dataclasses.replace(r, traj=dataclasses.replace(
        r.traj, ts=5 * r.traj.ts, events={k: dataclasses.replace(v, t=5 * v.t) for k, v in r.traj.events.items()}))
        for r in default_runs]
    assert failing(lemma5.rows(lemma5.Params(), runs)[0]) == ["pl.rate"]


def test_lemma5_ratio_rows_fail_against_a_larger_constant(default_runs):
    """Against 5‖D−‖ (above the derived limit 4‖D−‖) the trajectory and the ball rows fail."""
    runs = []
    for r in default_runs:
        g1, g2 = r.groups
        runs.append(dataclasses.replace(r, groups=(g1, dataclasses.replace(g2, norm=5 * g2.norm))))
    assert {"pl.ratio", "pl.ball"} <= set(failing(lemma5.rows(lemma5.Params(), runs)[0]))


def _sph_tamper(run, rho=None, wbar=None):
    ys = run.traj.ys
    ys = ys._replace(rho=rho(ys.rho.copy()) if rho else ys.rho, wbar=wbar(ys.wbar.copy()) if wbar else ys.wbar)
    return dataclasses.replace(run, traj=dataclasses.replace(run.traj, ys=ys))


def test_lemma2_rows_fail_on_tampered_runs(default_runs):
    run = default_runs[0]
    i = flow.index_at(run, run.pred["t1"])
    S2 = run.sets["S2"]
    assert failing(lemma2.rows(lemma2.Params(), [_sph_tamper(run, wbar=lambda w: (w.__setitem__((i, S2), -w[i, S2]), w)[1])])[0]) \
        == ["alignment.minus"]
    assert failing(lemma2.rows(lemma2.Params(), [_sph_tamper(run, rho=lambda r: (r.__setitem__(i, r[i] + 5), r)[1])])[0]) \
        == ["alignment.norms"]


def test_lemma3_t2_fails_when_the_first_fit_never_happens(default_runs):
    run = default_runs[0]
    gone = dataclasses.replace(run, traj=dataclasses.replace(
        run.traj, events={k: v for k, v in run.traj.events.items() if k != "t2"}))
    assert failing(lemma3.rows(lemma3.Params(), [gone])[0]) == ["t2.exists"]


def test_lemma4_frozen_group_fails_when_it_moves(default_runs):
    run = default_runs[0]
    i3 = flow.index_at(run, run.t("t3"))
    S1 = run.sets["S1"]
    moved = _sph_tamper(run, rho=lambda r: (r.__setitem__((i3, S1), r[i3, S1] + 1.0), r)[1])
    assert failing(lemma4.rows(lemma4.Params(), [moved])[0]) == ["frozen_first_group"]


def test_fact1_saddle_close_fails_when_the_path_leaves_the_saddle(default_runs):
    """One saved state at the window's start moved off θ_S by more than λ^(ε/5)."""
    runs = []
    for r in default_runs:
        i = int(np.searchsorted(r.traj.ts, r.pred["plateau_start"]))
        runs.append(_sph_tamper(r, rho=lambda x, i=i: (x.__setitem__((i, r.sets["S1"]), x[i, r.sets["S1"]] + 1.0), x)[1]))
    assert failing(fact1.rows(fact1.Params(), runs)[0]) == ["saddle.close"]


def test_fact1_stationarity_fails_without_newton(default_runs, monkeypatch):
    """θ_S taken from the trajectory without refining it is not stationary to 1e−10."""
    import functools
    monkeypatch.setattr(fact1, "refine_saddle", functools.partial(fact1.refine_saddle, iters=0))
    assert "saddle.stationary" in failing(fact1.rows(fact1.Params(), default_runs)[0])


def test_fact1_strict_fails_at_a_minimum(default_runs):
    """Refine from the end of the run keeping every neuron: Newton lands on the minimum, whose
    Hessian has no negative eigenvalue (its loss is not the saddle's, and the path is not near it)."""
    runs = []
    for r in default_runs:
        t = r.traj.ts
        pred = dict(r.pred, plateau_start=float(t[-3]), plateau_end=float(t[-1]))
        runs.append(dataclasses.replace(r, pred=pred, sets=dict(r.sets, S1=np.arange(len(r.s)))))
    bad = set(failing(fact1.rows(fact1.Params(), runs)[0]))
    assert "saddle.strict" in bad and bad <= {"saddle.strict", "saddle.stationary", "plateau.window", "saddle.close"}


def test_theorem1_min_norm_rows_fail_at_large_lambda():
    """λ = 0.5, 0.1: far from the small-init limit the flow's interpolator is not min-norm."""
    p = theorem1.Params(lam=(0.5, 0.1))
    bad = set(failing(theorem1.rows(p, flow.run_sweep(p))[0]))
    assert "min_norm.limit" in bad and bad <= {"min_norm.limit", "min_norm.trend"}


def test_theorem1_trend_fails_when_a_middle_lambda_is_further_from_min_norm():
    """The middle λ's final state rescaled a → 2a, w → w/2 (same predictor, same loss, larger
    norm): the gap no longer decreases with λ; the smallest λ still meets the limit."""
    p = theorem1.Params(lam=(1e-4, 1e-8, 1e-30))
    runs = flow.run_sweep(p)
    mid = runs[1]
    a, W = mid.cart()
    a, W = a.copy(), W.copy()
    a[-1], W[-1] = 2 * a[-1], W[-1] / 2
    runs[1] = dataclasses.replace(mid, traj=dataclasses.replace(mid.traj, ys=R.CartState(a, W)))
    assert failing(theorem1.rows(p, runs)[0]) == ["min_norm.trend"]


def test_theorem1_derivation_row_fails_for_a_wrong_closed_form(default_runs):
    """sympy does not confirm a wrong minimum (|y|/c instead of 2|y|/c)."""
    p = theorem1.Params(lam=(1e-30,))
    assert failing(theorem1.rows(p, default_runs, claimed_min_norm=lambda y, c: y / c)[0]) == ["min_norm.derivation"]


def test_lemma2_and_lemma3_fail_on_tampered_runs(default_runs):
    run = default_runs[0]
    wbar = run.traj.ys.wbar.copy()
    wbar[:, run.sets["S1"]] *= -1  # point S_{+,1} away from D+
    bad = dataclasses.replace(run, traj=dataclasses.replace(run.traj, ys=run.traj.ys._replace(wbar=wbar)))
    assert "alignment.plus" in failing(lemma2.rows(lemma2.Params(), [bad])[0])
    g1, g2 = run.groups
    wrong = dataclasses.replace(run, groups=(dataclasses.replace(g1, capacity=1.5 * g1.capacity), g2))
    assert "logistic" in failing(lemma3.rows(lemma3.Params(), [wrong])[0])


def test_theorem1_cli_json(tmp_path):
    out = tmp_path / "t1.json"
    res = subprocess.run([sys.executable, "-m", "gflow_cli", "check", "orthogonal.theorem1", "--lam", "1e-8,1e-30",
                          "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(out.read_text())
    assert rep["passed"] and rep["min_norm_sq"] > 0
    for lam in ("1e-08", "1e-30"):
        assert rep["final_loss"][lam] < 1e-12
        assert abs(rep["theta_sq_norm"][lam] - rep["min_norm_sq"]) < 1e-6
        assert {"t1", "t2", "t3", "plateau_start", "plateau_end"} <= set(rep["phase_times"][lam])
        assert len(rep["initial_state"][lam]["a"]) == 60 and len(rep["initial_state"][lam]["W"][0]) == 2


@pytest.mark.parametrize("args, needle", [
    (["--coords", "polar"], "coords"), (["--lam", "0"], "lam"), (["--dataset", "mnist"], "dataset"),
    (["--coords", "cartesian", "--atol", "1e-9"], "cannot be trusted"), (["--eps", "0.5"], "eps"),
])
def test_orthogonal_bad_inputs(args, needle):
    res = subprocess.run([sys.executable, "-m", "gflow_cli", "check", "orthogonal.lemma2", *args],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and needle in res.stderr and "Traceback" not in res.stderr
