"""What every target is: a :class:`Backend` class registered under its target name, built from one
:class:`RunConfig`.

:class:`lprnn_brian.targets.Runner` looks its backend up with :func:`backend_for`; adding a target is writing one
:class:`Backend` subclass and decorating it with :func:`register`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from ..convert import SNNSpec
from ..errors import UserInputError

#: Compiler flags shared by cython, cpp_standalone and GeNN (no fast-math, no FMA contraction). GCC treats
#: Brian2's ``__restrict`` local pointers as possibly aliasing and gives up vectorising a neuron loop that touches
#: more than a few arrays (default limit: 10 run-time alias checks); raising the limit vectorises the per-neuron
#: updates. Element-wise IEEE operations give the same doubles in vector and scalar form, and without
#: fast-math GCC never reorders a floating-point sum, so results are unchanged bit for bit. ``-fno-trapping-math``
#: tells GCC that no program here traps on floating-point exceptions (none does: Brian2 installs no handler), so it
#: may evaluate both sides of a clip and convert every lane to an integer before selecting: without it, a loop that
#: clips and then truncates a state (the Loihi mode's step, fused in the row layout) is not vectorised at all. It
#: changes which exception flags get raised, never a value (it enables no reassociation: that also needs
#: ``-fassociative-math``).
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math", "-march=native",
                "-std=c++11", "--param=vect-max-version-for-alias-checks=64"]
#: Added to :data:`COMPILE_ARGS` for the standalone builds of a Loihi-mode network (:func:`compile_args`). There every
#: state is clipped to ±2^23 and truncated to an integer at every step and every spike effect is a bounded integer
#: sum (:func:`lprnn_brian.propagation.accumulator`), so no value is ever infinite or NaN, and a zero's sign never
#: reaches a comparison, a spike or a decode. Told so, GCC clips a state with one vector min and one max instead of
#: a chain of compares and blends (the Loihi step's clips are most of its cost): the same values, with at most the
#: sign of a zero state differing (−0.0 == 0.0). Float-mode builds keep strict IEEE semantics (their floor is
#: ``clip(x, 0, inf)``, and nothing bounds a float state by construction).
LOIHI_COMPILE_ARGS = ["-ffinite-math-only", "-fno-signed-zeros"]


def compile_args(mode: str = "float") -> list[str]:
    """The C++ compiler flags of a standalone build of a network in ``mode`` (``'float'`` or ``'loihi'``):
    :data:`COMPILE_ARGS`, plus :data:`LOIHI_COMPILE_ARGS` in Loihi mode."""
    return list(COMPILE_ARGS) + (list(LOIHI_COMPILE_ARGS) if mode == "loihi" else [])


@dataclass(frozen=True)
class RunConfig:
    """What a runner builds: the network of ``spec`` on ``target``, recording ``record``, in the layout
    ``batch``/``sampling``/``propagation`` with ``threads`` OpenMP threads (see :class:`lprnn_brian.targets.Runner`)."""

    spec: SNNSpec
    target: str
    record: tuple[str, ...]
    batch: int = 1
    sampling: str = "steps"
    propagation: str = "synapses"
    threads: int = 0

    @property
    def layout(self) -> dict:
        """Keyword arguments of :func:`lprnn_brian.network.build_network` for this layout."""
        return {"batch": self.batch, "sampling": self.sampling, "propagation": self.propagation}

    @property
    def default_layout(self) -> bool:
        """One copy, every step recorded, Brian2 synapses."""
        return (self.batch, self.sampling, self.propagation) == (1, "steps", "synapses")


class Backend(ABC):
    """One target's build of a network: :meth:`build` once, :meth:`run` per batch of samples, :meth:`close`.

    Subclasses set :attr:`bn` (the :class:`lprnn_brian.network.BrianNetwork`) when built, and for a target with
    a build directory :attr:`build_dir` (and :attr:`build_record`, what the build compiled)."""

    #: Target name, set by :func:`register`.
    name: str = ""
    #: The state samplings and spike propagations this target runs, None: every one of
    #: :data:`lprnn_brian.network.SAMPLINGS` / :data:`~lprnn_brian.network.PROPAGATIONS` (:func:`resolve_layout` picks
    #: among them; the backend's :meth:`check` and :func:`lprnn_brian.network.check_layout` refuse the others).
    samplings: tuple[str, ...] | None = None
    propagations: tuple[str, ...] | None = ("synapses",)
    #: Whether the batch size is compiled into the build (another batch: another build directory and compile).
    batch_is_compiled: bool = False

    def __init__(self, config: RunConfig, build_root: Path):
        self.config = config
        self.build_root = build_root
        self.bn = None
        self.build_dir: Path | None = None
        self.build_record: dict | None = None

    def check(self) -> None:
        """Refuse a configuration this target cannot run (called before anything is built); default: none."""

    @abstractmethod
    def build(self) -> None:
        """Create (and for a compiled target, compile) the network."""

    @abstractmethod
    def run(self, drive: np.ndarray, n_used: int) -> list:
        """Simulate one batch: ``drive`` (n_steps, batch·n0) is every copy's layer-0 input side by side; one
        :class:`lprnn_brian.targets.RawRun` for each of the first ``n_used`` copies."""

    def close(self) -> None:
        """Free what :meth:`build` took (default: the Brian2 objects)."""
        self.bn = None


_REGISTRY: dict[str, type[Backend]] = {}
B = TypeVar("B", bound=type)


def register(name: str) -> Callable[[B], B]:
    """Class decorator: make ``cls`` the backend of target ``name``."""
    def decorate(cls: B) -> B:
        if name in _REGISTRY:
            raise ValueError(f"target {name!r} is registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def registered() -> tuple[str, ...]:
    """The registered target names, in registration order."""
    return tuple(_REGISTRY)


#: Samples per run that :func:`resolve_layout` chooses at most: sampled at frame ends, and recording every step
#: (where each copy's whole state trace is held in memory until the run is read back).
AUTO_BATCH = 32
AUTO_BATCH_STEPS = 8


def resolve_layout(target: str, *, batch: int | None = None, sampling: str | None = None,
                   propagation: str | None = None, n_samples: int | None = None, want: str = "frames") -> dict:
    """The layout (``batch``, ``sampling``, ``propagation``) in which to run ``n_samples`` samples on ``target``:
    each argument given is kept as it is (an impossible one is refused later by the runner), each None is chosen
    for speed among what the target runs, with the same spikes and decodes as any other layout.

    * ``sampling``: ``want`` (``'frames'``: every layer's states at frame ends, ``'readout'``: the read-out
      layer's only, ``'steps'``: every step), or where the target cannot sample so, the next sampling that records
      more (on ``genn``: ``'steps'``);
    * ``propagation``: ``'rows'`` where the target has the row kernel (``cpp_standalone``), else ``'synapses'``;
    * ``batch``: ``n_samples`` up to :data:`AUTO_BATCH` (:data:`AUTO_BATCH_STEPS` when every step is recorded);
      on targets that compile the batch into the build (``cpp_standalone``, ``cuda_standalone``, ``genn``) rounded
      up to a power of two, so that a few builds serve every sample count.
    """
    from ..network import PROPAGATIONS, SAMPLINGS

    cls = backend_for(target)
    if sampling is None:
        if want not in SAMPLINGS:
            raise UserInputError(f"unknown sampling {want!r}; choose one of {SAMPLINGS}")
        # SAMPLINGS from the most recorded to the least: each records all that the next one does, and more
        more = SAMPLINGS[:SAMPLINGS.index(want) + 1][::-1]
        sampling = next(s for s in more if s in (cls.samplings or SAMPLINGS))
    if propagation is None:
        propagation = "rows" if "rows" in (cls.propagations or PROPAGATIONS) else "synapses"
    if batch is None:
        cap = AUTO_BATCH_STEPS if sampling == "steps" else AUTO_BATCH
        batch = cap if n_samples is None else max(1, min(cap, int(n_samples)))
        if cls.batch_is_compiled:
            batch = min(cap, 1 << (batch - 1).bit_length())
    return {"batch": batch, "sampling": sampling, "propagation": propagation}


def backend_for(target: str) -> type[Backend]:
    """The backend class of ``target``; UserInputError for an unknown target."""
    try:
        return _REGISTRY[target]
    except KeyError:
        raise UserInputError(f"unknown target {target!r}; choose one of {registered()}") from None
