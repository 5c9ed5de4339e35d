"""The Brian2 runtime targets ``numpy`` and ``cython``: the network is built once in this process, stored, and
restored before each batch of samples, which swaps in a new input TimedArray."""
from __future__ import annotations

import numpy as np

from . import device
from .base import Backend, register
from .readback import RawRun, read_runs


class RuntimeBackend(Backend):
    """Brian2's runtime device with code generation :attr:`name` (``numpy`` or ``cython``)."""

    def build(self) -> None:
        from ..network import build_network

        device.use_runtime(self.name)
        c = self.config
        self.bn = build_network(c.spec, record=c.record, **c.layout)
        self.bn.network.store("initial")

    def run(self, drive: np.ndarray, n_used: int) -> list[RawRun]:
        from brian2 import TimedArray, second

        from ..equations.render import STIMULUS

        self.bn.network.restore("initial")
        ta = TimedArray(np.ascontiguousarray(drive, dtype=np.float64), dt=self.config.spec.dt * second)
        namespace = dict(self.bn.namespace)
        namespace[STIMULUS] = ta
        self.bn.network.run(self.bn.duration, namespace=namespace)
        return read_runs(self.bn, self.config.spec.dt, n_used)

    def close(self) -> None:
        """Nothing to release (the runtime network stays readable through :attr:`bn`)."""


@register("numpy")
class NumpyBackend(RuntimeBackend):
    """Brian2's runtime device, numpy code."""


@register("cython")
class CythonBackend(RuntimeBackend):
    """Brian2's runtime device, compiled Cython code."""
