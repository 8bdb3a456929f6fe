"""Sweeps: a grid of points, each one a full solve, run in parallel and stored as it finishes.

``run_sweep(fn, points, store)`` calls ``fn(**point) -> dict`` for every point (a dict of
parameters, e.g. ``{"d": 5, "n": 300, "seed": 0}``). Each finished point is written at once to
``store/<key>.json`` (atomically: temp file, then rename), where the key is a hash of the point.
A sweep that is killed and restarted skips every point already on disk: nothing finished is
lost or recomputed. The result is a :class:`pandas.DataFrame`, one row per point, the point's
parameters and the function's outputs as columns.

Executors: ``"serial"``; ``"processes"`` (local processes, spawned so each has its own JAX);
``"dask"`` with ``scheduler=ADDRESS`` (an existing ``dask.distributed`` cluster) or
``dask_local=N`` (a LocalCluster of N workers), for sweeps that outgrow one machine.
``fn`` must be importable by name (a module-level function) for the process and Dask executors.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from .errors import GflowError
from .report import jsonable, write_atomic


class SweepPointError(GflowError):
    """A point of a sweep failed: named by its parameters; the exit code is its error's (3 for anything
    that is not the user's input)."""

    def __init__(self, message: str, exit_code: int = 3):
        super().__init__(message, exit_code)
        self.exit_code = exit_code

    def __str__(self) -> str:
        return str(self.args[0])

    @classmethod
    def of(cls, point: dict, error: BaseException) -> SweepPointError:
        where = ", ".join(f"{k}={v}" for k, v in point.items() if k != "check")
        what = str(error) if isinstance(error, GflowError) else f"{type(error).__name__}: {error}"
        return cls(f"sweep point {where} failed: {what}", error.exit_code if isinstance(error, GflowError) else 3)


def _die_with_parent() -> None:
    """Worker initializer (Linux): the kernel ends this process when its parent dies, so a killed
    sweep leaves no workers behind."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
        except OSError:
            pass


def _stored(path: Path) -> dict | None:
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return row if isinstance(row, dict) else None


def point_key(point: dict) -> str:
    return hashlib.sha1(json.dumps(jsonable(point), sort_keys=True).encode()).hexdigest()[:16]


def _store_one(store: Path, point: dict, result: dict) -> dict:
    row = {**jsonable(point), **jsonable(result)}
    write_atomic(store / f"{point_key(point)}.json", json.dumps(row).encode())
    return row


def _call(fn: Callable, point: dict) -> dict:
    try:
        return fn(**point)
    except SweepPointError:
        raise
    except Exception as e:
        raise SweepPointError.of(point, e) from None


def load(store: str | os.PathLike):
    """Every stored point of a sweep as a DataFrame."""
    import pandas as pd

    rows = [r for p in sorted(Path(store).glob("*.json")) if (r := _stored(p)) is not None]
    return pd.DataFrame(rows)


def run_sweep(fn: Callable[..., dict], points: Sequence[dict], store: str | os.PathLike, *, executor: str = "serial",
              workers: int = 2, scheduler: str | None = None, dask_local: int | None = None,
              progress: Callable[[int, int], None] | None = None, warn: Callable[[str], None] | None = None):
    """Run ``fn`` on every point not yet in ``store``; return the DataFrame of ``points``.

    A stored file that cannot be read back (cut short, edited) is named through ``warn`` and its
    point recomputed. A failing point raises :class:`SweepPointError` naming its parameters."""
    import pandas as pd

    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    done = set()
    for path in store.glob("*.json"):
        if _stored(path) is None:
            if warn:
                warn(f"stored point {path} is corrupt: recomputing it")
            path.unlink(missing_ok=True)
        else:
            done.add(path.stem)
    todo = [p for p in points if point_key(p) not in done]
    n_total, n_done = len(points), len(points) - len(todo)
    if progress:
        progress(n_done, n_total)
    if todo:
        if executor == "serial":
            for point in todo:
                _store_one(store, point, _call(fn, point))
                n_done += 1
                if progress:
                    progress(n_done, n_total)
        elif executor == "processes":
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                     initializer=_die_with_parent) as pool:
                futures = {pool.submit(_call, fn, point): point for point in todo}
                for fut in as_completed(futures):
                    _store_one(store, futures[fut], fut.result())
                    n_done += 1
                    if progress:
                        progress(n_done, n_total)
        elif executor == "dask":
            from dask.distributed import Client, LocalCluster, as_completed as dask_completed

            cluster = None
            if scheduler is None:
                cluster = LocalCluster(n_workers=dask_local or workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler, timeout="10s")
                except OSError as e:
                    from .errors import InputError

                    raise InputError(f"cannot reach the dask scheduler at {scheduler}: {e}") from None
            try:
                futures = {client.submit(_call, fn, point, pure=False): i for i, point in enumerate(todo)}
                for fut in dask_completed(list(futures)):
                    _store_one(store, todo[futures[fut]], fut.result())
                    n_done += 1
                    if progress:
                        progress(n_done, n_total)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        else:
            from .errors import InputError

            raise InputError(f"unknown executor {executor!r}: serial, processes or dask")
    keys = [point_key(p) for p in points]
    rows = [json.loads((store / f"{k}.json").read_text()) for k in keys]
    return pd.DataFrame(rows)
