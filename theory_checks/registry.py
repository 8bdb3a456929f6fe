"""Check ids -> checks. Adding a check = one module with ``ID``, ``TITLE``, ``Params``,
``run(params, progress) -> Report`` (and optionally ``plot(report, path)``), plus one
line here. Nothing heavy is imported until a check runs, so ``gflow list`` is instant."""

from __future__ import annotations

import dataclasses
import importlib

MODEL_F = ("k", "r", "delta", "d", "width", "n_samples", "noise", "activation", "seed", "solver", "rtol", "atol",
           "dt", "margin", "eps", "t_max")
MODEL_R = ("dataset", "n", "d", "m", "lam", "eps", "seed", "coords", "solver", "rtol", "atol", "dt", "plateau_tol", "kink")
SIMPLICITY = ("d", "n_grid", "n_samples", "sigma", "dist", "m", "lam", "dt", "t_max", "reps", "seed")
MODEL_H = ("k", "r", "delta", "sigma", "d", "n_samples", "seed", "init", "solver", "rtol", "atol", "dt",
           "horizon", "slope_tol")


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    id: str
    module: str
    description: str
    options: tuple[str, ...]
    aliases: tuple[str, ...] = ()

    def load(self):
        return importlib.import_module(self.module)


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("plateau.theorem2", "theory_checks.plateau.theorem2",
              "Model H: zero error with margin and an Ω(1) bias gap at T = Θ(log(1/δ)/δ^(r−2)); "
              "classes learned in order of W_ii(0), last one has the largest bias",
              MODEL_H + ("mu0", "mu1", "mu2", "mu3", "margin", "gap"), aliases=("theorem2",)),
    CheckSpec("plateau.prop1", "theory_checks.plateau.prop1",
              "Model H: Proposition 1's phase times s_i < t_i < s_{i+1} and its invariants on every window",
              MODEL_H + ("mu0", "mu1", "mu2", "mu3", "margin", "gap")),
    CheckSpec("plateau.tensor_power", "theory_checks.plateau.tensor_power",
              "Lemma 12 and the tensor-power closed form: sympy derivation, solver accuracy, t_1 prediction",
              MODEL_H + ("mu0",)),
    CheckSpec("plateau.theorem3", "theory_checks.plateau.theorem3",
              "Model H interpolation: error = 1 − 1/k on [α1, α2], loss band on [0, α3], loss decreasing on [α4, 1]",
              MODEL_H + ("mu0", "mu1", "mu2", "mu3", "margin", "gap", "eps", "c_alpha2", "c_alpha4"),
              aliases=("theorem3",)),
    CheckSpec("plateau.bias_lemmas", "theory_checks.plateau.bias_lemmas",
              "Lemmas 1–3: sign of ḃ_j' − ḃ_j on states sampled from the hypothesis sets and on the trajectory",
              MODEL_H + ("mu0", "mu1", "mu2", "mu3", "margin", "gap", "c_w", "c_b", "mu", "c1", "c2", "c3", "n_states")),
    CheckSpec("plateau.theorem1", "theory_checks.plateau.theorem1",
              "Model F (deep fully-connected): error = 1 − 1/k on [α1, α2], loss band on [0, α3] after training",
              MODEL_F, aliases=("theorem1",)),
    CheckSpec("plateau.trends", "theory_checks.plateau.trends",
              "Section 5: no bias / homogeneous bias interpolation shorten the error plateau; smaller init and "
              "depth lengthen it", MODEL_F + ("depths",)),
    CheckSpec("orthogonal.lemma2", "theory_checks.orthogonal.lemma2",
              "Model R, orthogonal inputs: alignment with ±D± and small norms at t1 = −ε ln λ/‖D−‖", MODEL_R),
    CheckSpec("orthogonal.lemma3", "theory_checks.orthogonal.lemma3",
              "first group fitted by −(1+3ε) ln λ/‖D+‖; logistic growth of Σ‖w_j‖² against its closed form", MODEL_R),
    CheckSpec("orthogonal.fact1", "theory_checks.orthogonal.fact1",
              "saddle to saddle: a strict saddle θ_S ≠ 0 on the predicted window (Newton-refined, Hessian)", MODEL_R),
    CheckSpec("orthogonal.lemma4", "theory_checks.orthogonal.lemma4",
              "second group fitted by −(1+3rε) ln λ/‖D−‖ with the first group frozen", MODEL_R),
    CheckSpec("orthogonal.lemma5", "theory_checks.orthogonal.lemma5",
              "local PL inequality ‖∇L‖²/L ≥ ‖D−‖ on a ball around θ* (sampled) and the exponential rate",
              MODEL_R + ("pl_radius", "n_states")),
    CheckSpec("orthogonal.theorem1", "theory_checks.orthogonal.theorem1",
              "zero loss; ‖θ∞‖² → the minimum-norm interpolator's on a λ sweep", MODEL_R),
    CheckSpec("simplicity.theorem1", "theory_checks.simplicity.theorem1",
              "concentration: E sup_w ‖D_N(w) − D(w)‖ decays like √(d log N/N) on a grid of N",
              ("d", "n_grid", "sigma", "dist", "reps", "seed")),
    CheckSpec("simplicity.prop1", "theory_checks.simplicity.prop1",
              "finite-data extremal vectors → ±Σβ*/‖Σβ*‖ as N grows (linear teacher)",
              ("d", "n_grid", "sigma", "dist", "seed")),
    CheckSpec("simplicity.theorem2", "theory_checks.simplicity.theorem2",
              "large N: the network converges to OLS on the two halves, no interpolation, test loss ≈ noise",
              ("d", "n_samples", "sigma", "dist", "m", "lam", "solver", "rtol", "dt", "t_max", "seed")),
    CheckSpec("simplicity.threshold", "theory_checks.simplicity.threshold",
              "Figure 1: N* where the network stops interpolating, OLS above it, N* ∝ d^e (a resumable sweep; local or Dask)",
              ("dims", "n_grid", "sigma", "dist", "m", "lam", "solver", "rtol", "dt", "t_max", "seed", "full", "store", "executor",
               "scheduler", "dask_local", "reps", "batch", "refine", "segments", "stable_tol", "interp_tol")),
)

_BY_NAME = {c.id: c for c in CHECKS} | {a: c for c in CHECKS for a in c.aliases}


def get(name: str) -> CheckSpec:
    from gflow.errors import InputError

    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown check id {name!r}; `gflow list` shows the ids") from None
