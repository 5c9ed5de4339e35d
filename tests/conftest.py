"""Shared fixtures for the SNN tests: a per-session build cache, the Brian2 numpy runtime, small models.

Like Brian2's own conftest, every test that touches Brian2 directly gets a clean runtime device and its
preferences back afterwards; standalone builds of one session share ``build_root`` (one compile per model).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel, read_reference_checkpoint
from lprnn_brian.ann.checkpoint import SHD_REFERENCE_FILE

#: The authors' checkpoint in ../shared beside the repository (CI clones main with shared/ beside it).
REFERENCE_CKPT = Path(__file__).resolve().parents[2] / "shared" / "reference" / SHD_REFERENCE_FILE


@pytest.fixture(scope="session")
def build_root(tmp_path_factory) -> Path:
    """One standalone build cache per test session: a model compiled once is re-used by every test."""
    return tmp_path_factory.mktemp("builds")


@pytest.fixture
def numpy_runtime():
    """Brian2 runtime device with the numpy code generator; device and preference restored afterwards."""
    from brian2 import prefs, set_device

    set_device("runtime")
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = old
    set_device("runtime")


def random_model(rng: np.random.Generator, sizes=(6, 8, 8, 3), *, n_frames: int = 20, frame_dt: float = 1 / 20,
                 bias_scale: float = 0.25) -> LpRNNModel:
    """lpff → lprnn → dense with weights on the 1/8 grid (codes −4…3, the authors' 3-bit quantiser)."""
    n_in, n_ff, n_rec, n_out = sizes

    def codes(shape, scale=1.0):
        return (scale * rng.integers(-4, 4, size=shape) / 8).astype(np.float32)

    layers = [
        Layer("lpff_1", "lpff", codes((n_ff, n_in)), codes(n_ff, bias_scale), retention=0.8),
        Layer("lprnn_1", "lprnn", codes((n_rec, n_ff)), codes(n_rec, bias_scale), U=codes((n_rec, n_rec)),
              retention=0.8),
        Layer("output", "dense", codes((n_out, n_rec)), codes(n_out, bias_scale)),
    ]
    return LpRNNModel(layers, n_frames=n_frames, frame_dt=frame_dt)


def per_unit_model(rng: np.random.Generator, retention, *, n_in: int = 3, n_out: int = 2, scale: float = 1.0,
                   n_frames: int = 12, frame_dt: float = 1 / 50, class_names=None) -> LpRNNModel:
    """lprnn n_in → len(retention) units with one retention per unit (the 2019 cell) → dense n_out; weights and
    biases on the 1/8 grid (codes −4…3, times ``scale``)."""
    a = np.asarray(retention, np.float32)
    n = a.size

    def codes(shape):
        return (scale * rng.integers(-4, 4, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lprnn_1", "lprnn", codes((n, n_in)), codes(n), U=codes((n, n)), retention=a),
                       Layer("output", "dense", codes((n_out, n)), codes(n_out))], n_frames=n_frames,
                      frame_dt=frame_dt, class_names=class_names or [])


@pytest.fixture(scope="session")
def small_model() -> LpRNNModel:
    """The small random network of the target and schedule tests (lpff 6→8, lprnn 8, dense 3; 20 frames)."""
    return random_model(np.random.default_rng(20240713))


@pytest.fixture(scope="session")
def shd_model() -> LpRNNModel:
    """The authors' trained SHD checkpoint (skips where the file is not available)."""
    if not REFERENCE_CKPT.is_file():
        pytest.skip("authors' SHD checkpoint not available")
    return read_reference_checkpoint(REFERENCE_CKPT, "shd")


# --- the extra targets' environments (tests/test_genn.py, tests/test_cuda.py) ---------------------------
_REPO = Path(__file__).resolve().parents[1]


def env_python(variable: str, default: str, setup: str, what: str) -> Path:
    """The Python of an extra environment (``$variable`` or ``<repo>/<default>``); the test fails (not skips)
    when it is missing, naming the script that creates it."""
    env = Path(os.environ.get(variable) or _REPO / default)
    py = env / "bin" / "python"
    if not py.is_file():
        pytest.fail(f"the {what} environment {env} does not exist: run {setup} (it creates it there; set "
                    f"{variable} to use another directory)", pytrace=False)
    return py


def run_job(python: Path, job: Path, args, timeout: float) -> dict:
    """Run a job script in another environment's Python; the JSON object on its last stdout line, or a test
    failure with the output's tail."""
    cmd = [str(python), str(job), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=_REPO)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}", pytrace=False)
    return json.loads(proc.stdout.strip().splitlines()[-1])
