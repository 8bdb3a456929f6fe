"""Model H: closed-form field vs autodiff, the exact σ = 0 reduction, data validation."""

import numpy as np
import pytest

from gflow._config import jax as _jax
from gflow.data.classes import class_dataset
from gflow.errors import InputError
from gflow.models import homogeneous as H

jax = _jax()


@pytest.mark.parametrize("r", [3, 4, 5])
@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_closed_form_matches_autodiff(r, sigma):
    data = class_dataset(3, 7, 12, sigma, seed=1)
    args = data.args()
    rng = np.random.default_rng(0)
    y = H.HState(W=jax.numpy.asarray(rng.normal(size=(3, 7)) * 0.7), b=jax.numpy.asarray(rng.normal(size=3)))
    grad = jax.grad(lambda s: H.loss(s, args, r))(y)
    field = H.vector_field(r)(0.0, y, args)
    np.testing.assert_allclose(field.W, -grad.W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(field.b, -grad.b, rtol=1e-12, atol=1e-12)


def test_bias_field_closed_form():
    """ḃ_i = 1 − (k/N) Σ_x u_i(x) on the full data set."""
    k, N = 4, 20
    data = class_dataset(k, 6, N, 0.2, seed=3)
    y = H.init_state(k, 6, 0.4, seed=2)
    y = H.HState(W=jax.numpy.asarray(y.W), b=jax.numpy.asarray([0.1, -0.2, 0.3, 0.0]))
    u = H.softmax(y, data.X, 3)
    np.testing.assert_allclose(H.vector_field(3)(0.0, y, data.args()).b, 1 - (k / N) * u.sum(0), rtol=1e-13)


def test_sigma_zero_reduction_is_exact():
    full = class_dataset(3, 5, 30, 0.0, seed=0, reduce=False)
    red = class_dataset(3, 5, 30, 0.0, seed=0)
    assert red.reduced and red.X.shape == (3, 5) and full.X.shape == (30, 5)
    y = H.init_state(3, 5, 0.5, seed=4)
    y = H.HState(W=jax.numpy.asarray(y.W), b=jax.numpy.asarray([0.2, 0.0, -0.1]))
    a = H.vector_field(4)(0.0, y, full.args())
    b = H.vector_field(4)(0.0, y, red.args())
    np.testing.assert_allclose(a.W, b.W, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(a.b, b.b, rtol=1e-13, atol=1e-15)


def _bias_field_50_digits(W, b, r):
    """ḃ_j = 1 − Σ_i u_j(e_i) of the σ = 0 reduction in 50-digit arithmetic (mpmath)."""
    import mpmath as mp

    mp.mp.dps = 50
    k = len(b)
    out = []
    for j in range(k):
        s = mp.mpf(1)
        for i in range(k):
            f = [mp.mpf(float(W[l, i])) ** r + mp.mpf(float(b[l])) for l in range(k)]
            s -= mp.e ** f[j] / sum(mp.e ** x for x in f)
        out.append(float(s))
    return np.array(out)


@pytest.mark.parametrize("r", [3, 4])
@pytest.mark.parametrize("scale, bias", [(0.7, 0.5), (1e-3, 0.0), (1e-4, 0.0), (1e-4, 1.0), (1e-5, 0.0)])
def test_reduced_field_has_no_cancellation(r, scale, bias):
    """On a plateau (W ~ δ) ḃ is O(δ^r): the general field's ``1 − Σ u`` loses it to rounding (100 %
    error at δ = 1e−4, r = 4), the reduced field keeps ~1e−14 relative accuracy; both agree elsewhere."""
    k = 4
    rng = np.random.default_rng(int(1e6 * scale) + r)
    W = scale * np.abs(rng.standard_normal((k, k)))
    b = bias * rng.standard_normal(k)
    b[1:] = b[1]                       # the unlearned classes' biases equal: their differences are O(δ^r)
    red = class_dataset(k, k, k, 0.0, seed=0)
    y = H.HState(W=jax.numpy.asarray(W), b=jax.numpy.asarray(b))
    general = H.vector_field(r)(0.0, y, red.args())
    reduced = H.reduced_field(r)(0.0, y, red.args())
    np.testing.assert_allclose(reduced.W, general.W, rtol=1e-13, atol=0)
    exact = _bias_field_50_digits(W, b, r)
    err = np.abs(np.asarray(reduced.b) - exact).max() / np.abs(exact).max()
    assert err < 1e-13
    if scale ** r < 1e-15 and bias == 0:   # where the general field cannot resolve ḃ: shows the test can tell
        assert np.abs(np.asarray(general.b) - exact).max() / np.abs(exact).max() > 1e-3


@pytest.mark.parametrize("r", [3, 4, 5])
def test_power_coordinates_are_the_same_flow(r):
    """V = W^−(r−2): V̇ = −(r−2) W^−(r−1) Ẇ (the chain rule), and the round trip is the identity."""
    k = 3
    rng = np.random.default_rng(r)
    W = 10 ** rng.uniform(-4, 0.3, size=(k, k))
    b = rng.standard_normal(k)
    red = class_dataset(k, k, k, 0.0, seed=0)
    V = H.to_power_coords(W, r)
    np.testing.assert_allclose(H.from_power_coords(V, r), W, rtol=1e-15)
    fW = H.reduced_field(r)(0.0, H.HState(jax.numpy.asarray(W), jax.numpy.asarray(b)), red.args())
    fV = H.reduced_power_field(r)(0.0, H.HState(jax.numpy.asarray(V), jax.numpy.asarray(b)), red.args())
    np.testing.assert_allclose(fV.W, -(r - 2) * W ** -(r - 1) * np.asarray(fW.W), rtol=1e-12)
    np.testing.assert_allclose(fV.b, fW.b, rtol=1e-13)


def test_init_is_abs_gaussian_scaled():
    y = H.init_state(3, 1000, 0.1, seed=0)
    assert np.all(y.W >= 0) and np.all(y.b == 0)
    assert abs(y.W.mean() - 0.1 * np.sqrt(2 / np.pi)) < 0.005


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=1, d=5, n_samples=5), "k must"),
    (dict(k=3, d=2, n_samples=6), "d must"),
    (dict(k=3, d=5, n_samples=10), "multiple of k"),
    (dict(k=3, d=5, n_samples=6, sigma=-1.0), "sigma"),
])
def test_bad_data_inputs(kwargs, match):
    with pytest.raises(InputError, match=match):
        class_dataset(**kwargs)


def test_bad_model_inputs():
    with pytest.raises(InputError, match="r must"):
        H.validate(3, 2)
    with pytest.raises(InputError, match="delta"):
        H.init_state(2, 3, 0.0)
