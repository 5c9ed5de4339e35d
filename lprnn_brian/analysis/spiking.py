"""Per-layer spike statistics of a network run: rates, silent neurons, interval regularity, and how close the
rate (count) reading of each layer's spikes comes to the timing-aware feedback reading of the same spikes.
"""
from __future__ import annotations

import numpy as np

from ..simulation import SimulationResult
from .fidelity import pearson


def isi_cv(events: np.ndarray, min_spikes: int = 3) -> np.ndarray:
    """Coefficient of variation of the inter-spike intervals of every (sample, neuron) train with at least
    ``min_spikes`` spikes. ``events``: (n_spikes, 3) rows (sample, neuron, step). A Poisson train has CV ≈ 1, a
    ΣΔ neuron under slowly varying drive a small CV (its spike times are set by its drive, not by chance)."""
    if events.shape[0] == 0:
        return np.zeros(0)
    order = np.lexsort((events[:, 2], events[:, 1], events[:, 0]))
    e = events[order].astype(np.int64)
    key = e[:, 0] * (int(e[:, 1].max()) + 1) + e[:, 1]
    same = key[1:] == key[:-1]
    isi = np.diff(e[:, 2]).astype(float)
    starts = np.flatnonzero(np.r_[True, ~same])
    cvs = []
    for a, b in zip(starts, np.r_[starts[1:], e.shape[0]]):
        if b - a >= min_spikes:
            iv = isi[a:b - 1]
            cvs.append(iv.std() / iv.mean())
    return np.asarray(cvs)


def layer_statistics(result: SimulationResult) -> list[dict]:
    """One record per layer: spikes per sample, mean rate (spikes/neuron/s), silent fraction, median ISI CV,
    and the correlation of the per-frame count decode with the per-frame fb decode (None where the layer
    recorded no states): near 1 means the layer's values are readable from spike counts alone."""
    spec = result.spec
    duration = spec.n_steps * spec.dt
    out = []
    for k, (name, L) in enumerate(zip(result.layer_names, spec.layers)):
        ev = result.spikes[k]
        counts = np.zeros((result.n_samples, L.n))
        np.add.at(counts, (ev[:, 0], ev[:, 1]), 1.0)
        cv = isi_cv(ev)
        fb = result.frame_decodes.get("fb", [None] * len(spec.layers))[k]
        cnt = result.frame_decodes["count"][k]
        out.append({
            "layer": name,
            "neurons": int(L.n),
            "spikes_per_sample": float(counts.sum(axis=1).mean()),
            "rate_hz": float(counts.mean() / duration),
            "spikes_per_neuron_step": float(counts.mean() / spec.n_steps),
            "silent_fraction": float(np.mean(counts.sum(axis=0) == 0)),
            "isi_cv_median": float(np.median(cv)) if cv.size else None,
            "count_vs_fb_correlation": None if fb is None else pearson(np.asarray(cnt, float), np.asarray(fb, float)),
        })
    return out
