"""SNN spec → Brian2 objects: one NeuronGroup per layer, synapses, input, monitors, explicit schedule.

Every operation gets its slot from :data:`lprnn_brian.equations.sigma_delta.SCHEDULE`; nothing relies on
Brian2 sorting objects by name (decision §11 S1). The code strings come from
:func:`lprnn_brian.equations.render.render`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import (Clock, EventMonitor, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray,
                    second)

from .convert import SNNSpec
from .equations.render import STIMULUS, render
from .equations.sigma_delta import SLOT
from .errors import UserInputError

#: State variables recorded by default (every layer, every step).
DEFAULT_RECORD = ("i_fb", "i_ip", "i_in")
#: How states are recorded: every step (StateMonitor), at ANN frame ends plus read-out-window sums in every
#: layer, or (``readout``) the same for the read-out layer only (hidden layers record spikes only).
SAMPLINGS = ("steps", "frames", "readout")
#: How spikes reach their targets: Brian2 Synapses, or whole weight rows (:mod:`lprnn_brian.propagation`).
PROPAGATIONS = ("synapses", "rows")
#: Name of the TimedArray flagging the steps whose states are sampled (``sampling='frames'``/``'readout'``).
SAMPLE_FLAG = "frame_end_flag"


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
    batch: int = 1
    sampling: str = "steps"
    propagation: str = "synapses"
    sample_monitors: list = field(default_factory=list)  # per layer: frame-end EventMonitor or None
    windows: dict = field(default_factory=dict)  # window name -> first summed step
    kernels: list = field(default_factory=list)  # row-propagation descriptions
    sample_flag: TimedArray | None = None

    @property
    def duration(self):
        """Run length, n_steps·Δt_S (a Brian2 quantity)."""
        return self.groups[0].clock.dt * self.n_steps

    @property
    def namespace(self) -> dict:
        """Namespace to pass to ``Network.run``: the layer-0 drive (and the sampling flags)."""
        ns = {STIMULUS: self.stimulus}
        if self.sample_flag is not None:
            ns[SAMPLE_FLAG] = self.sample_flag
        return ns


def check_layout(batch: int, sampling: str, propagation: str, target: str | None = None) -> None:
    """Refuse a batch that is not a positive integer, an unknown sampling or propagation, and row propagation
    on a target other than ``cpp_standalone`` (when ``target`` is given)."""
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise UserInputError(f"batch must be a positive integer, got {batch!r}")
    if sampling not in SAMPLINGS:
        raise UserInputError(f"unknown sampling {sampling!r}; choose one of {SAMPLINGS}")
    if propagation not in PROPAGATIONS:
        raise UserInputError(f"unknown propagation {propagation!r}; choose one of {PROPAGATIONS}")
    if propagation == "rows" and target not in (None, "cpp_standalone"):
        raise UserInputError(f"propagation='rows' is a cpp_standalone kernel; use propagation='synapses' on {target}")


def _tile(value, n: int, batch: int) -> np.ndarray:
    """A per-layer scalar or per-neuron (n,) parameter for ``batch`` copies of the layer: (batch·n,)."""
    return np.tile(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)), batch)


def set_parameters(group: NeuronGroup, L, batch: int) -> None:
    """Write a layer's parameters (:class:`lprnn_brian.convert.LayerParams`) into the NeuronGroup of ``batch``
    copies of it: the time constants, the bias, the kick and the threshold mantissa of the declaration."""
    group.tau_I, group.tau_V = _tile(L.tau_I, L.n, batch), _tile(L.tau_V, L.n, batch)
    group.tau_U, group.tau_S = L.tau_U, L.tau_S
    group.b_tilde = _tile(L.b_tilde, L.n, batch)
    group.kick = L.kick
    group.vth_mant = L.vth_mant


def _slot(name: str) -> dict:
    when, order = SLOT[name]
    return {"when": when, "order": order}


def build_network(
    spec: SNNSpec,
    *,
    record: tuple[str, ...] = DEFAULT_RECORD,
    stimulus_values: np.ndarray | None = None,
    name_prefix: str = "",
    batch: int = 1,
    sampling: str = "steps",
    propagation: str = "synapses",
    device=None,
    zero_weight_synapses: bool = False,
) -> BrianNetwork:
    """Create the Brian2 network of ``spec`` under the currently active Brian2 device.

    Parameters
    ----------
    spec : SNNSpec
        Output of :func:`lprnn_brian.convert.to_snn_spec`.
    record : tuple of str
        State variables recorded in every layer (at ``start``/order 3, before the step's update).
    stimulus_values : ndarray, optional
        Layer-0 drive X of shape (n_steps, batch·n0); zeros if not given (standalone runs set it per run).
    batch : int
        Independent copies of the network simulated together: every group holds ``batch`` copies of its
        layer (copy b: neurons b·n … b·n + n − 1), synapses connect only within a copy, and copy b reads
        columns b·n0 … of the drive. Each copy computes exactly what a single network does.
    sampling : {'steps', 'frames', 'readout'}
        ``'steps'``: a StateMonitor records ``record`` every step. ``'frames'``: the states are recorded only at
        the ANN frame ends (:func:`lprnn_brian.simulation.frame_end_steps`, through a custom event and an
        EventMonitor) and summed over each read-out window (n ≥ ⌊n_steps/2⌋ and all steps) in per-neuron
        accumulators ``sum_<window>_<state>``: every decode at a fraction of the recording cost.
        ``'readout'``: as ``'frames'``, but in the read-out (last) layer only; the hidden layers record their
        spikes and nothing else (the class decodes and per-frame read-out at the least cost).
    propagation : {'synapses', 'rows'}
        Brian2 ``Synapses`` (every target), or whole weight rows per spike (:mod:`lprnn_brian.propagation`,
        ``cpp_standalone`` only; identical results).
    device : brian2 Device, optional
        The active device (needed for ``propagation='rows'``).
    zero_weight_synapses : bool
        Create every pre × post synapse, zero weights included, as a plain all-to-all ``connect()`` does (the
        original research code's way; same spikes, more synaptic events). Default: zero weights, which never
        act, get no synapse.
    """
    from .ann.forward import readout_start
    from .simulation import frame_end_steps

    check_layout(batch, sampling, propagation)
    B = int(batch)
    eqs = render(spec.mode)
    dt = spec.dt * second
    n0 = spec.layers[0].n
    if stimulus_values is None:
        stimulus_values = np.zeros((spec.n_steps, B * n0))
    # one explicitly named clock: generated code (and so the standalone build) does not depend on how
    # many clocks this process created before
    clock = Clock(dt=dt, name=f"{name_prefix}snn_clock")
    stimulus = TimedArray(np.ascontiguousarray(stimulus_values, dtype=np.float64), dt=dt, name=STIMULUS)
    model = eqs.model
    events: dict = {}
    windows: dict = {}
    sample_flag = None
    rec_when, rec_order = SLOT["record"]
    sampled = set(range(len(spec.layers)) if sampling == "frames" else
                  [len(spec.layers) - 1] if sampling == "readout" else [])
    if sampled and record:
        flags = np.zeros(spec.n_steps)
        flags[frame_end_steps(spec)] = 1.0
        sample_flag = TimedArray(flags, dt=dt, name=SAMPLE_FLAG)
        events = {"frame_end": f"{SAMPLE_FLAG}(t) > 0.5"}
        windows = {w: readout_start(spec.n_steps, w) for w in ("second_half", "all")}
        model = model + "\n" + "\n".join(f"sum_{w}_{v} : 1" for w in windows for v in record)
    objects: list = []
    groups, spike_mons, state_mons, sample_mons, synapses, kernels = [], [], [], [], [], []
    for k, L in enumerate(spec.layers):
        here = k in sampled and bool(record)
        g = NeuronGroup(
            B * L.n, model if here else eqs.model, threshold=eqs.threshold, reset=eqs.reset, clock=clock,
            order=0, name=f"{name_prefix}{L.name}", events=dict(events) if here else None,
        )
        g.thresholder["spike"].when, g.thresholder["spike"].order = SLOT["threshold"]
        g.resetter["spike"].when, g.resetter["spike"].order = SLOT["reset"]
        set_parameters(g, L, B)
        objects.append(g)
        objects.append(g.run_regularly(eqs.clip, name=f"{g.name}_clip", **_slot("clip")))
        if eqs.truncate:
            objects.append(g.run_regularly(eqs.truncate, name=f"{g.name}_truncate", **_slot("truncate")))
        if k == 0:
            objects.append(g.run_regularly(eqs.input, name=f"{g.name}_input", **_slot("input")))
        objects.append(g.run_regularly(eqs.update, name=f"{g.name}_update", **_slot("update")))
        projections = []
        if k > 0:
            projections.append(("ff", groups[-1], L.W_snn))
        if L.U_snn is not None:
            projections.append(("rec", g, L.U_snn))
        for order, (kind, pre, W) in enumerate(projections):
            name = f"{g.name}_{kind}"
            if propagation == "synapses":
                syn = _all_to_all(pre, g, W, eqs, name, clock, B, zero_weight_synapses)
                synapses.append(syn)
                objects.append(syn)
            else:
                objects += _row_kernel(pre, g, W, name, clock, B, device, order, kernels)
        sm = SpikeMonitor(g, name=f"{g.name}_spikes", when="thresholds", order=1)
        st = em = None
        if record and sampling == "steps":
            st = StateMonitor(g, list(record), record=True, name=f"{g.name}_states", when=rec_when,
                              order=rec_order)
        elif here:
            g.thresholder["frame_end"].when, g.thresholder["frame_end"].order = rec_when, rec_order
            em = EventMonitor(g, "frame_end", variables=list(record), record=True, name=f"{g.name}_frames",
                              when=rec_when, order=rec_order + 1)
            sums = "\n".join(f"sum_{w}_{v} += {v} * int(t_in_timesteps >= {start})"
                             for w, start in windows.items() for v in record)
            objects.append(g.run_regularly(sums, name=f"{g.name}_window_sums", when=rec_when, order=rec_order))
            objects.append(em)
        sample_mons.append(em)
        objects += [sm] + ([st] if st is not None else [])
        groups.append(g)
        spike_mons.append(sm)
        state_mons.append(st)
    net = Network(*objects)
    return BrianNetwork(net, groups, stimulus, spike_mons, state_mons, tuple(record), synapses, n_steps=spec.n_steps,
                        batch=B, sampling=sampling, propagation=propagation, sample_monitors=sample_mons,
                        windows=windows, kernels=kernels, sample_flag=sample_flag)


def _row_kernel(pre: NeuronGroup, post: NeuronGroup, W: np.ndarray, name: str, clock: Clock, batch: int, device,
                order: int, kernels: list) -> list:
    """A driver group, one neuron per network copy, whose ``run_regularly`` calls the row-propagation function
    of one projection for its copy in the synapses slot (feed-forward at order 0, recurrent at 1: the order of
    Brian2's synapses by name). With OpenMP threads, Brian2 splits the loop over copies between threads."""
    from .propagation import row_propagation

    if device is None:
        raise ValueError("propagation='rows' needs the active cpp_standalone device")
    func, info = row_propagation(f"{name}_rows", pre, post, W, batch, device)
    info["name"] = name
    kernels.append(info)
    driver = NeuronGroup(batch, "done : integer", clock=clock, name=f"{name}_driver",
                         namespace={f"{name}_rows": func})
    when, first = SLOT["synapses"]
    op = driver.run_regularly(f"done = {name}_rows(i)", name=f"{name}_propagate", when=when, order=first + order)
    return [driver, op]


def _all_to_all(pre: NeuronGroup, post: NeuronGroup, W: np.ndarray, eqs, name: str, clock: Clock,
                batch: int = 1, zero_weights: bool = False) -> Synapses:
    """Dense synapses with weight W[post, pre] within each of ``batch`` network copies; zero weights are not
    created (they never act) unless ``zero_weights``."""
    post_idx, pre_idx = np.nonzero(np.ones_like(W) if zero_weights else W)
    n_post, n_pre = W.shape
    offsets = np.arange(batch)
    syn = Synapses(pre, post, model=eqs.synapse_model, on_pre=eqs.on_pre, name=name, order=0, clock=clock)
    syn.connect(i=(pre_idx[None, :] + n_pre * offsets[:, None]).ravel().astype(np.int32),
                j=(post_idx[None, :] + n_post * offsets[:, None]).ravel().astype(np.int32))
    syn.w = np.tile(W[post_idx, pre_idx], batch)
    when, order = SLOT["synapses"]
    syn.pre.when, syn.pre.order = when, order
    return syn
