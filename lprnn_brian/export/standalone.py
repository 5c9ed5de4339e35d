"""Generated standalone projects for clusters: ``lprnn-brian export standalone`` and the reader of their results.

:func:`export_standalone` writes the code-generated project of a ΣΔ network (Brian2's ``cpp_standalone``,
brian2cuda's ``cuda_standalone`` or brian2genn's ``genn`` on GeNN's CPU backend) into a directory that a machine
with only a C++ compiler (and, for CUDA, the CUDA toolkit) builds with ``make`` and runs with ``./run.sh``: no
Python, no lprnn_brian, no path back to the machine that exported it. :func:`read_standalone` turns the results
directory of those runs back into the package's :class:`lprnn_brian.simulation.SimulationResult` (the
``import-standalone`` command writes it as the run file that ``analyse`` reads).

**What a project holds.** The sources, makefile and static arrays that the target's code generator writes (the
very code that :class:`lprnn_brian.targets.Runner` compiles for ``simulate``, the same layout), with three
changes to the makefile: no include, library or run-time path of the exporting Python environment;
``-march=native`` replaced by ``$(ARCH)`` (default ``-march=native``: build on the kind of node that runs it, or
set ``make ARCH=...``; without fast-math and FMA contraction the results do not depend on it); and a rule that
builds the input converter ``lprnn_input`` (``lprnn_input.cpp``, C++11, standard library only). The GeNN project
holds the code that GeNN's ``genn-buildmodel`` generated for its CPU backend (GeNN itself is not needed to build).
Beside them: ``run.sh``, ``README.md`` (the formats, generated for the model), ``lprnn_project.json`` (the
manifest: layout, input and output files, for :func:`read_standalone`) and ``lprnn_spec.npz`` (the SNN spec).

**Inputs.** ``./run.sh FRAMES.npy RESULTS`` takes the model's input frames (samples, frames, features) in a
``.npy`` file, float32 or float64; ``lprnn_input`` turns each batch into the layer-0 drive that ``main`` reads
(rounding to float32, the product with W0 in a plain loop: ``lprnn_input.cpp``). The drive has the form that the
layout's network takes (:func:`lprnn_brian.network.build_network`): per ANN frame in the row layout (the default on
cpp_standalone: :func:`lprnn_brian.convert.input_frames`, which the binary holds over each frame's steps; the file
is ``static_arrays/<FrameStimulus.file_name>``, read from the directory ``main`` runs in, so ``run.sh`` runs each
batch in a directory of its own that links the project's arrays), per SNN step otherwise
(:func:`lprnn_brian.convert.layer0_drive`, the zero-order hold applied by ``lprnn_input``; the TimedArray's values,
named on ``main``'s command line or, on GeNN, its static array). The product's sum runs in another order than
numpy's (BLAS), so the drive may differ from the package's by a few units in the last place;
``./run.sh --drive DRIVE.npy RESULTS`` takes the drive itself, in the project's form, as :func:`write_drive` computes
it with the package, for runs identical bit for bit to ``simulate``'s.

**Outputs.** Per batch, the files of the layout's recorders: each layer's spikes in the row layout's per-copy file
(:mod:`lprnn_brian.spike_record`), or a ``SpikeMonitor``'s index and time arrays; the states of its
``StateMonitor`` or frame-end ``EventMonitor`` and window sums. The manifest names them all.

**Layout.** The project runs ``batch`` samples per run of ``main`` (network copies; default 32 on cpp_standalone and
cuda_standalone, which sample every layer's states at frame ends, 8 on GeNN, which records every step): the
fastest layout of :func:`lprnn_brian.targets.resolve_layout`, the one ``simulate`` uses. ``run.sh`` loops over the
batches of the input (or a range of them, for a cluster's array jobs); batch k goes to ``RESULTS/batch_<k>``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..ann.forward import check_inputs, readout_start
from ..ann.model import READOUT_WINDOWS
from ..convert import SNNSpec, frame_end_steps, hold_steps, input_frames, layer0_drive
from ..errors import UserInputError
from ..fileio import atomic_path
from ..simulation import SimulationResult, decode_scale, merge_results, result_from_raw
from ..targets import device
from ..targets.base import compile_args, resolve_layout
from . import _standalone_sources as src

#: The targets whose projects :func:`export_standalone` writes.
TARGETS = ("cpp_standalone", "cuda_standalone", "genn")
#: ``format`` of the manifest, and its version (2: the row layout's input per frame and per-copy spike files, the
#: manifest's ``drive`` and layers' ``spike_record``; 3: spike files of the second format, int16 indices and
#: spikes per step, :mod:`lprnn_brian.spike_record`; projects of versions 1 and 2 are read too).
PROJECT_FORMAT = "lprnn_brian.standalone_project"
PROJECT_VERSION = 3
#: The manifest (JSON) in every project and results directory.
MANIFEST = "lprnn_project.json"
#: The SNN spec (``SNNSpec.to_arrays``, no pickles) in every project and results directory.
SPEC_FILE = "lprnn_spec.npz"
#: Written by ``run.sh`` in a results directory: the input's sample and batch counts.
INPUT_RECORD = "input.txt"
#: Written by ``run.sh`` in each batch directory: its first sample and sample count.
SAMPLES_FILE = "samples.txt"
#: A batch's directory name (batch number, five digits).
BATCH_DIR = "batch_{:05d}"
#: The input converter's name (binary) and its sources.
INPUT_TOOL = "lprnn_input"
#: The CUDA toolkit's directory that an exported CUDA makefile assumes unless ``CUDA_PATH`` is set.
DEFAULT_CUDA_PATH = "/usr/local/cuda"
#: What ``-march=native`` becomes in an exported makefile.
ARCH_VARIABLE = "$(ARCH)"
#: Preferences the export changes for the whole process (restored afterwards).
_PREFS = ("codegen.cpp.include_dirs", "codegen.cpp.library_dirs", "codegen.cpp.runtime_library_dirs",
          "codegen.cpp.extra_compile_args_gcc", "devices.cpp_standalone.openmp_threads")
#: Build products a project must not carry (made by ``make`` on the machine that runs it).
_PRODUCTS = re.compile(r"(^|/)(main|generator|lprnn_input|make\.deps)$|\.(o|d|so|a)$")


def _arch_variable(path: Path) -> None:
    """Replace ``-march=native`` (of :func:`lprnn_brian.targets.base.compile_args`; Brian2 drops flags its compiler
    check does not know, so it cannot be given as ``$(ARCH)``) by ``$(ARCH)`` in the makefile ``path``."""
    text = path.read_text()
    if "-march=native" not in text:
        raise RuntimeError(f"{path.name} has no -march=native to make the variable $(ARCH): its template changed")
    path.write_text(text.replace("-march=native", ARCH_VARIABLE))


@dataclass
class _Generated:
    """What a target's generator leaves besides the project's files: the makefile's name, the output files of
    every layer (for the manifest), the input ``main`` reads (:func:`_drive_entry`), the run script's template and
    the settings to record."""

    makefile: str
    layers: list[dict]
    drive: dict
    run_script: str
    makefile_header: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    absolute: list[str] = field(default_factory=list)  # paths of this machine the project must not name


# --- export ----------------------------------------------------------------------------------------------------
def export_standalone(spec: SNNSpec, out: str | os.PathLike, *, target: str = "cpp_standalone",
                      batch: int | None = None, sampling: str | None = None, propagation: str | None = None,
                      record: tuple[str, ...] | None = None, force: bool = False,
                      model_name: str | None = None) -> dict:
    """Write the standalone project of ``spec`` on ``target`` into the directory ``out``.

    Parameters
    ----------
    spec : SNNSpec
        The network (:func:`lprnn_brian.convert.to_snn_spec`, ``resample='hold'``); the project runs inputs of
        ``spec.n_frames`` frames.
    out : path
        The project directory; built in a temporary directory beside it and renamed into place. An existing
        ``out`` is replaced only with ``force``, and only if it is empty or an exported project.
    target : {'cpp_standalone', 'cuda_standalone', 'genn'}
        ``cuda_standalone`` in the environment of ``scripts/setup-cuda`` (the project compiles with nvcc; running
        it needs a GPU), ``genn`` in that of ``scripts/setup-genn`` (GeNN's CPU backend).
    batch, sampling, propagation :
        Samples per run of ``main``, state sampling and spike propagation (see :class:`lprnn_brian.targets.Runner`);
        None: the fastest that the target runs (:func:`lprnn_brian.targets.resolve_layout`, at most 32 samples
        per run).
    record : tuple of str, optional
        Recorded states (default :data:`lprnn_brian.network.DEFAULT_RECORD`, every decode).
    force : bool
        Replace an existing project in ``out``.
    model_name : str, optional
        Recorded in the manifest and README (e.g. the model file's name).

    Returns the manifest (JSON-ready), which is also ``out/lprnn_project.json``.
    """
    from ..network import DEFAULT_RECORD, check_layout

    if target not in TARGETS:
        raise UserInputError(f"export standalone: unknown target {target!r}; choose one of {TARGETS}")
    if spec.resample != "hold":
        raise UserInputError(f"the project's input converter holds each frame for its steps; this spec resamples "
                             f"with {spec.resample!r}: convert the model with resample='hold'")
    record = tuple(DEFAULT_RECORD if record is None else record)
    layout = resolve_layout(target, batch=batch, sampling=sampling, propagation=propagation)
    check_layout(layout["batch"], layout["sampling"], layout["propagation"], target)
    if target == "genn":
        from ..targets.genn import check_layout as genn_layout

        genn_layout(layout["batch"], layout["sampling"], layout["propagation"])
    out = Path(out)
    _check_out(out, force)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        project = tmp / "project"  # a fixed depth below tmp: every path of this build contains str(tmp)
        project.mkdir()
        generate = {"cpp_standalone": _generate_cpp, "cuda_standalone": _generate_cuda, "genn": _generate_genn}[target]
        gen = generate(spec, layout, record, project)
        manifest = _manifest(spec, target, layout, record, gen, model_name)
        _add_files(spec, project, gen, manifest)
        _check_relocatable(project, [str(tmp), str(tmp.resolve())] + _machine_paths() + gen.absolute)
        _replace(project, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _check_out(out: Path, force: bool) -> None:
    """Refuse an ``out`` that exists (without ``force``), is a file, or is a directory holding something other than an
    exported project; and a parent directory that does not exist."""
    if not out.parent.is_dir():
        raise UserInputError(f"directory {out.parent} does not exist; create it first")
    if not out.exists():
        return
    if not out.is_dir():
        raise UserInputError(f"--out {out} is a file; give a directory for the project")
    if not force:
        raise UserInputError(f"{out} already exists; choose another --out or pass --force to replace the project there")
    if any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UserInputError(f"{out} is not an exported project (no {MANIFEST}); --force replaces only a project or an "
                             "empty directory: choose another --out")


def _replace(project: Path, out: Path) -> None:
    """Rename ``project`` onto ``out`` (an existing ``out``, checked by :func:`_check_out`, goes first)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / "project")
    try:
        os.replace(project, out)
    except OSError:
        if old is not None:
            os.replace(old / "project", out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _machine_paths() -> list[str]:
    """Paths of this machine that a relocatable project must not name: the Python environment, Brian2's package."""
    import brian2

    paths = {sys.prefix, os.path.realpath(sys.prefix), str(Path(brian2.__file__).resolve().parent)}
    return sorted(p for p in paths if len(p) > 1)


def _check_relocatable(project: Path, forbidden: list[str]) -> None:
    """RuntimeError if a text file of ``project`` names one of the ``forbidden`` paths, or a build product is there."""
    forbidden = sorted({p for p in forbidden if p and len(p) > 1}, key=len, reverse=True)
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project).as_posix()
        if path.is_dir() or rel.startswith("static_arrays/"):
            continue
        if _PRODUCTS.search(rel):
            raise RuntimeError(f"exported project holds the build product {rel}")
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for p in forbidden:
            if p in text:
                raise RuntimeError(f"exported project's {rel} names {p}, a path of the exporting machine")


def _prepare_device(owner, mode: str, extra_prefs: tuple[str, ...] = ()) -> None:
    """Claim Brian2's standalone device for the export and give C++ code generation the project's settings: the
    flags of a ``mode`` build (:func:`lprnn_brian.targets.base.compile_args`, as ``simulate`` compiles it), no paths
    of this Python environment, ``$(ARCH)`` for ``-march=native``, no OpenMP."""
    import gc

    from brian2 import prefs

    gc.collect()  # Brian2 objects of closed runners would give this network's objects suffixed names
    device.claim_standalone(owner, _PREFS + extra_prefs)
    prefs.codegen.cpp.include_dirs = []
    prefs.codegen.cpp.library_dirs = []
    prefs.codegen.cpp.runtime_library_dirs = []
    prefs.codegen.cpp.extra_compile_args_gcc = compile_args(mode)
    prefs.devices.cpp_standalone.openmp_threads = 0


def _layer_files(bn, dev, state_names: dict[str, str] | None = None) -> list[dict]:
    """Per layer, the result file of every recording that :func:`lprnn_brian.targets.readback.read_runs` reads:
    the spike recorder's file (``spike_record``, the row layout) or the SpikeMonitor's arrays (``spikes``), and the
    state monitors' arrays (Brian2's ``get_array_filename``); ``state_names`` maps a recorded state to the monitored
    variable that holds it (GeNN: ``rec_<state>``)."""
    names = state_names or {v: v for v in bn.record}

    def name(var) -> str:  # Brian2 < 2.6 prefixes 'results/'
        return os.path.basename(dev.get_array_filename(var))

    layers = []
    sample_monitors = bn.sample_monitors or [None] * len(bn.groups)
    recorders = getattr(bn, "spike_recorders", None) or [None] * len(bn.groups)
    for g, sm, rec, st, em in zip(bn.groups, bn.spike_monitors, recorders, bn.state_monitors, sample_monitors):
        entry: dict = {"name": g.name, "group_size": int(g.N),
                       "spikes": None if sm is None else {"i": name(sm.variables["i"]), "t": name(sm.variables["t"])},
                       "spike_record": None if rec is None else rec.file_name,
                       "states": None, "frames": None, "sums": None}
        if st is not None:
            monitor = getattr(st, "monitor", st)  # GeNN: the StateMonitor of the record-slot copies
            entry["states"] = {v: name(monitor.variables[names[v]]) for v in bn.record}
        if em is not None:
            entry["frames"] = {a: name(em.variables[a]) for a in ("i", "t") + tuple(bn.record)}
            entry["sums"] = {w: {v: name(g.variables[f"sum_{w}_{v}"]) for v in bn.record}
                             for w in bn.windows}
        layers.append(entry)
    return layers


def _drive_entry(bn, spec: SNNSpec, project: Path) -> dict:
    """The manifest's ``drive``: the layer-0 input that ``main`` reads, per ANN frame (the row layout's
    :class:`lprnn_brian.network.FrameStimulus`, from its ``static_arrays`` file) or per SNN step (a TimedArray's
    values), and its shape, (rows, batch·n0) float64."""
    from ..network import FrameStimulus

    stimulus = bn.stimulus
    if isinstance(stimulus, FrameStimulus):
        path = project / "static_arrays" / stimulus.file_name
        size = int(np.prod(stimulus.shape)) * 8
        if not path.is_file() or path.stat().st_size != size:
            raise RuntimeError(f"the generated project lacks the input file static_arrays/{stimulus.file_name} of "
                               f"{size} bytes: Brian2 names its static arrays otherwise")
        return {"per": "frame", "shape": list(stimulus.shape), "static_array": stimulus.file_name}
    return {"per": "step", "shape": [spec.n_steps, int(bn.batch) * spec.layers[0].n], "timed_array": stimulus.name}


def _generate_standalone(device_name: str, spec: SNNSpec, layout: dict, record: tuple[str, ...],
                         project: Path) -> tuple[dict, dict]:
    """The project of ``spec`` generated (not compiled) in ``project`` by the standalone device ``device_name``
    (Brian2's or brian2cuda's): its layers' result files and its drive entry."""
    from ..network import build_network

    owner = SimpleNamespace()
    _prepare_device(owner, spec.mode)
    try:
        device.activate(device_name, build_on_run=False, directory=str(project))
        dev = device.active_device()
        bn = build_network(spec, record=record, device=dev, **layout)
        bn.network.run(bn.duration, namespace=bn.namespace)
        dev.build(directory=str(project), compile=False, run=False, with_output=False)
        return _layer_files(bn, dev), _drive_entry(bn, spec, project)
    finally:
        device.release_standalone(owner)


def _generate_cpp(spec: SNNSpec, layout: dict, record: tuple[str, ...], project: Path) -> _Generated:
    """Brian2's ``cpp_standalone`` project of ``spec`` in ``project`` (generated, not compiled)."""
    layers, drive = _generate_standalone("cpp_standalone", spec, layout, record, project)
    run_script = src.RUN_SH_ROWS if drive["per"] == "frame" else src.RUN_SH_STANDALONE
    return _Generated("makefile", layers, drive, run_script)


def _generate_cuda(spec: SNNSpec, layout: dict, record: tuple[str, ...], project: Path) -> _Generated:
    """brian2cuda's project of ``spec`` in ``project`` (generated, not compiled), its makefile's paths made
    variables: ``CUDA_PATH``, ``CUDA_ARCH``, ``CURAND_INCLUDE``, ``CURAND_LIB``."""
    from ..targets import cuda

    settings = cuda.configure()
    layers, drive = _generate_standalone(cuda.DEVICE_NAME, spec, layout, record, project)
    link_dir = project / "curand_link"
    makefile = (project / "makefile").read_text()
    for path, variable in ((link_dir, "$(CURAND_LIB)"), (settings.curand_lib, "$(CURAND_LIB)"),
                           (settings.curand_include, "$(CURAND_INCLUDE)"), (settings.cuda_path, "$(CUDA_PATH)")):
        makefile = makefile.replace(str(path), variable)
    arch = f"-arch={settings.arch}"
    if arch not in makefile:
        raise RuntimeError(f"brian2cuda's makefile changed: no {arch} to make a variable")
    makefile = makefile.replace(arch, "-arch=$(CUDA_ARCH)")
    (project / "makefile").write_text(makefile)
    shutil.rmtree(link_dir, ignore_errors=True)
    header = ["# the CUDA toolkit (nvcc, and by default cuRAND), the GPU architecture compiled for (sm_90: H100)",
              f"CUDA_PATH ?= {DEFAULT_CUDA_PATH}", f"CUDA_ARCH ?= {settings.arch}",
              "CURAND_INCLUDE ?= $(CUDA_PATH)/include", "CURAND_LIB ?= $(CUDA_PATH)/lib64"]
    import brian2cuda

    return _Generated("makefile", layers, drive, src.RUN_SH_STANDALONE, header,
                      settings={"brian2cuda": brian2cuda.__version__, "cuda_arch": settings.arch,
                                "nvcc_release": settings.release},
                      # the toolkit's own directory may be named only where it is the makefile's default
                      absolute=[str(p) for p in (settings.cuda_path, settings.curand_lib, settings.curand_include)
                                if str(p) != DEFAULT_CUDA_PATH])


def _generate_genn(spec: SNNSpec, layout: dict, record: tuple[str, ...], project: Path) -> _Generated:
    """brian2genn's project of ``spec`` in ``project`` for GeNN's CPU backend, with the code that GeNN's
    ``genn-buildmodel`` generates from it (GeNN is not needed to build the project)."""
    import contextlib

    import brian2genn

    from ..targets import genn

    genn.configure(use_gpu=False)
    owner = SimpleNamespace()
    device.require_free()
    _prepare_device(owner, spec.mode, genn._GENN_PREFS)
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # brian2genn's progress prints
            bn = genn.generate_project(project, spec, record=record, batch=layout["batch"], use_gpu=False)
            dev = device.active_device()
            layers = _layer_files(bn, dev, {v: genn.RECORD_PREFIX + v for v in record})
            drive = {**_drive_entry(bn, spec, project), "static_array": genn.STIMULUS_FILE}  # brian2genn loads it
            duration = repr(float(dev.run_duration))
    finally:
        device.release_standalone(owner)
    genn_dir = genn.genn_path()
    includes = ":".join(str(p) for p in (project, project / "brianlib" / "randomkit"))
    proc = subprocess.run([str(genn_dir / "bin" / "genn-buildmodel.sh"), "-c", "-i", includes,
                           "magicnetwork_model.cpp"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "GENN_PATH": str(genn_dir)})
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"genn-buildmodel failed (exit {proc.returncode}):\n{tail}")
    code = project / "magicnetwork_model_CODE"
    _arch_variable(code / "Makefile")
    _prepend(code / "Makefile", ["# lprnn_brian: the CPU the generated code is compiled for (README.md)",
                                 "ARCH ?= -march=native"])
    for p in sorted(project.rglob("*")):  # the generator and its objects: made again by no one, needed by no one
        if p.is_file() and _PRODUCTS.search(p.relative_to(project).as_posix()):
            p.unlink()
    for d in ("results", "test_output"):
        shutil.rmtree(project / d, ignore_errors=True)
    return _Generated("Makefile", layers, drive, src.RUN_SH_GENN.replace("@DURATION@", duration),
                      settings={"brian2genn": brian2genn.__version__, "genn": genn.GENN_VERSION,
                                "duration_s": duration},
                      absolute=[str(genn_dir), str(genn_dir.resolve())])


def _prepend(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n\n" + path.read_text())


# --- the project's own files ------------------------------------------------------------------------------------
def _manifest(spec: SNNSpec, target: str, layout: dict, record: tuple[str, ...], gen: _Generated,
              model_name: str | None) -> dict:
    """The project's manifest: what ran, the input formats and every output file (README.md says it in prose)."""
    import brian2

    from ..version import __version__

    L0 = spec.layers[0]
    sampled = layout["sampling"] != "steps"
    layers = []
    for L, files in zip(spec.layers, gen.layers):
        layers.append({**files, "n": L.n, "kind": L.kind,
                       "decode_scale": {d: _scale_json(decode_scale(d, L)) for d in ("fb", "ip", "in",
                                                                                               "count")}})
    return {
        "format": PROJECT_FORMAT, "format_version": PROJECT_VERSION, "lprnn_brian": __version__,
        "brian2": brian2.__version__, "target": target, "model": model_name, "spec_digest": spec.digest(),
        "mode": spec.mode, "threshold_policy": spec.threshold_policy,
        "layout": {**layout, "threads": 0}, "record": list(record),
        "dt_s": spec.dt, "n_frames": spec.n_frames, "n_steps": spec.n_steps, "n_features": int(L0.W_ann.shape[1]),
        "n0": L0.n, "drive": gen.drive, "settings": gen.settings,
        "frame_ends": frame_end_steps(spec).tolist() if sampled else None,
        "windows": {w: readout_start(spec.n_steps, w) for w in READOUT_WINDOWS},
        "layers": layers,
    }


def _scale_json(scale):
    """A decode scale for JSON: a float, or a list for a per-neuron scale."""
    a = np.asarray(scale, dtype=np.float64)
    return float(a) if a.ndim == 0 else a.tolist()


def _add_files(spec: SNNSpec, project: Path, gen: _Generated, manifest: dict) -> None:
    """Add the input converter, its arrays, the run script, the makefile's changes, the manifest, the spec and the
    README to the generated ``project``."""
    L0 = spec.layers[0]
    B = manifest["layout"]["batch"]
    n_features = manifest["n_features"]
    drive = manifest["drive"]
    per_frame = drive["per"] == "frame"
    values = {"N_FRAMES": spec.n_frames, "N_FEATURES": n_features, "N0": L0.n, "N_STEPS": spec.n_steps,
              "BATCH": B, "TARGET": manifest["target"], "ROWS": drive["shape"][0],
              "DRIVE_PER": "ANN frame" if per_frame else "SNN step",
              "STIMULUS": drive.get("timed_array", ""), "STIMULUS_FILE": drive.get("static_array", "")}
    (project / f"{INPUT_TOOL}.cpp").write_text(src.INPUT_TOOL_CPP)
    per_unit = isinstance(L0.tau_I, np.ndarray)
    f0 = float(L0.factor)
    (project / f"{INPUT_TOOL}_params.h").write_text(src.fill(src.INPUT_PARAMS_H, **values, F0=repr(f0),
                                                             PER_UNIT=int(per_unit), PER_FRAME=int(per_frame)))
    arrays = project / "static_arrays"
    np.ascontiguousarray(L0.W_ann, dtype=np.float64).tofile(arrays / f"{INPUT_TOOL}_W0")
    if not per_frame:  # the hold of convert.hold_steps: SNN step n holds frame ⌊n/M⌋ (at most the last)
        hold_steps(spec.n_frames, spec).astype(np.int32).tofile(arrays / f"{INPUT_TOOL}_frame_of_step")
    if per_unit:  # input_frames' τ_U/τ_I,i, the same double division
        np.ascontiguousarray(L0.tau_U / L0.tau_I, dtype=np.float64).tofile(arrays / f"{INPUT_TOOL}_unit_scale")
    run = project / "run.sh"
    run.write_text(src.fill(gen.run_script, **values))
    run.chmod(0o755)
    makefile = project / gen.makefile
    _arch_variable(makefile)
    _prepend(makefile, ["# lprnn_brian: the CPU the network is compiled for; without fast-math and FMA contraction",
                        "# the results do not depend on it (README.md). E.g. make ARCH=-march=x86-64-v3",
                        "ARCH ?= -march=native"] + gen.makefile_header)
    with open(makefile, "a") as fh:
        fh.write(f"\n# lprnn_brian: the input converter (README.md)\nall: {INPUT_TOOL}\n\n"
                 f"{INPUT_TOOL}: {INPUT_TOOL}.cpp {INPUT_TOOL}_params.h\n"
                 f"\t$(CXX) -O2 -std=c++11 -ffp-contract=off -fno-fast-math {INPUT_TOOL}.cpp -o {INPUT_TOOL}\n")
    shutil.rmtree(project / "results", ignore_errors=True)
    (project / MANIFEST).write_text(json.dumps(manifest, indent=1))
    meta, spec_arrays = spec.to_arrays()
    np.savez(project / SPEC_FILE, meta=np.array(json.dumps(meta, default=float)), **spec_arrays)
    from ._standalone_readme import readme

    (project / "README.md").write_text(readme(spec, manifest))


# --- the drive, for runs identical to the package's -------------------------------------------------------------
def load_project_spec(directory: str | os.PathLike) -> tuple[dict, SNNSpec]:
    """The manifest and SNN spec of an exported project or of a results directory that ``run.sh`` wrote."""
    directory = Path(directory)
    what = "give the directory that `lprnn-brian export standalone` or its run.sh wrote"
    if not (directory / MANIFEST).is_file():
        raise UserInputError(f"{directory} is not an exported project or its results (no {MANIFEST}); {what}")
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        if manifest.get("format") != PROJECT_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
        with np.load(directory / SPEC_FILE, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        spec = SNNSpec.from_arrays(json.loads(str(arrays.pop("meta")[()])), arrays)
    except UserInputError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file
        raise UserInputError(f"{directory}: damaged {MANIFEST} or {SPEC_FILE} ({type(e).__name__}: {e}); {what}")
    if manifest.get("format_version", 0) > PROJECT_VERSION:
        raise UserInputError(f"{directory} was written by a newer lprnn_brian (project format "
                             f"{manifest['format_version']}); upgrade lprnn_brian to read it")
    if spec.digest() != manifest.get("spec_digest"):
        raise UserInputError(f"{directory}: {SPEC_FILE} is not the spec of {MANIFEST} (digests differ); {what}")
    return manifest, spec


def project_drive(spec: SNNSpec, x, per: str = "step") -> np.ndarray:
    """The layer-0 drive of every sample of frames ``x`` (samples, frames, features), float64, of the inputs as
    :func:`lprnn_brian.simulation.simulate` checks them: per ANN frame (``per='frame'``, (samples, n_frames, n0),
    :func:`lprnn_brian.convert.input_frames`) or per SNN step (``'step'``, (samples, n_steps, n0),
    :func:`lprnn_brian.convert.layer0_drive`), as the project's manifest says (``drive['per']``)."""
    if per not in ("frame", "step"):
        raise ValueError(f"per must be 'frame' or 'step', not {per!r}")
    x = check_inputs(x, spec.layers[0].W_ann.shape[1])
    if x.shape[1] != spec.n_frames:
        raise UserInputError(f"inputs have {x.shape[1]} frames; the project runs {spec.n_frames} (export it again "
                             f"with --frames {x.shape[1]})")
    drive = input_frames if per == "frame" else layer0_drive
    return np.stack([drive(x[s].astype(np.float64), spec) for s in range(x.shape[0])]).astype(np.float64, copy=False)


def write_drive(project: str | os.PathLike, x, out: str | os.PathLike, force: bool = False) -> Path:
    """Write the layer-0 drive of frames ``x`` (an array or a ``.npy`` path) for the exported ``project`` (its
    directory, or a results directory) to ``out`` (``.npy``, float64) in the form its binary reads (the manifest's
    ``drive``: (samples, n_frames, n0) per ANN frame in the row layout, (samples, n_steps, n0) per SNN step
    otherwise; :func:`project_drive`), atomically: ``./run.sh --drive out RESULTS`` then gives spikes identical to
    ``simulate``'s on ``x``."""
    from ..fileio import load_inputs

    manifest, spec = load_project_spec(project)
    if isinstance(x, (str, os.PathLike)):
        x = load_inputs(x)
    drive = project_drive(spec, x, manifest.get("drive", {}).get("per", "step"))  # version 1: per step
    with atomic_path(out, force) as tmp:
        np.save(tmp, drive)
    return Path(out)


# --- results back to the package ---------------------------------------------------------------------------------
class _Monitor:
    """A monitor or group read from result files: attribute ``a`` is the array of file ``files[a]`` (``t`` also as
    ``t_``, in seconds), 2-D state arrays (steps, group size) as Brian2's monitors give them, (group size, steps)."""

    def __init__(self, directory: Path, files: dict[str, str], dtypes: dict[str, str], n: int | None = None,
                 steps: int | None = None, N: int | None = None):
        self._directory, self._files, self._dtypes = directory, files, dtypes
        self._n, self._steps = n, steps
        self.N = N

    def __getattr__(self, name: str):
        key = name[:-1] if name.endswith("_") and name[:-1] in self._files else name
        if key not in self._files:
            raise AttributeError(name)
        path = self._directory / self._files[key]
        try:
            a = np.fromfile(path, dtype=self._dtypes.get(key, "<f8"))
        except OSError as e:
            raise _Damaged(f"{path.name}: {e.strerror or e}") from None
        if self._steps is not None:  # a StateMonitor's (steps, n) array
            if a.size != self._steps * self._n:
                raise _Damaged(f"{path.name} holds {a.size} values, {self._steps}×{self._n} expected")
            return a.reshape(self._steps, self._n).T
        if self._n is not None and a.size != self._n:
            raise _Damaged(f"{path.name} holds {a.size} values, {self._n} expected")
        return a


class _Damaged(Exception):
    """A result file of a batch is missing or has the wrong size."""


#: A layer's spikes where its recorder's file holds them (:func:`_recorded_spikes`): an empty SpikeMonitor for
#: :func:`lprnn_brian.targets.readback.read_runs`.
_NO_MONITOR = SimpleNamespace(i=np.zeros(0, dtype=np.int32), t_=np.zeros(0))


def _recorded_spikes(directory: Path, file_name: str, batch: int, n_used: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(index within the copy, step) of each of the first ``n_used`` copies in the spike recorder's file
    ``directory/file_name`` (:mod:`lprnn_brian.spike_record`, read by its own reader); :class:`_Damaged` if it is
    missing or its sizes disagree."""
    from ..spike_record import read_spikes

    try:
        # the recorder's reader needs only the file name and the copy count of the recorder; it checks the sizes
        return read_spikes(Path(directory) / file_name, batch, n_used)
    except OSError as e:
        raise _Damaged(f"{file_name}: {e.strerror or e}") from None
    except ValueError as e:  # a batch count that differs, a truncated file
        raise _Damaged(str(e).replace(str(directory / file_name), file_name)) from None


def _batch_network(manifest: dict, directory: Path):
    """A stand-in for :class:`lprnn_brian.network.BrianNetwork` whose monitors read batch ``directory``'s files, as
    :func:`lprnn_brian.targets.readback.read_runs` reads a network that has run."""
    record = tuple(manifest["record"])
    steps = manifest["n_steps"]
    groups, spikes, states, samples = [], [], [], []
    for L in manifest["layers"]:
        N = L["group_size"]
        sums = {f"sum_{w}_{v}": f for w, d in (L["sums"] or {}).items() for v, f in d.items()}
        groups.append(_Monitor(directory, sums, {}, n=N, N=N))
        spikes.append(_NO_MONITOR if L.get("spike_record") else _Monitor(directory, L["spikes"], {"i": "<i4"}))
        states.append(None if L["states"] is None else _Monitor(directory, L["states"], {}, n=N, steps=steps))
        samples.append(None if L["frames"] is None else _Monitor(directory, L["frames"], {"i": "<i4"}))
    sampled = manifest["layout"]["sampling"] != "steps"
    ends = np.asarray(manifest["frame_ends"]) if sampled else None
    return SimpleNamespace(batch=manifest["layout"]["batch"], sampling=manifest["layout"]["sampling"],
                           record=record, groups=groups, spike_monitors=spikes, state_monitors=states,
                           spike_recorders=[],  # the recorder files are read by read_standalone itself
                           sample_monitors=samples, frame_ends=ends,
                           windows={w: s for w, s in manifest["windows"].items()})


def _check_batch_files(manifest: dict, directory: Path) -> None:
    """:class:`_Damaged` unless every spike recorder's file is there, and every event array of every layer's monitors
    is there, whole, and as long as the other arrays of its monitor (the recorder files' and the states' and sums'
    sizes are checked as they are read)."""
    for L in manifest["layers"]:
        if L.get("spike_record") and not (directory / L["spike_record"]).is_file():
            raise _Damaged(f"{L['spike_record']} is missing")
        for files in (L["spikes"], L["frames"]):
            lengths = set()
            for a, f in (files or {}).items():
                path, item = directory / f, 4 if a == "i" else 8
                if not path.is_file():
                    raise _Damaged(f"{f} is missing")
                size = path.stat().st_size
                if size % item:
                    raise _Damaged(f"{f} holds {size} bytes, not a whole number of values")
                lengths.add(size // item)
            if len(lengths) > 1:
                raise _Damaged(f"the arrays of a monitor of {L['name']} have different lengths")


def _read_counts(path: Path, n: int, what: str) -> list[int]:
    try:
        values = [int(v) for v in path.read_text().split()]
    except (OSError, ValueError):
        values = []
    if len(values) != n:
        raise UserInputError(f"{path} is missing or damaged; {what}")
    return values


def read_standalone(results: str | os.PathLike) -> SimulationResult:
    """Read the results directory that an exported project's ``run.sh`` wrote into a
    :class:`lprnn_brian.simulation.SimulationResult` (spikes, frame decodes and window means of every sample, the
    spec, the layout that ran); every batch of the input must be there and complete."""
    from ..targets.readback import read_runs

    results = Path(results)
    manifest, spec = load_project_spec(results)
    again = f"run the project's run.sh on the same input into {results} again"
    n_samples, n_batches = _read_counts(results / INPUT_RECORD, 2, again)
    B = manifest["layout"]["batch"]
    missing = [k for k in range(n_batches) if not (results / BATCH_DIR.format(k)).is_dir()]
    if missing:
        shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
        raise UserInputError(f"{results} lacks batch{'es' if len(missing) > 1 else ''} {shown} of 0 .. {n_batches - 1}"
                             f": run `./run.sh INPUT {results} FIRST LAST` for them")
    parts, run_s = [], 0.0
    for k in range(n_batches):
        d = results / BATCH_DIR.format(k)
        redo = f"run `./run.sh INPUT {results} {k} {k}` again"
        first, count = _read_counts(d / SAMPLES_FILE, 2, redo)
        expected = min(B, n_samples - k * B)
        if first != k * B or count != expected:
            raise UserInputError(f"{d / SAMPLES_FILE} says samples {first} .. {first + count - 1}; batch {k} holds "
                                 f"{k * B} .. {k * B + expected - 1}: {redo}")
        try:
            _check_batch_files(manifest, d)
            raws = read_runs(_batch_network(manifest, d), spec.dt, count)
            for k_layer, L in enumerate(manifest["layers"]):  # the row layout's per-copy spike files
                if L.get("spike_record"):
                    for raw, (i, step) in zip(raws, _recorded_spikes(d, L["spike_record"], B, count)):
                        raw.spike_i[k_layer], raw.spike_step[k_layer] = i, step
        except _Damaged as e:
            raise UserInputError(f"{d} is incomplete or damaged ({e}): {redo}") from None
        info = (d / "last_run_info.txt")
        if info.is_file():
            try:
                run_s += float(info.read_text().split()[0])
            except (ValueError, IndexError):
                pass
        parts.append(result_from_raw(spec, raws, manifest["target"], tuple(manifest["record"])))
    result = merge_results(parts)
    result.wall_s = {"run": run_s}
    result.layout = dict(manifest["layout"])
    result.info = {"standalone": {"results": str(results), "model": manifest.get("model"),
                                  "lprnn_brian": manifest.get("lprnn_brian"), "settings": manifest.get("settings")}}
    if manifest.get("model"):
        result.info["model"] = manifest["model"]
    return result
