"""Monitors back to numbers: the spikes and recorded states of a run network, one :class:`RawRun` per sample.

Every target reads its monitors through :func:`read_runs` (runtime monitors, or the standalone device's result
files loaded by Brian2), so a sample's output has one shape on every target.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawRun:
    """One sample's raw output, per layer: spikes (neuron index, step) and the recorded states, either every
    step (``states``: (n_steps, n) each) or at the frame ends (``frame_states``: (frames, n) each) with their
    sums over each read-out window (``window_sums[state][window]``: (n,)); a layer that recorded no states
    (the hidden layers under ``sampling='readout'``) has empty dicts."""

    spike_i: list[np.ndarray]
    spike_step: list[np.ndarray]
    states: list[dict[str, np.ndarray]]
    frame_states: list[dict[str, np.ndarray]] | None = None
    window_sums: list[dict[str, dict[str, np.ndarray]]] | None = None


def read_runs(bn, dt: float, n_used: int | None = None) -> list[RawRun]:
    """Read the monitors of a run network ``bn`` (:class:`lprnn_brian.network.BrianNetwork`, Δt_S = ``dt``)
    back: one :class:`RawRun` per network copy (the first ``n_used`` copies, default all)."""
    B = bn.batch
    n_used = B if n_used is None else n_used
    sampled = bn.sampling != "steps"
    runs = [RawRun([], [], [], [] if sampled else None, [] if sampled else None) for _ in range(n_used)]
    recorders = bn.spike_recorders or [None] * len(bn.groups)
    for k, (g, sm, st) in enumerate(zip(bn.groups, bn.spike_monitors, bn.state_monitors)):
        n = g.N // B
        if recorders[k] is not None:  # the row layout's recorder: per copy already, integer steps
            from brian2 import get_device

            recorded = recorders[k].read(get_device().results_dir, n_used)
        else:
            i = np.array(sm.i[:], dtype=np.int64)  # copy: runtime monitors reuse their buffers
            step = np.rint(np.asarray(sm.t_[:]) / dt).astype(np.int32)
            # spikes of each copy, in recorded (time) order: one stable sort (a radix sort on 16-bit keys)
            copy = (i // n).astype(np.int16 if B < 2**15 else np.int64)
            by_copy = np.argsort(copy, kind="stable")
            bounds = np.searchsorted(copy[by_copy], np.arange(n_used + 1))
            recorded = []
            for b in range(n_used):
                mine = by_copy[bounds[b]:bounds[b + 1]]
                recorded.append(((i[mine] - b * n).astype(np.int32), step[mine]))
        states = {v: np.asarray(getattr(st, v)[:]).T for v in bn.record} if st is not None else {}
        # a layer without a frame monitor (a hidden layer under 'readout') recorded nothing: empty dicts
        frames, sums = ({}, {}) if sampled else (None, None)
        em = bn.sample_monitors[k] if sampled else None
        if em is not None:
            ev_i = np.asarray(em.i[:], dtype=np.int64)
            ev_step = np.rint(np.asarray(em.t_[:]) / dt).astype(np.int64)
            steps = np.unique(ev_step)
            row = np.searchsorted(steps, ev_step)
            # one row per frame: a step that ends two frames (M < 2 steps per frame) is recorded once and
            # serves both; without the network's frame ends, one row per recorded step
            per_frame = (np.searchsorted(steps, bn.frame_ends) if bn.frame_ends is not None
                         else np.arange(len(steps)))
            for v in bn.record:
                a = np.empty((len(steps), g.N))
                a[row, ev_i] = np.asarray(getattr(em, v)[:])
                frames[v] = a[per_frame]
            sums = {v: {w: np.asarray(getattr(g, f"sum_{w}_{v}")[:]) for w in bn.windows} for v in bn.record}
        for b in range(n_used):
            runs[b].spike_i.append(recorded[b][0])
            runs[b].spike_step.append(recorded[b][1])
            runs[b].states.append({v: a[:, b * n:(b + 1) * n].copy() for v, a in states.items()})
            if frames is not None:
                runs[b].frame_states.append({v: a[:, b * n:(b + 1) * n].copy() for v, a in frames.items()})
                runs[b].window_sums.append({v: {w: a[b * n:(b + 1) * n].copy() for w, a in d.items()}
                                            for v, d in sums.items()})
    return runs
