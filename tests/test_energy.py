"""Operation counts and energy estimates (lprnn_brian.analysis.energy).

Oracles:

* synaptic events and active compartments of a simulated network, counted a second way: from the Brian2
  ``Synapses`` objects that carried the spikes (their i/j arrays), by a plain per-spike loop;
* a hand-made two-layer result whose counts are worked out by hand in the test;
* the published 2019 Cortex-M4 back-of-envelope (``manuvn/sigma-delta-neural-networks`` ``Cortex.md``), within
  the rounding of its published values;
* the Loihi formula evaluated by hand with the Davies et al. 2018 constants typed in from
  docs/method.md#energy-per-operation.

Counts are integers, so they are compared exactly; energies are sums of a few products, compared to 1e-12
relative (float rounding).
"""
from __future__ import annotations

import gc
import json

import numpy as np
import pytest

from lprnn_brian.analysis.energy import (CORTEX_M4_2019, DAVIES_2018, count_operations, cortex_m4_estimate,
                                         energy_markdown, energy_report, loihi_estimate, mcu_operations)
from lprnn_brian.convert import LayerParams, SNNSpec, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.simulation import SimulationResult, simulate
from lprnn_brian.targets import Runner


# --- a simulated network, counted from its Brian2 synapses ----------------------------------------------
@pytest.fixture(scope="module")
def simulated(small_model):
    """The small lpff → lprnn → dense network (float mode), 2 samples on the numpy target, and the per-layer
    out-degree of every neuron read from the Brian2 Synapses that carried its spikes."""
    from brian2 import prefs, set_device

    set_device("runtime")
    old = prefs.codegen.target
    spec = to_snn_spec(small_model, mode="float")
    x = np.random.default_rng(7).normal(0.0, 2.0, size=(2, small_model.n_frames, small_model.n_inputs))
    try:
        with Runner(spec, "numpy") as runner:
            result = simulate(spec, x, runner=runner)
            degree = {s.name: np.bincount(np.asarray(s.i[:]), minlength=s.source.N) for s in runner.bn.synapses}
            targets = {s.name: (np.asarray(s.i[:]), np.asarray(s.j[:])) for s in runner.bn.synapses}
    finally:
        prefs.codegen.target = old
    assert all(len(ev) > 0 for ev in result.spikes), "every layer must spike for the test to mean anything"
    return spec, result, degree, targets


def test_synaptic_events_equal_spikes_times_brian2_synapse_out_degree(simulated):
    """Oracle: Σ over spikes of (out-degree in the next layer's ff Synapses + out-degree in the own rec
    Synapses + 1 self-feedback), with the degrees read from the Brian2 objects' i arrays."""
    spec, result, degree, _ = simulated
    counts = count_operations(result)
    names = [L.name for L in spec.layers]
    for k, name in enumerate(names):
        deg = np.ones(spec.layers[k].n, np.int64)  # the self-feedback synapse (applied in the reset)
        if k + 1 < len(names):
            deg += degree[f"{names[k + 1]}_ff"]
        if f"{name}_rec" in degree:
            deg += degree[f"{name}_rec"]
        for s in range(result.n_samples):
            ev = result.spikes[k][result.spikes[k][:, 0] == s]
            assert counts.synaptic_events[s, k] == deg[ev[:, 1]].sum()
            assert counts.spikes[s, k] == len(ev)


def test_active_input_compartments_equal_a_per_spike_loop_over_brian2_targets(simulated):
    """Oracle: a set of (post neuron, step) built by looping over every spike and its Brian2 synapse targets;
    active = that set's size (layer 0: every input compartment every step) + spikes (soma)."""
    spec, result, _, targets = simulated
    counts = count_operations(result)
    names = [L.name for L in spec.layers]
    for s in range(result.n_samples):
        for k, L in enumerate(spec.layers):
            reached = set()
            for key, pre_layer in ((f"{names[k]}_ff", k - 1), (f"{names[k]}_rec", k)):
                if key not in targets:
                    continue
                i, j = targets[key]
                for _, pre, step in result.spikes[pre_layer][result.spikes[pre_layer][:, 0] == s]:
                    reached.update((int(post), int(step)) for post in j[i == pre])
            n_input = L.n * spec.n_steps if k == 0 else len(reached)
            n_soma = int(np.sum(result.spikes[k][:, 0] == s))
            assert counts.active_updates[s, k] == n_input + n_soma
            assert counts.compartment_updates[s, k] == 2 * L.n * spec.n_steps


def test_dense_counts_equal_brian2_all_to_all_synapses(simulated, numpy_runtime):
    """Oracle: out-degrees of build_network(zero_weight_synapses=True), Brian2's full all-to-all Synapses."""
    from brian2.utils.logger import catch_logs

    from lprnn_brian.network import build_network

    spec, result, _, _ = simulated
    with catch_logs():  # the network is built to read its synapses, never run: silence Brian2's warning
        bn = build_network(spec, record=(), zero_weight_synapses=True, name_prefix="dense_")
        degree = {s.name: np.bincount(np.asarray(s.i[:]), minlength=s.source.N) for s in bn.synapses}
        del bn
        gc.collect()  # the objects go now, inside catch_logs, not at some later collection
    counts = count_operations(result, dense=True)
    # the small model has zero weights, so all-to-all counting must give more events than non-zero counting
    assert np.all(counts.synaptic_events[:, :-1] > count_operations(result).synaptic_events[:, :-1])
    names = [L.name for L in spec.layers]
    for k in range(len(names)):
        deg = 1 + sum(degree.get(f"dense_{n}", 0) for n in ([f"{names[k + 1]}_ff"] if k + 1 < len(names) else [])
                      + [f"{names[k]}_rec"])
        deg = np.broadcast_to(deg, (spec.layers[k].n,))
        expected = [deg[result.spikes[k][result.spikes[k][:, 0] == s][:, 1]].sum() for s in range(result.n_samples)]
        np.testing.assert_array_equal(counts.synaptic_events[:, k], expected)


# --- a hand-made result -----------------------------------------------------------------------------------
def _layer(name, kind, n, W, U=None):
    return LayerParams(name=name, kind=kind, n=n, tau_I=64.0, tau_U=64.0, tau_V=64.0, tau_S=64.0, factor=1.0,
                       Iin_snn=6.0, kick=6.0 / 64, W_snn=np.asarray(W, float), b_tilde=np.zeros(n),
                       U_snn=None if U is None else np.asarray(U, float), W_ann=np.asarray(W, float))


def _hand_result(spikes=None) -> SimulationResult:
    """Layer A (lprnn, 2 neurons; U[post 1, pre 0] = 2, the rest 0) → layer B (dense, 3 neurons;
    W = [[1, 0], [1, 0], [0, 1]]). 4 steps, 2 samples; sample 0 spikes A: (n0, step 1), (n1, step 1),
    (n0, step 3); B: (n2, step 2); sample 1 is silent."""
    A = _layer("A", "lprnn", 2, np.ones((2, 3)), U=[[0, 0], [2, 0]])
    B = _layer("B", "dense", 3, [[1, 0], [1, 0], [0, 1]])
    spec = SNNSpec(layers=[A, B], mode="float", dt=1e-3, frame_dt=4e-3, n_frames=1, n_steps=4, Iin=6.0,
                   readout_window="all")
    if spikes is None:
        spikes = [np.array([[0, 0, 1], [0, 1, 1], [0, 0, 3]], np.int32), np.array([[0, 2, 2]], np.int32)]
    return SimulationResult(spec, "numpy", ["A", "B"], spikes, {}, {}, n_samples=2)


def test_hand_made_result_counts():
    """By hand. Fan-out A: n0 = 2 ff + 1 rec + 1 self = 4, n1 = 1 + 0 + 1 = 2; B: 1 (self) → events A 4+2+4 = 10,
    B 1. Compartment updates 2·n·4: A 16, B 24. Active A: 2 input compartments × 4 steps (injected drive) + 3
    spikes = 11; B: inputs reached at step 1 {0, 1, 2}, at step 3 {0, 1} = 5, + 1 spike = 6. Events arriving
    per step: A [0, 3, 0, 2] (rec + self), B [0, 3, 1, 2]. Dense: A fan-out 3 + 2 + 1 = 6 → 18."""
    c = count_operations(_hand_result())
    np.testing.assert_array_equal(c.spikes, [[3, 1], [0, 0]])
    np.testing.assert_array_equal(c.synaptic_events, [[10, 1], [0, 0]])
    np.testing.assert_array_equal(c.compartment_updates, [[16, 24], [16, 24]])
    np.testing.assert_array_equal(c.active_updates, [[11, 6], [8, 0]])
    np.testing.assert_array_equal(c.inactive_updates, [[5, 18], [8, 24]])
    np.testing.assert_array_equal(c.received_per_step[0], [[0, 3, 0, 2], [0, 3, 1, 2]])
    np.testing.assert_array_equal(c.input_injections, [8, 8])
    m = c.means()
    assert m["total"]["synaptic_events"] == 5.5 and m["layers"][1]["active_updates"] == 3.0
    d = count_operations(_hand_result(), dense=True)
    np.testing.assert_array_equal(d.synaptic_events, [[18, 1], [0, 0]])
    np.testing.assert_array_equal(d.active_updates[0], [11, 3 + 3 + 1])  # all 3 B inputs at steps 1 and 3


def test_loihi_energy_equals_hand_computation_with_davies_constants():
    """E per sample = N_syn·23.6 pJ + N_act·81 pJ + N_inact·52 pJ + N_msg·1.7 pJ (docs/method.md#energy-per-operation).
    Sample 0: N_syn 11, N_act 17, N_inact 23, messages: 3 A spikes × (1 own core, recurrent + 1 core of B) + 1 B spike ×
    1 (self) = 7. Sample 1: N_act 8, N_inact 32. Time, sample 0: Σ_steps max(A load, B load)·3.5 ns =
    (3 + 1 + 2)·3.5 ns = 21 ns; sample 1: 0."""
    est = loihi_estimate(count_operations(_hand_result()))
    e0 = 11 * 23.6e-12 + 17 * 81e-12 + 23 * 52e-12 + 7 * 1.7e-12
    e1 = 8 * 81e-12 + 32 * 52e-12
    np.testing.assert_allclose(est.per_sample_j, [e0, e1], rtol=1e-12)
    np.testing.assert_allclose(est.energy_j, [(e0 + e1) / 2] * 2, rtol=1e-12)
    np.testing.assert_allclose(est.time_s, (21e-9 + 0.0) / 2, rtol=1e-12)
    assert est.inputs["cores"] == [1, 1] and est.inputs["N_msg"] == 3.5
    assert DAVIES_2018.describe()["e_synop"]["source"].startswith("Davies et al. 2018, IEEE Micro 38(1):82")


def test_loihi_time_uses_the_most_loaded_core_of_a_multi_core_layer():
    """A 600-neuron layer has 1,200 compartments → ⌈1200/1024⌉ = 2 cores; its events are split evenly.
    One spike of a neuron with fan-out 600 (recurrent to all, zero-free) + self: 601 events into 2 cores →
    300.5·3.5 ns; messages: 2 own cores (recurrent)."""
    n = 600
    A = _layer("A", "lprnn", n, np.ones((n, 3)), U=np.ones((n, n)))
    spec = SNNSpec(layers=[A], mode="float", dt=1e-3, frame_dt=2e-3, n_frames=1, n_steps=2, Iin=6.0,
                   readout_window="all")
    r = SimulationResult(spec, "numpy", ["A"], [np.array([[0, 5, 1]], np.int32)], {}, {}, n_samples=1)
    est = loihi_estimate(count_operations(r))
    assert est.inputs["cores"] == [2] and est.inputs["N_msg"] == 2.0
    np.testing.assert_allclose(est.time_s, 601 / 2 * 3.5e-9, rtol=1e-12)


# --- Cortex-M4: the published 2019 numbers ---------------------------------------------------------------
def test_cortex_m4_reproduces_the_2019_back_of_envelope():
    """50-node RNN (1 input, 50 recurrent, 1 output: 50 + 2,500 + 50 = 2,600 dense weights) at 30 updates/s,
    no filter ops (Cortex.md counts only the products). Published: 78,000 words/s (exact); ≈ 2.1 M clocks/s
    (±0.05 M, the rounding of "2.1"; its own sum 30·(2602·26 + 2549) = 2,106,030); ≈ 20 µW compute (one
    significant digit: ±5 µW); 15–60 µW memory (15 ± 0.5, 60 ± 5: 2 and 1 significant digits); 35–80 µW total
    (the sums, tolerance the sum of the parts' tolerances). Multiplies and adds: "roughly 2,552 + 2,500"
    (±2.5 %, the rounding of the clock figure they produce)."""
    ops = mcu_operations([np.ones((50, 1)), np.ones((50, 50)), np.ones((1, 50))], dense=True)
    assert (ops.multiplies, ops.adds, ops.weight_words) == (2600, 2600, 2600)
    assert abs(ops.multiplies - 2552) / 2552 < 0.025 and abs(ops.adds - 2500) / 2500 < 0.05
    est = cortex_m4_estimate(ops, n_updates=30, update_rate_hz=30.0)  # 1 s of updates: energy = power
    p = est.inputs["power_w"]
    assert ops.weight_words * 30 == 78_000
    assert abs(est.inputs["clocks_per_s"] - 2.1e6) <= 0.05e6
    assert abs(p["compute"] - 20e-6) <= 5e-6
    assert abs(p["memory"][0] - 15e-6) <= 0.5e-6 and abs(p["memory"][1] - 60e-6) <= 5e-6
    assert abs(est.energy_j[0] - 35e-6) <= 5.5e-6 and abs(est.energy_j[1] - 80e-6) <= 10e-6
    # the memory range is exactly 78,000 words × 32 bit (16-bit words read and written back) × 6–25 pJ/bit
    np.testing.assert_allclose(p["memory"], [78_000 * 32 * 6e-12, 78_000 * 32 * 25e-12], rtol=1e-12)
    # the published clock sum itself, through the same clock formula
    from lprnn_brian.analysis.energy import McuOperations

    assert 30 * McuOperations(2602, 2549, 2600).clocks(CORTEX_M4_2019) == 2_106_030


def test_cortex_m4_counts_nonzero_weights_and_filter_ops():
    """Sparse option: only non-zero weights; filter: 2 multiplies and 3 add-class ops per filtered neuron."""
    W = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    ops = mcu_operations([W], dense=False, filtered_neurons=3)
    assert (ops.multiplies, ops.adds, ops.weight_words) == (2 + 6, 2 + 9, 2)
    est = cortex_m4_estimate(ops, n_updates=10)
    clocks = 8 * 26 + 11 * 1
    np.testing.assert_allclose(est.energy_j, [10 * (clocks * 10e-12 + 2 * 16 * 2 * e) for e in (6e-12, 25e-12)],
                               rtol=1e-12)


# --- report and bad input -----------------------------------------------------------------------------
def test_energy_report_is_json_ready_and_its_ratio_divides_the_two_estimates():
    r = _hand_result()
    rep = energy_report(r)
    json.dumps(rep, allow_nan=False)
    lo, hi = (rep["cortex_m4"]["energy_per_inference_j"][k] for k in ("low", "high"))
    np.testing.assert_allclose([rep["ratio"]["cortex_m4_over_loihi"]["low"], rep["ratio"]["cortex_m4_over_loihi"]["high"]],
                               [lo / rep["loihi"]["energy_per_inference_j"], hi / rep["loihi"]["energy_per_inference_j"]],
                               rtol=1e-12)
    # the hand-made net on the MCU: W of A (2×3) and B (3×2) and U of A (2×2), dense; 2 filtered A neurons
    assert rep["cortex_m4"]["inputs"]["N_mul"] == 6 + 6 + 4 + 2 * 2
    md = energy_markdown(rep)
    assert "E = N_syn·E_syn" in md and "Davies et al. 2018" in md and "Cortex.md" in md


@pytest.mark.parametrize("spikes, match", [
    ([np.array([[0, 0, 1]], np.int32)], "spikes of 1 layers"),
    ([np.array([[0, 0, 1]], np.int32), None], "no spikes for layer B"),
    ([np.array([[0, 2, 1]], np.int32), np.zeros((0, 3), np.int32)], "neuron index"),
    ([np.array([[0, 0, 4]], np.int32), np.zeros((0, 3), np.int32)], "step index"),
    ([np.array([[0, 0]], np.int32), np.zeros((0, 3), np.int32)], r"\(n_spikes, 3\)"),
])
def test_bad_spikes_are_refused_with_a_user_error(spikes, match):
    with pytest.raises(UserInputError, match=match):
        count_operations(_hand_result(spikes))
