"""Code-generation targets: build a network once, run it for many samples.

Targets: ``numpy`` and ``cython`` (Brian2 runtime), ``cpp_standalone`` (compiled once per model: further
samples only swap the input TimedArray with ``device.run(run_args=...)``).

Standalone build directories are named by the SNN spec's content hash and locked for the runner's
lifetime; a second process that finds the directory locked builds in its own ``<hash>-pid<PID>``
directory, so parallel runs never share a half-built binary, and a later process with the same model
re-uses the compiled objects (Brian2 rewrites only changed sources, make rebuilds only those).

All targets compile without ``-ffast-math`` and with ``-ffp-contract=off`` so that C++, Cython and numpy
evaluate the same IEEE expressions: spike trains are identical across targets.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .convert import SNNSpec
from .errors import UserInputError

TARGETS = ("numpy", "cython", "cpp_standalone")
#: Compiler flags shared by cython and cpp_standalone (no fast-math, no FMA contraction).
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math", "-march=native", "-std=c++11"]

_standalone_active = False


def default_build_root() -> Path:
    """``$LPRNN_BRIAN_CACHE`` or ``~/.cache/lprnn_brian`` / builds."""
    root = os.environ.get("LPRNN_BRIAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lprnn_brian")
    return Path(root) / "builds"


@dataclass
class RawRun:
    """One sample's raw output: per layer, spikes (neuron index, step) and recorded states (n_steps, n)."""

    spike_i: list[np.ndarray]
    spike_step: list[np.ndarray]
    states: list[dict[str, np.ndarray]]


def _read(bn, dt: float) -> RawRun:
    spike_i, spike_step, states = [], [], []
    for sm, st in zip(bn.spike_monitors, bn.state_monitors):
        spike_i.append(np.array(sm.i[:], dtype=np.int32))  # copy: runtime monitors reuse their buffers
        spike_step.append(np.rint(np.asarray(sm.t_[:]) / dt).astype(np.int32))
        states.append({v: np.asarray(getattr(st, v)[:]).T.copy() for v in bn.record} if st is not None else {})
    return RawRun(spike_i, spike_step, states)


class Runner:
    """Builds the network of ``spec`` on ``target`` once; :meth:`run` simulates one sample.

    Use as a context manager (``with Runner(spec, 'cpp_standalone') as r: r.run(drive)``) so that the
    Brian2 device is reset afterwards.
    """

    def __init__(self, spec: SNNSpec, target: str = "cpp_standalone", *, record=None, build_root=None):
        from brian2 import prefs

        from .network import DEFAULT_RECORD

        if target not in TARGETS:
            raise UserInputError(f"unknown target {target!r}; choose one of {TARGETS}")
        self.spec = spec
        self.target = target
        self.record = tuple(DEFAULT_RECORD if record is None else record)
        prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
        self._lock = None
        self.build_dir: Path | None = None
        if target == "cpp_standalone":
            self._init_standalone(Path(build_root) if build_root else default_build_root())
        else:
            self._init_runtime(target)

    # --- runtime (numpy, cython) -------------------------------------------------------------------
    def _init_runtime(self, target: str) -> None:
        from brian2 import prefs, set_device

        from .network import build_network

        set_device("runtime")
        prefs.codegen.target = target
        self.bn = build_network(self.spec, record=self.record)
        self.bn.network.store("initial")

    def _run_runtime(self, drive: np.ndarray) -> RawRun:
        from brian2 import TimedArray, second

        from .equations.render import STIMULUS

        self.bn.network.restore("initial")
        ta = TimedArray(np.ascontiguousarray(drive, dtype=np.float64), dt=self.spec.dt * second)
        self.bn.network.run(self.bn.duration, namespace={STIMULUS: ta})
        return _read(self.bn, self.spec.dt)

    # --- cpp_standalone ----------------------------------------------------------------------------
    def _init_standalone(self, root: Path) -> None:
        global _standalone_active
        from brian2 import device, set_device
        from filelock import FileLock, Timeout

        from .network import build_network

        if _standalone_active:
            raise RuntimeError("only one cpp_standalone Runner can be open per process; close the other first")
        root.mkdir(parents=True, exist_ok=True)
        tag = f"{self.spec.digest()}-{'-'.join(self.record) or 'norecord'}"
        build_dir = root / tag
        lock = FileLock(str(build_dir) + ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            build_dir, lock = root / f"{tag}-pid{os.getpid()}", None
        self._lock = lock
        self.build_dir = build_dir
        _standalone_active = True

        def build() -> None:
            set_device("cpp_standalone", build_on_run=False, directory=str(build_dir))
            self.bn = build_network(self.spec, record=self.record)
            self.bn.network.run(self.bn.duration, namespace=self.bn.namespace)
            device.build(directory=str(build_dir), compile=True, run=False, with_output=False)

        try:
            try:
                build()
            except Exception:
                if not (build_dir / "main").exists() and not any(build_dir.glob("*.o")):
                    raise  # nothing cached could be at fault: a genuine error
                # a cached directory left half-built by a killed process: start it afresh, once
                device.reinit()
                set_device("runtime")
                shutil.rmtree(build_dir, ignore_errors=True)
                build()
        except Exception:
            self.close()
            raise

    def _run_standalone(self, drive: np.ndarray) -> RawRun:
        from brian2 import device

        device.run(directory=str(self.build_dir), with_output=False,
                   run_args={self.bn.stimulus: np.ascontiguousarray(drive, dtype=np.float64)})
        for name in device.run_args_arrays:  # per-sample input files: don't let them pile up
            path = self.build_dir / "static_arrays" / name
            if path.exists():
                path.unlink()
        return _read(self.bn, self.spec.dt)

    # --- public --------------------------------------------------------------------------------------
    def run(self, drive: np.ndarray) -> RawRun:
        """Simulate one sample. ``drive``: layer-0 input X per SNN step, shape (n_steps, n0)."""
        expected = (self.spec.n_steps, self.spec.layers[0].n)
        if drive.shape != expected:
            raise UserInputError(f"drive has shape {drive.shape}, expected {expected}")
        return self._run_standalone(drive) if self.target == "cpp_standalone" else self._run_runtime(drive)

    def close(self) -> None:
        global _standalone_active
        from brian2 import device, set_device

        if self.target == "cpp_standalone" and _standalone_active:
            device.reinit()
            set_device("runtime")
            _standalone_active = False
            if self._lock is None and self.build_dir is not None and self.build_dir.name.endswith(f"pid{os.getpid()}"):
                shutil.rmtree(self.build_dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
