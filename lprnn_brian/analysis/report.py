"""The ``lprnn-brian analyse`` report of one simulation result: fidelity to the ANN, how the spikes carry the
values (rate vs timing), robustness to spike jitter and deletion, and energy per inference (Markdown, JSON, plots).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..fileio import prepare_output_dir, write_text_atomic
from ..simulation import SimulationResult
from .spiking import layer_statistics

REPORT_FORMAT = "lprnn_brian.analysis"
REPORT_VERSION = 1
REPORT_FILES = ("report.md", "report.json", "spiking.png", "spiking.pdf", "robustness.png", "robustness.pdf",
                "energy.png", "energy.pdf")
DEFAULT_JITTER = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)
DEFAULT_DELETION = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def information_estimates(result: SimulationResult, stats: list[dict]) -> list[dict] | None:
    """Bits per spike of each hidden layer's fb (timing-aware) and count (rate) decodes, estimated from their
    correlation ρ with the ANN state (saved by ``simulate --out``): SNR = ρ²/(1 − ρ²) of the best linear read-out,
    a Gaussian channel of bandwidth B = 1/(4τ) (the noise bandwidth of the layer's one-pole filter, τ = τ_S·Δt_S),
    information rate B·log2(1 + SNR) per neuron, divided by the layer's spikes per neuron per second.
    None when the run carries no comparison with the ANN."""
    from .coding import information_per_spike

    ev = result.info.get("evaluation")
    if not ev:
        return None
    out = []
    spec = result.spec
    for k, L in enumerate(spec.layers[:-1]):
        tau = float(L.tau_S) * spec.dt
        bandwidth = 1.0 / (4.0 * tau)
        row = {"layer": L.name, "bandwidth_hz": bandwidth, "rate_hz": stats[k]["rate_hz"]}
        for d in ("fb", "count"):
            rho = ev["layer_correlation"][d][k]
            if rho is None or rho <= 0 or stats[k]["rate_hz"] <= 0:
                row[d] = None
                continue
            snr = rho * rho / max(1.0 - rho * rho, 1e-12)
            row[d] = {"correlation": rho, "snr_db": 10 * math.log10(snr),
                      "bits_per_spike": float(information_per_spike(10 * math.log10(snr), bandwidth,
                                                                    stats[k]["rate_hz"]))}
        out.append(row)
    return out


def analyse_run(result: SimulationResult, *, labels: np.ndarray | None = None, jitter=DEFAULT_JITTER,
                deletion=DEFAULT_DELETION, seed: int = 0) -> dict:
    """Every number of the ``analyse`` report, JSON-ready.

    Parameters
    ----------
    result : SimulationResult
    labels : ndarray, optional
        Class per sample (default: the labels saved with the run, if any).
    jitter : sequence of float
        Spike-time jitter σ in SNN steps.
    deletion : sequence of float
        Spike deletion probabilities in [0, 1].
    seed : int
        Seed of the jitter and deletion draws (recorded in the report).
    """
    from .coding import robustness
    from .energy import energy_report

    if labels is None and result.info.get("labels") is not None:
        labels = np.asarray(result.info["labels"])
    if labels is not None:
        from ..ann.forward import check_labels

        labels = check_labels(labels, result.n_samples, result.spec.layers[-1].n)
    spec = result.spec
    stats = layer_statistics(result)
    ev = result.info.get("evaluation")
    fid = None
    if ev:
        fid = {k: ev.get(k) for k in ("ann_accuracy", "snn_accuracy", "class_agreement", "layer_correlation",
                                      "layer_rmse", "readout_window")}
    return {
        "format": REPORT_FORMAT, "format_version": REPORT_VERSION, "seed": seed,
        "run": {"target": result.target, "mode": spec.mode, "n_samples": result.n_samples, "n_steps": spec.n_steps,
                "dt_s": spec.dt, "frame_dt_s": spec.frame_dt, "steps_per_frame": spec.steps_per_frame,
                "layers": [{"name": L.name, "kind": L.kind, "n": L.n} for L in spec.layers],
                "model": result.info.get("model")},
        "fidelity": fid,
        "spiking": stats,
        "information": information_estimates(result, stats),
        "robustness": robustness(result, list(jitter), list(deletion), seed=seed, labels=labels),
        "energy": energy_report(result),
    }


def _fmt(v, spec: str = ".4f") -> str:
    return "—" if v is None else format(v, spec)


def report_markdown(r: dict, figures: list[str]) -> str:
    """The Markdown report of :func:`analyse_run`'s dict."""
    from .energy import energy_markdown

    run = r["run"]
    lines = ["# lprnn_brian analysis", "",
             f"- {run['n_samples']} samples on `{run['target']}` ({run['mode']} mode), {run['n_steps']} SNN steps of "
             f"{run['dt_s'] * 1e3:.4f} ms ({run['steps_per_frame']:.4f} per ANN frame)",
             "- layers: " + ", ".join(f"{L['name']} ({L['kind']}, {L['n']})" for L in run["layers"]), ""]
    fid = r["fidelity"]
    lines += ["## Fidelity to the ANN", ""]
    if fid is None:
        lines += ["This run carries no comparison with the ANN (write runs with `lprnn-brian simulate MODEL "
                  "--inputs X --out run.npz` to keep it).", ""]
    else:
        decodes = list(fid["class_agreement"])
        lines += [f"ANN accuracy {_fmt(fid['ann_accuracy'])} (read-out window `{fid['readout_window']}`).", "",
                  "| decode | " + " | ".join(decodes) + " |", "|---|" + "---|" * len(decodes),
                  "| SNN accuracy | " + " | ".join(_fmt(fid["snn_accuracy"][d]) for d in decodes) + " |",
                  "| class agreement with the ANN | " + " | ".join(_fmt(fid["class_agreement"][d]) for d in decodes)
                  + " |", "",
                  "| layer | " + " | ".join(f"{d} corr" for d in decodes) + " |", "|---|" + "---|" * len(decodes)]
        for k, L in enumerate(run["layers"]):
            lines.append(f"| {L['name']} | " + " | ".join(_fmt(fid["layer_correlation"][d][k]) for d in decodes) + " |")
        lines.append("")
    lines += ["## Spikes: rate and timing", "",
              "| layer | spikes/sample | rate (spikes/neuron/s) | spikes/neuron/step | silent | median ISI CV | "
              "count vs fb corr |", "|---|---|---|---|---|---|---|"]
    for s in r["spiking"]:
        lines.append(f"| {s['layer']} | {s['spikes_per_sample']:.0f} | {s['rate_hz']:.1f} | "
                     f"{s['spikes_per_neuron_step']:.4f} | {s['silent_fraction']:.1%} | {_fmt(s['isi_cv_median'], '.3f')} | "
                     f"{_fmt(s['count_vs_fb_correlation'])} |")
    lines += ["", "ISI CV: 1 for a Poisson (pure rate) code, near 0 for regular spiking. Count vs fb: correlation of "
              "each layer's spike count per ANN frame (a rate reading) with its feedback decode at the frame end "
              "(the ΣΔ reading of the same spikes, which also uses their timing).", ""]
    info = r["information"]
    if info:
        lines += ["### Information per spike (estimate)", "",
                  "Bits per spike = B·log2(1 + SNR)/rate, SNR = ρ²/(1 − ρ²) from the decode's correlation ρ with the "
                  "ANN state, B = 1/(4τ) the noise bandwidth of the layer's filter (a Gaussian-channel estimate).", "",
                  "| layer | B (Hz) | rate (Hz) | fb: SNR (dB) | fb: bits/spike | count: SNR (dB) | count: bits/spike |",
                  "|---|---|---|---|---|---|---|"]
        for row in info:
            fb, cnt = row["fb"] or {}, row["count"] or {}
            lines.append(f"| {row['layer']} | {row['bandwidth_hz']:.2f} | {row['rate_hz']:.1f} | "
                         f"{_fmt(fb.get('snr_db'), '.1f')} | {_fmt(fb.get('bits_per_spike'), '.3f')} | "
                         f"{_fmt(cnt.get('snr_db'), '.1f')} | {_fmt(cnt.get('bits_per_spike'), '.3f')} |")
        lines.append("")
    lines += _robustness_markdown(r["robustness"])
    lines += [energy_markdown(r["energy"]), ""]
    lines += [f"![{f}]({f})" for f in figures]
    return "\n".join(lines) + "\n"


def _robustness_markdown(rob: dict) -> list[str]:
    lines = ["## Robustness to spike jitter and deletion", "",
             "The read-out is recomputed offline from the last hidden layer's perturbed spikes (its synaptic filter "
             "and weights, as in the network); agreement is with the unperturbed SNN's class.", "",
             "| perturbation | level | spikes left | class agreement | decode RMS change (ANN units) | accuracy |",
             "|---|---|---|---|---|---|"]
    for row in rob:
        level = f"σ = {row['level']:g} steps" if row["perturbation"] == "jitter" else f"{row['level']:.0%}"
        lines.append(f"| {row['perturbation']} | {level} | {row['spikes']} | {row['agreement']:.4f} | "
                     f"{row['rmse']:.4f} | {_fmt(row.get('accuracy'))} |")
    return lines + [""]


def plot_report(r: dict, out: Path) -> list[str]:
    """Three figures: per-layer rates and ISI CV; agreement vs jitter and deletion; energy per inference."""
    from .plots import PALETTE, save_figure, subplots

    names = [s["layer"] for s in r["spiking"]]
    fig, (a1, a2) = subplots(1, 2, figsize=(8, 3))
    x = np.arange(len(names))
    a1.bar(x, [s["rate_hz"] for s in r["spiking"]], color=PALETTE[0])
    a1.set_xticks(x, names, rotation=20)
    a1.set_ylabel("rate (spikes / neuron / s)")
    a2.bar(x, [s["isi_cv_median"] or 0 for s in r["spiking"]], color=PALETTE[1])
    a2.axhline(1.0, color=PALETTE[7], ls=":", lw=1, label="Poisson")
    a2.set_xticks(x, names, rotation=20)
    a2.set_ylabel("median ISI CV")
    a2.legend(frameon=False, fontsize=7)
    save_figure(fig, out / "spiking")
    rows = r["robustness"]
    fig, axes = subplots(1, 2, figsize=(8, 3), sharey=True)
    for ax, kind, xlabel in ((axes[0], "jitter", "jitter σ (SNN steps)"), (axes[1], "delete", "deleted fraction")):
        sel = [row for row in rows if row["perturbation"] == kind]
        ax.plot([row["level"] for row in sel], [row["agreement"] for row in sel], "o-", color=PALETTE[0],
                label="agreement with unperturbed SNN")
        if sel and sel[0].get("accuracy") is not None:
            ax.plot([row["level"] for row in sel], [row["accuracy"] for row in sel], "s--", color=PALETTE[1],
                    label="accuracy")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("fraction of samples")
    axes[0].legend(frameon=False, fontsize=7)
    save_figure(fig, out / "robustness")
    fig, ax = subplots(figsize=(5, 3))
    e = r["energy"]
    loihi = e["loihi"]["energy_per_inference_j"]
    m4 = e["cortex_m4"]["energy_per_inference_j"]
    ax.bar([0], [loihi], color=PALETTE[0])
    ax.bar([1], [m4["high"]], color=PALETTE[1], alpha=0.4)
    ax.bar([1], [m4["low"]], color=PALETTE[1])
    ax.set_xticks([0, 1], ["Loihi 1 (estimate)", "Cortex-M4 (low–high)"])
    ax.set_yscale("log")
    ax.set_ylabel("energy per inference (J)")
    save_figure(fig, out / "energy")
    return ["spiking.png", "robustness.png", "energy.png"]


def write_analysis(result: SimulationResult, out: str | Path, *, labels=None, jitter=DEFAULT_JITTER,
                   deletion=DEFAULT_DELETION, seed: int = 0, force: bool = False) -> list[Path]:
    """Analyse ``result`` and write ``report.md``, ``report.json`` and the figures to ``out`` (refusing to
    replace an existing report unless ``force``)."""
    prepare_output_dir(out, REPORT_FILES, force, what="an analysis", create=False)  # refuse before the work
    report = analyse_run(result, labels=labels, jitter=jitter, deletion=deletion, seed=seed)
    out = prepare_output_dir(out, REPORT_FILES, force, what="an analysis")
    figures = plot_report(report, out)
    write_text_atomic(out / "report.json", json.dumps(report, indent=1, default=float, allow_nan=False), force=True)
    write_text_atomic(out / "report.md", report_markdown(report, figures), force=True)
    return [out / "report.md", out / "report.json"] + [out / f for f in figures]
