"""Figures a researcher would put in a paper. Saved atomically (temp file, then rename)."""

from __future__ import annotations

import os
from pathlib import Path

from .report import write_atomic


def _save(fig, path) -> None:
    import io

    path = Path(path)
    buf = io.BytesIO()
    fmt = path.suffix.lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def model_h_phases(runs, path: str | os.PathLike, r: int) -> None:
    """The plateau paper's Figure 3 from the flow: ``W_ii(t)`` and ``b_i(t)`` against
    log time, with Proposition 1's ``t_i``, ``s_i`` and ``T`` marked; one column per δ
    (at most four)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(runs)[:4]
    fig, axes = plt.subplots(2, len(runs), figsize=(4.2 * len(runs), 6.0), sharex="col", squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for col, run in enumerate(runs):
        ts, W, b = run.traj.ts, run.traj.ys.W, run.traj.ys.b
        sel = ts > 0
        ax_w, ax_b = axes[0, col], axes[1, col]
        k = len(run.order)
        for rank, cls in enumerate(run.order):
            c = colors[rank % len(colors)]
            ax_w.plot(ts[sel], W[sel, cls, cls], color=c, label=f"$W_{{{rank + 1}{rank + 1}}}$ (label {cls})")
            ax_b.plot(ts[sel], b[sel, cls], color=c, label=f"$b_{{{rank + 1}}}$")
        for rank, cls in enumerate(run.order):
            for name, style in ((f"t:{cls}", ":"), (f"s:{cls}", "--")):
                t = run.t(name)
                if t is not None and t > 0:
                    for ax in (ax_w, ax_b):
                        ax.axvline(t, color=colors[rank % len(colors)], ls=style, lw=0.8)
        if run.t("T"):
            for ax in (ax_w, ax_b):
                ax.axvline(run.t("T"), color="k", lw=1.2)
            ax_b.annotate("T", (run.t("T"), 0.95), xycoords=("data", "axes fraction"), ha="right")
        ax_w.set_xscale("log")
        ax_w.set_yscale("log")
        ax_w.set_title(f"δ = {run.delta:g}, r = {r}, k = {k}")
        ax_b.set_xlabel("gradient-flow time t (log scale)")
        if col == 0:
            ax_w.set_ylabel("$W_{ii}(t)$")
            ax_b.set_ylabel("$b_i(t)$")
            ax_w.legend(fontsize=7, loc="upper left")
            ax_b.legend(fontsize=7, loc="lower left")
        ax_w.grid(alpha=0.3, which="both")
        ax_b.grid(alpha=0.3)
    fig.suptitle("Model H: classes learned one by one (dotted: $t_i$, $W_{ii}=\\mu_0$; dashed: $s_{i+1}$; "
                 "solid: T)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)



def mli_curves(curves, path: str | os.PathLike, k: int, title: str = "") -> None:
    """Loss (left axis) and error (right axis) along the interpolation path, one panel per
    δ (at most four), with α1–α4 and the root-found boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    curves = list(curves)[:4]
    fig, axes = plt.subplots(1, len(curves), figsize=(4.4 * len(curves), 3.4), squeeze=False)
    for ax, c in zip(axes[0], curves):
        a = np.linspace(0, 1, 1001)
        ax.plot(a, c.mli.loss(a), color="C0", label="loss")
        ax.set_xlabel("interpolation α")
        ax.set_ylabel("loss", color="C0")
        ax2 = ax.twinx()
        ax2.step(a, c.mli.error(a), where="post", color="C3", label="error")
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_ylabel("error", color="C3")
        ax2.axhline(1 - 1 / k, color="C3", lw=0.6, ls=":")
        marks = [(name, style, c.alphas.get(name)) for name, style in
                 (("alpha1", ":"), ("alpha2", "--"), ("alpha3", "-."), ("alpha4", (0, (1, 3))))]
        marks = sorted((m for m in marks if m[2] is not None and 0 <= m[2] <= 1), key=lambda m: m[2])
        for i, (name, style, v) in enumerate(marks):  # stagger the labels so close α's stay legible
            ax.axvline(v, color="k", ls=style, lw=0.9)
            ax.annotate(f"α{name[-1]}", (v, 1.0 + 0.07 * (i % 2)), xycoords=("data", "axes fraction"), ha="center",
                        va="bottom", fontsize=8)
        if getattr(c, "plateau_end", None) is not None:
            ax.axvline(c.plateau_end, color="C3", lw=1.2, alpha=0.6)
        ax.set_title(f"{title} δ = {c.delta:g}", pad=22)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def trend_curves(measured: dict, path: str | os.PathLike, k: int) -> None:
    """The plateau paper's Figures 4–7 in miniature: error curves along α for the compared
    variants (bias vs none, linear vs homogeneous bias interpolation, init scale, depth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    curves = measured["curves"]
    a = np.linspace(0, 1, 1001)
    groups = [("bias", ["bias", "no_bias"], "last-layer bias vs no bias"),
              ("interp", ["bias", "homogeneous"], "linear vs homogeneous bias interpolation"),
              ("init", ["bias", "small_init"], "init scale"),
              ("depth", sorted((n for n in curves if n.startswith("depth_")), key=lambda n: int(n.split("_")[1])),
               "depth")]
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.4))
    for ax, (_, names, title) in zip(axes, groups):
        for name in names:
            ax.plot(a, curves[name].error(a), label=name.replace("_", " "))
        ax.axhline(1 - 1 / k, color="k", lw=0.5, ls=":")
        ax.axhline((1 - 1 / k) / 2, color="k", lw=0.5, ls="--")
        ax.set_title(title)
        ax.set_xlabel("interpolation α")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("training error")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def orthogonal_loss(runs, path: str | os.PathLike) -> None:
    """The orthogonal-inputs paper's Figure 3 from the ODE: the loss against time (log scale)
    with the predicted phase times (multiples of −ln λ) and the measured plateau marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(runs)[:4]
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.6), squeeze=False)
    for ax, run in zip(axes[0], runs):
        ax.semilogy(run.traj.ts, run.loss(), color="C0", label="loss")
        pred = run.pred
        ax.axvline(pred["t_first"], color="C2", ls="--", lw=1, label="−ln λ/‖D+‖")
        ax.axvline(pred["t_second"], color="C3", ls="--", lw=1, label="−ln λ/‖D−‖")
        ax.axvspan(pred["plateau_start"], pred["plateau_end"], color="0.85", label="Fact 1 window")
        ax.axhline(run.saddle_loss, color="k", lw=0.5, ls=":")
        ax.set_xlabel("gradient-flow time t")
        ax.set_ylabel("training loss")
        ax.set_title(f"{run.data.name}, m = {len(run.s)}, λ = {run.lam:.3g}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _neuron_panel(ax, run, i, title):
    import numpy as np

    from .models import relu2

    a, W = run.cart()
    x1 = np.linspace(-1.5, 3.0, 400)
    grid = np.stack([x1, np.ones_like(x1)], axis=1)
    h = relu2.predict(a[i], W[i], grid)
    kink = -W[i][:, 1] / np.where(W[i][:, 0] == 0, np.nan, W[i][:, 0])
    size = np.sign(a[i]) * np.linalg.norm(W[i], axis=1)
    ax.scatter(np.clip(kink, -1.5, 3.0), size, s=10, c=np.where(run.s > 0, "C2", "C3"), zorder=3)
    ax.plot(x1, h, color="C0", lw=1.2)
    ax.scatter(run.data.X[:, 0], run.data.y, marker="x", color="k", zorder=4)
    ax.set_xlim(-1.5, 3.0)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("kink position −w_j2/w_j1  (and input x1)")


def orthogonal_neurons(run, path: str | os.PathLike) -> None:
    """The paper's Figure 2: every neuron as (kink −w_j2/w_j1, s_j‖w_j‖) with the fitted function
    h(x1, 1), at the end of each phase (initial, aligned t1, on the saddle between the fits, end). Two-dimensional
    inputs with x2 = 1, as in the paper's example."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    mid = float(np.sqrt(run.pred["t_first"] * run.pred["t_second"]))
    stages = [(0.0, "initialisation"), (run.pred["t1"], "aligned (t1)"), (mid, "first group fitted: on the saddle"),
              (run.traj.ts[-1], "end: both fitted")]
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.4))
    for ax, (t, title) in zip(axes, stages):
        i = int(np.argmin(np.abs(run.traj.ts - t)))
        _neuron_panel(ax, run, i, f"{title}, t = {run.traj.ts[i]:.3g}")
    axes[0].set_ylabel("s_j ‖w_j‖   /   h(x1, 1)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def orthogonal_animation(run, path: str | os.PathLike, frames: int = 60) -> None:
    """An animated GIF of the neurons (as in :func:`orthogonal_neurons`) over log-spaced times."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation, PillowWriter

    ts = run.traj.ts
    times = np.geomspace(max(ts[1], 1e-3), ts[-1], frames)
    idx = [int(np.argmin(np.abs(ts - t))) for t in times]
    fig, ax = plt.subplots(figsize=(5, 3.6))

    def draw(k):
        ax.clear()
        _neuron_panel(ax, run, idx[k], f"t = {ts[idx[k]]:.3g}")
        a, W = run.cart()
        top = max(1.5, float(np.abs(np.sign(a) * np.linalg.norm(W, axis=-1)).max()) * 1.1)
        ax.set_ylim(-top, top)

    anim = FuncAnimation(fig, draw, frames=len(idx))
    tmp = Path(str(path) + ".tmp.gif")
    anim.save(tmp, writer=PillowWriter(fps=10))
    plt.close(fig)
    write_atomic(path, tmp.read_bytes())
    tmp.unlink()
    del io


def threshold_curves(df, path: str | os.PathLike, n_star: dict | None = None, floor_ratio: float = 1e-3,
                     train_label: str = "network, train") -> None:
    """The simplicity paper's Figure 1: train and test loss at the end of training against N (log
    scale), with OLS on the two halves and the noise level σ²/2, one panel per dimension d (shared
    y axis). Losses below ``floor_ratio``·σ²/2 (interpolation, down to 1e−30) are drawn on the floor as
    open triangles so the regime change stays readable; ``n_star`` ({d: N*}) shades the
    interpolation regime N < N* and marks N*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    dims = sorted(df["d"].unique())
    noise = float(df["noise"].iloc[0])
    floor = floor_ratio * noise
    fig, axes = plt.subplots(1, len(dims), figsize=(4.6 * len(dims), 3.6), squeeze=False, sharey=True)
    for ax, d in zip(axes[0], dims):
        sub = df[df["d"] == d].sort_values("n")
        n = sub["n"].to_numpy()
        star = (n_star or {}).get(d)
        if star is not None:
            ax.axvspan(n.min() / 1.5, star, color="0.93", zorder=0, label="interpolation regime (N < N*)")
            ax.axvline(star, color="0.4", lw=0.8, ls="--")
            ax.text(star, 0.97, f" N* = {star}", fontsize=8, color="0.3", va="top", transform=ax.get_xaxis_transform())
        for key, color, style, label in (("train", "C0", "o-", train_label), ("test", "C3", "o-", "network, test"),
                                         ("ols_train", "C0", "--", "OLS on halves, train"),
                                         ("ols_test", "C3", "--", "OLS on halves, test")):
            v = sub[key].to_numpy()
            ax.plot(n, np.maximum(v, floor), style, color=color, alpha=1.0 if style == "o-" else 0.6, lw=1.4,
                    ms=4.5, label=label)
            low = v < floor
            if low.any() and style == "o-":
                ax.plot(n[low], np.full(low.sum(), floor), "v", color=color, mfc="white", ms=7)
        ax.axhline(noise, color="k", lw=0.8, ls=":", label="noise σ²/2")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(n.min() / 1.5, n.max() * 1.5)
        ax.set_xlabel("number of training samples N")
        ax.set_title(f"d = {d}")
    axes[0][0].set_ylabel(f"loss at the end of training\n(▽: below {floor:.2g}, interpolation)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    _save(fig, path)
    plt.close(fig)


def relu2_flow(ts, loss, traj, path: str | os.PathLike, title: str = "") -> None:
    """``gflow solve relu2 --plot``: the loss on a log-time axis with its plateaus shaded (where it
    moves by less than 1 % per e-fold of time) and the number of sliding pairs; below, every
    neuron's norm ‖w_j‖ (= |a_j| for a balanced init)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ts, loss = np.asarray(ts), np.asarray(loss)
    keep = ts > 0
    t, L = ts[keep], loss[keep]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(3, 2))
    ax.loglog(t, L, color="k", lw=1.5, label="loss")
    if len(t) > 2:
        slope = np.abs(np.gradient(np.log(np.maximum(L, 1e-300)), np.log(t)))
        flat = slope < 0.01
        for i in np.flatnonzero(flat[:-1]):
            ax.axvspan(t[i], t[i + 1], color="tab:blue", alpha=0.12, lw=0)
    ax.set_ylabel("loss  (1/2n) Σ (h − y)²")
    if traj.modes is not None:
        axs = ax.twinx()
        axs.semilogx(t, (traj.modes[keep] == 2).sum(axis=(1, 2)), color="tab:orange", lw=1, label="sliding pairs")
        axs.set_ylabel("sliding (neuron, sample) pairs", color="tab:orange")
    norms = np.linalg.norm(traj.ys.W[keep], axis=2)
    ax2.loglog(t, np.maximum(norms, 1e-300), lw=0.6, alpha=0.7)
    ax2.set_xlabel("time t")
    ax2.set_ylabel("‖w_j‖ per neuron")
    st = traj.stats
    t_dec = (st.switching or {}).get("decoupled_until") or 0.0
    if t_dec > 0:   # where the closed-form decoupled phase handed over to the integrator
        for a_ in (ax, ax2):
            a_.axvline(t_dec, color="0.4", ls=":", lw=1)
        ax2.text(t_dec, 0.04, " closed form ← | → integrated", transform=ax2.get_xaxis_transform(), fontsize=7,
                 color="0.3", ha="center")
    ax.set_title(title or f"{st.name} ({st.convention}), rtol {st.rtol}, {st.rhs_evals} evaluations; "
                          "shaded: plateaus", fontsize=9)
    _save(fig, path)
    plt.close(fig)
