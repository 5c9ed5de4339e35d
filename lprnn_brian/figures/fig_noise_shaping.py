"""Figure: the spectrum of each encoder's coding error (spike train minus what the signal explains linearly) at
matched spike rates: first-order ΣΔ noise shaping against the flat error of a Poisson rate code."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "noise_shaping"
TITLE = "Noise shaping: power spectrum of the coding error"
CAPTION = (
    "The same band-limited signal as in the SNR figure (flat to 2 Hz) encoded at about 220 spikes/s by each "
    "neuron (ΣΔ: τ_S = 16 steps of 2.24 ms; LIF R = 10, SFA R = 20, ALIF R_m = 5 and Poisson p = 0.5 at 1 ms). "
    "Coding error = the spike train scaled to signal units (mean rate ↔ mean signal) minus the part of it a "
    "linear filter of the signal explains; above the signal band that is the spike train itself. Welch PSD "
    "(`analysis.coding.error_spectrum`, 4 s segments), slopes fitted from 10 to 100 Hz "
    "(`analysis.coding.spectral_slope`) in the legend. Dashed: the ΣΔ neuron's derived error shaping "
    "|E(e^{iω})|² = 1 + 2τ_S(τ_S − 1)(1 − cos ω) (`equations.derive.error_power_gain`), a flat floor up to the "
    "corner f_c ≈ 1/(2π τ_S Δt_S) = 1/(2πτ) = 4.4 Hz (`derive.error_corner_frequency`) and +20 dB/decade above, "
    "scaled to the measured ΣΔ level at 20 Hz. The Poisson code's error is white (0 dB/decade); the lpRNN's "
    "signal band lies below the ΣΔ corner, where the shaped error is smallest."
)

#: (encoder, knob) at about 220 spikes/s for a mean drive of 0.5 (see analysis.comparison.KNOBS).
MATCHED = (("sigma_delta", 16.0), ("lif", 10.0), ("alif", 5.0), ("sfa", 20.0), ("poisson", 0.5))
BAND = (10.0, 100.0)


def coding_error(x: np.ndarray, spikes: np.ndarray, dt: float) -> np.ndarray:
    """Spike train (scaled so its mean equals the signal's) minus its projection on the band-limited signal and
    its derivative (the ΣΔ train carries x + τ dx/dt; a rate code a lagged x): what no linear read-out of the
    signal band can use."""
    s = np.asarray(spikes, float) * (x.mean() / max(np.mean(spikes), 1e-12))
    dx = np.gradient(x, dt)
    lag = np.r_[x[:1].repeat(int(round(0.02 / dt))), x][:len(x)]  # a 20 ms lag, the rate codes' membrane delay
    A = np.column_stack([x, dx, lag, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(A, s, rcond=None)
    return s - A @ coef


def spectra(quick: bool = False, seed: int = 0) -> dict:
    from ..analysis.coding import error_spectrum, spectral_slope
    from ..analysis.comparison import comparison_signal, encode, signal_at

    rng = np.random.default_rng(seed)
    duration = 20.0 if quick else 60.0
    x = comparison_signal(duration, rng)
    out = {}
    for name, knob in MATCHED:
        (train,), (dt,) = encode(name, x, np.array([knob]), rng=rng)
        xs = signal_at(x, dt, len(train))
        err = coding_error(xs, train, dt)
        f, psd = error_spectrum(err, dt, nperseg=int(round(4.0 / dt)))
        out[name] = {"knob": knob, "dt": float(dt), "rate_hz": float(np.mean(train) / dt), "freq": f.tolist(),
                     "psd": psd.tolist(), "slope_db_per_decade": spectral_slope(f, psd, BAND)}
    return out


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    from ..analysis.comparison import ENCODERS, LABELS
    from ..analysis.plots import PALETTE, save_figure, subplots
    from ..equations import derive

    res = spectra(quick, seed)
    fig, ax = subplots(figsize=(7, 4.5))
    styles = dict(zip(ENCODERS, ("-", "--", "-.", ":", "-")))
    for k, name in enumerate(ENCODERS):
        r = res[name]
        f, p = np.array(r["freq"][1:]), np.array(r["psd"][1:])
        ax.plot(f, p, styles[name], color=PALETTE[k], lw=1,
                label=f"{LABELS[name]}, {r['rate_hz']:.0f} spikes/s: {r['slope_db_per_decade']:+.1f} dB/decade")
    sd_ = res["sigma_delta"]
    fn = derive.coding_functions()
    f = np.array(sd_["freq"][1:])
    gain = fn["error_power_gain"](2 * np.pi * f * sd_["dt"], sd_["knob"])
    ref = np.interp(20.0, f, np.array(sd_["psd"][1:])) / np.interp(20.0, f, gain)
    ax.plot(f, ref * gain, "--", color=PALETTE[7], lw=1.2, label="ΣΔ derived shaping |E|² (scaled at 20 Hz)")
    fc = float(fn["error_corner"](sd_["knob"])) / (2 * np.pi * sd_["dt"])
    ax.axvline(fc, color=PALETTE[7], lw=0.6, ls=":")
    ax.text(fc * 1.05, 0.02, f"ΣΔ corner {fc:.1f} Hz", fontsize=7, rotation=90, va="bottom",
            transform=ax.get_xaxis_transform())
    ax.axvspan(f[0], 2.0, color=PALETTE[5], alpha=0.15, lw=0, label="signal band (0–2 Hz)")
    ax.set_xlim(f[0], 500.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("coding error PSD ((signal units)² / Hz)")
    ax.legend(fontsize=6.5, frameon=False, loc="upper left")
    save_figure(fig, out / NAME)
    summary = {k: {kk: vv for kk, vv in v.items() if kk not in ("freq", "psd")} for k, v in res.items()}
    write_numbers(out, NAME, summary)
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
