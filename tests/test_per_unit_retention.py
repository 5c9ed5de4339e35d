"""Per-unit retention (the 2019 lpRNN cell, docs/method.md#the-2019-lprnn-cell) through the model, its file, both
forwards, the ANN → SNN mapping (convert.py docstring) and the ΣΔ network.

Oracles: a hand-written per-unit loop of docs/method.md#layers-and-time-constant, docs/method.md#two-clamp-conventions;
the formulas of the per-unit mapping typed out here (τ_i = −Δt_A/ln a_i, τ_I,i = τ_i/Δt_S, τ_S = min_i, W_snn rows ∝
1/τ_I,i, b̃_i = f b_i/τ_I,i, 12-bit snapping in Loihi mode); the shared-retention mapping (a vector of equal retentions
must give exactly the spec of the scalar retention); and the tracking bound of
docs/method.md#why-the-spikes-reproduce-the-rate-network (ripple ≈ Iin/τ_S) for the SNN.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel, forward, load_model, save_model
from lprnn_brian.convert import SNNSpec, layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError

A = np.array([0.1, 0.35, 0.6, 0.8, 0.9, 0.97], np.float32)


def _model(retention=A, n_frames=12, frame_dt=1 / 50, seed=0) -> LpRNNModel:
    """lprnn 3 → 6 units (per-unit retention) → dense 2; weights on the 1/8 grid."""
    rng = np.random.default_rng(seed)
    n = 6

    def codes(shape):
        return (rng.integers(-4, 4, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lprnn_1", "lprnn", codes((n, 3)), codes(n), U=codes((n, n)), retention=retention),
                       Layer("output", "dense", codes((2, n)), codes(2))], n_frames=n_frames, frame_dt=frame_dt)


def _loop(model: LpRNNModel, x: np.ndarray, clamp: str) -> np.ndarray:
    """docs/method.md#layers-and-time-constant, docs/method.md#two-clamp-conventions per sample, frame and unit, in
    float64 (h: clamp_then_filter; ĥ: filter_then_clamp)."""
    q = model.quantised()
    L, out = q.layers
    a = L.retention.astype(np.float64)
    res = np.zeros((x.shape[0], x.shape[1], L.n_out))
    for s in range(x.shape[0]):
        h = np.zeros(L.n_out)
        for t in range(x.shape[1]):
            fed = h if clamp == "clamp_then_filter" else np.minimum(h, model.Iin)
            z = L.W.astype(np.float64) @ x[s, t] + L.b + L.U.astype(np.float64) @ fed
            for i in range(L.n_out):
                if clamp == "clamp_then_filter":
                    h[i] = a[i] * h[i] + (1 - a[i]) * min(max(z[i], 0.0), model.Iin)
                else:
                    h[i] = max(0.0, a[i] * h[i] + (1 - a[i]) * z[i])
            res[s, t] = h if clamp == "clamp_then_filter" else np.minimum(h, model.Iin)
    return res


@pytest.mark.parametrize("clamp", ["clamp_then_filter", "filter_then_clamp"])
def test_forward_applies_each_units_retention(clamp):
    """numpy forward = the per-unit loop (float32 against float64: 1e-5 at states ≤ Iin = 6)."""
    m = _model()
    x = np.random.default_rng(1).normal(1.0, 2.0, size=(4, m.n_frames, 3)).astype(np.float32)
    got = forward(m, x, clamp=clamp).states[0]
    np.testing.assert_allclose(got, _loop(m, x, clamp), atol=1e-5, rtol=0)


def test_per_unit_equal_values_equal_scalar_forward():
    """A vector of equal retentions computes exactly (bit for bit) what the scalar retention computes."""
    x = np.random.default_rng(2).normal(1.0, 2.0, size=(3, 12, 3)).astype(np.float32)
    vec, sca = _model(np.full(6, 0.8, np.float32)), _model(0.8)
    assert np.array_equal(forward(vec, x).output, forward(sca, x).output)


@pytest.mark.parametrize("bad, msg", [
    (np.full(5, 0.5, np.float32), r"shape \(6,\)"),
    (np.array([0.5] * 5 + [1.0], np.float32), r"in \[0, 1\)"),
    (np.array([0.5] * 5 + [np.nan], np.float32), r"in \[0, 1\)"),
    (np.array([0.5] * 5 + [-0.1], np.float32), r"in \[0, 1\)"),
])
def test_bad_per_unit_retention_is_refused(bad, msg):
    with pytest.raises(UserInputError, match=msg):
        _model(bad).validate()


def test_model_file_round_trip_with_vector_retention(tmp_path):
    """The vector is stored as '<layer>/retention' (float32), the layer metadata says 'per_unit', the file is
    format version 2, and loading gives the same model bit for bit; scalar models stay version 1."""
    m = _model()
    p = save_model(m, tmp_path / "m.npz")
    back = load_model(p)
    assert back.equals(m) and back.layers[0].per_unit_retention
    assert back.layers[0].retention.tobytes() == A.tobytes()
    with np.load(p) as z:
        meta = json.loads(str(z["meta"]))
        assert z["lprnn_1/retention"].dtype == np.float32
    assert meta["format_version"] == 2 and meta["layers"][0]["retention"] == "per_unit"
    other = _model()
    other.layers[0].retention = A[::-1].copy()
    assert not back.equals(other)
    with np.load(save_model(_model(0.8), tmp_path / "s.npz")) as z:
        assert json.loads(str(z["meta"]))["format_version"] == 1


def test_model_file_without_retention_array_is_refused(tmp_path):
    p = save_model(_model(), tmp_path / "m.npz")
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files if k != "lprnn_1/retention"}
    with open(tmp_path / "bad.npz", "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(UserInputError, match="retention' is missing"):
        load_model(tmp_path / "bad.npz")


def test_torch_model_uses_and_keeps_per_unit_retention():
    """TorchLpRNN.from_model → to_model keeps the vector; its forward equals the numpy forward (float32 matrix
    products in another order: 1e-5)."""
    torch = pytest.importorskip("torch")
    from lprnn_brian.ann.torch_model import TorchLpRNN

    m = _model()
    net = TorchLpRNN.from_model(m)
    np.testing.assert_array_equal(net.rnn_layers[0].retention.numpy(), A)
    assert net.to_model().equals(m)
    x = np.random.default_rng(3).normal(1.0, 2.0, size=(4, m.n_frames, 3)).astype(np.float32)
    with torch.no_grad():
        o = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(o, forward(m, x).output, atol=1e-5, rtol=0)
    with pytest.raises(UserInputError, match="per-unit retention"):
        TorchLpRNN(3, None, [6], 2, retention=[np.full(5, 0.5)])


# --- conversion ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_per_unit_mapping_formulas(mode):
    """The per-unit mapping of convert.py, re-derived: τ_i = −Δt_A/ln a_i; Δt_S from the fastest unit so that
    τ_S = 4096/d (d = 64 for w_min = 1/8); τ_I,i = τ_i/Δt_S (loihi: 4096/max(1, round(4096 Δt_S/τ_i)));
    τ_U = τ_S; the default threshold policy's comparator (one per layer: τ_V = 1, kick (1 − 1/τ_S)·Iin_snn/τ_S,
    loihi: the rounded kick it records; threshold 'zero': τ_V,i = τ_I,i, kick Iin_snn/τ_S); U_snn = U·Iin_snn/(64 τ_I,i τ_U) by rows (float mode; loihi rounds it);
    b̃_i = f b_i/τ_I,i; the read-out keeps τ_I = 1 and decodes with τ_U = τ_S; the reported per-frame retention
    error is max|(1 − 1/τ_I,i)^M − a_i|. Float64 rounding: 1e-12 relative."""
    m = _model()
    spec = to_snn_spec(m, mode=mode)
    L, out = spec.layers
    tau = -m.frame_dt / np.log(A.astype(np.float64))
    assert spec.dt == pytest.approx(64 * tau.min() / 4096, rel=1e-12)
    assert L.tau_S == out.tau_S == L.tau_U == out.tau_U == pytest.approx(64.0, rel=1e-12)
    want = tau / spec.dt
    if mode == "loihi":
        want = 4096 / np.maximum(1, np.round(4096 / want))
    np.testing.assert_allclose(L.tau_I, want, rtol=1e-12)
    assert L.tau_V == 1.0 and out.tau_I == 1.0
    ideal = (1 - 1 / L.tau_S) * L.Iin_snn / L.tau_S
    assert L.kick == pytest.approx(ideal, rel=1e-15, abs=L.quantisation.get("kick", {}).get("max_abs_error", 0.0))
    zero = to_snn_spec(m, mode=mode, threshold="zero").layers[0]
    assert zero.tau_V is zero.tau_I and zero.kick == pytest.approx(L.Iin_snn / L.tau_S, rel=1e-15)
    q = m.quantised()
    exact = q.layers[0].U.astype(np.float64) * L.Iin_snn / (64 * want[:, None] * L.tau_U)
    if mode == "float":
        np.testing.assert_allclose(L.U_snn, exact, rtol=1e-12)
        np.testing.assert_allclose(L.b_tilde, L.factor * q.layers[0].b.astype(np.float64) / want, rtol=1e-12)
    else:
        qd = L.quantisation["U"]
        assert np.max(np.abs(L.U_snn - exact)) == pytest.approx(qd["max_abs_error"], rel=1e-12)
        assert len(qd["row_rel_error"]) == 6 and qd["row_max_rel_error"] == max(qd["row_rel_error"])
    M = spec.frame_dt / spec.dt
    assert L.retention["max_abs_error"] == pytest.approx(np.max(np.abs((1 - 1 / want) ** M - A)), rel=1e-9)
    assert (L.retention["min"], L.retention["max"]) == (float(A.min()), float(A.max()))


def test_equal_per_unit_retentions_give_the_scalar_mapping():
    """Reduction: one retention written as a vector of equal values gives exactly the spec of the scalar
    retention (0.75 is exact in float32 and float64), in both modes: every array, τ and factor."""
    for mode in ("float", "loihi"):
        a = to_snn_spec(_model(np.full(6, 0.75, np.float32)), mode=mode)
        b = to_snn_spec(_model(0.75), mode=mode)
        assert a.summary() == b.summary() and a.digest() == b.digest()
        assert not any(L.per_unit for L in a.layers)


def test_layer0_drive_scales_by_tau_U_over_tau_I():
    """Layer 0 integrates X/τ_U with its own τ_I,i, so X_i carries τ_U/τ_I,i: i_ip,i settles at f0 (W0 x)_i."""
    m = _model()
    spec = to_snn_spec(m, mode="float")
    L = spec.layers[0]
    x = np.random.default_rng(4).normal(size=(m.n_frames, 3))
    idx = np.floor(np.arange(spec.n_steps) / spec.steps_per_frame).astype(int)
    plain = L.factor * (x[idx] @ m.quantised().layers[0].W.astype(np.float64).T)
    np.testing.assert_allclose(layer0_drive(x, spec), plain * L.tau_U / L.tau_I, rtol=1e-12)


def test_spec_arrays_round_trip_per_unit_time_constants():
    spec = to_snn_spec(_model(), mode="loihi")
    summary, arrays = spec.to_arrays()
    json.dumps(summary)  # JSON-serialisable
    assert summary["layers"][0]["tau_I"]["per_unit"] is True
    back = SNNSpec.from_arrays(summary, arrays)
    np.testing.assert_array_equal(back.layers[0].tau_I, spec.layers[0].tau_I)
    np.testing.assert_array_equal(back.layers[0].tau_V, spec.layers[0].tau_V)
    assert back.digest() == spec.digest()
    other = to_snn_spec(_model(np.where(A == A.max(), 0.98, A).astype(np.float32)), mode="loihi")
    assert other.digest() != spec.digest()  # the per-neuron τ are part of the build hash


def test_loihi_caps_slow_units_and_reports_the_error():
    """Loihi decays are 12-bit: τ_I ≤ 4096 steps, so a = 0.999 (τ ≈ 147,000 steps here) keeps only
    (1 − 1/4096)^M per frame; the reported error is that difference (derived). Float mode keeps only the Euler
    error, (1 − 1/τ)^(τ ln(1/a)) ≈ a·(1 − ln(1/a)/(2τ)), at most 1/(2e·τ_S) for τ ≥ τ_S (derived)."""
    m = _model(np.array([0.1, 0.5, 0.8, 0.9, 0.99, 0.999], np.float32))
    spec = to_snn_spec(m, mode="loihi")
    L = spec.layers[0]
    assert L.tau_I.max() == 4096.0
    M = spec.steps_per_frame
    assert L.retention["max_abs_error"] == pytest.approx(0.999 - (1 - 1 / 4096) ** M, rel=1e-6)
    assert to_snn_spec(m, mode="float").layers[0].retention["max_abs_error"] < 1 / (2 * math.e * L.tau_S)


def test_zero_retention_is_refused_by_the_conversion():
    with pytest.raises(UserInputError, match="retention of 0"):
        to_snn_spec(_model(np.array([0.0, 0.5, 0.6, 0.7, 0.8, 0.9], np.float32)))


# --- the ΣΔ network ----------------------------------------------------------------------------------------

def _tracking_model() -> LpRNNModel:
    """lpRNN 2 → 6 with a from 0.1 to 0.97, nonnegative weights and bias so that z ∈ (0, Iin): both clamp
    conventions agree and every unit's state moves with the (slow) drive."""
    rng = np.random.default_rng(7)
    n = len(A)
    W = (rng.integers(1, 5, size=(n, 2)) / 8).astype(np.float32)
    U = (rng.integers(0, 2, size=(n, n)) / 8).astype(np.float32)
    np.fill_diagonal(U, 0)
    return LpRNNModel([Layer("lprnn_1", "lprnn", W, np.full(n, 0.125, np.float32), U=U, retention=A),
                       Layer("output", "dense", np.full((1, n), 0.125, np.float32), np.zeros(1, np.float32))],
                      n_frames=40, frame_dt=1 / 50)


@pytest.fixture(scope="module")
def tracking(build_root):
    """ANN (filter_then_clamp) states and SNN fb decodes at frame ends, float and loihi, numpy target."""
    from lprnn_brian.simulation import simulate

    m = _tracking_model()
    t = np.arange(m.n_frames)
    x = np.stack([2 + 1.5 * np.sin(2 * np.pi * t / 30), 2.5 + np.cos(2 * np.pi * t / 17)], -1)[None]
    x = x.astype(np.float32)
    ann = forward(m, x, clamp="filter_then_clamp").states[0][0]
    out = {}
    for mode in ("float", "loihi"):
        spec = to_snn_spec(m, mode=mode)
        res = simulate(spec, x, target="numpy", record=("i_fb",))
        out[mode] = (spec, res.frame_decodes["fb"][0][0])
    return ann, out


def test_per_unit_snn_tracks_every_units_state_float(tracking):
    """Float mode: after 3 frames of settling, every unit's fb decode follows its own ANN state: correlation
    > 0.99, and |error| ≤ 2·Iin/τ_S (docs/method.md#why-the-spikes-reproduce-the-rate-network: ripple about one kick
    Iin/τ_S = 0.094; the second kick covers the Euler error of the filter, (1 − 1/τ_I)^M vs a, ≤ 0.2 % here, and a step
    of latency)."""
    ann, out = tracking
    spec, fb = out["float"]
    L = spec.layers[0]
    bound = 2 * spec.Iin / L.tau_S
    for i in range(len(A)):
        h, d = ann[3:, i], fb[3:, i]
        assert np.std(h) > 0.05, "test drive must move every unit"
        assert np.corrcoef(h, d)[0, 1] > 0.99, f"unit {i} (a = {A[i]})"
        assert np.max(np.abs(h - d)) <= bound, f"unit {i} (a = {A[i]}): {np.max(np.abs(h - d)):.3f} > {bound:.3f}"


def test_per_unit_snn_tracks_in_loihi_mode(tracking):
    """Loihi mode adds 12-bit decays (a = 0.97 needs τ_I ≈ 4,840 steps and is capped at 4,096: retention error
    0.005 per frame), integer truncation and weight/bias rounding; correlation > 0.98 for every unit, mean
    |error| ≤ 2·Iin/τ_S."""
    ann, out = tracking
    spec, fb = out["loihi"]
    L = spec.layers[0]
    assert L.tau_I.max() == 4096 and L.retention["max_abs_error"] < 0.01
    for i in range(len(A)):
        h, d = ann[3:, i], fb[3:, i]
        assert np.corrcoef(h, d)[0, 1] > 0.98, f"unit {i} (a = {A[i]})"
        assert np.mean(np.abs(h - d)) <= 2 * spec.Iin / L.tau_S, f"unit {i}"
    assert math.isfinite(L.quantisation["U"]["row_max_rel_error"])


# --- sub-steps (the continuous-time limit the ΣΔ network integrates) ------------------------------------------

def _substep_loop(model: LpRNNModel, x: np.ndarray, K: int) -> np.ndarray:
    """K updates per frame, input held, retention a^(1/K) per update (filter_then_clamp), in float64."""
    q = model.quantised()
    L = q.layers[0]
    ak = L.retention.astype(np.float64) ** (1.0 / K)
    res = np.zeros((x.shape[0], x.shape[1], L.n_out))
    for s in range(x.shape[0]):
        h = np.zeros(L.n_out)
        for t in range(x.shape[1]):
            ff = L.W.astype(np.float64) @ x[s, t] + L.b
            for _ in range(K):
                h = np.maximum(0.0, ak * h + (1 - ak) * (ff + L.U.astype(np.float64) @ np.minimum(h, model.Iin)))
            res[s, t] = np.minimum(h, model.Iin)
    return res


def test_substeps_forward_and_torch_match_the_loop():
    """numpy and torch forwards with substeps = 4 equal the hand loop (1e-5, float32); substeps = 1 is the
    plain forward."""
    m = _model()
    m.substeps = 4
    x = np.random.default_rng(5).normal(1.0, 2.0, size=(3, m.n_frames, 3)).astype(np.float32)
    got = forward(m, x, clamp="filter_then_clamp").states[0]
    np.testing.assert_allclose(got, _substep_loop(m, x, 4), atol=1e-5, rtol=0)
    torch = pytest.importorskip("torch")
    from lprnn_brian.ann.torch_model import TorchLpRNN

    net = TorchLpRNN.from_model(m, clamp="filter_then_clamp")
    assert net.substeps == 4 and net.to_model().substeps == 4
    with torch.no_grad():
        _, states = net(torch.from_numpy(x), return_states=True)
    np.testing.assert_allclose(states[0].numpy(), got, atol=1e-5, rtol=0)


def test_substeps_approach_the_continuous_limit():
    """The state at frame ends converges as K grows (the exponential-Euler error is O(1/K)): the K = 64 and
    K = 256 states differ 4× less than K = 16 and K = 64 (derived from the first-order error, with margin)."""
    m = _tracking_model()
    x = np.random.default_rng(6).uniform(0, 3, size=(2, m.n_frames, 2)).astype(np.float32)

    def run(K):
        m.substeps = K
        return forward(m, x, clamp="filter_then_clamp").states[0].astype(np.float64)

    s16, s64, s256 = run(16), run(64), run(256)
    assert np.max(np.abs(s256 - s64)) < 0.5 * np.max(np.abs(s64 - s16))


def test_substeps_are_stored(tmp_path):
    m = _model(0.8)
    m.substeps = 8
    p = save_model(m, tmp_path / "k.npz")
    with np.load(p) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["substeps"] == 8 and meta["format_version"] == 2
    assert load_model(p).substeps == 8 and load_model(p).equals(m)
    m.substeps = 0
    with pytest.raises(UserInputError, match="substeps"):
        m.validate()
