"""Benchmark: the simplicity.threshold sweep's wall time, serial vs local processes vs a Dask
LocalCluster (each on a fresh store, so every point is computed). Run by hand:
python benchmarks/threshold_sweep.py"""

from __future__ import annotations

import tempfile
import time

from theory_checks.simplicity import threshold


def main():
    base = dict(dims=(3, 5), n_grid=(10, 30, 100, 300, 1000), m=100)  # the CI-sized default
    times = {}
    for label, kw in (("serial", dict(executor="serial")), ("2 local processes", dict(executor="processes")),
                      ("Dask LocalCluster, 2 workers", dict(executor="dask", dask_local=2))):
        with tempfile.TemporaryDirectory() as store:
            t = time.perf_counter()
            rep = threshold.run(threshold.Params(**base, **kw, store=store))
            times[label] = time.perf_counter() - t
        print(f"{label:>30}: {times[label]:6.1f} s  ({times['serial'] / times[label]:.2f}× serial)  passed={rep.passed}")


if __name__ == "__main__":
    main()
