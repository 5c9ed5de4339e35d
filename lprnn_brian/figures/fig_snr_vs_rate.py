"""Figure: decoding SNR and information per spike against the spike rate, for the same signal encoded by the ΣΔ
neuron, LIF, ALIF, SFA and a Poisson rate code (:func:`lprnn_brian.analysis.comparison.rate_sweep`)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "snr_vs_rate"
TITLE = "Reconstruction SNR vs spike rate (ΣΔ vs LIF vs ALIF vs SFA vs Poisson)"
CAPTION = (
    "One band-limited signal (Gaussian, flat to 2 Hz, mean 0.5, s.d. 0.15; 60 s, quick: 20 s) encoded by one neuron "
    "of each kind, each swept over its own rate knob: the ΣΔ neuron over its step size at a fixed physical τ = 35.9 "
    "ms (τ_S = 1…64 steps; its rate per step is set by the drive), LIF/ALIF/SFA over their input gain at their "
    "published 1 ms step, the Poisson code over its full-scale probability. Left: SNR of the best linear read-out "
    "(a ±0.5 s FIR decoder fitted on the first half, scored on the second), with the least-squares slope over each "
    "curve's rising part (filled markers) in the legend. Right: information per spike, the Gaussian-channel "
    "estimate 2 Hz·log2(1 + SNR) divided by the rate. Theory: first-order noise shaping gives 30 dB/decade "
    "(the in-band share of an error of amplitude ∝ 1/rate spread over a band ∝ rate), a Poisson code 10 dB/decade. "
    "A LIF reset by subtraction is itself a first-order ΣΔ modulator and follows the same slope until it "
    "saturates at one spike per step; the adaptive neurons' nonlinear rate curves cap a linear read-out."
)


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    from ..analysis.comparison import ENCODERS, LABELS, rate_sweep
    from ..analysis.plots import PALETTE, save_figure, subplots

    res = rate_sweep(duration=20.0 if quick else 60.0, quick=quick, seed=seed)
    markers = dict(zip(ENCODERS, "os^vD"))
    fig, (a1, a2) = subplots(1, 2, figsize=(10, 4))
    for k, name in enumerate(ENCODERS):
        r = res[name]
        rate, snr, fit = np.array(r["rate_hz"]), np.array(r["snr_db"]), np.array(r["fitted"], bool)
        slope = r["slope_db_per_decade"]
        label = LABELS[name] + ("" if slope is None else f": {slope:+.1f} dB/decade")
        a1.plot(rate, snr, "-", color=PALETTE[k], lw=1)
        a1.plot(rate[fit], snr[fit], markers[name], color=PALETTE[k], ms=5, label=label)
        a1.plot(rate[~fit], snr[~fit], markers[name], color=PALETTE[k], ms=5, mfc="none")
        a2.plot(rate, r["bits_per_spike"], markers[name] + "-", color=PALETTE[k], ms=4, lw=1, label=LABELS[name])
    x0 = np.array([10.0, 1000.0])
    for slope, ls, txt in ((30.0, "--", "30 dB/decade"), (10.0, ":", "10 dB/decade")):
        a1.plot(x0, -10 + slope * np.log10(x0 / 10.0), ls, color=PALETTE[7], lw=0.8, label=f"reference {txt}")
    a1.set_xscale("log")
    a1.set_xlabel("spike rate (spikes / s)")
    a1.set_ylabel("SNR of the best linear read-out (dB)")
    a1.set_ylim(-5, None)
    a1.legend(fontsize=7, frameon=False)
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("spike rate (spikes / s)")
    a2.set_ylabel("information per spike (bits)")
    save_figure(fig, out / NAME)
    write_numbers(out, NAME, res)
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
