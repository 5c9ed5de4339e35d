"""The ``genn`` target: the SNN on GeNN 4.9 through brian2genn 1.7, built once per model, run per batch of samples.

Lives in the environment of ``scripts/setup-genn`` (Python 3.11, brian2 2.5.4, numpy < 2, brian2genn 1.7.0, GeNN
4.9.0 in ``<env>/genn-4.9.0``). GeNN's single-threaded CPU backend runs the network when no NVIDIA GPU is visible,
its CUDA backend when one is. :class:`lprnn_brian.targets.Runner` runs ``target='genn'`` through
:class:`GeNNBackend`.

**Same model, GeNN's shape.** GeNN runs one fixed step: synaptic input of the previous step's spikes
(``inSyn``), then the neuron code, threshold and reset. brian2genn maps only a NeuronGroup's state updater,
threshold and reset into that neuron code; ``run_regularly`` operations run on the host, only in the ``start``
slot, and may read a TimedArray only there; named clocks and custom events are refused.
:func:`build_genn_network` therefore builds the network of :func:`lprnn_brian.network.build_network` from the
same rendered code strings (:func:`lprnn_brian.equations.render.render`), arranged so that every variable gets
the same value at the same step:

- **One neuron code per step.** The clip, truncate, input and update blocks (``start`` orders 0–2 and
  ``groups``) become the abstract code of the group's state updater, in that order. Spikes of step n reach
  ``i_in`` in GeNN at the start of step n + 1, before the clip, which is exactly when Brian2's ``synapses`` slot
  of step n leaves them for the clip of step n + 1 (nothing reads ``i_in`` in between).
- **Input without a TimedArray on the device.** A host ``run_regularly`` at ``start`` copies ``stimulus(t, i)``
  (the same TimedArray, the same ``t``) into a per-neuron variable ``x_in`` of layer 0, pushed to the device
  before the step; the neuron code then adds ``x_in/tau_U`` where the input block adds ``stimulus(t, i)/tau_U``.
- **States at the record slot.** Brian2 records after the input block and before the update; GeNN's monitors
  see the state only between steps. The neuron code copies each recorded state into ``rec_<state>`` at that
  point, and a StateMonitor reads the copies at the end of the step.
- **Synaptic input** ``i_in_post = i_in_post + 64 w`` is written ``i_in_post += 64 w`` (brian2genn turns only an
  in-place addition into GeNN's ``addToInSyn``). GeNN sums a step's spikes of one projection in ``inSyn`` and
  adds that sum to ``i_in``, where Brian2 adds the spikes to ``i_in`` one at a time: the same sum in the Loihi
  variant (integer weights, exact), a different rounding in the float variant (see ``tests/test_genn.py``).
- **Double-precision helpers.** brian2genn's GeNN implementation of ``clip`` takes ``float`` arguments (rounding
  every state to single precision) and its ``int`` accepts only a ``bool``; :func:`configure` replaces both
  with the double-precision versions of Brian2's C++ target (``int``: truncation toward zero).
- **Same floating-point rules as cpp_standalone.** GeNN compiles its generated code without optimisation by
  default and with ``-ffast-math`` when asked to optimise; here it gets :data:`lprnn_brian.targets.base.COMPILE_ARGS`
  (``-O3``, no fast-math, no FMA contraction), on the GPU nvcc's ``--fmad=false``.

**Many samples, one build.** brian2genn loads the TimedArray's values from ``static_arrays/stimulus_values`` when
``main`` starts; each batch rewrites that file and runs ``main`` again (no code generation, no compilation).
The build is cached per model digest, recorded states and layout (``<hash>-...-genn-cpu``); a later process
regenerates the sources (≈ 1 s) and re-uses the binary when they are unchanged (:func:`_build_key`,
:data:`GENN_BUILD_RECORD`).

Each batch costs one start of ``main`` (loading the static arrays, building GeNN's sparse connectivity) besides
the simulation: on the SHD reference network (1,172 neurons, 0.21 M synapses, 1,785 steps) ≈ 0.07 s per clip on
one CPU core without state recording, of which ≈ 0.03 s is GeNN's simulation loop.

**GeNN's CUDA backend** (a GPU visible) builds with the toolkit that :func:`lprnn_brian.targets.cuda.cuda_home` finds,
gives nvcc the cuRAND headers when the toolkit lacks them (GeNN's generated code includes ``curand_kernel.h`` in
every model; :func:`curand_include_flags`), and links the driver API (``-lcuda``) through the toolkit's stub, or a
link to the driver's ``libcuda.so.1`` where no ``libcuda.so`` exists (:func:`cuda_build_env`). ``scripts/gpu-check``
is the prepared check of it on a GPU machine.

Only the default layout runs on GeNN: ``sampling='steps'`` (the frame samplers use a custom event) and
``propagation='synapses'`` (the row kernel is a cpp_standalone function); ``batch`` > 1 works (network copies
in one population, as on cpp_standalone).
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..network import RECORD_PREFIX
from . import device
from .base import COMPILE_ARGS, Backend, register
from .build_dir import BuildDirectory
from .readback import RawRun, read_runs

#: Name of this target in :data:`lprnn_brian.targets.TARGETS`.
TARGET = "genn"
#: GeNN release this module is written for (brian2genn 1.7 needs GeNN >= 4.2.1; 5.x is a different API).
GENN_VERSION = "4.9.0"
#: Environment variable naming the GeNN environment (default ``<repo>/.venv-genn``), read by the tests.
ENV_VAR = "LPRNN_BRIAN_GENN_ENV"
#: Per-neuron variable of layer 0 holding the step's input X, written on the host before every step.
INPUT_VAR = "x_in"
#: TimedArray static array that brian2genn's ``main`` loads at start: rewritten per batch.
STIMULUS_FILE = "stimulus_values"
#: File in each GeNN build directory: digest of the generated sources that ``main`` was compiled from.
GENN_BUILD_RECORD = "lprnn_genn_build.json"
#: nvcc flags for GeNN's CUDA backend: no fused multiply-add, IEEE division and square root.
NVCC_FLAGS = ("--fmad=false", "-prec-div=true", "-prec-sqrt=true", "-ftz=false")
#: Preferences that brian2genn's device activation sets for the whole process (restored when a runner closes).
_GENN_PREFS = ("codegen.generators.cpp.restrict_keyword", "codegen.loop_invariant_optimisations",
               "core.network.default_schedule")
_SETUP_HINT = "run scripts/setup-genn and use the Python of its environment (.venv-genn/bin/python)"

#: Double-precision ``clip`` for GeNN code (brian2genn 1.7's takes ``float`` arguments).
_CLIP_CODE = """
SUPPORT_CODE_FUNC double _lprnn_clip(const double value, const double a_min, const double a_max)
{
    if (value < a_min)
        return a_min;
    if (value > a_max)
        return a_max;
    return value;
}
"""
#: ``int`` for GeNN code: truncation toward zero of any number (brian2genn 1.7's accepts only a bool).
_INT_CODE = """
template <typename T> SUPPORT_CODE_FUNC int _lprnn_int(T value)
{
    return (int)value;
}
"""


def genn_path() -> Path:
    """GeNN's directory: ``$GENN_PATH``, else ``genn-4.9.0`` in this Python environment (where
    ``scripts/setup-genn`` unpacks it). Raises UserInputError when neither holds GeNN."""
    env = os.environ.get("GENN_PATH")
    path = Path(env) if env else Path(sys.prefix) / f"genn-{GENN_VERSION}"
    if not (path / "bin" / "genn-buildmodel.sh").is_file():
        where = f"GENN_PATH={env}" if env else f"{path} (no GENN_PATH set)"
        raise UserInputError(f"GeNN {GENN_VERSION} not found at {where}: {_SETUP_HINT}")
    return path


def gpu_available() -> bool:
    """Whether ``nvidia-smi`` lists a GPU (GeNN's CUDA backend is used then, its CPU backend otherwise)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _cuda_path() -> str:
    """The CUDA toolkit that GeNN's CUDA backend builds with: :func:`lprnn_brian.targets.cuda.cuda_home`
    (``$CUDA_PATH``, else the toolkit of ``nvcc`` on the PATH, a wrapper script there not taken for the toolkit,
    else ``/usr/local/cuda``)."""
    from .cuda import cuda_home

    try:
        return str(cuda_home())
    except UserInputError:
        raise UserInputError("a GPU is visible but the CUDA toolkit was not found: set CUDA_PATH to its directory "
                             "(the one holding bin/nvcc)") from None


def curand_include_flags(cuda: Path) -> list[str]:
    """nvcc flags that let GeNN's generated CUDA code find ``curand_kernel.h`` (its definitions include it in
    every model): none when the toolkit ``cuda`` has it, else ``-I`` of the nvidia-curand wheel's headers
    (:func:`lprnn_brian.targets.cuda.curand_dirs`; toolkits installed without cuRAND lack them)."""
    if (Path(cuda) / "include" / "curand_kernel.h").is_file():
        return []
    from .cuda import curand_dirs

    include, _ = curand_dirs(Path(cuda))
    return [f"-I{include}"]


#: Directories where the CUDA driver library may lie besides the toolkit's link stubs (driver mounts, distributions).
DRIVER_LIB_DIRS = ("/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib64",
                   "/lib/x86_64-linux-gnu", "/usr/lib/wsl/lib")


def libcuda_link_dir(cuda: Path, scratch: Path, search: tuple[str, ...] = DRIVER_LIB_DIRS) -> Path | None:
    """A directory holding ``libcuda.so`` for the linker's ``-lcuda`` (GeNN's code generator links the CUDA driver
    API): the toolkit's link stubs (``<cuda>/lib64/stubs``, ...) when present, else the first of ``search`` that
    has ``libcuda.so``, else ``<scratch>/libcuda_link`` with a ``libcuda.so`` link to the first ``libcuda.so.1``
    found (a driver that ships only the versioned name); None when there is no driver library at all. A program
    linked against the stub loads the driver's ``libcuda.so.1`` when it runs."""
    cuda = Path(cuda)
    stubs = [cuda / "lib64" / "stubs", cuda / "lib" / "stubs", cuda / "targets" / "x86_64-linux" / "lib" / "stubs"]
    dirs = stubs + [Path(d) for d in search]
    for d in dirs:
        if (d / "libcuda.so").exists():
            return d
    versioned = next((d / "libcuda.so.1" for d in dirs if (d / "libcuda.so.1").exists()), None)
    if versioned is None:
        return None
    link_dir = Path(scratch) / "libcuda_link"
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / "libcuda.so"
    if not (link.is_symlink() and Path(os.readlink(link)) == versioned):
        tmp = link_dir / f"libcuda.so.tmp{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(versioned)
        tmp.replace(link)  # atomic: a parallel build never sees a half-made link
    return link_dir


def cuda_build_env(cuda: Path, scratch: Path, environ: dict | None = None) -> dict[str, str]:
    """The environment variables that GeNN's CUDA build and ``main`` need besides ``environ`` (default
    ``os.environ``): ``LIBRARY_PATH`` with :func:`libcuda_link_dir` (the generator's ``-lcuda``), and
    ``LD_LIBRARY_PATH`` with the toolkit's ``lib64`` (the generator links ``libcudart`` without an rpath)."""
    environ = os.environ if environ is None else environ
    out = {}
    link = libcuda_link_dir(cuda, scratch)
    if link is not None:
        out["LIBRARY_PATH"] = os.pathsep.join([str(link)] + [p for p in [environ.get("LIBRARY_PATH", "")] if p])
    libs = [str(d) for d in (Path(cuda) / "lib64", Path(cuda) / "lib") if d.is_dir()]
    if libs:
        out["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [p for p in [environ.get("LD_LIBRARY_PATH", "")] if p])
    return out


@contextlib.contextmanager
def _environment(updates: dict[str, str]):
    """``os.environ`` with ``updates`` while active (brian2genn's build and run copy ``os.environ``)."""
    old = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def configure(use_gpu: bool) -> None:
    """Import brian2genn (registering the ``genn`` device), point it at GeNN, and give GeNN code the
    double-precision ``clip`` and ``int`` of Brian2's C++ target."""
    try:
        # importing brian2genn (the package of genn_generator) registers the 'genn' device
        from brian2genn.genn_generator import GeNNCodeGenerator
    except ImportError as exc:
        raise UserInputError(f"target 'genn' needs brian2genn ({exc}): {_SETUP_HINT}") from None
    from brian2 import prefs
    from brian2.core.functions import DEFAULT_FUNCTIONS

    path = genn_path()
    os.environ["GENN_PATH"] = str(path)  # genn-buildmodel and GeNN's makefiles
    prefs.devices.genn.path = str(path)
    DEFAULT_FUNCTIONS["clip"].implementations.add_implementation(GeNNCodeGenerator, code=_CLIP_CODE,
                                                                 name="_lprnn_clip")
    DEFAULT_FUNCTIONS["int"].implementations.add_implementation(GeNNCodeGenerator, code=_INT_CODE,
                                                                name="_lprnn_int")
    if use_gpu:
        cuda = _cuda_path()
        prefs.devices.genn.cuda_backend.cuda_path = cuda
        prefs.devices.genn.cuda_backend.extra_compile_args_nvcc = list(NVCC_FLAGS) + curand_include_flags(Path(cuda))


def check_layout(batch: int, sampling: str, propagation: str) -> None:
    """Refuse what GeNN cannot run: frame sampling (a custom event) and row propagation (a C++ function)."""
    if sampling != "steps":
        raise UserInputError(f"sampling={sampling!r} records through a custom event, which GeNN does not support; "
                             "use sampling='steps' on target 'genn' (or sampling='frames'/'readout' on "
                             "cpp_standalone)")
    if propagation != "synapses":
        raise UserInputError(f"propagation={propagation!r} is a cpp_standalone kernel; use propagation='synapses' on "
                             "target 'genn'")


# --- the network ---------------------------------------------------------------------------------------
def neuron_code(variant: str, *, layer0: bool, record: tuple[str, ...]) -> str:
    """The per-step code of one neuron for GeNN: clip, truncate, input (layer 0: ``x_in`` for the TimedArray),
    copies of the recorded states (``rec_<state>``, what Brian2's monitor sees at ``start``/order 3) and update,
    in the order of :data:`lprnn_brian.equations.sigma_delta.SCHEDULE`."""
    import sympy as sp
    from brian2.parsing.sympytools import sympy_to_str

    from ..equations import sigma_delta as sd
    from ..equations.render import render

    eqs = render(variant)
    blocks = [eqs.clip, eqs.truncate]
    if layer0:
        blocks.append("\n".join(f"{x} = {sympy_to_str(e.subs(sd.X, sp.Symbol(INPUT_VAR)))}"
                                for x, e in sd.INPUT.items()))
    blocks.append("\n".join(f"{RECORD_PREFIX}{v} = {v}" for v in record))
    blocks.append(eqs.update)
    return "\n".join(b for b in blocks if b)


def on_pre_code() -> str:
    """The spike effect on a target, ``i_in_post += 64*w``, as the in-place addition brian2genn maps to GeNN's
    ``addToInSyn``."""
    from brian2.parsing.sympytools import sympy_to_str

    from ..equations import sigma_delta as sd

    ((var, expr),) = sd.ON_SPIKE_TARGET.items()
    return f"{var}_post += {sympy_to_str(expr - var)}"


def _fixed_state_update(updater, code: str) -> None:
    """Make the state updater of a group without differential equations run ``code`` every step (brian2genn
    puts the state updater, threshold and reset into GeNN's neuron code)."""
    def update_abstract_code(run_namespace):
        updater.abstract_code = code
        updater.user_code = code

    updater.update_abstract_code = update_abstract_code


class _Copies:
    """A StateMonitor of the ``rec_<state>`` copies, read under the state names (as :func:`lprnn_brian.targets.readback.read_runs` reads)."""

    def __init__(self, monitor):
        #: The StateMonitor itself (its variables are named ``rec_<state>``).
        self.monitor = monitor

    def __getattr__(self, name: str):
        return getattr(self.monitor, RECORD_PREFIX + name)


def build_genn_network(spec, *, record: tuple[str, ...], batch: int = 1):
    """The network of :func:`lprnn_brian.network.build_network` (``sampling='steps'``, ``propagation='synapses'``)
    in the form brian2genn can map to GeNN (see the module docstring), under the active ``genn`` device.

    Returns a :class:`lprnn_brian.network.BrianNetwork`; its ``state_monitors`` read the record-slot copies
    under the state names."""
    from brian2 import Network, NeuronGroup, TimedArray, defaultclock, second

    from ..equations.render import STIMULUS, render
    from ..network import BrianNetwork, copy_monitors, projection_synapses, set_parameters

    B = int(batch)
    eqs = render(spec.mode)
    syn_eqs = replace(eqs, on_pre=on_pre_code())
    # GeNN has one clock: the default one, at the SNN step
    defaultclock.dt = spec.dt * second
    n0 = spec.layers[0].n
    stimulus = TimedArray(np.zeros((spec.n_steps, B * n0)), dt=spec.dt * second, name=STIMULUS)
    objects: list = []
    groups, spike_mons, state_mons, synapses = [], [], [], []
    for k, L in enumerate(spec.layers):
        extra = ([f"{INPUT_VAR} : 1"] if k == 0 else []) + [f"{RECORD_PREFIX}{v} : 1" for v in record]
        g = NeuronGroup(B * L.n, "\n".join([eqs.model] + extra), threshold=eqs.threshold, reset=eqs.reset,
                        order=0, name=L.name)
        set_parameters(g, L, B)
        _fixed_state_update(g.state_updater, neuron_code(spec.mode, layer0=k == 0, record=record))
        objects.append(g)
        if k == 0:
            # host side, before the step (brian2genn names it <group>_run_regularly: keep the default name)
            objects.append(g.run_regularly(f"{INPUT_VAR} = {STIMULUS}(t, i)", when="start", order=0))
        layer_synapses = projection_synapses(k, L, g, groups, syn_eqs, defaultclock, B)
        synapses += layer_synapses
        sm, st = copy_monitors(g, record)
        objects += layer_synapses + [m for m in (st, sm) if m is not None]
        groups.append(g)
        spike_mons.append(sm)
        state_mons.append(_Copies(st) if st is not None else None)
    return BrianNetwork(Network(*objects), groups, stimulus, spike_mons, state_mons, tuple(record), synapses,
                        n_steps=spec.n_steps, batch=B)


def generate_project(directory: Path, spec, *, record: tuple[str, ...], batch: int = 1, use_gpu: bool = False,
                     compile_args=COMPILE_ARGS):
    """Select brian2genn's device (it generates the project inside the run statement, ``build_on_run``; not
    compiled), create the network of :func:`build_genn_network` and run it: brian2genn writes the project into
    ``directory``. Call with :func:`configure` done and the standalone device claimed
    (:func:`lprnn_brian.targets.device.claim_standalone`). ``compile_args``: the C++ flags of ``main`` and of GeNN's
    generated code (GeNN's own default is no ``-O``, or ``-O3 -ffast-math`` when asked to optimise). Returns the
    :class:`lprnn_brian.network.BrianNetwork`."""
    from brian2 import prefs

    device.activate("genn", build_on_run=True, directory=str(directory), compile=False, run=False,
                    use_GPU=use_gpu, with_output=False)
    prefs.codegen.cpp.extra_compile_args_gcc = list(compile_args)
    flags = " ".join(compile_args)
    # the guard keeps the line out of main.cpp, which gets the same 'before_start' code
    device.active_device().insert_code("before_start", "#ifdef BACKEND_NAMESPACE\n"
                                                       f'GENN_PREFERENCES.userCxxFlagsGNU = "{flags}";\n#endif')
    bn = build_genn_network(spec, record=record, batch=batch)
    bn.network.run(bn.duration, namespace=bn.namespace)
    return bn


# --- build once, run per batch ---------------------------------------------------------------------------
def _build_key(build_dir: Path, model_code: str) -> str:
    """SHA-256 naming what ``main`` is compiled from: ``model_code`` (the per-step neuron and synapse code, in
    order), the versions and compiler flags, and the sources brian2genn wrote, each as the sorted list of its
    words. The static arrays that ``main`` loads at run time and everything GeNN or make produce are left out.

    brian2genn lists groups, monitors and source files in set order, which changes from one process to the
    next (the same program with its statements and file lists shuffled, indented differently): the sorted
    words of a file do not change with that order, and ``model_code`` keeps the one order that matters."""
    import brian2
    import brian2genn
    from brian2 import prefs

    skip_dirs = {"static_arrays", "results", "test_output", "magicnetwork_model_CODE"}
    skip_files = {"main", "generator", GENN_BUILD_RECORD}
    h = hashlib.sha256("\0".join([model_code, brian2.__version__, brian2genn.__version__, GENN_VERSION,
                                   " ".join(prefs.codegen.cpp.extra_compile_args_gcc)]).encode() + b"\0")
    for p in sorted(build_dir.rglob("*")):
        rel = p.relative_to(build_dir)
        if (not p.is_file() or rel.parts[0] in skip_dirs or rel.name in skip_files
                or p.suffix in (".o", ".d", ".a", ".so", ".lock")):
            continue
        h.update(rel.as_posix().encode() + b"\0" + b" ".join(sorted(p.read_bytes().split())) + b"\0")
    return h.hexdigest()


@register(TARGET)
class GeNNBackend(Backend):
    """The GeNN build of one :class:`lprnn_brian.targets.Runner` (``target='genn'``): generated and compiled in
    :attr:`build_dir` when the runner opens (skipped when an identical build is there), run once per batch."""

    samplings = ("steps",)  # the frame samplers use a custom event (see :func:`check_layout`)
    batch_is_compiled = True
    directory: BuildDirectory | None = None
    #: Whether opening this runner compiled (False: an identical build was re-used).
    compiled: bool = False
    #: Whether GeNN's CUDA backend runs the network (a GPU is visible), else its CPU backend.
    use_gpu: bool = False

    def check(self) -> None:
        c = self.config
        check_layout(c.batch, c.sampling, c.propagation)

    def tag(self) -> str:
        """The build directory's name: spec digest, recorded states, batch, GeNN backend."""
        c = self.config
        batch = f"-b{c.batch}" if c.batch > 1 else ""
        return f"{c.spec.digest()}-{'-'.join(c.record) or 'norecord'}{batch}-genn-{'cuda' if self.use_gpu else 'cpu'}"

    def build(self) -> None:
        gc.collect()  # objects of closed runners not yet collected would give this build's objects new names
        device.require_free()
        self.use_gpu = gpu_available()
        configure(self.use_gpu)
        # brian2genn's activation changes _GENN_PREFS for the whole process: given back on close
        device.claim_standalone(self, _GENN_PREFS)
        self.directory = BuildDirectory(self.build_root, self.tag())
        self.build_dir = self.directory.path
        c = self.config
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # brian2genn's progress prints
            self.bn = generate_project(self.build_dir, c.spec, record=c.record, batch=c.batch, use_gpu=self.use_gpu)
            key = _build_key(self.build_dir, self._model_code())
            old = self.directory.read_json(GENN_BUILD_RECORD)
            if old.get("key") != key or not (self.build_dir / "main").exists():
                self._compile(key)

    def _compile(self, key: str) -> None:
        """Compile the generated project and record its key."""
        (self.build_dir / GENN_BUILD_RECORD).unlink(missing_ok=True)
        with _environment(self._cuda_env()):
            device.active_device().compile_source(debug=False, directory=str(self.build_dir), use_GPU=self.use_gpu)
        self.compiled = True
        self.directory.write_json(GENN_BUILD_RECORD, {"key": key, "spec_digest": self.config.spec.digest(),
                                                      "gpu": self.use_gpu, "genn": GENN_VERSION})

    def _cuda_env(self) -> dict[str, str]:
        """The variables that GeNN's CUDA build and run need (:func:`cuda_build_env`); none on the CPU backend."""
        if not self.use_gpu:
            return {}
        return cuda_build_env(Path(_cuda_path()), self.build_root / "genn-cuda-link")

    def _model_code(self) -> str:
        """Every layer's per-step neuron code, threshold and reset, and the synaptic effect, in order."""
        from ..equations.render import render

        c = self.config
        eqs = render(c.spec.mode)
        layers = [neuron_code(c.spec.mode, layer0=k == 0, record=c.record) for k in range(len(c.spec.layers))]
        return "\n--\n".join(layers + [eqs.threshold, eqs.reset, on_pre_code()])

    def run(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        """Simulate one batch: ``drive`` (n_steps, batch·n0) becomes the TimedArray's values, ``main`` runs."""
        values = np.ascontiguousarray(drive, dtype=np.float64)
        path = self.build_dir / "static_arrays" / STIMULUS_FILE
        if path.stat().st_size != values.nbytes:
            raise RuntimeError(f"{path} holds {path.stat().st_size} bytes, the drive has {values.nbytes}: the build "
                               "does not match this network")
        tmp = path.with_suffix(".tmp")
        values.tofile(tmp)
        os.replace(tmp, path)
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), _environment(self._cuda_env()):
            device.active_device().run(str(self.build_dir), self.use_gpu, False)
        return read_runs(self.bn, self.config.spec.dt, n_used)

    def close(self) -> None:
        """Reset Brian2's device (and the preferences brian2genn changed), free the Brian2 objects and release the
        build directory."""
        device.release_standalone(self)
        self.bn = None
        gc.collect()
        if self.directory is not None:
            self.directory.release()
