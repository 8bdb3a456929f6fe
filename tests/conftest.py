import os

os.environ.setdefault("MPLBACKEND", "Agg")
# no silent broadcasting between arrays of different rank anywhere in gflow (inherited by the CLI and
# notebook subprocesses the tests start)
os.environ.setdefault("JAX_NUMPY_RANK_PROMOTION", "raise")

from gflow._config import jax  # noqa: E402

jax()  # float64 on before any test builds arrays

assert jax().config.jax_numpy_rank_promotion == "raise"
