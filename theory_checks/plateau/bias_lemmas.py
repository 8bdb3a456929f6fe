"""``plateau.bias_lemmas`` — Lemmas 1, 2, 3 of the plateau paper: sign conditions on ḃ.

The lemmas are statements about Model H's **vector field at every state meeting their
hypotheses**, so they are checked on states *sampled from each hypothesis set*
(``n_states`` per lemma and δ, seeded) and on every saved state of the trajectory that
meets them. ``ḃ`` is the exact field at the state.

Hypothesis sets (the lemma's own conditions plus the standing invariants of Proposition 1
that its proof uses, with the O(·) constants made explicit: ``O(δ) = c_W δ``,
``O(δ^r) = c_B δ^r``):

* Lemma 1 (coupling): ``W_jj, W_j'j' ≤ c_W δ``; ``|<W_i, x>| ≤ c_W δ`` for ``i ∈ {j, j'}`` and
  every sample (the proof's "|<W_j',:, x>| ≤ O(δ)"; at σ = 0 this is the diagonal bound
  plus Proposition 1's off-diagonal invariant ``0 < W_jj' ≤ O(δ)``);
  ``b_j, b_j' ≥ max b − c_B δ^r``. Claim: ``ḃ_j' − ḃ_j > 0`` if ``b_j' − b_j ≤ −µδ^r`` and
  ``< 0`` if ``b_j' − b_j ≥ µδ^r``.
* Lemma 2 (gap control I): ``W_j'j' ≥ W_jj``, ``W_jj ≤ c_W δ``, ``|<W_j, x>| ≤ c_W δ`` and
  ``<W_j', x> ≥ −c_W δ`` for every sample, ``b_j' − b_j ≥ µδ^r``, ``b_j ≥ max b − c_B δ^r``.
  Claim: ``ḃ_j' − ḃ_j < 0``.
* Lemma 3 (gap control II): ``1 − u_j(x) ≤ C1`` on ``S_j``, ``|<W_k, x>| ≤ c_W δ`` for every
  sample (``W_kk ≤ c_W δ`` plus the off-diagonal invariant), ``|<W_j, x>| ≤ c_W δ`` off ``S_j``,
  ``b_j − b_k ≥ −C2``. Claim: ``ḃ_j − ḃ_k < −c3``.

**The constants the proofs need (derived; they are the defaults).** With per-sample weights
``w_x`` (Σ over a class = 1), ``ḃ_j' − ḃ_j = Σ_x w_x e^{b_j}(e^{<W_j,x>^r} − e^{Δ} e^{<W_j',x>^r})/Z_x``
with ``Δ = b_j' − b_j``. Every term is negative as soon as ``Δ > <W_j,x>^r − <W_j',x>^r``, and
on the hypothesis set that difference is at most ``(c_W δ)^r`` when the inner products are
≥ 0 (σ = 0, where W stays positive) and ``2(c_W δ)^r`` otherwise for odd r. So Lemmas 1 and 2
hold, on the whole set and for every δ, once ``µ > µ_proof = c_W^r`` (σ = 0 or even r) or
``2c_W^r`` (σ > 0, odd r). This is the paper's "choosing µ as a large enough constant" with
``−Ω(µδ^r) + O(δ^r)``, the O(δ^r) being ``(c_W δ)^r``; no ``c_B`` is needed for the sign. The
default is ``µ = 1.2·µ_proof``. For Lemma 3, ``u_k(x) ≤ 1 − u_j(x)`` gives
``Σ_{x∈S_j} w_x(u_k − u_j) ≤ 2C1 − 1``, and off ``S_j`` each term is at most
``tanh((C2 + 2(c_W δ)^r)/2)`` (two logits within ``C2 + 2(c_Wδ)^r`` of each other), over a
total weight ``k − 1``: ``ḃ_j − ḃ_k ≤ 2C1 − 1 + (k−1)·tanh((C2 + 2(c_Wδ)^r)/2)``, which is
``< −c3`` for ``C2 < C2_proof = 2·atanh((1 − 2C1 − c3)/(k − 1)) − 2(c_W δ)^r``. The default is
``C2 = 0.9·C2_proof`` at the largest δ. A µ below µ_proof, or a C2 above C2_proof, is
reported as a hypothesis the run does not meet (the lemma then promises nothing), and the
sampled states show where the sign fails (e.g. ``--c-w 3 --mu 3``).

**Smallest working constants.** Per δ the report gives ``µ*`` (the largest ``|Δ|/δ^r`` at a
violation among the sampled and trajectory states, biases drawn with ``|Δ|`` anywhere in
``(0, c_B δ^r]``: every µ > µ* works on them) and ``c3* = −max(ḃ_j − ḃ_k)`` (the largest c3
that works); the rows check that µ* stays bounded and c3* does not shrink as δ → 0 — the
content of "for some positive constant". A lemma checked on zero states has not been
checked: that row fails.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gflow.data import stream
from gflow.errors import InputError
from gflow.flows import plateau as flow
from gflow.models import homogeneous as H
from gflow.params import param
from gflow.report import Hypothesis, Report, Row

from ._rows import lower_trend_row, upper_trend_row

ID = "plateau.bias_lemmas"
TITLE = "Lemmas 1–3: the sign of ḃ_j' − ḃ_j on states sampled from the hypothesis sets and on the trajectory"
BIAS_SPREAD = 3.0   # other classes' biases are drawn up to this far below the top one
W_LARGE = 2.0       # a learned class's W_ii is drawn in [µ0, W_LARGE]


@dataclasses.dataclass(frozen=True)
class Params(flow.FlowParams):
    c_w: float = param(1.5, "Lemmas 1–3: W_jj ≤ c_W·δ (the proof's O(δ))", gt=0)
    c_b: float = param(10.0, "Lemmas 1–2: b_j ≥ max b − c_B·δ^r (the proof's O(δ^r))", gt=0)
    mu: float | None = param(None, "Lemmas 1–2: |b_j' − b_j| ≥ µ·δ^r (default: 1.2× the proof's c_W^r, derived)",
                             kind=float, gt=0)
    c1: float = param(0.1, "Lemma 3: 1 − u_j ≤ C1 on S_j", gt=0, lt=0.5)
    c2: float | None = param(None, "Lemma 3: b_j − b_k ≥ −C2 (default: 0.9× the largest C2 the proof allows)",
                             kind=float, gt=0)
    c3: float = param(0.1, "Lemma 3: ḃ_j − ḃ_k < −c3 (the proof's −Ω(1))", gt=0, lt=1)
    n_states: int = param(4000, "states sampled from each hypothesis set per δ", ge=10, le=10**6)

    def validate(self) -> None:
        super().validate()
        if not 1 - 2 * self.c1 - self.c3 > 0:
            raise InputError(f"Lemma 3 needs 2·C1 + c3 < 1 (no C2 works otherwise), got C1={self.c1}, c3={self.c3}")


def mu_proof(p: Params) -> float:
    """The µ the proofs of Lemmas 1–2 need (module docstring): ``c_W^r``, doubled for odd r
    when the inner products can be negative (σ > 0)."""
    return p.c_w**p.r * (2.0 if (p.sigma > 0 and p.r % 2) else 1.0)


def c2_proof(p: Params, delta: float) -> float:
    """The largest C2 for which the bound of Lemma 3's proof gives ``ḃ_j − ḃ_k < −c3``."""
    return 2 * np.arctanh((1 - 2 * p.c1 - p.c3) / (p.k - 1)) - 2 * (p.c_w * delta) ** p.r


def constants(p: Params) -> tuple[float, float]:
    """``(µ, C2)`` in force: the user's, or the derived defaults."""
    mu = 1.2 * mu_proof(p) if p.mu is None else p.mu
    c2 = 0.9 * c2_proof(p, float(max(p.deltas))) if p.c2 is None else p.c2
    return float(mu), float(c2)


@dataclasses.dataclass
class States:
    """A batch of Model H states with, per state, the pair (j, j') it is tested on
    (Lemma 3: j and k), the field's ``ḃ`` and the quantities the hypotheses read."""

    W: np.ndarray      # (n, k, d)
    b: np.ndarray      # (n, k)
    j: np.ndarray      # (n,)
    jp: np.ndarray     # (n,)  (Lemma 3: the class k)
    bdot: np.ndarray   # (n, k)
    z: np.ndarray      # (n, N, k): <W_i, x> for every sample
    u: np.ndarray      # (n, N, k): softmax


def evaluate(p: Params, data, W, b, j, jp) -> States:
    field = H.batched_field(p.r)
    bdot = np.asarray(field(0.0, H.HState(W=W, b=b), data.args()).b)
    z = np.einsum("nd,skd->snk", data.X, W)
    f = z**p.r + b[:, None, :]
    e = np.exp(f - f.max(axis=2, keepdims=True))
    return States(W, b, np.asarray(j), np.asarray(jp), bdot, z, e / e.sum(axis=2, keepdims=True))


def _pick(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[s, ..., idx[s]]`` along the last axis."""
    return np.take_along_axis(a, idx.reshape((-1,) + (1,) * (a.ndim - 1)), axis=-1)[..., 0]


def lemmas_1_2(p: Params, s: States, delta: float, which: int, mu: float):
    """Lemma 1 (``which=1``) or 2 at threshold µ: (in the set ignoring µ, in the set, violated,
    |Δ|/δ^r) per state."""
    dr, cw = delta**p.r, p.c_w * delta
    n = len(s.j)
    rows = np.arange(n)
    bj, bjp = s.b[rows, s.j], s.b[rows, s.jp]
    diff = bjp - bj
    dd = s.bdot[rows, s.jp] - s.bdot[rows, s.j]
    bmax = s.b.max(axis=1)
    wj, wjp = s.W[rows, s.j, s.j], s.W[rows, s.jp, s.jp]
    zj, zjp = _pick(s.z, s.j), _pick(s.z, s.jp)          # (n, N)
    if which == 1:
        base = ((wj <= cw) & (wjp <= cw) & (np.abs(zj) <= cw).all(1) & (np.abs(zjp) <= cw).all(1)
                & (bj >= bmax - p.c_b * dr) & (bjp >= bmax - p.c_b * dr) & (diff != 0))
        bad = np.sign(dd) != -np.sign(diff)
        size = np.abs(diff) / dr
    else:
        base = ((wjp >= wj) & (wj <= cw) & (np.abs(zj) <= cw).all(1) & (zjp >= -cw).all(1)
                & (bj >= bmax - p.c_b * dr) & (diff > 0))
        bad = dd >= 0
        size = diff / dr
    inset = base & (size >= mu)
    return base, inset, inset & bad, base & bad, size


def lemma3(p: Params, s: States, labels: np.ndarray, delta: float, c2: float):
    """Lemma 3: (in the set, ḃ_j − ḃ_k) per state."""
    cw = p.c_w * delta
    n = len(s.j)
    rows = np.arange(n)
    own = labels[None, :] == s.j[:, None]                  # (n, N): x ∈ S_j
    uj = _pick(s.u, s.j)
    learned = np.where(own, 1 - uj <= p.c1, True).all(1)
    zk, zj = _pick(s.z, s.jp), _pick(s.z, s.j)
    inset = (learned & (np.abs(zk) <= cw).all(1) & np.where(own, True, np.abs(zj) <= cw).all(1)
             & (s.b[rows, s.j] - s.b[rows, s.jp] >= -c2))
    return inset, s.bdot[rows, s.j] - s.bdot[rows, s.jp]


def _sample_W(rng, p: Params, n: int, delta: float, small: list[np.ndarray], large: list[np.ndarray] = ()):
    """Off-diagonal entries in (0, c_W δ] (Proposition 1's invariant), the diagonal of the
    classes in ``small`` in (0, c_W δ], of those in ``large`` in [µ0, W_LARGE], of the others
    either; columns beyond k are 0 (the data's noise directions)."""
    k, cw = p.k, p.c_w * delta
    W = np.zeros((n, k, p.d))
    W[:, :, :k] = rng.uniform(0, cw, (n, k, k)) + 1e-300
    is_large = rng.random((n, k)) < 0.5
    for idx in small:
        is_large[np.arange(n), idx] = False
    for idx in large:
        is_large[np.arange(n), idx] = True
    diag = np.where(is_large, rng.uniform(p.mu0, W_LARGE, (n, k)), rng.uniform(0, cw, (n, k)) + 1e-300)
    W[:, np.arange(k), np.arange(k)] = diag
    return W


def _other_biases(rng, p: Params, n: int, delta: float):
    """Biases at most 0 (the top is 0 w.l.o.g.: ḃ is shift invariant): half the classes near
    the top (within c_B δ^r), the others up to BIAS_SPREAD below."""
    near = rng.random((n, p.k)) < 0.5
    return np.where(near, -rng.uniform(0, p.c_b * delta**p.r, (n, p.k)), -rng.uniform(0, BIAS_SPREAD, (n, p.k)))


def _pairs(rng, k: int, n: int):
    j = rng.integers(0, k, n)
    jp = (j + rng.integers(1, k, n)) % k
    return j, jp


def sample_lemma1(rng, p: Params, data, delta: float, n: int) -> States:
    j, jp = _pairs(rng, p.k, n)
    W = _sample_W(rng, p, n, delta, small=[j, jp])
    b = _other_biases(rng, p, n, delta)
    band = p.c_b * delta**p.r
    D = rng.uniform(0, 1, n) * band                    # |Δ| anywhere in (0, c_B δ^r]: µ* is measured too
    low = -rng.uniform(0, 1, n) * (band - D)
    up = rng.random(n) < 0.5
    rows = np.arange(n)
    b[rows, jp] = np.where(up, low + D, low)
    b[rows, j] = np.where(up, low, low + D)
    return evaluate(p, data, W, b, j, jp)


def sample_lemma2(rng, p: Params, data, delta: float, n: int) -> States:
    j, jp = _pairs(rng, p.k, n)
    W = _sample_W(rng, p, n, delta, small=[j])
    rows = np.arange(n)
    W[rows, jp, jp] = rng.uniform(W[rows, j, j], W_LARGE)   # W_j'j' ≥ W_jj, small or large
    b = _other_biases(rng, p, n, delta)
    band = p.c_b * delta**p.r
    D = rng.uniform(0, 1, n) * band
    b[rows, jp] = -rng.uniform(0, 1, n) * (band - D)
    b[rows, j] = b[rows, jp] - D
    return evaluate(p, data, W, b, j, jp)


def sample_lemma3(rng, p: Params, data, delta: float, n: int, c2: float) -> States:
    j, kk = _pairs(rng, p.k, n)
    W = _sample_W(rng, p, n, delta, small=[kk], large=[j])
    b = _other_biases(rng, p, n, delta)
    rows = np.arange(n)
    b[rows, kk] = 0.0
    b[rows, j] = -c2 + rng.uniform(0, c2 + BIAS_SPREAD, n)
    return evaluate(p, data, W, b, j, kk)


def trajectory_states(p: Params, run: flow.FlowRun, lemma: int) -> States:
    """Every saved state, once per ordered pair (j, j') (Lemma 3: j ≠ k = the last class)."""
    W, b = run.traj.ys.W, run.traj.ys.b
    nt = len(run.traj.ts)
    if lemma == 3:
        pairs = [(j, run.last) for j in range(p.k) if j != run.last]
    else:
        pairs = [(j, jp) for j in range(p.k) for jp in range(p.k) if j != jp]
    j = np.repeat([a for a, _ in pairs], nt)
    jp = np.repeat([c for _, c in pairs], nt)
    Ws, bs = np.tile(W, (len(pairs), 1, 1)), np.tile(b, (len(pairs), 1))
    return evaluate(p, run.data, Ws, bs, j, jp)


@dataclasses.dataclass
class LemmaCounts:
    """One lemma at one δ: states checked (sampled, on the trajectory), violations, and the
    smallest working constant (µ* for Lemmas 1–2, c3* for Lemma 3)."""

    delta: float
    sampled: int
    trajectory: int
    violations: int
    constant: float
    worst: float = float("nan")   # Lemma 3: max ḃ_j − ḃ_k over the set


def measure(p: Params, runs: list[flow.FlowRun]) -> dict[str, list[LemmaCounts]]:
    mu, c2 = constants(p)
    out = {"lemma1": [], "lemma2": [], "lemma3": []}
    for n_delta, run in enumerate(runs):
        delta = run.delta
        rng = lambda lemma: stream(p.seed, 7, lemma, n_delta)  # noqa: E731
        for lemma, sampler in ((1, sample_lemma1), (2, sample_lemma2)):
            sets = [sampler(rng(lemma), p, run.data, delta, p.n_states), trajectory_states(p, run, lemma)]
            res = [lemmas_1_2(p, s, delta, lemma, mu) for s in sets]
            mu_star = max([float(r[4][r[3]].max()) for r in res if r[3].any()] or [0.0])
            out[f"lemma{lemma}"].append(LemmaCounts(delta, int(res[0][1].sum()), int(res[1][1].sum()),
                                                    int(sum(r[2].sum() for r in res)), mu_star))
        sets = [sample_lemma3(rng(3), p, run.data, delta, p.n_states, c2), trajectory_states(p, run, 3)]
        res = [lemma3(p, s, run.data.labels, delta, c2) for s in sets]
        vals = np.concatenate([v[m] for m, v in res])
        worst = float(vals.max()) if vals.size else float("nan")
        out["lemma3"].append(LemmaCounts(delta, int(res[0][0].sum()), int(res[1][0].sum()),
                                         int((vals >= -p.c3).sum()), -worst if vals.size else float("nan"), worst))
    return out


def rows(p: Params, counts: dict[str, list[LemmaCounts]]) -> tuple[list[Row], list[str], dict[str, str]]:
    mu, c2 = constants(p)
    out, findings, not_checked = [], [], {}
    texts = {"lemma1": "Lemma 1 (coupling): ḃ_j' − ḃ_j has the sign of −(b_j' − b_j) when |b_j' − b_j| ≥ µδ^r",
             "lemma2": "Lemma 2 (gap control I): ḃ_j' − ḃ_j < 0 when W_j'j' ≥ W_jj and b_j' − b_j ≥ µδ^r",
             "lemma3": f"Lemma 3 (gap control II): ḃ_j − ḃ_k < −c3 = {-p.c3:g}"}
    consts = {"lemma1": f"c_W={p.c_w:g}, c_B={p.c_b:g}, µ={mu:.4g}", "lemma2": f"c_W={p.c_w:g}, c_B={p.c_b:g}, µ={mu:.4g}",
              "lemma3": f"c_W={p.c_w:g}, C1={p.c1:g}, C2={c2:.4g}"}
    deltas = np.array([c.delta for c in counts["lemma1"]])
    for name, cs in counts.items():
        per = ", ".join(f"δ={c.delta:g}: {c.sampled} sampled + {c.trajectory} on the trajectory" for c in cs)
        total = sum(c.sampled + c.trajectory for c in cs)
        every = all(c.sampled + c.trajectory >= 1 for c in cs)
        out.append(Row(f"{name}.checked", f"{texts[name]}: states meeting the hypotheses ({consts[name]})",
                       total, "≥ 1 at every δ", every, note=per))
        v = sum(c.violations for c in cs)
        if name == "lemma3":
            worst = max((c.worst for c in cs if np.isfinite(c.worst)), default=float("nan"))
            out.append(Row(f"{name}.sign", f"{texts[name]} at every checked state (max ḃ_j − ḃ_k shown)", worst,
                           f"< {-p.c3:g}", bool(every and v == 0), margin=(-p.c3 - worst) if np.isfinite(worst) else None,
                           note=f"{v}/{total} states violate" if total else "not checked: no state"))
        else:
            out.append(Row(f"{name}.sign", f"{texts[name]}: violations at the checked states", v, "0",
                           bool(every and v == 0), note=f"{v}/{total} states violate" if total else "not checked: no state"))
        const = np.array([c.constant for c in cs])
        if name == "lemma3":
            findings.append("Lemma 3: the largest working c3 (c3* = −max ḃ_j − ḃ_k over the set) is "
                            + ", ".join(f"δ={c.delta:g}: {c.constant:.4g}" for c in cs))
            if len(cs) > 1 and np.all(np.isfinite(const)) and np.all(const > 0):
                out.append(lower_trend_row("lemma3.omega1", "Lemma 3: c3* (the largest working constant) is Ω(1): it "
                                           "does not shrink as δ → 0", deltas, const, np.ones_like(deltas), p.slope_tol,
                                           note="c3* = " + ", ".join(f"{x:.4g}" for x in const)))
            elif len(cs) > 1:
                shown = float(np.nanmin(const)) if np.isfinite(const).any() else "none"
                out.append(Row("lemma3.omega1", "Lemma 3: c3* is Ω(1) (positive at every δ)", shown,
                               "> 0 at every δ", False, note="c3* = " + ", ".join(f"{x:.4g}" for x in const)
                               + " (nan: no state checked at that δ)"))
            else:
                not_checked["lemma3.omega1"] = "one δ: the trend of c3* as δ → 0 needs a --delta list"
        else:
            if sum(c.trajectory for c in cs) == 0:
                findings.append(f"{name.replace('lemma', 'Lemma ')}: no saved state of the trajectory meets the hypotheses at "
                                f"µ = {mu:.4g}: along the flow |b_j' − b_j| stays below µδ^r (the coupling the lemma "
                                "maintains); the sampled states carry the check")
            findings.append(f"{name.replace('lemma', 'Lemma ')}: the smallest working µ (µ* = largest |b_j' − b_j|/δ^r at a "
                            "violation, over |Δ| ∈ (0, c_B δ^r]) is " + ", ".join(f"δ={c.delta:g}: {c.constant:.4g}"
                                                                               for c in cs)
                            + f"; the proof's µ_proof = {mu_proof(p):.4g}, in force µ = {mu:.4g}")
            if len(cs) > 1:
                row = upper_trend_row(f"{name}.mu_bounded", f"{name.replace('lemma', 'Lemma ')}: the smallest working "
                                      f"µ stays bounded as δ → 0 and below c_B (a δ-independent, non-vacuous µ exists)",
                                      deltas, const, np.ones_like(deltas), p.slope_tol,
                                      note="µ* = " + ", ".join(f"{x:.4g}" for x in const))
                if const.max() >= 0.99 * p.c_b:  # |Δ| ≤ c_B δ^r inside the set: a µ ≥ c_B leaves nothing to check
                    row.holds = False
                    row.note += f"; µ* reaches the band c_B = {p.c_b:g}: no µ that leaves states to check works"
                row.bound += f", µ* < {0.99 * p.c_b:g}"
                out.append(row)
            else:
                not_checked[f"{name}.mu_bounded"] = "one δ: the trend of µ* as δ → 0 needs a --delta list"
    return out, findings, not_checked


def hypotheses(p: Params, runs) -> list[Hypothesis]:
    mu, c2 = constants(p)
    need_c2 = float(min(c2_proof(p, float(d)) for d in p.deltas))
    return flow.standard_hypotheses(p, runs) + [
        Hypothesis("Lemmas 1–2: µ above the constant the proofs need, µ_proof = c_W^r (×2 for odd r, σ > 0)",
                   f"≥ {mu_proof(p):.4g}", mu, mu >= mu_proof(p), "derived" if p.mu is None else "given"),
        Hypothesis("Lemma 3: C2 below the constant its proof allows, 2·atanh((1 − 2C1 − c3)/(k−1)) − 2(c_Wδ)^r",
                   f"≤ {need_c2:.4g}", c2, c2 <= need_c2, "derived" if p.c2 is None else "given"),
    ]


def run(p: Params, progress=None) -> Report:
    runs = flow.run_sweep(p, progress)
    counts = measure(p, runs)
    row_list, findings, not_checked = rows(p, counts)
    mu, c2 = constants(p)
    rep = flow.report(ID, TITLE, p, runs, row_list, findings,
                       extra={"constants_in_force": {"mu": mu, "c2": c2, "mu_proof": mu_proof(p)},
                              "states_checked": {name: [dataclasses.asdict(c) for c in cs] for name, cs in counts.items()}})
    rep.hypotheses = hypotheses(p, runs)
    rep.not_checked.update(not_checked)
    return rep


plot = flow.plot
