"""Many samples per run and the row-propagation kernel (lprnn_brian.targets.Runner ``batch``, ``sampling``,
``propagation``; lprnn_brian.propagation).

Oracle: the plain network (one copy, Brian2 ``Synapses``, every state recorded every step). A batch of B
copies in one run, sampled at frame ends, with spikes propagated by weight rows, must give every copy the
spike train of its sample run alone, bit for bit (also with OpenMP threads), and the same states: the frame-end samples equal the
every-step trace at those steps, and the window sums equal the sums of that trace (exactly: in Loihi mode
the states are integers; in float mode both sum the same doubles in step order).
"""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.ann.forward import readout_start
from lprnn_brian.convert import frame_end_steps, layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.propagation import DENSE_ABOVE
from lprnn_brian.simulation import simulate
from lprnn_brian.targets import Runner

RECORD = ("i_fb", "i_ip", "i_in")


def _pruned_model() -> LpRNNModel:
    """lpff 6→10 → lprnn 12 → dense 3 with 85 % of W and U zero (sparse rows), per-unit retention."""
    rng = np.random.default_rng(11)

    def codes(shape, keep=0.15):
        c = rng.integers(-4, 4, size=shape) * (rng.random(shape) < keep)
        return (c / 8).astype(np.float32)

    a = rng.uniform(0.6, 0.9, 12).astype(np.float32)
    return LpRNNModel([Layer("lpff_1", "lpff", codes((10, 6), 1.0), codes(10, 1.0) / 4, retention=0.8),
                       Layer("lprnn_1", "lprnn", codes((12, 10), 0.3) * 2, codes(12, 1.0) / 4,
                             U=codes((12, 12)), retention=a),
                       Layer("output", "dense", codes((3, 12), 0.5), codes(3, 1.0) / 4)],
                      n_frames=20, frame_dt=1 / 20)


def _drives(model, spec, n):
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 2.0, size=(n, model.n_frames, model.n_inputs))
    return [layer0_drive(xi, spec) for xi in x]


def _check_same(spec, ref, fast, sampled_layers=None):
    """Spikes of every layer equal; the sampled layers' frame-end states and window sums equal the reference
    trace; the other layers recorded nothing."""
    ends = frame_end_steps(spec)
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(fast.spike_i[k], ref.spike_i[k])
        np.testing.assert_array_equal(fast.spike_step[k], ref.spike_step[k])
        if sampled_layers is not None and k not in sampled_layers:
            assert fast.frame_states[k] == {} and fast.window_sums[k] == {}
            continue
        for v in RECORD:
            trace = ref.states[k][v]
            np.testing.assert_array_equal(fast.frame_states[k][v], trace[ends])
            for w in ("second_half", "all"):
                np.testing.assert_array_equal(fast.window_sums[k][v][w],
                                              trace[readout_start(spec.n_steps, w):].sum(axis=0))


#: (network, variant, sampling, threads): the default run takes a Latin square of the eight (each network, mode and
#: sampling twice, each pair once); the other four, whose builds add a minute, are ``slow``
BATCH_CASES = [pytest.param(name, variant, sampling, threads,
                            marks=[] if (name == "small") == ((variant == "float") == (sampling == "frames"))
                            else [pytest.mark.slow])
               for name in ("small", "pruned") for variant in ("float", "loihi")
               for sampling, threads in (("frames", 0), ("readout", 2))]


@pytest.mark.parametrize("name, variant, sampling, threads", BATCH_CASES)
def test_batched_rows_equal_single_synapse_runs(name, variant, sampling, threads, small_model, build_root):
    """Also with the read-out-only sampling and two OpenMP threads (copies split between threads)."""
    model = small_model if name == "small" else _pruned_model()
    spec = to_snn_spec(model, mode=variant)
    drives = _drives(model, spec, 4)
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD) as r:
        refs = [r.run(d) for d in drives]
    assert all(sum(len(s) for s in ref.spike_i[1:]) > 0 for ref in refs), "every sample must make spikes"
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD, batch=3, sampling=sampling,
                propagation="rows", threads=threads) as r:
        layouts = {k["name"]: k["layout"] for k in r.bn.kernels}
        fast = r.run_batch(drives[:3]) + r.run_batch(drives[3:])  # a full and a partial batch
    if name == "small":
        assert set(layouts.values()) == {"dense"}, layouts
    else:  # the pruned W and U use sparse rows, the half-dense read-out dense rows
        assert layouts == {"lprnn_1_ff": "sparse", "lprnn_1_rec": "sparse", "output_ff": "dense"}, layouts
    assert len(fast) == 4
    sampled = None if sampling == "frames" else [len(spec.layers) - 1]
    for ref, f in zip(refs, fast):
        _check_same(spec, ref, f, sampled)


def test_batched_synapses_on_numpy_runtime(small_model, numpy_runtime):
    """The batch layout itself (block-diagonal Synapses, tiled parameters, per-copy inputs) on Brian2's
    reference runtime: each copy equals its sample alone."""
    spec = to_snn_spec(small_model, mode="loihi")
    drives = _drives(small_model, spec, 2)
    with Runner(spec, "numpy", record=RECORD) as r:
        refs = [r.run(d) for d in drives]
    with Runner(spec, "numpy", record=RECORD, batch=2, sampling="frames") as r:
        fast = r.run_batch(drives)
    for ref, f in zip(refs, fast):
        _check_same(spec, ref, f)


def test_simulate_gives_the_same_result_with_every_layout(small_model, build_root):
    spec = to_snn_spec(small_model, mode="float")
    x = np.random.default_rng(3).normal(0.0, 2.0, size=(3, small_model.n_frames, small_model.n_inputs))
    ref = simulate(spec, x, build_root=build_root, batch=1, sampling="steps", propagation="synapses")
    fast = simulate(spec, x, build_root=build_root, batch=2, sampling="frames", propagation="rows")
    for a, b in zip(ref.spikes, fast.spikes):
        np.testing.assert_array_equal(a, b)
    for d in ref.frame_decodes:
        for a, b in zip(ref.frame_decodes[d], fast.frame_decodes[d]):
            np.testing.assert_array_equal(a, b)
        for w in ref.decodes[d]:
            for a, b in zip(ref.decodes[d][w], fast.decodes[d][w]):
                np.testing.assert_allclose(b, a, rtol=1e-12, atol=0)


def test_readout_sampling_keeps_the_readout_and_every_spike(small_model, build_root, tmp_path):
    """``sampling='readout'``: spikes and count decodes of every layer, state decodes of the read-out only (the
    same values as the full recording), hidden layers' state decodes None, through fidelity and save/load."""
    from lprnn_brian.analysis.fidelity import fidelity as compare
    from lprnn_brian.simulation import load_result

    spec = to_snn_spec(small_model, mode="loihi")
    x = np.random.default_rng(5).normal(0.0, 2.0, size=(3, small_model.n_frames, small_model.n_inputs))
    ref = simulate(spec, x, build_root=build_root, batch=2, sampling="frames", propagation="rows")
    fast = simulate(spec, x, build_root=build_root, batch=2, sampling="readout", propagation="rows")
    for a, b in zip(ref.spikes, fast.spikes):
        np.testing.assert_array_equal(a, b)
    for d in ref.frame_decodes:
        for k in range(len(spec.layers)):
            if d == "count" or k == len(spec.layers) - 1:
                np.testing.assert_array_equal(fast.frame_decodes[d][k], ref.frame_decodes[d][k])
                for w in ref.decodes[d]:
                    np.testing.assert_array_equal(fast.decodes[d][w][k], ref.decodes[d][w][k])
            else:
                assert fast.frame_decodes[d][k] is None and fast.decodes[d]["all"][k] is None
        np.testing.assert_array_equal(fast.predictions(d), ref.predictions(d))
    fid = compare(small_model, x, fast)
    assert fid.correlation["fb"][0] is None and fid.rmse["fb"][0] is None
    assert fid.correlation["fb"][-1] == compare(small_model, x, ref).correlation["fb"][-1]
    back = load_result(fast.save(tmp_path / "run.npz"))
    assert back.frame_decodes["fb"][0] is None
    np.testing.assert_array_equal(back.decodes["fb"]["all"][-1], fast.decodes["fb"]["all"][-1])


def test_density_threshold_is_a_fraction():
    assert 0 < DENSE_ABOVE < 1


@pytest.mark.parametrize("kwargs, message", [
    ({"target": "numpy", "propagation": "rows"}, "cpp_standalone kernel"),
    ({"batch": 0}, "positive integer"),
    ({"sampling": "sometimes"}, "unknown sampling"),
    ({"propagation": "telepathy"}, "unknown propagation"),
    ({"threads": 2}, "propagation='rows'"),
    ({"target": "numpy", "threads": 2}, "threads=0"),
    ({"threads": -1}, "non-negative integer"),
])
def test_bad_layouts_are_refused(small_model, kwargs, message):
    spec = to_snn_spec(small_model, mode="float")
    kw = {"target": "cpp_standalone", **kwargs}
    target = kw.pop("target")
    with pytest.raises(UserInputError, match=message):
        Runner(spec, target, **kw)


def test_too_many_drives_for_the_batch_are_refused(small_model, numpy_runtime):
    spec = to_snn_spec(small_model, mode="float")
    drives = _drives(small_model, spec, 3)
    with Runner(spec, "numpy", batch=2) as r:
        with pytest.raises(UserInputError, match="1 to 2 drives"):
            r.run_batch(drives)


# --- the default layout (lprnn_brian.targets.resolve_layout) ------------------------------------------------
@pytest.mark.parametrize("target, n, want, expected", [
    ("cpp_standalone", 210, "frames", (32, "frames", "rows")),
    ("cpp_standalone", 12, "frames", (16, "frames", "rows")),  # rounded up to a power of two (one build per 2^k)
    ("cpp_standalone", 1, "readout", (1, "readout", "rows")),
    ("cpp_standalone", 100, "steps", (8, "steps", "rows")),  # every step recorded: smaller batches
    ("cuda_standalone", 12, "frames", (16, "frames", "synapses")),
    ("numpy", 12, "frames", (12, "frames", "synapses")),  # nothing compiled per batch: exactly n
    ("cython", 40, "readout", (32, "readout", "synapses")),
    ("genn", 12, "frames", (8, "steps", "synapses")),  # GeNN samples every step only
    ("genn", 3, "readout", (4, "steps", "synapses")),
])
def test_auto_layout_per_target(target, n, want, expected):
    from lprnn_brian.targets import resolve_layout

    got = resolve_layout(target, n_samples=n, want=want)
    assert (got["batch"], got["sampling"], got["propagation"]) == expected


def test_explicit_layout_is_kept():
    from lprnn_brian.targets import resolve_layout

    assert resolve_layout("cpp_standalone", batch=1, sampling="steps", propagation="synapses", n_samples=50) == \
        {"batch": 1, "sampling": "steps", "propagation": "synapses"}
    assert resolve_layout("numpy", batch=3, n_samples=50)["batch"] == 3


def test_backend_layouts_match_their_checks():
    """What each backend declares it runs (``samplings``, ``propagations``: what resolve_layout picks from) is
    exactly what its checks accept, so that no default layout is refused."""
    from lprnn_brian.network import PROPAGATIONS, SAMPLINGS, check_layout
    from lprnn_brian.targets import TARGETS, backend_for
    from lprnn_brian.targets import genn, lava_device as lava

    for target in TARGETS:
        cls = backend_for(target)
        for sampling in SAMPLINGS:
            for propagation in PROPAGATIONS:
                try:
                    check_layout(2, sampling, propagation, target)
                    own = {genn.TARGET: genn.check_layout, lava.TARGET: lava.check_layout}.get(target)
                    if own is not None:
                        own(2, sampling, propagation)
                    accepted = True
                except UserInputError:
                    accepted = False
                declared = sampling in (cls.samplings or SAMPLINGS) and propagation in (cls.propagations or PROPAGATIONS)
                assert accepted == declared, \
                    (target, sampling, propagation)


@pytest.fixture(scope="module")
def bundled_clips():
    """The bundled digits model and its first 12 test clips (12 → batch 16 by default, the build of the demo's
    test, tests/test_demo.py, re-used in one session)."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.tasks.digits import load_digits

    return load_model(bundled_model_path()), load_digits("test")[0][:12]


@pytest.mark.parametrize("mode", ["loihi", "float"])
def test_default_path_equals_plain_runs_on_bundled_clips(mode, bundled_clips, build_root):
    """simulate()'s default on cpp_standalone (16 copies per run, frame-end sampling, row propagation) against the
    plain network (one Brian2 run per clip, Synapses, every step recorded): the same spike trains, and the same
    decodes bit for bit, per frame and as window means, in both modes (float too: each copy's synaptic sums add
    the same weights in the same order, and the window sums add the recorded doubles in step order, as the mean
    of the every-step trace does)."""
    model, x = bundled_clips
    spec = to_snn_spec(model, mode=mode)
    plain = simulate(spec, x, build_root=build_root, batch=1, sampling="steps", propagation="synapses")
    fast = simulate(spec, x, build_root=build_root)
    assert fast.layout == {"batch": 16, "sampling": "frames", "propagation": "rows", "threads": 0}
    assert plain.layout == {"batch": 1, "sampling": "steps", "propagation": "synapses", "threads": 0}
    assert sum(len(s) for s in plain.spikes) > 0
    for a, b in zip(plain.spikes, fast.spikes):
        np.testing.assert_array_equal(a, b)
    assert set(fast.frame_decodes) == set(plain.frame_decodes) == {"fb", "ip", "in", "count"}
    for d in plain.frame_decodes:
        for k in range(len(spec.layers)):
            np.testing.assert_array_equal(fast.frame_decodes[d][k], plain.frame_decodes[d][k])
            for w in plain.decodes[d]:
                np.testing.assert_array_equal(fast.decodes[d][w][k], plain.decodes[d][w][k])
