"""Figure: the state variables of one ΣΔ neuron of the network under a step and a chirp in its drive.

The neuron is a one-unit lpff layer (a = 0.8, Δt_A = 8 ms, Loihi-integer mode), run through the package's own
Brian2 network, so what is plotted is exactly what the converted networks compute
(docs/method.md#the-adaptive-sigma-delta-neuron, docs/method.md#why-the-spikes-reproduce-the-rate-network).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "neuron_dynamics"
TITLE = "One ΣΔ neuron under a step and a chirp"
CAPTION = (
    "State variables of one ΣΔ neuron of an lpff layer (retention a = 0.8, ANN frame 8 ms, τ_S = 64 SNN steps of "
    "0.56 ms, Loihi-integer mode) simulated by Brian2. Left: a step of the layer's drive from 0 to 4 (ANN units, "
    "Iin = 6); right: a chirp 3 + 2.5 sin(2π∫f dt) with f rising linearly from 0.5 to 12 Hz. Top: the drive, the "
    "ANN state h_t (the lpRNN filter of the drive, one value per frame), the integrated input i_ip/f and the "
    "neuron's reconstruction, the fb decode −i_fb/(κf), which tracks i_ip within one feedback kick Iin/τ_S (shaded "
    "band, from "
    "`equations.derive.tracking_error_bound`). Middle: spikes, and the spike rate over 8 ms windows against the "
    "spike probability per step in each ANN frame against the ΣΔ steady-state rate c/Iin (`derive.steady_state_rate`):"
    " the rate follows the drive, not the state, because the spikes must also supply the reconstruction's own leak "
    "(K s_n = y_{n+1} − (1 − 1/τ_S) y_n with τ dh/dt = c − h). Bottom (60 ms zoom): the comparator margin "
    "(i_ip + i_fb)/f and the spikes; the neuron fires exactly at the steps where the margin exceeds the threshold θ/f "
    "(half a kick under the default threshold policy 'unbiased'; 0 for the authors' neuron; "
    "docs/method.md#the-comparators-threshold). "
    "Latency (`analysis.coding.step_latency`): the first spike follows the step within a step or two, and the "
    "reconstruction settles within two kicks of the new drive as fast as the lpRNN filter itself does "
    "(τ ln(c/tol)): the spikes add no delay beyond the rate network's own dynamics."
)

_FRAMES = 125
_FRAME_DT = 1 / 125
_IIN = 6.0


def _model():
    from ..ann import Layer, LpRNNModel

    # on the 1/8 grid: find_params picks τ_S = 64 (docs/method.md#reproduced-numbers)
    W0 = np.eye(2, dtype=np.float32) / 8
    return LpRNNModel([Layer("lpff_1", "lpff", W0, np.zeros(2, np.float32), retention=0.8),
                       Layer("output", "dense", np.full((1, 2), 0.125, np.float32), np.zeros(1, np.float32))],
                      Iin=_IIN, n_frames=_FRAMES, frame_dt=_FRAME_DT)


def drives(n_frames: int = _FRAMES, frame_dt: float = _FRAME_DT) -> np.ndarray:
    """(frames, 2) layer drive c in ANN units: a step 0 → 4 at 200 ms, and a chirp 3 + 2.5 sin(φ(t))."""
    t = np.arange(n_frames) * frame_dt
    step = np.where(t >= 0.2, 4.0, 0.0)
    f0, f1, T = 0.5, 12.0, n_frames * frame_dt
    phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / T * t ** 2)
    return np.stack([step, 3.0 + 2.5 * np.sin(phase)], axis=1)


def simulate_neurons() -> dict:
    """Run the two neurons (step, chirp); states in ANN units per SNN step, spikes, and the ANN states."""
    from ..ann.forward import forward
    from ..convert import layer0_drive, to_snn_spec
    from ..equations import derive
    from ..simulation import decode_scale
    from ..targets import Runner

    model = _model()
    c = drives()
    x = 8 * c  # W0 = I/8: the layer's drive is c
    spec = to_snn_spec(model, mode="loihi")
    with Runner(spec, "numpy", record=("i_ip", "i_fb", "v")) as runner:
        raw = runner.run(layer0_drive(x, spec))
    L = spec.layers[0]
    st = raw.states[0]
    fb = st["i_fb"] * decode_scale("fb", L)
    spikes = np.zeros((spec.n_steps, 2), bool)
    spikes[raw.spike_step[0], raw.spike_i[0]] = True
    ann = forward(model, x[None])
    bound = float(derive.tracking_error_bound().subs({derive.Iin: _IIN, derive.sd.tau_S: L.tau_S}))
    rate = derive.steady_state_rate()
    ann_h = ann.states[0][0].astype(float)
    # the rate follows the drive c, not the state: K·s_n = y_{n+1} − α y_n with y ≈ f·h and τ dh/dt = c − h
    expected_p = np.array([[float(rate.subs({derive.c: v, derive.Iin: _IIN})) for v in row] for row in c])
    # latency after the step (frame 25 = 200 ms): the first spike, and when the reconstruction settles within
    # two kicks of the drive, against the lpRNN filter's own settling time τ ln(c/tol)
    from ..analysis.coding import step_latency

    step_at = int(np.ceil(25 * spec.steps_per_frame))
    tol = 2 * bound
    spikes_after = np.flatnonzero(spikes[step_at:, 0])
    tau = derive.tau_seconds(0.8, _FRAME_DT)
    latency = {"first_spike_ms": 1e3 * spikes_after[0] * spec.dt if spikes_after.size else float("inf"),
               "snn_ms": 1e3 * step_latency(fb[:, 0], 4.0, step_at, spec.dt, tol),
               "filter_ms": 1e3 * tau * np.log(4.0 / tol)}
    return dict(latency=latency, dt=spec.dt, steps_per_frame=spec.steps_per_frame, n_steps=spec.n_steps, drive=c, ann=ann_h,
                ip=st["i_ip"] / L.factor, fb=fb, spikes=spikes, bound=bound,
                margin=(st["i_ip"] + st["i_fb"]) / L.factor, threshold=L.threshold / L.factor,
                expected_p=expected_p, tau_S=float(L.tau_S))


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Write the figure (``quick`` changes nothing: one 1,785-step run of two neurons takes seconds)."""
    from ..analysis.plots import PALETTE, save_figure, subplots

    d = simulate_neurons()
    dt, n = d["dt"], d["n_steps"]
    t_ms = np.arange(n) * dt * 1e3
    t_frame = (np.arange(_FRAMES) + 1) * _FRAME_DT * 1e3
    fig, axes = subplots(3, 2, figsize=(10, 7), gridspec_kw={"height_ratios": [3, 1.4, 1.4]})
    for col, label in enumerate(("step", "chirp")):
        ax = axes[0, col]
        ax.step(np.arange(_FRAMES) * _FRAME_DT * 1e3, d["drive"][:, col], where="post", color=PALETTE[7], lw=0.8,
                ls=":", label="drive c")
        ax.plot(t_frame, d["ann"][:, col], "o-", color=PALETTE[1], ms=2.5, lw=1, label="ANN state h_t")
        ax.plot(t_ms, d["ip"][:, col], color=PALETTE[2], lw=0.8, ls="--", label="i_ip / f (integrated input)")
        ax.plot(t_ms, d["fb"][:, col], color=PALETTE[0], lw=0.7, label="−i_fb / (κf) (reconstruction)")
        ax.fill_between(t_ms, d["ip"][:, col] - d["bound"], d["ip"][:, col] + d["bound"], color=PALETTE[5],
                        alpha=0.25, lw=0, label=f"± one kick Iin/τ_S = {d['bound']:.3f}")
        ax.set_ylabel("value (ANN units)")
        ax.set_title(f"{label} in the drive")
        if col == 0:  # the same entries in both columns; the step panel has room for them
            ax.legend(fontsize=7, frameon=False, loc="lower right")
            lat = d["latency"]
            ax.text(0.02, 0.97, f"first spike {lat['first_spike_ms']:.2f} ms after the step;\n"
                    f"−i_fb/(κf) within 2 kicks of c after {lat['snn_ms']:.0f} ms\n"
                    f"(lpRNN filter τ ln(c/tol) = {lat['filter_ms']:.0f} ms)", transform=ax.transAxes, va="top",
                    fontsize=7)
        ax = axes[1, col]
        frame = np.minimum((np.arange(n) / d["steps_per_frame"]).astype(int), _FRAMES - 1)
        per_frame = np.bincount(frame, weights=d["spikes"][:, col], minlength=_FRAMES) / np.bincount(frame)
        edges = np.arange(_FRAMES + 1) * _FRAME_DT * 1e3
        ax.stairs(per_frame, edges, color=PALETTE[0], lw=1, label="measured, per ANN frame")
        ax.stairs(d["expected_p"][:, col], edges, color=PALETTE[1], lw=1, ls="--", label="c / Iin (derived)")
        ax.set_ylim(0, 1)
        ax.set_ylabel("spikes / step")
        if col == 0:
            ax.legend(fontsize=6, frameon=False, loc="upper left", ncol=2)
        ax = axes[2, col]
        ax.plot(t_ms, d["margin"][:, col], color=PALETTE[3], lw=0.5)
        spk = np.flatnonzero(d["spikes"][:, col])
        ax.plot(spk * dt * 1e3, np.full(spk.size, 1.15 * d["bound"]), "|", color=PALETTE[0], ms=4, mew=0.6)
        ax.axhline(d["threshold"], color=PALETTE[7], lw=0.6)
        ax.text(1.0, d["threshold"], " θ/f", transform=ax.get_yaxis_transform(), fontsize=6, va="center")
        ax.set_ylabel("(i_ip + i_fb)/f")
        ax.set_xlabel("time (ms)")
        lo = 180.0 if col == 0 else 600.0
        ax.set_xlim(lo, lo + 60.0)
        ax.set_title("comparator margin and spikes (60 ms zoom)", fontsize=8)
    save_figure(fig, out / NAME)
    late = slice(int(0.4 / dt), n)  # the step's steady part: the rate against c/Iin = 4/6
    write_numbers(out, NAME, {"latency": d["latency"], "dt_s": dt, "tau_S": d["tau_S"], "kick": d["bound"],
                              "step_rate_per_step": float(d["spikes"][late, 0].mean()), "step_expected": 4.0 / _IIN})
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
