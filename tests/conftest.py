import os

os.environ.setdefault("MPLBACKEND", "Agg")

from gflow._config import jax  # noqa: E402

jax()  # float64 on before any test builds arrays
