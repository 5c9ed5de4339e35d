"""The main job on bundled data: spoken digits → lpRNN (ANN) → ΣΔ network → report and figures.

Runs offline: the features and the trained 3-bit model ship inside the package.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .bundled import DIGITS_MODEL as BUNDLED_MODEL
from .bundled import bundled_model_path  # its home; importable from here for one release
from .errors import UserInputError
from .fileio import prepare_output_dir, write_text_atomic

REPORT_FILES = ("report.md", "report.json", "state_vs_decode.png", "state_vs_decode.pdf",
                "raster.png", "raster.pdf")


def run_demo(out: Path, *, target: str = "cpp_standalone", mode: str = "loihi", force: bool = False,
             quiet: bool = False, limit: int | None = None, build_root=None, threshold: str | None = None,
             batch: int | None = None, sampling: str | None = None, propagation: str | None = None) -> dict:
    """Evaluate the bundled model on the bundled test clips; write report.md/json and figures to ``out``.
    ``threshold``: the comparator's threshold policy (default: :data:`lprnn_brian.convert.DEFAULT_THRESHOLD`).
    ``batch``, ``sampling`` (``'frames'`` or ``'steps'``: the figures need every layer's decodes) and
    ``propagation``: how the network runs (:func:`lprnn_brian.evaluate.evaluate`; None: the target's fastest)."""
    from .ann.model import load_model
    from .evaluate import evaluate
    from .tasks.digits import load_digits

    if sampling not in (None, "frames", "steps"):
        raise UserInputError(f"the demo's figures need every layer's decodes: sampling 'frames' or 'steps', "
                             f"not {sampling!r}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise UserInputError(f"--limit must be a positive number of test clips, got {limit!r}")
    t0 = time.perf_counter()
    prepare_output_dir(out, REPORT_FILES, force, what="a report", create=False)  # refuse before the run
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    model = load_model(bundled_model_path())
    x, y, info = load_digits("test")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    say(f"bundled spoken digits: {x.shape[0]} test clips of {x.shape[1]} frames × {x.shape[2]} mel bands")
    extra = {} if threshold is None else {"threshold": threshold}
    ev = evaluate(model, x, y, target=target, mode=mode, progress=not quiet, build_root=build_root, batch=batch,
                  sampling=sampling, propagation=propagation, **extra)
    s = ev.summary
    s["wall_s"] = time.perf_counter() - t0
    s["model"] = {"file": BUNDLED_MODEL, "layers": [(L.name, L.kind, L.n_in, L.n_out) for L in model.layers],
                  "n_parameters": model.n_parameters(), "frac_bits": model.frac_bits,
                  "provenance": model.provenance}
    prepare_output_dir(out, REPORT_FILES, force, what="a report")
    figures = _figures(ev, out)
    write_text_atomic(out / "report.json", json.dumps(s, indent=1, default=float), force=True)
    write_text_atomic(out / "report.md", _markdown(s, figures), force=True)
    say(f"ANN accuracy {s['ann_accuracy']:.3f}; SNN (fb decode) accuracy {s['snn_accuracy']['fb']:.3f}; "
        f"class agreement {s['class_agreement']['fb']:.3f}; {s['wall_s']:.0f} s")
    say(f"report: {out / 'report.md'}")
    return s


def _figures(ev, out: Path) -> list[str]:
    from .analysis.plots import PALETTE, plot_raster, plot_state_vs_decode, save_figure, subplots

    res, ann, spec = ev.result, ev.ann, ev.spec
    n_hidden = len(spec.layers) - 1
    fig, axes = subplots(n_hidden, 1, figsize=(7, 2.4 * n_hidden), sharex=True, squeeze=False)
    for k in range(n_hidden):
        state = ann.states[k][0]
        units = np.argsort(state.std(axis=0))[::-1][:3]  # the most active units
        plot_state_vs_decode(state, res.frame_decodes["fb"][k][0], spec.frame_dt, units=units, ax=axes[k, 0],
                             title=f"{spec.layers[k].name}: ANN state vs SNN feedback decode (clip 0)")
    save_figure(fig, out / "state_vs_decode")
    fig, ax = subplots(figsize=(7, 4))
    offset = 0
    for k, L in enumerate(spec.layers):
        neuron, step = res.spike_raster(0, k)
        plot_raster(neuron, step, spec.dt, offset=offset, ax=ax, color=PALETTE[k % len(PALETTE)], label=L.name)
        offset += L.n
    ax.set_title("spikes of every layer (clip 0)")
    ax.legend(markerscale=12, fontsize=7, loc="upper right")
    save_figure(fig, out / "raster")
    return ["state_vs_decode.png", "raster.png"]


def _markdown(s: dict, figures: list[str]) -> str:
    from .simulation import DECODES

    names = s["layer_names"]
    fmt = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
    lines = [
        "# lprnn_brian demo: spoken digits, lpRNN → ΣΔ spiking network",
        "",
        f"- test clips: {s['n_samples']}; target `{s['target']}`; neuron mode `{s['mode']}`; "
        f"read-out window `{s['readout_window']}`",
        f"- SNN step Δt_S = {s['snn']['dt'] * 1e3:.6f} ms, {s['snn']['n_steps']} steps per clip "
        f"({s['snn']['steps_per_frame']:.4f} per ANN frame)",
        f"- model: {s['model']['layers']} ({s['model']['n_parameters']} parameters, "
        f"weights on a 1/{2 ** s['model']['frac_bits']} grid)",
        f"- wall time {s['wall_s']:.1f} s (build {s['wall_s_detail']['build']:.1f} s, "
        f"simulation {s['wall_s_detail']['run']:.1f} s); mean spikes per clip "
        f"{np.mean(s['spikes_per_sample']):.0f}",
        "",
        "## Accuracy",
        "",
        "| | ANN | SNN fb | SNN ip | SNN in | SNN count |",
        "|---|---|---|---|---|---|",
        f"| accuracy | {fmt(s['ann_accuracy'])} | " + " | ".join(fmt(s['snn_accuracy'][d]) for d in DECODES) + " |",
        "| class agreement with ANN | 1 | " + " | ".join(fmt(s['class_agreement'][d]) for d in DECODES) + " |",
        "",
        "## Per-layer fidelity (correlation with the ANN over samples × frames × units; RMSE in ANN units)",
        "",
        "| layer | fb corr | fb RMSE | ip corr | in corr | count corr |",
        "|---|---|---|---|---|---|",
    ]
    for k, n in enumerate(names):
        c, r = s["layer_correlation"], s["layer_rmse"]
        lines.append(f"| {n} | {fmt(c['fb'][k])} | {fmt(r['fb'][k])} | {fmt(c['ip'][k])} | {fmt(c['in'][k])} | "
                     f"{fmt(c['count'][k])} |")
    out = s["snn"]["layers"][-1]
    lines += ["", f"The read-out's fb and count decodes are compared with clamp(o, 0, {out['Iin_snn'] / out['factor']:g}), "
              "the range its feedback reconstruction can encode (docs/method.md#the-read-outs-range); `in` with the "
              "pre-activation less the bias.", ""]
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines) + "\n"
