"""Model F, plateau.theorem1 and plateau.trends: pass at the defaults, fail where the claims are false."""

import dataclasses

import numpy as np
import pytest

from gflow._config import jax as _jax
from gflow.data.clusters import cluster_dataset
from gflow.errors import InputError
from gflow.models import deep_fc as F
from gflow.flows import deep as deep
from theory_checks.plateau import theorem1, trends

from helpers import failing

jax = _jax()


@pytest.mark.parametrize("bias", ["last", "none", "all"])
@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_field_is_minus_gradient(bias, activation):
    data = cluster_dataset(3, 5, 9, seed=0)
    th = F.init_state([5, 4, 4, 3], 0.7, bias, seed=1)
    th = jax.tree_util.tree_map(jax.numpy.asarray, th)
    if bias != "none":
        th = th._replace(b=jax.numpy.asarray([0.3, -0.1, 0.2]))
    g = jax.grad(F.loss)(th, data.args(), activation)
    f = F.vector_field(activation, bias)(0.0, th, data.args())
    for a, b in zip(jax.tree_util.tree_leaves(f.V), jax.tree_util.tree_leaves(g.V)):
        np.testing.assert_allclose(a, -b, rtol=1e-12, atol=1e-14)
    if bias == "none":
        assert np.all(np.asarray(f.b) == 0)


def test_init_spectral_norms_and_data_norms():
    th = F.init_state([10, 16, 16, 3], 0.05, "last", seed=0)
    np.testing.assert_allclose(F.spectral_norms(th), 0.05, rtol=1e-12)
    data = cluster_dataset(3, 10, 30, seed=0)
    assert np.isclose(np.linalg.norm(data.X, axis=1).max(), 1.0)
    with pytest.raises(InputError):
        F.validate(2, "identity", "last")


P1 = theorem1.Params()


@pytest.fixture(scope="module")
def trained():
    return deep.train(P1, P1.r, P1.delta[0])


def test_theorem1_passes_at_defaults(trained):
    rows, _ = theorem1.rows(P1, [theorem1.curves(P1, trained)])
    assert failing(rows) == []
    assert trained.T > 0 and max(F.spectral_norms(trained.theta0)) <= P1.delta[0] * (1 + 1e-9)


def test_gradient_descent_reports_its_step_accuracy():
    """Model F on gradient descent: one half-step rerun (not a cascade), its change of T as a
    hypothesis; a coarse step misses it."""
    p = dataclasses.replace(P1, solver="gd", dt=2.0, k=2, n_samples=8, width=4, delta=(0.3,), margin=0.5)
    run = deep.train(p, p.r, p.delta[0])
    hyp = deep.gd_hypothesis(p, [run])[0]
    assert np.isfinite(run.gd_change) and hyp.measured == run.gd_change
    fine = deep.train(dataclasses.replace(p, dt=0.05), p.r, p.delta[0])
    assert fine.gd_change < run.gd_change


def test_theorem1_fails_without_a_bias_gap(trained):
    b = np.asarray(trained.thetaT.b)
    flat = dataclasses.replace(trained, thetaT=trained.thetaT._replace(b=np.full_like(b, b.mean())))
    rows, _ = theorem1.rows(P1, [theorem1.curves(P1, flat)])
    assert "error_plateau" in failing(rows)


def test_theorem1_error_nonincreasing_fails_on_an_added_increase(trained):
    c = theorem1.curves(P1, trained)
    c.steps = list(c.steps) + [(0.999, 0.0, 0.5)]
    assert failing(theorem1.rows(P1, [c])[0]) == ["error_nonincreasing"]


def test_theorem1_loss_band_fails_on_a_tampered_curve(trained):
    """A path that starts already trained (θ(0) := θ(T)) has a loss far below log k at α = 0."""
    run = dataclasses.replace(trained, theta0=trained.thetaT)
    rows, _ = theorem1.rows(P1, [theorem1.curves(P1, run)])
    assert "loss_band" in failing(rows)


PT = trends.Params()


@pytest.fixture(scope="module")
def trend_runs():
    return trends.train_all(PT)


def test_trends_pass_at_defaults(trend_runs):
    assert failing(trends.rows(PT, trends.lengths(PT, trend_runs)["lengths"])) == []


@pytest.mark.parametrize("swap, row", [
    ({"no_bias": "bias"}, "no_bias_shorter"),          # "no bias" trained with the bias: not shorter
    ({"small_init": "bias"}, "smaller_init_longer"),   # "small init" trained at the large init: not longer
    ({"depth_4": "bias", "depth_5": "bias", "depth_6": "bias"}, "deeper_longer"),  # every depth is depth 3
])
def test_trends_fail_on_swapped_runs(trend_runs, swap, row):
    runs = dict(trend_runs, **{k: trend_runs[v] for k, v in swap.items()})
    assert failing(trends.rows(PT, trends.lengths(PT, runs)["lengths"])) == [row]


def test_homogeneous_trend_fails_with_a_linear_exponent(trend_runs):
    """"Homogeneous" interpolation with exponent 1 is the linear path: not shorter."""
    L = trends.lengths(PT, trend_runs, power=1)["lengths"]
    assert failing(trends.rows(PT, L)) == ["homogeneous_shorter"]
