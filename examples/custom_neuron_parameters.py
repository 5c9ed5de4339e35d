#!/usr/bin/env python
"""Custom ΣΔ-neuron parameters: the same trained lpRNN converted with other SNN steps, modes and factors.

The ΣΔ network's parameters all follow from the ANN and two choices (docs/method.md#parameter-mapping): the SNN step
(here given as τ_S, SNN steps per lp time constant: Δt_S = τ/τ_S) and the factor f of each layer (derived, or given).
This script converts the bundled digits model for several τ_S in float and Loihi-integer mode, simulates a few
bundled test clips and prints accuracy, agreement with the ANN, spikes per clip and the per-frame retention
that the SNN's decays realise; a figure shows accuracy and spikes against τ_S.

    python examples/custom_neuron_parameters.py --out custom_out            # 32 clips, cpp_standalone
    python examples/custom_neuron_parameters.py --quick --out custom_out    # 4 clips, numpy target
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lprnn_brian.ann.forward import forward
from lprnn_brian.ann.model import load_model
from lprnn_brian.convert import to_snn_spec
from lprnn_brian.bundled import bundled_model_path
from lprnn_brian.equations import derive
from lprnn_brian.simulation import simulate
from lprnn_brian.tasks.digits import load_digits


def run(tau_S_values, modes, n_clips: int, target: str) -> list[dict]:
    model = load_model(bundled_model_path())
    x, y, _ = load_digits("test")
    x, y = x[:n_clips], y[:n_clips]
    ann = forward(model, x).window_predictions[model.readout_window]
    tau = derive.tau_seconds(0.8, model.frame_dt)  # the lp layers' time constant (retention 0.8), seconds
    rows = []
    for mode in modes:
        for tau_S in tau_S_values:
            spec = to_snn_spec(model, mode=mode, dt=tau / tau_S)  # the SNN step: τ_S steps per time constant
            res = simulate(spec, x, target=target)
            pred = res.predictions("fb")
            M = spec.steps_per_frame
            rows.append({"mode": mode, "tau_S": tau_S, "steps_per_frame": M,
                         "retention_realised": (1 - 1 / spec.layers[1].tau_S) ** M,
                         "factor_first_layer": spec.layers[0].factor,
                         "accuracy_fb": float(np.mean(pred == y)), "agreement_fb": float(np.mean(pred == ann)),
                         "spikes_per_clip": float(res.spikes_per_sample().mean())})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="custom_neuron_out")
    ap.add_argument("--quick", action="store_true", help="4 clips, numpy target, τ_S 32 and 64")
    ap.add_argument("--target", default=None, help="Brian2 target (default cpp_standalone; numpy with --quick)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    taus = (32, 64) if args.quick else (32, 64, 128)
    rows = run(taus, ("float", "loihi"), 4 if args.quick else 32, args.target or ("numpy" if args.quick
                                                                                  else "cpp_standalone"))
    print("mode   tau_S  M      a_realised  acc_fb  agree_fb  spikes/clip")
    for r in rows:
        print(f"{r['mode']:6} {r['tau_S']:5.0f}  {r['steps_per_frame']:5.2f}  {r['retention_realised']:.4f}"
              f"      {r['accuracy_fb']:.3f}   {r['agreement_fb']:.3f}     {r['spikes_per_clip']:.0f}")
    (out / "custom_neuron_parameters.json").write_text(json.dumps(rows, indent=1))

    from lprnn_brian.analysis.plots import PALETTE, save_figure, subplots

    fig, (a1, a2) = subplots(1, 2, figsize=(7, 2.8))
    for i, mode in enumerate(("float", "loihi")):
        rs = [r for r in rows if r["mode"] == mode]
        a1.plot([r["tau_S"] for r in rs], [r["accuracy_fb"] for r in rs], "o-" if i else "s--", color=PALETTE[i],
                label=mode)
        a2.plot([r["tau_S"] for r in rs], [r["spikes_per_clip"] for r in rs], "o-" if i else "s--", color=PALETTE[i])
    a1.set(xlabel="τ_S (SNN steps per time constant)", ylabel="accuracy (fb decode)", xscale="log")
    a2.set(xlabel="τ_S (SNN steps per time constant)", ylabel="spikes per clip", xscale="log")
    a1.legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, out / "custom_neuron_parameters")
    print(f"wrote {out}/custom_neuron_parameters.(json|png|pdf)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
