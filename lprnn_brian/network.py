"""SNN spec → Brian2 objects: one NeuronGroup per layer, synapses, input, monitors, explicit schedule.

Every operation gets its slot from :data:`lprnn_brian.equations.sigma_delta.SCHEDULE`; nothing relies on
Brian2 sorting objects by name (decision §11 S1). The code strings come from
:func:`lprnn_brian.equations.render.render`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Clock, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray, second

from .convert import SNNSpec
from .equations.render import STIMULUS, render
from .equations.sigma_delta import SLOT

#: State variables recorded by default (every layer, every step).
DEFAULT_RECORD = ("i_fb", "i_ip", "i_in")


@dataclass
class BrianNetwork:
    """The Brian2 objects of one SNN, with handles needed to run and read it."""

    network: Network
    groups: list[NeuronGroup]
    stimulus: TimedArray
    spike_monitors: list[SpikeMonitor]
    state_monitors: list[StateMonitor | None]
    record: tuple[str, ...]
    synapses: list[Synapses] = field(default_factory=list)
    n_steps: int = 0

    @property
    def duration(self):
        """Run length, n_steps·Δt_S (a Brian2 quantity)."""
        return self.groups[0].clock.dt * self.n_steps

    @property
    def namespace(self) -> dict:
        """Namespace to pass to ``Network.run``: the layer-0 drive."""
        return {STIMULUS: self.stimulus}


def _slot(name: str) -> dict:
    when, order = SLOT[name]
    return {"when": when, "order": order}


def build_network(
    spec: SNNSpec,
    *,
    record: tuple[str, ...] = DEFAULT_RECORD,
    stimulus_values: np.ndarray | None = None,
    name_prefix: str = "",
) -> BrianNetwork:
    """Create the Brian2 network of ``spec`` under the currently active Brian2 device.

    Parameters
    ----------
    spec : SNNSpec
        Output of :func:`lprnn_brian.convert.to_snn_spec`.
    record : tuple of str
        State variables recorded every step in every layer (at ``start``/order 3).
    stimulus_values : ndarray, optional
        Layer-0 drive X of shape (n_steps, n0); zeros if not given (standalone runs set it per sample).
    """
    eqs = render(spec.mode)
    dt = spec.dt * second
    n0 = spec.layers[0].n
    if stimulus_values is None:
        stimulus_values = np.zeros((spec.n_steps, n0))
    # one explicitly named clock: generated code (and so the standalone build) does not depend on how
    # many clocks this process created before
    clock = Clock(dt=dt, name=f"{name_prefix}snn_clock")
    stimulus = TimedArray(np.ascontiguousarray(stimulus_values, dtype=np.float64), dt=dt, name=STIMULUS)
    objects: list = []
    groups, spike_mons, state_mons, synapses = [], [], [], []
    for k, L in enumerate(spec.layers):
        g = NeuronGroup(
            L.n, eqs.model, threshold=eqs.threshold, reset=eqs.reset, clock=clock, order=0,
            name=f"{name_prefix}{L.name}",
        )
        g.thresholder["spike"].when, g.thresholder["spike"].order = SLOT["threshold"]
        g.resetter["spike"].when, g.resetter["spike"].order = SLOT["reset"]
        g.tau_I, g.tau_U, g.tau_V, g.tau_S = L.tau_I, L.tau_U, L.tau_V, L.tau_S
        g.b_tilde = L.b_tilde
        g.kick = L.kick
        g.vth_mant = 0
        objects.append(g)
        objects.append(g.run_regularly(eqs.clip, name=f"{g.name}_clip", **_slot("clip")))
        if eqs.truncate:
            objects.append(g.run_regularly(eqs.truncate, name=f"{g.name}_truncate", **_slot("truncate")))
        if k == 0:
            objects.append(g.run_regularly(eqs.input, name=f"{g.name}_input", **_slot("input")))
        objects.append(g.run_regularly(eqs.update, name=f"{g.name}_update", **_slot("update")))
        if k > 0:
            syn = _all_to_all(groups[-1], g, L.W_snn, eqs, f"{g.name}_ff", clock)
            synapses.append(syn)
            objects.append(syn)
        if L.U_snn is not None:
            syn = _all_to_all(g, g, L.U_snn, eqs, f"{g.name}_rec", clock)
            synapses.append(syn)
            objects.append(syn)
        sm = SpikeMonitor(g, name=f"{g.name}_spikes", when="thresholds", order=1)
        st = StateMonitor(g, list(record), record=True, name=f"{g.name}_states", **_slot("record")) if record else None
        objects += [sm] + ([st] if st is not None else [])
        groups.append(g)
        spike_mons.append(sm)
        state_mons.append(st)
    net = Network(*objects)
    return BrianNetwork(net, groups, stimulus, spike_mons, state_mons, tuple(record), synapses, n_steps=spec.n_steps)


def _all_to_all(pre: NeuronGroup, post: NeuronGroup, W: np.ndarray, eqs, name: str, clock: Clock) -> Synapses:
    """Dense synapses with weight W[post, pre]; zero weights are not created (they never act)."""
    post_idx, pre_idx = np.nonzero(W)
    syn = Synapses(pre, post, model=eqs.synapse_model, on_pre=eqs.on_pre, name=name, order=0, clock=clock)
    syn.connect(i=pre_idx.astype(np.int32), j=post_idx.astype(np.int32))
    syn.w = W[post_idx, pre_idx]
    when, order = SLOT["synapses"]
    syn.pre.when, syn.pre.order = when, order
    return syn
