"""What a benchmark ran on, for its JSON record: one description shared by every benchmark in this folder."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lprnn_brian.machine import environment

REPO = Path(__file__).resolve().parents[1]


def describe() -> dict:
    """CPU model and count, the load average when called, OS, Python, the versions of Brian2, numpy and the
    package (:func:`lprnn_brian.machine.environment`), and the checkout's commit."""
    import brian2

    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    return environment() | {"load_average_1min": os.getloadavg()[0], "brian2": brian2.__version__,
                            "commit": commit.stdout.strip() or None}
