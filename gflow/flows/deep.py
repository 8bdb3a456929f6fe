"""Model F trained by gradient flow to zero training error, shared by ``plateau.theorem1``
and ``plateau.trends``.

Training stops (a terminal event, located exactly) the first time every training sample
has margin ≥ m: that is θ(T). The data are :func:`gflow.data.clusters.cluster_dataset`
(balanced, ‖x‖ ≤ 1); every layer starts with spectral norm δ (Theorem 1's ``‖V_i(0)‖ ≤ δ``).
Activation: the identity by default. With ReLU the gradient field is discontinuous across
activation boundaries and hidden units can slide along one: the default solver is then the
exact Filippov flow (:func:`gflow.models.deep_fc_exact.solve_model_f`, event-driven Tsit5,
every crossing located, sliding by equivalent control); ``--solver gd --dt h`` is the papers'
gradient descent (σ'(0) = 0) for comparison.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from gflow import Event, save_grid, solve
from gflow._config import jax as _jax
from gflow._solve import SOLVERS
from gflow.data import stream
from gflow.data.clusters import cluster_dataset
from gflow.errors import InputError, SolverError
from gflow.interpolation import MLI
from gflow.models import deep_fc as F
from gflow.models._common import class_margins
from gflow.models.deep_fc_exact import solve_model_f
from gflow.params import ParamSet, fits_in_memory, gd_needs_dt, param


@dataclasses.dataclass(frozen=True)
class DeepParams(ParamSet):
    """Model F, data and solver parameters."""

    k: int = param(3, "number of classes", ge=2)
    r: int = param(3, "depth r (Theorem 1 needs r ≥ 3)", ge=3)
    delta: tuple = param((0.03,), "spectral norm δ of every V_i(0), comma-separated", gt=0, lt=1)
    d: int = param(10, "input dimension", ge=1)
    width: int = param(16, "hidden width", ge=1)
    n_samples: int = param(30, "number of samples N (a multiple of k)", ge=2)
    noise: float = param(0.3, "cluster spread of the data", gt=0, le=100)
    activation: str = param("identity", "identity, or relu (the exact Filippov flow, or --solver gd)",
                            choices=F.ACTIVATIONS)
    seed: int = param(0, "seed of data and init", ge=0, lt=2**32)
    solver: str = param("tsit5", "integrator (gd: gradient descent with --dt)", choices=SOLVERS)
    rtol: float = param(1e-8, "relative tolerance", ge=1e-15, lt=1)
    atol: float = param(1e-12, "absolute tolerance", gt=0, lt=1)
    margin: float = param(1.0, "train until every margin ≥ m", gt=0)
    eps: float = param(0.1, "ε of the loss band", gt=0, lt=1)
    t_max: float = param(1e7, "give up (solver failure) if not fitted by this time", gt=0, le=1e15)
    dt: float | None = param(None, "gradient-descent step (solver gd)", kind=float, gt=0, lt=10,
                             none="none; required with --solver gd")

    def validate(self) -> None:
        super().validate()
        if self.n_samples % self.k:
            raise InputError(f"--n-samples must be a multiple of k={self.k}, got {self.n_samples}")
        if self.activation == "relu" and self.solver not in ("tsit5", "gd"):
            raise InputError(f"with --activation relu the exact (Filippov) flow runs on the event-driven tsit5; "
                             f"use --solver tsit5 (default) or gd, not {self.solver}")
        gd_needs_dt(self.solver, self.dt)
        fits_in_memory(8 * (self.n_samples * (self.d + self.r * self.width)
                            + self.r * (self.width + self.d + self.k) ** 2) * 8, "the data and the network")


GD_PHASE_TOL = 0.01  # gradient descent: largest relative change of the fit time when dt is halved


@dataclasses.dataclass
class DeepRun:
    """One trained network: θ(0), θ(T), T, data and solver statistics."""

    r: int
    delta: float
    bias: str
    data: object
    theta0: F.FState
    thetaT: F.FState
    T: float
    stats: object
    gd_change: float = float("nan")  # gradient descent only: relative change of T when dt is halved


@functools.lru_cache(maxsize=None)
def _fit_event(activation: str) -> Event:
    def fn(y, a):
        f = F.forward(y, a["X"], activation)
        return class_margins(f, a["Y"]).min() - a["margin"]

    return Event("fit", fn, terminal=True)


def make_data(p: DeepParams):
    return cluster_dataset(p.k, p.d, p.n_samples, p.noise, seed=stream(p.seed, 2))


def train(p: DeepParams, r: int, delta: float, bias: str = "last", data=None, check_step: bool = True) -> DeepRun:
    """Gradient flow from ``V_i(0) = δ·G_i/‖G_i‖`` to the first time every margin ≥ m. With
    gradient descent (and ``check_step``) the training is repeated at half the step and the
    relative change of the fit time T is kept (``gd_change``)."""
    jnp = _jax().numpy
    data = make_data(p) if data is None else data
    dims = [p.d] + [p.width] * (r - 1) + [p.k]
    rng = stream(p.seed, 1, r)
    theta0 = F.init_state(dims, delta, bias, seed=rng)
    args = dict(data.args(), margin=jnp.float64(p.margin))
    if p.activation == "relu" and p.solver != "gd":
        traj = solve_model_f(theta0, data.X, np.asarray(args["Y"]), p.t_max, bias=bias, margin=p.margin, rtol=p.rtol,
                             atol=p.atol, save_ts=save_grid(p.t_max, 50), max_steps=1_000_000)
    else:
        traj = solve(F.vector_field(p.activation, bias), theta0, p.t_max, args, solver=p.solver, rtol=p.rtol,
                     atol=p.atol, events=[_fit_event(p.activation)], save_ts=save_grid(p.t_max, 50),
                     max_steps=100_000, dt=p.dt)
    if traj.event_time("fit") is None:
        raise SolverError(f"Model F (r={r}, δ={delta:g}, bias={bias}) did not reach margin {p.margin} by "
                          f"t = {p.t_max:g}", t_reached=traj.t1)
    run = DeepRun(r, float(delta), bias, data, theta0, F.FState(*traj.events["fit"].y), traj.event_time("fit"),
                  traj.stats)
    if p.solver == "gd" and check_step:  # the step's accuracy: the same training at half the step
        half = train(dataclasses.replace(p, dt=p.dt / 2), r, delta, bias, data, check_step=False)
        run = dataclasses.replace(run, gd_change=abs(half.T - run.T) / run.T)
    return run


def gd_hypothesis(p: DeepParams, runs):
    """The gradient-descent accuracy hypothesis (``[]`` for an adaptive solver)."""
    from gflow.report import Hypothesis

    if p.solver != "gd":
        return []
    change = max(r.gd_change for r in runs)
    return [Hypothesis(f"numerics: gradient descent at dt = {p.dt:g} approximates the flow — rerun at dt/2, the "
                       f"relative change of the fit time T ≤ {GD_PHASE_TOL:g}", f"≤ {GD_PHASE_TOL:g}", change,
                       bool(change <= GD_PHASE_TOL))]


def mli(p: DeepParams, run: DeepRun, homogeneous: bool = False, power: int | None = None) -> MLI:
    """The interpolation path of a trained network; ``homogeneous``: biases of layer h
    interpolated as ``α^h b_h(T)`` (Section 5), the last layer being layer r (``power``
    replaces r for the last layer's bias)."""
    last = run.r if power is None else power
    power = None
    if homogeneous and run.bias != "none":
        power = {"b": last}
        if run.thetaT.c:
            power["c"] = tuple(range(1, run.r))
    return MLI(F.forward_fn(p.activation), run.theta0, run.thetaT, run.data.X, run.data.labels,
               bias_power=power)


def params_dict(p: DeepParams) -> dict:
    return p.to_dict()


def state_dict(theta: F.FState) -> dict:
    return {"V": [np.asarray(V).tolist() for V in theta.V], "b": np.asarray(theta.b).tolist(),
            "c": None if theta.c is None else [np.asarray(c).tolist() for c in theta.c]}
