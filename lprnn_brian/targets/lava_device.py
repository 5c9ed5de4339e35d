"""The ``lava`` target: the package's Brian2 network on Lava through brian2lava, Brian2's own Lava device.

Lives in the environment of ``scripts/setup-brian2lava`` (Python 3.11, lava-nc 0.10.0 with the fix of
``scripts/setup-lava``, brian2 2.9.0, brian2lava 1.0.0b2). brian2lava's ``flexible`` mode on its ``CPU`` hardware
turns every NeuronGroup, Synapses and SpikeGeneratorGroup into a Lava process whose Python process model runs the
code Brian2 generates (numpy, float64; Lava's ``Loihi2SimCfg``, one Lava step per Brian2 step). brian2lava's
fixed-point representation exists only in its ``preset`` mode, which maps Brian2 groups onto the LIF models of
its library: the ΣΔ neuron is not among them, so the Loihi-integer variant runs here as the Brian2 network does
(float64 states, ``clip`` and ``int`` in the code), which the emulator's ``semantics='brian2'`` reproduces.
:class:`lprnn_brian.targets.Runner` runs ``target='lava'`` through :class:`LavaBackend`.

**Same model, brian2lava's shape.** :func:`build_lava_network` builds the network of
:func:`lprnn_brian.network.build_network` (``sampling='steps'``, ``propagation='synapses'``) from the same
rendered code strings (:func:`lprnn_brian.equations.render.render`), the same schedule slots and the same
synapses, changed where brian2lava 1.0.0b2 cannot take the original (each change measured against the error it
avoids; docs/targets.md lists the errors):

- **The default clock.** brian2lava reads the step from ``defaultclock`` and names the time variables of every
  process ``_defaultclock_t``; a network on its own named clock fails (``AttributeError: ... no attribute
  '_defaultclock_t'``, while the monitors are set up or inside a process).
- **Synapses named ``*_synapses``.** brian2lava's generator recognises the synaptic variables in a neuron's
  activation code by the word ``synapses`` in their owner's name; the projections are ``<layer>_ff_synapses``
  and ``<layer>_rec_synapses`` (otherwise the neuron process reads arrays it does not have).
- **The input without a TimedArray.** brian2lava has no implementation of user functions (a TimedArray cannot be
  called in its code). Layer 0 gets a per-neuron variable ``x_in`` (:data:`INPUT_VAR`) that the input block reads
  in place of ``stimulus(t, i)`` (``render(..., input_from='x_in')``), set to X_0 before the run. A
  SpikeGeneratorGroup has one neuron for each step m whose next drive differs from its own; it fires at step m,
  and its synapses set ``x_in_post = X_{m+1}`` in the synapses slot of step m, after the input block of step m
  has read X_m: at every step's input block ``x_in`` holds that step's drive. (One neuron per change, not per
  step: a zero-order-held drive changes once per ANN frame, and every synapse costs brian2lava time at every step.)
- **A finite ceiling for the float floor.** brian2lava writes constants into its process models as
  ``name = value``, which makes ``inf = inf`` (an UnboundLocalError when the process runs); the float variant's
  ``clip(x, 0, inf)`` is written ``clip(x, 0, 1e308)`` (:data:`lprnn_brian.equations.render.FINITE_CEILING`): the
  same value for every state up to 1e308.
- **Arrays written in full.** brian2lava writes initial values into the generated Python source with numpy's
  ``str``: an array of more than 1,000 elements becomes ``[0, 0, 0, ..., 283]`` (a TypeError when the process is
  created) and a float keeps 8 significant digits (b̃ = −682.66666667 instead of −682.666…: different parameters,
  no error). The build runs under ``numpy.printoptions(threshold=sys.maxsize, floatmode='unique')`` (every element,
  each float's shortest exact representation).
- **States at the record slot.** A Lava probe reads a variable after each step, and brian2lava's StateMonitor
  returns the initial value in row 0 and the value after step n − 1 in row n. As on GeNN, the recorded states are
  copied into ``rec_<state>`` at the record slot (``start``, order 3) and those copies are monitored; the network
  runs one step more than the spec, and rows 1 … n_steps (and the spikes of the first n_steps steps) are read.

Every other operation is Brian2's: brian2lava places a process's code objects in the slots of the schedule
(``when``; within a slot ``order`` is the position, which gives the declared order of clip, truncate, input, record
copies and update, as the bit-identical Loihi variant confirms), spikes reach their targets' ``i_in`` in the
synapses slot of the step they were fired in (the activation code of each projection, ``numpy.add.at`` over the
spiking synapses in synapse order), and the reset follows. One difference remains: within the synapses slot
brian2lava applies a layer's recurrent projection before its feed-forward one (Brian2: feed-forward first), so in
the float variant a sum of ``i_in`` may round differently; integers (the Loihi variant) are exact in any order.

**Hazards of brian2lava that this module contains.** Importing brian2lava, and every ``reinit`` of its device,
deletes a directory ``tmp`` in the current working directory; ``set_device`` deletes ``lava_workspace`` in its
project directory and puts that directory on ``sys.path``. Everything brian2lava does here runs with the working
directory (and project directory) in this runner's own build directory, and the first import happens there.

**One Lava network per batch.** brian2lava builds on ``run`` and runs a network once; the drive lives in the
network (the generator's synapses). Each :meth:`LavaBackend.run` resets the device, builds the network of that
batch's drive and runs it: it costs the generation of the process models (every synapse written into Python
source) and the start of one Lava process per group and projection, plus brian2lava's Python at every step (a list
over every synapse of each projection). Measured (docs/targets.md): 3.4 s per run of the small test network; on
the authors' SHD network (0.21 M synapses) about 2 minutes to generate and start, then 1.4 s per step.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..network import RECORD_PREFIX
from . import device
from .base import Backend, register
from .build_dir import BuildDirectory
from .readback import RawRun, read_runs

#: Name of this target in :data:`lprnn_brian.targets.TARGETS`.
TARGET = "lava"
#: brian2lava release this module is written for (its code generator's quirks above are those of this release).
BRIAN2LAVA_VERSION = "1.0.0b2"
#: Environment variable naming the brian2lava environment (default ``<repo>/.venv-brian2lava``), read by the tests.
ENV_VAR = "LPRNN_BRIAN_BRIAN2LAVA_ENV"
#: brian2lava's device options: its CPU hardware in flexible mode (floating-point process models).
DEVICE_OPTIONS = {"hardware": "CPU", "mode": "flexible"}
#: Per-neuron variable of layer 0 holding the step's drive X (set by the generator's synapses).
INPUT_VAR = "x_in"
#: Names of the input's spike generator and of its synapses (brian2lava needs ``synapses`` in the latter).
GENERATOR_NAME = "drive_changes"
GENERATOR_SYNAPSES = "drive_synapses"
#: Suffix of every projection's Synapses name (brian2lava's generator looks for the word ``synapses``).
SYNAPSES_SUFFIX = "_synapses"
#: Preferences that brian2lava's device activation sets for the whole process (restored when a runner closes).
_LAVA_PREFS = ("codegen.target", "codegen.string_expression_target")
_SETUP_HINT = "run scripts/setup-brian2lava and use the Python of its environment (.venv-brian2lava/bin/python)"


@contextlib.contextmanager
def working_directory(path: Path):
    """Run the block with ``path`` as the current working directory (brian2lava deletes ``./tmp`` there)."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def full_arrays():
    """numpy's print options under which brian2lava writes initial values exactly: every element, each float
    as its shortest round-trip representation."""
    return np.printoptions(threshold=sys.maxsize, floatmode="unique")


def import_brian2lava(directory: Path):
    """Import brian2lava (registering the ``lava`` device) with ``directory`` as the working directory; its
    module. UserInputError naming the setup script when it is missing or another release."""
    with working_directory(directory):
        try:
            import brian2lava
        except ImportError as exc:
            raise UserInputError(f"target 'lava' needs brian2lava {BRIAN2LAVA_VERSION} ({exc}): "
                                 f"{_SETUP_HINT}") from None
    if brian2lava.__version__ != BRIAN2LAVA_VERSION:
        raise UserInputError(f"target 'lava' is written for brian2lava {BRIAN2LAVA_VERSION}, this environment has "
                             f"{brian2lava.__version__}: {_SETUP_HINT}")
    return brian2lava


def check_layout(batch: int, sampling: str, propagation: str) -> None:
    """Refuse what brian2lava cannot run: frame sampling (a custom event; brian2lava's synaptic pathways and
    thresholds handle spikes only) and row propagation (a C++ function)."""
    if sampling != "steps":
        raise UserInputError(f"sampling={sampling!r} records through a custom event, which brian2lava does not "
                             "support; use sampling='steps' on target 'lava' (or sampling='frames'/'readout' on "
                             "cpp_standalone)")
    if propagation != "synapses":
        raise UserInputError(f"propagation={propagation!r} is a cpp_standalone kernel; use propagation='synapses' on "
                             "target 'lava'")


def drive_changes(drive: np.ndarray) -> np.ndarray:
    """The steps m (0 ≤ m < n_steps − 1) after which the drive changes: some element of row m + 1 differs from
    row m (the generator neuron of such a step sets every ``x_in`` to row m + 1)."""
    d = np.asarray(drive)
    return np.flatnonzero(np.any(d[1:] != d[:-1], axis=1))


def build_lava_network(spec, drive: np.ndarray, *, record: tuple[str, ...], batch: int = 1):
    """The network of :func:`lprnn_brian.network.build_network` (``sampling='steps'``, ``propagation='synapses'``)
    in the form brian2lava can run (see the module docstring), driven by ``drive`` (n_steps, batch·n0), under the
    active ``lava`` device. Returns a :class:`lprnn_brian.network.BrianNetwork` whose monitors are read through
    :func:`lava_monitors`."""
    from brian2 import Network, NeuronGroup, TimedArray, defaultclock, second

    from ..equations.render import FINITE_CEILING, STIMULUS, render
    from ..equations.sigma_delta import SLOT
    from ..network import BrianNetwork, copy_monitors, projection_synapses, set_parameters

    B = int(batch)
    n0 = spec.layers[0].n
    drive = np.ascontiguousarray(drive, dtype=np.float64)
    if drive.shape != (spec.n_steps, B * n0):
        raise ValueError(f"drive of shape {drive.shape} for {B} copies of a network of {spec.n_steps} steps and "
                         f"{n0} layer-0 neurons")
    eqs = render(spec.mode, ceiling=FINITE_CEILING, input_from=INPUT_VAR)
    # brian2lava has one clock: the default one, at the SNN step
    defaultclock.dt = spec.dt * second
    objects: list = []
    groups, spike_mons, state_mons, synapses = [], [], [], []
    for k, L in enumerate(spec.layers):
        extra = ([f"{INPUT_VAR} : 1"] if k == 0 else []) + [f"{RECORD_PREFIX}{v} : 1" for v in record]
        g = NeuronGroup(B * L.n, "\n".join([eqs.model] + extra), threshold=eqs.threshold, reset=eqs.reset,
                        order=0, name=L.name)
        g.thresholder["spike"].when, g.thresholder["spike"].order = SLOT["threshold"]
        g.resetter["spike"].when, g.resetter["spike"].order = SLOT["reset"]
        set_parameters(g, L, B)
        objects.append(g)

        def operation(code: str, slot: str, order: int | None = None):
            when, slot_order = SLOT[slot]
            objects.append(g.run_regularly(code, name=f"{g.name}_{slot}", when=when,
                                           order=slot_order if order is None else order))

        operation(eqs.clip, "clip")
        if eqs.truncate:
            operation(eqs.truncate, "truncate")
        if k == 0:
            operation(eqs.input, "input")
            setattr(g, INPUT_VAR, drive[0])
            objects += _drive_generator(g, drive, defaultclock.dt)
        if record:
            operation("\n".join(f"{RECORD_PREFIX}{v} = {v}" for v in record), "record")
        operation(eqs.update, "update")
        layer_synapses = projection_synapses(k, L, g, groups, eqs, defaultclock, B, SYNAPSES_SUFFIX)
        synapses += layer_synapses
        sm, st = copy_monitors(g, record)
        objects += layer_synapses + [m for m in (st, sm) if m is not None]
        groups.append(g)
        spike_mons.append(sm)
        state_mons.append(st)
    # the TimedArray of the other targets, for BrianNetwork's namespace (nothing here calls it)
    stimulus = TimedArray(drive, dt=spec.dt * second, name=STIMULUS)
    return BrianNetwork(Network(*objects), groups, stimulus, spike_mons, state_mons, tuple(record), synapses,
                        n_steps=spec.n_steps, batch=B)


def _drive_generator(g, drive: np.ndarray, dt) -> list:
    """The SpikeGeneratorGroup (one neuron per drive change, firing at the step before it) and its synapses onto
    layer 0's ``x_in`` (module docstring); none when the drive never changes."""
    from brian2 import SpikeGeneratorGroup, Synapses

    from ..equations.sigma_delta import SLOT

    steps = drive_changes(drive)
    if steps.size == 0:
        return []
    m, n = steps.size, drive.shape[1]
    gen = SpikeGeneratorGroup(m, np.arange(m), steps * dt, name=GENERATOR_NAME)
    syn = Synapses(gen, g, "w : 1 (constant)", on_pre=f"{INPUT_VAR}_post = w", name=GENERATOR_SYNAPSES)
    syn.connect(i=np.repeat(np.arange(m), n).astype(np.int32), j=np.tile(np.arange(n), m).astype(np.int32))
    syn.w = drive[steps + 1].ravel()
    syn.pre.when, syn.pre.order = SLOT["synapses"]
    return [gen, syn]


class _FirstSteps:
    """A monitor of the Lava run read as the first ``n_steps`` steps of the spec (the run has one step more):
    spikes of those steps; states from the ``rec_<state>`` copies, rows 1 … n_steps (module docstring)."""

    def __init__(self, monitor, n_steps: int, dt: float, states: bool):
        self._monitor, self._n, self._dt, self._states = monitor, n_steps, dt, states

    def _keep(self) -> np.ndarray:
        return np.rint(np.asarray(self._monitor.t_[:]) / self._dt) < self._n

    @property
    def i(self) -> np.ndarray:
        return np.asarray(self._monitor.i[:])[self._keep()]

    @property
    def t_(self) -> np.ndarray:
        return np.asarray(self._monitor.t_[:])[self._keep()]

    def __getattr__(self, name: str):
        if not self._states:
            raise AttributeError(name)
        return np.asarray(getattr(self._monitor, RECORD_PREFIX + name)[:])[:, 1:self._n + 1]


def lava_monitors(bn, dt: float) -> None:
    """Put :class:`_FirstSteps` views in place of ``bn``'s spike and state monitors after a run."""
    bn.spike_monitors = [_FirstSteps(m, bn.n_steps, dt, False) for m in bn.spike_monitors]
    bn.state_monitors = [None if m is None else _FirstSteps(m, bn.n_steps, dt, True) for m in bn.state_monitors]


@register(TARGET)
class LavaBackend(Backend):
    """The brian2lava runs of one :class:`lprnn_brian.targets.Runner` (``target='lava'``): a fresh Lava network per
    batch, generated in :attr:`build_dir` (brian2lava's ``lava_workspace``) and run there."""

    samplings = ("steps",)  # the frame samplers use a custom event (see :func:`check_layout`)
    directory: BuildDirectory | None = None
    #: Seconds of the last batch: building the Brian2 network, and brian2lava's generation and Lava run.
    timing: dict | None = None

    def check(self) -> None:
        c = self.config
        check_layout(c.batch, c.sampling, c.propagation)

    def tag(self) -> str:
        """The working directory's name: spec digest, recorded states, batch, ``lava``."""
        c = self.config
        batch = f"-b{c.batch}" if c.batch > 1 else ""
        return f"{c.spec.digest()}-{'-'.join(c.record) or 'norecord'}{batch}-lava"

    def build(self) -> None:
        """Claim Brian2's device and a working directory, and import brian2lava there (nothing is built before a
        batch's drive is known)."""
        device.require_free()
        self.directory = BuildDirectory(self.build_root, self.tag())
        self.build_dir = self.directory.path
        self.build_dir.mkdir(parents=True, exist_ok=True)
        import_brian2lava(self.build_dir)
        # brian2lava's activation changes the code generation targets for the whole process: given back on close
        device.claim_standalone(self, _LAVA_PREFS)

    def run(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        """Build the network of ``drive`` (n_steps, batch·n0) on a freshly reset ``lava`` device and run it."""
        import time

        from brian2 import defaultclock

        c = self.config
        self.bn = None
        gc.collect()  # the last batch's Brian2 objects hold this batch's names
        with working_directory(self.build_dir), full_arrays():
            device.restart_device()
            device.activate(TARGET, project_path=str(self.build_dir), **DEVICE_OPTIONS)
            t0 = time.perf_counter()
            self.bn = build_lava_network(c.spec, drive, record=c.record, batch=c.batch)
            t1 = time.perf_counter()
            steps = c.spec.n_steps + (1 if c.record else 0)
            self.bn.network.run(steps * defaultclock.dt, namespace={})
            self.timing = {"build_s": t1 - t0, "run_s": time.perf_counter() - t1}
        lava_monitors(self.bn, c.spec.dt)
        return read_runs(self.bn, c.spec.dt, n_used)

    def close(self) -> None:
        """Reset Brian2's device (in the working directory: brian2lava's reinit deletes ``./tmp``), restore the
        preferences brian2lava changed, free the Brian2 objects and release the working directory."""
        if self.directory is not None:
            with working_directory(self.build_dir):
                device.release_standalone(self)
        self.bn = None
        gc.collect()
        if self.directory is not None:
            self.directory.release()
