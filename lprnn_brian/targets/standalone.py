"""The ``cpp_standalone`` target: compiled once per model, further samples only swap the input TimedArray.

The network is generated and compiled into a :class:`lprnn_brian.targets.build_dir.BuildDirectory` named by the
SNN spec's content hash, recorded states and layout; a later process with the same model re-uses the compiled
objects (Brian2 rewrites only changed sources, make rebuilds only those). Each batch writes the drive to a file
and runs the binary with ``<timed array>.values=<file>`` on its command line.
"""
from __future__ import annotations

import gc
import os

import numpy as np

from . import device
from .base import Backend, RunConfig, compile_args, register
from .build_dir import BuildDirectory
from .readback import RawRun, read_runs

#: Targets built once into a binary that is re-run per batch (``cuda_standalone``: :mod:`lprnn_brian.targets.cuda`).
STANDALONE = ("cpp_standalone", "cuda_standalone")
#: Name of the drive file written into ``static_arrays`` of the build directory for each batch.
DRIVE_FILE = "run_drive.dat"


def build_tag(config: RunConfig, suffix: str = "") -> str:
    """The name of a standalone build directory: spec digest, recorded states, layout (when not the default),
    threads, then ``suffix`` (another device's build of the same model lives apart)."""
    c = config
    layout = "" if c.default_layout else f"-b{c.batch}-{c.sampling}-{c.propagation}"
    layout += f"-omp{c.threads}" if c.threads else ""
    return f"{c.spec.digest()}-{'-'.join(c.record) or 'norecord'}{layout}{suffix}"


@register("cpp_standalone")
class CppStandaloneBackend(Backend):
    """Brian2's ``cpp_standalone`` device (subclasses change :meth:`device_name` and :meth:`tag_suffix`)."""

    propagations = None  # Brian2 synapses and the row kernel
    batch_is_compiled = True
    directory: BuildDirectory | None = None

    def device_name(self) -> str:
        """The Brian2 device to build with."""
        return "cpp_standalone"

    def tag_suffix(self) -> str:
        """Appended to the build directory's tag (another device's build of the same model lives apart)."""
        return ""

    def tag(self) -> str:
        """The build directory's name (:func:`build_tag`)."""
        return build_tag(self.config, self.tag_suffix())

    def build(self) -> None:
        name, tag = self.device_name(), self.tag()
        gc.collect()  # Brian2 objects of closed runners still waiting for collection would rename this build's
        device.claim_standalone(self, ("codegen.cpp.extra_compile_args_gcc",))  # set per mode, restored after
        self.directory = BuildDirectory(self.build_root, tag)
        self.build_dir = self.directory.path
        try:
            self._generate_and_compile(name)
        except Exception:
            if not self.directory.has_products():
                raise  # nothing cached could be at fault: a genuine error
            # a cached directory left half-built by a killed process: start it afresh, once
            device.restart_device()
            self.directory.wipe()
            self._generate_and_compile(name)

    def _generate_and_compile(self, device_name: str) -> None:
        from brian2 import prefs

        from ..network import build_network

        c = self.config
        device.activate(device_name, build_on_run=False, directory=str(self.build_dir))
        prefs.devices.cpp_standalone.openmp_threads = c.threads
        prefs.codegen.cpp.extra_compile_args_gcc = self.compiler_flags()
        active = device.active_device()
        self.bn = build_network(c.spec, record=c.record, device=active, **c.layout)
        self.bn.network.run(self.bn.duration, namespace=self.bn.namespace)
        before = self.directory.products()
        active.build(directory=str(self.build_dir), compile=True, run=False, with_output=False)
        self.build_record = self.directory.record_build(self._record_header(), before, self.directory.products())

    def compiler_flags(self) -> list[str]:
        """The C++ flags of the build: :func:`lprnn_brian.targets.base.compile_args` of the spec's mode, and the
        precompiled standard headers (:mod:`lprnn_brian.targets.precompiled`; the same object files, built in half
        the time)."""
        from .precompiled import include_args

        flags = compile_args(self.config.spec.mode)
        return flags + include_args(flags + (["-fopenmp"] if self.config.threads else []))

    def _record_header(self) -> dict:
        """What a new build record starts with: the model digest, layout and versions."""
        import brian2

        c = self.config
        return {"format": "lprnn_brian build record", "version": 1, "spec_digest": c.spec.digest(),
                "target": c.target, "record": list(c.record), "batch": c.batch, "sampling": c.sampling,
                "propagation": c.propagation, "threads": c.threads, "brian2": brian2.__version__,
                "compile_args": compile_args(c.spec.mode)}

    def before_run(self) -> None:
        """Checked before every batch (nothing for cpp_standalone)."""

    def run(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        from ..network import FrameStimulus

        self.before_run()
        stimulus = self.bn.stimulus
        if isinstance(stimulus, FrameStimulus):
            # the row layout's per-frame input: the binary reads it from its static array file when it starts
            values = np.ascontiguousarray(drive, dtype=np.float64)
            if values.shape != stimulus.shape:
                raise ValueError(f"input frames of shape {values.shape} for a stimulus of shape {stimulus.shape}")
            values.tofile(self.build_dir / "static_arrays" / stimulus.file_name)
            device.active_device().run(directory=str(self.build_dir), with_output=False, run_args=[])
            return read_runs(self.bn, self.config.spec.dt, n_used)
        # The drive goes to the binary as a file named on its command line (``<timed array>.values=<file>``),
        # written here rather than by Brian2's run_args mapping, which names the file by an md5 of the values
        # (tens of ms per batch). The build directory is this runner's alone (locked), so one name is enough.
        values = np.ascontiguousarray(drive, dtype=stimulus.values.dtype)
        if values.shape != stimulus.values.shape:
            raise ValueError(f"drive of shape {values.shape} for a TimedArray of shape {stimulus.values.shape}")
        path = self.build_dir / "static_arrays" / DRIVE_FILE
        values.tofile(path)
        try:
            device.active_device().run(directory=str(self.build_dir), with_output=False,
                                       run_args=[f"{stimulus.name}.values={os.path.join('static_arrays', path.name)}"])
        finally:
            path.unlink(missing_ok=True)
        return read_runs(self.bn, self.config.spec.dt, n_used)

    def close(self) -> None:
        """Reset Brian2's device, free the Brian2 objects and release the build directory."""
        if device.release_standalone(self):
            # let the Brian2 objects go: while they live, a later build in this process gets suffixed names
            # (``..._codeobject_1``), new sources, and a full recompile of an unchanged model
            self.bn = None
            gc.collect()
        if self.directory is not None:
            self.directory.release()
