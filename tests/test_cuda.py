"""The ``cuda_standalone`` target (brian2cuda; :mod:`lprnn_brian.targets.cuda`).

brian2cuda needs Python ≥ 3.12 and brian2 2.10.1, so it lives in the environment of ``scripts/setup-cuda``
(``$LPRNN_BRIAN_CUDA_ENV``, default ``<repo>/.venv-cuda``); these tests run ``tests/cuda_job.py`` in that
environment's Python by subprocess.

Without a GPU (every CI machine): the CUDA project of a small recurrent network is generated and compiled
by nvcc (C++17, cuRAND from the wheel, the default compute capability), the binary exists, the generated
code holds the kernels of every layer and projection, an unchanged model is not recompiled, and a run
fails with the message that a GPU is needed.

With a GPU (``pytest -m gpu``; without one these tests fail, see conftest.py): the spikes of cuda_standalone against cpp_standalone (the oracle, run here
in the main environment) on the same inputs. Loihi-integer variant: identical spike trains (integer sums are
exact in any order). Float variant: the only difference left (IEEE double, no FMA, no fast math on both) is
the order in which the GPU's atomic adds sum synaptic inputs. Re-associating a sum of at most n terms moves it
by at most (n − 1) ε Σ|terms| (ε = 2^−52), n ≤ :data:`MAX_FAN_IN` spikes into one i_in per step in the small
network, and the leaky filters (τ ≤ 64 steps) accumulate a per-step error to at most 64 times itself: every
state of every layer must stay within :data:`FLOAT_STATE_RTOL` = 64 · 16 · ε ≈ 2.3e-13 of its largest magnitude
(the same bound as GeNN's, tests/test_genn.py, where 1.5e-16 is measured). A spike could move only if a membrane
value came that close to the threshold; none does on GeNN's identical association problem, so the spike trains
must be identical in every layer, float variant included.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import env_python, has_gpu
from conftest import run_job as run_env_job
from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.ann.model import save_model
from lprnn_brian.convert import layer0_drive, to_snn_spec

JOB = Path(__file__).with_name("cuda_job.py")
#: Most spikes summed into one i_in per step in the small network (8 feed-forward + 8 recurrent).
MAX_FAN_IN = 16
#: Float variant: largest state difference relative to the state's largest magnitude (module docstring).
FLOAT_STATE_RTOL = 64 * MAX_FAN_IN * np.finfo(np.float64).eps
#: Generation + nvcc compilation of the small project: 31 sources of ~8 s CPU each; allow for a loaded machine.
BUILD_TIMEOUT_S = 900


def run_job(*args, timeout: float = BUILD_TIMEOUT_S) -> dict:
    """Run tests/cuda_job.py in the CUDA environment (which the test fails without); its JSON line."""
    return run_env_job(env_python("LPRNN_BRIAN_CUDA_ENV", ".venv-cuda", "scripts/setup-cuda", "brian2cuda"),
                       JOB, args, timeout, compiler_cache=False)


def tiny_model() -> LpRNNModel:
    """lprnn 4→6 (recurrent, driven by the input) → dense 2, 10 frames: the fewest code objects that still
    have every kind (input TimedArray, recurrent and feed-forward synapses, Loihi truncation, monitors)."""
    rng = np.random.default_rng(1)

    def codes(shape, scale=1.0):
        return (scale * rng.integers(-4, 4, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lprnn_1", "lprnn", codes((6, 4)), codes(6, 0.25), U=codes((6, 6)), retention=0.8),
                       Layer("output", "dense", codes((2, 6)), codes(2, 0.25))], n_frames=10, frame_dt=1 / 20)


@pytest.mark.slow  # nvcc compiles the generated project: about 3 minutes on 2 cores
def test_cuda_project_generates_and_compiles_without_a_gpu(tmp_path, record_property):
    model = save_model(tiny_model(), tmp_path / "tiny.npz")
    builds = tmp_path / "builds"
    args = ("--model", model, "--mode", "loihi", "--build-root", builds, "--out", tmp_path / "out.npz",
            "--check-no-gpu")
    info = run_job(*args)
    for key in ("build_s", "make_s", "generate_s"):
        record_property(key, round(info[key], 1))
    build = Path(info["build_dir"])
    binary = build / "main"
    assert binary.is_file() and os.access(binary, os.X_OK)
    makefile = (build / "makefile").read_text()
    assert "-std=c++17" in makefile and "c++11" not in makefile
    assert "--fmad=false" in makefile and "fast_math" not in makefile
    assert f"-arch={info['arch']}" in makefile
    if not has_gpu():
        assert info["gpu"] is None and info["arch"] == "sm_75"
        assert "needs an NVIDIA GPU" in info["no_gpu_error"], info

    # every layer's step, threshold, reset and monitors; the input; both projections
    expected = {f"{g}_{part}" for g in ("lprnn_1", "output")
                for part in ("clip_codeobject", "truncate_codeobject", "update_codeobject", "spike_thresholder_codeobject",
                             "spike_resetter_codeobject", "spikes_codeobject",
                             "states_codeobject")}
    expected |= {"lprnn_1_input_codeobject"}
    expected |= {f"{p}_{part}" for p in ("lprnn_1_rec", "output_ff")
                 for part in ("pre_codeobject", "pre_push_spikes", "synapses_create_array_codeobject")}
    assert expected <= set(info["code_objects"]), expected - set(info["code_objects"])
    for name in ("lprnn_1_update_codeobject", "output_ff_pre_codeobject", "lprnn_1_rec_pre_codeobject"):
        code = (build / "code_objects" / f"{name}.cu").read_text()
        assert f"__global__ void _run_kernel_{name}" in " ".join(code.split()), name
        assert "defaultclock" not in code  # brian2cuda's template bug, fixed to the network's own clock
    # the layer-0 drive: a 2-d TimedArray (steps × 6 neurons) read on the GPU, set per run from the command line
    code = (build / "code_objects" / "lprnn_1_input_codeobject.cu").read_text()
    assert "_namespacestimulus_values[timestep*6 + i]" in code and "stimulus(t, i)" in code
    assert "stimulus.values" in (build / "objects.cu").read_text()

    # an unchanged model is not recompiled (a new process: the generated code must not depend on it)
    assert info["build_record"]["linked"] and info["build_record"]["compiled"]
    before = binary.stat().st_mtime_ns
    again = run_job(*args[:-1])
    assert again["build_dir"] == info["build_dir"]
    assert again["build_record"] == {**again["build_record"], "compiled": [], "linked": False}
    assert binary.stat().st_mtime_ns == before
    print(f"\ncuda_standalone build: {info['build_s']:.1f} s ({info['generate_s']:.1f} s generation, "
          f"{info['make_s']:.1f} s nvcc for {info['arch']}); rebuild of the unchanged model {again['build_s']:.1f} s")


def test_rows_propagation_is_refused_on_cuda(small_model):
    """The row kernel is C++ for cpp_standalone; refused before brian2cuda is even needed."""
    from lprnn_brian.errors import UserInputError
    from lprnn_brian.targets import Runner

    spec = to_snn_spec(small_model, mode="loihi")
    with pytest.raises(UserInputError, match="propagation='synapses' on cuda_standalone"):
        Runner(spec, "cuda_standalone", propagation="rows")


def _by_step(i: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spikes ordered by step, then neuron: the GPU's threshold kernel fills a step's spike list in the order
    its threads finish, the CPU in neuron order; the spike trains are what is compared."""
    order = np.lexsort((i, step))
    return i[order], step[order]


def _spikes(path: Path, n_samples: int, n_layers: int):
    data = np.load(path)
    return [[_by_step(data[f"i_{s}_{k}"], data[f"step_{s}_{k}"]) for k in range(n_layers)]
            for s in range(n_samples)], data


@pytest.mark.gpu
@pytest.mark.parametrize("batch, sampling", [(1, "steps"), (2, "frames")])
@pytest.mark.parametrize("mode", ["loihi", "float"])
def test_cuda_spikes_match_cpp_standalone(mode, batch, sampling, small_model, build_root, tmp_path,
                                          record_property):
    from lprnn_brian.targets import Runner

    spec = to_snn_spec(small_model, mode=mode)
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 2.0, size=(4, small_model.n_frames, small_model.n_inputs))
    drives = np.stack([layer0_drive(xi, spec) for xi in x])
    np.save(tmp_path / "drives.npy", drives)

    t0 = time.perf_counter()
    with Runner(spec, "cpp_standalone", build_root=build_root) as r:
        cpp_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        refs = [r.run(d) for d in drives]
        cpp_run = (time.perf_counter() - t0) / len(drives)
    info = run_job("--model", save_model(small_model, tmp_path / "m.npz"), "--mode", mode, "--build-root",
                   build_root, "--out", tmp_path / "cuda.npz", "--drives", tmp_path / "drives.npy",
                   "--batch", batch, "--sampling", sampling)
    cuda, data = _spikes(tmp_path / "cuda.npz", len(drives), len(spec.layers))
    cuda_run = sum(info["run_s"]) / len(drives)
    for key, value in {"gpu": info["gpu"], "cuda_build_s": info["build_s"], "cuda_run_s_per_sample": cuda_run,
                       "cpp_build_s": cpp_build, "cpp_run_s_per_sample": cpp_run}.items():
        record_property(key, value)
    print(f"\n{mode} b{batch} {sampling} on {info['gpu']}: cuda build {info['build_s']:.1f} s, "
          f"{1e3 * cuda_run:.2f} ms/sample; cpp build {cpp_build:.1f} s, {1e3 * cpp_run:.2f} ms/sample")

    assert sum(len(i) for i, _ in cuda[0]) > 0, "the sample must make spikes"
    for s, ref in enumerate(refs):
        for k in range(len(spec.layers)):
            ci, cs = cuda[s][k]
            ri, rs = _by_step(ref.spike_i[k], ref.spike_step[k])
            np.testing.assert_array_equal(ci, ri, err_msg=f"{mode}: sample {s}, layer {k}")
            np.testing.assert_array_equal(cs, rs, err_msg=f"{mode}: sample {s}, layer {k}")
            if sampling != "steps":
                continue
            for v, a in ref.states[k].items():
                if mode == "loihi":  # integer states: identical
                    np.testing.assert_array_equal(data[f"{v}_{s}_{k}"], a, err_msg=f"{v}, layer {k}")
                else:
                    scale = max(np.abs(a).max(), 1.0)
                    np.testing.assert_allclose(data[f"{v}_{s}_{k}"], a, rtol=0, atol=FLOAT_STATE_RTOL * scale,
                                               err_msg=f"{v}, layer {k}")
