"""SNN spec → Brian2 objects: one NeuronGroup per layer, synapses, input, monitors, explicit schedule.

Every operation gets its slot from :data:`lprnn_brian.equations.sigma_delta.SCHEDULE`; nothing relies on
Brian2 sorting objects by name (decision S1 in docs/decisions.md). The code strings come from
:func:`lprnn_brian.equations.render.render`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy
from brian2 import (Clock, EventMonitor, Function, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, second)

from .ann.model import READOUT_WINDOWS
from .convert import SNNSpec, frame_end_steps, hold_steps
from .equations.render import STIMULUS, render, update_code, update_factors
from .equations.sigma_delta import SCHEDULE, SLOT
from .errors import UserInputError

#: State variables recorded by default (every layer, every step).
DEFAULT_RECORD = ("i_fb", "i_ip", "i_in")
#: How states are recorded: every step (StateMonitor), at ANN frame ends plus read-out-window sums in every
#: layer, or (``readout``) the same for the read-out layer only (hidden layers record spikes only). Ordered from
#: the most recorded to the least (:func:`lprnn_brian.targets.resolve_layout` falls back along it).
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
    stimulus: TimedArray | FrameStimulus
    spike_monitors: list[SpikeMonitor]
    state_monitors: list[StateMonitor | None]
    record: tuple[str, ...]
    synapses: list[Synapses] = field(default_factory=list)
    n_steps: int = 0
    batch: int = 1
    sampling: str = "steps"
    propagation: str = "synapses"
    sample_monitors: list = field(default_factory=list)  # per layer: frame-end EventMonitor or None
    #: per layer: the row layout's :class:`lprnn_brian.spike_record.SpikeRecorder` (its ``spike_monitors`` entry is
    #: then None), or None
    spike_recorders: list = field(default_factory=list)
    windows: dict = field(default_factory=dict)  # window name -> first summed step
    kernels: list = field(default_factory=list)  # row-propagation descriptions
    sample_flag: TimedArray | None = None
    #: per ANN frame, the step whose start-of-step state is its sample (:func:`lprnn_brian.convert.frame_end_steps`);
    #: frames may share a step (fewer than 2 steps per frame: the last two frames both end at n_steps − 1)
    frame_ends: np.ndarray | None = None

    @property
    def duration(self):
        """Run length, n_steps·Δt_S (a Brian2 quantity)."""
        return self.groups[0].clock.dt * self.n_steps

    @property
    def namespace(self) -> dict:
        """Namespace to pass to ``Network.run``: the layer-0 drive (and the sampling flags)."""
        ns = {STIMULUS: self.stimulus.function if isinstance(self.stimulus, FrameStimulus) else self.stimulus}
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


def tile_copies(value, n: int, batch: int) -> np.ndarray:
    """A per-layer scalar or per-neuron (n,) parameter for ``batch`` copies of the layer: (batch·n,)."""
    return np.tile(np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)), batch)


def set_parameters(group: NeuronGroup, L, batch: int) -> None:
    """Write a layer's parameters (:class:`lprnn_brian.convert.LayerParams`) into the NeuronGroup of ``batch``
    copies of it: the time constants, the bias, the kick and the threshold mantissa of the declaration."""
    group.tau_I, group.tau_V = tile_copies(L.tau_I, L.n, batch), tile_copies(L.tau_V, L.n, batch)
    group.tau_U, group.tau_S = L.tau_U, L.tau_S
    group.b_tilde = tile_copies(L.b_tilde, L.n, batch)
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
        the ANN frame ends (:func:`lprnn_brian.convert.frame_end_steps`, through a custom event and an
        EventMonitor) and summed over each read-out window (n ≥ ⌊n_steps/2⌋ and all steps) in per-neuron
        accumulators ``sum_<window>_<state>``: every decode at a fraction of the recording cost.
        ``'readout'``: as ``'frames'``, but in the read-out (last) layer only; the hidden layers record their
        spikes and nothing else (the class decodes and per-frame read-out at the least cost).
    propagation : {'synapses', 'rows'}
        Brian2 ``Synapses`` (every target), or whole weight rows per spike (:mod:`lprnn_brian.propagation`,
        ``cpp_standalone`` only; identical results). The row layout also runs each layer's per-neuron operations
        that no recording separates as one pass (:func:`step_blocks`; same results, fewer passes over the
        states) and, under the zero-order hold, takes the layer-0 drive per ANN frame (:class:`FrameStimulus`);
        the synapses layout keeps one named operation per slot and a TimedArray, the objects
        :mod:`lprnn_brian.explore` hands to users.
    device : brian2 Device, optional
        The active device (needed for ``propagation='rows'``).
    zero_weight_synapses : bool
        Create every pre × post synapse, zero weights included, as a plain all-to-all ``connect()`` does (the
        original research code's way; same spikes, more synaptic events). Default: zero weights, which never
        act, get no synapse.
    """
    check_layout(batch, sampling, propagation)
    B = int(batch)
    eqs = render(spec.mode)
    dt = spec.dt * second
    if stimulus_values is None:
        stimulus_values = np.zeros((spec.n_steps, B * spec.layers[0].n))
    # one explicitly named clock: generated code (and so the standalone build) does not depend on how
    # many clocks this process created before
    clock = Clock(dt=dt, name=f"{name_prefix}snn_clock")
    if propagation == "rows" and spec.resample == "hold":
        stimulus = FrameStimulus(spec, B, f"{name_prefix}{STIMULUS}")
        stimulus.set_drive(stimulus_values)
    else:
        stimulus = TimedArray(np.ascontiguousarray(stimulus_values, dtype=np.float64), dt=dt, name=STIMULUS)
    frames = frame_sampling(spec, record, sampling, dt)
    parts = _Parts()
    for k, L in enumerate(spec.layers):
        sampled = k in frames.layers
        records = bool(record) and (sampled or sampling == "steps")
        g = _layer_group(L, k == 0, eqs, frames if sampled else None, clock, f"{name_prefix}{L.name}", B,
                         parts.objects, records=records, fuse=propagation == "rows")
        projections = [(f"{g.name}_{kind}", pre, W) for kind, pre, W in layer_projections(k, L, g, parts.groups)]
        if propagation == "synapses":
            for name, pre, W in projections:
                syn = all_to_all_synapses(pre, g, W, eqs, name, clock, B, zero_weight_synapses)
                parts.synapses.append(syn)
                parts.objects.append(syn)
        elif projections:
            parts.objects.extend(_row_kernels(g, projections, clock, B, device, parts.kernels,
                                              exact_sums=spec.mode == "loihi"))
        _layer_monitors(g, record, sampling, frames.windows if sampled else None, parts,
                        recorder=(B, spec.n_steps, device, clock) if propagation == "rows" else None)
    return BrianNetwork(Network(*parts.objects), parts.groups, stimulus, parts.spike_mons, parts.state_mons,
                        tuple(record), parts.synapses, n_steps=spec.n_steps, batch=B, sampling=sampling,
                        propagation=propagation, sample_monitors=parts.sample_mons, windows=frames.windows,
                        kernels=parts.kernels, sample_flag=frames.flag, frame_ends=frames.ends,
                        spike_recorders=parts.recorders)


class FrameStimulus:
    """The layer-0 drive of a row-layout network per ANN frame: a C++ function ``stimulus(t, i)`` that returns
    frame ⌊n/M⌋'s value for step n = round(t/Δt_S) (:func:`lprnn_brian.convert.hold_steps`), from an array of
    (n_frames, batch·n0) doubles, the values of :func:`lprnn_brian.convert.input_frames`. It stands where the
    TimedArray of the per-step drive stands in the other layouts, and gives the same doubles: the drive per step
    is that array held over each frame's steps. A standalone binary reads the array from its ``static_arrays``
    file (:attr:`file_name`) when it starts, so a new batch of inputs is a new file of M times fewer values than
    the per-step drive (a 1,785-step SHD sample: 125 frames).

    Only layer 0's own update (a loop over the whole group, index = ``i``) calls it, so the C++ reads column ``i``
    by the loop index (Brian2's ``auto_vectorise``): a contiguous read, and the update loop is vectorised like
    the other layers' (a read at the loaded ``i`` is a gather, which the compiler cannot tell apart from the
    state arrays it writes)."""

    def __init__(self, spec: SNNSpec, batch: int, name: str = STIMULUS):
        self.name = name
        self.steps = hold_steps(spec.n_frames, spec)
        self.shape = (spec.n_frames, batch * spec.layers[0].n)
        self.file_name = f"{name}_frames"
        self.values = np.zeros(self.shape)
        n_cols, n_steps = self.shape[1], len(self.steps)
        code = f"""
    static inline double {name}(const double _t, const int32_t _i, const size_t _vectorisation_idx)
    {{
        // the step of time t (t = n·dt up to rounding), clamped to the run, and the frame it holds
        int32_t _n = (int32_t)(_t * {1.0 / spec.dt!r} + 0.5);
        _n = _n < 0 ? 0 : (_n > {n_steps - 1} ? {n_steps - 1} : _n);
        // column i, read by the loop index (= i in the layer's own update, the only caller): a contiguous read
        // the compiler vectorises, where a read at the loaded i is a gather it cannot separate from the states
        return _namespace{self.file_name}[(size_t)_namespace{name}_step_frame[_n] * {n_cols} + _vectorisation_idx];
    }}
    """
        self.function = Function(_frame_stimulus_python, arg_units=[second, 1], return_unit=1,
                                 arg_types=["float", "integer"], return_type="float", stateless=True,
                                 auto_vectorise=True)
        self.function.implementations.add_implementation(
            "cpp", code, name=name,
            namespace={self.file_name: self.values.ravel(), f"{name}_step_frame": self.steps.astype(np.int32)})

    def frames_of_drive(self, drive: np.ndarray) -> np.ndarray:
        """The per-frame values of a per-step drive (n_steps, batch·n0); refused unless the drive holds each frame's
        value over its steps (the drives of :func:`lprnn_brian.convert.layer0_drive` under the zero-order hold do)."""
        drive = np.asarray(drive, dtype=np.float64)
        if drive.shape != (len(self.steps), self.shape[1]):
            raise UserInputError(f"drive of shape {drive.shape} for a network of {len(self.steps)} steps and "
                                 f"{self.shape[1]} layer-0 neurons")
        frames = np.zeros(self.shape)
        frames[self.steps] = drive
        if not np.array_equal(frames[self.steps], drive):
            raise UserInputError("the row layout takes its input per ANN frame and this drive changes within a frame; "
                                 "use layer0_drive's zero-order hold, or propagation='synapses' for any per-step drive")
        return frames

    def set_drive(self, drive: np.ndarray) -> None:
        """Set the values (before the build) from a per-step drive (:meth:`frames_of_drive`)."""
        self.values[...] = self.frames_of_drive(drive)


def _frame_stimulus_python(t, i, _vectorisation_idx=None):  # pragma: no cover - the row layout runs on cpp_standalone only
    raise NotImplementedError("the per-frame stimulus is a cpp_standalone function (propagation='rows')")


@dataclass
class FrameSampling:
    """How states are sampled at the ANN frame ends (``sampling='frames'``/``'readout'``): the layers that do
    (none under ``'steps'`` or without recorded states), the custom event flagging the frame-end steps, its
    TimedArray, the read-out windows (name -> first summed step) and the per-neuron window-sum variables."""

    layers: frozenset = frozenset()
    events: dict = field(default_factory=dict)
    flag: TimedArray | None = None
    windows: dict = field(default_factory=dict)
    sum_variables: str = ""
    ends: np.ndarray | None = None  # frame_end_steps(spec): the flagged step of every frame, repeats included


def frame_sampling(spec: SNNSpec, record: tuple[str, ...], sampling: str, dt) -> FrameSampling:
    """The :class:`FrameSampling` of ``sampling`` (every layer, the read-out only, or none)."""
    from .ann.forward import readout_start

    layers = frozenset(range(len(spec.layers)) if sampling == "frames" else
                       [len(spec.layers) - 1] if sampling == "readout" else [])
    if not (layers and record):
        return FrameSampling()
    ends = frame_end_steps(spec)
    flags = np.zeros(spec.n_steps)
    flags[ends] = 1.0  # a step shared by two frames (M < 2) is flagged, and recorded, once
    windows = {w: readout_start(spec.n_steps, w) for w in READOUT_WINDOWS}
    return FrameSampling(layers, {"frame_end": f"{SAMPLE_FLAG}(t) > 0.5"}, TimedArray(flags, dt=dt, name=SAMPLE_FLAG),
                         windows, "\n".join(f"sum_{w}_{v} : 1" for w in windows for v in record), ends)


@dataclass
class _Parts:
    """The Brian2 objects of a network under construction, in creation order, and their handles."""

    objects: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    spike_mons: list = field(default_factory=list)
    state_mons: list = field(default_factory=list)
    sample_mons: list = field(default_factory=list)
    synapses: list = field(default_factory=list)
    kernels: list = field(default_factory=list)
    recorders: list = field(default_factory=list)


#: The per-neuron operations of a layer, each a ``run_regularly`` in its slot of the schedule (the code strings of
#: :class:`lprnn_brian.equations.render.RenderedNeuron` of the same names).
PER_NEURON_OPERATIONS = ("clip", "truncate", "input", "update")


def step_blocks(codes: dict, records: bool, fuse: bool) -> list[tuple[str, list[str]]]:
    """The layer's per-neuron operations as ``run_regularly`` blocks: (slot operation, operations), in the order of
    :data:`lprnn_brian.equations.sigma_delta.SCHEDULE`.

    ``codes`` maps each operation the layer has to its code. Unfused, every operation is its own block in its own
    slot. Fused, consecutive operations become one block in the first one's slot: each touches only its own
    neuron's variables, so running them back to back per neuron is the same computation as running each over the
    group in turn; a slot that reads the states in between (``record``, when the layer ``records``) or an operation
    that is not per-neuron (threshold, synapses, reset) ends a block."""
    blocks, current = [], []
    for op in SCHEDULE:
        if op.name in PER_NEURON_OPERATIONS:
            if op.name in codes:
                current.append(op.name)
        elif op.name == "record" and not records:
            continue
        if op.name not in PER_NEURON_OPERATIONS or not fuse:
            if current:
                blocks.append((current[0], current))
            current = []
    if current:
        blocks.append((current[0], current))
    return blocks


def _factor_values(L, expr: sympy.Expr):
    """The values of an update factor (:func:`lprnn_brian.equations.render.update_factors`, a function of one of the
    layer's per-neuron time constants) for the ``L.n`` neurons of layer ``L``, or one float when every neuron has the
    same (the same double either way: the expression is evaluated per value)."""
    (tau,) = expr.free_symbols  # a per-neuron time constant of the layer (tau_I, tau_V)
    values = np.asarray(sympy.lambdify(tau, expr, "numpy")(np.broadcast_to(getattr(L, str(tau)), (L.n,))),
                        dtype=np.float64)
    return float(values[0]) if values.size and np.all(values == values[0]) else values


def _layer_group(L, first: bool, eqs, frames: FrameSampling | None, clock: Clock, name: str, batch: int,
                 objects: list, records: bool = True, fuse: bool = False) -> NeuronGroup:
    """The NeuronGroup of ``batch`` copies of layer ``L`` with its threshold, reset and per-step operations in their
    slots (the input only in the first layer; the frame event and window sums where ``frames`` is given; with
    ``fuse``, the row layout's: the per-neuron operations that no recording separates in one pass,
    :func:`step_blocks`, and the branch-free spike threshold, :mod:`lprnn_brian.threshold_kernel`), appended to
    ``objects``."""
    model = eqs.model if frames is None else eqs.model + "\n" + frames.sum_variables
    codes = {"clip": eqs.clip, "truncate": eqs.truncate, "input": eqs.input if first else "", "update": eqs.update}
    factors = {}
    if fuse:  # the update's per-neuron factors stored once instead of divided for at every step (render.update_factors)
        factors = {name: _factor_values(L, expr) for name, expr in update_factors().items()}
        # a factor one value for the whole layer is a shared scalar: the neuron loop then reads one array less
        model += "".join(f"\n{name} : 1 ({'shared, constant' if np.ndim(values) == 0 else 'constant'})"
                         for name, values in factors.items())
        codes["update"] = update_code(hoisted=True)
    g = NeuronGroup(batch * L.n, model, threshold=eqs.threshold, reset=eqs.reset, clock=clock, order=0, name=name,
                    events=None if frames is None else dict(frames.events))
    g.thresholder["spike"].when, g.thresholder["spike"].order = SLOT["threshold"]
    if fuse:  # the row layout: cpp_standalone only (check_layout)
        from .threshold_kernel import use_branch_free_threshold

        use_branch_free_threshold(g)
    g.resetter["spike"].when, g.resetter["spike"].order = SLOT["reset"]
    set_parameters(g, L, batch)
    for name, values in factors.items():
        setattr(g, str(name), values if np.ndim(values) == 0 else tile_copies(values, L.n, batch))
    objects.append(g)
    for slot, ops in step_blocks({k: v for k, v in codes.items() if v}, records, fuse):
        objects.append(g.run_regularly("\n".join(codes[op] for op in ops), name=f"{g.name}_{'_'.join(ops)}",
                                       **_slot(slot)))
    return g


def _layer_monitors(g: NeuronGroup, record: tuple[str, ...], sampling: str, windows: dict | None,
                    parts: _Parts, recorder: tuple | None = None) -> None:
    """The monitors of one layer: spikes (a SpikeMonitor, or with ``recorder`` = (batch, n_steps, device, clock) the
    row layout's :class:`lprnn_brian.spike_record.SpikeRecorder` in its slot); the recorded states every step
    (``sampling='steps'``), or at the frame ends with the window sums (a frame-sampled layer, ``windows`` given), or
    none."""
    rec_when, rec_order = SLOT["record"]
    sm = rec = None
    if recorder is None:
        sm = SpikeMonitor(g, name=f"{g.name}_spikes", when="thresholds", order=1)
        parts.objects.append(sm)
    else:
        from .spike_record import SpikeRecorder

        batch, n_steps, device, clock = recorder
        if device is None:
            raise ValueError("propagation='rows' needs the active cpp_standalone device")
        rec = SpikeRecorder(g, batch, n_steps, device, f"{g.name}_record_spikes")
        driver = NeuronGroup(1, "recorded : integer", clock=clock, name=f"{g.name}_spike_recorder",
                             namespace={rec.name: rec.function})
        parts.objects.extend([driver, driver.run_regularly(f"recorded = {rec.name}(t_in_timesteps)",
                                                           name=f"{g.name}_record_spikes", when="thresholds",
                                                           order=1)])
    st = em = None
    if record and sampling == "steps":
        st = StateMonitor(g, list(record), record=True, name=f"{g.name}_states", when=rec_when, order=rec_order)
    elif windows is not None:
        g.thresholder["frame_end"].when, g.thresholder["frame_end"].order = rec_when, rec_order
        em = EventMonitor(g, "frame_end", variables=list(record), record=True, name=f"{g.name}_frames",
                          when=rec_when, order=rec_order + 1)
        sums = "\n".join(f"sum_{w}_{v} += {v} * int(t_in_timesteps >= {start})"
                         for w, start in windows.items() for v in record)
        parts.objects.append(g.run_regularly(sums, name=f"{g.name}_window_sums", when=rec_when, order=rec_order))
        parts.objects.append(em)
    parts.sample_mons.append(em)
    parts.objects.extend([st] if st is not None else [])
    parts.groups.append(g)
    parts.spike_mons.append(sm)
    parts.recorders.append(rec)
    parts.state_mons.append(st)


def _row_kernels(post: NeuronGroup, projections: list, clock: Clock, batch: int, device, kernels: list,
                 exact_sums: bool = False) -> list:
    """Per row-propagation function of the projections into ``post`` ((name, presynaptic group, W), feed-forward
    first: :func:`lprnn_brian.propagation.target_propagation`), a driver group, one neuron per network copy, whose
    ``run_regularly`` calls it for its copy in the synapses slot, in the projections' order (that of Brian2's
    synapses by name). With OpenMP threads, Brian2 splits the loop over copies between threads."""
    from .propagation import target_propagation

    if device is None:
        raise ValueError("propagation='rows' needs the active cpp_standalone device")
    objects = []
    when, first = SLOT["synapses"]
    for order, (fname, func, infos) in enumerate(target_propagation(post, projections, batch, device,
                                                                     exact_sums=exact_sums)):
        kernels.extend(infos)
        base = fname.removesuffix("_rows")
        driver = NeuronGroup(batch, "done : integer", clock=clock, name=f"{base}_driver", namespace={fname: func})
        objects += [driver, driver.run_regularly(f"done = {fname}(i)", name=f"{base}_propagate", when=when,
                                                 order=first + order)]
    return objects


#: Prefix of the per-neuron copies of the recorded states that the targets without a monitor slot of their own
#: (GeNN, brian2lava) take at the record slot, and record at the end of the step (:func:`copy_monitors`).
RECORD_PREFIX = "rec_"


def layer_projections(k: int, L, g: NeuronGroup, groups: list) -> list[tuple[str, NeuronGroup, np.ndarray]]:
    """What drives layer ``k`` (spec layer ``L``, group ``g``; ``groups``: the groups of the layers below): ('ff', the
    previous layer's group, W) from the second layer on, and ('rec', g, U) if the layer is recurrent."""
    return ([("ff", groups[-1], L.W_snn)] if k > 0 else []) + ([("rec", g, L.U_snn)] if L.U_snn is not None else [])


def projection_synapses(k: int, L, g: NeuronGroup, groups: list, eqs, clock: Clock, batch: int,
                        suffix: str = "") -> list[Synapses]:
    """:func:`all_to_all_synapses` for every projection of :func:`layer_projections`, named
    ``<group>_<ff|rec><suffix>``."""
    return [all_to_all_synapses(pre, g, W, eqs, f"{g.name}_{kind}{suffix}", clock, batch)
            for kind, pre, W in layer_projections(k, L, g, groups)]


def copy_monitors(g: NeuronGroup, record: tuple[str, ...]) -> tuple[SpikeMonitor, StateMonitor | None]:
    """The monitors of a target that copies states (GeNN, brian2lava): spikes at the threshold slot, and the copies
    ``rec_<state>`` of ``record`` (none without) at the end of every step."""
    sm = SpikeMonitor(g, name=f"{g.name}_spikes", when="thresholds", order=1)
    st = StateMonitor(g, [f"{RECORD_PREFIX}{v}" for v in record], record=True, name=f"{g.name}_states",
                      when="end", order=0) if record else None
    return sm, st


def all_to_all_synapses(pre: NeuronGroup, post: NeuronGroup, W: np.ndarray, eqs, name: str, clock: Clock,
                        batch: int = 1, zero_weights: bool = False) -> Synapses:
    """Dense synapses with weight W[post, pre] within each of ``batch`` network copies (``pre`` and ``post``
    hold the copies side by side), using the synapse model and ``on_pre`` of ``eqs`` (a
    :class:`lprnn_brian.equations.render.RenderedNeuron`) and the synapses slot of the schedule; zero weights
    are not created (they never act) unless ``zero_weights``."""
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
