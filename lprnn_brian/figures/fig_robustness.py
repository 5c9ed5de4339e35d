"""Figure: robustness to spike-time jitter and spike deletion, for single encoders (decoding SNR) and for the
network (class agreement and accuracy of the read-out recomputed from the perturbed spikes)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, write_numbers

NAME = "robustness"
TITLE = "Robustness to spike jitter and deletion"
CAPTION = (
    "Top: the band-limited signal of the SNR figure encoded at about 220 spikes/s by each neuron (settings of the "
    "noise-shaping figure); every spike moved by a rounded Gaussian shift of s.d. σ (left) or deleted with "
    "probability p (right), then read out by the best linear decoder (cross-validated FIR, "
    "`analysis.comparison.linear_decoding`). Jitter leaves counts unchanged, so it costs a Poisson rate code "
    "nothing until σ reaches the signal's time scale, while the ΣΔ neuron's (and the LIF's) precisely timed spikes "
    "lose their noise shaping once σ exceeds about a step; a deleted spike is an error the ΣΔ loop never "
    "corrected, so 10 % deletion costs it ~25 dB, and a Poisson code, already count-noise limited, little. Bottom: the bundled digits "
    "network (Loihi mode; quick: 4 test clips on numpy, full: 64 on the fast cpp_standalone path): the read-out "
    "recomputed offline from the last hidden layer's perturbed spikes (`analysis.coding.robustness`; the hidden "
    "layers are not re-run), class agreement with the unperturbed network and accuracy. σ in SNN steps of 0.56 ms. The paper's "
    "read-out averages its decode over the second half of the clip (~890 steps), so what reaches the classifier "
    "is in effect a spike count: jitter far beyond the filter time constant, and deletion (which scales all "
    "logits alike), barely change the class."
)

SIGMAS_MS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
NET_SIGMAS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def single_neuron(quick: bool = False, seed: int = 0) -> dict:
    """SNR of every encoder's best linear read-out under jitter (σ in ms) and deletion."""
    from ..analysis.coding import delete_events, dense_spikes, jitter_events
    from ..analysis.comparison import comparison_signal, encode, linear_decoding, signal_at
    from .fig_noise_shaping import MATCHED

    rng = np.random.default_rng(seed)
    x = comparison_signal(20.0 if quick else 60.0, rng)
    out = {}
    for name, knob in MATCHED:
        (train,), (dt,) = encode(name, x, np.array([knob]), rng=rng)
        xs = signal_at(x, dt, len(train))
        steps = np.flatnonzero(train)
        events = np.stack([np.zeros_like(steps), steps], axis=1)

        def snr(ev):
            return linear_decoding(xs, dense_spikes(ev, len(train), 1)[:, 0], dt, 2.0).snr_db

        out[name] = {
            "rate_hz": float(train.mean() / dt),
            "jitter_snr_db": [snr(jitter_events(events, ms * 1e-3 / dt, len(train), rng)) for ms in SIGMAS_MS],
            "delete_snr_db": [snr(delete_events(events, p, rng)) for p in FRACTIONS],
        }
    return out


def network(quick: bool = False, seed: int = 0) -> dict:
    """The digits network's read-out under perturbation of the last hidden layer's spikes."""
    from ..analysis.coding import robustness
    from ..ann.model import load_model
    from ..convert import to_snn_spec
    from ..bundled import bundled_model_path
    from ..simulation import simulate
    from ..tasks.digits import load_digits

    n = 4 if quick else 64
    x, y, _ = load_digits("test")
    x, y = x[:n], y[:n]
    spec = to_snn_spec(load_model(bundled_model_path()), mode="loihi", n_frames=x.shape[1])
    if quick:
        res = simulate(spec, x, target="numpy", record=("i_fb",))
    else:
        res = simulate(spec, x, target="cpp_standalone", batch=32, sampling="readout", propagation="rows")
    rows = robustness(res, NET_SIGMAS, FRACTIONS, seed=seed, labels=y)
    return {"n_samples": n, "snn_accuracy_fb": float(np.mean(res.predictions("fb") == y)), "rows": rows}


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    from ..analysis.comparison import ENCODERS, LABELS
    from ..analysis.plots import PALETTE, save_figure, subplots

    single = single_neuron(quick, seed)
    net = network(quick, seed)
    fig, axes = subplots(2, 2, figsize=(10, 7))
    markers = dict(zip(ENCODERS, "os^vD"))
    for k, name in enumerate(ENCODERS):
        r = single[name]
        lab = f"{LABELS[name]} ({r['rate_hz']:.0f}/s)"
        axes[0, 0].plot(np.array(SIGMAS_MS[1:]), r["jitter_snr_db"][1:], markers[name] + "-", color=PALETTE[k],
                        ms=4, lw=1, label=lab)
        axes[0, 0].axhline(r["jitter_snr_db"][0], color=PALETTE[k], lw=0.5, ls=":")
        axes[0, 1].plot(FRACTIONS, r["delete_snr_db"], markers[name] + "-", color=PALETTE[k], ms=4, lw=1, label=lab)
    axes[0, 0].set_xscale("log")
    axes[0, 0].set_xlabel("jitter σ (ms)  (dotted: no jitter)")
    axes[0, 0].set_ylabel("SNR of the best linear read-out (dB)")
    axes[0, 0].legend(fontsize=6.5, frameon=False)
    axes[0, 1].set_xlabel("deleted fraction of spikes")
    axes[0, 1].set_ylabel("SNR (dB)")
    for col, kind, levels, xlabel in ((0, "jitter", NET_SIGMAS, "jitter σ (SNN steps)"),
                                      (1, "delete", FRACTIONS, "deleted fraction of spikes")):
        ax = axes[1, col]
        rows = [r for r in net["rows"] if r["perturbation"] == kind]
        lv = np.array([r["level"] for r in rows])
        xs = np.maximum(lv, 0.5) if kind == "jitter" else lv  # σ = 0 drawn at 0.5 on the log axis
        ax.plot(xs, [r["agreement"] for r in rows], "o-", color=PALETTE[0], label="agreement with unperturbed SNN")
        ax.plot(xs, [r["accuracy"] for r in rows], "s--", color=PALETTE[1], label="accuracy")
        if kind == "jitter":
            ax.set_xscale("log")
        ax.set_ylim(0, 1.03)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"digits network, {net['n_samples']} clips")
        tw = ax.twinx()
        tw.plot(xs, [r["rmse"] for r in rows], "^:", color=PALETTE[2], ms=4, label="read-out decode RMS change")
        tw.set_ylabel("RMS change of the time-mean decode (ANN units)", fontsize=8)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = tw.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, frameon=False, loc="lower left")
    save_figure(fig, out / NAME)
    write_numbers(out, NAME, {"single_neuron": single, "network": net})
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
