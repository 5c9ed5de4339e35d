"""Frame-end sampling with fewer than 2 SNN steps per frame (M < 2; issue 19's frame-end bug).

With M = Δt_A/Δt_S < 2 the last two ANN frames can end on the same SNN step: frame t ends at record index
⌊(t+1)·M⌋, capped at n_steps − 1 = ⌊T·M⌋ − 1, so for M = 1 (T = 5: 1, 2, 3, 4, 4) and for M = 1.5 (T = 5,
n_steps = 7: 1, 3, 4, 6, 6) both frames 3 and 4 end at the last step. The frame sampler flags that step once;
its read-back must still give one row per frame (it gave T − 1 rows, and a sweep at M = 1 failed).

Oracle: the every-step recording (``sampling='steps'``) of the same network on the same target, indexed at the
frame ends written out here from the formula above (not through the package's helper); spikes must be identical.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import random_model
from lprnn_brian.ann.model import save_model
from lprnn_brian.convert import frame_end_steps, layer0_drive, to_snn_spec
from lprnn_brian.targets import Runner

RECORD = ("i_fb", "i_ip", "i_in")
T = 5
#: the frame ends by hand: ⌊(t+1)·M⌋ for t = 0…4, capped at ⌊5·M⌋ − 1
HAND_ENDS = {1.0: [1, 2, 3, 4, 4], 1.5: [1, 3, 4, 6, 6]}


@pytest.fixture(scope="module")
def model():
    return random_model(np.random.default_rng(3), sizes=(3, 4, 4, 2), n_frames=T)


@pytest.fixture(scope="module")
def inputs(model):
    return np.random.default_rng(5).normal(0.0, 2.0, size=(2, T, model.n_inputs))


def _spec(model, M, mode):
    spec = to_snn_spec(model, mode=mode, dt=model.frame_dt / M)
    assert spec.n_steps == math.floor(T * M) and spec.steps_per_frame == pytest.approx(M)
    return spec


@pytest.mark.parametrize("M", [1.0, 1.5])
def test_hand_frame_ends(model, M):
    """The package's frame ends are the hand-written ones (two frames share the last step)."""
    np.testing.assert_array_equal(frame_end_steps(_spec(model, M, "float")), HAND_ENDS[M])


#: what each target checks (the standalone builds are the slow part: one mode and one sampler per M there; cython
#: compiles every code object on its first use, about two minutes in a fresh environment: ``slow``)
CASES = [pytest.param(target, M, mode, sampling, marks=[pytest.mark.slow] if target == "cython" else [])
         for target in ("numpy", "cython") for M in (1.0, 1.5) for mode in ("float", "loihi")
         for sampling in ("frames",)] + \
        [pytest.param("cpp_standalone", 1.0, "float", "frames", marks=[pytest.mark.slow]),  # a build (~30 s)
         ("cpp_standalone", 1.5, "loihi", "readout")]


@pytest.mark.parametrize("target, M, mode, sampling", CASES)
def test_frame_sampled_states_equal_every_step_trace(model, inputs, target, M, mode, sampling, build_root):
    """The frame sampler (``'frames'``; ``'readout'``: the read-out layer only) returns one row per frame, equal
    to the every-step trace of the same target at the hand frame ends; identical spikes."""
    ends = HAND_ENDS[M]
    spec = _spec(model, M, mode)
    drive = layer0_drive(inputs[0], spec)
    with Runner(spec, target, build_root=build_root, record=RECORD, sampling="steps") as r:
        ref = r.run(drive)
    with Runner(spec, target, build_root=build_root, record=RECORD, sampling=sampling) as r:
        got = r.run(drive)
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(got.spike_i[k], ref.spike_i[k])
        np.testing.assert_array_equal(got.spike_step[k], ref.spike_step[k])
        if sampling == "readout" and k < len(spec.layers) - 1:
            continue
        for v in RECORD:
            assert got.frame_states[k][v].shape == (T, spec.layers[k].n), (k, v)
            np.testing.assert_array_equal(got.frame_states[k][v], ref.states[k][v][ends])


@pytest.mark.slow  # ~15 s; the sweep's own tests run in the default run
def test_sweep_at_one_step_per_frame_runs(model, inputs, tmp_path):
    """A cpp_standalone sweep at steps_per_frame = 1 runs (it failed: fb correlation of T − 1 frames against T)."""
    from lprnn_brian.sweep import parse_config, run_sweep
    from lprnn_brian.sweep_tasks import release_runner
    from lprnn_brian.sweep_table import read_table

    save_model(model, tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", inputs.astype(np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    cfg = {"name": "m1", "model": str(tmp_path / "m.npz"), "inputs": str(tmp_path / "x.npy"),
           "labels": str(tmp_path / "y.npy"), "target": "cpp_standalone", "mode": "loihi", "chunk": 2,
           "grid": {"steps_per_frame": [1.0]}}
    try:
        run_sweep(parse_config(cfg), tmp_path / "t.parquet", scheduler="serial", progress=False)
    finally:
        release_runner()  # the serial sweep's cpp_standalone Runner holds this process's standalone device
    rows, _ = read_table(tmp_path / "t.parquet")
    assert [r["steps_per_frame"] for r in rows] == [1.0]
    assert rows[0]["steps_per_frame_effective"] == pytest.approx(1.0)
    for r in rows:  # 2 samples: each accuracy is 0, 1/2 or 1
        assert r["snn_accuracy_fb"] in (0.0, 0.5, 1.0)


@pytest.mark.parametrize("semantics", ["brian2", "loihi"])
@pytest.mark.parametrize("M", [1.0, 1.5])
def test_emulator_frame_samples_equal_every_step_trace(model, inputs, M, semantics):
    """The Loihi emulator's frame samples (one row per frame) against its own every-step registers at the hand
    frame ends: index n is the state before step n, i.e. Brian2 semantics' record at n, Lava semantics' register
    at the end of step n − 1."""
    from lprnn_brian.loihi.emulator import emulate
    from lprnn_brian.loihi.params import REGISTERS, to_loihi

    spec = _spec(model, M, "loihi")
    net = to_loihi(spec)
    drive = layer0_drive(inputs[0], spec)
    run = emulate(net, drive, semantics=semantics, record="steps")
    at = np.asarray(HAND_ENDS[M]) - (1 if semantics == "loihi" else 0)
    for k in range(len(spec.layers)):
        for r, name in REGISTERS.items():
            got = run.raw[0].frame_states[k][name]
            assert got.shape == (T, spec.layers[k].n)
            np.testing.assert_array_equal(got, run.states[k][r][0][at], err_msg=f"{k} {r}")
