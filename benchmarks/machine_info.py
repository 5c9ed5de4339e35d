"""What a benchmark ran on, for its JSON record: one description shared by every benchmark in this folder."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what :mod:`platform` knows where that file does not exist."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict:
    """CPU model and count, the load average when called, OS, Python, the versions of Brian2, numpy and the
    package, and the checkout's commit."""
    import brian2
    import numpy

    from lprnn_brian import __version__

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "load_average_1min": os.getloadavg()[0],
            "platform": platform.platform(), "python": platform.python_version(), "brian2": brian2.__version__,
            "numpy": numpy.__version__, "lprnn_brian": __version__, "commit": commit.stdout.strip() or None}
