"""lprnn_brian: trained low-pass RNNs as adaptive sigma-delta spiking networks in Brian2.

The public API, one import away (``import lprnn_brian as lb``)::

    model = lb.load_model(lb.bundled_model_path())         # or lb.read_reference_checkpoint(path)
    spec = lb.to_snn_spec(model, mode="loihi")              # the converted ΣΔ network (docs/method.md)
    x, labels = lb.load_inputs("x.npy"), lb.load_labels("y.npy")
    result = lb.simulate(spec, x, target="cpp_standalone")  # spikes and decodes of every sample
    ex = lb.explore(model, x[0])                            # one input's Brian2 network, to change and run
    ev = lb.evaluate(model, x, labels)                      # ANN vs SNN accuracy, agreement, fidelity

Each name is defined in the module of the layer it belongs to (docs/architecture.md) and imported from there on
first use, so ``import lprnn_brian`` loads neither Brian2 nor numpy-heavy modules until a name is asked for.
"""
from __future__ import annotations

import importlib

from . import compat
from .version import __version__

#: public name → module that defines it (the module's own documentation is the reference).
_PUBLIC: dict[str, str] = {
    # the rate network
    "LpRNNModel": "lprnn_brian.ann.model",
    "load_model": "lprnn_brian.ann.model",
    "save_model": "lprnn_brian.ann.model",
    "read_reference_checkpoint": "lprnn_brian.ann.checkpoint",
    "forward": "lprnn_brian.ann.forward",
    "AnnResult": "lprnn_brian.ann.forward",
    # conversion
    "SNNSpec": "lprnn_brian.convert",
    "to_snn_spec": "lprnn_brian.convert",
    # Brian2 network, targets, simulation
    "build_network": "lprnn_brian.network",
    "BrianNetwork": "lprnn_brian.network",
    "Runner": "lprnn_brian.targets",
    "RawRun": "lprnn_brian.targets",
    "TARGETS": "lprnn_brian.targets",
    "simulate": "lprnn_brian.simulation",
    "SimulationResult": "lprnn_brian.simulation",
    "load_result": "lprnn_brian.simulation",
    "merge_results": "lprnn_brian.simulation",
    # exploring one input's network by hand in Brian2
    "explore": "lprnn_brian.explore",
    "Exploration": "lprnn_brian.explore",
    # evaluation
    "evaluate": "lprnn_brian.evaluate",
    "Evaluation": "lprnn_brian.evaluate",
    # data and files
    "bundled_model_path": "lprnn_brian.bundled",
    "load_inputs": "lprnn_brian.fileio",
    "load_labels": "lprnn_brian.fileio",
    "UserInputError": "lprnn_brian.errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    """Import a public name from its module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'lprnn_brian' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


compat.install()
