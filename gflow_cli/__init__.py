"""``gflow`` — the command line, on top of the library (:mod:`gflow`) and the checks (:mod:`theory_checks`).
Thin: parse, validate, call, render, exit code.

Every check is a subcommand of ``gflow check`` whose options derive from its ``Params`` declaration
(:mod:`gflow.params`), so ``gflow check ID --help`` lists that check's options only. Every user mistake
is one line on stderr and exit 2, before any computation.

Exit codes: 0 every claim holds; 1 a claim fails; 2 usage or input error; 3 solver failure;
130 interrupted. JAX is imported only when a check runs, so ``gflow --help`` and ``gflow list`` are instant.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

import click

from gflow import __version__

EXIT_INTERRUPT = 130


class _Exit(Exception):
    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


def _fail(code: int, message: str):
    click.echo(f"gflow: error: {message}", err=True)
    sys.exit(code)


# --- interrupts: Ctrl-C always ends the run with 130, even if a library swallowed the KeyboardInterrupt.
_INTERRUPTED = False


def _on_sigint(signum, frame):
    global _INTERRUPTED
    if _INTERRUPTED:          # a second Ctrl-C: leave now
        os._exit(EXIT_INTERRUPT)
    _INTERRUPTED = True
    raise KeyboardInterrupt


def _interrupted() -> None:
    """Exit 130 at once: no interpreter teardown, which can crash inside XLA's threads mid-compile."""
    click.echo("gflow: interrupted", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPT)


class _Gflow(click.Group):
    """The top group: click's usage errors as one line and exit 2, interrupts as exit 130."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        global _INTERRUPTED
        _INTERRUPTED = False
        previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:    # not the main thread (a test runner): keep Python's handler
            previous = None
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.UsageError as e:
            msg = " ".join(e.format_message().split())
            cmd = e.ctx.command_path if e.ctx is not None else "gflow"
            _fail(2, f"{msg} (see `{cmd} --help`)")
        except (KeyboardInterrupt, click.Abort):
            _interrupted()
        except click.ClickException as e:
            _fail(e.exit_code, " ".join(e.format_message().split()))
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if _INTERRUPTED:
            _interrupted()
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Gflow, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gflow")
def main():
    """Watch a theorem happen: gradient flows of small networks solved as ODEs, and the
    papers' claims checked row by row. Start with `gflow list`, then `gflow check theorem2`."""


@main.command("list")
def list_checks():
    """List every check id, its aliases and what it checks."""
    from theory_checks.registry import all_checks

    checks = all_checks()
    width = max(len(c.id) for c in checks)
    for c in checks:
        alias = f"  (alias: {', '.join(c.aliases)})" if c.aliases else ""
        click.echo(f"{c.id:<{width}}  {c.description}{alias}")


def _check_outputs(json_path, plot_path, figure_ok=True):
    from gflow._io import check_distinct, check_file

    try:
        if json_path is not None:
            check_file(json_path, "JSON report")
        if plot_path is not None:
            check_file(plot_path, "figure", figure=True)
        check_distinct({"JSON report": json_path, "figure": plot_path})
    except Exception as e:
        raise _Exit(2, str(e)) from None


def _single(name: str, values: tuple):
    """One value of an option (click collects repeats: a repeated option is a mistake, not 'the last wins')."""
    if len(values) > 1:
        raise _Exit(2, f"--{name.replace('_', '-')} given {len(values)} times ({', '.join(map(str, values))}): "
                       "give it once (lists are comma-separated)")
    return values[0] if values else None


class _Checks(click.Group):
    """``gflow check ID``: one subcommand per registered check, its options from the check's Params."""

    def list_commands(self, ctx):
        from theory_checks.registry import all_checks

        return [c.id for c in all_checks()]

    def get_command(self, ctx, name):
        from theory_checks.registry import lookup

        spec = lookup(name)
        if spec is None:
            raise click.UsageError(f"unknown check id {name!r}; `gflow list` shows the ids", ctx)
        return _check_command(spec)

    def format_commands(self, ctx, formatter):
        from theory_checks.registry import all_checks

        with formatter.section("Checks"):
            formatter.write_dl([(c.id, c.description) for c in all_checks()])


def _check_command(spec) -> click.Command:
    from gflow.params import declarations, option_name

    module = spec.load()
    options = []
    for name, (p, default) in declarations(module.Params).items():
        if p.kind is bool:
            options.append(click.Option([option_name(name), name], is_flag=True, default=None, show_default=False,
                                        help=p.help_line(default)))
        else:
            options.append(click.Option([option_name(name), name], multiple=True, type=str, show_default=False,
                                        metavar=p.metavar(), help=p.help_line(default)))
    options += [
        click.Option(["--json", "json_path"], multiple=True, type=str, metavar="PATH", help="write the report as JSON"),
        click.Option(["--plot", "plot_path"], multiple=True, type=str, metavar="PATH",
                     help="save the check's figure (.png, .pdf, .svg, …)"),
        click.Option(["--quiet"], is_flag=True, help="no tables, only the verdict line"),
    ]
    doc = f"{spec.description}" + (f"  (alias: {', '.join(spec.aliases)})" if spec.aliases else "")
    return click.Command(spec.id, params=options, callback=functools.partial(_check_main, spec, module), help=doc,
                         context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})


@main.group("check", cls=_Checks)
def check():
    """Run a check (see `gflow list`) and print its claim rows; `gflow check ID --help` lists its options."""


def _check_main(spec, module, json_path, plot_path, quiet, **given):
    try:
        code = _run_check(spec, module, _single("json", json_path), _single("plot", plot_path), quiet, given)
    except _Exit as e:
        _fail(e.code, e.message)
    sys.exit(code)


def params_from_cli(module, given: dict):
    """The check's Params from the command line's texts (raises InputError, or _Exit for repeats)."""
    from gflow.params import declarations

    decl = declarations(module.Params)
    texts = {}
    for name, value in given.items():
        if decl[name][0].kind is bool:
            if value is not None:
                texts[name] = value
        elif value:
            texts[name] = _single(name, value)
    return module.Params.from_options(texts)


def _run_check(spec, module, json_path, plot_path, quiet, given) -> int:
    from rich.console import Console

    from gflow.errors import GflowError, InputError, SolverError

    try:
        params = params_from_cli(module, given)
        _check_outputs(json_path, plot_path)
        if plot_path and not hasattr(module, "plot"):
            raise _Exit(2, f"{spec.id} has no figure")
        err = Console(stderr=True)
        report = _with_progress(module, params, err)
        if _INTERRUPTED:
            _interrupted()
        if json_path:
            report.write_json(json_path)
        if plot_path:
            module.plot(report, plot_path)
    except InputError as e:
        raise _Exit(2, f"{spec.id}: {e}") from None
    except SolverError as e:
        raise _Exit(3, str(e)) from None
    except GflowError as e:
        raise _Exit(e.exit_code, str(e)) from None
    from gflow.report import render, summary_line

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
@click.option("--seeds", default=None, help="comma-separated seeds (each grid point runs once per seed; default 0)")
@click.option("--store", required=True, help="directory: one file per finished point; a rerun resumes")
@click.option("--executor", default="processes", type=click.Choice(["serial", "processes", "dask"]))
@click.option("--workers", default=2, type=click.IntRange(1, 256), help="local processes (or LocalCluster workers)")
@click.option("--scheduler", default=None, help="dask scheduler ADDRESS (implies --executor dask)")
@click.option("--dask-local", "dask_local", default=None, type=click.IntRange(1, 256),
              help="run on a dask LocalCluster of N workers")
@click.option("--csv", "csv_path", default=None, help="write the table as CSV")
def sweep(check_id, grid, seeds, store, executor, workers, scheduler, dask_local, csv_path):
    """Run CHECK_ID on a grid of parameters (and seeds), in parallel, resumable; print the table.

    Example: gflow sweep theorem2 --grid r=3,4 --grid delta=0.1,0.05 --seeds 0,1 --store runs/"""
    try:
        spec, points, executor = _sweep_points(check_id, grid, seeds, store, executor, scheduler, dask_local, csv_path)
    except _Exit as e:
        _fail(e.code, e.message)
    from rich.console import Console
    from rich.progress import Progress

    from gflow.errors import GflowError
    from gflow.sweep import SweepPointError, run_sweep
    from theory_checks.sweep_point import run_check

    try:
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"sweep {spec.id}", total=len(points))
            df = run_sweep(run_check, points, store, executor=executor, workers=workers, scheduler=scheduler,
                           dask_local=dask_local, progress=lambda i, n: bar.update(task, completed=i),
                           warn=lambda msg: Console(stderr=True).print(f"gflow: warning: {msg}", markup=False))
    except SweepPointError as e:
        _fail(e.exit_code, str(e))
    except GflowError as e:
        _fail(e.exit_code, str(e))
    if _INTERRUPTED:
        _interrupted()
    from rich.table import Table

    table = Table(title=f"{spec.id}: {len(df)} points (stored in {store})")
    cols = [c for c in df.columns if c != "check" and not c.endswith(".measured")]
    for c in cols:
        table.add_column(c)
    for _, row in df.iterrows():
        table.add_row(*[str(row[c]) for c in cols])
    Console().print(table)
    if csv_path:
        from gflow.report import write_atomic

        write_atomic(csv_path, df.to_csv(index=False).encode())
    sys.exit(0 if bool(df["passed"].all()) else 1)


def _sweep_points(check_id, grid, seeds, store, executor, scheduler, dask_local, csv_path):
    """Parse and validate a sweep completely (every point's Params built) before anything runs."""
    import itertools

    from gflow._io import check_dir, check_file
    from gflow.errors import InputError
    from gflow.params import declarations, format_value, option_name, parse
    from theory_checks.registry import get

    try:
        spec = get(check_id)
        module = spec.load()
        decl = declarations(module.Params)
        axes, names = [], []
        for item in grid:
            name, eq, values = item.partition("=")
            name = name.strip().lstrip("-").replace("-", "_")
            if not eq or name not in decl or not values.strip():
                raise _Exit(2, f"--grid {item!r}: give NAME=V1,V2,… with NAME one of {', '.join(sorted(decl))}")
            if name in names:
                raise _Exit(2, f"--grid names {name} twice: give all its values in one --grid {name}=V1,V2,…")
            names.append(name)
            # each value is one point (for a list-valued parameter: a one-element list)
            vals = [parse(module.Params, name, v) for v in values.split(",")]
            if len(set(vals)) != len(vals):
                raise _Exit(2, f"--grid {item!r} repeats a value: each point must be distinct")
            axes.append([(name, v) for v in vals])
        if "seed" in names and seeds is not None:
            raise _Exit(2, "--seeds and --grid seed=… conflict: give the seeds once")
        if seeds is not None and "seed" not in decl:
            raise _Exit(2, f"{spec.id} takes no seed: drop --seeds")
        seed_list = [None]
        if "seed" in decl and "seed" not in names:
            seeds_cls = _seeds_params()
            seed_list = list(seeds_cls(seeds=parse(seeds_cls, "seeds", seeds if seeds is not None else "0")).seeds)
        if scheduler and dask_local:
            raise _Exit(2, "--scheduler and --dask-local conflict: give one")
        if (scheduler or dask_local) and executor not in ("processes", "dask"):
            raise _Exit(2, f"--scheduler and --dask-local run on dask; they conflict with --executor {executor}")
        if scheduler or dask_local:
            executor = "dask"
        check_dir(store, "store directory")
        if csv_path is not None:
            check_file(csv_path, "CSV table")
        if scheduler:
            _reachable(scheduler)
        points = []
        for combo in itertools.product(*axes):
            for seed in seed_list:
                values = dict(combo) | ({} if seed is None else {"seed": seed})
                try:
                    module.Params(**values)
                except InputError as e:
                    where = ", ".join(f"{option_name(k)} {format_value(v)}" for k, v in values.items())
                    raise InputError(f"sweep point {where}: {e}") from None
                points.append({"check": spec.id, **{k: list(v) if isinstance(v, tuple) else v
                                                   for k, v in values.items()}})
    except InputError as e:
        raise _Exit(2, str(e)) from None
    return spec, points, executor


def _reachable(address: str) -> None:
    """Refuse a dask scheduler address nothing answers at (5 s), before the sweep starts."""
    import socket
    from urllib.parse import urlparse

    from gflow.errors import InputError

    u = urlparse(address if "://" in address else f"tcp://{address}")
    try:
        host, port = u.hostname, u.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise InputError(f"--scheduler {address!r}: give HOST:PORT (e.g. tcp://10.0.0.5:8786)")
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise InputError(f"--scheduler {address}: cannot reach a dask scheduler there ({e.strerror or e})") from None


def _seeds_params():
    import dataclasses

    from gflow.params import ParamSet, param

    @dataclasses.dataclass(frozen=True)
    class Seeds(ParamSet):
        seeds: tuple = param((0,), "seeds", ge=0, lt=2**32)

    return Seeds


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
@click.option("--no-decoupled", is_flag=True,
              help="integrate the early phase (output ≪ labels) instead of following each neuron in closed form")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False), help="write the result as JSON")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), help="save a figure (png, pdf, svg)")
def solve_relu2_cmd(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol, dt, bias,
                    locate_all, no_decoupled, json_path, plot_path):
    """The gradient flow of a two-layer ReLU network (square loss) from D.npz and I.npz."""
    try:
        code = _run_solve_relu2(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol,
                                dt, bias, json_path, plot_path, absorb=not locate_all, decoupled=not no_decoupled)
    except _Exit as e:
        _fail(e.code, e.message)
    sys.exit(code)


def _run_solve_relu2(data_path, init_path, t1, save_ts_path, n_save, solver, convention, rtol, atol, dt, bias,
                     json_path, plot_path, absorb: bool = True, decoupled: bool = True) -> int:
    import json

    import numpy as np
    from rich.console import Console

    from gflow.errors import GflowError, InputError, SolverError

    if save_ts_path and n_save:
        raise _Exit(2, "give --save-ts or --save, not both")
    if n_save is not None and n_save < 2:
        raise _Exit(2, f"--save needs N ≥ 2, got {n_save}")
    _check_outputs(json_path, plot_path)
    err = Console(stderr=True)
    try:
        from gflow._solve import save_grid
        from gflow.models import relu2_exact as RX

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
                                  atol=atol, dt=dt, save_ts=ts, absorb=absorb, decoupled=decoupled,
                                  progress=lambda t, T: bar.update(task, completed=t / T, description=f"t = {t:.4g}"))
        out = RX.result_dict(X, y, traj, bias=bias)
        if json_path:
            from gflow.report import write_atomic

            write_atomic(json_path, json.dumps(out).encode())
        if plot_path:
            from gflow.plotting import relu2_flow

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
    if s.get("decoupled_until"):
        sw += (f"; closed form (decoupled neurons, output ≤ {s['decoupled_tau']:.0e}·max|y|) to "
               f"t = {s['decoupled_until']:.4g}: {s['decoupled_evals']} of the evaluations")
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
            if _INTERRUPTED:
                raise KeyboardInterrupt
            bar.update(task, completed=(i + min(t / t1, 1.0)) / n, description=f"solving {i + 1}/{n}")

        return module.run(params, progress=progress)


if __name__ == "__main__":  # pragma: no cover
    main()
