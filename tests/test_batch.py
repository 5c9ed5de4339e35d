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


def _inputs(model, n):
    return np.random.default_rng(7).normal(0.0, 2.0, size=(n, model.n_frames, model.n_inputs))


def _drives(model, spec, n):
    return [layer0_drive(xi, spec) for xi in _inputs(model, n)]


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


#: (network, variant, sampling, threads): the default run takes the layout the fast path runs (Loihi mode, read-out
#: sampling, threads) on the small network; the other seven, whose two builds each add half a minute, are ``slow``
BATCH_CASES = [pytest.param(name, variant, sampling, threads,
                            marks=[] if (name, variant, sampling) == ("small", "loihi", "readout")
                            else [pytest.mark.slow])
               for name in ("small", "pruned") for variant in ("float", "loihi")
               for sampling, threads in (("frames", 0), ("readout", 2))]


@pytest.mark.parametrize("name, variant, sampling, threads", BATCH_CASES)
def test_batched_rows_equal_single_synapse_runs(name, variant, sampling, threads, small_model, build_root):
    """Also with the read-out-only sampling and two OpenMP threads (copies split between threads); the row layout
    takes its input per frame and records spikes with its own recorder, so this also holds those to Brian2's
    TimedArray and SpikeMonitor."""
    model = small_model if name == "small" else _pruned_model()
    spec = to_snn_spec(model, mode=variant)
    drives = _drives(model, spec, 4)
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD) as r:
        refs = [r.run(d) for d in drives]
    assert all(sum(len(s) for s in ref.spike_i[1:]) > 0 for ref in refs), "every sample must make spikes"
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD, batch=3, sampling=sampling,
                propagation="rows", threads=threads) as r:
        layouts = {k["name"]: k["layout"] for k in r.bn.kernels}
        kernels = {k["name"]: k["kernel"] for k in r.bn.kernels}
        # the update's factors 1 − 1/τ: one shared value where the layer has one τ, per neuron with per-unit τ
        per_neuron = {g.name: not g.variables["one_minus_inv_tau_I"].scalar for g in r.bn.groups}
        assert per_neuron == {"lpff_1": False, "lprnn_1": name == "pruned", "output": False}, per_neuron
        # a full batch of per-step drives and a partial one of input frames (the same samples)
        fast = r.run_batch(drives[:3]) + r.run_inputs(_inputs(model, 4)[3:])
    if variant == "loihi" and name == "small":  # integer spike effects and exact sums: integer rows everywhere
        assert set(layouts.values()) == {"integer"}, layouts
        # a layer's feed-forward and recurrent rows share one accumulator and one kernel
        assert kernels["lprnn_1_ff"] == kernels["lprnn_1_rec"] == "lprnn_1_in_rows", kernels
    elif variant == "loihi":  # rows scaled per neuron (per-unit τ_I): lprnn_1's recurrent effects are halves
        assert layouts == {"lprnn_1_ff": "integer", "lprnn_1_rec": "sparse", "output_ff": "integer"}, layouts
        assert kernels["lprnn_1_ff"] == "lprnn_1_ff_rows" and kernels["lprnn_1_rec"] == "lprnn_1_rec_rows", kernels
    elif name == "small":
        assert set(layouts.values()) == {"dense"}, layouts
    else:  # the pruned W and U use sparse rows, the half-dense read-out dense rows
        assert layouts == {"lprnn_1_ff": "sparse", "lprnn_1_rec": "sparse", "output_ff": "dense"}, layouts
    assert len(fast) == 4
    sampled = None if sampling == "frames" else [len(spec.layers) - 1]
    for ref, f in zip(refs, fast):
        _check_same(spec, ref, f, sampled)


def _blocked_model() -> LpRNNModel:
    """lpff 6→24 → lprnn 24 → dense 3, weights c/8 with codes c in −127…127: the Loihi mode's weights are then
    multiples of 64 up to 32 · 64, integer rows whose int8 blocks hold ⌊127/32⌋ = 3 rows, and a copy has more
    spikes in a step than that."""
    rng = np.random.default_rng(5)

    def codes(shape):
        return (rng.integers(-127, 128, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lpff_1", "lpff", codes((24, 6)), codes(24) / 8, retention=0.8),
                       Layer("lprnn_1", "lprnn", codes((24, 24)) / 4, codes(24) / 8, U=codes((24, 24)) / 4,
                             retention=0.8),
                       Layer("output", "dense", codes((3, 24)), codes(3) / 8)], n_frames=20, frame_dt=1 / 20)


def test_rows_summed_in_int8_blocks_equal_single_synapse_runs(build_root, numpy_runtime):
    """Integer rows first summed in int8 blocks of 3 (propagation.block_rows), with steps where a copy has more
    spikes than two blocks hold, so that several blocks are widened into the accumulator in one step. The
    reference is Brian2's numpy runtime (its spikes are cpp_standalone's: test_batched_synapses_on_numpy_runtime
    and the targets' tests), one compilation less."""
    from lprnn_brian.propagation import block_rows, compact_rows

    model = _blocked_model()
    spec = to_snn_spec(model, mode="loihi")
    values, _ = compact_rows(64 * spec.layers[1].U_snn.T)
    assert block_rows(values) == 3, block_rows(values)
    drives = _drives(model, spec, 3)
    with Runner(spec, "numpy", record=RECORD) as r:
        refs = [r.run(d) for d in drives]
    most = max(np.bincount(ref.spike_step[1]).max() for ref in refs)
    assert most > 2 * 3, f"at most {most} spikes of lprnn_1 in a step: two blocks would hold them all"
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD, batch=3, sampling="frames",
                propagation="rows") as r:
        blocks = {k["name"]: k.get("block_rows") for k in r.bn.kernels}
        fast = r.run_batch(drives)
    assert blocks["lprnn_1_rec"] == 3 and blocks["lprnn_1_ff"] > 1, blocks
    for ref, f in zip(refs, fast):
        _check_same(spec, ref, f)


def _nibble_model() -> LpRNNModel:
    """lpff 6→80 → lprnn 80 → dense 3, hidden weights c/8 with codes c in −8…7: the Loihi mode's hidden rows are
    then the integers −8 … 7 (times 64), 4-bit rows (propagation.nibble_rows: 80 targets, two groups of 64) whose
    uint8 blocks hold ⌊255/15⌋ = 17 rows, and lpff_1 has steps with more spikes than that."""
    rng = np.random.default_rng(3)

    def codes(shape):
        return (rng.integers(-8, 8, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lpff_1", "lpff", codes((80, 6)), codes(80) / 8, retention=0.8),
                       Layer("lprnn_1", "lprnn", codes((80, 80)), codes(80) / 8, U=codes((80, 80)), retention=0.8),
                       Layer("output", "dense", codes((3, 80)), codes(3) / 8)], n_frames=20, frame_dt=1 / 20)


def test_rows_of_4bit_weights_equal_single_synapse_runs(build_root, numpy_runtime):
    """Integer rows stored in half a byte per weight (propagation.nibble_rows: the values −8 … 7, the widest range
    four bits hold, stored with an offset of 8), summed in uint8 blocks of 17 with steps where a copy has more spikes
    than a block holds, against Brian2's numpy runtime."""
    from lprnn_brian.propagation import integer_sources, nibble_rows

    model = _nibble_model()
    spec = to_snn_spec(model, mode="loihi")
    L = spec.layers[1]
    (ff, rec), _ = integer_sources([64 * L.W_snn.T, 64 * L.U_snn.T])
    assert (ff.min(), ff.max(), rec.min(), rec.max()) == (-8, 7, -8, 7)
    assert nibble_rows(ff)[1:] == nibble_rows(rec)[1:] == (8, 17)
    drives = _drives(model, spec, 3)
    with Runner(spec, "numpy", record=RECORD) as r:
        refs = [r.run(d) for d in drives]
    most = max(np.bincount(ref.spike_step[0]).max() for ref in refs)
    assert most > 17, f"at most {most} spikes of lpff_1 in a step: one block would hold them all"
    with Runner(spec, "cpp_standalone", build_root=build_root, record=RECORD, batch=3, sampling="frames",
                propagation="rows") as r:
        kernels = {k["name"]: (k.get("weight_bits"), k.get("block_rows")) for k in r.bn.kernels}
        fast = r.run_batch(drives)
    assert kernels["lprnn_1_ff"] == kernels["lprnn_1_rec"] == (4, 17), kernels
    for ref, f in zip(refs, fast):
        _check_same(spec, ref, f)


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


@pytest.mark.slow  # ~30 s: a build per layout
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


@pytest.mark.slow  # a build of its own (~20 s)
def test_int32_spike_indices_in_small_chunks_record_the_same_spikes(small_model, build_root, tmp_path, monkeypatch):
    """Layers of more than INT16_NEURONS neurons record int32 indices; with the bound lowered to 1 every layer takes
    that path, and with CHUNK_SPIKES lowered to 7 each copy's indices fill many chunks, a step's run of spikes often
    split between two (a fresh build directory: the code differs). The spikes equal the Synapses path's (the
    reference run shares the session's build)."""
    import lprnn_brian.spike_record as spike_record

    spec = to_snn_spec(small_model, mode="float")
    x = np.random.default_rng(3).normal(0.0, 2.0, size=(3, small_model.n_frames, small_model.n_inputs))
    ref = simulate(spec, x, build_root=build_root, batch=1, sampling="steps", propagation="synapses")
    monkeypatch.setattr(spike_record, "INT16_NEURONS", 1)
    monkeypatch.setattr(spike_record, "CHUNK_SPIKES", 7)
    wide = simulate(spec, x, build_root=tmp_path, batch=2, sampling="readout", propagation="rows")
    records = sorted(tmp_path.rglob("*.spikes"))
    assert records and all(np.frombuffer(p.read_bytes()[:16], dtype="<i4")[3] == 4 for p in records)
    counts = [np.frombuffer(p.read_bytes(), dtype="<i8", count=2, offset=16) for p in records]
    assert max(c.max() for c in counts) > 3 * 7, counts
    for a, b in zip(ref.spikes, wide.spikes):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # a build of its own (~20 s); the default run's batch case samples the read-out too
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
        with pytest.raises(UserInputError, match="1 to 2 samples"):
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


# both slow (~50 s each on 2 cores): the default suite holds the same identity on the small and pruned test models
# (test_batched_rows_equal_single_synapse_runs, test_simulate_gives_the_same_result_with_every_layout)
@pytest.mark.parametrize("mode", [pytest.param("loihi", marks=pytest.mark.slow),
                                  pytest.param("float", marks=pytest.mark.slow)])
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


@pytest.mark.parametrize("rows, dtype, scale", [
    ([[64.0, 128.0], [-192.0, 0.0]], np.int8, 64.0),        # Loihi weights: 8-bit mantissas times 64·2^exp
    ([[4096.0, 16384.0]], np.int8, 4096.0),
    ([[64.0 * 300, 64.0]], np.int16, 64.0),                  # 300 needs more than 8 bits
    ([[0.5, 1.5]], np.int8, 0.5),                            # binary fractions: a power-of-two scale below 1
    ([[2.0 ** -20, 3 * 2.0 ** -20]], np.int8, 2.0 ** -20),
    ([[0.1, 0.25]], np.float64, 1.0),                        # 0.1 is no float32 and no multiple of a power of 2
    ([[1.0 + 2.0 ** -20, 0.0]], np.float32, 1.0),            # 21 significant bits: float32 holds it, int16 does not
    ([[0.0, 0.0]], np.int8, 1.0),
])
def test_row_storage_is_the_narrowest_exact_one(rows, dtype, scale):
    """The row kernel stores weights as the narrowest of int8, int16, float32, float64 that holds them exactly,
    with the largest power-of-two scale (cases worked by hand), so that the double it adds, scale·value, is the
    weight itself: the same increments as float64 rows, bit for bit."""
    from lprnn_brian.propagation import compact_rows

    rows = np.array(rows)
    values, s = compact_rows(rows)
    assert values.dtype == dtype and s == scale
    np.testing.assert_array_equal(values.astype(np.float64) * s, rows)


@pytest.mark.parametrize("values, expected", [
    (np.full((2, 3), 127, dtype=np.int8), np.int16),         # a column sums to at most 254
    (np.full((258, 2), -127, dtype=np.int8), np.int16),      # 258 · 127 = 32,766 fits int16 ...
    (np.full((259, 2), -127, dtype=np.int8), np.int32),      # ... 259 · 127 = 32,893 does not
    (np.array([[30000], [3000]], dtype=np.int16), np.int32),
    (np.array([[2 ** 15 - 1]] * (2 ** 16 + 3), dtype=np.int16), None),  # 32,767 · 65,539 > 2^31 − 1
    (np.array([[0.5, 1.5]], dtype=np.float32), None),        # not integers
])
def test_integer_accumulator_holds_every_sum(values, expected):
    """The integer rows' accumulator is the narrowest type that holds the sum of a target's whole column (every
    presynaptic neuron spiking in one step), by hand from the type limits."""
    from lprnn_brian.propagation import accumulator

    got = accumulator(values)
    assert (got is None) if expected is None else (got == np.dtype(expected)), got


def test_accumulator_of_several_projections_holds_their_summed_columns():
    """Two projections into one target: a column's worst case is the sum of both columns'
    (254 + 32,639 > 2^15 − 1)."""
    from lprnn_brian.propagation import accumulator

    a, b = np.full((2, 3), 127, dtype=np.int8), np.full((257, 3), -127, dtype=np.int8)
    assert accumulator(a) == accumulator(b) == np.dtype(np.int16)
    assert accumulator(a, b) == np.dtype(np.int32)
    big = np.full((2 ** 16, 1), 2 ** 15 - 1, dtype=np.int16)  # 2,147,418,112: just inside int32
    assert accumulator(big) == np.dtype(np.int32) and accumulator(big, big) is None


def test_integer_sources_share_the_smallest_scale_exactly():
    """Effects 64·k and 128·k share the scale 64 (the second's values doubled); the stored values times the scale
    are the effects, bit for bit. Refused: a projection whose effects are not integers, one that no longer fits
    int16 on the shared scale, and projections whose summed columns overflow int32."""
    from lprnn_brian.propagation import integer_rows_exact, integer_sources

    ff = np.array([[64.0, -128.0], [0.0, 64.0 * 127]])
    rec = np.array([[128.0, 0.0], [-128.0 * 127, 256.0]])
    values, scale = integer_sources([ff, rec])
    assert scale == 64.0 and [v.dtype for v in values] == [np.int8, np.int16]
    for v, rows in zip(values, (ff, rec)):
        np.testing.assert_array_equal(v.astype(np.float64) * scale, rows)
    assert integer_sources([ff, np.array([[0.5, 0.0]])]) is None            # not integers
    assert integer_sources([np.array([[1.0, 0.0]]), np.array([[2.0 ** 20, 0.0]])]) is None  # 2^20 leaves int16
    big = np.full((2 ** 16, 1), 64.0 * (2 ** 15 - 1))
    assert integer_rows_exact(big) and integer_sources([big, big]) is None  # each fits int32, their sum does not


@pytest.mark.parametrize("values, rows", [
    (np.array([[4, -3], [0, 1]], dtype=np.int8), 31),        # the authors' SHD weights: −4 … 3
    (np.array([[63, -63]], dtype=np.int8), 2),
    (np.array([[64, 0]], dtype=np.int8), 1),                  # 2 · 64 leaves int8
    (np.array([[-128, 0]], dtype=np.int8), 1),
    (np.array([[0, 0]], dtype=np.int8), 1),                   # nothing to sum: no blocks
    (np.array([[1, 2]], dtype=np.int16), 1),                  # int16 rows are widened as they come
])
def test_int8_blocks_never_overflow(values, rows):
    """k rows of magnitude at most m sum to at most k·m ≤ 127."""
    from lprnn_brian.propagation import block_rows

    assert block_rows(values) == rows
    assert rows == 1 or rows * np.abs(values.astype(np.int64)).max() <= 127


@pytest.mark.parametrize("low, high, n_post", [(-8, 7, 64), (-4, 3, 512), (0, 15, 100), (-15, 0, 65), (-1, 1, 80),
                                               (0, 0, 64)])
def test_nibble_rows_hold_every_weight(low, high, n_post):
    """Unpacked as the kernel reads them (module docstring of propagation: byte k of a 64-target group holds target k
    in its low and target k + 32 in its high four bits, each weight plus the offset), the rows give back every weight
    and pad with zero weights; a block's sum of stored values cannot leave uint8."""
    from lprnn_brian.propagation import NIBBLE_GROUP, nibble_rows

    values = np.random.default_rng(n_post).integers(low, high + 1, size=(7, n_post)).astype(np.int8)
    values[0, :2] = (low, high)
    packed, offset, block = nibble_rows(values)
    width = -(-n_post // NIBBLE_GROUP) * NIBBLE_GROUP
    assert packed.dtype == np.int8 and packed.shape == (7, width // 2)
    b = packed.view(np.uint8).reshape(7, width // NIBBLE_GROUP, NIBBLE_GROUP // 2)
    stored = np.concatenate([b & 15, b >> 4], axis=2).reshape(7, width).astype(int)
    np.testing.assert_array_equal(stored[:, :n_post] - offset, values)
    assert np.all(stored[:, n_post:] == offset)  # the padding: weight 0
    assert block * stored.max() <= 255 and (block + 1) * max(high - min(low, 0), 1) > 255


@pytest.mark.parametrize("values", [
    np.array([[-8, 8] * 40], dtype=np.int8),      # 17 integers: more than four bits
    np.array([[1, 16] * 40], dtype=np.int8),      # 0 … 16 with the zero weight of the padding
    np.array([[-3, 3] * 20], dtype=np.int8),      # 40 targets: shorter than a group
    np.array([[-3, 3] * 40], dtype=np.float32),   # not integers
])
def test_nibble_rows_refuse_what_four_bits_do_not_hold(values):
    from lprnn_brian.propagation import nibble_rows

    assert nibble_rows(values) is None


def test_integer_rows_are_stored_in_whole_vectors():
    from lprnn_brian.propagation import ROW_LANES, padded_width

    assert [padded_width(n) for n in (1, 20, 32, 33, 512)] == [32, 32, 32, 64, 512] and ROW_LANES == 32


@pytest.mark.parametrize("rows, exact_sums, layout", [
    (np.array([[64.0, 0.0], [128.0, -64.0]]), False, "dense"),        # 3/4 non-zero
    (np.array([[64.0] + [0.0] * 9]), False, "sparse"),                # 1/10 non-zero
    (np.array([[64.0] + [0.0] * 9]), True, "integer"),                # 1/10 > INTEGER_ABOVE, integer weights
    (np.array([[64.0] + [0.0] * 99]), True, "sparse"),                # 1/100 < INTEGER_ABOVE
    (np.array([[0.1, 0.3], [0.2, 0.0]]), True, "dense"),              # no integer storage: dense doubles
    (np.array([[0.5, 0.0, 0.0, 0.0]]), True, "sparse"),               # int8 times 1/2: effects not integers
])
def test_row_layout_choice(rows, exact_sums, layout):
    """Integer rows only where the sums are exact (Loihi-integer mode) and the spike effects are integers; otherwise
    the density decides between dense and sparse rows."""
    from lprnn_brian.propagation import DENSE_ABOVE, INTEGER_ABOVE, choose_layout

    assert INTEGER_ABOVE < 0.1 < DENSE_ABOVE
    assert choose_layout(rows, exact_sums) == layout


def test_fused_steps_keep_the_schedule_order():
    """The row layout runs a layer's per-neuron operations back to back in one pass, in the schedule's order, unless a
    recording reads the states in between (then the update stays in its own slot, after the record); unfused, each
    operation keeps its own slot (the objects the explorer names)."""
    from lprnn_brian.network import step_blocks

    ops = {"clip": "a", "truncate": "b", "input": "c", "update": "d"}
    assert step_blocks(ops, records=False, fuse=True) == [("clip", ["clip", "truncate", "input", "update"])]
    assert step_blocks(ops, records=True, fuse=True) == [("clip", ["clip", "truncate", "input"]),
                                                          ("update", ["update"])]
    assert step_blocks(ops, records=True, fuse=False) == step_blocks(ops, records=False, fuse=False) == [
        (op, [op]) for op in ("clip", "truncate", "input", "update")]
    float_hidden = {"clip": "a", "update": "d"}  # float mode, a layer after the first: no truncate, no input
    assert step_blocks(float_hidden, records=False, fuse=True) == [("clip", ["clip", "update"])]


def test_the_per_step_drive_is_the_frames_held():
    """layer0_drive (per step) against a second computation, the zero-order hold x[⌊n/M⌋] of the frames then f0·W0
    (and τ_U/τ_I per unit): equal to float64 rounding (1e-15 relative; the product is over other row counts), for a
    layer with one retention and one with a retention per unit; input_frames held by hold_steps is it exactly."""
    from conftest import per_unit_model

    from lprnn_brian.convert import hold_steps, input_frames

    for model in (_pruned_model(), per_unit_model(np.random.default_rng(3), [0.5, 0.8])):
        spec = to_snn_spec(model, mode="float")
        x = _inputs(model, 2)
        M = spec.steps_per_frame
        idx = np.minimum(np.floor(np.arange(spec.n_steps) / M).astype(int), model.n_frames - 1)
        L0 = spec.layers[0]
        expected = L0.factor * (x[:, idx, :] @ L0.W_ann.T)
        if isinstance(L0.tau_I, np.ndarray):
            expected = expected * (L0.tau_U / L0.tau_I)
        drive = layer0_drive(x, spec)
        np.testing.assert_allclose(drive, expected, rtol=1e-15, atol=0)
        np.testing.assert_array_equal(drive, input_frames(x, spec)[:, hold_steps(model.n_frames, spec), :])


def test_the_frame_stimulus_takes_held_drives_only():
    """The row layout's per-frame input: a held drive gives back its frames; a drive that changes within a frame is
    refused with one line (it would be silently averaged away otherwise), as is a drive of the wrong shape."""
    from lprnn_brian.convert import input_frames
    from lprnn_brian.network import FrameStimulus

    model = _pruned_model()
    spec = to_snn_spec(model, mode="float")
    stim = FrameStimulus(spec, batch=1)
    x = _inputs(model, 1)[0]
    np.testing.assert_array_equal(stim.frames_of_drive(layer0_drive(x, spec)), input_frames(x, spec))
    wobbly = layer0_drive(x, spec).copy()
    wobbly[1] += 1.0  # step 1 lies inside frame 0 (M > 1)
    assert spec.steps_per_frame > 1
    with pytest.raises(UserInputError, match="changes within a frame"):
        stim.frames_of_drive(wobbly)
    with pytest.raises(UserInputError, match="drive of shape"):
        stim.frames_of_drive(wobbly[:-1])


@pytest.mark.parametrize("width", [2, 4])
def test_spike_recorder_file_format(tmp_path, width):
    """The recorder's file (second format, lprnn_brian.spike_record's docstring) read back from hand-written bytes:
    B = 2 copies of 3 steps, copy 0 with spikes (0, step 0), (1, step 0), (4, step 2), copy 1 with (2, step 1), indices
    int16 or int32; a batch that differs, a short file and per-step counts that do not sum to the counts are
    refused rather than read into wrong spikes."""
    from lprnn_brian.spike_record import SPIKES_MAGIC, read_spikes

    index = np.int16 if width == 2 else np.int32
    head = np.array([SPIKES_MAGIC, 2, 3, width], dtype="<i4").tobytes() + np.array([3, 1], dtype="<i8").tobytes()
    per_step = np.array([[2, 0, 1], [0, 1, 0]], dtype="<i4")
    raw = head + per_step.tobytes() + np.array([0, 1, 4, 2], dtype=index).tobytes()
    assert raw[:4] == b"SPK2"
    path = tmp_path / "layer.spikes"
    path.write_bytes(raw)
    (i0, s0), (i1, s1) = read_spikes(path, 2)
    assert i0.tolist() == [0, 1, 4] and s0.tolist() == [0, 0, 2] and i1.tolist() == [2] and s1.tolist() == [1]
    assert i0.dtype == s0.dtype == np.int32
    assert len(read_spikes(path, 2, n_used=1)) == 1
    with pytest.raises(ValueError, match="2 copies where 3"):
        read_spikes(path, 3)
    path.write_bytes(raw[:-width])
    with pytest.raises(ValueError, match="truncated"):
        read_spikes(path, 2)
    path.write_bytes(head + np.array([[2, 0, 0], [0, 1, 0]], dtype="<i4").tobytes() + raw[-4 * width:])
    with pytest.raises(ValueError, match="do not sum"):
        read_spikes(path, 2)


def test_spike_recorder_first_format_is_read(tmp_path):
    """A file of the first format (projects exported before the second) read back by hand-written bytes: B = 2
    copies, counts 3 and 1, then each copy's indices and steps; a short file is refused rather than read into wrong
    spikes."""
    from lprnn_brian.spike_record import read_spikes

    file_name = "layer.spikes"
    body = np.array([4, 0, 4, 10, 10, 12, 2, 7], dtype=np.int32)  # copy 0: (4,10) (0,10) (4,12); copy 1: (2,7)
    raw = np.int32(2).tobytes() + np.array([3, 1], dtype=np.int64).tobytes() + body.tobytes()
    (tmp_path / file_name).write_bytes(raw)
    (i0, s0), (i1, s1) = read_spikes(tmp_path / file_name, 2)
    assert i0.tolist() == [4, 0, 4] and s0.tolist() == [10, 10, 12] and i1.tolist() == [2] and s1.tolist() == [7]
    assert len(read_spikes(tmp_path / file_name, 2, n_used=1)) == 1
    with pytest.raises(ValueError, match="2 copies where 3"):
        read_spikes(tmp_path / file_name, 3)
    (tmp_path / file_name).write_bytes(raw[:-4])
    with pytest.raises(ValueError, match="truncated"):
        read_spikes(tmp_path / file_name, 2)


def test_hoisted_update_keeps_every_sum_in_its_declared_order():
    """The row layout reads 1 − 1/τ_I and 1 − 1/τ_V from per-neuron variables instead of dividing at every step: the
    same doubles, provided each sum still adds its terms in the declared order (float addition is not associative).
    The printer's term order of every hoisted right-hand side, with the factors put back, is the declared one."""
    import sympy as sp

    from lprnn_brian.equations import sigma_delta as sd
    from lprnn_brian.equations.render import update_code, update_factors

    factors = update_factors()
    assert set(map(str, factors)) == {f"one_minus_inv_{tau}" for tau in sd.PER_NEURON}
    terms = sp.printing.str.StrPrinter()._as_ordered_terms
    for x in sd.STATE:
        declared = sd.UPDATE[x]
        hoisted = declared.subs({expr: name for name, expr in factors.items()})
        assert [t.subs(factors) for t in terms(hoisted)] == terms(declared), x
    import re

    assert not re.search(r"\btau_[IV]\b", update_code(hoisted=True))  # no division by a per-neuron τ left
    assert re.search(r"\btau_I\b", update_code())
