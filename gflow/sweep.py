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

from .report import jsonable, write_atomic


def point_key(point: dict) -> str:
    return hashlib.sha1(json.dumps(jsonable(point), sort_keys=True).encode()).hexdigest()[:16]


def _store_one(store: Path, point: dict, result: dict) -> dict:
    row = {**jsonable(point), **jsonable(result)}
    write_atomic(store / f"{point_key(point)}.json", json.dumps(row).encode())
    return row


def _call(fn: Callable, point: dict) -> dict:
    return fn(**point)


def load(store: str | os.PathLike):
    """Every stored point of a sweep as a DataFrame."""
    import pandas as pd

    rows = [json.loads(p.read_text()) for p in sorted(Path(store).glob("*.json"))]
    return pd.DataFrame(rows)


def run_sweep(fn: Callable[..., dict], points: Sequence[dict], store: str | os.PathLike, *, executor: str = "serial",
              workers: int = 2, scheduler: str | None = None, dask_local: int | None = None,
              progress: Callable[[int, int], None] | None = None):
    """Run ``fn`` on every point not yet in ``store``; return the DataFrame of ``points``."""
    import pandas as pd

    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    done = {p.stem for p in store.glob("*.json")}
    todo = [p for p in points if point_key(p) not in done]
    n_total, n_done = len(points), len(points) - len(todo)
    if progress:
        progress(n_done, n_total)
    if todo:
        if executor == "serial":
            for point in todo:
                _store_one(store, point, fn(**point))
                n_done += 1
                if progress:
                    progress(n_done, n_total)
        elif executor == "processes":
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
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
                client = Client(scheduler)
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
