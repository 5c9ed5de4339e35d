"""The converted network of one input as Brian2 objects, to explore by hand: add monitors, change parameters,
inject currents, call ``run()`` yourself, and still decode the result with the package.

::

    import lprnn_brian as lb

    ex = lb.explore(lb.bundled_model_path(), clip)      # clip: (frames, features); numpy target, Loihi mode
    net = ex.network                                    # a brian2.Network; every object has a name
    mon = ex.state_monitor("lprnn_1", ["v", "i_fb"], record=[0, 1])  # a StateMonitor in the package's slot
    ex.set_tau_S("lpff_1", 32)                          # a layer's feedback time constant, kick and threshold
    ex.inject("lprnn_2", 0.5, neurons=[3])              # +0.5 (ANN units) on neuron 3's pre-activation
    net.run(ex.duration)                                # your own run, n_steps·Δt_S
    result = ex.result()                                # a SimulationResult, as lb.simulate returns

**Names.** Each layer ``L`` of the model (``lpff_1``, ``lprnn_1``, …, ``output`` for the bundled digits) is one
``NeuronGroup`` named ``L`` holding the declared states ``i_ip``, ``i_in``, ``v``, ``i_fb`` and parameters
``tau_I``, ``tau_V`` (per neuron), ``tau_U``, ``tau_S``, ``kick``, ``vth_mant`` (one per layer), ``b_tilde`` (per
neuron); all are dimensionless integer units, and time constants are in SNN steps. Its per-step operations are
``L_clip``, ``L_truncate`` (Loihi mode), ``L_input`` (the first layer: ``i_ip += stimulus(t, i)/tau_U``) and
``L_update``; its synapses are ``L_ff`` (from the layer before) and ``L_rec`` (recurrent); its monitors ``L_spikes``
and ``L_states`` (the recorded states, every step). The layer-0 drive X is the ``TimedArray`` ``stimulus``
(:attr:`Exploration.stimulus`), in the groups' own namespace, so that a plain ``net.run(duration)`` finds it.
Every operation has an explicit slot of :data:`lprnn_brian.equations.sigma_delta.SCHEDULE` (an injected current
:data:`INJECT_SLOT`); give yours one too (``when=``, ``order=``) rather than rely on Brian2's order by name.

**Units.** Durations and Δt_S are Brian2 quantities (:attr:`Exploration.duration`, :attr:`Exploration.dt`); a
time constant given to :meth:`Exploration.set_tau_S` may be a Brian2 time or a number of SNN steps; injected
currents are in ANN units (:meth:`Exploration.inject`).

**Targets.** ``numpy`` and ``cython`` (Brian2's runtime device: run as often as you like, read any monitor at any
time) and ``cpp_standalone``: the network is generated, compiled and run by the first ``net.run()`` (Brian2's
``build_on_run``), in the build directory that :class:`lprnn_brian.targets.Runner` uses for the same spec and
recorded states (a model simulated before compiles only what changed). A standalone network runs once; change it
before ``run()``. Only one standalone network exists per process: whatever needs Brian2's device next (a new
exploration, :func:`lprnn_brian.simulate` or a :class:`~lprnn_brian.targets.Runner` on any target) closes a
standalone exploration (:meth:`Exploration.close`, which keeps its package decodes readable); none can be made
while a standalone :class:`~lprnn_brian.targets.Runner` is open.
"""
from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path

import numpy as np
from brian2 import Network, Quantity, StateMonitor, TimedArray, second
from brian2.core.namespace import get_local_namespace
from brian2.utils.stringtools import get_identifiers

from .ann.forward import check_inputs
from .ann.model import LpRNNModel, load_model
from .convert import DECAY_DENOMINATOR, DEFAULT_THRESHOLD, SNNSpec, comparator, layer0_drive, to_snn_spec
from .equations.render import render
from .equations.sigma_delta import ACTIVATION_SHIFT, SLOT, STATE, VARIANTS
from .errors import UserInputError
from .network import DEFAULT_RECORD, build_network
from .simulation import SimulationResult, result_from_raw
from .targets import device
from .targets.base import RunConfig
from .targets.build_dir import BuildDirectory, default_build_root
from .targets.readback import RawRun, read_runs
from .targets.standalone import build_tag

#: Targets an exploration runs on: Brian2's runtime device (numpy, cython) and cpp_standalone.
EXPLORE_TARGETS = ("numpy", "cython", "cpp_standalone")
#: Slot of an injected current (:meth:`Exploration.inject`): right after the one-step update (``groups``, order 0),
#: where it acts exactly as an extra bias b̃ would (i_ip ← update(i_ip) + Δ).
INJECT_SLOT = ("groups", 1)


def explore(
    model: LpRNNModel | SNNSpec | str | Path,
    x: np.ndarray,
    *,
    mode: str | None = None,
    threshold: str | None = None,
    target: str = "numpy",
    record: tuple[str, ...] | None = None,
    build_root: str | Path | None = None,
) -> "Exploration":
    """The Brian2 network of ``model`` driven by one input ``x``, ready for your monitors, changes and ``run()``.

    Parameters
    ----------
    model : LpRNNModel, SNNSpec or path
        A rate network (or its model file), converted here with ``n_frames`` = the frames of ``x``; or a converted
        network (its ``n_frames`` must be those of ``x``).
    x : ndarray
        One input, (frames, features) float (or (1, frames, features)).
    mode : {'loihi', 'float'}, optional
        Conversion mode (default ``'loihi'``); for an SNNSpec, None or the spec's own mode.
    threshold : {'unbiased', 'zero'}, optional
        Threshold policy of the conversion (default ``'unbiased'``); not for an SNNSpec.
    target : {'numpy', 'cython', 'cpp_standalone'}
        Brian2's runtime device with numpy or Cython code, or the C++ standalone device.
    record : tuple of str, optional
        States the package's monitors ``<layer>_states`` record every step (default ``i_fb``, ``i_ip``, ``i_in``:
        every decode of :meth:`Exploration.result`).
    build_root : path, optional
        Where standalone builds live (default :func:`lprnn_brian.targets.default_build_root`).

    Returns
    -------
    Exploration
        The network (not yet run) and its handles.
    """
    if target not in EXPLORE_TARGETS:
        raise UserInputError(f"explore runs on {EXPLORE_TARGETS}, not {target!r} (use lb.simulate for the others)")
    spec, model = _spec_for(model, x, mode, threshold)
    x = check_inputs(x, spec.layers[0].W_ann.shape[1])
    if x.shape[0] != 1:
        raise UserInputError(f"explore takes one input (frames, features), got {x.shape[0]} samples")
    if x.shape[1] != spec.n_frames:
        raise UserInputError(f"the input has {x.shape[1]} frames but the network was converted for {spec.n_frames}; "
                             "pass the model instead of its spec, or convert with n_frames=len(x)")
    record = tuple(DEFAULT_RECORD if record is None else record)
    unknown = [v for v in record if v not in {str(s) for s in STATE}]
    if unknown:
        raise UserInputError(f"unknown state(s) {unknown}; the neuron's states are {[str(s) for s in STATE]}")
    return Exploration(spec, x[0], target, record, Path(build_root) if build_root else default_build_root(), model)


def _spec_for(model, x, mode: str | None, threshold: str | None) -> tuple[SNNSpec, LpRNNModel | None]:
    """(the converted network, the rate network or None): ``model`` itself (an SNNSpec), or the conversion of the
    model (or model file) for the frames of ``x``."""
    if isinstance(model, SNNSpec):
        if mode not in (None, model.mode):
            raise UserInputError(f"the spec was converted in {model.mode!r} mode; convert the model again for {mode!r}")
        if threshold is not None:
            raise UserInputError("threshold is a conversion option: pass the model instead of its spec")
        return model, None
    if isinstance(model, (str, Path)):
        model = load_model(model)
    if not isinstance(model, LpRNNModel):
        raise UserInputError(f"explore takes an LpRNNModel, an SNNSpec or a model file, got {type(model).__name__}")
    frames = np.shape(x)[-2] if np.ndim(x) >= 2 else None
    spec = to_snn_spec(model, mode=mode or "loihi", n_frames=frames, threshold=threshold or DEFAULT_THRESHOLD)
    return spec, model


class Exploration:
    """A converted network of one input as Brian2 objects (made by :func:`explore`).

    Attributes
    ----------
    spec : SNNSpec
        The converted network (the parameters it was built with; :meth:`effective_spec` gives those it holds now).
    network : brian2.Network
        Every object, by name (module docstring): ``network['lprnn_1']``, ``network['lprnn_1_rec']``, …
    groups : list of brian2.NeuronGroup
        One per layer, in order.
    target : str
    x : ndarray
        The input, (frames, features).
    drive : ndarray
        The layer-0 drive X, (n_steps, n0), the values of :attr:`stimulus`.
    model : LpRNNModel or None
        The rate network, when one was given.
    """

    #: A standalone exploration is closed by whoever needs Brian2's device next (a new exploration, a Runner,
    #: :func:`lprnn_brian.simulate`): it keeps its package results (:meth:`close`).
    gives_way = True

    def __init__(self, spec: SNNSpec, x: np.ndarray, target: str, record: tuple[str, ...], build_root: Path,
                 model: LpRNNModel | None = None):
        self.spec, self.x, self.target, self.model, self._record = spec, x, target, model, record
        self.drive = layer0_drive(x, spec)
        self.directory: BuildDirectory | None = None
        self.bn = self.network = self.groups = None
        self._raw: RawRun | None = None
        self._ran_spec = spec
        self._closed = False
        self._injections = self._monitors = 0
        self._bias: dict[int, np.ndarray] = {}
        device.use_compile_args()
        device.require_free()  # closes a standalone exploration (one standalone network per process)
        try:
            if target == "cpp_standalone":
                self._claim_standalone(RunConfig(spec, target, record), build_root)
            else:
                device.use_runtime(target)
            self.bn = build_network(spec, record=record, stimulus_values=self.drive)
        except Exception:
            self.close()
            raise
        for g in self.bn.groups:  # a plain net.run() finds the drive (and injected currents) in the group
            g.namespace = dict(self.bn.namespace)
        self.network = self.bn.network = ExploredNetwork(*self.bn.network.objects,
                                                          package_objects=self.bn.network.objects)
        self.groups = self.bn.groups

    def _claim_standalone(self, config: RunConfig, build_root: Path) -> None:
        """Hold the standalone device, build into the Runner's directory of this spec, run on the first ``run()``."""
        from brian2 import prefs

        gc.collect()  # Brian2 objects of closed networks still awaiting collection would rename this build's
        device.claim_standalone(self, ("devices.cpp_standalone.openmp_threads",))
        self.directory = BuildDirectory(build_root, build_tag(config))
        prefs.devices.cpp_standalone.openmp_threads = 0
        device.activate("cpp_standalone", build_on_run=True, directory=str(self.directory.path), with_output=False)

    # --- what it holds -------------------------------------------------------------------------------
    @property
    def layer_names(self) -> list[str]:
        """The layers' names, which are their groups' names."""
        return [L.name for L in self.spec.layers]

    @property
    def dt(self):
        """The SNN step Δt_S (a Brian2 time)."""
        return self.spec.dt * second

    @property
    def duration(self):
        """The input's length, n_steps·Δt_S (a Brian2 time): what ``network.run`` must cover for :meth:`result`."""
        return self.spec.n_steps * self.dt

    @property
    def stimulus(self):
        """The ``TimedArray`` of the layer-0 drive X (:attr:`drive`): ``stimulus(t, i)``."""
        return self.bn.stimulus

    @property
    def record(self) -> tuple[str, ...]:
        """The states the package's ``<layer>_states`` monitors record."""
        return self._record

    def __getitem__(self, name: str):
        """The network's object called ``name`` (``ex['lprnn_1']``, ``ex['lprnn_1_states']``, …)."""
        return self._open().network[name]

    def group(self, layer: int | str):
        """The NeuronGroup of a layer, by index or name."""
        return self._open().groups[self._index(layer)]

    def object_names(self) -> list[str]:
        """The names of every object in the network, sorted."""
        return sorted(obj.name for obj in self._open().network.objects)

    def __repr__(self) -> str:
        if self._closed:
            return f"<Exploration on {self.target}, closed>"
        layers = ", ".join(f"{g.name} ({g.N})" for g in self.groups)
        return (f"<Exploration on {self.target}, {self.spec.mode} mode: {self.spec.n_steps} steps of "
                f"{self.dt!r} = {self.duration!r}; layers {layers}; objects: {', '.join(self.object_names())}>")

    # --- changing it -----------------------------------------------------------------------------------
    def state_monitor(self, layer: int | str, variables=tuple(str(s) for s in STATE), *, record=True,
                      name: str | None = None):
        """A StateMonitor of ``layer`` added to the network, recording ``variables`` (default every declared state)
        of the neurons ``record`` (True: all) in the package's record slot (``start``, order 3): the state before
        each step's update, as ``<layer>_states`` and the decodes read it. Named ``name``, by default
        ``<layer>_monitor_<k>`` (k = 1, 2, … in this exploration). Returns the monitor."""
        g = self.group(layer)
        when, order = SLOT["record"]
        self._monitors += 1  # a fixed name (not Brian2's "*"): a later build of the same changes compiles nothing new
        mon = StateMonitor(g, list(variables), record=record, when=when, order=order,
                           name=name or f"{g.name}_monitor_{self._monitors}")
        self.network.add(mon)
        return mon

    def set_tau_S(self, layer: int | str, tau_S) -> dict:
        """Give a layer the feedback (reconstruction) time constant ``tau_S`` (a Brian2 time, or SNN steps), with
        the kick and threshold that the conversion's threshold policy chooses for it
        (:func:`lprnn_brian.convert.comparator`): the reconstruction keeps its gain κ and centring, and its ripple
        is one kick, Iin/τ_S in ANN units (docs/method.md). The next layer's synaptic filter τ_U and the weights
        keep their converted values.

        Setting ``group.tau_S`` alone also works, but leaves the kick (so κ = kick·τ_S/Iin_snn changes; the
        decodes of :meth:`result` use the values the group holds). In Loihi mode τ_S must be 4096/d steps for an
        integer d (a 12-bit decay). Before ``run()`` on cpp_standalone; at any time on the runtime targets.
        Returns the layer's new ``tau_S``, ``kick`` and ``threshold``."""
        k = self._index(layer)
        self._before_run("set_tau_S")
        steps = self._steps(tau_S)
        if self.spec.mode == "loihi":
            d = DECAY_DENOMINATOR / steps
            if not np.isclose(d, round(d)):
                near = sorted({DECAY_DENOMINATOR / max(1, np.floor(d)), DECAY_DENOMINATOR / max(1, np.ceil(d))})
                raise UserInputError(f"tau_S = {steps:g} steps is no 12-bit decay in Loihi mode (4096/d, d integer); "
                                     f"the nearest are {', '.join(f'{t:g}' for t in near)}")
            steps = DECAY_DENOMINATOR / round(d)  # exactly
        L = self.spec.layers[k]
        kick, theta, _ = comparator(self.spec.threshold_policy, steps, L.Iin_snn, self.spec.mode)
        g = self.groups[k]
        g.tau_S, g.kick, g.vth_mant = steps, kick, theta / ACTIVATION_SHIFT
        if theta == 0 and L.kind == "dense":
            g.tau_V = steps  # as the conversion sets it (v never outlives a step at θ = 0)
        return {"tau_S": steps, "kick": kick, "threshold": theta}

    def inject(self, layer: int | str, current, neurons=None) -> np.ndarray:
        """Inject a current into neurons of ``layer``: ``current`` in ANN units, added to their pre-activation z
        (the ip decode of a neuron in steady state rises by ``current``, its state as much within the clamp).

        ``current``: a number or one value per neuron of ``neurons`` (constant), or (n_steps, len(neurons)) values,
        one row per SNN step; ``neurons``: indices in the layer (default: all). Each step adds Δ = current·f/τ_I to
        i_ip (rounded to an integer in Loihi mode, as Loihi's biases are). A constant current is an extra bias: it
        is added to ``b_tilde`` (no new object; on cpp_standalone to the converted b̃, so set ``b_tilde`` yourself
        after, not before). A current per step is a ``run_regularly`` operation ``<layer>_inject_<k>`` right after
        the update (:data:`INJECT_SLOT`, where it acts as a bias would) reading the TimedArray
        ``<layer>_injected_<k>``. Before ``run()`` on cpp_standalone. Returns Δ, (1 or n_steps, len(neurons)).
        """
        k = self._index(layer)
        self._before_run("inject")
        g, L = self.groups[k], self.spec.layers[k]
        neurons = np.arange(L.n) if neurons is None else np.atleast_1d(np.asarray(neurons, dtype=np.int64))
        if neurons.size == 0 or neurons.min() < 0 or neurons.max() >= L.n or len(set(neurons)) < neurons.size:
            raise UserInputError(f"neurons must be distinct indices of layer {L.name} (0 … {L.n - 1})")
        z = np.asarray(current, dtype=np.float64)
        if z.ndim == 2 and z.shape != (self.spec.n_steps, neurons.size):
            raise UserInputError(f"a current per step is (n_steps, neurons) = {(self.spec.n_steps, neurons.size)}, "
                                 f"got {z.shape}")
        z = z if z.ndim == 2 else np.broadcast_to(z, (neurons.size,))[None, :]
        delta = z * L.factor / np.broadcast_to(np.asarray(L.tau_I, dtype=np.float64), (L.n,))[neurons]
        if self.spec.mode == "loihi":
            delta = np.round(delta)
        if delta.shape[0] == 1:  # a constant current: an extra bias
            if self.target == "cpp_standalone":  # values cannot be read before the run: the converted b̃ (and ours)
                bias = self._bias.get(k, np.broadcast_to(L.b_tilde, (L.n,)).astype(np.float64))
            else:  # what it holds now (your changes included)
                bias = np.array(g.b_tilde[:], dtype=np.float64)
            bias[neurons] += delta[0]
            self._bias[k] = bias
            g.b_tilde = bias
            return delta
        values = np.zeros((self.spec.n_steps, L.n))
        values[:, neurons] = delta
        self._injections += 1
        name = f"{g.name}_injected_{self._injections}"
        g.namespace[name] = TimedArray(values, dt=self.dt, name=name)
        when, order = INJECT_SLOT
        self.network.add(g.run_regularly(f"i_ip += {name}(t, i)", when=when, order=order,
                                         name=f"{g.name}_inject_{self._injections}"))
        return delta

    # --- running and reading -----------------------------------------------------------------------------
    def run(self, duration=None, **kwargs) -> None:
        """``network.run(duration)`` (default :attr:`duration`), names resolved in the caller's namespace as a
        direct call would; the same as calling it yourself."""
        level = kwargs.pop("level", 0)
        self._open().network.run(self.duration if duration is None else duration, level=level + 1, **kwargs)

    @property
    def steps_run(self) -> int:
        """SNN steps the network has run (0 before ``run()``)."""
        return int(round(float(self._open().network.t / self.dt)))

    def raw(self) -> RawRun:
        """The spikes and recorded states of the run (as :class:`lprnn_brian.targets.RawRun`; index n: the state
        before step n)."""
        if self._raw is not None:  # a closed standalone exploration's
            return self._raw
        self._check_run()
        raw = read_runs(self.bn, self.spec.dt, 1)[0]
        if self.target == "cpp_standalone":  # it ran once: keep it
            self._raw = raw
        return raw

    def effective_spec(self) -> SNNSpec:
        """:attr:`spec` with the parameters the groups hold now (τ_I, τ_V, τ_U, τ_S, kick, threshold, b̃): what ran
        (the weights are the converted ones)."""
        if self._closed:
            return self._ran_spec
        layers = []
        for L, g in zip(self.spec.layers, self.groups):
            per_layer = {name: float(np.asarray(getattr(g, name)[:]).ravel()[0]) for name in ("tau_U", "tau_S", "kick")}
            per_layer["threshold"] = float(np.asarray(g.vth_mant[:]).ravel()[0]) * ACTIVATION_SHIFT
            for name in ("tau_I", "tau_V"):
                a = np.asarray(getattr(g, name)[:], dtype=np.float64)
                per_layer[name] = float(a[0]) if np.all(a == a[0]) else a
            per_layer["b_tilde"] = np.asarray(g.b_tilde[:], dtype=np.float64)
            layers.append(replace(L, **per_layer))
        return replace(self.spec, layers=layers)

    def result(self) -> SimulationResult:
        """Spikes and every decode of the run, as :func:`lprnn_brian.simulate` returns them (one sample), decoded
        with the parameters the network ran with (:meth:`effective_spec`). The run must have covered
        :attr:`duration` exactly (one ``run(ex.duration)``, or several adding up to it)."""
        raw = self.raw()
        return result_from_raw(self.effective_spec(), [raw], self.target, self.record)

    def _check_run(self) -> None:
        self._open()
        if self.target == "cpp_standalone" and not device.active_device().has_been_run:
            raise UserInputError("the standalone network has not run yet: call network.run(ex.duration)")
        if self.steps_run != self.spec.n_steps:
            raise UserInputError(f"the network ran {self.steps_run} steps; the decodes need exactly the input's "
                                 f"{self.spec.n_steps} (network.run(ex.duration))")

    # --- lifetime --------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Give back what a standalone exploration holds (nothing to do on the runtime targets): keep the
        package's spikes and decodes (:meth:`raw`, :meth:`result` still answer if it ran), reset Brian2's device
        (your own monitors are no longer readable) and release the build directory. Safe to call twice."""
        if self._closed or self.target != "cpp_standalone":
            return
        if device.holds_standalone(self):
            ran = getattr(self, "bn", None) is not None and device.active_device().has_been_run
            if ran and self._raw is None and self.steps_run == self.spec.n_steps:
                self.raw()
            self._ran_spec = self.effective_spec() if ran else self.spec
            device.release_standalone(self)
            _forget_code_objects(self.network.objects if self.network is not None else ())
        self.bn = self.network = self.groups = None
        gc.collect()
        if self.directory is not None:
            self.directory.release()
        self._closed = True

    def __enter__(self) -> "Exploration":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- helpers -------------------------------------------------------------------------------------------
    def _open(self) -> "Exploration":
        if self._closed:
            raise UserInputError("this exploration is closed (a later standalone one replaced it); its result() "
                                 "and raw() still answer")
        return self

    def _index(self, layer: int | str) -> int:
        names = self.layer_names
        if isinstance(layer, str):
            if layer not in names:
                raise UserInputError(f"no layer {layer!r}; the layers are {names}")
            return names.index(layer)
        if isinstance(layer, (int, np.integer)) and -len(names) <= layer < len(names):
            return int(layer) % len(names)
        raise UserInputError(f"layer must be a name in {names} or an index, got {layer!r}")

    def _steps(self, tau) -> float:
        """A time constant in SNN steps: a Brian2 time divided by Δt_S, or a number as it is."""
        if isinstance(tau, Quantity):
            if not tau.has_same_dimensions(second):
                raise UserInputError(f"a time constant must be a time or a number of SNN steps, got {tau!r}")
            steps = float(tau / self.dt)
        else:
            steps = float(tau)
        if not steps >= 1:
            raise UserInputError(f"a time constant must be at least one SNN step, got {steps:g}")
        return steps

    def _before_run(self, what: str) -> None:
        self._open()
        if self.target == "cpp_standalone" and device.active_device().has_been_run:
            raise UserInputError(f"{what}: the standalone network has run (it runs once); make a new exploration")


#: The identifiers of the neuron's code strings (states, parameters, ``clip``, ``int``, ``stimulus``, ``t``, ``i``).
_CODE_NAMES = frozenset().union(*(get_identifiers(getattr(render(variant), part)) for variant in VARIANTS
                                  for part in ("clip", "truncate", "input", "update", "threshold", "reset", "on_pre")))


class ExploredNetwork(Network):
    """The ``brian2.Network`` of an :class:`Exploration`. Its ``run()`` without a ``namespace`` resolves names in
    the caller's namespace as Brian2 does, less the names the package's objects use (their variables, ``t``,
    ``i``, ``v``, ``clip``, ``stimulus``, …): a notebook variable called ``t`` or ``clip`` neither shadows them nor
    makes Brian2 warn. Your own objects find your variables as usual (but not a variable of yours with one of those
    names: pass ``namespace=`` for that)."""

    def __init__(self, *objects, package_objects=(), name: str = "explored_network*"):
        super().__init__(*objects, name=name)
        #: The objects :func:`lprnn_brian.network.build_network` made.
        self.package_objects = list(package_objects)

    def reserved_names(self) -> set[str]:
        """The names the package's objects use (left out of the caller's namespace)."""
        names = set(_CODE_NAMES)
        for obj in self.package_objects:
            names.update(getattr(obj, "variables", None) or {})
            names.update(getattr(obj, "namespace", None) or {})
        return names

    def run(self, duration, report=None, report_period=10 * second, namespace=None, profile=None, level=0):
        """``brian2.Network.run`` (same arguments), with the caller's namespace less :meth:`reserved_names`."""
        if namespace is None:
            reserved = self.reserved_names()
            namespace = {k: v for k, v in get_local_namespace(level + 1).items() if k not in reserved}
        Network.run(self, duration, report=report, report_period=report_period, namespace=namespace,
                    profile=profile, level=level)


def _forget_code_objects(objects) -> None:
    """Drop the code objects of ``objects`` (and of the objects they contain), useless once the standalone device is
    reset: while an object you still hold keeps its code objects alive, Brian2 would give the next build's code
    objects new names (``…_codeobject_1``), new sources and a full compile."""
    todo = list(objects)
    while todo:
        obj = todo.pop()
        todo.extend(getattr(obj, "contained_objects", ()))
        if hasattr(obj, "_code_objects"):
            obj._code_objects = []
        if getattr(obj, "codeobj", None) is not None:
            obj.codeobj = None
