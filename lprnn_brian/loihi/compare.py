"""How far the hardware arithmetic (the bit-exact emulator) lies from the Brian2 Loihi mode, and why.

:func:`divergence` runs the same drives through :func:`lprnn_brian.loihi.emulator.emulate` with
``semantics='brian2'`` (bit-identical to the Brian2 network, tests/test_loihi.py) and ``'loihi'``, plus two
variants of ``'loihi'`` that each undo one deviation of decision B7 in docs/decisions.md (u clipped instead of wrapped;
the sum truncated instead of the decayed product), and reports per layer how many spikes agree, the decode errors and
the class agreement. What is left between the "loihi, Brian2 overflow and rounding" variant and Brian2 is the
timing of the two-compartment join and of the layer-0 input (module docstring of the emulator).
"""
from __future__ import annotations

import numpy as np

from ..simulation import result_from_raw
from .emulator import emulate
from .params import LoihiNetwork
from ..compat import moved_names_of

#: The runs compared with ``semantics='brian2'``: name → emulate() keywords (not the neuron variants of
#: :data:`lprnn_brian.equations.sigma_delta.VARIANTS`).
EMULATOR_RUNS = {
    "loihi": {"semantics": "loihi"},
    "loihi, u clipped": {"semantics": "loihi", "overflow": "clip"},
    "loihi, sum truncated": {"semantics": "loihi", "rounding": "sum"},
    "loihi, u clipped, sum truncated": {"semantics": "loihi", "overflow": "clip", "rounding": "sum"},
}


def _agreement(a: np.ndarray, b: np.ndarray, lag: int = 0) -> float:
    """|A ∩ B| / |A ∪ B| of two boolean (samples, steps, n) spike arrays, B shifted ``lag`` steps later."""
    if lag:
        b = np.concatenate([b[:, lag:], np.zeros_like(b[:, :lag])], axis=1)
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def divergence(net: LoihiNetwork, drive: np.ndarray, *, max_lag: int = 4) -> dict:
    """Per layer and variant: spike agreement (Jaccard of the (sample, step, neuron) sets, also at the best lag
    0…``max_lag`` steps, Brian2 later), spike counts, RMSE and correlation of the fb decode at frame ends (ANN
    units), and per decode the class agreement with Brian2; overflow counts of every run (JSON-ready)."""
    reference = emulate(net, drive, semantics="brian2")
    ref = result_from_raw(net.spec, reference.raw, "brian2-loihi-mode")
    out = {"reference": "brian2 loihi mode (emulated bit for bit)", "n_samples": int(np.asarray(drive).shape[0]),
           "reference_overflow": reference.overflow, "variants": {}}
    for name, kw in EMULATOR_RUNS.items():
        run = emulate(net, drive, **kw)
        res = result_from_raw(net.spec, run.raw, name)
        layers = []
        for k, L in enumerate(net.layers):
            a, b = run.spikes[k], reference.spikes[k]
            lags = {lag: _agreement(a, b, lag) for lag in range(max_lag + 1)}
            best = max(lags, key=lags.get)
            fa, fb = res.frame_decodes["fb"][k].astype(float), ref.frame_decodes["fb"][k].astype(float)
            corr = float(np.corrcoef(fa.ravel(), fb.ravel())[0, 1]) if fa.std() > 0 and fb.std() > 0 else None
            layers.append({"name": L.name, "spikes": int(a.sum()), "reference_spikes": int(b.sum()),
                           "spike_agreement": lags[0], "best_lag_steps": best, "spike_agreement_at_best_lag": lags[best],
                           "fb_rmse": float(np.sqrt(np.mean((fa - fb) ** 2))), "fb_correlation": corr,
                           "overflow": run.overflow[k]})
        classes = {d: float(np.mean(res.predictions(d) == ref.predictions(d))) for d in res.decodes}
        out["variants"][name] = {"layers": layers, "class_agreement": classes}
    return out


def divergence_markdown(d: dict) -> str:
    """The divergence report as a Markdown section."""
    lines = [f"Reference: {d['reference']}, {d['n_samples']} samples. Spike agreement = |A∩B|/|A∪B| of the "
             "(sample, step, neuron) spike sets; fb RMSE in ANN units at frame ends.", ""]
    for name, v in d["variants"].items():
        cls = ", ".join(f"{k} {x:.3f}" for k, x in v["class_agreement"].items())
        lines += [f"**{name}** — class agreement: {cls}", "",
                  "| layer | spikes (vs Brian2) | agreement | best lag (agreement) | fb RMSE | fb corr | overflows |",
                  "|---|---|---|---|---|---|---|"]
        for L in v["layers"]:
            ov = ", ".join(f"{k} {n}" for k, n in L["overflow"].items())
            corr = "—" if L["fb_correlation"] is None else f"{L['fb_correlation']:.4f}"
            lines.append(f"| {L['name']} | {L['spikes']} ({L['reference_spikes']}) | {L['spike_agreement']:.3f} | "
                         f"{L['best_lag_steps']} ({L['spike_agreement_at_best_lag']:.3f}) | {L['fb_rmse']:.4f} | "
                         f"{corr} | {ov} |")
        lines.append("")
    return "\n".join(lines)


#: Names that moved out of this module still answer for one release, with a warning (:mod:`lprnn_brian.compat`).
__getattr__ = moved_names_of(__name__)
