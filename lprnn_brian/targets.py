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

import gc
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .convert import SNNSpec
from .errors import UserInputError

TARGETS = ("numpy", "cython", "cpp_standalone", "cuda_standalone", "genn")
#: Targets built once into a binary that is re-run per batch (``cuda_standalone``: :mod:`lprnn_brian.cuda`).
STANDALONE = ("cpp_standalone", "cuda_standalone")
#: Compiler flags shared by cython and cpp_standalone (no fast-math, no FMA contraction). GCC treats Brian2's
#: ``__restrict`` local pointers as possibly aliasing and gives up vectorising a neuron loop that touches more
#: than a few arrays (default limit: 10 run-time alias checks); raising the limit vectorises the per-neuron
#: updates. Element-wise IEEE operations give the same doubles in vector and scalar form, and without
#: fast-math GCC never reorders a floating-point sum, so results are unchanged bit for bit.
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math", "-march=native", "-std=c++11",
                "--param=vect-max-version-for-alias-checks=64"]

_standalone_active = False


def default_build_root() -> Path:
    """``$LPRNN_BRIAN_CACHE`` or ``~/.cache/lprnn_brian`` / builds."""
    root = os.environ.get("LPRNN_BRIAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lprnn_brian")
    return Path(root) / "builds"


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


def _read(bn, dt: float, n_used: int | None = None) -> list[RawRun]:
    """One :class:`RawRun` per network copy (the first ``n_used`` copies)."""
    B = bn.batch
    n_used = B if n_used is None else n_used
    sampled = bn.sampling != "steps"
    runs = [RawRun([], [], [], [] if sampled else None, [] if sampled else None) for _ in range(n_used)]
    for k, (g, sm, st) in enumerate(zip(bn.groups, bn.spike_monitors, bn.state_monitors)):
        n = g.N // B
        i = np.array(sm.i[:], dtype=np.int64)  # copy: runtime monitors reuse their buffers
        step = np.rint(np.asarray(sm.t_[:]) / dt).astype(np.int32)
        # spikes of each copy, in recorded (time) order: one stable sort (a radix sort on 16-bit keys)
        copy = (i // n).astype(np.int16 if B < 2**15 else np.int64)
        by_copy = np.argsort(copy, kind="stable")
        bounds = np.searchsorted(copy[by_copy], np.arange(n_used + 1))
        states = {v: np.asarray(getattr(st, v)[:]).T for v in bn.record} if st is not None else {}
        # a layer without a frame monitor (a hidden layer under 'readout') recorded nothing: empty dicts
        frames, sums = ({}, {}) if sampled else (None, None)
        em = bn.sample_monitors[k] if sampled else None
        if em is not None:
            ev_i = np.asarray(em.i[:], dtype=np.int64)
            ev_step = np.rint(np.asarray(em.t_[:]) / dt).astype(np.int64)
            ends = np.unique(ev_step)
            row = np.searchsorted(ends, ev_step)
            for v in bn.record:
                a = np.empty((len(ends), g.N))
                a[row, ev_i] = np.asarray(getattr(em, v)[:])
                frames[v] = a
            sums = {v: {w: np.asarray(getattr(g, f"sum_{w}_{v}")[:]) for w in bn.windows} for v in bn.record}
        for b in range(n_used):
            mine = by_copy[bounds[b]:bounds[b + 1]]
            runs[b].spike_i.append((i[mine] - b * n).astype(np.int32))
            runs[b].spike_step.append(step[mine])
            runs[b].states.append({v: a[:, b * n:(b + 1) * n].copy() for v, a in states.items()})
            if frames is not None:
                runs[b].frame_states.append({v: a[:, b * n:(b + 1) * n].copy() for v, a in frames.items()})
                runs[b].window_sums.append({v: {w: a[b * n:(b + 1) * n].copy() for w, a in d.items()}
                                            for v, d in sums.items()})
    return runs


#: File in every standalone build directory recording what each build compiled (:func:`read_build_record`).
BUILD_RECORD = "lprnn_build_record.json"


def _build_products(build_dir: Path) -> dict[str, int]:
    """Modification times (ns) of the build's object files and binary, by relative path."""
    if not build_dir.is_dir():
        return {}
    paths = [p for p in build_dir.rglob("*.o")] + [p for p in (build_dir / "main",) if p.exists()]
    return {p.relative_to(build_dir).as_posix(): p.stat().st_mtime_ns for p in paths}


def _write_build_record(build_dir: Path, runner: "Runner", before: dict, after: dict) -> dict:
    """Append this build to the directory's record: which object files make (re)compiled and whether the
    binary was (re)linked, with the model digest and layout. Written atomically; returns this build's entry."""
    import json
    import time

    import brian2

    from .fileio import write_text_atomic

    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "pid": os.getpid(),
        "compiled": sorted(k for k, t in after.items() if k != "main" and before.get(k) != t),
        "linked": before.get("main") != after.get("main"),
    }
    path = build_dir / BUILD_RECORD
    record = read_build_record(build_dir) or {
        "format": "lprnn_brian build record", "version": 1, "spec_digest": runner.spec.digest(),
        "target": runner.target, "record": list(runner.record), "batch": runner.batch,
        "sampling": runner.sampling, "propagation": runner.propagation, "threads": runner.threads,
        "brian2": brian2.__version__, "compile_args": list(COMPILE_ARGS), "builds": []}
    record["builds"] = (record["builds"] + [entry])[-50:]
    write_text_atomic(path, json.dumps(record, indent=1), force=True)
    return entry


def read_build_record(build_dir: str | os.PathLike) -> dict | None:
    """The build record of a standalone build directory (None if it has none): the model digest and layout,
    and per build (the last 50) its time, process, the object files compiled and whether ``main`` was linked."""
    import json

    path = Path(build_dir) / BUILD_RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text())


class Runner:
    """Builds the network of ``spec`` on ``target`` once; :meth:`run` simulates one sample.

    Use as a context manager (``with Runner(spec, 'cpp_standalone') as r: r.run(drive)``) so that the
    Brian2 device is reset afterwards.

    Parameters
    ----------
    spec : SNNSpec
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone', 'genn'}
        ``cuda_standalone`` (brian2cuda, in the environment of ``scripts/setup-cuda``) builds and compiles
        without a GPU and needs one to run (:mod:`lprnn_brian.cuda`). ``genn`` (brian2genn, in the environment
        of ``scripts/setup-genn``) runs on GeNN's CPU backend, or its CUDA backend when a GPU is visible
        (:mod:`lprnn_brian.genn`; default layout only, any ``batch``).
    record : tuple of str, optional
        States to record (default :data:`lprnn_brian.network.DEFAULT_RECORD`).
    build_root : path, optional
        Where standalone builds live (default :func:`default_build_root`).
    batch : int
        Samples simulated together per run (network copies, see :func:`lprnn_brian.network.build_network`).
    sampling : {'steps', 'frames', 'readout'}
        How states are recorded (:func:`lprnn_brian.network.build_network`).
    propagation : {'synapses', 'rows'}
        Brian2 synapses, or the row-propagation kernel (cpp_standalone).
    threads : int
        OpenMP threads of the standalone binary (0: none). Needs ``propagation='rows'``; worth it only with
        idle cores and large batches (OpenMP threads spin at every step's barriers).

    The fastest way to many samples on ``cpp_standalone`` is ``batch=16`` or more, ``sampling='readout'``
    (or ``'frames'`` when every layer's decodes are wanted) and ``propagation='rows'``; every choice gives
    the same spikes and decodes as a single run with the defaults (``tests/test_batch.py``).
    """

    def __init__(self, spec: SNNSpec, target: str = "cpp_standalone", *, record=None, build_root=None,
                 batch: int = 1, sampling: str = "steps", propagation: str = "synapses", threads: int = 0):
        from brian2 import prefs

        from .network import DEFAULT_RECORD, check_layout

        if target not in TARGETS:
            raise UserInputError(f"unknown target {target!r}; choose one of {TARGETS}")
        check_layout(batch, sampling, propagation, target)
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
            raise UserInputError(f"threads must be a non-negative integer (0: no OpenMP), got {threads!r}")
        if threads and (target != "cpp_standalone" or propagation != "rows"):
            raise UserInputError("OpenMP threads are for target='cpp_standalone' with propagation='rows' (each "
                                 "network copy's spikes are then propagated by one thread, in the serial order); "
                                 "use threads=0 otherwise")
        self.threads = int(threads)
        self.spec = spec
        self.target = target
        self.batch = int(batch)
        self.sampling = sampling
        self.propagation = propagation
        self.record = tuple(DEFAULT_RECORD if record is None else record)
        prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
        self._lock = None
        self.build_dir: Path | None = None
        #: This runner's entry in the build record (standalone targets): object files compiled, binary linked.
        self.build_record: dict | None = None
        if target in STANDALONE:
            self._init_standalone(Path(build_root) if build_root else default_build_root())
        elif target == "genn":
            from .genn import GeNNBuild

            self._genn = GeNNBuild(self, Path(build_root) if build_root else default_build_root())
            self.build_dir = self._genn.build_dir
        else:
            self._init_runtime(target)

    # --- runtime (numpy, cython) -------------------------------------------------------------------
    def _init_runtime(self, target: str) -> None:
        from brian2 import prefs, set_device

        from .network import build_network

        set_device("runtime")
        prefs.codegen.target = target
        self.bn = build_network(self.spec, record=self.record, **self._layout())
        self.bn.network.store("initial")

    def _layout(self) -> dict:
        return {"batch": self.batch, "sampling": self.sampling, "propagation": self.propagation}

    def _run_runtime(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        from brian2 import TimedArray, second

        from .equations.render import STIMULUS

        self.bn.network.restore("initial")
        ta = TimedArray(np.ascontiguousarray(drive, dtype=np.float64), dt=self.spec.dt * second)
        namespace = dict(self.bn.namespace)
        namespace[STIMULUS] = ta
        self.bn.network.run(self.bn.duration, namespace=namespace)
        return _read(self.bn, self.spec.dt, n_used)

    # --- cpp_standalone ----------------------------------------------------------------------------
    def _init_standalone(self, root: Path) -> None:
        global _standalone_active
        from brian2 import device, prefs, set_device
        from filelock import FileLock, Timeout

        from .network import build_network

        device_name, suffix = "cpp_standalone", ""
        if self.target == "cuda_standalone":
            from .cuda import DEVICE_NAME, configure

            device_name, suffix = DEVICE_NAME, f"-cuda-{configure().arch}"
        gc.collect()  # Brian2 objects of closed runners still waiting for collection would rename this build's
        if _standalone_active:
            raise RuntimeError("only one cpp_standalone Runner can be open per process; close the other first")
        root.mkdir(parents=True, exist_ok=True)
        layout = "" if (self.batch, self.sampling, self.propagation) == (1, "steps", "synapses") else \
            f"-b{self.batch}-{self.sampling}-{self.propagation}"
        layout += f"-omp{self.threads}" if self.threads else ""
        tag = f"{self.spec.digest()}-{'-'.join(self.record) or 'norecord'}{layout}{suffix}"
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
            set_device(device_name, build_on_run=False, directory=str(build_dir))
            prefs.devices.cpp_standalone.openmp_threads = self.threads
            self.bn = build_network(self.spec, record=self.record, device=device, **self._layout())
            self.bn.network.run(self.bn.duration, namespace=self.bn.namespace)
            before = _build_products(build_dir)
            device.build(directory=str(build_dir), compile=True, run=False, with_output=False)
            self.build_record = _write_build_record(build_dir, self, before, _build_products(build_dir))

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

    def _run_standalone(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        from brian2 import device

        if self.target == "cuda_standalone":
            from .cuda import require_gpu

            require_gpu(self.build_dir)
        # The drive goes to the binary as a file named on its command line (``<timed array>.values=<file>``),
        # written here rather than by Brian2's run_args mapping, which names the file by an md5 of the values
        # (tens of ms per batch). The build directory is this runner's alone (locked), so one name is enough.
        stimulus = self.bn.stimulus
        values = np.ascontiguousarray(drive, dtype=stimulus.values.dtype)
        if values.shape != stimulus.values.shape:
            raise ValueError(f"drive of shape {values.shape} for a TimedArray of shape {stimulus.values.shape}")
        path = self.build_dir / "static_arrays" / "run_drive.dat"
        values.tofile(path)
        try:
            device.run(directory=str(self.build_dir), with_output=False,
                       run_args=[f"{stimulus.name}.values={os.path.join('static_arrays', path.name)}"])
        finally:
            path.unlink(missing_ok=True)
        return _read(self.bn, self.spec.dt, n_used)

    # --- public --------------------------------------------------------------------------------------
    def run(self, drive: np.ndarray) -> RawRun:
        """Simulate one sample. ``drive``: layer-0 input X per SNN step, shape (n_steps, n0)."""
        return self.run_batch([drive])[0]

    def run_batch(self, drives) -> list[RawRun]:
        """Simulate up to ``batch`` samples in one run (the unused copies get zero input and are not read).

        ``drives``: a sequence of layer-0 inputs, each (n_steps, n0)."""
        expected = (self.spec.n_steps, self.spec.layers[0].n)
        drives = list(drives)
        if not 1 <= len(drives) <= self.batch:
            raise UserInputError(f"run_batch takes 1 to {self.batch} drives (the runner's batch), got {len(drives)}")
        for d in drives:
            if np.shape(d) != expected:
                raise UserInputError(f"drive has shape {np.shape(d)}, expected {expected}")
        stacked = np.zeros((expected[0], self.batch * expected[1]))
        for b, d in enumerate(drives):
            stacked[:, b * expected[1]:(b + 1) * expected[1]] = d
        if self.target in STANDALONE:
            return self._run_standalone(stacked, len(drives))
        if self.target == "genn":
            return self._genn.run(stacked, len(drives))
        return self._run_runtime(stacked, len(drives))

    def close(self) -> None:
        global _standalone_active
        from brian2 import device, set_device

        if self.target in STANDALONE and _standalone_active:
            device.reinit()
            set_device("runtime")
            _standalone_active = False
            # let the Brian2 objects go: while they live, a later build in this process gets suffixed names
            # (``..._codeobject_1``), new sources, and a full recompile of an unchanged model
            self.bn = None
            gc.collect()
            if self._lock is None and self.build_dir is not None and self.build_dir.name.endswith(f"pid{os.getpid()}"):
                shutil.rmtree(self.build_dir, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if getattr(self, "_genn", None) is not None:
            self._genn.close()
            self._genn = None

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
