"""Check ids -> checks. Adding a check = one module that follows :class:`Check` (``ID``, ``TITLE``,
``Params``, ``run(params, progress) -> Report``, optionally ``plot(report, path)``) plus one line in
``CHECKS`` — or, from outside this package, :func:`register`. Nothing heavy is imported until a
check runs, so ``gflow list`` is instant."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any, Protocol


class Check(Protocol):
    """What a check module provides (the registry imports it by name when the check runs)."""

    ID: str
    TITLE: str
    Params: type   # a frozen dataclass deriving from gflow.params.ParamSet: its fields are the check's options

    def run(self, params: Any, progress: Callable[[int, int, float, float], None] | None = None) -> Any:
        """Compute the claim rows: a :class:`gflow.report.Report`."""
        ...


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    id: str
    module: str
    description: str
    aliases: tuple[str, ...] = ()

    def load(self):
        return importlib.import_module(self.module)


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("plateau.theorem2", "theory_checks.plateau.theorem2",
              "Model H: zero error with margin and an Ω(1) bias gap at T = Θ(log(1/δ)/δ^(r−2)); "
              "classes learned in order of W_ii(0), last one has the largest bias", aliases=("theorem2",)),
    CheckSpec("plateau.prop1", "theory_checks.plateau.prop1",
              "Model H: Proposition 1's phase times s_i < t_i < s_{i+1} and its invariants on every window"),
    CheckSpec("plateau.tensor_power", "theory_checks.plateau.tensor_power",
              "Lemma 12 and the tensor-power closed form: sympy derivation, solver accuracy, t_1 prediction"),
    CheckSpec("plateau.theorem3", "theory_checks.plateau.theorem3",
              "Model H interpolation: error = 1 − 1/k on [α1, α2], loss band on [0, α3], loss decreasing on [α4, 1]",
              aliases=("theorem3",)),
    CheckSpec("plateau.bias_lemmas", "theory_checks.plateau.bias_lemmas",
              "Lemmas 1–3: sign of ḃ_j' − ḃ_j on states sampled from the hypothesis sets and on the trajectory"),
    CheckSpec("plateau.theorem1", "theory_checks.plateau.theorem1",
              "Model F (deep fully-connected): error = 1 − 1/k on [α1, α2], loss band on [0, α3] after training", aliases=("theorem1",)),
    CheckSpec("plateau.trends", "theory_checks.plateau.trends",
              "Section 5: no bias / homogeneous bias interpolation shorten the error plateau; smaller init and "
              "depth lengthen it"),
    CheckSpec("orthogonal.lemma2", "theory_checks.orthogonal.lemma2",
              "Model R, orthogonal inputs: alignment with ±D± and small norms at t1 = −ε ln λ/‖D−‖"),
    CheckSpec("orthogonal.lemma3", "theory_checks.orthogonal.lemma3",
              "first group fitted by −(1+3ε) ln λ/‖D+‖; logistic growth of Σ‖w_j‖² against its closed form"),
    CheckSpec("orthogonal.fact1", "theory_checks.orthogonal.fact1",
              "saddle to saddle: a strict saddle θ_S ≠ 0 on the predicted window (Newton-refined, Hessian)"),
    CheckSpec("orthogonal.lemma4", "theory_checks.orthogonal.lemma4",
              "second group fitted by −(1+3rε) ln λ/‖D−‖ with the first group frozen"),
    CheckSpec("orthogonal.lemma5", "theory_checks.orthogonal.lemma5",
              "local PL inequality ‖∇L‖²/L ≥ ‖D−‖ on a ball around θ* (sampled) and the exponential rate"),
    CheckSpec("orthogonal.theorem1", "theory_checks.orthogonal.theorem1",
              "zero loss; ‖θ∞‖² → the minimum-norm interpolator's on a λ sweep"),
    CheckSpec("simplicity.theorem1", "theory_checks.simplicity.theorem1",
              "concentration: E sup_w ‖D_N(w) − D(w)‖ decays like √(d log N/N) on a grid of N"),
    CheckSpec("simplicity.prop1", "theory_checks.simplicity.prop1",
              "finite-data extremal vectors → ±Σβ*/‖Σβ*‖ as N grows (linear teacher)"),
    CheckSpec("simplicity.theorem2", "theory_checks.simplicity.theorem2",
              "large N: the network converges to OLS on the two halves, no interpolation, test loss ≈ noise"),
    CheckSpec("simplicity.threshold", "theory_checks.simplicity.threshold",
              "Figure 1: N* where the network stops interpolating, OLS above it, N* ∝ d^e (a resumable sweep; local or Dask)"),
)

_REGISTERED: list[CheckSpec] = []


def register(spec: CheckSpec) -> CheckSpec:
    """Add a check defined outside this package (its module importable by name); ids must be new."""
    from gflow.errors import InputError

    taken = {c.id for c in all_checks()} | {a for c in all_checks() for a in c.aliases}
    if spec.id in taken or taken & set(spec.aliases):
        raise InputError(f"check id {spec.id!r} (or an alias) is already registered")
    _REGISTERED.append(spec)
    return spec


def unregister(check_id: str) -> None:
    _REGISTERED[:] = [c for c in _REGISTERED if c.id != check_id]


def all_checks() -> tuple[CheckSpec, ...]:
    return CHECKS + tuple(_REGISTERED)


def lookup(name: str) -> CheckSpec | None:
    for c in all_checks():
        if name == c.id or name in c.aliases:
            return c
    return None


def get(name: str) -> CheckSpec:
    from gflow.errors import InputError

    spec = lookup(name)
    if spec is None:
        raise InputError(f"unknown check id {name!r}; `gflow list` shows the ids")
    return spec
