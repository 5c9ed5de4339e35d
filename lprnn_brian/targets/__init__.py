"""Code-generation targets: build a network once, run it for many samples.

Targets: ``numpy`` and ``cython`` (Brian2 runtime, :mod:`~lprnn_brian.targets.runtime`), ``cpp_standalone``
(compiled once per model: further samples only swap the input TimedArray; :mod:`~lprnn_brian.targets.standalone`),
``cuda_standalone`` (:mod:`~lprnn_brian.targets.cuda`), ``genn`` (:mod:`~lprnn_brian.targets.genn`) and ``lava``
(brian2lava, :mod:`~lprnn_brian.targets.lava_device`). Each is a
:class:`~lprnn_brian.targets.base.Backend` registered under its name; :class:`Runner` looks it up. Brian2's global
device is selected and reset only in :mod:`~lprnn_brian.targets.device`; build directories are
:class:`~lprnn_brian.targets.build_dir.BuildDirectory` objects; monitors are read back by :func:`read_runs`.

Standalone build directories are named by the SNN spec's content hash and locked for the runner's
lifetime; a second process that finds the directory locked builds in its own ``<hash>-pid<PID>``
directory, so parallel runs never share a half-built binary, and a later process with the same model
re-uses the compiled objects (Brian2 rewrites only changed sources, make rebuilds only those).

All targets compile without ``-ffast-math`` and with ``-ffp-contract=off`` so that C++, Cython and numpy
evaluate the same IEEE expressions: spike trains are identical across targets. A Loihi-mode standalone build adds
:data:`LOIHI_COMPILE_ARGS` (finite values, unsigned zeros), exact there because every state is a bounded integer.
"""
from __future__ import annotations

# the backends register themselves on import, in this order (the order of TARGETS)
from . import runtime  # numpy, cython
from . import standalone  # cpp_standalone
from . import cuda  # cuda_standalone
from . import genn  # genn
from . import lava_device  # lava (brian2lava)
from .base import (AUTO_BATCH, AUTO_BATCH_STEPS, COMPILE_ARGS, LOIHI_COMPILE_ARGS, Backend, RunConfig, backend_for,
                   compile_args, register, registered, resolve_layout)
from .build_dir import BUILD_RECORD, BuildDirectory, default_build_root, read_build_record
from .readback import RawRun, read_runs
from .runner import Runner
from .standalone import STANDALONE

#: The modules whose backends register themselves on import, in the order of :data:`TARGETS`.
BACKEND_MODULES = (runtime, standalone, cuda, genn, lava_device)
#: Every registered target name: numpy, cython, cpp_standalone, cuda_standalone, genn, lava.
TARGETS = registered()

__all__ = ["AUTO_BATCH", "AUTO_BATCH_STEPS", "BACKEND_MODULES", "BUILD_RECORD", "COMPILE_ARGS", "LOIHI_COMPILE_ARGS",
           "STANDALONE", "TARGETS", "Backend", "BuildDirectory", "RawRun", "RunConfig", "Runner", "backend_for",
           "compile_args", "default_build_root", "read_build_record", "read_runs", "register", "registered",
           "resolve_layout"]
