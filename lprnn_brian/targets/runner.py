"""The public runner: builds the network of an SNN spec once on a target, then simulates batches of samples.

:class:`Runner` checks the request, builds a :class:`lprnn_brian.targets.base.RunConfig` and hands it to the
backend registered for its target (:func:`lprnn_brian.targets.base.backend_for`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..convert import SNNSpec
from ..errors import UserInputError
from . import device
from .base import Backend, RunConfig, backend_for
from .build_dir import default_build_root
from .readback import RawRun


class Runner:
    """Builds the network of ``spec`` on ``target`` once; :meth:`run` simulates one sample.

    Use as a context manager (``with Runner(spec, 'cpp_standalone') as r: r.run(drive)``) so that the
    Brian2 device is reset afterwards.

    Parameters
    ----------
    spec : SNNSpec
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone', 'genn', 'lava'}
        ``cuda_standalone`` (brian2cuda, in the environment of ``scripts/setup-cuda``) builds and compiles
        without a GPU and needs one to run (:mod:`lprnn_brian.targets.cuda`). ``genn`` (brian2genn, in the environment
        of ``scripts/setup-genn``) runs on GeNN's CPU backend, or its CUDA backend when a GPU is visible
        (:mod:`lprnn_brian.targets.genn`; default layout only, any ``batch``). ``lava`` (brian2lava, in the
        environment of ``scripts/setup-brian2lava``) runs it on Lava's CPU backend, one Lava network per batch
        (:mod:`lprnn_brian.targets.lava_device`; ``sampling='steps'``, Brian2 synapses, any ``batch``).
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
    the same spikes and decodes as a single run with the defaults (``tests/test_batch.py``). The runner's defaults
    are that plain network (one copy, every step recorded, Brian2 synapses); :func:`lprnn_brian.simulation.simulate`
    and the commands choose the fastest layout of the target instead (:func:`lprnn_brian.targets.resolve_layout`).
    """

    def __init__(self, spec: SNNSpec, target: str = "cpp_standalone", *, record=None, build_root=None,
                 batch: int = 1, sampling: str = "steps", propagation: str = "synapses", threads: int = 0):
        from ..network import DEFAULT_RECORD, check_layout

        backend_class = backend_for(target)
        check_layout(batch, sampling, propagation, target)
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
            raise UserInputError(f"threads must be a non-negative integer (0: no OpenMP), got {threads!r}")
        if threads and (target != "cpp_standalone" or propagation != "rows"):
            raise UserInputError("OpenMP threads are for target='cpp_standalone' with propagation='rows' (each "
                                 "network copy's spikes are then propagated by one thread, in the serial order); "
                                 "use threads=0 otherwise")
        self.config = RunConfig(spec, target, tuple(DEFAULT_RECORD if record is None else record), int(batch),
                                sampling, propagation, int(threads))
        device.use_compile_args()
        #: The target's :class:`lprnn_brian.targets.base.Backend` (its build directory, what it compiled).
        self.backend: Backend = backend_class(self.config, Path(build_root) if build_root else default_build_root())
        self.backend.check()
        try:
            self.backend.build()
        except Exception:
            self.backend.close()
            raise

    # the request, as attributes
    spec = property(lambda self: self.config.spec, doc="The SNN spec.")
    target = property(lambda self: self.config.target, doc="The target name.")
    record = property(lambda self: self.config.record, doc="The recorded states.")
    batch = property(lambda self: self.config.batch, doc="Samples per run (network copies).")
    sampling = property(lambda self: self.config.sampling, doc="How states are recorded.")
    propagation = property(lambda self: self.config.propagation, doc="How spikes reach their targets.")
    threads = property(lambda self: self.config.threads, doc="OpenMP threads of the standalone binary.")

    @property
    def bn(self):
        """The :class:`lprnn_brian.network.BrianNetwork` built (None once a standalone runner is closed)."""
        return self.backend.bn

    @property
    def build_dir(self) -> Path | None:
        """The build directory (compiled targets; None for numpy and cython)."""
        return self.backend.build_dir

    @property
    def build_record(self) -> dict | None:
        """This runner's entry in the build record (cpp_standalone, cuda_standalone): object files compiled,
        binary linked."""
        return self.backend.build_record

    def run(self, drive: np.ndarray) -> RawRun:
        """Simulate one sample. ``drive``: layer-0 input X per SNN step, shape (n_steps, n0)."""
        return self.run_batch([drive])[0]

    def run_batch(self, drives) -> list[RawRun]:
        """Simulate up to ``batch`` samples in one run (the unused copies get zero input and are not read).

        ``drives``: a sequence of layer-0 inputs, each (n_steps, n0) (:func:`lprnn_brian.convert.layer0_drive`).
        A row-layout build takes its input per frame and refuses a drive that changes within a frame
        (:class:`lprnn_brian.network.FrameStimulus`); :meth:`run_inputs` gives it the frames directly."""
        expected = (self.spec.n_steps, self.spec.layers[0].n)
        drives = self._count(drives)
        for d in drives:
            if np.shape(d) != expected:
                raise UserInputError(f"drive has shape {np.shape(d)}, expected {expected}")
        stacked = self._stack(drives, expected)
        stimulus = self._frame_stimulus()
        return self.backend.run(stacked if stimulus is None else stimulus.frames_of_drive(stacked), len(drives))

    def run_inputs(self, x) -> list[RawRun]:
        """Simulate up to ``batch`` samples of ANN input frames ``x`` (samples, n_frames, features) in one run: the
        layer-0 input in the form the build takes, per frame (:func:`lprnn_brian.convert.input_frames`, the row
        layout) or per step (:func:`lprnn_brian.convert.layer0_drive`); the same doubles either way."""
        from ..convert import input_frames, layer0_drive

        spec = self.spec
        x = self._count(x)
        expected = (spec.n_frames, spec.layers[0].W_ann.shape[1])
        for xi in x:
            if np.shape(xi) != expected:
                raise UserInputError(f"input has shape {np.shape(xi)}, expected (frames, features) = {expected}")
        stimulus = self._frame_stimulus()
        if stimulus is None:
            drives = [layer0_drive(xi, spec) for xi in x]
            return self.backend.run(self._stack(drives, (spec.n_steps, spec.layers[0].n)), len(x))
        frames = input_frames(np.asarray(x, dtype=np.float64), spec)  # (samples, n_frames, n0)
        return self.backend.run(self._stack(frames, stimulus.shape[:1] + (spec.layers[0].n,)), len(x))

    def _count(self, items) -> list:
        items = list(items)
        if not 1 <= len(items) <= self.batch:
            raise UserInputError(f"a run takes 1 to {self.batch} samples (the runner's batch), got {len(items)}")
        return items

    def _stack(self, per_sample, shape: tuple) -> np.ndarray:
        """Samples side by side, (rows, batch·n0); the unused copies zero."""
        stacked = np.zeros((shape[0], self.batch * shape[1]))
        for b, d in enumerate(per_sample):
            stacked[:, b * shape[1]:(b + 1) * shape[1]] = d
        return stacked

    def _frame_stimulus(self):
        from ..network import FrameStimulus

        bn = self.backend.bn
        return bn.stimulus if bn is not None and isinstance(bn.stimulus, FrameStimulus) else None

    def close(self) -> None:
        """Give back what the backend holds (Brian2's standalone device, the build directory's lock)."""
        self.backend.close()

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
