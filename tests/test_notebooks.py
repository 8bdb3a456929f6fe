"""The notebooks run top to bottom (small sizes via GFLOW_NOTEBOOK_SMALL=1)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(nb, tmp_path):
    env = dict(os.environ, GFLOW_NOTEBOOK_SMALL="1")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbmake", str(nb), "-p", "no:cacheprovider",
                          "-o", "addopts=", "--rootdir", str(tmp_path)], cwd=nb.parent, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
