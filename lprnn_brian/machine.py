"""What a computation ran on: the CPU, the operating system and the versions of the numerical libraries.

Recorded in every trained model's provenance (:mod:`lprnn_brian.training`) and in every benchmark's JSON record
(``benchmarks/machine_info.py``), so that a number can be traced to the machine and software that produced it.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

__all__ = ["cpu_model", "environment"]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what :mod:`platform` knows where that file does not exist."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(torch: Any = None) -> dict[str, Any]:
    """CPU model and count, OS, Python and numpy versions, the package's version and, given the imported ``torch``
    module, its version, its intra-op thread count and whether its deterministic algorithms are on (what a rerun
    must match to give the same weights, docs/accuracy.md#reproducing-a-training)."""
    import numpy

    from .version import __version__

    env: dict[str, Any] = {"cpu_model": cpu_model(), "cpus": os.cpu_count(), "platform": platform.platform(),
                           "python": platform.python_version(), "numpy": numpy.__version__,
                           "lprnn_brian": __version__}
    if torch is not None:
        env.update(torch=str(torch.__version__), torch_threads=int(torch.get_num_threads()),
                   torch_deterministic=bool(torch.are_deterministic_algorithms_enabled()))
    return env
