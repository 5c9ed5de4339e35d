"""Figure: the reconstruction error of one ΣΔ neuron against its constant drive, for each threshold policy: the
derived band and mean (docs/method.md#the-comparators-threshold) beside the Brian2 simulation in both modes."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "reconstruction_bias"
TITLE = "Reconstruction error against drive, per threshold policy"
CAPTION = (
    "One ΣΔ neuron per drive c (an lpff layer with a diagonal 1/8 weight, τ_S = 64 steps, Iin = 6; 2,856 steps, the "
    "first 1,000 discarded; Brian2 numpy target), for drives from 2Δ to Iin − 3Δ, Δ = Iin/τ_S the nominal kick. "
    "Error = time mean of the fb decode −i_fb/(κ f) minus c, in kicks. Shaded: the derived invariant band "
    "(`equations.derive.reconstruction_band`, one kick wide); line: its centre, the derived mean "
    "(`derive.reconstruction_error_mean`): Δ(1/2 − c/Iin) at threshold 0 (the authors' neuron), 0 under the "
    "policy 'unbiased' (threshold Δ/2 and kick (1 − 1/τ_S)·Δ, `derive.policy_parameters`). Dots: every drive, "
    "float mode; thick line: Loihi mode averaged over ±1 kick of drive. A drive held exactly constant locks the "
    "loop onto a periodic spike pattern: the dots scatter around the mean within the band, widest on the "
    "every-other-step lock around Iin/2 (marked, `derive.locking_interval`), which no threshold removes."
)
IIN, TAU_S = 6.0, 64.0
DELTA = IIN / TAU_S
N_FRAMES, SETTLE = 200, 1000


def drives(quick: bool = False) -> np.ndarray:
    """Drives from 2Δ to Iin − 3Δ, 20 per kick (5 with ``quick``)."""
    per_kick = 5 if quick else 20
    return np.linspace(2 * DELTA, IIN - 3 * DELTA, int(round((IIN - 5 * DELTA) / DELTA)) * per_kick + 1)


def measure(c: np.ndarray, policy: str, mode: str) -> dict:
    """Time-mean fb decode error (ANN units) of one neuron per drive ``c``, and the layer it ran with."""
    from ..ann import Layer, LpRNNModel
    from ..convert import layer0_drive, to_snn_spec
    from ..simulation import decode_scale
    from ..targets import Runner

    n = len(c)
    model = LpRNNModel([Layer("lpff_1", "lpff", np.eye(n, dtype=np.float32) / 8, np.zeros(n, np.float32),
                              retention=0.8),
                        Layer("output", "dense", np.full((1, n), 0.125, np.float32), np.zeros(1, np.float32))],
                       Iin=IIN, n_frames=N_FRAMES, frame_dt=1 / 125)
    dt = to_snn_spec(model, mode="loihi").dt  # float mode on the same SNN step as Loihi mode
    spec = to_snn_spec(model, mode=mode, dt=dt, threshold=policy)
    with Runner(spec, "numpy", record=("i_fb",)) as runner:
        raw = runner.run(layer0_drive(np.tile(8 * c, (N_FRAMES, 1)), spec))
    L = spec.layers[0]
    fb = raw.states[0]["i_fb"][SETTLE:] * decode_scale("fb", L)
    return {"error": fb.mean(axis=0) - c, "threshold": L.threshold, "kick": L.kick, "kappa": L.kick_gain,
            "factor": L.factor}


def derived(c: np.ndarray, layer: dict) -> dict:
    """Band and mean of the error (ANN units) from the derivation, for a measured layer's θ and κ."""
    import sympy as sp

    from ..equations import derive
    from ..equations import sigma_delta as sd

    vals = {sd.tau_S: TAU_S, derive.Iin: IIN, derive.f: layer["factor"], derive.theta: layer["threshold"],
            derive.kappa: layer["kappa"]}
    low, high = (sp.lambdify(derive.c, e.subs(vals), "numpy")(c) - c for e in derive.reconstruction_band())
    mean = sp.lambdify(derive.c, derive.reconstruction_error_mean().subs(vals), "numpy")(c) * np.ones_like(c)
    lock = [float(e.subs(vals)) for e in derive.locking_interval(2)]
    return {"low": low, "high": high, "mean": mean, "lock": lock}


def smooth(values: np.ndarray, per_kick: int) -> np.ndarray:
    """Mean over ±1 kick of drive (2·per_kick neighbouring drives); NaN where the window leaves the range."""
    w = 2 * per_kick
    out = np.full(len(values), np.nan)
    out[w // 2: w // 2 + len(values) - w + 1] = np.convolve(values, np.ones(w) / w, mode="valid")
    return out


def compute(quick: bool = False) -> dict:
    from ..convert import MODES

    c = drives(quick)
    per_kick = 5 if quick else 20
    out = {"drive": c, "delta": DELTA, "policies": {}}
    for policy in ("zero", "unbiased"):
        runs = {mode: measure(c, policy, mode) for mode in MODES}
        der = derived(c, runs["float"])
        out["policies"][policy] = {
            "threshold": runs["float"]["threshold"], "kick": runs["float"]["kick"], "derived": der,
            "float": runs["float"]["error"], "loihi": runs["loihi"]["error"],
            "loihi_smoothed": smooth(runs["loihi"]["error"], per_kick),
            "float_smoothed": smooth(runs["float"]["error"], per_kick),
            "max_abs_smoothed_kicks": {m: float(np.nanmax(np.abs(smooth(runs[m]["error"], per_kick)))) / DELTA
                                       for m in runs},
            "max_abs_kicks": {m: float(np.max(np.abs(runs[m]["error"]))) / DELTA for m in runs},
            "mean_kicks": {m: float(np.mean(runs[m]["error"])) / DELTA for m in runs},
        }
    return out


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Write the figure (``quick``: 5 drives per kick instead of 20; ``seed`` is unused: nothing is random)."""
    from ..analysis.plots import PALETTE, save_figure, subplots

    res = compute(quick)
    c = res["drive"]
    fig, axes = subplots(1, 2, figsize=(9, 3.8), sharey=True)
    titles = {"zero": "threshold 0 (the authors' neuron)", "unbiased": "policy 'unbiased' (θ = Δ/2, kick (1 − 1/τ_S)Δ)"}
    for ax, (policy, r) in zip(axes, res["policies"].items()):
        d = r["derived"]
        ax.fill_between(c, d["low"] / DELTA, d["high"] / DELTA, color=PALETTE[5], alpha=0.25, lw=0,
                        label="derived band")
        ax.plot(c, d["mean"] / DELTA, color=PALETTE[0], lw=1.5, label="derived mean")
        ax.plot(c, r["float"] / DELTA, ".", color=PALETTE[1], ms=1.5, label="float, per drive")
        ax.plot(c, r["loihi_smoothed"] / DELTA, color=PALETTE[2], lw=1.2, label="loihi, mean over ±1 kick")
        ax.axvspan(*d["lock"], color=PALETTE[7], alpha=0.2, lw=0, label="period-2 lock")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(titles[policy], fontsize=9)
        ax.set_xlabel("constant drive c (ANN units)")
        m = r["max_abs_smoothed_kicks"]["loihi"]
        ax.text(0.02, 0.03, f"|mean error| ≤ {m:.3f}Δ (±1-kick average, loihi)", transform=ax.transAxes, fontsize=7)
    axes[0].set_ylabel("time-mean fb error (kicks Δ = Iin/τ_S)")
    axes[1].legend(fontsize=6.5, frameon=False, loc="upper right")
    fig.tight_layout()
    save_figure(fig, out / NAME)
    write_numbers(out, NAME, res)
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
