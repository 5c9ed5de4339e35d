"""ANN → SNN parameter mapping (lprnn_brian.convert) against docs/method.md#parameter-mapping and
docs/method.md#loihi-integer-mode.

Oracles: the reproduced numbers of docs/method.md#reproduced-numbers, docs/method.md#weights-as-mantissa-and-exponent
and docs/method.md#decays-threshold-and-refractory-period (derived by hand there: 2^21/6, 8W, 512·W, 48·W, 862,208
synapses), each re-derived here from the formulas of docs/method.md#mapping-formulas in plain arithmetic; the
zero-order hold of docs/method.md#input-decoding-and-compartments written as an index formula. Tolerances: exact
where the method's arithmetic is exact in float64 (powers of two, integer weights), else float64 rounding (1e-15
relative) or the printed digits.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.convert import SNNSpec, find_params, layer0_drive, resample_input, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.equations.fixed_point import bias_mant_exp, weight_mant_exp
from conftest import per_unit_model, random_model

TAU = 0.035851360941796404  # τ(0.8, 1/125), docs/method.md#layers-and-time-constant


# --- find_params: the table of docs/method.md#reproduced-numbers -------------------------------------

@pytest.mark.parametrize(
    "w_min, d, wfb, tau_S, Iin_snn",
    [(1 / 8, 64, 512, 64, 2**21), (1 / 4, 32, 512, 128, 2**22), (1 / 16, 64, 1024, 64, 2**22)],
)
def test_find_params_reproduces_spec_table(w_min, d, wfb, tau_S, Iin_snn):
    """docs/method.md#reproduced-numbers: d, wfb, τ_S = 4096/d, Iin_snn = 64·wfb·τ_S (exact: powers of two),
    f = Iin_snn/6 (1e-15), Δt_S = d·τ/4096, and wsn = wfb·w_min/τ_S = 1 (exact)."""
    fc = find_params(TAU, 6.0, w_min)
    assert (fc.d, fc.wfb, fc.tau_S) == (d, wfb, tau_S)
    assert fc.f * 6 == pytest.approx(Iin_snn, rel=1e-15)
    assert fc.f == pytest.approx(Iin_snn / 6, rel=1e-15)
    assert 64 * fc.wfb * fc.tau_S == Iin_snn
    assert fc.dt == pytest.approx(d * TAU / 4096, rel=1e-15)
    assert fc.wfb * w_min / fc.tau_S == 1


def test_find_params_printed_factors():
    """The factors as docs/method.md#reproduced-numbers prints them: 349,525.33 (= 2^21/6), 699,050.67, float mode
    4,369,066.67."""
    assert round(find_params(TAU, 6.0, 1 / 8).f, 2) == 349525.33
    assert find_params(TAU, 6.0, 1 / 8).f == pytest.approx(2**21 / 6, rel=1e-15)
    assert round(find_params(TAU, 6.0, 1 / 4).f, 2) == 699050.67
    fl = find_params(TAU, 6.0, 1 / 8, mode="float")
    assert (fl.d, fl.wfb, fl.tau_S) == (1, 100, 4096)
    assert round(fl.f, 2) == 4369066.67
    assert fl.f * 6 == pytest.approx(26_214_400, rel=1e-15)


#: (tau_prev, Iin, w_min, dt, lp_net, mode) → (d, wfb, τ_S) or None (refused), each worked by hand from the rules of
#: docs/method.md#choosing-the-step-and-the-factors: with Δt_S given, τ_S = τ_prev/Δt_S, wfb runs 100…4095 (200…4095
#: without an lp layer), 1 ≤ f = 64·wfb·τ_S/Iin < 2^23/Iin, and wsn = wfb·w_min/τ_S (wfb·w_min without an lp layer)
#: must be an integer ≥ 1; free Δt_S = d·τ_prev/4096 with d 1…99 and f ≤ 2^23/(2 Iin) (⇔ wfb ≤ 16 d) in an lp network,
#: d 5…99, wfb 100…4047 and f < 2^23/Iin (⇔ wfb < 32 d) without.
SEARCH_CASES = {
    # Δt_S given (every layer after the first): τ_S = 64
    "given step, 1/8 grid: the SHD hidden layers' wfb": ((0.1, 6.0, 1 / 8, 0.1 / 64, True, "loihi"), (64, 512, 64)),
    "given step, the first wfb already integral": ((0.1, 6.0, 0.64, 0.1 / 64, True, "loihi"), (64, 100, 64)),
    "given step, no lp layer: wfb from 200": ((0.1, 6.0, 1 / 200, 0.1 / 64, False, "loihi"), (64, 200, 64)),
    "given step, only wfb = 4096 would do": ((0.1, 6.0, 1 / 2048, 0.1 / 2, True, "loihi"), None),
    "given step, no lp layer, only 4096 would do": ((0.1, 6.0, 1 / 4096, 0.1 / 2, False, "loihi"), None),
    # f = 64·2048·64/6 = 2^23/6 exactly at the only integral wfb: the bound is strict
    "given step, f exactly 2^23/Iin": ((0.1, 6.0, 1 / 32, 0.1 / 64, True, "loihi"), None),
    # τ_S = 1 and Iin = 6400: f(100) = 1 exactly, accepted; wsn = 100
    "given step, f exactly 1": ((0.1, 6400.0, 1.0, 0.1, True, "loihi"), (4096, 100, 1)),
    # τ_S = 1/1000 and Iin = 1000: f = 64·wfb/10^6 < 1 for every wfb: refused
    "given step, every f below 1": ((1e-3, 1000.0, 1.0, 1.0, True, "loihi"), None),
    # free step, lp network: d·wfb·w_min/4096 = 1 needs d·wfb = 160,000 with wfb ≤ 16 d, first at d = 100: refused
    "free step, would need d = 100": ((0.1, 6.0, 0.0256, None, True, "loihi"), None),
    # free step, no lp layer: d from 5
    "free step, no lp layer, w_min = 1": ((0.1, 6.0, 1.0, None, False, "loihi"), (5, 100, 4096 / 5)),
    "free step, no lp layer, 1/8 grid: wfb·w_min integral first at 104": ((0.1, 6.0, 1 / 8, None, False, "loihi"),
                                                                          (5, 104, 4096 / 5)),
    "free step, no lp layer, float mode": ((0.1, 6.0, 1 / 8, None, False, "float"), (5, 100, 4096 / 5)),
    # wfb = 3168 = 32·99 needs wfb < 32 d, first at d = 100: refused
    "free step, no lp layer, would need d = 100": ((0.1, 6.0, 1 / 3168, None, False, "loihi"), None),
}


def test_integrality_is_within_the_tolerance_inclusive_and_at_least_one():
    """The search's integer test: |x − round x| ≤ tol (inclusive: shown with binary fractions, where the distance
    is exact) and x ≥ 1 (a weight must become at least one integer step)."""
    from lprnn_brian.convert import _integral

    assert _integral(1.25, 0.25) and _integral(3.0, 0.0) and _integral(2.75, 0.25)
    assert not _integral(1.5, 0.25) and not _integral(0.75, 0.25) and not _integral(1.0 + 2**-10, 2**-11)


@pytest.mark.parametrize("case", sorted(SEARCH_CASES))
def test_find_params_search_bounds(case):
    (tau_prev, Iin, w_min, dt, lp_net, mode), want = SEARCH_CASES[case]
    if want is None:
        with pytest.raises(UserInputError, match="no SNN step and factor"):
            find_params(tau_prev, Iin, w_min, lp_net=lp_net, mode=mode, dt=dt)
        return
    fc = find_params(tau_prev, Iin, w_min, lp_net=lp_net, mode=mode, dt=dt)
    d, wfb, tau_S = want
    assert (fc.d, fc.wfb) == pytest.approx((d, wfb), rel=1e-12) and fc.tau_S == pytest.approx(tau_S, rel=1e-12)
    assert fc.f == pytest.approx(64 * wfb * tau_S / Iin, rel=1e-12)
    assert fc.dt == pytest.approx(dt if dt is not None else d * tau_prev / 4096, rel=1e-12)


def test_find_params_refuses_all_zero_layer():
    with pytest.raises(UserInputError, match="zero weights"):
        find_params(TAU, 6.0, 0.0)


# --- the authors' SHD checkpoint --------------------------------------------------------------------

@pytest.fixture(scope="module")
def shd_spec(shd_model):
    """The authors' neuron (threshold 0), whose registers the reference numbers describe."""
    return to_snn_spec(shd_model, mode="loihi", threshold="zero")


@pytest.fixture(scope="module")
def shd_spec_reference(shd_model):
    return to_snn_spec(shd_model, mode="loihi", factors="shd_reference", threshold="zero")


def test_shd_unbiased_comparator(shd_model, shd_spec):
    """The default policy 'unbiased' changes only the comparator: the same weights, biases, time constants and
    factors as the authors' neuron; kick (1 − 1/64)·2^21/64 = 32,256 and θ = 2^21/128 = 16,384 = 64·256 in
    every layer (hand-derived from the band's centre, tests/test_derive.py), τ_V = 1 (no margin carried
    over), exact Loihi values (no rounding recorded), and the fb decode scaled by 1/κ = 64/63."""
    spec = to_snn_spec(shd_model, mode="loihi")
    assert spec.threshold_policy == "unbiased" and shd_spec.threshold_policy == "zero"
    for L, Z in zip(spec.layers, shd_spec.layers):
        for a in ("W_snn", "U_snn", "b_tilde"):
            if getattr(L, a) is not None:
                np.testing.assert_array_equal(getattr(L, a), getattr(Z, a))
        assert (L.tau_I, L.tau_U, L.tau_S, L.factor) == (Z.tau_I, Z.tau_U, Z.tau_S, Z.factor)
        assert (Z.threshold, Z.tau_V) == (0.0, 64.0)
        if L.kind != "dense":
            assert (L.kick, L.threshold, L.tau_V) == (32256.0, 16384.0, 1.0)
            assert L.kick_gain == 63 / 64
        assert L.quantisation["kick"]["lossless"] and L.quantisation["threshold"]["lossless"]
        assert L.quantisation["mean_error"] == {"gain": 0.0, "offset_kicks": 0.0}


def test_shd_time_base(shd_spec):
    """Δt_S = τ/64 = 0.5601775147155688e-3 s (1e-15 absolute, i.e. float64 rounding), n_steps 1785, τ_S = 64 in
    every layer, τ_I = τ_S for lp layers and 1 for the read-out (docs/method.md#mapping-formulas,
    docs/method.md#reproduced-numbers)."""
    assert abs(shd_spec.dt - 0.5601775147155688e-3) <= 1e-15
    assert shd_spec.n_steps == 1785
    for L in shd_spec.layers:
        assert (L.tau_S, L.tau_U, L.tau_V) == (64.0, 64.0, 64.0)
        assert L.tau_I == (1.0 if L.kind == "dense" else 64.0)


def test_shd_lp_layers_weights_are_8W(shd_model, shd_spec):
    """Lp layers: W_snn = W·2^21/64³ = 8W and U_snn = 8U (exact: lossless mantissas); kick 2^21/64 = 32,768,
    w_fb = −512 (docs/method.md#reproduced-numbers, docs/method.md#weights-as-mantissa-and-exponent)."""
    q = shd_model.quantised()
    for L, Lq in zip(shd_spec.layers[1:3], q.layers[1:3]):
        np.testing.assert_array_equal(L.W_snn, 8.0 * Lq.W.astype(np.float64))
        np.testing.assert_array_equal(L.U_snn, 8.0 * Lq.U.astype(np.float64))
        assert set(np.unique(L.W_snn)) <= set(range(-4, 4))
    for L in shd_spec.layers[:3]:
        assert L.kick == 32768 and L.w_fb == -512 and L.Iin_snn == 2**21


def test_shd_mantissas_are_lossless_and_even(shd_model, shd_spec):
    """docs/method.md#weights-as-mantissa-and-exponent: lp-layer mantissas are 512·W at exponent −6, or 256·W at −5 when
    some |W| = 0.5; lossless and even (valid in mixed-sign mode, −256…254)."""
    q = shd_model.quantised()
    for L, Lq in zip(shd_spec.layers[1:3], q.layers[1:3]):
        for key, latent in (("W", Lq.W), ("U", Lq.U)):
            qd = L.quantisation[key]
            assert qd["lossless"] and qd["max_abs_error"] == 0.0
            exp = -5 if np.max(np.abs(latent)) == 0.5 else -6
            assert qd["exp"] == exp
            mant = (L.W_snn if key == "W" else L.U_snn) / 2.0**exp
            np.testing.assert_array_equal(mant, 2.0 ** (3 - exp) * latent.astype(np.float64))
            assert np.all(mant % 2 == 0) and mant.min() >= -256 and mant.max() <= 254
    assert shd_spec.layers[3].quantisation["W"]["lossless"]


def test_shd_readout_default_and_reference_factors(shd_model, shd_spec, shd_spec_reference):
    """Read-out weights: 512·W at the derived f = 2^21/6 (τ_I = 1: W·2^21/(64·64)); 48·W and w_fb = −48 with
    the reference preset f = 32,768 (Iin_snn 196,608, W·196,608/4096; docs/method.md#reference-factor-presets,
    docs/method.md#weights-as-mantissa-and-exponent). Exact."""
    Wo = shd_model.quantised().layers[3].W.astype(np.float64)
    out, ref = shd_spec.layers[3], shd_spec_reference.layers[3]
    np.testing.assert_array_equal(out.W_snn, 512.0 * Wo)
    assert out.w_fb == -512
    np.testing.assert_array_equal(ref.W_snn, 48.0 * Wo)
    assert (ref.factor, ref.Iin_snn, ref.kick, ref.w_fb) == (32768.0, 196608.0, 3072.0, -48.0)
    # the preset changes only the read-out's factor; the lp layers keep f = 2^21/6
    for a, b in zip(shd_spec.layers[:3], shd_spec_reference.layers[:3]):
        assert a.factor == pytest.approx(2**21 / 6, rel=1e-15) and b.factor == a.factor


def test_shd_bias_is_f_b_over_tau_I(shd_model, shd_spec):
    """b̃ = f·b/τ_I (docs/method.md#mapping-formulas), rounded to a 13-bit mantissa with exponent 0…7
    (docs/method.md#biases-as-mantissa-and-exponent): error ≤ 2^(e−1)."""
    q = shd_model.quantised()
    for L, Lq in zip(shd_spec.layers, q.layers):
        exact = L.factor * Lq.b.astype(np.float64) / L.tau_I
        e = L.quantisation["b"]["exp"]
        assert np.max(np.abs(L.b_tilde - exact)) <= 2.0 ** (e - 1) + 1e-9
        assert np.all(np.abs(L.b_tilde / 2.0**e) <= 4095)


def test_shd_counts(shd_model, shd_spec):
    """docs/method.md#decays-threshold-and-refractory-period: 128·512 + 3·512² + 512·20 = 862,208 static synapses on
    Loihi (the full W/U shapes of layers 1…3, zero entries included: the reference allocates them), 1,044 neurons with
    self-feedback there (layers 1…3), and 1,172 neurons in all (docs/method.md#architectures-read-out-and-training)."""
    static = sum(L.W_snn.size + (L.U_snn.size if L.U_snn is not None else 0) for L in shd_spec.layers[1:])
    assert static == 128 * 512 + 3 * 512**2 + 512 * 20 == 862_208
    assert sum(L.n for L in shd_spec.layers[1:]) == 1_044
    assert shd_spec.n_neurons == shd_model.n_neurons() == 1_172


# --- input resampling and drive ---------------------------------------------------------------------

def _tiny_model(n_frames=7):
    rng = np.random.default_rng(1)
    W = (rng.integers(-4, 4, size=(3, 2)) / 8).astype(np.float32)
    return LpRNNModel([Layer("lpff_1", "lpff", W, np.zeros(3, np.float32), retention=0.8),
                       Layer("output", "dense", np.full((2, 3), 0.125, np.float32), np.zeros(2, np.float32))],
                      n_frames=n_frames, frame_dt=1 / 125)


def test_hold_resampling_is_zero_order_hold():
    """x_res[n] = x[⌊n/M⌋] with M = Δt_A/Δt_S (docs/method.md#input-decoding-and-compartments, decision B8 in
    docs/decisions.md): with x[t] = t the resampled value is the frame index; every frame is held for ⌊M⌋ or ⌈M⌉ steps;
    n_steps = ⌊T·M⌋."""
    model = _tiny_model()
    spec = to_snn_spec(model)
    M = spec.frame_dt / spec.dt
    x = np.repeat(np.arange(model.n_frames, dtype=np.float64)[:, None], 2, axis=1)
    xr = resample_input(x, spec)
    assert xr.shape == (math.floor(model.n_frames * M), 2) == (spec.n_steps, 2)
    n = np.arange(spec.n_steps)
    np.testing.assert_array_equal(xr[:, 0], np.floor(n / M))
    counts = np.bincount(xr[:, 0].astype(int))
    assert set(counts[:-1]) <= {math.floor(M), math.ceil(M)}


def test_fft_resampling_shape_and_mean():
    """FFT resampling (the reference's choice) keeps the shape contract and the DC component: the mean over
    the run equals the mean over the frames (float64 rounding of the FFT, 1e-12)."""
    model = _tiny_model()
    spec = to_snn_spec(model, resample="fft")
    x = np.random.default_rng(2).normal(size=(model.n_frames, 2))
    xr = resample_input(x, spec)
    assert xr.shape == (spec.n_steps, 2)
    np.testing.assert_allclose(xr.mean(axis=0), x.mean(axis=0), rtol=0, atol=1e-12)


def test_layer0_drive_is_f0_W0_x():
    """X = f0·W0·x_res (docs/method.md#input-decoding-and-compartments), with W0 the quantised ANN weight; float64
    rounding (1e-12 relative)."""
    model = _tiny_model()
    spec = to_snn_spec(model)
    x = np.random.default_rng(3).normal(size=(model.n_frames, 2))
    idx = np.floor(np.arange(spec.n_steps) / spec.steps_per_frame).astype(int)
    want = spec.layers[0].factor * (x[idx] @ model.quantised().layers[0].W.astype(np.float64).T)
    np.testing.assert_allclose(layer0_drive(x, spec), want, rtol=1e-12)


# --- bad inputs -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, message",
    [({"mode": "hardware"}, "unknown mode"), ({"resample": "linear"}, "unknown resample"),
     ({"factors": "gsc_reference"}, "unknown factor preset"), ({"factors": [1.0]}, "one per layer")],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        to_snn_spec(_tiny_model(), **kwargs)


@pytest.mark.parametrize("codes,exp,mant_per_w", [
    # max|8W| = 3: e = −6, mant = 512·W (the SHD case of docs/method.md#weights-as-mantissa-and-exponent)
    (np.arange(-3, 4), -6, 512),
    (np.arange(-4, 4), -5, 256),  # a weight −0.5 (max|8W| = 4): e = −5, mant = 256·W
])
def test_weight_mantissas_of_shd_lp_layers(codes, exp, mant_per_w):
    """docs/method.md#weights-as-mantissa-and-exponent: W_snn = 8W with W = codes/8 maps losslessly to even mantissas in
    mixed-sign mode."""
    W = codes / 8.0
    me = weight_mant_exp(8 * W)
    assert me.exp == exp and me.lossless
    np.testing.assert_array_equal(me.mant, mant_per_w * W)
    assert np.all(me.mant % 2 == 0) and me.mant.min() >= -256 and me.mant.max() <= 254


def test_weight_mantissa_range_and_rounding():
    """m/2^e ∈ [128, 256) for m = max|w|; rounding error ≤ half the mantissa step (2 in mixed mode) × 2^e;
    weights beyond exponent 7 are refused."""
    rng = np.random.default_rng(3)
    w = rng.normal(0, 37.0, (20, 30))
    me = weight_mant_exp(w)
    m = np.max(np.abs(w))
    # e starts where m/2^e ∈ [128, 256) and rises by one only if rounding pushed a mantissa out of range
    assert 64 <= m / 2.0**me.exp < 256
    assert me.mant.min() >= -256 and me.mant.max() <= 254 and np.all(me.mant % 2 == 0)
    assert me.max_abs_error <= 2.0**me.exp + 1e-12
    with pytest.raises(ValueError):
        weight_mant_exp(np.array([1e6]))


def test_bias_mantissa_rule():
    """docs/method.md#biases-as-mantissa-and-exponent: the smallest e ∈ [0, 7] with |round(b/2^e)| ≤ 4095; SHD lp biases
    682.67·k round to integers."""
    b = 2**21 / 6 / 64 * np.arange(-4, 4) / 8  # b̃ = f·b/τ_I for b = k/8
    me = bias_mant_exp(b)
    assert me.exp == 0 and me.max_abs_error <= 0.5
    big = bias_mant_exp(np.array([10_000.0]))
    assert big.exp == 2 and abs(big.mant[0]) <= 4095
    with pytest.raises(ValueError):
        bias_mant_exp(np.array([4095 * 2**8]))


def test_threshold_policy_is_refused_when_unknown_or_beyond_the_register():
    """An unknown policy names the choices. In Loihi mode a kick beyond the largest self-synapse weight (mixed sign
    mode: −256·2^7 weight units, a kick of 2^21: here f = 2^32 gives 6·2^32/64·63/64) is refused with what to do,
    never wrapped; the largest kick that fits gives θ ≤ 2^21/(2·63/64), vth_mant ≤ 16,644, inside the 17-bit
    register (hand bound)."""
    model = random_model(np.random.default_rng(0))
    with pytest.raises(UserInputError, match="unknown threshold policy 'half'.*zero"):
        to_snn_spec(model, threshold="half")
    with pytest.raises(UserInputError, match="self-synapse weight.*smaller factors"):
        to_snn_spec(model, mode="loihi", factors=[2.0**32] * len(model.layers))
    tau_S = to_snn_spec(model, mode="loihi").layers[0].tau_S
    big = 255 * 2**7 * 64 * tau_S / 6 / (1 - 1 / tau_S)  # f whose unbiased kick is the largest weight
    with pytest.raises(UserInputError, match="bias.*13-bit.*smaller factors"):  # a value error, not a traceback
        to_snn_spec(model, mode="loihi", factors=[big] * len(model.layers))
    for L in model.layers:
        L.b[:] = 0
    spec = to_snn_spec(model, mode="loihi", factors=[big] * len(model.layers))
    for L in spec.layers:
        assert L.kick <= 2**21 and 0 < L.vth_mant <= 16644 < 2**17


# --- the conversion of a whole network: per-layer factors, the spec's serialisation ------------------------------

def _grid_model(grids=(8, 16, 8), retentions=(0.8, 0.8), frac_bits=4, seed=0):
    """lpff 4→5 → lprnn 5 → dense 2 with layer k's weights on the 1/grids[k] grid (each holding one weight of exactly
    one grid step, so w_min = 1/grids[k]), and the given retentions."""
    rng = np.random.default_rng(seed)

    def codes(shape, grid):
        c = rng.integers(-4, 4, size=shape).astype(np.float32)
        c.flat[0] = 1.0
        return c / grid

    layers = [Layer("lpff_1", "lpff", codes((5, 4), grids[0]), codes(5, 32), retention=retentions[0]),
              Layer("lprnn_1", "lprnn", codes((5, 5), grids[1]), codes(5, 32), U=codes((5, 5), grids[1]),
                    retention=retentions[1]),
              Layer("output", "dense", codes((2, 5), grids[2]), codes(2, 32))]
    return LpRNNModel(layers, n_frames=10, frame_dt=1 / 20, frac_bits=frac_bits)


def test_each_layer_gets_the_factor_of_its_own_smallest_weight():
    """Δt_S comes from layer 0 (w_min 1/8: d = 64, τ_S = 64, wfb 512, f = 2^21/6); a later layer at that step gets
    the factor of its own w_min: 1/16 needs wfb 1024 (f = 2^22/6), 1/8 again 512 (docs/method.md#reproduced-numbers,
    decision B5 in docs/decisions.md)."""
    spec = to_snn_spec(_grid_model(), mode="loihi")
    assert spec.d == pytest.approx(64, rel=1e-12) and [L.tau_S for L in spec.layers] == [64, 64, 64]
    assert [L.factor for L in spec.layers] == pytest.approx([2**21 / 6, 2**22 / 6, 2**21 / 6], rel=1e-12)
    assert spec.dt == pytest.approx(64 * (-(1 / 20) / math.log(0.8)) / 4096, rel=1e-6)  # d·τ_0/4096, τ_0 = −Δt_A/ln a
    coarse = to_snn_spec(_grid_model(grids=(16, 8, 8)), mode="loihi")  # now layer 0 is the fine one
    assert coarse.d == pytest.approx(64, rel=1e-12)
    assert [L.factor for L in coarse.layers] == pytest.approx([2**22 / 6, 2**21 / 6, 2**21 / 6], rel=1e-12)


def test_each_layer_filters_with_its_own_and_its_predecessors_time_constants():
    """Retention 0.8 in layer 0 and 0.6 in layer 1: τ_1/τ_0 = ln 0.8/ln 0.6 = 0.4368. A layer's feedback filter τ_S
    is its own τ and its input filter τ_U its predecessor's (layer 0: its own; the read-out, with no filter of its
    own, takes its predecessor's for both): τ_S = 64, 64·0.4368 = 27.96, 27.96 and τ_U = 64, 64, 27.96 steps, where
    Loihi mode snaps 27.96 to an exact 12-bit decay, 4096/round(4096/27.96) = 4096/147; float mode keeps it. The
    spec's d is layer 0's, 4096·Δt_S/τ_0 = 64. The read-out's factor is searched at the unsnapped τ_S = 27.96 for
    w_min 1/8: wsn = wfb/(8·27.96) = wfb/223.66 is within 10^-3 of an integer first at wfb = 671 (3.0001; 224 gives
    1.0015)."""
    ratio = math.log(0.8) / math.log(0.6)
    loihi = to_snn_spec(_grid_model(retentions=(0.8, 0.6)), mode="loihi")
    assert [L.tau_S for L in loihi.layers] == pytest.approx([64, 4096 / 147, 4096 / 147], rel=1e-12)
    assert [L.tau_U for L in loihi.layers] == pytest.approx([64, 64, 4096 / 147], rel=1e-12)
    assert loihi.d == pytest.approx(64, rel=1e-12)
    assert loihi.layers[2].factor == pytest.approx(64 * 671 * 64 * ratio / 6, rel=1e-9)
    flt = to_snn_spec(_grid_model(retentions=(0.8, 0.6)), mode="float")
    assert [L.tau_S for L in flt.layers] == pytest.approx([64, 64 * ratio, 64 * ratio], rel=1e-9)
    assert flt.dt == pytest.approx(loihi.dt, rel=1e-12)  # float mode takes the integer choice when there is one


def test_an_all_zero_layer_is_refused():
    model = _grid_model()
    model.layers[1].W[:] = 0
    with pytest.raises(UserInputError, match="zero weights"):
        to_snn_spec(model, mode="loihi")


@pytest.mark.parametrize("per_unit", [False, True])
def test_spec_round_trips_through_its_arrays(per_unit):
    """to_arrays → from_arrays gives the same spec: the same digest, summary and every array (per-unit τ_I and τ_V
    included); the digest is 16 hex digits and changes with any weight, bias or per-unit time constant."""
    model = per_unit_model(np.random.default_rng(8), [0.1, 0.3, 0.5, 0.7, 0.9, 0.97]) if per_unit else _grid_model()
    spec = to_snn_spec(model, mode="loihi")
    summary, arrays = spec.to_arrays()
    back = SNNSpec.from_arrays(json.loads(json.dumps(summary)), arrays)
    assert back.digest() == spec.digest() and len(spec.digest()) == 16 and int(spec.digest(), 16) >= 0
    assert back.summary() == spec.summary() and "layers" in summary and len(summary["layers"]) == len(spec.layers)
    for L, B in zip(spec.layers, back.layers):
        assert B.threshold == L.threshold and B.retention == L.retention and B.per_unit == L.per_unit
        for name in ("W_snn", "b_tilde", "U_snn", "W_ann", "tau_I", "tau_V"):
            a, b = getattr(L, name), getattr(B, name)
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_array_equal(np.asarray(b), np.asarray(a), err_msg=name)
    assert spec.layers[0].per_unit == per_unit and isinstance(spec.layers[0].tau_I, np.ndarray) == per_unit
    if per_unit:
        assert summary["layers"][0]["tau_I"]["per_unit"] is True
    digests = {spec.digest()}
    for name in ("W_snn", "b_tilde", "W_ann") + (("tau_I",) if per_unit else ()):
        changed = SNNSpec.from_arrays(summary, arrays)
        arr = np.array(getattr(changed.layers[0], name), dtype=np.float64)
        # a middle time constant (the summary keeps only the smallest and largest), or the first weight
        arr.flat[2 if name == "tau_I" else 0] += 1e-3 if name == "tau_I" else 1.0
        setattr(changed.layers[0], name, arr)
        assert changed.summary() == spec.summary() or name != "tau_I"
        digests.add(changed.digest())
    assert len(digests) == 1 + 3 + per_unit
    # results written before thresholds existed have none in their summary: read as threshold 0
    old = json.loads(json.dumps(summary))
    for Ls in old["layers"]:
        del Ls["threshold"]
    assert [L.threshold for L in SNNSpec.from_arrays(old, arrays).layers] == [0.0] * len(spec.layers)



def test_a_hand_built_spec_is_the_authors_neuron():
    """Layers and specs built by hand (the single-neuron and energy tests, a user's own network) default to the
    authors' comparator, threshold 0 under policy 'zero' (docs/method.md#the-comparators-threshold), and carry no
    step ratio d (0: not derived from an ANN)."""
    from lprnn_brian.convert import LayerParams

    L = LayerParams(name="a", kind="lpff", n=1, tau_I=2.0, tau_U=2.0, tau_V=1.0, tau_S=2.0, factor=1.0, Iin_snn=6.0,
                    kick=3.0, W_snn=np.ones((1, 1)), b_tilde=np.zeros(1))
    spec = SNNSpec(layers=[L], mode="float", dt=1e-3, frame_dt=1e-3, n_frames=1, n_steps=1, Iin=6.0,
                   readout_window="all")
    assert L.threshold == 0.0 and spec.threshold_policy == "zero" and spec.d == 0.0


def test_explicit_factors_are_used_and_bad_ones_refused():
    """Factors given per layer are the layers' f as given (any positive finite number, below 1 too); zero,
    negative, NaN and infinite factors are refused before any work."""
    model = _grid_model()
    spec = to_snn_spec(model, mode="float", factors=[0.5, 2.0, 3.0])
    assert [L.factor for L in spec.layers] == [0.5, 2.0, 3.0]
    # tiny currents: θ below 1 is still a threshold above 0, and the comparator stays memoryless (τ_V = 1)
    assert 0 < spec.layers[0].threshold < 1 and [L.tau_V for L in spec.layers] == [1.0, 1.0, 1.0]
    for bad in ([1.0, 0.0, 1.0], [1.0, -2.0, 1.0], [float("nan"), 1.0, 1.0], [1.0, 1.0, float("inf")]):
        with pytest.raises(UserInputError, match="positive finite"):
            to_snn_spec(model, mode="float", factors=bad)


def test_filters_of_lp_layers_and_the_read_out():
    """An lp layer's τ_I = τ/Δt_S (64 steps here) with the per-frame retention error |(1 − 1/64)^M − 0.8|,
    M = −64 ln 0.8 steps per frame (docs/method.md#reproduced-numbers); the dense read-out has no filter of its own
    (τ_I = 1, no retention record). τ_V: 1 under the unbiased comparator (v carries no margin into the next step);
    under the authors' threshold 0 the registers' τ_V = τ_I, and τ_S for the read-out
    (docs/method.md#the-comparators-threshold)."""
    M = -64 * math.log(0.8)
    for threshold, tau_V in (("unbiased", [1.0, 1.0, 1.0]), ("zero", [64.0, 64.0, 64.0])):
        spec = to_snn_spec(_grid_model(), mode="loihi", threshold=threshold)
        assert [L.tau_V for L in spec.layers] == tau_V, threshold
        for L in spec.layers[:2]:
            assert L.tau_I == 64.0
            assert L.retention["max_abs_error"] == pytest.approx(abs((1 - 1 / 64) ** M - 0.8), rel=1e-9)
            assert L.retention["min"] == L.retention["max"] == pytest.approx(0.8)
        assert (spec.layers[2].tau_I, spec.layers[2].retention) == (1.0, {})


def test_a_one_unit_layer_converts():
    """A hidden layer of one unit (the smallest network): one τ_I, a scalar like every uniform layer's."""
    W = np.array([[0.125, -0.25]], np.float32)
    model = LpRNNModel([Layer("lpff_1", "lpff", W, np.zeros(1, np.float32), retention=0.8),
                        Layer("output", "dense", np.array([[0.5]], np.float32), np.zeros(1, np.float32))],
                       n_frames=4, frame_dt=1 / 20)
    spec = to_snn_spec(model, mode="loihi")
    assert spec.layers[0].n == 1 and spec.layers[0].tau_I == 64.0 and not spec.layers[0].per_unit


def test_loihi_layer_records_of_the_standard_grid():
    """On the 1/8 grid (docs/method.md#reproduced-numbers): layer 0's W_snn = W·2^21/64^3 = 8W, kept in Loihi mode
    too (the drive enters as X, so it is a record, not a synapse); under the authors' threshold 0 the kick
    Iin_snn/τ_S = 2^21/64 = 32,768 is the self-synapse weight −512, exact (−128·2^2); under the unbiased policy θ is
    a positive multiple of 64 and its kick is held exactly too."""
    zero = to_snn_spec(_grid_model(), mode="loihi", threshold="zero")
    L0 = zero.layers[0]
    np.testing.assert_array_equal(L0.W_snn, 8 * L0.W_ann)
    for L in (L0, zero.layers[2]):
        assert L.kick == 32768.0 and L.threshold == 0.0
        assert L.quantisation["kick"] == {"exp": 2, "max_abs_error": 0.0, "lossless": True}
    for L in to_snn_spec(_grid_model(), mode="loihi").layers:
        assert L.threshold > 0 and L.threshold % 64 == 0
        assert L.quantisation["kick"]["lossless"] and L.quantisation["kick"]["max_abs_error"] == 0.0


def test_retentions_on_the_decay_grid_of_the_default_step():
    """With the default τ_S = 64 (d = 64): a_min = 0.5 stays, 0.8 becomes 0.5^(k/64) with k = round(64·ln 0.8/ln 0.5)
    = round(20.60) = 21 (docs/method.md#the-2019-lprnn-cell); the threshold record's rounding of θ to a multiple
    of 64 moves it by at most 32."""
    from lprnn_brian.convert import loihi_retentions

    np.testing.assert_allclose(loihi_retentions(np.array([0.5, 0.8])), [0.5, 0.5 ** (21 / 64)], rtol=1e-15)
    for L in to_snn_spec(_grid_model(), mode="loihi").layers:
        rec = L.quantisation["threshold"]
        assert rec["vth_mant"] * 64 == L.threshold and 0 <= rec["max_abs_error"] <= 32


def test_retention_grid_rules():
    """loihi_retentions by hand: an empty vector, a single retention and equal ones come back unchanged; d = 4096/τ_S
    must be a whole number ≥ 1 (τ_S = 4096 gives d = 1: every unit becomes a_min^(1/1) = a_min); τ_S = 32 gives
    d = 128 and k = round(128·0.32193) = 41; retentions must lie strictly inside (0, 1)."""
    from lprnn_brian.convert import loihi_retentions

    assert loihi_retentions(np.array([])).size == 0
    np.testing.assert_array_equal(loihi_retentions(np.array([0.7])), [0.7])
    np.testing.assert_array_equal(loihi_retentions(np.array([0.7, 0.7])), [0.7, 0.7])
    np.testing.assert_allclose(loihi_retentions(np.array([0.5, 0.8]), 4096.0), [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(loihi_retentions(np.array([0.5, 0.8]), 32.0), [0.5, 0.5 ** (41 / 128)], rtol=1e-15)
    # a unit slower than any register holds (k = round(64·ln 0.99/ln 0.1) = 0) becomes the slowest, k = 1
    np.testing.assert_allclose(loihi_retentions(np.array([0.1, 0.99])), [0.1, 0.1 ** (1 / 64)], rtol=1e-15)
    for tau_S in (65.0, 8192.0):
        with pytest.raises(UserInputError, match="4096/d"):
            loihi_retentions(np.array([0.5, 0.8]), tau_S)
    for bad in ([0.0, 0.5], [0.5, 1.0], [-0.1, 0.5], [0.5, 1.5]):
        with pytest.raises(UserInputError, match=r"\(0, 1\)"):
            loihi_retentions(np.array(bad))


def test_weight_rounding_records_and_two_unit_per_unit_layers():
    """The per-row rounding record: 0 for weights on the grid (nothing rounded), and 0, not NaN, for an all-zero row
    (no weight, no error). Two units with their own retentions (0.5 and 0.8) keep two time constants, in the
    ratio ln 0.5/ln 0.8 = 3.106 of their filters' τ (float mode: not snapped; the retentions as the model stores them,
    float32)."""
    model = _grid_model()
    model.layers[1].W[0, :] = 0.0
    spec = to_snn_spec(model, mode="loihi")
    for L in spec.layers[1:]:
        assert L.quantisation["W"]["row_max_rel_error"] == 0.0, L.name
    two = to_snn_spec(per_unit_model(np.random.default_rng(8), [0.5, 0.8]), mode="float")
    tau = two.layers[0].tau_I
    assert two.layers[0].per_unit and tau.shape == (2,)
    a = np.float32([0.5, 0.8]).astype(np.float64)  # the model stores retentions as float32
    assert tau[1] / tau[0] == pytest.approx(math.log(a[0]) / math.log(a[1]), rel=1e-12)


def test_per_unit_drive_settles_every_unit_at_its_ann_input():
    """Layer 0 adds X_i/τ_U to i_ip every step while i_ip decays by 1/τ_I,i, so under a constant input i_ip settles
    at τ_I,i·X_i/τ_U; with per-unit time constants X is scaled by τ_U/τ_I,i so that this is f0·(W0 x)_i for every
    unit (docs/method.md#input-decoding-and-compartments), whatever its retention."""
    spec = to_snn_spec(per_unit_model(np.random.default_rng(8), [0.1, 0.3, 0.5, 0.7, 0.9, 0.97]), mode="float")
    L0 = spec.layers[0]
    assert isinstance(L0.tau_I, np.ndarray) and np.ptp(L0.tau_I) > 0
    x = np.full((spec.n_frames, 3), 0.5)
    X = layer0_drive(x, spec)
    np.testing.assert_allclose(L0.tau_I * X[-1] / L0.tau_U, L0.factor * (L0.W_ann @ x[0]), rtol=1e-12, atol=1e-9)


# --- the time grid and the helpers the records are built from, by hand --------------------------------------------
def _grid_spec(n_frames: int, n_steps: int, M: float = 2.5) -> SNNSpec:
    """The tiny model's spec with M = Δt_A/Δt_S = 2.5 steps per frame, n_frames frames and n_steps steps (a
    hand-built spec may run longer than ⌊T·M⌋)."""
    import dataclasses

    spec = to_snn_spec(_tiny_model())
    return dataclasses.replace(spec, frame_dt=M * spec.dt, n_frames=n_frames, n_steps=n_steps)


def test_frame_ends_and_step_frames_by_hand():
    """M = 2.5: frame t ends at record index ⌊(t+1)·2.5⌋ = 2, 5, 7, 10, capped at n_steps − 1 (9 steps: 8; more
    frames than the spec's are capped too); step n belongs to frame ⌊n/2.5⌋ = 0,0,0,1,1,2,2,2,3,(4,4) capped at
    n_frames − 1 = 3 (a 12-step run holds the last frame)."""
    from lprnn_brian.convert import frame_end_steps, step_frames

    np.testing.assert_array_equal(frame_end_steps(_grid_spec(4, 10)), [2, 5, 7, 9])
    np.testing.assert_array_equal(frame_end_steps(_grid_spec(4, 9)), [2, 5, 7, 8])
    np.testing.assert_array_equal(frame_end_steps(_grid_spec(4, 12)), [2, 5, 7, 10])
    np.testing.assert_array_equal(frame_end_steps(_grid_spec(4, 12), n_frames=6), [2, 5, 7, 10, 11, 11])
    np.testing.assert_array_equal(frame_end_steps(_grid_spec(4, 12), n_frames=2), [2, 5])
    np.testing.assert_array_equal(step_frames(_grid_spec(4, 9)), [0, 0, 0, 1, 1, 2, 2, 2, 3])
    np.testing.assert_array_equal(step_frames(_grid_spec(4, 12)), [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3])


def test_hold_resampling_of_other_frame_counts_by_hand():
    """Inputs with T frames other than the spec's get ⌊T·2.5⌋ steps (3 frames: 7 steps, frames 0,0,0,1,1,2,2;
    5 frames: 12 steps); the spec's own count gets the spec's n_steps, held at the last frame past ⌊T·M⌋."""
    x = np.arange(5, dtype=np.float64)[:, None]
    np.testing.assert_array_equal(resample_input(x[:3], _grid_spec(4, 10))[:, 0], [0, 0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(resample_input(x, _grid_spec(4, 10))[:, 0], [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(resample_input(x[:4], _grid_spec(4, 12))[:, 0],
                                  [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3])


def test_loihi_time_constants_snap_to_the_decay_grid_by_hand():
    """τ → 4096/max(1, round(4096/τ)) steps in Loihi mode: 2000 → 4096/2 = 2048; 3000 → round(1.37) = 1 → 4096;
    10000 → round(0.41) = 0, raised to 1 → 4096 (the slowest decay a 12-bit register holds); float mode keeps τ."""
    from lprnn_brian.convert import _steps

    assert [_steps(t, "loihi") for t in (2000.0, 3000.0, 10000.0)] == [2048.0, 4096.0, 4096.0]
    assert _steps(3000.0, "float") == 3000.0


def test_a_kick_of_one_unit_is_held_by_the_smallest_weight():
    """Iin_snn = τ_S = 64 under the zero threshold: the kick Iin/τ_S = 1 is 64·(4·2^−8), mantissa 4 at the
    smallest exponent −8, held exactly (it is not the refused 'rounds to 0'); the threshold stays 0."""
    from lprnn_brian.convert import comparator

    kick, theta, record = comparator("zero", 64.0, 64.0, "loihi")
    assert (kick, theta) == (1.0, 0.0)
    assert record["kick"] == {"exp": -8, "max_abs_error": 0.0, "lossless": True}
    assert record["threshold"]["vth_mant"] == 0


def test_equal_retentions_are_never_snapped():
    """One retention shared by a layer is kept as it is whatever τ_S (no decay grid is asked of it: τ_S = 100 is not
    4096/d, which only matters for distinct retentions)."""
    from lprnn_brian.convert import loihi_retentions

    np.testing.assert_array_equal(loihi_retentions(np.array([0.8, 0.8, 0.8]), 100.0), [0.8, 0.8, 0.8])
    with pytest.raises(UserInputError, match="4096/d"):
        loihi_retentions(np.array([0.8, 0.7, 0.8]), 100.0)


def test_row_rounding_errors_by_hand():
    """Per row: max|got − requested| / max|requested|: rows (1, −2) → (1, −2.25): 0.25/2; (0, 0): 0, not NaN;
    (0.5, 0.25) → (0.5, 0.375): 0.125/0.5 = 0.25 (a row whose largest weight is below 1). No rows: 0 and []."""
    from lprnn_brian.convert import _row_errors

    req = np.array([[1.0, -2.0], [0.0, 0.0], [0.5, 0.25]])
    got = np.array([[1.0, -2.25], [0.0, 0.0], [0.5, 0.375]])
    assert _row_errors(req, got, per_row=True) == {"row_max_rel_error": 0.25, "row_rel_error": [0.125, 0.0, 0.25]}
    assert _row_errors(req, got, per_row=False) == {"row_max_rel_error": 0.25}
    empty = np.zeros((0, 3))
    assert _row_errors(empty, empty, per_row=True) == {"row_max_rel_error": 0.0, "row_rel_error": []}


def test_fft_resampling_of_other_frame_counts_by_hand():
    """FFT resampling gives the same step counts as the hold: ⌊T·2.5⌋ for 3 and 5 frames (7 and 12 steps), and the
    spec's own n_steps for its frame count, also where a hand-built spec runs longer than ⌊T·M⌋ (12 steps)."""
    import dataclasses

    x = np.random.default_rng(4).normal(size=(5, 2))
    for spec_steps, T, n in ((10, 3, 7), (10, 5, 12), (12, 4, 12), (10, 4, 10)):
        spec = dataclasses.replace(_grid_spec(4, spec_steps), resample="fft")
        assert resample_input(x[:T], spec).shape == (n, 2), (spec_steps, T)


def test_layer0_drive_follows_the_specs_resampling():
    """Under FFT resampling the drive is f0·W0 applied to the FFT-resampled frames (scipy's resample, then the
    product), not the held frames; under the hold it is the held frames' product (equal to 1e-15: BLAS may sum a
    product over other row counts in another order)."""
    from scipy.signal import resample

    x = np.random.default_rng(5).normal(size=(_tiny_model().n_frames, 2))
    for kind in ("fft", "hold"):
        spec = to_snn_spec(_tiny_model(), resample=kind)
        L0 = spec.layers[0]
        xr = resample(x, spec.n_steps, axis=0) if kind == "fft" else x[np.minimum(
            np.floor(np.arange(spec.n_steps) / spec.steps_per_frame).astype(int), len(x) - 1)]
        np.testing.assert_allclose(layer0_drive(x, spec), L0.factor * (xr @ L0.W_ann.T), rtol=1e-15, atol=1e-15)
