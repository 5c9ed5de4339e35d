"""``lprnn-brian export loihi``: model → mapped network → bundle, with the reports a Loihi user reads.

Writes the bundle (:mod:`.bundle`) and ``report.md`` beside it: resources and core placement, every lossy step
with its error, the 24-bit headroom, and, when inputs are given, the bit-exact emulator's accuracy against the
ANN, its divergence from the Brian2 Loihi mode, and the time/energy estimate per inference from its spikes.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..ann.model import LpRNNModel
from ..convert import DEFAULT_THRESHOLD, layer0_drive, to_snn_spec
from ..fileio import prepare_output_dir, write_text_atomic
from ..simulation import result_from_raw
from .bundle import JSON_NAME, NPZ_NAME, save_bundle
from .compare import divergence, divergence_markdown
from .cores import allocate, resource_report
from .emulator import emulate
from .params import LoihiNetwork, exp_text, to_loihi

REPORT_NAME = "report.md"
#: Samples per emulator call (memory: the spike arrays are samples × steps × neurons booleans).
CHUNK = 16


def emulate_inputs(net: LoihiNetwork, x: np.ndarray, *, progress: bool = False, semantics: str = "loihi"):
    """Emulate frames ``x`` (samples, frames, features) in chunks; a :class:`SimulationResult` and the overflow
    counts per layer (summed)."""
    from tqdm import tqdm

    for first in range(0, x.shape[0], CHUNK):  # inputs beyond the 24-bit register: refused before the bar starts
        net.input_integers(layer0_drive(x[first:first + CHUNK], net.spec))
    raws, overflow = [], [dict() for _ in net.layers]
    bar = tqdm(total=x.shape[0], desc="emulating (Loihi arithmetic)", unit="sample", disable=not progress)
    t0 = time.perf_counter()
    for first in range(0, x.shape[0], CHUNK):
        drive = layer0_drive(x[first:first + CHUNK], net.spec)
        run = emulate(net, drive, semantics=semantics)
        raws += run.raw
        for k, ov in enumerate(run.overflow):
            for key, n in ov.items():
                overflow[k][key] = overflow[k].get(key, 0) + n
        bar.update(drive.shape[0])
    bar.close()
    target = "loihi-emulator" if semantics == "loihi" else "brian2-loihi-emulation"
    return result_from_raw(net.spec, raws, target, wall_s={"run": time.perf_counter() - t0}), overflow


def export_loihi(model: LpRNNModel, out: str | Path, *, x: np.ndarray | None = None, labels=None, factors=None,
                 compare_samples: int = 8, force: bool = False, progress: bool = False,
                 threshold: str = DEFAULT_THRESHOLD) -> dict:
    """Convert ``model`` in Loihi mode, map it, place it on cores and write the bundle and report to ``out``.

    With inputs ``x`` (samples, frames, features): the emulator runs on all of them (accuracy and agreement
    with the ANN, overflows, energy and time per inference), and on the first ``compare_samples`` also in the
    Brian2 Loihi mode's arithmetic (divergence, :func:`lprnn_brian.loihi.compare.divergence`). ``threshold``: the
    comparator's threshold policy (:func:`lprnn_brian.convert.to_snn_spec`). Returns the summary (JSON-ready) that
    also goes into the bundle."""
    from ..analysis.energy import energy_report
    from ..analysis.fidelity import fidelity

    from ..ann.forward import check_inputs, check_labels
    from ..errors import UserInputError

    if x is not None:  # checked before anything is written
        x = check_inputs(x, model.n_inputs)
        if labels is not None:
            labels = check_labels(labels, x.shape[0], model.n_classes)
    elif labels is not None:
        raise UserInputError("labels need inputs x (the labels of those inputs)")
    out = prepare_output_dir(out, [JSON_NAME, NPZ_NAME, REPORT_NAME], force, "a Loihi bundle", create=False)
    spec = to_snn_spec(model, mode="loihi", factors=factors, n_frames=None if x is None else x.shape[1],
                       threshold=threshold)
    net = to_loihi(spec)
    placements = allocate(net)
    resources = resource_report(net, placements)
    summary: dict = {"model_digest": spec.digest(), "resources": resources}
    if x is not None:
        result, overflow = emulate_inputs(net, x, progress=progress)
        fid = fidelity(model, x, result, labels=labels)
        w = spec.readout_window
        summary["emulator"] = {
            "n_samples": int(x.shape[0]), "ann_accuracy": fid.ann_accuracy,
            "accuracy": {d: fid.snn_accuracy[d][w] for d in fid.snn_accuracy},
            "class_agreement_with_ann": {d: fid.class_agreement[d][w] for d in fid.class_agreement},
            "layer_correlation_fb": fid.correlation["fb"], "overflow": overflow,
            "spikes_per_sample": float(np.mean(result.spikes_per_sample())),
        }
        summary["energy"] = energy_report(result, cores=[P.cores for P in placements])
        n = min(compare_samples, x.shape[0])
        if n:
            drive = layer0_drive(x[:n], spec)
            summary["divergence"] = divergence(net, drive)
    save_bundle(net, out, resources=resources, extra={k: v for k, v in summary.items() if k != "resources"},
                force=True)
    write_text_atomic(out / REPORT_NAME, report_markdown(net, summary), force=True)
    return summary


def report_markdown(net: LoihiNetwork, summary: dict) -> str:
    """The export report (resources, lossy steps, headroom, emulator, divergence, energy) as Markdown."""
    r = summary["resources"]
    t = r["total"]
    lines = ["# Loihi mapping report", "",
             f"{t['neurons']} ΣΔ neurons = {t['compartments']} compartments on **{t['cores']} cores** "
             f"({t['chips']} Loihi 1 chip{'s' if t['chips'] > 1 else ''}), {t['synapses']:,} synapses stored "
             f"(non-zero weights and self-synapses); fullest core uses "
             f"{100 * t['synaptic_memory_used_fraction_max_core']:.1f} % of its synaptic memory.", "",
             f"Synaptic memory model: {r['model']}.", "",
             "| layer | neurons | cores (first) | neurons/core | synapses | max fan-in | max fan-out | "
             "syn. memory, fullest core (bits) | input axons | output axons | weight exponents |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    lim = r["limits"]
    for L in r["layers"]:
        exps = ", ".join(f"{k} {exp_text(v)}" for k, v in L["weight_exponents"].items())
        lines.append(f"| {L['name']} | {L['neurons']} | {L['cores']} ({L['first_core']}) | "
                     f"{', '.join(map(str, L['neurons_per_core']))} | {L['synapses']:,} | {L['fan_in_max']} | "
                     f"{L['fan_out_max']} | {L['synaptic_memory_bits_max_core']:,} / {lim['synaptic_memory_bits']:,} | "
                     f"{L['input_axons_max_core']} / {lim['input_axons']} | {L['output_axons_max_core']} / "
                     f"{lim['output_axons']} | {exps} |")
    lines += ["", "## Lossy steps (max and RMS error per layer)", "",
              "| layer | step | max error | RMS error | unit | note |", "|---|---|---|---|---|---|"]
    for L in net.report["layers"]:
        for s in L["lossy_steps"]:
            if not s["lossless"]:
                lines.append(f"| {L['name']} | {s['step']} | {s['max_abs_error']:.4g} | {s['rms_error']:.4g} | "
                             f"{s['unit']} | {s.get('note', '')} |")
    lossless = sum(s["lossless"] for L in net.report["layers"] for s in L["lossy_steps"])
    lines += ["", f"{lossless} further steps are exact (listed in bundle.json).", "",
              "## 24-bit headroom (worst case: every input spiking every step)", "",
              "| layer | register | worst case | limit | bits of headroom |", "|---|---|---|---|---|"]
    for L in net.report["layers"]:
        for reg, h in L["headroom"].items():
            flag = "" if h["fits"] else " **(can overflow)**"
            bits = "— (not driven)" if h["bits"] is None else f"{h['bits']:.2f}"
            lines.append(f"| {L['name']} | {reg} | {h['worst']:.4g} | {h['limit']} | {bits}{flag} |")
    if "emulator" in summary:
        e = summary["emulator"]
        acc = ", ".join(f"{d} {v:.4f}" for d, v in e["accuracy"].items()) if e["ann_accuracy"] is not None else "—"
        agree = ", ".join(f"{d} {v:.4f}" for d, v in e["class_agreement_with_ann"].items())
        ov = "; ".join(f"{L.name}: " + ", ".join(f"{k} {n}" for k, n in o.items())
                       for L, o in zip(net.layers, e["overflow"]))
        ann = "—" if e["ann_accuracy"] is None else f"{e['ann_accuracy']:.4f}"
        lines += ["", f"## Bit-exact emulator on {e['n_samples']} samples", "",
                  f"- ANN accuracy {ann}; emulator accuracy: {acc}",
                  f"- class agreement with the ANN: {agree}",
                  "- fb-decode correlation with the ANN state per layer: "
                  + ", ".join("—" if c is None else f"{c:.4f}" for c in e["layer_correlation_fb"]),
                  f"- overflows: {ov}", f"- spikes per sample: {e['spikes_per_sample']:.0f}"]
        wrapped = [L.name for L, o in zip(net.layers, e["overflow"]) if o.get("u_wraps", 0)]
        if wrapped:
            factors = ",".join(f"{L.factor:.6g}" for L in net.spec.layers)
            lines.append(f"- **u wrapped around in {', '.join(wrapped)}**: on the chip a current beyond ±2^23 changes "
                         "sign. Lower those layers' factor f (now --factors "
                         f"{factors}; e.g. halve it) and export again until no wrap is reported; for the authors' "
                         "SHD network the reference factors (--factors shd_reference, read-out f = 32,768) avoid it.")
    if "divergence" in summary:
        lines += ["", "## Emulator vs the Brian2 Loihi mode", "", divergence_markdown(summary["divergence"])]
    if "emulator" not in summary:
        lines += ["", "Accuracy, overflows, the divergence from the Brian2 Loihi mode and the time and energy per inference "
                  "depend on the activity: export with --inputs X.npy to get them."]
    if "energy" in summary:
        lo = summary["energy"]["loihi"]
        lines += ["## Time and energy per inference (estimate, Loihi 1 per-operation figures)", "",
                  f"- energy {lo['energy_per_inference_j'] * 1e6:.1f} µJ ({lo['formula']}); compute time ≥ "
                  f"{lo['time_per_inference_s'] * 1e3:.2f} ms for {lo['real_time_per_inference_s'] * 1e3:.0f} ms of "
                  "input", f"- cores per layer from the placement above: {lo['inputs']['cores']}"]
    return "\n".join(lines) + "\n"
