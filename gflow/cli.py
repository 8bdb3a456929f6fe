"""``gflow`` — the command line. Thin: parse, call the library, render, exit code.

Exit codes: 0 every claim holds; 1 a claim fails; 2 usage or input error; 3 solver failure.
JAX is imported only when a check runs, so ``gflow --help`` and ``gflow list`` are instant.
"""

from __future__ import annotations

import sys

import click

from . import __version__

# CLI option -> (Params field, parser). Each check accepts the options of its registry entry.
_FLOAT_LIST = "floats"
_INT_LIST = "ints"
OPTIONS = {
    "k": int, "r": int, "delta": _FLOAT_LIST, "sigma": float, "d": int, "n_samples": int, "seed": int,
    "init": str, "solver": str, "rtol": float, "atol": float, "dt": float, "horizon": float,
    "slope_tol": float, "mu0": float, "mu1": float, "mu2": float, "mu3": float, "margin": float, "gap": float,
    "eps": float, "c_alpha2": float, "c_alpha4": float,
    "c_w": float, "c_b": float, "mu": float, "c1": float, "c2": float, "c3": float, "n_states": int,
    "width": int, "noise": float, "activation": str, "t_max": float, "depths": _INT_LIST,
    "dataset": str, "n": int, "m": int, "lam": _FLOAT_LIST, "coords": str, "plateau_tol": float, "kink": float, "pl_radius": float,
    "n_grid": _INT_LIST, "dist": str, "reps": int,
    "dims": _INT_LIST, "refine": int, "segments": int, "stable_tol": float, "interp_tol": float, "full": "flag", "batch": "flag", "store": str, "executor": str, "scheduler": str, "dask_local": int,
}
HELP = {
    "k": "number of classes (≥ 2)", "r": "degree r of the homogeneous signal (integer ≥ 3)",
    "delta": "init scale δ, or a comma-separated list for the sweep", "sigma": "noise level σ (0: exact reduction)",
    "d": "input dimension", "n_samples": "number of samples N (a multiple of k)", "seed": "random seed",
    "init": "abs-gaussian (|N(0,δ²)|) or equal (W(0) = δ·1, a falsification setting)",
    "solver": "tsit5 (default), dopri5, dopri8, kvaerno5, gd, lsoda, radau, rk45; simplicity: exact (the Filippov flow, default) or gd",
    "rtol": "relative tolerance", "atol": "absolute tolerance", "dt": "gradient-descent step (solver gd)",
    "horizon": "solve to C_T·log(1/δ)/δ^(r−2)", "slope_tol": "tolerance on fitted log-log slopes",
    "mu0": "µ0: t_i = first time W_ii ≥ µ0", "mu1": "µ1: end of Stage 1 (W_ii ≥ µ1)",
    "mu2": "µ2: class learned when min u_i ≥ 1 − µ2", "mu3": "µ3: s_{i+1} = first time b_i − b_k ≤ −µ3",
    "margin": "m: T needs every margin ≥ m", "gap": "γ: T needs a bias gap ≥ γ",
    "eps": "ε of the loss band (0 < ε < 1)", "c_alpha2": "hidden constant C of α2's 1/(1 + C√δ)",
    "c_alpha4": "hidden constant C of α4's (1 + Cδ)",
    "c_w": "Lemmas 1–3: W_jj ≤ c_W·δ", "c_b": "Lemmas 1–2: b_j ≥ max b − c_B·δ^r",
    "mu": "Lemmas 1–2: |b_j' − b_j| ≥ µ·δ^r (default: 1.2× the proof's c_W^r)", "c1": "Lemma 3: 1 − u_j ≤ C1 on S_j",
    "c2": "Lemma 3: b_j − b_k ≥ −C2 (default: 0.9× the largest C2 the proof allows)",
    "n_states": "states sampled per δ or λ (bias_lemmas: from each hypothesis set; lemma5: from the ball)", "c3": "Lemma 3: ḃ_j − ḃ_k < −c3",
    "width": "Model F hidden width", "noise": "Model F data: cluster spread",
    "activation": "Model F activation: identity (default) or relu (the exact Filippov flow, or --solver gd)", "t_max": "Model F: give up training at this time",
    "depths": "plateau.trends: comma-separated depths (≥ 3)",
    "dataset": "orthogonal: two-point (the paper's example) or orthonormal", "n": "orthonormal: number of samples",
    "m": "Model R: number of neurons", "lam": "init scale λ, or a comma-separated list",
    "coords": "Model R coordinates: spherical (log-radius, default) or cartesian",
    "plateau_tol": "fact1: relative band around the saddle loss",
    "pl_radius": "lemma5: radius of the ball around θ* (default: min(λ^(ε/40), 0.9·ρ_max), derived)",
    "kink": "Model R: pre-activations within κ·‖w‖‖x‖ of 0 count as inactive (0: strict σ'(0) = 0)",
    "n_grid": "simplicity: comma-separated sample sizes N", "dist": "simplicity: law of x, gaussian, cone (Assumption 1) or skewed",
    "reps": "simplicity: independent draws per N (averaged)",
    "dims": "simplicity.threshold: comma-separated dimensions d",
    "refine": "simplicity.threshold: bisection rounds that narrow N* (geometric midpoints)",
    "segments": "simplicity.threshold: train up to this many t-max segments, until the loss is stable",
    "stable_tol": "simplicity.threshold: stable = train loss moves at most this (relative) over a segment",
    "interp_tol": "simplicity.threshold: the network interpolates when its train loss ≤ this·σ²/2 (defines N*)", "full": "simplicity.threshold: the paper-sized run",
    "store": "sweep directory: finished points are kept there and a rerun resumes",
    "executor": "sweep executor: serial, processes or dask",
    "scheduler": "dask scheduler ADDRESS to run the sweep on a cluster",
    "dask_local": "run the sweep on a dask LocalCluster of N workers",
    "batch": "simplicity.threshold: run the --reps draws of a point as one vmapped solve",
}


class _Exit(Exception):
    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


def _fail(code: int, message: str):
    click.echo(f"gflow: error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gflow")
def main():
    """Watch a theorem happen: gradient flows of small networks solved as ODEs, and the
    papers' claims checked row by row. Start with `gflow list`, then `gflow check theorem2`."""


@main.command("list")
def list_checks():
    """List every check id, its aliases and what it checks."""
    from theory_checks.registry import CHECKS

    width = max(len(c.id) for c in CHECKS)
    for c in CHECKS:
        alias = f"  (alias: {', '.join(c.aliases)})" if c.aliases else ""
        click.echo(f"{c.id:<{width}}  {c.description}{alias}")


def _options(f):
    for name in reversed(list(OPTIONS)):
        if OPTIONS[name] == "flag":
            f = click.option(f"--{name.replace('_', '-')}", name, is_flag=True, default=None, help=HELP[name])(f)
        else:
            f = click.option(f"--{name.replace('_', '-')}", name, default=None, type=str, help=HELP[name])(f)
    return f


def _parse(name: str, text: str):
    kind = OPTIONS[name]
    if kind == "flag":
        return bool(text)
    try:
        if kind in (_FLOAT_LIST, _INT_LIST):
            vals = tuple((float if kind == _FLOAT_LIST else int)(v) for v in text.split(",") if v.strip())
            if not vals:
                raise ValueError
            return vals
        return kind(text)
    except ValueError:
        raise _Exit(2, f"--{name.replace('_', '-')}: cannot read {text!r} as "
                       f"{'comma-separated numbers' if kind in (_FLOAT_LIST, _INT_LIST) else kind.__name__}") from None


@main.command("check")
@click.argument("check_id")
@_options
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False), help="write the report as JSON")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), help="save the check's figure")
@click.option("--quiet", is_flag=True, help="no tables, only the verdict line")
def check(check_id, json_path, plot_path, quiet, **given):
    """Run check CHECK_ID (see `gflow list`) and print its claim rows."""
    try:
        code = _run_check(check_id, json_path, plot_path, quiet, given)
    except _Exit as e:
        _fail(e.code, e.message)
    sys.exit(code)


def _run_check(check_id, json_path, plot_path, quiet, given) -> int:
    import dataclasses

    from rich.console import Console

    from .errors import GflowError, InputError, SolverError

    try:
        from theory_checks.registry import get

        spec = get(check_id)
        supplied = {k: v for k, v in given.items() if v is not None}
        bad = sorted(set(supplied) - set(spec.options))
        if bad:
            raise _Exit(2, f"{spec.id} does not take {', '.join('--' + b.replace('_', '-') for b in bad)}")
        values = {k: _parse(k, v) for k, v in supplied.items()}
        if values.get("executor") == "dask" or values.get("scheduler") or values.get("dask_local"):
            values["executor"] = "dask"
        module = spec.load()
        params = dataclasses.replace(module.Params(), **values)
        params.validate()
        err = Console(stderr=True)
        report = _with_progress(module, params, err)
        if json_path:
            report.write_json(json_path)
        if plot_path:
            if not hasattr(module, "plot"):
                raise _Exit(2, f"{spec.id} has no figure")
            module.plot(report, plot_path)
    except InputError as e:
        raise _Exit(2, str(e)) from None
    except SolverError as e:
        raise _Exit(3, str(e)) from None
    except GflowError as e:
        raise _Exit(e.exit_code, str(e)) from None
    from .report import render, summary_line

    out = Console()
    if quiet:
        out.print(f"{report.check}: {summary_line(report)}", markup=False)
    else:
        render(report, out)
    if json_path:
        out.print(f"report written to {json_path}")
    if plot_path:
        out.print(f"figure written to {plot_path}")
    return 0 if report.passed else 1


@main.command("sweep")
@click.argument("check_id")
@click.option("--grid", "grid", multiple=True, required=True,
              help="NAME=V1,V2,… a parameter of the check and its values (repeat for a product grid)")
@click.option("--seeds", default="0", help="comma-separated seeds (each grid point runs once per seed)")
@click.option("--store", required=True, type=click.Path(file_okay=False), help="directory: one file per finished point; a rerun resumes")
@click.option("--executor", default="processes", type=click.Choice(["serial", "processes", "dask"]))
@click.option("--workers", default=2, type=int, help="local processes (or LocalCluster workers)")
@click.option("--scheduler", default=None, help="dask scheduler ADDRESS (implies --executor dask)")
@click.option("--dask-local", "dask_local", default=None, type=int, help="run on a dask LocalCluster of N workers")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False), help="write the table as CSV")
def sweep(check_id, grid, seeds, store, executor, workers, scheduler, dask_local, csv_path):
    """Run CHECK_ID on a grid of parameters (and seeds), in parallel, resumable; print the table.

    Example: gflow sweep theorem2 --grid r=3,4 --grid delta=0.1,0.05 --seeds 0,1 --store runs/"""
    try:
        import itertools

        from theory_checks.registry import get

        spec = get(check_id)
        axes = []
        for item in grid:
            name, _, values = item.partition("=")
            name = name.strip().lstrip("-").replace("-", "_")
            if name not in spec.options or not values:
                raise _Exit(2, f"--grid {item!r}: {spec.id} takes {', '.join(sorted(spec.options))}")
            kind = OPTIONS[name]
            if kind in (_FLOAT_LIST, _INT_LIST):  # a list-valued option: each value is one point
                vals = [_parse(name, v) for v in values.split(",")]
            else:
                vals = [_parse(name, v) for v in values.split(",")]
            axes.append([(name, v) for v in vals])
        seed_list = [int(s) for s in seeds.split(",")]
        if "seed" not in spec.options:
            seed_list = [None]
        points = []
        for combo in itertools.product(*axes):
            for seed in seed_list:
                point = {"check": spec.id, **{k: list(v) if isinstance(v, tuple) else v for k, v in combo}}
                if seed is not None:
                    point["seed"] = seed
                points.append(point)
    except ValueError as e:
        raise _Exit(2, str(e)) from None
    except _Exit as e:
        _fail(e.code, e.message)
    from rich.console import Console
    from rich.progress import Progress

    from theory_checks.sweep_point import run_check

    from .errors import GflowError
    from .sweep import run_sweep

    if scheduler or dask_local:
        executor = "dask"
    try:
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"sweep {spec.id}", total=len(points))
            df = run_sweep(run_check, points, store, executor=executor, workers=workers, scheduler=scheduler,
                           dask_local=dask_local, progress=lambda i, n: bar.update(task, completed=i))
    except GflowError as e:
        _fail(e.exit_code, str(e))
    except Exception as e:  # a worker's failure: one line, not a remote traceback
        _fail(1, f"a sweep point failed: {type(e).__name__}: {e}")
    from rich.table import Table

    table = Table(title=f"{spec.id}: {len(df)} points (stored in {store})")
    cols = [c for c in df.columns if c != "check" and not c.endswith(".measured")]
    for c in cols:
        table.add_column(c)
    for _, row in df.iterrows():
        table.add_row(*[str(row[c]) for c in cols])
    Console().print(table)
    if csv_path:
        from .report import write_atomic

        write_atomic(csv_path, df.to_csv(index=False).encode())
    sys.exit(0 if bool(df["passed"].all()) else 1)


@main.group("solve")
def solve_group():
    """Solve a network's gradient flow from your own files."""


@solve_group.command("relu2")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False),
              help="D.npz with X (n, d) and y (n)")
@click.option("--init", "init_path", required=True, type=click.Path(dir_okay=False),
              help="I.npz with W (m, d) and a (m); balanced (|a_j| = ‖w_j‖): log-radius coordinates")
@click.option("--t1", required=True, type=float, help="final time")
@click.option("--save-ts", "save_ts_path", default=None, type=click.Path(dir_okay=False),
              help="text file of save times, one per line")
@click.option("--save", "n_save", default=None, type=int, help="save at N log-spaced (and N/4 even) times")
@click.option("--solver", default="tsit5", help="tsit5 (exact Filippov flow, default) or gd (with --dt)")
@click.option("--convention", default="filippov", type=click.Choice(["filippov", "sigma0"]),
              help="filippov: crossings and sliding; sigma0: σ'(0) = 0 literally (may stall on general data)")
@click.option("--rtol", default=1e-6, type=float, help="relative tolerance")
@click.option("--atol", default=1e-9, type=float, help="absolute tolerance")
@click.option("--dt", default=None, type=float, help="gradient-descent step (solver gd)")
@click.option("--bias", is_flag=True, help="add a trained bias (input [x, 1]; W then has d + 1 columns)")
@click.option("--locate-all", is_flag=True,
              help="stop at every crossing instead of absorbing crossings into steps (a cross-check)")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False), help="write the result as JSON")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), help="save a figure (png, pdf, svg)")
def solve_relu2_cmd(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol, dt, bias,
                    locate_all, json_path, plot_path):
    """The gradient flow of a two-layer ReLU network (square loss) from D.npz and I.npz."""
    try:
        code = _run_solve_relu2(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol,
                                dt, bias, json_path, plot_path, absorb=not locate_all)
    except _Exit as e:
        _fail(e.code, e.message)
    sys.exit(code)


def _writable(path, what):
    import os
    from pathlib import Path

    parent = Path(path).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK) or Path(path).is_dir():
        raise _Exit(2, f"cannot write the {what} to {path}")


def _run_solve_relu2(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol, dt, bias,
                     json_path, plot_path, absorb: bool = True) -> int:
    import json

    import numpy as np
    from rich.console import Console

    from .errors import GflowError, InputError, SolverError

    if save_ts_path and n_save:
        raise _Exit(2, "give --save-ts or --save, not both")
    if n_save is not None and n_save < 2:
        raise _Exit(2, f"--save needs N ≥ 2, got {n_save}")
    for p, what in ((json_path, "JSON"), (plot_path, "figure")):
        if p:
            _writable(p, what)
    err = Console(stderr=True)
    try:
        from ._solve import save_grid
        from .models import relu2_exact as RX

        if not (np.isfinite(t1) and t1 > 0):
            raise InputError(f"--t1 must be a finite time > 0, got {t1}")
        X, y, W, a = RX.load_problem(data_path, init_path)
        if bias and W.shape[1] != X.shape[1] + 1:
            raise InputError(f"--bias needs W with d + 1 = {X.shape[1] + 1} columns, got {W.shape[1]}")
        ts = RX.read_times(save_ts_path, t1) if save_ts_path else save_grid(t1, n_save or 200)
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                      transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("compiling and solving", total=1.0)
            traj = RX.solve_relu2(X, y, W, a, t1, bias=bias, convention=convention, solver=solver, rtol=rtol,
                                  atol=atol, dt=dt, save_ts=ts, absorb=absorb,
                                  progress=lambda t, T: bar.update(task, completed=t / T, description=f"t = {t:.4g}"))
        out = RX.result_dict(X, y, traj, bias=bias)
        if json_path:
            from .report import write_atomic

            write_atomic(json_path, json.dumps(out).encode())
        if plot_path:
            from .plotting import relu2_flow

            relu2_flow(out["ts"], out["loss"], traj, plot_path)
    except InputError as e:
        raise _Exit(2, str(e)) from None
    except SolverError as e:
        raise _Exit(3, str(e)) from None
    except GflowError as e:
        raise _Exit(e.exit_code, str(e)) from None
    con = Console()
    s = out["solver"]
    sw = "" if s.get("crossings") is None else (
        f"; {s['crossings']} crossings ({s['crossings_absorbed']} absorbed into {s['absorbed_steps']} steps), "
        f"{s['slide_entries']} sliding entries, {s['slide_exits']} exits, "
        f"{s['sliding_time']:.4g} time units with a pair sliding ({s['coords']} coordinates)")
    con.print(f"relu2: n = {X.shape[0]}, d = {X.shape[1]}, m = {W.shape[0]}, t1 = {t1:g}: loss {out['loss'][0]:.6g} → "
              f"{out['loss'][-1]:.6g}", markup=False)
    step = f"step {s['step']:g}" if s.get("step") else f"rtol {s['rtol']:g}, atol {s['atol']:g}"
    con.print(f"solver {s['name']} ({s['convention']}), {step}: {s['steps']} steps, {s['rejected']} rejected, "
              f"{s['rhs_evals']} field evaluations, {s['wall_s']:.2f} s (+ {s['compile_s']:.2f} s compile){sw}",
              markup=False)
    if json_path:
        con.print(f"result written to {json_path}")
    if plot_path:
        con.print(f"figure written to {plot_path}")
    return 0


def _with_progress(module, params, console):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                  transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("compiling and solving", total=1.0)

        def progress(i, n, t, t1):
            bar.update(task, completed=(i + min(t / t1, 1.0)) / n, description=f"solving {i + 1}/{n}")

        return module.run(params, progress=progress)


if __name__ == "__main__":  # pragma: no cover
    main()
