"""The ``genn`` target (brian2genn 1.7 + GeNN 4.9; :mod:`lprnn_brian.targets.genn`) against cpp_standalone.

brian2genn needs brian2 2.5 and numpy < 2, so it lives in the environment of ``scripts/setup-genn``
(``$LPRNN_BRIAN_GENN_ENV``, default ``<repo>/.venv-genn``); these tests write a spec and its drives to a file,
run ``tests/genn_job.py`` in that environment's Python by subprocess (GeNN's CPU backend: no GPU needed) and
compare with cpp_standalone run here, the oracle. A missing environment fails the tests with the command
that creates it.

- **Loihi-integer variant: identical.** Spike trains and every recorded state equal cpp_standalone bit for bit:
  the network is the same model (same code strings, same order within a step, see the module docstring of
  lprnn_brian.targets.genn) and integer sums do not depend on their order.
- **Float variant: within rounding.** GeNN sums one projection's spikes of a step in ``inSyn`` and adds the sum
  to ``i_in``; Brian2 adds the spikes to ``i_in`` one at a time. Every other operation is the same IEEE double
  expression, compiled without fast-math or FMA on both sides. Re-associating a sum of at most n terms moves it
  by at most (n − 1) ε Σ|terms| (ε = 2^−52), n ≤ :data:`MAX_FAN_IN` (the widest layer of the small network); the
  filters are leaky (contracting), so an error made each step accumulates to at most τ ≤ 64 times itself. The
  states must therefore stay within :data:`FLOAT_STATE_RTOL` = 64 · 16 · ε ≈ 2.3e-13 of their largest magnitude
  (measured on the small network: 1.5e-16 relative, 1.5e-11 absolute), in every layer. A spike could move only
  if ``v`` came that close to the threshold; none does (measured: no spike differs, on the small network and on
  four clips of the SHD reference network alike), so the spike trains must be identical.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import env_python, random_model, run_job
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.targets import Runner

JOB = Path(__file__).with_name("genn_job.py")
VARS = ("i_ip", "i_in", "v", "i_fb")
#: Most spikes summed into one i_in per step in the small network (8 feed-forward + 8 recurrent).
MAX_FAN_IN = 16
#: Float variant: largest state difference relative to the state's largest magnitude (module docstring:
#: re-association of a sum of ≤ MAX_FAN_IN terms, ε each, accumulated by filters with τ ≤ 64 steps).
FLOAT_STATE_RTOL = 64 * MAX_FAN_IN * np.finfo(np.float64).eps
#: Generation + compilation of one model (measured 14–26 s on 2 busy cores); generous for a loaded machine.
BUILD_TIMEOUT_S = 600


def run_genn(spec, drives, build_root: Path, out: Path, *, record=VARS, batch: int = 1) -> tuple[dict, dict]:
    """Run ``drives`` (samples, n_steps, n0) of ``spec`` on GeNN in the GeNN environment: (info, arrays)."""
    summary, arrays = spec.to_arrays()
    job = out.with_suffix(".job.npz")
    np.savez(job, summary=json.dumps(summary, default=str), digest=spec.digest(), drives=np.asarray(drives),
             **arrays)
    python = env_python("LPRNN_BRIAN_GENN_ENV", ".venv-genn", "scripts/setup-genn", "brian2genn")
    info = run_job(python, JOB, [job, "--build-root", build_root, "--out", out, "--batch", batch,
                                 "--record", ",".join(record)], BUILD_TIMEOUT_S)
    with np.load(out) as z:
        return info, {k: z[k] for k in z.files if k != "info"}


def cpp_runs(spec, drives, build_root: Path, record=VARS):
    with Runner(spec, "cpp_standalone", build_root=build_root, record=record) as r:
        return [r.run(d) for d in drives]


def spike_sets(i: np.ndarray, step: np.ndarray) -> set:
    return set(zip(i.tolist(), step.tolist()))


def small_spec_and_drives(mode: str, n: int = 3):
    """The small 3-layer random network (lpff 6→8, lprnn 8, dense 3; 20 frames = 285 steps) with the Loihi Δt_S
    in both variants, and ``n`` inputs that make every layer spike."""
    model = random_model(np.random.default_rng(20240713))
    spec = to_snn_spec(model, mode=mode, dt=to_snn_spec(model, mode="loihi").dt)
    x = np.random.default_rng(99).normal(0.0, 2.0, size=(n, model.n_frames, model.n_inputs))
    return spec, np.stack([layer0_drive(xi, spec) for xi in x])


@pytest.fixture(scope="module")
def genn_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("genn_builds")


@pytest.mark.slow  # ~35 s: a GeNN build (genn-buildmodel, then make) and a cpp_standalone one
def test_loihi_variant_is_identical_to_cpp_standalone_and_the_build_is_reused(genn_root, build_root, tmp_path):
    """Oracle: cpp_standalone, one sample per run. Loihi variant, three inputs on GeNN with two network copies
    per run (one full batch, one half-filled): every spike (neuron, step) and every recorded state of every
    layer identical. A second process with the same model re-uses the compiled binary (the build's own record
    says it compiled nothing) and gives the same spikes and states."""
    spec, drives = small_spec_and_drives("loihi")
    info, genn = run_genn(spec, drives, genn_root, tmp_path / "genn.npz", batch=2)
    assert info["compiled"] and not info["gpu"] and info["digest"] == spec.digest() and len(info["run_s"]) == 2
    for s, raw in enumerate(cpp_runs(spec, drives, build_root)):
        for k in range(len(spec.layers)):
            assert len(raw.spike_i[k]) > 0, f"layer {k} of sample {s} does not spike: a weak test"
            np.testing.assert_array_equal(genn[f"i_{s}_{k}"], raw.spike_i[k])
            np.testing.assert_array_equal(genn[f"step_{s}_{k}"], raw.spike_step[k])
            for v in VARS:
                np.testing.assert_array_equal(genn[f"{v}_{s}_{k}"], raw.states[k][v], err_msg=f"{v}, layer {k}")
    again, genn2 = run_genn(spec, drives[:1], genn_root, tmp_path / "genn2.npz", batch=2)
    assert again["build_dir"] == info["build_dir"] and not again["compiled"]
    for key, a in genn2.items():
        np.testing.assert_array_equal(a, genn[key], err_msg=key)


@pytest.mark.slow  # a second GeNN build
def test_float_variant_within_rounding_of_cpp_standalone(genn_root, build_root, tmp_path):
    """Oracle: cpp_standalone. Float variant: every layer's spike trains identical in every sample, and every
    state of every layer within FLOAT_STATE_RTOL (≈ 2.3e-13) of its largest magnitude (module docstring: only the
    association of the synaptic sum differs; measured 1.5e-16)."""
    spec, drives = small_spec_and_drives("float")
    assert max(L.W_ann.shape[1] + (0 if L.U_snn is None else L.U_snn.shape[1]) for L in spec.layers) <= MAX_FAN_IN
    _, genn = run_genn(spec, drives, genn_root, tmp_path / "genn.npz")
    for s, raw in enumerate(cpp_runs(spec, drives, build_root)):
        for k in range(len(spec.layers)):
            assert len(raw.spike_i[k]) > 0, f"layer {k} of sample {s} does not spike: a weak test"
            np.testing.assert_array_equal(genn[f"i_{s}_{k}"], raw.spike_i[k], err_msg=f"sample {s}, layer {k}")
            np.testing.assert_array_equal(genn[f"step_{s}_{k}"], raw.spike_step[k], err_msg=f"sample {s}, layer {k}")
            for v in VARS:
                a, b = raw.states[k][v], genn[f"{v}_{s}_{k}"]
                assert np.max(np.abs(a - b)) <= FLOAT_STATE_RTOL * max(1.0, np.max(np.abs(a))), \
                    (s, k, v, np.max(np.abs(a - b)), np.max(np.abs(a)))


@pytest.mark.slow  # ~1 min: the SHD build on GeNN
def test_shd_reference_network_spikes_identical(shd_model, genn_root, build_root, tmp_path):
    """The authors' SHD checkpoint (80 → 128 → 512 rec → 512 rec → 20, Loihi variant, 1,785 steps) on three
    bundled test clips through the SHD front end: spike trains of all four layers identical to cpp_standalone
    (≈ 0.1–0.2 M spikes per clip). GeNN records no states here (spikes only: the fastest way)."""
    from lprnn_brian.tasks.digits import load_digits

    spec = to_snn_spec(shd_model, mode="loihi")
    X, _, _ = load_digits("test", front_end="shd")
    drives = np.stack([layer0_drive(x, spec) for x in X[:3]])
    info, genn = run_genn(spec, drives, genn_root, tmp_path / "genn.npz", record=())
    assert spec.n_steps == 1785 and len(info["run_s"]) == 3
    # the cpp_standalone build of the default recording is the one tests/test_reference_shd.py compiles
    for s, raw in enumerate(cpp_runs(spec, drives, build_root, record=None)):
        for k in range(len(spec.layers)):
            assert len(raw.spike_i[k]) > 0
            np.testing.assert_array_equal(genn[f"i_{s}_{k}"], raw.spike_i[k])
            np.testing.assert_array_equal(genn[f"step_{s}_{k}"], raw.spike_step[k])


def test_genn_refuses_layouts_it_cannot_run():
    """Frame sampling needs a custom event and row propagation a C++ function: both refused with what to use
    instead, before anything is built (in any environment)."""
    spec, _ = small_spec_and_drives("loihi", 1)
    with pytest.raises(UserInputError, match="sampling='steps'"):
        Runner(spec, "genn", sampling="frames")
    with pytest.raises(UserInputError, match="propagation='synapses'"):
        Runner(spec, "genn", propagation="rows")


def test_main_environment_points_to_setup_genn():
    """This environment has no brian2genn (it needs brian2 2.5): the genn target says how to get one."""
    try:
        import brian2genn  # noqa: F401  (only its absence is tested)
    except ImportError:
        pass
    else:
        pytest.skip("brian2genn is importable here")
    spec, _ = small_spec_and_drives("loihi", 1)
    with pytest.raises(UserInputError, match="scripts/setup-genn"):
        Runner(spec, "genn")


# --- GeNN's CUDA backend: the toolkit pieces it needs (checked on fake directory trees; the build itself runs on
# a GPU machine: scripts/gpu-check) ---------------------------------------------------------------------------
def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_libcuda_for_the_linker(tmp_path):
    """GeNN's generator links -lcuda: the toolkit's stub first; else a driver directory with libcuda.so; else a
    link named libcuda.so to the driver's libcuda.so.1 (the only name a driver mount may have); else None."""
    from lprnn_brian.targets.genn import libcuda_link_dir

    cuda, driver, other = tmp_path / "cuda", tmp_path / "driver", tmp_path / "other"
    other.mkdir()
    assert libcuda_link_dir(cuda, tmp_path / "s", search=(str(other),)) is None
    real = _touch(driver / "libcuda.so.1")
    link_dir = libcuda_link_dir(cuda, tmp_path / "s", search=(str(other), str(driver)))
    assert link_dir == tmp_path / "s" / "libcuda_link" and os.readlink(link_dir / "libcuda.so") == str(real)
    assert libcuda_link_dir(cuda, tmp_path / "s", search=(str(other), str(driver))) == link_dir  # again: same link
    _touch(driver / "libcuda.so")
    assert libcuda_link_dir(cuda, tmp_path / "s", search=(str(other), str(driver))) == driver
    _touch(cuda / "lib64" / "stubs" / "libcuda.so")
    assert libcuda_link_dir(cuda, tmp_path / "s", search=(str(driver),)) == cuda / "lib64" / "stubs"


def test_cuda_build_environment_extends_the_paths(tmp_path):
    from lprnn_brian.targets.genn import cuda_build_env

    cuda = tmp_path / "cuda"
    _touch(cuda / "lib64" / "stubs" / "libcuda.so")
    env = cuda_build_env(cuda, tmp_path / "s", {"LIBRARY_PATH": "/a", "LD_LIBRARY_PATH": "/b:/c"})
    assert env == {"LIBRARY_PATH": f"{cuda}/lib64/stubs:/a", "LD_LIBRARY_PATH": f"{cuda}/lib64:/b:/c"}
    assert cuda_build_env(cuda, tmp_path / "s", {}) == {"LIBRARY_PATH": f"{cuda}/lib64/stubs",
                                                        "LD_LIBRARY_PATH": f"{cuda}/lib64"}


def test_curand_headers_for_genns_nvcc(tmp_path, monkeypatch):
    """GeNN's generated CUDA code includes curand_kernel.h: no flag when the toolkit has it, else -I of the
    nvidia-curand wheel's headers (what lprnn_brian.targets.cuda.curand_dirs finds)."""
    from lprnn_brian.targets import cuda as cuda_module
    from lprnn_brian.targets.genn import curand_include_flags

    toolkit = tmp_path / "cuda"
    _touch(toolkit / "include" / "curand_kernel.h")
    assert curand_include_flags(toolkit) == []
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.setattr(cuda_module, "curand_dirs", lambda cuda=None: (tmp_path / "wheel" / "include",
                                                                       tmp_path / "wheel" / "lib"))
    assert curand_include_flags(bare) == [f"-I{tmp_path / 'wheel' / 'include'}"]
