"""Process-wide numerical configuration, applied once before JAX is used.

* float64 everywhere (``jax_enable_x64``);
* JAX's persistent compilation cache in a user cache directory, so a second
  ``gflow check`` does not pay the compile time again;
* single-threaded Eigen on the CPU: on small dense problems a multi-threaded
  pool made identical solves 3 s to 70 s on 2 cores (``shared/spec/MEASURED.md``,
  measured again in ``benchmarks/threads.py``). Set ``GFLOW_XLA_THREADS=1`` to
  keep XLA's own default instead.

Nothing here imports JAX at module import time: the CLI imports this module to
answer ``gflow --help`` instantly, and calls :func:`jax` only when it solves.
"""

from __future__ import annotations

import os
from pathlib import Path

_SINGLE_THREAD_FLAGS = (
    "--xla_cpu_multi_thread_eigen=false",
    "intra_op_parallelism_threads=1",
)

_configured = False


def cache_dir() -> Path:
    """Directory of the persistent compilation cache (``$GFLOW_CACHE_DIR`` wins)."""
    env = os.environ.get("GFLOW_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gflow" / "jax"


def _set_xla_flags() -> None:
    if os.environ.get("GFLOW_XLA_THREADS") == "1":
        return
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f for f in _SINGLE_THREAD_FLAGS if f.split("=")[0] not in flags]
    if extra:
        os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()


def jax():
    """Import, configure and return the ``jax`` module (idempotent)."""
    global _configured
    if not _configured:
        _set_xla_flags()
        os.environ.setdefault("EQX_ON_ERROR", "nan")
        import jax as _jax

        _jax.config.update("jax_enable_x64", True)
        try:
            path = cache_dir()
            path.mkdir(parents=True, exist_ok=True)
            _jax.config.update("jax_compilation_cache_dir", str(path))
            _jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
            _jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except OSError:  # read-only home: run without the persistent cache
            pass
        _configured = True
        return _jax
    import jax as _jax

    return _jax
