"""Shared fixtures for the SNN tests: a per-session build cache, the Brian2 numpy runtime, small models.

Like Brian2's own conftest, every test that touches Brian2 directly gets a clean runtime device and its
preferences back afterwards; standalone builds of one session share ``build_root`` (one compile per model).
"""
from __future__ import annotations

import json
import os
import re
import shutil
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


#: Relative tolerance of statistics that compare spikes with the float32 ANN's states when the ANN ran in another BLAS
#: setting (another batch size, another numpy's OpenBLAS): BLAS picks its kernel, and so the order of a dot product's
#: additions, by the matrix shape and the CPU, so the same sample's states differ by a rounding or two of float32
#: (2^-24 relative each) compounded over the recurrent frames, and a correlation or RMSE over them by the same order.
#: 1e-6 is sixteen such roundings (measured: 2e-8 between sweep chunks of 1 and 2 samples, 2.9e-8 between numpy
#: builds, on a 2-core AMD EPYC without AVX-512; identical where BLAS keeps one kernel).
ANN_BLAS_RTOL = 1e-6


# --- a compiler cache for the session's C++ builds ---------------------------------------------------------------
#: set to 0 to compile without ccache (every build from scratch)
CCACHE_SWITCH = "LPRNN_BRIAN_TEST_CCACHE"
#: Names the session's own cache directory (set with it; inherited by pytest-xdist's workers, which use the
#: controller's cache and leave its removal to the controller)
SESSION_CACHE_MARK = "LPRNN_BRIAN_TEST_SESSION_CCACHE"
#: The variables through which the session's builds use its ccache (set in pytest_configure)
COMPILER_CACHE_VARIABLES = ("CXX", "CCACHE_DIR", "CCACHE_SLOPPINESS", SESSION_CACHE_MARK)
_ccache: dict = {}


def session_compiler_cache() -> bool:
    """This process compiles through the session's ccache (set up here or, in an xdist worker, by the controller),
    not through a ``CXX`` of the user's."""
    mark = os.environ.get(SESSION_CACHE_MARK)
    return bool(mark) and mark == os.environ.get("CCACHE_DIR")


def environment_without_compiler_cache() -> dict:
    """This process's environment less :data:`COMPILER_CACHE_VARIABLES`, for a process that must compile with the
    plain compiler (nvcc's ``-ccbin`` takes one program, not ``ccache g++``)."""
    return {k: v for k, v in os.environ.items() if k not in COMPILER_CACHE_VARIABLES}


def cxx_compiler() -> str:
    """The C++ compiler of the tests that compile C++ themselves (``g++``, else ``c++``); the test fails, not skips,
    without one: the cpp_standalone target needs it."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.fail("no C++ compiler (g++): the cpp_standalone target needs one", pytrace=False)
    return compiler


def pytest_configure(config):
    """The session's standalone builds (cpp_standalone, GeNN, and those of the command-line tests' subprocesses) go
    through ccache when it is installed and ``CXX`` is not set: most of a build's ~40 objects are the same code for
    every network of one architecture (the weights live in data files), so a session's later builds take about 4 s
    instead of 15. The cache is the session's own (a temporary directory, removed at the end), so a run is timed
    as from a clean machine and nothing outlives it; what ccache returns is the object file the compiler wrote
    for the same preprocessed source and flags (and the same CPU: one session, one machine)."""
    if ("CXX" in os.environ or os.environ.get(CCACHE_SWITCH, "1").strip() == "0" or shutil.which("ccache") is None
            or hasattr(config, "workerinput")):
        return
    import tempfile

    _ccache["dir"] = tempfile.mkdtemp(prefix="lprnn-brian-ccache-")
    # the sloppiness ccache's documentation asks for to cache compilations that use a precompiled header
    # (lprnn_brian.targets.precompiled)
    os.environ.update(CXX="ccache g++", CCACHE_DIR=_ccache["dir"], CCACHE_SLOPPINESS="pch_defines,time_macros")
    os.environ[SESSION_CACHE_MARK] = _ccache["dir"]


def pytest_unconfigure(config):
    if "dir" in _ccache:
        shutil.rmtree(_ccache.pop("dir"), ignore_errors=True)
        for name in COMPILER_CACHE_VARIABLES:
            os.environ.pop(name, None)


def pytest_report_header(config):
    if session_compiler_cache():
        return f"C++ builds through ccache (this session's own cache; {CCACHE_SWITCH}=0 to compile without)"
    return f"C++ builds without a compiler cache (ccache {'off' if shutil.which('ccache') else 'not installed'})"


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


def run_job(python: Path, job: Path, args, timeout: float, compiler_cache: bool = True) -> dict:
    """Run a job script in another environment's Python; the JSON object on its last stdout line, or a test
    failure with the output's tail. ``compiler_cache=False`` hides the session's ``CXX=ccache g++`` from the job
    (brian2cuda passes ``-ccbin $(CXX)`` to nvcc, which takes one program, not a command)."""
    cmd = [str(python), str(job), *map(str, args)]
    env = None
    if not compiler_cache and session_compiler_cache():
        env = environment_without_compiler_cache()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=_REPO, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        pytest.fail(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{tail}", pytrace=False)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- GPU tests fail, not skip, without a GPU ---------------------------------------------------------------
def has_gpu() -> bool:
    """An NVIDIA GPU is visible (``nvidia-smi -L`` succeeds)."""
    smi = shutil.which("nvidia-smi")
    return smi is not None and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


NO_GPU = ("GPU test selected but no NVIDIA GPU is visible here (nvidia-smi -L fails): run `pytest -m gpu` on a "
          "machine with a GPU, or deselect these tests (the default run does: -m \"not slow and not gpu\")")
_gpu_checked: dict = {}


def pytest_runtest_setup(item):
    """A selected ``gpu`` test fails at setup where there is no GPU: asking for the GPU check must not pass
    green when the check could not run (the default run deselects these tests)."""
    if item.get_closest_marker("gpu") is not None:
        if "gpu" not in _gpu_checked:
            _gpu_checked["gpu"] = has_gpu()
        if not _gpu_checked["gpu"]:
            _gpu_checked.setdefault("failed", []).append(item.nodeid)
            pytest.fail(NO_GPU, pytrace=False)


# --- oracles that did not run are said at the end of the run ------------------------------------------------
#: the oracles whose absence makes tests skip, with the skip reasons that name them
ORACLES = {
    "the authors' reference checkpoint (../shared/reference beside the repository)":
        re.compile(r"SHD checkpoint|\.\./shared|shared/reference", re.I),
    "the torch oracle (torch not importable)": re.compile(r"\btorch\b"),
}
#: set to 1 (CI does, in .ci/run) to make a run in which an oracle did not run fail
REQUIRE_ORACLES = "LPRNN_BRIAN_REQUIRE_ORACLES"
_missing: dict[str, list[tuple[str, str]]] = {}


def _skip_reason(report) -> str:
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return str(lr)


def _note_skip(report) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    for oracle, pattern in ORACLES.items():
        if pattern.search(reason):
            _missing.setdefault(oracle, []).append((report.nodeid, reason.removeprefix("Skipped: ")))
            return


def pytest_runtest_logreport(report):
    _note_skip(report)


def pytest_collectreport(report):
    _note_skip(report)  # a module-level importorskip skips the whole file at collection


def _required() -> bool:
    return os.environ.get(REQUIRE_ORACLES, "").strip() not in ("", "0")


def pytest_sessionfinish(session, exitstatus):
    if _missing and _required() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    if _gpu_checked.get("failed"):
        tr.section("GPU TESTS DID NOT RUN", sep="!", red=True, bold=True)
        tr.line(f"{len(_gpu_checked['failed'])} gpu test(s) failed: {NO_GPU}", red=True)
    if not _missing:
        return
    required = _required()
    tr.section("ORACLES THAT DID NOT RUN", sep="!", red=required, yellow=not required, bold=True)
    for oracle, tests in _missing.items():
        reasons = sorted({r for _, r in tests})
        tr.line(f"{oracle}: {len(tests)} test(s) skipped ({'; '.join(reasons)})", bold=True)
        for nodeid, _ in tests:
            tr.line(f"    {nodeid}")
    if required:
        tr.line(f"{REQUIRE_ORACLES} is set: these oracles are required, so this run FAILS", red=True, bold=True)
    else:
        tr.line(f"these checks were not made; set {REQUIRE_ORACLES}=1 to make their absence a failure",
                yellow=True)
