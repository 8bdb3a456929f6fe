"""README's "Add a check": one module plus one registration, and the check runs through `gflow check`
(its own --help), `gflow sweep` and the JSON report like the built-in ones."""

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from gflow_cli import main
from theory_checks import registry

TOY = '''
import dataclasses

from gflow.params import ParamSet, param
from gflow.report import Report, Row

ID = "toy.square"
TITLE = "x² ≥ x (true for x ≥ 1, false on (0, 1))"


@dataclasses.dataclass(frozen=True)
class Params(ParamSet):
    x: float = param(2.0, "the number squared", gt=0, le=100)
    seed: int = param(0, "unused by the claim; lets the sweep take seeds", ge=0)


def run(p, progress=None):
    row = Row("square", "x² ≥ x", p.x ** 2, p.x, p.x ** 2 >= p.x, margin=p.x ** 2 - p.x)
    return Report(check=ID, title=TITLE, rows=[row], hypotheses=[], params=p.to_dict(), solver={},
                  phase_times={}, initial_state=None, final_state=None)
'''


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy_check.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    registry.register(registry.CheckSpec("toy.square", "toy_check", "x² ≥ x", aliases=("toy",)))
    yield tmp_path
    registry.unregister("toy.square")
    sys.modules.pop("toy_check", None)


def test_toy_check_through_cli_sweep_and_json(toy):
    r = CliRunner()
    res = r.invoke(main, ["list"])
    assert "toy.square" in res.stdout
    res = r.invoke(main, ["check", "toy", "--help"])
    assert res.exit_code == 0 and "--x FLOAT" in res.stdout and "--delta" not in res.stdout
    res = r.invoke(main, ["check", "toy.square", "--x", "3", "--json", "out.json"])
    assert res.exit_code == 0, res.stdout + res.stderr
    rep = json.loads((toy / "out.json").read_text())
    assert rep["check"] == "toy.square" and rep["passed"] and rep["params"] == {"x": 3.0, "seed": 0}
    res = r.invoke(main, ["check", "toy.square", "--x", "0.5"])
    assert res.exit_code == 1                                  # the claim is false there, and says so
    res = r.invoke(main, ["check", "toy.square", "--x", "0"])
    assert res.exit_code == 2 and "--x must be in (0, 100]" in res.stderr
    res = r.invoke(main, ["sweep", "toy.square", "--grid", "x=0.5,2", "--seeds", "0,1", "--store", "runs",
                          "--executor", "serial", "--csv", "t.csv"])
    assert res.exit_code == 1, res.stdout + res.stderr          # x = 0.5 fails
    lines = (toy / "t.csv").read_text().strip().splitlines()
    assert len(lines) == 5 and "square.holds" in lines[0]
    assert len(list((toy / "runs").glob("*.json"))) == 4
    with pytest.raises(Exception, match="already registered"):
        registry.register(registry.CheckSpec("toy.square", "toy_check", "again"))
