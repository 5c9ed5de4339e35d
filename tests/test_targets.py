"""Code-generation targets (lprnn_brian.targets): numpy, cython and cpp_standalone run the same network.

Oracle: the numpy target (Brian2's reference runtime). Every other target must reproduce its spike trains
and recorded states bit for bit: all targets compile without fast-math and without FMA contraction, so
they evaluate the same IEEE float64 expressions (lprnn_brian/targets/), in both the float and the loihi variant.
Targets are parameters, as in Brian2's own test suite; each target compiles its network once per module.
Cython compiles every code object separately (≈ 5 s each), so it runs the tiny network (lprnn → dense: it
still has input, recurrent, feed-forward and self synapses, and per-unit retention: per-neuron τ_I, τ_V);
cpp_standalone runs the small 3-layer one (one retention) and, in float mode, the tiny one too.
"""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.targets import Runner

VARS = ("i_ip", "i_in", "v", "i_fb")
VARIANTS = ("float", "loihi")
#: Which network each target runs (see the module docstring).
NETWORK_OF = {"cython": "tiny", "cpp_standalone": "small"}


def _tiny_model() -> LpRNNModel:
    """lprnn 4→5 (recurrent, with input; one retention per unit, so per-neuron τ_I, τ_V) → dense 3, 20 frames;
    weights on the 1/8 grid."""
    rng = np.random.default_rng(5)

    def codes(shape, scale=1.0):
        return (scale * rng.integers(-4, 4, size=shape) / 8).astype(np.float32)

    a = np.array([0.6, 0.7, 0.8, 0.85, 0.9], np.float32)
    return LpRNNModel([Layer("lprnn_1", "lprnn", codes((5, 4)), codes(5, 0.25), U=codes((5, 5)), retention=a),
                       Layer("output", "dense", codes((3, 5)), codes(3, 0.25))], n_frames=20, frame_dt=1 / 20)


def _spec(model, variant):
    # the same Δt_S in both variants (the loihi choice), explicitly: independent of the float-mode default
    dt = to_snn_spec(model, mode="loihi").dt
    return to_snn_spec(model, mode=variant, dt=dt)


def _drives(model, spec):
    """Two different 20-frame inputs (A, B) with enough drive to make every layer spike."""
    rng = np.random.default_rng(99)
    x = rng.normal(0.0, 2.0, size=(2, model.n_frames, model.n_inputs))
    return layer0_drive(x[0], spec), layer0_drive(x[1], spec)


class _CompileSpy:
    """Counts calls of the standalone device's build and compile steps while installed."""

    def __init__(self, device):
        self.device, self.calls = device, []
        self._orig = {name: getattr(device, name) for name in ("build", "compile_source")}
        for name, fn in self._orig.items():
            setattr(device, name, self._wrap(name, fn))

    def _wrap(self, name, fn):
        def wrapped(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)
        return wrapped

    def remove(self):
        for name in self._orig:
            delattr(self.device, name)  # drop the instance attribute: the class method shows through again


def _run_target(spec, target, drives, build_root):
    """Run A, B (and A again on cpp_standalone) and record what the standalone build did in between."""
    out = {"build_calls_during_runs": None}
    with Runner(spec, target, record=VARS, build_root=build_root) as runner:
        if target != "cpp_standalone":
            out["A"], out["B"] = runner.run(drives[0]), runner.run(drives[1])
            return out
        from brian2 import device

        main = runner.build_dir / "main"
        stamps = {p: p.stat().st_mtime_ns for p in runner.build_dir.rglob("*") if p.is_file() and
                  (p == main or p.suffix == ".o")}
        spy = _CompileSpy(device)
        try:
            out["A"], out["B"], out["A_again"] = (runner.run(drives[0]), runner.run(drives[1]),
                                                  runner.run(drives[0]))
        finally:
            spy.remove()
        out["build_calls_during_runs"] = spy.calls
        out["binaries_unchanged"] = all(p.stat().st_mtime_ns == t for p, t in stamps.items())
        out["n_stamped"] = len(stamps)
    return out


@pytest.fixture(scope="module")
def runs(small_model, build_root):
    """Results per (variant, target, network), computed lazily; each runner is closed before the next opens."""
    models = {"small": small_model, "tiny": _tiny_model()}
    cache: dict = {}

    def get(variant, target, network="small"):
        key = (variant, target, network)
        if key not in cache:
            model = models[network]
            spec = _spec(model, variant)
            cache[key] = _run_target(spec, target, _drives(model, spec), build_root)
        return cache[key]

    return get


def _assert_identical(got, want, what):
    for k in range(len(want.spike_i)):
        np.testing.assert_array_equal(got.spike_step[k], want.spike_step[k], err_msg=f"{what}: layer {k} steps")
        np.testing.assert_array_equal(got.spike_i[k], want.spike_i[k], err_msg=f"{what}: layer {k} neurons")
        for x in VARS:
            np.testing.assert_array_equal(got.states[k][x], want.states[k][x], err_msg=f"{what}: layer {k} {x}")


@pytest.mark.parametrize("network", ["small", "tiny"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_numpy_reference_run_is_meaningful(variant, network, runs):
    """Sanity of the oracle itself: every layer spikes in both samples, not at every step, and the two
    inputs give different spike trains (otherwise 'identical across targets' would prove little)."""
    ref = runs(variant, "numpy", network)
    for k in range(len(ref["A"].spike_i)):
        for s in ("A", "B"):
            n_spikes = ref[s].spike_i[k].size
            assert 0 < n_spikes < ref[s].states[k]["i_fb"].size, f"layer {k}, sample {s}: {n_spikes} spikes"
    assert any(not np.array_equal(a, b) for a, b in zip(ref["A"].spike_step, ref["B"].spike_step))


#: cython compiles every code object on its first use (about two minutes in a fresh environment): ``slow``
@pytest.mark.parametrize("target", [pytest.param("cython", marks=pytest.mark.slow), "cpp_standalone"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_target_reproduces_numpy_bit_for_bit(variant, target, runs):
    """Every spike (neuron, step) and every recorded state of every layer equals the numpy run exactly,
    for two different samples run one after the other on the same built network. Tolerance: none (same
    IEEE operations, no fast-math, no FMA contraction)."""
    ref, got = runs(variant, "numpy", NETWORK_OF[target]), runs(variant, target, NETWORK_OF[target])
    _assert_identical(got["A"], ref["A"], f"{target} sample A")
    _assert_identical(got["B"], ref["B"], f"{target} sample B")


def test_standalone_per_unit_network_reproduces_numpy(runs):
    """Per-neuron τ_I, τ_V (the tiny network's per-unit retention) on cpp_standalone: bit for bit the numpy run
    (float mode; the loihi variant of the same network runs on cython above)."""
    ref, got = runs("float", "numpy", "tiny"), runs("float", "cpp_standalone", "tiny")
    _assert_identical(got["A"], ref["A"], "cpp_standalone per-unit sample A")
    _assert_identical(got["B"], ref["B"], "cpp_standalone per-unit sample B")


@pytest.mark.parametrize("variant", VARIANTS)
def test_standalone_reruns_without_recompiling(variant, runs):
    """Further samples only swap the input (run_args): neither ``device.build`` nor ``compile_source`` is
    called and the binary and object files keep their modification times; the same input gives the same
    output again and a different input a different output (the input really is swapped)."""
    res = runs(variant, "cpp_standalone")
    assert res["build_calls_during_runs"] == []
    assert res["n_stamped"] > 1 and res["binaries_unchanged"]
    _assert_identical(res["A_again"], res["A"], "cpp_standalone, sample A run twice")
    assert any(not np.array_equal(a, b) for a, b in zip(res["A"].spike_step, res["B"].spike_step))


def test_unknown_target_is_refused(small_model):
    with pytest.raises(UserInputError, match="unknown target"):
        Runner(to_snn_spec(small_model), "genn_cpu")


def test_drive_of_wrong_shape_is_refused(small_model):
    spec = to_snn_spec(small_model)
    with Runner(spec, "numpy") as runner:
        with pytest.raises(UserInputError, match="expected"):
            runner.run(np.zeros((spec.n_steps + 1, spec.layers[0].n)))
