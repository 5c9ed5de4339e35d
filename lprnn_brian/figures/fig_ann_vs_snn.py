"""Figure: the ANN state against the ΣΔ network's feedback decode, layer by layer, on one test clip.

The bundled digits model is converted with the package defaults (Loihi mode, τ_S = 64, M = 14.28) and run by Brian2;
every panel overlays the ANN's h_t on the SNN's −i_fb/f at frame ends
(docs/method.md#input-decoding-and-compartments, docs/method.md#why-the-spikes-reproduce-the-rate-network).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "ann_vs_snn"
TITLE = "ANN vs SNN traces per layer"
CAPTION = (
    "The bundled digits model (80 mel → lpff 48 → lpRNN 96 → lpRNN 96 → 10, 3-bit weights, a = 0.8, ANN frame "
    "8 ms) converted with the package defaults (Loihi-integer mode, τ_S = 64, M = 14.28 SNN steps of 0.56 ms per "
    "frame) and simulated by Brian2 (numpy target) on one test clip (125 frames, 1 s). One panel per layer: the "
    "ANN state h_t (lines) and the ΣΔ network's feedback decode −i_fb/f sampled at the end of every ANN frame "
    "(markers) for the three units with the largest mean ANN state on this clip; for the dense read-out the ANN "
    "side is clamp(o_t, 0, R), the range its feedback reconstruction can encode (R = 12 = 2·Iin for this model, "
    "docs/method.md#the-read-outs-range). Each panel gives the layer's "
    "Pearson correlation r and RMSE (ANN units) between decode and ANN over every unit and frame "
    "(`analysis.fidelity`; full figure: over 10 seeded test clips, quick: the shown clip). Look for the markers "
    "on the lines: in lpff_1 the decode tracks h_t within about one feedback kick (Iin/τ_S ≈ 0.09); deeper layers "
    "drift further (RMSE grows layer by layer) because the ΣΔ network integrates the continuous-time lpRNN, with "
    "the recurrent input refreshed every SNN step rather than once per frame "
    "(docs/method.md#one-update-per-frame-or-many), so recurrent units can lead or lag the per-frame ANN by a few "
    "frames; the title gives both networks' predicted class."
)

#: Test clips whose correlation is reported (the first is the one plotted).
FULL_CLIPS = 10
QUICK_CLIPS = 1
UNITS_SHOWN = 3
_MARKERS = ("o", "s", "^")
_LINES = ("-", "--", "-.")


def compute(quick: bool = False, seed: int = 0, *, n_clips: int | None = None) -> dict:
    """Run the bundled model's ANN and SNN on ``n_clips`` seeded test clips and collect what the figure shows.

    Returns a dict: ``clips`` (test-set indices), ``label``, ``frame_dt`` (s), per layer ``names``,
    ``ann`` (frames, units) ANN counterpart of the fb decode on the first clip, ``snn`` (frames, units) the fb
    decode −i_fb/f at frame ends on the first clip, ``units`` (indices shown), ``correlation`` and ``rmse`` (over
    every clip, unit and frame), and ``ann_class``/``snn_class`` of the first clip.
    """
    from ..analysis.fidelity import ann_counterparts, fidelity
    from ..ann.forward import forward
    from ..ann.model import load_model
    from ..convert import to_snn_spec
    from ..bundled import bundled_model_path
    from ..simulation import simulate
    from ..tasks.digits import load_digits

    n = n_clips if n_clips is not None else (QUICK_CLIPS if quick else FULL_CLIPS)
    model = load_model(bundled_model_path())
    X, y, _ = load_digits("test")
    clips = np.sort(np.random.default_rng(seed).choice(len(y), size=n, replace=False))
    x, labels = X[clips], y[clips]
    ann = forward(model, x)
    spec = to_snn_spec(model, mode="loihi", n_frames=x.shape[1])
    # numpy runtime: ~2 s per clip of 250 neurons × 1,785 steps, against ~20 s for a cold cpp_standalone compile
    # (all clips as one batch, states sampled at frame ends only)
    res = simulate(spec, x, target="numpy", record=("i_fb",), batch=len(clips), sampling="frames")
    fid = fidelity(model, x, res, labels=labels, ann=ann)
    ref = ann_counterparts(model, x, ann, readout_range=spec.readout_range)["fb"]
    snn = [res.frame_decodes["fb"][k][0].astype(np.float64) for k in range(len(res.layer_names))]
    annk = [ref[k][0] for k in range(len(res.layer_names))]
    units = [np.argsort(-a.mean(axis=0), kind="stable")[:UNITS_SHOWN] for a in annk]
    return dict(clips=clips, label=int(labels[0]), frame_dt=float(model.frame_dt), names=list(res.layer_names),
                ann=annk, snn=snn, units=units, correlation=list(fid.correlation["fb"]),
                rmse=list(fid.rmse["fb"]), ann_class=int(fid.ann_predictions[0]),
                snn_class=int(fid.snn_predictions["fb"][model.readout_window][0]),
                tau_S=float(spec.layers[0].tau_S), steps_per_frame=float(spec.steps_per_frame), Iin=float(model.Iin),
                readout_range=float(spec.readout_range))


def plot(d: dict, out: Path) -> list[Path]:
    """Draw the four panels of :func:`compute`'s data and write ``out/NAME.png`` and ``.pdf``."""
    from matplotlib.legend_handler import HandlerTuple

    from ..analysis.plots import PALETTE, save_figure, subplots

    fig, axes = subplots(2, 2, figsize=(10, 6.5), sharex=True)
    n_frames = d["ann"][0].shape[0]
    t_ms = (np.arange(n_frames) + 1) * d["frame_dt"] * 1e3
    for k, ax in enumerate(axes.ravel()[: len(d["names"])]):
        readout = k == len(d["names"]) - 1
        handles, names = [], []
        for j, u in enumerate(d["units"][k]):
            c = PALETTE[j]
            (line,) = ax.plot(t_ms, d["ann"][k][:, u], color=c, lw=1.3, ls=_LINES[j])
            (dots,) = ax.plot(t_ms, d["snn"][k][:, u], _MARKERS[j], color=c, ms=3, mfc="none", mew=0.7)
            handles.append((line, dots))
            names.append(f"{'class' if readout else 'unit'} {u}")
        r, e = d["correlation"][k], d["rmse"][k]
        n_clips = len(d["clips"])
        ax.text(0.02, 0.97, f"r = {r:.3f}, RMSE = {e:.3f}\n(all units, {n_clips} clip{'s' if n_clips > 1 else ''})",
                transform=ax.transAxes, va="top", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=PALETTE[7], lw=0.4, alpha=0.85))
        kind = ("read-out: clamp(o_t, 0, Iin)" if d.get("readout_range", d["Iin"]) == d["Iin"] else
                f"read-out: clamp(o_t, 0, {d['readout_range']:g})") if readout else "state h_t"
        ax.set_title(f"{d['names'][k]} ({kind})", fontsize=9)
        ax.set_ylabel("ANN units")
        top = max(float(np.max(d["ann"][k][:, d["units"][k]])), float(np.max(d["snn"][k][:, d["units"][k]])))
        ax.set_ylim(-0.04 * top, 1.35 * top)  # headroom for the legend and the annotation
        ax.legend(handles, names, handler_map={tuple: HandlerTuple(ndivide=None)}, fontsize=7, ncol=3,
                  frameon=False, loc="upper right", handlelength=3.0)
        if k >= 2:
            ax.set_xlabel("time (ms)")
    fig.suptitle(f"test clip {int(d['clips'][0])} (digit {d['label']}): ANN predicts {d['ann_class']}, SNN (fb) "
                 f"predicts {d['snn_class']}; τ_S = {d['tau_S']:.0f}, M = {d['steps_per_frame']:.2f}\n"
                 "lines: ANN; markers: SNN feedback decode −i_fb/f at frame ends", fontsize=10)
    save_figure(fig, out / NAME)
    return figure_paths(out, NAME)


def make(out: Path, quick: bool = False, seed: int = 0, *, record: dict | None = None) -> list[Path]:
    """Write the figure; ``record`` (a dict), if given, receives the numbers plotted (:func:`compute`)."""
    d = compute(quick=quick, seed=seed)
    if record is not None:
        record.update(d)
    write_numbers(out, NAME, {k: d[k] for k in ("clips", "names", "correlation", "rmse", "ann_class", "snn_class",
                                                 "tau_S", "steps_per_frame")})  # the traces are in the figure
    return plot(d, Path(out))


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
