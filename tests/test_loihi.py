"""The Loihi mapping helper: integer formats, registers, the bit-exact emulator, core placement, the bundle.

Oracles: hand calculations of Loihi's formats (docs/method.md#loihi-integer-mode, docs/method.md#compartment-arithmetic,
docs/method.md#synaptic-weight-format); a per-neuron transcription of the Lava arithmetic in Python integers (arbitrary
precision, one neuron and one synapse at a time) for the emulator's ``'loihi'`` semantics; the Brian2 network itself for
its ``'brian2'`` semantics; the ΣΔ steady state (spike rate = drive/Iin_snn,
docs/method.md#why-the-spikes-reproduce-the-rate-network) for both; the authors' SHD checkpoint's weights
(docs/method.md#weights-as-mantissa-and-exponent, docs/method.md#what-the-tests-check). The Lava comparison itself is
tests/test_lava.py (in the Lava environment).
"""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import per_unit_model, random_model
from lprnn_brian.cli import main
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.equations import fixed_point as q
from lprnn_brian.loihi.bundle import JSON_NAME, NPZ_NAME, load_bundle, save_bundle
from lprnn_brian.loihi.cores import CoreLimits, allocate, resource_report
from lprnn_brian.loihi.emulator import dense, emulate
from lprnn_brian.loihi.params import REGISTERS, Projection, to_loihi
from lprnn_brian.simulation import result_from_raw, simulate

LIMIT = 2**23


# --- integer formats ------------------------------------------------------------------------------------
def _check_mant_exp(w: np.ndarray, me: q.MantExp, bits: int = 8) -> None:
    """The package rule's guarantees: mantissas in the sign mode's 8-bit range and on its LSB grid, exponent in
    −8…7, error ≤ half an LSB (round to nearest), and the largest mantissa uses the range (≥ 64 before the
    step, unless the exponent is pinned at −8)."""
    step = q.weight_step(bits, me.sign_mode)
    lo, hi = q.WEIGHT_MANT_RANGE[me.sign_mode]
    assert q.WEIGHT_EXP_RANGE[0] <= me.exp <= q.WEIGHT_EXP_RANGE[1]
    assert np.all(me.mant >= lo) and np.all(me.mant <= hi) and np.all(me.mant % step == 0)
    assert np.all(me.mant == np.round(me.mant))
    lsb = step * 2.0**me.exp
    err = np.abs(me.mant * 2.0**me.exp - w)
    assert err.max(initial=0) <= lsb / 2 * (1 + 1e-12)
    assert me.max_abs_error == pytest.approx(err.max(initial=0.0), abs=1e-300)
    assert me.rms_error == pytest.approx(np.sqrt(np.mean(err**2)) if w.size else 0.0)
    m = np.max(np.abs(w), initial=0.0)
    if m > 0 and me.exp > q.WEIGHT_EXP_RANGE[0]:
        assert np.max(np.abs(me.mant)) >= 64


ADVERSARIAL = {
    "all negative": -np.abs(np.random.default_rng(1).normal(0, 30, (7, 9))),
    "mixed, |min| > max": np.array([[-200.0, 3.0, 150.0], [0.5, -199.9, 10.0]]),
    "mixed, |min| = 256·2^e exactly": np.array([-256.0, 254.0, 1.0]),
    "all zero": np.zeros((4, 5)),
    "huge dynamic range": np.array([1e-9, -3e-6, 2.5e4, -1.0]),
    "tiny only": np.array([[1e-6, -2e-6], [3e-7, 0.0]]),
    "largest allowed": np.array([254.0 * 2**7, -256.0 * 2**7]),
    "single weight": np.array([[-37.3]]),
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
@pytest.mark.parametrize("sign_mode", ["mixed", "auto"])
def test_weight_mantissas_of_adversarial_matrices(case, sign_mode):
    w = ADVERSARIAL[case]
    me = q.weight_mant_exp(w, sign_mode=sign_mode)
    _check_mant_exp(w, me)
    if sign_mode == "auto":
        assert me.sign_mode == q.sign_mode_of(w)


def test_special_cases_of_the_weight_rule():
    """All zero → exponent 0, lossless; tiny weights pin e at −8 and round to zero mantissas (error reported,
    not raised); ±254·2^e are lossless in mixed mode; an inhibitory matrix gets one bit more than
    mixed (odd mantissas allowed)."""
    assert q.weight_mant_exp(np.zeros(3)).exp == 0 and q.weight_mant_exp(np.zeros(3)).lossless
    tiny = q.weight_mant_exp(np.array([1e-6, -2e-6]))
    assert tiny.exp == -8 and np.all(tiny.mant == 0) and tiny.max_abs_error == pytest.approx(2e-6)
    assert q.weight_mant_exp(np.array([-254.0, 254.0])).lossless
    # the exponent comes from max|w| (decision B2 in docs/decisions.md), so −256·2^e itself takes the next exponent (one
    # bit lost)
    assert q.weight_mant_exp(np.array([-256.0, 254.0])).exp == 1
    odd = np.array([-255.0, -3.0])
    assert q.weight_mant_exp(odd, sign_mode="inhibitory").lossless
    assert not q.weight_mant_exp(odd, sign_mode="mixed").lossless


def test_integer_format_limits_are_loihis():
    """The register widths, against Lava's own checks (lava.utils.weightutils ``_validate_weights``: mixed
    −2^8…2^8 − 1, excitatory 0…255, inhibitory −255…0; ``determine_sign_mode``) and Loihi's register formats
    (docs/method.md#compartment-arithmetic, docs/method.md#synaptic-weight-format): a 17-bit unsigned threshold
    mantissa, a 13-bit signed bias mantissa with exponent 0…7, 12-bit decays, weight exponents −8…7."""
    assert q.WEIGHT_MANT_RANGE == {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}
    assert q.WEIGHT_EXP_RANGE == (-8, 7) and q.VTH_MANT_MAX == 131071 and q.BIAS_MANT_MAX == 4095
    assert q.BIAS_EXP_RANGE == (0, 7) and q.DECAY_UNITY == 4096 and q.DECAY_REGISTER_MAX == 4095
    assert q.STATE_BITS == 24 and q.ACTIVATION_SHIFT_BITS == 6
    # Lava's determine_sign_mode: min ≥ 0 → excitatory (all zero too), else max ≤ 0 → inhibitory, else mixed
    for w, mode in [([0.0, 1.0], "excitatory"), ([0.5, 0.25], "excitatory"), ([0.0, 0.0], "excitatory"),
                    ([], "excitatory"), ([0.0, -1.0], "inhibitory"), ([-0.5, -0.25], "inhibitory"),
                    ([-1.0, 1.0], "mixed"), ([-1e-9, 0.5], "mixed")]:
        assert q.sign_mode_of(np.array(w)) == mode, w


def test_weight_step_is_the_unused_low_bits():
    """Mantissas step by 2^(8 − (numWeightBits − isMixed)): 8 bits mixed → 2, one-signed → 1; 1 bit mixed → 256,
    one-signed → 128; 0 and 9 bits do not exist."""
    assert [q.weight_step(b, "mixed") for b in (1, 2, 8)] == [256, 128, 2]
    assert [q.weight_step(b, "excitatory") for b in (1, 8)] == [128, 1]
    for bits in (0, 9):
        with pytest.raises(ValueError, match="1…8"):
            q.weight_step(bits, "mixed")


def test_weight_rule_at_its_boundaries():
    """Hand-worked cases. max|w| = 1 exactly: e = 0 − 7 and mantissas w·2^7 = 128, −64. −257 does not fit
    8 signed bits: e = 1, mantissa −257/2 on the step-2 grid = −128 (half to even), 3/2 → 2. A weight that rounds
    to zero is +0, never −0 (the bytes of a spec, hence its digest and build directory, would depend on it).
    Per-row exponents with sign mode 'auto' take the matrix's mode, not each row's: a mixed matrix keeps step 2
    in its all-positive row (129 → 128)."""
    one = q.weight_mant_exp(np.array([1.0, -0.5]))
    assert one.exp == -7 and list(one.mant) == [128.0, -64.0] and one.lossless
    big = q.weight_mant_exp(np.array([-257.0, 3.0]))
    assert big.exp == 1 and list(big.mant) == [-128.0, 2.0] and big.max_abs_error == pytest.approx(1.0)
    tiny = q.weight_mant_exp(np.array([-1e-9, 200.0]))
    assert tiny.mant[0] == 0 and not np.signbit(tiny.mant).any()
    rows = q.weight_mant_exp_rows(np.array([[1.0, 1.0 + 1 / 128], [-1.0, 1.0]]), sign_mode="auto")
    assert rows.sign_mode == "mixed" and list(rows.exp) == [-7, -7]
    assert rows.mant.tolist() == [[128.0, 128.0], [-128.0, 128.0]]
    empty = q.weight_mant_exp_rows(np.zeros((0, 3)))
    assert empty.mant.shape == (0, 3) and (empty.max_abs_error, empty.rms_error) == (0.0, 0.0)
    none = q.weight_mant_exp(np.array([]))
    assert none.mant.shape == (0,) and none.exp == 0 and none.lossless
    # one-signed modes admit their zero: an inhibitory matrix whose largest weight is 0, an excitatory whose smallest is
    assert q.weight_mant_exp(np.array([0.0, -3.0]), sign_mode="inhibitory").lossless
    assert q.weight_mant_exp(np.array([0.0, 3.0]), sign_mode="excitatory").lossless


def test_bias_decay_and_threshold_at_their_limits():
    """A bias mantissa of exactly ±4095 fits at exponent 0 and 4096 needs exponent 1 (2048); −0.4 rounds to +0;
    no biases, no error. A time constant so long that round(4096/τ) − offset is 0 gives register 0 (u keeps
    4095/4096 per step through the offset, v keeps everything), never a negative register. The largest threshold
    mantissa is 2^17 − 1."""
    edge = q.bias_mant_exp(np.array([4095.0, -4095.0]))
    assert edge.exp == 0 and list(edge.mant) == [4095.0, -4095.0]
    assert q.bias_mant_exp(np.array([4096.0])).exp == 1 and q.bias_mant_exp(np.array([4096.0])).mant[0] == 2048
    assert not np.signbit(q.bias_mant_exp(np.array([-0.4, 3.0])).mant).any()
    none = q.bias_mant_exp(np.array([]))
    assert (none.max_abs_error, none.rms_error) == (0.0, 0.0)
    u, v = q.decay_register(5000.0, 1), q.decay_register(10000.0, 0)
    assert (u.register, u.effective, v.register, v.effective) == (0, 1, 0, 0)
    assert q.decay_register(64.0, 1).effective == 64 and q.decay_register(64.0, 0).effective == 64
    assert q.threshold_mant(131071 * 64.0) == 131071
    with pytest.raises(ValueError, match="0…131071"):
        q.threshold_mant(131072 * 64.0)


@pytest.mark.parametrize("w,mode,message", [
    (np.array([1.0, -1.0]), "excitatory", "sign mode"),
    (np.array([1.0, -1.0]), "inhibitory", "sign mode"),
    (np.array([256.0 * 2**7]), "mixed", "exponent above 7"),
    (np.array([np.nan]), "mixed", "NaN"),
])
def test_weights_that_do_not_fit_are_refused_never_wrapped(w, mode, message):
    with pytest.raises(ValueError, match=message):
        q.weight_mant_exp(w, sign_mode=mode)


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=12),
                    elements=st.floats(-1.6e4, 1.6e4, allow_nan=False, allow_subnormal=False)),
       bits=st.integers(2, 8))
def test_weight_mantissas_of_random_matrices(w, bits):
    """Any finite matrix within ±1.6e4 (below 128·2^7, the largest 2-bit mixed-sign weight) and any numWeightBits
    2…8: the guarantees of the package rule."""
    for mode in ("mixed", "auto"):
        _check_mant_exp(w, q.weight_mant_exp(w, bits, mode), bits)


def test_bias_decay_and_threshold_registers():
    """Bias: 13-bit mantissa, smallest exponent; decays round(4096/τ) − offset (u: ds_offset 1), τ = 1 on v
    gives 4095 with a retention error of exactly 1/4096 (L2); threshold 0 is vth_mant 0, 64·k is k."""
    b = q.bias_mant_exp(np.array([4095.0, -4094.0 * 2, 0.4]))
    assert b.exp == 1 and list(b.mant) == [2048.0, -4094.0, 0.0] and b.max_abs_error == 1.0
    # |mant| ≤ 4095 (docs/method.md#biases-as-mantissa-and-exponent)
    assert q.bias_mant_exp(np.array([-4096.0 * 2])).exp == 2
    u = q.decay_register(64.0, 1)
    v = q.decay_register(64.0, 0)
    assert (u.register, v.register, u.retention_error, v.retention_error) == (63, 64, 0.0, 0.0)
    ro = q.decay_register(1.0, 0)
    assert ro.register == 4095 and ro.retention_error == pytest.approx(1 / 4096)
    per_neuron = q.decay_register(np.array([64.0, 128.0]), 0)
    assert list(per_neuron.register) == [64, 32]
    with pytest.raises(ValueError):
        q.decay_register(0.5, 0)
    assert q.threshold_mant(0.0) == 0 and q.threshold_mant(64.0 * 5) == 5
    with pytest.raises(ValueError):
        q.threshold_mant(100.0)


# --- the mapped network -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_net():
    spec = to_snn_spec(random_model(np.random.default_rng(11)), mode="loihi")
    return to_loihi(spec)


def test_float_spec_is_refused():
    with pytest.raises(UserInputError, match="mode='loihi'"):
        to_loihi(to_snn_spec(random_model(np.random.default_rng(1)), mode="float"))


def test_registers_equal_the_spec_values(small_net):
    """Every register reproduces the spec's value: mant·2^exp = W_snn, bias_mant·2^bias_exp = b̃,
    −fb·64 = kick, 4096 − (du+1) and 4096 − dv give (1 − 1/τ)·4096 (τ snapped to 4096/d in Loihi mode)."""
    for L, P in zip(small_net.spec.layers, small_net.layers):
        if P.ff is not None:
            np.testing.assert_array_equal(P.ff.weights, L.W_snn)
        if P.rec is not None:
            np.testing.assert_array_equal(P.rec.weights, L.U_snn)
        np.testing.assert_array_equal(P.ic.bias, L.b_tilde)
        np.testing.assert_array_equal(-P.fb.weights * 64, np.full(L.n, L.kick))
        for reg, tau, off in ((P.ic.du, L.tau_U, 1), (P.soma.du, L.tau_S, 1)):
            assert 4096 - (reg + off) == pytest.approx(4096 * (1 - 1 / tau))
        # the soma's τ_V = 1 (threshold > 0) needs dv = 4096: 4095 keeps 1/4096 of a sub-threshold v (as L2)
        assert 4096 - P.soma.dv == (1 if L.tau_V == 1 else pytest.approx(4096 * (1 - 1 / L.tau_V)))
        if L.kind != "dense":
            assert np.all(4096 - np.asarray(P.ic.dv) == np.round(4096 * (1 - 1 / np.asarray(L.tau_I))))
        else:
            assert P.ic.dv == 4095  # τ_I = 1 (decision L2 in docs/decisions.md)
        assert P.soma.vth_mant * 64 == L.threshold and P.soma.spikes and not P.ic.spikes


def test_headroom_is_the_hand_computed_worst_case(small_net):
    """|u_IC| ≤ 64·τ_U·max_i Σ_j |w_ij| over feed-forward and recurrent weights, |v_IC| ≤ τ_I(|u_IC| + max|b̃|),
    |u_SC| ≤ kick·Σ_k α_S^k = kick·τ_S (a spike every step; Iin_snn at threshold 0, κ·Iin_snn under 'unbiased')."""
    L = small_net.spec.layers[1]
    want_u = 64 * L.tau_U * np.max(np.abs(L.W_snn).sum(1) + np.abs(L.U_snn).sum(1))
    h = small_net.report["layers"][1]["headroom"]
    assert h["u_ic"]["worst"] == pytest.approx(want_u)
    assert h["v_ic"]["worst"] == pytest.approx(np.max(L.tau_I) * (want_u + np.abs(L.b_tilde).max()))
    assert h["u_sc"]["worst"] == pytest.approx(L.kick * L.tau_S)
    assert L.kick * L.tau_S == pytest.approx(L.Iin_snn * (1 - 1 / L.tau_S))
    assert h["u_ic"]["bits"] == pytest.approx(math.log2((LIMIT - 1) / want_u))


@pytest.mark.parametrize("policy", ["zero", "unbiased"])
def test_shd_checkpoint_registers_follow_spec(shd_model, policy):
    """docs/method.md#weights-as-mantissa-and-exponent and docs/method.md#what-the-tests-check on the authors' network:
    lp mantissas 512·W at exponent −6, or 256·W at −5 where a weight is −0.5; decays du 63, dv 64; every layer's mapping
    lossless except the biases (b̃ = 682.67·k is not an integer) and the read-out's dv (L2). Threshold 'zero': kick
    −128·2^(6+2) = −32,768, vth_mant 0, soma dv 64. 'unbiased' (derived: kick (63/64)·32,768 = 32,256, θ = 32,768/2):
    kick −252·2^(6+1), vth_mant 256, both exact registers, and a memoryless soma (τ_V = 1: dv 4095, the one more lossy
    step, as L2)."""
    net = to_loihi(to_snn_spec(shd_model, mode="loihi", threshold=policy))
    for layer, P in zip(shd_model.quantised().layers, net.layers):
        for kind, W in (("ff", layer.W), ("rec", layer.U)):
            p = getattr(P, kind)
            if p is None or layer.kind == "dense":
                continue
            e = -5 if np.any(W == -0.5) else -6
            assert p.exp == e
            np.testing.assert_array_equal(p.mant, 2.0 ** (3 - e) * W)
        if policy == "zero":
            assert list(np.unique(P.fb.mant)) == [-128] and P.fb.exp == 2 and P.soma.vth_mant == 0
        else:
            assert list(np.unique(P.fb.mant)) == [-252] and P.fb.exp == 1 and P.soma.vth_mant == 256
        soma_dv = 64 if policy == "zero" else 4095
        if P.kind != "dense":
            assert (P.ic.du, P.ic.dv, P.soma.du, P.soma.dv) == (63, 64, 63, soma_dv)
    lossy = {(L["name"], s["step"].split(" ")[0]) for L in net.report["layers"] for s in L["lossy_steps"]
             if not s["lossless"]}
    want = {("lpff_1", "bias"), ("lprnn_1", "bias"), ("lprnn_2", "bias"), ("output", "IC"), ("lpff_1", "input:")}
    if policy == "unbiased":
        want |= {(name, "SC") for name in ("lpff_1", "lprnn_1", "lprnn_2", "output")}
    assert lossy == want
    res = resource_report(net, allocate(net))
    layers = shd_model.quantised().layers  # non-zero weights of the checkpoint (layer 0's W is the input drive)
    want = sum(int(np.count_nonzero(L.W)) for L in layers[1:]) + sum(int(np.count_nonzero(L.U)) for L in layers
                                                                      if L.U is not None) + 1172
    assert res["total"]["synapses"] == want and res["total"]["compartments"] == 2 * 1172


# --- emulator: arithmetic pieces ----------------------------------------------------------------------------
def test_dense_shift_floors_and_self_synapse_is_diagonal():
    """Lava's Dense: the sum of mantissas shifted right by −exp floors (−3 >> 1 = −2); exp > 0 multiplies."""
    p = Projection("ff", np.array([[-3, 0], [5, 2]]), -1, "mixed")
    s = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(dense(p, s), [[-2, 2], [-2, 3]])
    p2 = Projection("ff", np.array([[-3, 1]]), 2, "mixed")
    np.testing.assert_array_equal(dense(p2, np.array([[True, True]])), [[-8]])
    fb = Projection("fb", np.array([-128, -128]), 2, "mixed")
    np.testing.assert_array_equal(dense(fb, np.array([[True, False]])), [[-512, 0]])


def _python_loihi(net, x_in: np.ndarray, overflow: str = "wrap", rounding: str = "decay"):
    """The contract (emulator docstring) one neuron at a time in Python integers: the independent oracle. With
    ``overflow='clip'`` u saturates at ±2^23 instead of wrapping; with ``rounding='sum'`` the decayed state and the
    input are summed before the truncation (x·k + a·4096, then toward zero). Also returns the overflow counts per
    layer: u values that wrapped (or were clipped), v values beyond ±(2^23 − 1)."""
    T = x_in.shape[0]
    counts = [{"u_wraps" if overflow == "wrap" else "u_clips": 0, "v_clips": 0} for _ in net.layers]

    def trunc(p):  # toward zero
        return (1 if p > 0 else -1 if p < 0 else 0) * (abs(p) >> 12)

    def leaky(x, keep, add):  # decay(x) + add, or the sum truncated once
        return trunc(x * keep + add * 4096) if rounding == "sum" else trunc(x * keep) + add

    def u_limit(x, k):
        if -LIMIT < x <= LIMIT if overflow == "wrap" else -LIMIT <= x <= LIMIT:
            return x
        counts[k]["u_wraps" if overflow == "wrap" else "u_clips"] += 1
        if overflow == "clip":
            return max(min(x, LIMIT), -LIMIT)
        return x - 2 * LIMIT if x > LIMIT else x + 2 * LIMIT

    def v_limit(x, k):
        if abs(x) > LIMIT - 1:
            counts[k]["v_clips"] += 1
        return max(min(x, LIMIT - 1), -(LIMIT - 1))

    def shift(a, e):
        return a << e if e > 0 else a >> -e

    def row_exp(p, i):  # one exponent, or one per receiving neuron
        return int(np.atleast_1d(p.exp)[i if np.ndim(p.exp) else 0])

    regs = [{r: [0] * L.n for r in REGISTERS} for L in net.layers]
    prev = [[False] * L.n for L in net.layers]
    rec = [{r: np.zeros((T, L.n), np.int64) for r in REGISTERS} for L in net.layers]
    spikes = [np.zeros((T, L.n), bool) for L in net.layers]
    for t in range(T):
        fired = []
        for k, L in enumerate(net.layers):
            s_now = []
            dv_ic = np.broadcast_to(L.ic.dv, (L.n,))
            dv_sc = np.broadcast_to(L.soma.dv, (L.n,))
            for i in range(L.n):
                a = 0
                if L.ff is not None:
                    a += shift(sum(int(L.ff.mant[i, j]) for j in range(L.ff.mant.shape[1]) if prev[k - 1][j]),
                               row_exp(L.ff, i))
                if L.rec is not None:
                    a += shift(sum(int(L.rec.mant[i, j]) for j in range(L.n) if prev[k][j]), row_exp(L.rec, i))
                r = regs[k]
                r["u_ic"][i] = u_limit(leaky(r["u_ic"][i], 4096 - L.ic.du - 1, a * 64), k)
                into = r["u_ic"][i] + (int(L.ic.bias_mant[i]) << L.ic.bias_exp)
                if k == 0:
                    into += int(x_in[t, i])
                r["v_ic"][i] = max(v_limit(leaky(r["v_ic"][i], 4096 - int(dv_ic[i]), into), k), 0)
                a_fb = shift(int(L.fb.mant[i]) if prev[k][i] else 0, L.fb.exp)
                r["u_sc"][i] = u_limit(leaky(r["u_sc"][i], 4096 - L.soma.du - 1, a_fb * 64), k)
                v = v_limit(leaky(r["v_sc"][i], 4096 - int(dv_sc[i]), r["u_sc"][i] + r["v_ic"][i]), k)
                s = v > (L.soma.vth_mant << 6)
                r["v_sc"][i] = 0 if s else max(v, 0)
                s_now.append(s)
                for name in REGISTERS:
                    rec[k][name][t, i] = r[name][i]
            spikes[k][t] = s_now
            fired.append(s_now)
        prev = fired
    return rec, spikes, counts


@pytest.fixture(scope="module")
def per_unit_net():
    """A one-lpRNN-layer network with per-unit retentions from 0.1 to 0.97 (the 2019 cell): its recurrent rows
    scale with 1/τ_I,i over a factor of 76, so Loihi mode gives the recurrent matrix one exponent per row."""
    model = per_unit_model(np.random.default_rng(8), [0.1, 0.3, 0.5, 0.7, 0.9, 0.97])
    return to_loihi(to_snn_spec(model, mode="loihi"))


def test_per_row_exponents_keep_every_row(per_unit_net):
    """Rows of very different size each keep 8-bit precision with their own exponent (row i of w = r·2^−2i: the
    row's largest weight → mantissa in [128, 256), error ≤ half its own LSB), where one exponent per matrix rounds
    the small rows away; the per-unit network's recurrent matrix gets per-row exponents (a list in the conversion
    record) and keeps each row within 1/128 of its largest weight (one exponent: measured up to 100 %)."""
    rng = np.random.default_rng(3)
    w = rng.uniform(-1, 1, (5, 7)) * 200.0 * 2.0 ** (-2 * np.arange(5))[:, None]
    rows = q.weight_mant_exp_rows(w)
    assert rows.exp.shape == (5,) and np.all(np.diff(rows.exp) == -2)
    for i in range(5):
        top = np.max(np.abs(rows.mant[i]))
        assert 128 <= top <= 256
        assert np.max(np.abs(rows.value[i] - w[i])) <= 2.0 ** rows.exp[i]  # mixed mode: even mantissas
    one = q.weight_mant_exp(w)
    assert np.all(one.value[-1] == 0) and np.any(rows.value[-1] != 0)
    L = per_unit_net.spec.layers[0]
    assert isinstance(L.quantisation["U"]["exp"], list) and L.quantisation["U"]["row_max_rel_error"] <= 1 / 128
    P = per_unit_net.layers[0].rec
    assert np.ndim(P.exp) == 1 and len(P.exponents) > 1
    np.testing.assert_array_equal(P.weights, L.U_snn)


def test_per_row_dense_shifts_each_row_by_its_exponent():
    """dense() with one exponent per target row: row 0 at −1 floors (−3 >> 1 = −2), row 1 at +2 multiplies."""
    p = Projection("rec", np.array([[-3, 0], [5, 2]]), np.array([-1, 2]), "mixed")
    s = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(dense(p, s), [[-2, 20], [-2, 28]])


@pytest.mark.parametrize("overflow,rounding", [("wrap", "decay"), ("clip", "decay"), ("wrap", "sum"),
                                               ("clip", "sum")])
@pytest.mark.parametrize("scale,big", [(1.0, None), (40.0, ("rec", 254)), (40.0, ("ff", -256))])
def test_loihi_semantics_equals_python_integer_transcription(small_net, scale, big, overflow, rounding):
    """Every register and spike, every step, and the overflow counts, equal to the per-neuron Python-integer
    transcription, for Lava's arithmetic and the two switches :func:`divergence` attributes with. scale 40
    multiplies the drive so that v clips at ±(2^23 − 1); big weights into layer 1 (mantissa 254 or −256 at
    exponent 7: a·64 = ±2^24 for 8 spiking units) push u past +2^23 (recurrent) or down past −2^23 (feed-forward
    from the busy layer 0)."""
    import copy

    net = copy.deepcopy(small_net)
    if big is not None:  # large weights: overflow of u, both ways, must be exercised, not just possible
        projection = getattr(net.layers[1], big[0])
        projection.mant[:] = big[1]
        projection.exp = 7
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (1, net.spec.n_frames, net.spec.layers[0].W_ann.shape[1]))
    drive = layer0_drive(x[0], net.spec)[None] * scale
    run = _check_transcription(net, drive, overflow=overflow, rounding=rounding)
    u_key = "u_wraps" if overflow == "wrap" else "u_clips"
    if big is not None:
        assert sum(o[u_key] for o in run.overflow) > 0 and sum(o["v_clips"] for o in run.overflow) > 0
    else:
        assert run.overflow == [{u_key: 0, "v_clips": 0}] * len(net.layers)


def test_per_row_exponents_equal_python_integer_transcription(per_unit_net):
    """The same contract with a per-row exponent recurrent matrix: every register and spike equal."""
    x = np.random.default_rng(6).uniform(0, 2, (per_unit_net.spec.n_frames, 3))
    _check_transcription(per_unit_net, layer0_drive(x, per_unit_net.spec)[None])


def _check_transcription(net, drive, **options):
    run = emulate(net, drive, record="steps", **options)
    want, want_spikes, counts = _python_loihi(net, net.input_integers(drive)[0], **options)
    for k in range(len(net.layers)):
        np.testing.assert_array_equal(run.spikes[k][0], want_spikes[k], err_msg=f"spikes of layer {k}")
        for r in REGISTERS:
            np.testing.assert_array_equal(run.states[k][r][0], want[k][r], err_msg=f"{r} of layer {k}")
    assert run.overflow == counts
    return run


def test_wrap_and_clip_limits_are_lavas():
    """u wraps as Lava's ``PyLifModelBitAcc`` does (``decayed_curr > max_uv_val`` → −2^24, then ``<= −max_uv_val``
    → +2^24, with max_uv_val = 2^23): +2^23 itself stays and −2^23 becomes +2^23. v clips to ±(2^23 − 1)
    (``neg_voltage_limit``, ``pos_voltage_limit``): a value at the limit fits and is not counted."""
    from lprnn_brian.loihi.emulator import _clip, _wrap24

    x = np.array([0, LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 7, 1 - LIMIT, -LIMIT, -LIMIT - 7], np.int64)
    y, n = _wrap24(x)
    assert y.tolist() == [0, LIMIT - 1, LIMIT, 1 - LIMIT, 7 - LIMIT, 1 - LIMIT, LIMIT, LIMIT - 7] and n == 4
    v = np.array([LIMIT - 1, LIMIT, 1 - LIMIT, -LIMIT, 5, -LIMIT - 9], np.int64)
    y, n = _clip(v, LIMIT - 1)
    assert y.tolist() == [LIMIT - 1, LIMIT - 1, 1 - LIMIT, 1 - LIMIT, 5, 1 - LIMIT] and n == 3
    y, n = _clip(v[[0, 2, 4]], LIMIT - 1)
    assert y.tolist() == [LIMIT - 1, 1 - LIMIT, 5] and n == 0


def test_a_drive_of_the_wrong_shape_is_refused(small_net):
    T, n0 = small_net.n_steps, small_net.layers[0].n
    for shape in [(1, T, n0 + 1), (2, T - 1, n0), (T,), (1, 1, T, n0)]:
        with pytest.raises(UserInputError, match=rf"drive must be \(samples, {T} steps, {n0} units\)"):
            emulate(small_net, np.zeros(shape))


@pytest.mark.parametrize("semantics", ["loihi", "brian2"])
def test_frame_and_window_recording_equal_the_step_recording_at_one_step_per_frame(semantics):
    """The frame-end values and window sums the decodes read (``record='frames'``) are the every-step recording
    (``record='steps'``) at the simulator's record indices (index n: the state before step n; frame f ends at
    index f + 1 when M = 1, docs/method.md#per-step-order): with ``'loihi'`` the register at the end of step n − 1
    (zero before step 0), with ``'brian2'`` the recorded start of step n. M = 1 puts frame 0's end at index 1, the
    first step whose state is not the zero start."""
    from lprnn_brian.ann.forward import readout_start
    from lprnn_brian.convert import frame_end_steps

    model = random_model(np.random.default_rng(11))
    spec = to_snn_spec(model, mode="loihi", dt=model.frame_dt)
    net = to_loihi(spec)
    ends = frame_end_steps(spec)
    assert spec.steps_per_frame == pytest.approx(1.0) and ends[0] == 1
    rng = np.random.default_rng(12)
    drive = np.stack([layer0_drive(rng.uniform(0, 1, (spec.n_frames, 6)), spec) for _ in range(2)])
    run = emulate(net, drive, semantics=semantics, record="steps")
    T = spec.n_steps
    for b, raw in enumerate(run.raw):
        for k in range(len(net.layers)):
            for r, name in REGISTERS.items():
                at = run.states[k][r][b].astype(np.float64)
                before = np.concatenate([np.zeros_like(at[:1]), at[:-1]]) if semantics == "loihi" else at
                np.testing.assert_array_equal(raw.frame_states[k][name], before[ends], err_msg=f"{name} {k}")
                for w, got in raw.window_sums[k][name].items():
                    np.testing.assert_array_equal(got, before[readout_start(T, w):].sum(axis=0), err_msg=w)


@pytest.fixture(scope="module")
def two_tau_net():
    """small_net's architecture with layer 1's retention 0.6 where layer 0 keeps 0.8: τ_I and τ_S differ between the
    layers (a formula that took another layer's would pass on small_net, where all are 64). τ_U,1 = τ_I,0 = τ_U,0
    by the mapping (docs/method.md#mapping-formulas), so the input filters still agree."""
    model = random_model(np.random.default_rng(11))
    model.layers[1].retention = 0.6
    net = to_loihi(to_snn_spec(model, mode="loihi"))
    L0, L1, L2 = net.spec.layers
    assert L0.tau_I != L1.tau_I and L0.tau_S != L1.tau_S and L1.tau_U == L0.tau_I and L2.tau_U == L1.tau_I
    return net


@pytest.mark.parametrize("net_name", ["small_net", "two_tau_net"])
def test_brian2_semantics_equals_the_brian2_network(net_name, request, numpy_runtime):
    """``semantics='brian2'`` against the Brian2 network (numpy target, Loihi mode) bit for bit: every recorded
    state of every layer at every step, and every spike (values are integers or dyadic: exact sums). Nothing
    overflows, and the emulator counts nothing."""
    small_net = request.getfixturevalue(net_name)
    spec = small_net.spec
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (2, spec.n_frames, spec.layers[0].W_ann.shape[1])).astype(np.float32)
    drive = np.stack([layer0_drive(xi, spec) for xi in x])
    em = emulate(small_net, drive, semantics="brian2", record="steps")
    assert em.overflow == [{"u_clips": 0, "v_clips": 0}] * len(spec.layers)
    res = simulate(spec, x, target="numpy", keep_raw=True)
    for b, raw in enumerate(res.raw):
        for k, L in enumerate(spec.layers):
            for r, name in REGISTERS.items():
                if name in raw.states[k]:
                    np.testing.assert_array_equal(em.states[k][r][b], raw.states[k][name], err_msg=f"{name} {k}")
            s = np.zeros((spec.n_steps, L.n), bool)
            s[raw.spike_step[k], raw.spike_i[k]] = True
            np.testing.assert_array_equal(em.spikes[k][b], s)
    # and the decodes assembled from the emulator's frame recording equal the simulator's
    mine = result_from_raw(spec, em.raw, "emulation")
    for d in ("fb", "ip", "in", "count"):
        for k in range(len(spec.layers)):
            np.testing.assert_allclose(mine.decodes[d]["all"][k], res.decodes[d]["all"][k], rtol=1e-12, atol=1e-9)


def test_brian2_semantics_counts_the_states_it_clips(small_net):
    """A drive 40 times too large drives v beyond ±2^23: the Brian2 mode clips it at the next step's start and counts
    each clipped value once (a count is never negative; the Lava registers' counts are pinned by the transcription
    test above)."""
    rng = np.random.default_rng(5)
    drive = layer0_drive(rng.uniform(0, 1, (small_net.spec.n_frames, 6)), small_net.spec)[None] * 40
    run = emulate(small_net, drive, semantics="brian2", record="none")
    assert all(min(o.values()) >= 0 for o in run.overflow) and sum(o["v_clips"] for o in run.overflow) > 0


@pytest.mark.parametrize("semantics", ["loihi", "brian2"])
def test_constant_drive_spike_rate_is_drive_over_Iin(small_net, semantics):
    """docs/method.md#why-the-spikes-reproduce-the-rate-network, docs/method.md#what-the-tests-check on layer 0: with a
    constant drive the integrated input settles at X + f·b and the spike probability per step at (X + f·b)/Iin_snn. The
    reconstruction −i_fb = Iin_snn·(filtered spike rate) stays within one kick of the drive (it fires when it falls
    below, and a spike lifts it by one kick), so over the last 2/3 of a long run the rate is within 1/τ_S per step of
    the oracle (n/τ_S spikes, plus 2 for the window's edges); the input's rounding (0.5·τ_I per step, relative
    32/Iin_snn) is negligible."""
    import copy

    net = copy.deepcopy(small_net)
    L0 = net.spec.layers[0]
    T = 3000
    net.spec.n_steps = T
    levels = np.linspace(0.05, 0.9, L0.n) * L0.Iin_snn
    X = np.broadcast_to(levels - L0.b_tilde * L0.tau_I, (T, L0.n)).copy()  # f·b = b̃·τ_I
    run = emulate(net, X, semantics=semantics, record="none")
    window = slice(T // 3, T)
    n = T - T // 3
    rate = run.spikes[0][0, window].sum(axis=0)
    np.testing.assert_allclose(rate, levels / L0.Iin_snn * n, atol=n / L0.tau_S + 2)


def test_divergence_report_names_the_deviations(small_net):
    """The report's numbers, against a bound derived from docs/method.md#the-comparators-threshold.

    Under the `unbiased` policy a neuron's reconstruction r (decode r/(κf)) stays in the band
    [c − Δ/2, c + Δ/2) of its drive c, one kick wide, with Δ = I_in/τ_S in ANN units (kick K = κ I_in f/τ_S, decoded
    K/(κf) = I_in/τ_S; here 6/64 = 0.09375). Two runs of the same drive therefore differ by less than one kick at
    every step, |fb_a − fb_b| < Δ, whatever their spike phases. The Loihi variants differ from Brian2 only in the
    timing of the compartment join and the layer-0 input (a step), so layer 0 sees the same drive up to that lag
    and the bound is ≤ Δ; deeper layers see drives that differ by the upstream difference, and stay inside it too
    (measured max 0.09375, 0.0931, 0.0075 per layer: the first equals one kick exactly). If the two phases were
    independent and uniform over their bands the RMS difference would be Δ/√6 = 0.038; measured fb RMSE 0.0105,
    0.0113, 0.0015. Class agreement is 1.0 for every decode and variant (measured; the emulator is integer
    arithmetic, so the run is deterministic and the number pinned)."""
    from lprnn_brian.loihi.compare import EMULATOR_RUNS, divergence

    rng = np.random.default_rng(4)
    spec = small_net.spec
    drive = np.stack([layer0_drive(rng.uniform(0, 1, (spec.n_frames, spec.layers[0].W_ann.shape[1])), spec)
                      for _ in range(2)])
    d = divergence(small_net, drive)
    assert set(d["variants"]) == set(EMULATOR_RUNS)
    assert spec.threshold_policy == "unbiased"
    kick = [spec.Iin / L.tau_S for L in spec.layers]  # Δ in ANN units, one per layer
    ref = result_from_raw(spec, emulate(small_net, drive, semantics="brian2").raw, "brian2")
    for name, v in d["variants"].items():
        res = result_from_raw(spec, emulate(small_net, drive, **EMULATOR_RUNS[name]).raw, name)
        for k, L in enumerate(v["layers"]):
            diff = np.abs(res.frame_decodes["fb"][k].astype(float) - ref.frame_decodes["fb"][k].astype(float))
            assert diff.max() <= kick[k] * (1 + 1e-12), (name, L["name"], diff.max())
            assert L["fb_rmse"] == pytest.approx(float(np.sqrt(np.mean(diff ** 2))), rel=1e-12)
            assert L["fb_rmse"] <= kick[k] / math.sqrt(6), (name, L["name"], L["fb_rmse"])
            assert 0 <= L["spike_agreement"] <= L["spike_agreement_at_best_lag"] <= 1
        assert v["class_agreement"] == {"fb": 1.0, "ip": 1.0, "in": 1.0, "count": 1.0}, name


# --- cores ---------------------------------------------------------------------------------------------------
def test_allocation_respects_every_core_limit(small_net):
    """Tight limits force splits: 4 compartments per core = 2 neurons; every core's usage within limits, every
    neuron placed once, layers on consecutive cores."""
    limits = CoreLimits(compartments=4, synaptic_memory_bits=10_000, input_axons=4096, output_axons=4096)
    P = allocate(small_net, limits)
    first = 0
    for L, p in zip(small_net.layers, P):
        assert p.first_core == first and sum(p.neurons_per_core) == L.n
        assert p.cores == math.ceil(L.n / 2)
        for c in p.per_core:
            assert c["ok"] and c["compartments"] <= 4
        first += p.cores
    placement = resource_report(small_net, P, limits)["placement"]
    assert [c["core"] for c in placement] == list(range(first))
    for L in small_net.layers:  # each layer's neurons tile [0, n) over its cores
        ranges = [c["neurons"] for c in placement if c["layer"] == L.name]
        assert ranges[0][0] == 0 and ranges[-1][1] == L.n and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_synaptic_memory_limits_neurons_per_core():
    """A layer of 100 neurons with 800 dense non-zero inputs each: 800·8 + 8 bits per neuron (sparse would add
    10 index bits), so a 2^16-bit core holds ⌊65536/6408⌋ = 10 neurons: 10 cores; a neuron needing more than a
    core is refused."""
    import copy

    spec = to_snn_spec(random_model(np.random.default_rng(3), sizes=(4, 800, 100, 3)), mode="loihi")
    net = to_loihi(spec)
    L = net.layers[1]
    net2 = copy.deepcopy(net)
    net2.layers[1].rec = None
    net2.layers[1].ff.mant[:] = 2  # every synapse non-zero
    P = allocate(net2, CoreLimits(synaptic_memory_bits=2**16))
    assert P[1].cores == 10 and L.n == 100
    with pytest.raises(UserInputError, match="beyond one Loihi core"):
        allocate(net2, CoreLimits(synaptic_memory_bits=1000))


# --- bundle --------------------------------------------------------------------------------------------------
def _assert_same_network(a, b) -> None:
    assert a.spec.digest() == b.spec.digest()
    for La, Lb in zip(a.layers, b.layers):
        for c in ("ic", "soma"):
            ca, cb = getattr(La, c), getattr(Lb, c)
            for f in ("du", "bias_exp", "vth_mant", "spikes", "refractory", "v_min"):
                assert getattr(ca, f) == getattr(cb, f)
            np.testing.assert_array_equal(ca.dv, cb.dv)
            np.testing.assert_array_equal(ca.bias_mant, cb.bias_mant)
        assert [p.kind for p in La.projections] == [p.kind for p in Lb.projections]
        for pa, pb in zip(La.projections, Lb.projections):
            np.testing.assert_array_equal(pa.exp, pb.exp)
            assert (pa.sign_mode, pa.num_weight_bits) == (pb.sign_mode, pb.num_weight_bits)
            np.testing.assert_array_equal(pa.mant, pb.mant)


def test_per_row_bundle_round_trip_is_lossless(per_unit_net, tmp_path):
    """Per-row exponents travel as a list in bundle.json and come back as the same array."""
    back = load_bundle(save_bundle(per_unit_net, tmp_path / "b")).network
    _assert_same_network(per_unit_net, back)
    assert np.ndim(back.layers[0].rec.exp) == 1


def test_bundle_round_trip_is_lossless(small_net, tmp_path):
    out = save_bundle(small_net, tmp_path / "b")
    back = load_bundle(out).network
    _assert_same_network(small_net, back)
    rng = np.random.default_rng(0)
    drive = layer0_drive(rng.uniform(0, 1, (small_net.spec.n_frames, 6)), small_net.spec)
    a, b = emulate(small_net, drive), emulate(back, drive)
    for k in range(len(a.spikes)):
        np.testing.assert_array_equal(a.spikes[k], b.spikes[k])
    with pytest.raises(UserInputError, match="--force"):
        save_bundle(small_net, out)
    def strict(token):  # bundle.json is standard JSON: no NaN or Infinity
        raise AssertionError(f"{token} in bundle.json")

    meta = json.loads((out / JSON_NAME).read_text(), parse_constant=strict)
    assert meta["format"] == "lprnn_brian.loihi_bundle" and meta["version"] == 1
    assert "wrap" in meta["semantics"] and meta["discretisation"]["dt_s"] == small_net.spec.dt


def test_corrupted_and_future_bundles_are_refused(small_net, tmp_path):
    good = save_bundle(small_net, tmp_path / "good")

    def variant(name, edit):
        d = tmp_path / name
        shutil.copytree(good, d)
        edit(d)
        return d

    def flip(d):
        data = bytearray((d / NPZ_NAME).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (d / NPZ_NAME).write_bytes(bytes(data))

    def future(d):
        meta = json.loads((d / JSON_NAME).read_text())
        meta["version"] = 99
        (d / JSON_NAME).write_text(json.dumps(meta))

    cases = {
        "flipped": (flip, "checksum"),
        "truncated json": (lambda d: (d / JSON_NAME).write_text((d / JSON_NAME).read_text()[:100]), "corrupted"),
        "future": (future, "version-99 bundle.*upgrade"),
        "no arrays": (lambda d: (d / NPZ_NAME).unlink(), "missing"),
        "other format": (lambda d: (d / JSON_NAME).write_text('{"format": "x"}'), "not an lprnn_brian Loihi"),
    }
    for name, (edit, message) in cases.items():
        with pytest.raises(UserInputError, match=message):
            load_bundle(variant(name, edit))
    with pytest.raises(UserInputError, match="not a Loihi bundle"):
        load_bundle(tmp_path / "nothing")


def test_export_loihi_cli(tmp_path, capsys):
    """`export loihi` with inputs writes the bundle and the report; the summary's emulator numbers are those of
    the loaded bundle's own emulation; a second export refuses to overwrite; bad input exits 2."""
    from lprnn_brian.ann.model import save_model

    model = random_model(np.random.default_rng(11))
    mpath = tmp_path / "m.npz"
    save_model(model, mpath)
    x = np.random.default_rng(1).uniform(0, 1, (3, model.n_frames, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "bundle"
    rc = main(["export", "loihi", str(mpath), "--out", str(out), "--inputs", str(tmp_path / "x.npy"), "--json",
               "--quiet", "--compare-samples", "2"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    report = (out / "report.md").read_text()
    assert "cores" in report and "Lossy steps" in report and "Brian2 Loihi mode" in report
    b = load_bundle(out)
    drive = np.stack([layer0_drive(xi, b.network.spec) for xi in x])
    run = emulate(b.network, drive, record="none")
    spikes = sum(s.sum() for s in run.spikes) / 3
    assert summary["emulator"]["spikes_per_sample"] == pytest.approx(spikes)
    assert main(["export", "loihi", str(mpath), "--out", str(out)]) == 2
    assert main(["export", "loihi", str(mpath), "--out", str(tmp_path / "o3"), "--mode", "float"]) == 2
    assert main(["export", "loihi", str(mpath), "--out", str(tmp_path / "o2"), "--labels", str(tmp_path / "x.npy")]) == 2


@pytest.mark.slow
def test_brian2_semantics_equals_cpp_standalone_on_shd(shd_model, build_root):
    """The authors' SHD network, two test clips: the ``'brian2'`` emulation and the Brian2 Loihi mode compiled
    with cpp_standalone give the same decodes bit for bit at every frame end (every state is an integer and
    every decay 63/64: exact arithmetic in either order)."""
    from lprnn_brian.tasks.digits import load_digits

    spec = to_snn_spec(shd_model, mode="loihi")
    net = to_loihi(spec)
    x = load_digits("test", front_end="shd")[0][:2]
    em = emulate(net, np.stack([layer0_drive(xi, spec) for xi in x]), semantics="brian2")
    mine = result_from_raw(spec, em.raw, "emulation")
    ref = simulate(spec, x, target="cpp_standalone", sampling="frames", build_root=build_root)
    for d in ("fb", "ip", "in", "count"):
        for k in range(len(spec.layers)):
            np.testing.assert_array_equal(mine.frame_decodes[d][k], ref.frame_decodes[d][k])
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(mine.spikes[k], ref.spikes[k])


def test_loihi_register_constants_are_defined_once():
    """The shifts and the decay unity of the fixed-point formats agree with the declaration and the conversion:
    a weight adds w·64 = w << 6, the threshold is vth_mant << 6, decays are x·k/4096 = (x·k) >> 12."""
    from lprnn_brian import convert
    from lprnn_brian.equations import sigma_delta as sd

    assert 1 << q.ACTIVATION_SHIFT_BITS == sd.ACTIVATION_SHIFT == 64
    assert 1 << q.DECAY_SHIFT == q.DECAY_UNITY == convert.DECAY_DENOMINATOR == 4096
    assert q.threshold_mant(64 * 5) == 5
