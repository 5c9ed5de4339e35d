"""Lava's bit-accurate CPU models against our integer emulator, step by step (lprnn_brian.loihi.lava).

Lava (lava-nc 0.10.0, numpy < 2, Python 3.11 with the fix of ``scripts/setup-lava``) lives in the environment
of that script (``$LPRNN_BRIAN_LAVA_ENV``, default ``<repo>/.venv-lava``). These tests write the mapped network
as a bundle and the layer-0 integer input to files, run ``tests/lava_job.py`` in that environment's Python by
subprocess (``Loihi1SimCfg(select_tag='fixed_pt')``: stock ``Dense`` and ``RingBuffer`` models and our
two-compartment neuron, whose u/v arithmetic is Lava's ``AbstractPyLifModelFixed.subthr_dynamics``) and compare
with :func:`lprnn_brian.loihi.emulator.emulate` (``semantics='loihi'``) run here. A missing environment fails
the tests with the command that creates it.

Tolerance: none. Both sides are integer arithmetic on the same registers (int32 in Lava, int64 in the
emulator, no value beyond 2^31 on these networks), so every register of every neuron at every step, and every
spike, must be identical; the first difference is reported.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import env_python, per_unit_model, random_model, run_job
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.loihi.bundle import save_bundle
from lprnn_brian.loihi.emulator import emulate
from lprnn_brian.loihi.params import V_LIMIT, to_loihi

JOB = Path(__file__).with_name("lava_job.py")
REGISTERS = ("u_ic", "v_ic", "u_sc", "v_sc")  # typed here, not imported: part of the oracle
#: One Lava job (start-up ~1 s, then ~0.5 s compile and ~6 ms/step per sample for the SHD network; measured);
#: generous for a loaded machine.
JOB_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def lava_python() -> Path:
    return env_python("LPRNN_BRIAN_LAVA_ENV", ".venv-lava", "scripts/setup-lava", "Lava")


def lava_and_emulator(net, drive, tmp: Path, python: Path, n_steps: int):
    """Run ``drive`` (samples, n_steps, n0) on Lava (the job) and on the emulator: (job info, Lava arrays,
    emulator run)."""
    bundle = save_bundle(net, tmp / "bundle")
    np.savez(tmp / "x_in.npz", x_in=net.input_integers(drive))
    out = tmp / "lava.npz"
    info = run_job(python, JOB, [bundle, "--inputs", tmp / "x_in.npz", "--out", out, "--steps", n_steps],
                   JOB_TIMEOUT_S)
    with np.load(out) as z:
        lava = {k: z[k] for k in z.files if k != "info"}
    return info, lava, emulate(net, drive, record="steps")


def assert_identical(net, lava: dict, emu, n_steps: int) -> None:
    """Every register and spike of every layer, sample and step equal; else the first difference."""
    for k, layer in enumerate(net.layers):
        pairs = [(r, lava[f"{layer.name}/{r}"], emu.states[k][r][:, :n_steps]) for r in REGISTERS]
        pairs.append(("spikes", lava[f"{layer.name}/spikes"], emu.spikes[k][:, :n_steps]))
        for name, got, want in pairs:
            assert got.shape == want.shape, f"{layer.name}.{name}: Lava {got.shape}, emulator {want.shape}"
            bad = np.argwhere(got != want)
            if bad.size:
                at = tuple(int(i) for i in bad[0])
                pytest.fail(f"{layer.name}.{name}: {len(bad)} values differ; first at (sample, step, neuron) {at}: "
                            f"Lava {got[at]}, emulator {want[at]}")


# --- a small random network ---------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["unbiased", "zero"])
def test_lava_equals_emulator_step_by_step_on_a_random_network(lava_python, tmp_path, policy):
    """lpff 6→8, lprnn 8, dense 3 (1/8-grid weights, biases), 3 samples × 100 steps, under both threshold policies
    ('unbiased': vth_mant 256 and a soma that keeps ⌊v/4096⌋, the non-zero threshold's registers): identical, and
    every layer spikes in the window (so ff, rec and fb synapses all carry spikes; under 'unbiased' the read-out
    first spikes at steps 33–83)."""
    model = random_model(np.random.default_rng(20240713))
    spec = to_snn_spec(model, mode="loihi", threshold=policy)
    net = to_loihi(spec)
    assert all((L.soma.vth_mant > 0) == (policy == "unbiased") for L in net.layers)
    x = np.random.default_rng(99).normal(0.0, 2.0, size=(3, model.n_frames, model.n_inputs))
    drive = np.stack([layer0_drive(xi, spec) for xi in x])
    n_steps = 100
    info, lava, emu = lava_and_emulator(net, drive, tmp_path, lava_python, n_steps)
    assert info["lava_nc"] == "0.10.0" and info["steps"] == n_steps
    for layer in net.layers:
        assert lava[f"{layer.name}/spikes"].any(axis=(1, 2)).all(), f"{layer.name} did not spike in every sample"
    assert_identical(net, lava, emu, n_steps)


def test_lava_equals_emulator_with_per_row_weight_exponents(lava_python, tmp_path):
    """A per-unit network (retentions 0.1 … 0.97) whose recurrent matrix has one weight exponent per row: Lava runs
    one Dense per exponent into the same port, and every register and spike still equals the emulator's."""
    model = per_unit_model(np.random.default_rng(8), [0.1, 0.3, 0.5, 0.7, 0.9, 0.97])
    spec = to_snn_spec(model, mode="loihi")
    net = to_loihi(spec)
    assert len(net.layers[0].rec.exponents) > 1
    x = np.random.default_rng(6).uniform(0, 2, (2, model.n_frames, 3))
    drive = np.stack([layer0_drive(xi, spec) for xi in x])
    n_steps = 200
    info, lava, emu = lava_and_emulator(net, drive, tmp_path, lava_python, n_steps)
    assert emu.spikes[0][:, :n_steps].any() and emu.spikes[1][:, :n_steps].any()
    assert_identical(net, lava, emu, n_steps)


# --- 24-bit overflow: u wraps, v clips ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def overflow_run(lava_python, tmp_path_factory):
    """The random network made to overflow: layer-0 drive of up to ±4·10^6 per step (v_IC clips at 2^23 − 1),
    layer 1's feed-forward mantissas all +254 at exponent 7 without recurrence and with u_IC fully decayed each
    step (du = 4095 + ds_offset 1), so that u_IC = (254·2^7·#spikes of layer 0 at t − 1) << 6, which wraps from
    5 spikes on; self-feedback kicks of −256·2^7 (u_SC = −2^21 per own spike, wraps below −2^23)."""
    model = random_model(np.random.default_rng(20240713))
    spec = to_snn_spec(model, mode="loihi")
    net = copy.deepcopy(to_loihi(spec))
    L1 = net.layers[1]
    L1.ff.mant = np.full_like(L1.ff.mant, 254)
    L1.ff.exp = 7
    L1.rec.mant = np.zeros_like(L1.rec.mant)
    L1.ic.du = 4095
    for layer in net.layers:
        layer.fb.mant = np.full_like(layer.fb.mant, -256)
        layer.fb.exp = 7
    n_steps = 48
    tau_u = float(spec.layers[0].tau_U)
    x_int = np.random.default_rng(5).integers(-4_000_000, 4_000_000, size=(2, spec.n_steps, net.layers[0].n))
    drive = x_int * tau_u  # input_integers gives back x_int exactly
    info, lava, emu = lava_and_emulator(net, drive, tmp_path_factory.mktemp("overflow"), lava_python, n_steps)
    return net, lava, emu, n_steps


def test_lava_equals_emulator_through_u_wraps_and_v_clips(overflow_run):
    """Identical while the emulator counts u wraps and v clips, and Lava's registers show them: v_IC at
    2^23 − 1, u_IC of layer 1 negative (its input is never negative: only a wrap makes it so) and u_SC positive
    (its input is never positive)."""
    net, lava, emu, n_steps = overflow_run
    assert_identical(net, lava, emu, n_steps)
    assert emu.overflow[0]["v_clips"] > 0 and emu.overflow[1]["u_wraps"] > 0
    assert (lava["lpff_1/v_ic"] == V_LIMIT).any()
    assert (lava["lprnn_1/u_ic"] < 0).any()
    assert any((lava[f"{layer.name}/u_sc"] > 0).any() for layer in net.layers)


def test_a_spike_at_t_minus_1_reaches_u_at_t_in_lava(overflow_run):
    """Timing, from Lava's own output and a hand formula (not the emulator): with u fully decayed each step,
    layer 1's u_IC at step t is wrap24(254·2^7·2^6·c) with c the number of layer-0 spikes at t − 1 (and 0 at
    t = 0); the counts vary, so one step more or less of pipeline delay would not fit."""
    _, lava, _, _ = overflow_run
    c = lava["lpff_1/spikes"].sum(axis=2).astype(np.int64)  # (samples, steps)
    assert len(np.unique(c)) > 2, "layer 0's spike counts do not vary: the timing check would be blind"

    def wrap24(x):
        return np.where(x > 2**23, x - 2**24, np.where(x <= -(2**23), x + 2**24, x))

    def predicted(lag: int) -> np.ndarray:
        shifted = np.zeros_like(c)
        shifted[:, lag:] = c[:, :c.shape[1] - lag]
        return wrap24(254 * 2**7 * 2**6 * shifted)

    u = lava["lprnn_1/u_ic"]  # every neuron of layer 1 gets the same input
    assert np.array_equal(u, np.repeat(predicted(1)[:, :, None], u.shape[2], axis=2))
    for lag in (0, 2):
        assert not np.array_equal(u[:, :, 0], predicted(lag)), f"a lag of {lag} steps fits as well"


# --- the authors' SHD network, a short window -----------------------------------------------------------------
def test_lava_equals_emulator_on_a_window_of_the_shd_network(shd_model, lava_python, tmp_path):
    """The authors' SHD checkpoint (lpff 80→128, 2 × lprnn 512, dense 20) mapped to Loihi, two held-out test
    clips (SHD front end), frames 40–45 (85 steps): identical, every layer spiking."""
    from lprnn_brian.tasks.digits import load_digits

    X, _, _ = load_digits("test", front_end="shd")
    spec = to_snn_spec(shd_model, mode="loihi", n_frames=6)
    net = to_loihi(spec)
    drive = np.stack([layer0_drive(xi, spec) for xi in X[:2, 40:46]])
    info, lava, emu = lava_and_emulator(net, drive, tmp_path, lava_python, spec.n_steps)
    assert info["steps"] == spec.n_steps == 85
    for layer in net.layers:
        assert lava[f"{layer.name}/spikes"].any(axis=(1, 2)).all(), f"{layer.name} did not spike in every clip"
    assert_identical(net, lava, emu, spec.n_steps)


# --- lprnn-brian export lava ---------------------------------------------------------------------------------
def test_export_lava_writes_bundle_states_and_an_identical_report(small_model, lava_python, tmp_path, monkeypatch,
                                                                  capsys):
    """``lprnn-brian export lava`` (main environment → ``python -m lprnn_brian.loihi.lava`` in the Lava one): the
    bundle loads back, lava_states.npz equals the emulator here (checked by this test's own comparison, not only
    by the report), the report says identical, and a second export into the same directory is refused."""
    import json

    from lprnn_brian.ann.model import save_model
    from lprnn_brian.cli import main
    from lprnn_brian.loihi.bundle import load_bundle
    from lprnn_brian.loihi.lava import REPORT_NAME, STATES_NAME

    monkeypatch.setenv("LPRNN_BRIAN_LAVA_ENV", str(lava_python.parents[1]))
    x = np.random.default_rng(7).normal(0.0, 2.0, size=(3, small_model.n_frames, small_model.n_inputs))
    np.save(tmp_path / "x.npy", x)
    save_model(small_model, tmp_path / "m.npz")
    out = tmp_path / "lava_export"
    rc = main(["export", "lava", str(tmp_path / "m.npz"), "--out", str(out), "--inputs", str(tmp_path / "x.npy"),
               "--samples", "2", "--steps", "40", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["identical"] and (report["samples"], report["steps"]) == (2, 40)
    assert report["lava"]["lava_nc"] == "0.10.0" and (out / REPORT_NAME).is_file()
    net = load_bundle(out).network
    spec = net.spec
    drive = np.stack([layer0_drive(xi, spec) for xi in x[:2]])
    with np.load(out / STATES_NAME) as z:
        lava = {k: z[k] for k in z.files if k != "info"}
    assert_identical(net, lava, emulate(net, drive, record="steps"), 40)
    assert main(["export", "lava", str(tmp_path / "m.npz"), "--out", str(out), "--inputs", str(tmp_path / "x.npy"),
                 "--samples", "1", "--steps", "5"]) == 2  # refused: would overwrite
    assert main(["export", "lava", str(tmp_path / "m.npz"), "--out", str(tmp_path / "o2")]) == 2  # no --inputs


# --- without Lava ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("lava") is not None, reason="Lava is importable in this environment")
def test_build_lava_without_lava_names_the_setup_script(small_model):
    """In an environment without Lava (this one), the builder says which script creates Lava's."""
    from lprnn_brian.loihi.lava import build_lava

    net = to_loihi(to_snn_spec(small_model, mode="loihi"))
    with pytest.raises(UserInputError, match="scripts/setup-lava"):
        build_lava(net, np.zeros((net.n_steps, net.layers[0].n), np.int64))
