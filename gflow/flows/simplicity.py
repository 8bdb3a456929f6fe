"""Parameters and the trained two-layer ReLU network shared by the ``simplicity.*`` checks.

Training solver (``--solver``): ``exact`` (default), the Filippov gradient flow of
:func:`gflow.solve_relu2` — event driven, crossings of the neurons' hyperplanes over the samples
absorbed into steps under error control, sliding along them by equivalent control — or ``gd``,
fixed-step gradient descent at ``--dt``, the paper's own method (σ'(0) = 0). With N ≫ d every
neuron's hyperplane sweeps over many samples (measured at N = 2000, d = 3, m = 100 to t = 2000:
~10⁵ crossings and ~2 400 sliding entries), which is why absorbing crossings matters here.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from gflow import save_grid, solve
from gflow._config import jax as _jax
from gflow.bounds.simplicity import ols_halves
from gflow.data import stream
from gflow.data.teacher import DISTRIBUTIONS, linear_teacher
from gflow.errors import InputError
from gflow.models import relu2 as R
from gflow.params import ParamSet, fits_in_memory, param


SOLVERS = ("exact", "gd")


@dataclasses.dataclass(frozen=True)
class SimParams(ParamSet):
    """Model R on a linear teacher with noise (the simplicity paper's set-up)."""

    d: int = param(3, "input dimension", ge=2)
    n_grid: tuple = param((100, 300, 1000, 3000, 10000), "sample sizes N of the sweep, comma-separated", ge=2,
                          increasing=True, count=(2, None))
    n_samples: int = param(2000, "N of a single training run", ge=2)
    sigma: float = param(0.5, "noise level σ", gt=0, le=100)
    dist: str = param("gaussian", "law of x: gaussian, cone (Assumption 1) or skewed", choices=DISTRIBUTIONS)
    m: int = param(100, "number of neurons", ge=2)
    lam: float = param(1e-4, "init scale λ", gt=0, lt=1)
    solver: str = param("exact", "exact (the Filippov flow) or gd (the papers' gradient descent, step --dt)",
                        choices=SOLVERS)
    rtol: float = param(1e-6, "the exact flow's relative tolerance", ge=1e-15, lt=1e-2)
    dt: float = param(0.05, "gradient-descent step (solver gd, and the comparison run)", gt=0, lt=10)
    t_max: float = param(2000.0, "training time", gt=0, le=1e9)
    reps: int = param(3, "independent draws per N (averaged)", ge=1, le=1000)
    seed: int = param(0, "seed of data and init", ge=0, lt=2**32)

    def validate(self) -> None:
        super().validate()
        fits_in_memory(8 * (max(self.n_grid) + self.n_samples) * max(self.d, self.m) * 8,
                       "the samples and the network's pre-activations")

    @property
    def beta(self) -> np.ndarray:
        """The teacher β*: a fixed direction (1, 1/2, −1/3, …)/norm, scaled to norm 1."""
        b = np.array([(-1) ** i / (i + 1) for i in range(self.d)], float)
        return b / np.linalg.norm(b)


@dataclasses.dataclass
class Trained:
    X: np.ndarray
    y: np.ndarray
    traj: object
    s: np.ndarray

    @property
    def a(self):
        return self.traj.ys.a[-1]

    @property
    def W(self):
        return self.traj.ys.W[-1]

    def predict(self, X, i: int = -1):
        return R.predict(self.traj.ys.a[i], self.traj.ys.W[i], X)

    def train_loss(self, i: int = -1) -> float:
        return float(0.5 * np.mean((self.predict(self.X, i) - self.y) ** 2))


def train(p: SimParams, n: int, dt: float | None = None, seed_offset: int = 0, solver: str | None = None) -> Trained:
    """Train from ``w_j = λ g_j``, ``a_j = s_j ‖w_j‖`` on ``n`` teacher samples to ``p.t_max``:
    the exact flow (``solver="exact"``, at ``p.rtol``) or gradient descent (``"gd"``, step ``dt``
    or ``p.dt``). ``solver`` overrides ``p.solver``."""
    from gflow import solve_relu2

    jnp = _jax().numpy
    solver = solver or p.solver
    rng = stream(p.seed, 2, n, seed_offset)
    X, y = linear_teacher(n, p.beta, p.sigma, p.dist, seed=rng)
    sph, s, _ = R.init(p.m, p.d, p.lam, seed=stream(p.seed, 1))
    cart = R.to_cartesian(R.SphState(*map(jnp.asarray, sph)), jnp.asarray(s))
    grid = save_grid(p.t_max, 120, t_min=1.0)
    if solver == "exact":
        traj = solve_relu2(X, y, np.asarray(cart.W), np.asarray(cart.a), p.t_max, save_ts=grid[grid > 0],
                           rtol=p.rtol, atol=p.rtol * 1e-3, max_steps=10**7)
        return Trained(X, y, traj, s)
    args = {"X": jnp.asarray(X), "y": jnp.asarray(y), "kink": jnp.float64(0.0)}
    traj = solve(R.cartesian_field(), R.CartState(*map(np.asarray, cart)), p.t_max, args, solver="gd",
                 dt=dt or p.dt, save_ts=grid, max_steps=10**7)
    return Trained(X, y, traj, s)


def test_set(p: SimParams, n: int = 20000):
    rng = stream(p.seed, 3)
    return linear_teacher(n, p.beta, p.sigma, p.dist, seed=rng)


__all__ = ["SimParams", "Trained", "train", "test_set", "ols_halves"]


@functools.lru_cache(maxsize=None)
def _gd(batched: bool):
    """Gradient descent ``n_steps`` steps of :func:`gflow.models.relu2.gd_step` in one
    ``lax.fori_loop``; the step count is a traced argument (one compilation per shape). With
    ``batched`` the problems come stacked on a leading axis and run under ``jax.vmap``; without
    it a single problem runs unbatched (``benchmarks/gd_step.py``: a vmap over one problem made
    the general field's step 1.7× slower)."""
    jax = _jax()

    def one(a, W, X, y, dt, n_steps):
        XT, Y = R.chunk_samples(X, y)
        return jax.lax.fori_loop(0, n_steps, lambda _, th: R.gd_step(th[0], th[1], XT, Y, X.shape[0], dt), (a, W))

    return jax.jit(jax.vmap(one, in_axes=(0, 0, 0, 0, None, None)) if batched else one)


def problem(p: SimParams, n: int, rep: int):
    """Data and balanced init of repetition ``rep`` (rep 0 is the one :func:`train` uses)."""
    jnp = _jax().numpy
    rng = stream(p.seed, 2, n, rep)
    X, y = linear_teacher(n, p.beta, p.sigma, p.dist, seed=rng)
    init_seed = [p.seed, 1] + ([rep] if rep else [])  # rep 0: the init train() uses
    sph, s, _ = R.init(p.m, p.d, p.lam, seed=stream(*init_seed))
    cart = R.to_cartesian(R.SphState(*map(jnp.asarray, sph)), jnp.asarray(s))
    return X, y, np.asarray(cart.a), np.asarray(cart.W)


def train_loss(X, y, a, W) -> float:
    return float(R.loss(np.asarray(a), np.asarray(W), X, y))


def train_final(p: SimParams, n: int, reps: int, batched: bool = True, max_segments: int = 1,
                stable_tol: float = 0.01, floor: float = 0.0, below_ratio: float = 0.0,
                solver: str = "gd") -> list[tuple]:
    """Final ``(X, y, a, W)`` of ``reps`` independent runs on N samples (seeds differ), and per run
    ``{"t", "drift", "stable", "below"}``. ``batched``: all runs in one vmapped gradient descent
    (same shapes); else one after the other.

    Training runs in segments of ``p.t_max`` until the training loss changed by at most
    ``stable_tol`` (relative) over the last segment, or fell below ``floor`` (interpolation), or
    below ``below_ratio`` times the OLS-on-halves loss (``below``: gradient descent with a small
    step only lowers the loss, so the run stays below that line; its loss is then an upper bound
    of the converged one), or ``max_segments`` segments ran (``stable`` is then False). One
    segment is the fixed horizon.

    ``solver="exact"``: the exact flow (:func:`gflow.solve_relu2` at ``p.rtol``), one draw after the
    other, each segment continuing from the last one's state; ``info["evals"]`` counts its field
    evaluations (gradient descent: one per step)."""
    jnp = _jax().numpy
    probs = [problem(p, n, r) for r in range(reps)]
    ols = [ols_halves(q[0], q[1], p.beta)[2] for q in probs]
    n_steps = int(round(p.t_max / p.dt))
    states = [(jnp.asarray(q[2]), jnp.asarray(q[3])) for q in probs]
    losses = [train_loss(q[0], q[1], q[2], q[3]) for q in probs]
    losses_0 = list(losses)
    info = [{"t": 0.0, "drift": float("inf"), "stable": False, "below": False} for _ in probs]
    evals = [0] * reps
    for seg in range(max_segments):
        todo = [i for i in range(reps) if not info[i]["stable"]]
        if not todo:
            break
        if solver == "exact":
            from gflow import solve_relu2

            new = {}
            for i in todo:
                tr = solve_relu2(probs[i][0], probs[i][1], np.asarray(states[i][1]), np.asarray(states[i][0]), p.t_max,
                                 rtol=p.rtol, atol=p.rtol * 1e-3, max_steps=10**7)
                evals[i] += tr.stats.rhs_evals
                new[i] = (tr.ys.a[-1], tr.ys.W[-1])
        elif batched:
            stack = lambda arrs: jnp.stack(arrs)  # noqa: E731
            A, Wf = _gd(True)(stack([states[i][0] for i in todo]), stack([states[i][1] for i in todo]),
                              jnp.asarray(np.stack([probs[i][0] for i in todo])),
                              jnp.asarray(np.stack([probs[i][1] for i in todo])), p.dt, n_steps)
            new = {i: (A[j], Wf[j]) for j, i in enumerate(todo)}
        else:
            new = {i: _gd(False)(*states[i], jnp.asarray(probs[i][0]), jnp.asarray(probs[i][1]), p.dt, n_steps)
                   for i in todo}
        if solver != "exact":
            for i in todo:
                evals[i] += n_steps
        for i, (A, Wf) in new.items():
            states[i] = (A, Wf)
            loss = train_loss(probs[i][0], probs[i][1], np.asarray(A), np.asarray(Wf))
            drift = abs(loss - losses[i]) / max(losses[i], 1e-300)
            losses[i] = loss
            below = bool(loss < below_ratio * ols[i] and loss < losses_0[i])
            info[i] = {"t": (seg + 1) * p.t_max, "drift": drift, "below": below, "evals": evals[i],
                       "stable": bool(seg > 0 and drift <= stable_tol or loss < floor or below)}
    return [(q[0], q[1], np.asarray(states[i][0]), np.asarray(states[i][1]), info[i]) for i, q in enumerate(probs)]
