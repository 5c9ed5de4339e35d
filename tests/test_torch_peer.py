"""The torch peer of the throughput benchmark (benchmarks/torch_peer.py, target (f) of benchmarks/snn_throughput.py).

Oracles: the numpy functions of the declaration (lprnn_brian.equations.numeric) for each formula; the emulator's
``semantics='brian2'`` (itself the Brian2 Loihi-mode network bit for bit, tests/test_loihi.py) and the Brian2 network
(numpy runtime; on the SHD network, slow: cpp_standalone) for the spikes, which must be identical in Loihi mode:
integer inputs after truncation and mantissa·2^exp weights leave no rounding whose order could differ
(docs/method.md#per-step-order, docs/method.md#simulation-modes).
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import per_unit_model, random_model  # noqa: E402
from lprnn_brian.ann.forward import readout_start  # noqa: E402
from lprnn_brian.convert import layer0_drive, to_snn_spec  # noqa: E402
from lprnn_brian.equations import numeric  # noqa: E402
from lprnn_brian.errors import UserInputError  # noqa: E402
from lprnn_brian.loihi.emulator import emulate  # noqa: E402
from lprnn_brian.loihi.params import to_loihi  # noqa: E402
from lprnn_brian.simulation import decode_scale, simulate  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark_module(name: str):
    """benchmarks/<name>.py imported with its folder on the path (as ``python benchmarks/<name>.py`` has it)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


peer_mod = _benchmark_module("torch_peer")


def _drives(spec, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, spec.n_frames, spec.layers[0].W_ann.shape[1])).astype(np.float32)
    return x, np.stack([layer0_drive(xi, spec) for xi in x])


def _two_tau_model():
    """random_model with layer 1's retention 0.6 where layer 0 keeps 0.8: τ_I and τ_S differ between layers."""
    model = random_model(np.random.default_rng(11))
    model.layers[1].retention = 0.6
    return model


MODELS = {
    "random": lambda: random_model(np.random.default_rng(20240713)),
    "two taus": _two_tau_model,
    # per-unit τ_I, τ_V (tensors (n,) in the formulas) and per-row weight exponents
    "per unit": lambda: per_unit_model(np.random.default_rng(8), [0.1, 0.3, 0.5, 0.7, 0.9, 0.97]),
}


# --- the formulas -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["loihi", "float"])
def test_every_formula_equals_the_declarations_numpy_function(variant):
    """Every block's torch code (with its parameter-only sub-expressions computed apart) gives the numpy function of
    the declaration bit for bit, on values off the integer grid, negative, and beyond the 24-bit limits (so the
    clipping and truncation act), with per-neuron and per-layer time constants that are not powers of 2."""
    rng = np.random.default_rng(0)
    n = 257
    big = 2.0**24
    values = {x: rng.uniform(-big, big, (3, n)) for x in ("i_ip", "i_in", "v", "i_fb", "X", "w")}
    values["v"][0, :5] = [0.0, -0.0, 64 * 3.0, 64 * 3.0 + 1e-9, 64 * 3.0 - 1e-9]  # the threshold's edge
    params = {"tau_I": rng.uniform(1, 300, n), "tau_V": rng.uniform(1, 300, n), "tau_U": np.float64(37.3),
              "tau_S": np.float64(64.0), "b_tilde": rng.uniform(-500, 500, n), "kick": np.float64(1234.5),
              "vth_mant": 3.0}
    nn = numeric.neuron(variant)
    blocks, threshold = peer_mod.torch_blocks(variant)
    # as the peer holds them: arrays and per-layer values as float64 tensors, the threshold mantissa a float
    t_values = {k: torch.as_tensor(v) if isinstance(v, (np.ndarray, np.generic)) else v
                for k, v in {**values, **params}.items()}

    def run(a):
        consts = {name: eval(code, a.namespace, t_values) for name, code in a.constants.items()}  # noqa: S307
        out = a({**t_values, **consts})
        return out.numpy() if isinstance(out, torch.Tensor) else out

    checked = 0
    for name, block in nn.blocks.items():
        assert set(blocks[name]) == set(block), name
        for x, a in block.items():
            want = a({**values, **params})
            np.testing.assert_array_equal(np.broadcast_to(run(blocks[name][x]), np.shape(want)), want,
                                          err_msg=f"{name} {x}")
            checked += 1
    np.testing.assert_array_equal(run(threshold), nn.spikes(values["v"], params["vth_mant"]))
    assert checked == (16 if variant == "loihi" else 10)
    # the decay factors are the hoisted parts (computed once per layer), the state terms stay per step
    assert all(len(a.constants) == 1 for a in blocks["update"].values()) and len(threshold.constants) == 1


# --- the network --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", sorted(MODELS))
def test_spikes_equal_the_emulator(model):
    """Three samples in one batch: every spike of every layer and the read-out's i_fb window sum equal those of the
    emulator's Brian2 semantics exactly (and every layer spikes, so the comparison is not of empty trains)."""
    spec = to_snn_spec(MODELS[model](), mode="loihi")
    _, drive = _drives(spec, 3, seed=2)
    em = emulate(to_loihi(spec), drive, semantics="brian2", record="frames")
    run = peer_mod.TorchPeer(spec).run(drive)
    for k in range(len(spec.layers)):
        assert run.spikes[k].shape == em.spikes[k].shape
        np.testing.assert_array_equal(run.spikes[k], em.spikes[k], err_msg=f"layer {k}")
        assert run.spikes[k].sum() > 0, f"layer {k} never spikes"
    want = np.stack([raw.window_sums[-1]["i_fb"][spec.readout_window] for raw in em.raw])
    np.testing.assert_array_equal(run.readout_fb_sum, want)
    assert np.any(want != 0)


def test_spikes_and_readout_equal_the_brian2_network(numpy_runtime):
    """The Brian2 network itself (numpy runtime, Loihi mode, every state recorded every step): the same spike trains
    in the same order (by step, then neuron) per sample and layer, and the read-out's i_fb summed over the read-out
    window from the recorded trace (integers: exact in any order)."""
    spec = to_snn_spec(MODELS["two taus"](), mode="loihi")
    x, drive = _drives(spec, 2, seed=4)
    res = simulate(spec, x, target="numpy", keep_raw=True)
    run = peer_mod.TorchPeer(spec).run(drive)
    first = readout_start(spec.n_steps, spec.readout_window)
    for b, raw in enumerate(res.raw):
        spike_i, spike_step = run.spike_trains(b)
        for k in range(len(spec.layers)):
            np.testing.assert_array_equal(spike_i[k], raw.spike_i[k], err_msg=f"sample {b} layer {k}")
            np.testing.assert_array_equal(spike_step[k], raw.spike_step[k], err_msg=f"sample {b} layer {k}")
        np.testing.assert_array_equal(run.readout_fb_sum[b], raw.states[-1]["i_fb"][first:].sum(axis=0))
    assert sum(len(i) for raw in res.raw for i in raw.spike_i) > 0


def test_batch_copies_are_independent():
    """A sample's spikes do not depend on what else is in its batch: one sample alone equals it within a batch of
    three (the batch is only a leading dimension)."""
    spec = to_snn_spec(MODELS["random"](), mode="loihi")
    _, drive = _drives(spec, 3, seed=7)
    peer = peer_mod.TorchPeer(spec)
    together, alone = peer.run(drive), peer.run(drive[1])
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(alone.spikes[k][0], together.spikes[k][1])
    np.testing.assert_array_equal(alone.readout_fb_sum[0], together.readout_fb_sum[1])


def test_shd_clip_equals_the_emulator(shd_model):
    """The authors' SHD network (128 + 2 × 512 + 20 neurons, 1,785 steps), one bundled test clip through the SHD
    front end: spikes of every layer and the read-out window sum identical to the emulator's Brian2 semantics, and
    so the fb decode's class."""
    from lprnn_brian.tasks.digits import load_digits

    spec = to_snn_spec(shd_model, mode="loihi")
    x = load_digits("test", front_end="shd")[0][:1]
    drive = layer0_drive(x[0], spec)[None]
    em = emulate(to_loihi(spec), drive, semantics="brian2", record="frames")
    run = peer_mod.TorchPeer(spec).run(drive)
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(run.spikes[k], em.spikes[k], err_msg=spec.layers[k].name)
        assert run.spikes[k].sum() > 100
    want = em.raw[0].window_sums[-1]["i_fb"][spec.readout_window]
    np.testing.assert_array_equal(run.readout_fb_sum[0], want)
    scale = decode_scale("fb", spec.layers[-1])
    assert np.argmax(scale * run.readout_fb_sum[0]) == np.argmax(scale * want)


@pytest.mark.slow
def test_shd_clips_equal_cpp_standalone(shd_model, build_root):
    """Two SHD clips in one batch against the Brian2 Loihi-mode network compiled with cpp_standalone (the benchmark's
    (c) path, rows propagation): every spike of every layer identical."""
    from lprnn_brian.tasks.digits import load_digits

    spec = to_snn_spec(shd_model, mode="loihi")
    x = load_digits("test", front_end="shd")[0][:2]
    run = peer_mod.TorchPeer(spec).run(np.stack([layer0_drive(xi, spec) for xi in x]))
    ref = simulate(spec, x, target="cpp_standalone", sampling="readout", propagation="rows", build_root=build_root)
    for k, L in enumerate(spec.layers):
        theirs = np.zeros((2, spec.n_steps, L.n), bool)
        theirs[ref.spikes[k][:, 0], ref.spikes[k][:, 2], ref.spikes[k][:, 1]] = True
        np.testing.assert_array_equal(run.spikes[k], theirs, err_msg=L.name)
        assert len(ref.spikes[k]) > 100


@pytest.mark.parametrize("shape", [(5, 8), (1, 10, 8), (0, 285, 8), (2, 285, 7), (2, 3, 285, 8)])
def test_a_drive_of_the_wrong_shape_is_refused_in_one_line(shape):
    spec = to_snn_spec(MODELS["random"](), mode="loihi")
    assert (spec.n_steps, spec.layers[0].n) == (285, 8)
    with pytest.raises(UserInputError, match=r"drive must be \(samples, 285 steps, 8 units\) or \(285, 8\)") as err:
        peer_mod.TorchPeer(spec).run(np.zeros(shape))
    assert "\n" not in str(err.value) and str(shape) in str(err.value)


# --- the benchmark's target (f) -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bench():
    return _benchmark_module("snn_throughput")


def test_benchmark_worker_times_both_batches_and_keeps_spikes(bench):
    """worker_torch on a small network, 5 samples at batch 2: per-sample times at batch 2 and 32, torch's threads
    (0 asks for 1), the fb-decoded class of every sample equal to the emulator's, and the first samples' spike
    trains (the spike file's content) equal to the emulator's."""
    spec = to_snn_spec(MODELS["random"](), mode="loihi")
    x, drive = _drives(spec, 5, seed=3)
    threads = torch.get_num_threads()
    try:
        out = bench.worker_torch(spec, x, 5, batch=2, threads=0)
    finally:
        torch.set_num_threads(threads)
    assert set(out["per_sample_by_batch_s"]) == {"2", "32"} and out["per_sample_s"] == out["per_sample_by_batch_s"]["2"]
    assert out["threads"] == 1 and out["batch"] == 2 and out["samples"] == 5 and out["cold_first_s"] > 0
    em = emulate(to_loihi(spec), drive, semantics="brian2")
    scale = decode_scale("fb", spec.layers[-1])
    want = [int(np.argmax(scale * raw.window_sums[-1]["i_fb"][spec.readout_window])) for raw in em.raw]
    assert out["predictions"] == want
    assert len(out["_spikes"]) == 5
    for got, raw in zip(out["_spikes"], em.raw):
        for k in range(len(spec.layers)):
            np.testing.assert_array_equal(got.spike_i[k], raw.spike_i[k])
            np.testing.assert_array_equal(got.spike_step[k], raw.spike_step[k])
    np.testing.assert_allclose(out["spikes_per_layer"], [s.sum() / 5 for s in em.spikes])


def test_benchmark_comparison_says_identical_or_different(bench, tmp_path, capsys):
    """_compare_peer on spike files in the workers' format: identical files say so; one spike moved by a step in (c)'s
    file makes (f) vs (c) DIFFERENT while (f) vs (a) stays identical; predictions counted on the samples both ran,
    and the time ratio at equal batch printed with who is faster."""
    trains = {"s0_l0_i": np.array([1, 0, 2]), "s0_l0_step": np.array([3, 4, 4]), "s1_l0_i": np.array([0]),
              "s1_l0_step": np.array([9])}
    files = {}
    for w, change in (("a", False), ("c", True), ("f", False)):
        arrays = dict(trains)
        if change:
            arrays["s1_l0_step"] = np.array([10])
        files[w] = str(tmp_path / f"{w}.npz")
        np.savez(files[w], **arrays)
    results = {"a": {"spikes_file": files["a"], "predictions": [3], "per_sample_s": 2.0},
               "c": {"spikes_file": files["c"], "predictions": [3, 5, 1], "per_sample_s": 0.03, "batch": 32},
               "f": {"spikes_file": files["f"], "predictions": [3, 5, 2, 7], "per_sample_s": 0.12, "batch": 32}}
    out = bench._compare_peer(results)
    printed = capsys.readouterr().out
    assert out["f_vs_a_identical_spikes"] is True and out["f_vs_c_identical_spikes"] is False
    assert out["f_c_same_predictions"] == [2, 3] and out["f_a_same_predictions"] == [1, 1]
    assert out["f_over_c_same_batch"] == pytest.approx(4.0)
    assert "spikes of (f) vs (c) on 2 samples: DIFFERENT" in printed and "(c) is faster" in printed
    json.dumps(out)  # goes into the JSON record
    results["f"]["per_sample_s"] = 0.01
    assert bench._compare_peer(results)["f_over_c_same_batch"] < 1
    assert "(f), the torch peer, is FASTER" in capsys.readouterr().out


def test_results_page_shows_the_peer(tmp_path):
    """scripts/results_page.py puts (f) in the throughput table and its comparisons under it; a record without (f)
    (every committed one so far) shows none of it."""
    scripts = str(Path(__file__).resolve().parents[1] / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    page = importlib.import_module("results_page")
    row = {"samples": 64, "per_sample_s": 0.12, "cold_first_s": 3.0, "ratio_to_a": None, "peak_rss_mb": 300.0,
           "peak_rss_children_mb": 0.0}
    rec = {"command": "python benchmarks/snn_throughput.py --targets c,f --samples 64", "machine": {},
           "args": {"mode": "loihi", "batch": 32, "sampling": "readout", "threads": 0},
           "shd": {"c": dict(row, per_sample_s=0.03), "f": dict(row, batch=32, per_sample_by_batch_s={"32": 0.12}),
                   "f_vs_c_identical_spikes": True, "f_c_same_predictions": [64, 64], "f_a_same_predictions": [2, 3],
                   "f_over_c_same_batch": 4.0}}
    path = tmp_path / "snn_throughput-20261206-140000.json"
    text = "\n".join(page.throughput_section(path, rec))
    assert f"| {page.TARGETS['f']} | 64 | 120.0 ms | 8.33 | 3.0 s | — | 300 / 0 MB |" in text
    assert "spikes of (f) and (c) on the samples both ran: identical" in text
    assert "predictions of (f) and (c): the same on 64 of 64 samples" in text
    assert "predictions of (f) and (a): the same on 2 of 3 samples" in text
    assert "(f) per sample over (c) per sample at batch 32: 4.00 (per sample at batch 32: 120.0 ms)" in text
    for key in ("f", "f_vs_c_identical_spikes", "f_c_same_predictions", "f_a_same_predictions", "f_over_c_same_batch"):
        del rec["shd"][key]
    assert "(f)" not in "\n".join(page.throughput_section(path, rec))
