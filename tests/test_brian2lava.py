"""The ``lava`` target (brian2lava 1.0.0b2, Brian2's own Lava device; :mod:`lprnn_brian.targets.lava_device`)
against cpp_standalone and the emulator, and the brian2lava limitations it works around.

brian2lava lives in the environment of ``scripts/setup-brian2lava`` (``$LPRNN_BRIAN_BRIAN2LAVA_ENV``, default
``<repo>/.venv-brian2lava``); these tests write a spec and its drives to a file, run ``tests/brian2lava_job.py`` in
that environment's Python by subprocess and compare with cpp_standalone and the emulator run here, the oracles. A
missing environment fails the tests with the command that creates it.

- **Loihi-integer variant: identical.** brian2lava's process models run the code strings of the Brian2 network in
  numpy (float64, ``clip``, ``int`` as a cast to int32: the same truncation for |x| < 2^31, and states stay within
  ±2^23), in the declared order within a step, and integer sums do not depend on their order: every spike and
  every recorded state equals cpp_standalone, and the emulator's ``semantics='brian2'`` (the Brian2 Loihi mode
  in integer numpy, :mod:`lprnn_brian.loihi.emulator`), bit for bit.
- **Float variant: within rounding.** One difference is left (module docstring of lprnn_brian.targets.lava_device):
  within the synapses slot brian2lava adds a layer's recurrent spikes to ``i_in`` before its feed-forward ones
  (Brian2: feed-forward first), each spike on its own as Brian2 does. Re-associating a sum of at most n terms moves
  it by at most (n − 1) ε Σ|terms| (ε = 2^−52), n ≤ :data:`MAX_FAN_IN` + 1 on the small network; the filters are
  leaky, so an error made each step accumulates to at most τ ≤ 64 times itself: states within
  :data:`FLOAT_STATE_RTOL` = 64 · 16 · ε ≈ 2.3e-13 of their largest magnitude (measured on the small network:
  8.9e-16, a few units in the last place). A spike could move only if ``v`` came that close to the threshold; none
  does (measured: no spike differs, on the small network and on the first 3 frames of the SHD network), so the spike
  trains must be identical.
- **What brian2lava cannot do** (docs/targets.md): each of :data:`PROBES` runs one small network with the one
  feature the target works around and must fail (or compute) exactly as documented; the day brian2lava does it,
  the test fails and the docs (and the work-around) are to be revisited.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import env_python, random_model, run_job
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.targets import Runner

JOB = Path(__file__).with_name("brian2lava_job.py")
VARS = ("i_ip", "i_in", "v", "i_fb")
#: Most spikes summed into one i_in per step in the small network (8 feed-forward + 8 recurrent).
MAX_FAN_IN = 16
#: Float variant: largest state difference relative to the state's largest magnitude (module docstring).
FLOAT_STATE_RTOL = 64 * MAX_FAN_IN * np.finfo(np.float64).eps
#: One job: Python and Lava start-up, one brian2lava generation and Lava run per batch (the small network: about
#: 5 s each on an idle machine; measured up to 10× that on a loaded one), generous.
JOB_TIMEOUT_S = 600
#: The SHD job (its generation takes minutes: every synapse is written into the generated source).
SHD_TIMEOUT_S = 3600


@pytest.fixture(scope="module")
def b2l_python() -> Path:
    return env_python("LPRNN_BRIAN_BRIAN2LAVA_ENV", ".venv-brian2lava", "scripts/setup-brian2lava", "brian2lava")


@pytest.fixture(scope="module")
def lava_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lava_builds")


def run_lava(python: Path, spec, drives, build_root: Path, out: Path, *, record=VARS, batch: int = 1,
             timeout: float = JOB_TIMEOUT_S) -> tuple[dict, dict]:
    """Run ``drives`` (samples, n_steps, n0) of ``spec`` on target 'lava' in the brian2lava environment:
    (info, arrays)."""
    summary, arrays = spec.to_arrays()
    job = out.with_suffix(".job.npz")
    np.savez(job, summary=json.dumps(summary, default=str), digest=spec.digest(), drives=np.asarray(drives),
             **arrays)
    info = run_job(python, JOB, ["run", job, "--build-root", build_root, "--out", out, "--batch", batch,
                                 "--record", ",".join(record)], timeout)
    with np.load(out) as z:
        return info, {k: z[k] for k in z.files if k != "info"}


def cpp_runs(spec, drives, build_root: Path, record=VARS):
    with Runner(spec, "cpp_standalone", build_root=build_root, record=record) as r:
        return [r.run(d) for d in drives]


def small_spec_and_drives(mode: str, n: int = 2):
    """The small 3-layer random network (lpff 6→8, lprnn 8, dense 3; 20 frames = 285 steps) with the Loihi Δt_S
    in both variants, and ``n`` inputs that make every layer spike."""
    model = random_model(np.random.default_rng(20240713))
    spec = to_snn_spec(model, mode=mode, dt=to_snn_spec(model, mode="loihi").dt)
    x = np.random.default_rng(99).normal(0.0, 2.0, size=(n, model.n_frames, model.n_inputs))
    return spec, np.stack([layer0_drive(xi, spec) for xi in x])


def assert_spikes_identical(lava: dict, raw, s: int, n_layers: int) -> None:
    for k in range(n_layers):
        assert len(raw.spike_i[k]) > 0, f"layer {k} of sample {s} does not spike: a weak test"
        np.testing.assert_array_equal(lava[f"i_{s}_{k}"], raw.spike_i[k], err_msg=f"sample {s}, layer {k}")
        np.testing.assert_array_equal(lava[f"step_{s}_{k}"], raw.spike_step[k], err_msg=f"sample {s}, layer {k}")


# --- the network on brian2lava against cpp_standalone and the emulator -------------------------------------------
@pytest.mark.slow  # ~30 s: Brian2, brian2lava and Lava start in their environment, and a cpp_standalone build
def test_float_variant_spikes_identical_to_cpp_standalone(b2l_python, lava_root, build_root, tmp_path):
    """Oracle: cpp_standalone, one sample per run. Float variant, two inputs as one Lava network of two copies:
    every layer's spike trains identical, every recorded state within FLOAT_STATE_RTOL of its largest magnitude
    (module docstring: only the order of a layer's two projections within the synapses slot differs)."""
    spec, drives = small_spec_and_drives("float")
    assert max(L.W_ann.shape[1] + (0 if L.U_snn is None else L.U_snn.shape[1]) for L in spec.layers) <= MAX_FAN_IN
    info, lava = run_lava(b2l_python, spec, drives, lava_root, tmp_path / "lava.npz", batch=2)
    assert info["brian2lava"] == "1.0.0b2" and info["digest"] == spec.digest() and len(info["run_s"]) == 1
    for s, raw in enumerate(cpp_runs(spec, drives, build_root)):
        assert_spikes_identical(lava, raw, s, len(spec.layers))
        for k in range(len(spec.layers)):
            for v in VARS:
                a, b = raw.states[k][v], lava[f"{v}_{s}_{k}"]
                assert a.shape == b.shape == (spec.n_steps, spec.layers[k].n)
                assert np.max(np.abs(a - b)) <= FLOAT_STATE_RTOL * max(1.0, np.max(np.abs(a))), \
                    (s, k, v, np.max(np.abs(a - b)), np.max(np.abs(a)))


@pytest.mark.slow  # ~35 s: Brian2, brian2lava and Lava start in their environment, and a cpp_standalone build
def test_loihi_variant_identical_to_cpp_standalone_and_the_emulator(b2l_python, lava_root, build_root, tmp_path):
    """Oracles: cpp_standalone, and the emulator's ``semantics='brian2'`` (integer numpy, no Brian2). Loihi variant,
    two inputs, one Lava network each (the device is reset between them): every spike and every recorded state of
    every layer identical to both, bit for bit."""
    from lprnn_brian.loihi.emulator import REGISTERS, emulate
    from lprnn_brian.loihi.params import to_loihi

    spec, drives = small_spec_and_drives("loihi")
    info, lava = run_lava(b2l_python, spec, drives, lava_root, tmp_path / "lava.npz", batch=1)
    assert len(info["run_s"]) == 2
    em = emulate(to_loihi(spec), drives, semantics="brian2", record="steps")
    for s, raw in enumerate(cpp_runs(spec, drives, build_root)):
        assert_spikes_identical(lava, raw, s, len(spec.layers))
        for k, L in enumerate(spec.layers):
            for v in VARS:
                np.testing.assert_array_equal(lava[f"{v}_{s}_{k}"], raw.states[k][v], err_msg=f"{v}, layer {k}")
            for r, name in REGISTERS.items():
                np.testing.assert_array_equal(lava[f"{name}_{s}_{k}"], em.states[k][r][s], err_msg=f"{name} {k}")
            spikes = np.zeros((spec.n_steps, L.n), bool)
            spikes[lava[f"step_{s}_{k}"], lava[f"i_{s}_{k}"]] = True
            np.testing.assert_array_equal(spikes, em.spikes[k][s], err_msg=f"spikes, sample {s}, layer {k}")


@pytest.mark.slow  # brian2lava writes the SHD network's 0.21 M synapses into Python source: minutes per run
def test_shd_reference_network_float_spikes_identical(shd_model, b2l_python, lava_root, build_root, tmp_path):
    """The authors' SHD checkpoint (80 → 128 → 512 rec → 512 rec → 20, float variant) on the first 3 frames of a
    bundled test clip through the SHD front end (42 steps: brian2lava needs about 2 minutes to generate and start
    this network and 1.4 s per step): spike trains of all four layers identical to cpp_standalone (measured: 444,
    247, 63 and 4 spikes)."""
    from lprnn_brian.tasks.digits import load_digits

    spec = to_snn_spec(shd_model, mode="float", n_frames=3)
    X, _, _ = load_digits("test", front_end="shd")
    drives = layer0_drive(X[:1, :3], spec)
    assert drives.shape == (1, spec.n_steps, 128) and spec.n_steps == 42
    info, lava = run_lava(b2l_python, spec, drives, lava_root, tmp_path / "lava.npz", record=(),
                          timeout=SHD_TIMEOUT_S)
    (raw,) = cpp_runs(spec, drives, build_root, record=())
    assert_spikes_identical(lava, raw, 0, len(spec.layers))


# --- the stock network, and what brian2lava cannot do ------------------------------------------------------------
#: Probe → what brian2lava 1.0.0b2 does with it (tests/brian2lava_job.py builds each network; docs/targets.md).
#: 'error': a substring of the error (its root cause, or an exception inside a Lava process); 'ran': the result.
PROBES = {
    "timed_array": ("error", "No implementation available for target 'lava'"),
    "named_clock": ("error", "object has no attribute '_defaultclock_t'"),
    "synapses_name": ("error", "'g2_PM' object has no attribute '_g2_ff__synaptic_post'"),
    "inf": ("error", "cannot access local variable 'inf'"),
    "long_array": ("error", "not 'ellipsis'"),
    "float_digits": ("ran", [0.0, -682.66666667, -682.66666667]),  # Brian2: -682.6666666666666 (= -2048/3)
    "custom_event": ("unreadable", "Cannot retrieve the values of state variables"),
    "state_rows": ("ran", [[0.0, 1.0, 2.0]]),  # Brian2 (when='end'): [[1.0, 2.0, 3.0]]
    "preset_fixed": ("error", "No implementation found that corresponds to the equations and conditions"),
}


def run_probe(python: Path, name: str, workdir: Path) -> dict:
    workdir.mkdir()
    return run_job(python, JOB, ["probe", name, "--workdir", workdir], JOB_TIMEOUT_S)


def probe_matches(info: dict, outcome: str, expected) -> bool:
    if info["outcome"] != outcome:
        return False
    if outcome == "ran":
        return info["result"] == expected
    texts = [info.get("error", ""), info.get("cause", "")] + info.get("process_errors", [])
    return any(expected in t for t in texts)


@pytest.mark.slow  # one Python, brian2lava and Lava start per probe (a few seconds each)
@pytest.mark.parametrize("name", list(PROBES))
def test_brian2lava_limitation_is_as_documented(name, b2l_python, tmp_path):
    """Each feature that the lava target works around still fails (or computes) on brian2lava exactly as
    docs/targets.md says. When this fails, brian2lava changed: correct the docs, and drop the work-around
    (lprnn_brian/targets/lava_device.py) that it makes unnecessary."""
    outcome, expected = PROBES[name]
    info = run_probe(b2l_python, name, tmp_path / name)
    assert info["brian2lava"] == "1.0.0b2"
    assert probe_matches(info, outcome, expected), \
        f"brian2lava's behaviour on probe {name!r} changed: {info} (documented: {outcome}, {expected!r})"


def test_stock_network_fails_on_brian2lava_as_documented(b2l_python, tmp_path):
    """The package's own network (lprnn_brian.network.build_network, unchanged) under brian2lava's device fails at
    its first obstacle, the layer-0 input's TimedArray, with the error docs/targets.md quotes (before any Lava
    process starts: a few seconds)."""
    info = run_probe(b2l_python, "stock_network", tmp_path / "stock")
    assert info["outcome"] == "error" and "'lpff_1_input'" in info["error"], info
    assert "No implementation available for target 'lava'" in info["cause"], info


# --- in the package's own environment -------------------------------------------------------------------------
def test_lava_refuses_layouts_it_cannot_run():
    """Frame sampling needs a custom event and row propagation a C++ function: both refused with what to use
    instead, before anything is built (in any environment)."""
    spec, _ = small_spec_and_drives("loihi", 1)
    with pytest.raises(UserInputError, match="sampling='steps'"):
        Runner(spec, "lava", sampling="frames")
    with pytest.raises(UserInputError, match="propagation='synapses'"):
        Runner(spec, "lava", propagation="rows")


def test_main_environment_points_to_setup_brian2lava(tmp_path):
    """This environment has no brian2lava: the lava target says how to get one."""
    try:
        import brian2lava  # noqa: F401  (only its absence is tested)
    except ImportError:
        pass
    else:
        pytest.skip("brian2lava is importable here")
    spec, _ = small_spec_and_drives("loihi", 1)
    with pytest.raises(UserInputError, match="scripts/setup-brian2lava"):
        Runner(spec, "lava", build_root=tmp_path)


def test_drive_changes_marks_the_steps_before_each_new_drive_row():
    """Hand-worked: rows 0, 0, 1, 1, 1, 2 (one row per step) change after steps 1 and 4; a change in one element
    counts; a constant drive has none."""
    from lprnn_brian.targets.lava_device import drive_changes

    d = np.array([[0, 0], [0, 0], [1, 0], [1, 0], [1, 0], [1, 2]], float)
    assert drive_changes(d).tolist() == [1, 4]
    assert drive_changes(np.ones((5, 3))).tolist() == []
    assert drive_changes(np.arange(4.0)[:, None]).tolist() == [0, 1, 2]
