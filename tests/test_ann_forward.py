"""Numpy reference forward of the rate lpRNN (lprnn_brian.ann.forward) against the authors' arithmetic.

Oracle for the trained model: a line-by-line transcription of the authors' torch forward
(``shd/shdANN/models.py``, ``layers/jit_lpLinear.py``, ``layers/jit_lpRNN.py``, ``layers/Dense.py``,
``layers/q_utils.py``) run on the state_dict that ``torch.load(..., weights_only=True)`` returns.
"""
from __future__ import annotations


import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel, forward, quantise, read_reference_checkpoint, weight_codes
from lprnn_brian.ann.quantise import code_bits
from lprnn_brian.errors import UserInputError

from conftest import REFERENCE_CKPT as CKPT  # noqa: E402  (../shared beside the repository)
needs_ckpt = pytest.mark.skipif(not CKPT.is_file(), reason="authors' SHD checkpoint not available")

# Tolerance of numpy vs torch float32. Both evaluate the same float32 operations in the same order; only the
# summation order inside the BLAS dot products (≤ 512 terms) differs, so each result carries a few ulp of
# its magnitude (measured against a float64 evaluation, numpy and torch are equally far from it: ≤ 3.5e-6 on
# hidden states in [0, 6], ≤ 8.4e-6 on the read-out, |o| ≤ 30, where 1 ulp = 1.9e-6). Bound: 1e-5 at the
# clamp level Iin = 6 (≈ 20 ulp), scaled with the tensor's magnitude above it:
# max|ours − theirs| ≤ 1e-5 · max(1, max|theirs| / 6). Hidden states: 1e-5; read-out and logits: ≈ 5e-5.
TOL = 1e-5


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Max |ours − theirs|, checked against TOL · max(1, max|theirs| / Iin)."""
    diff = float(np.abs(ours - theirs).max())
    bound = TOL * max(1.0, float(np.abs(theirs).max()) / 6.0)
    assert diff <= bound, f"max |numpy - torch| = {diff:.3g} > {bound:.3g}"
    return diff


def shd_like_inputs(n: int, seed: int) -> np.ndarray:
    """(n, 125, 80) float32 inputs z-scored per sample over (time, mel) like the SHD features."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 125, 80)) * np.linspace(0.5, 2.0, 80) + rng.standard_normal((n, 1, 80))
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), ddof=1, keepdims=True) + 1e-10)
    return x.astype(np.float32)


# --- transcription of the authors' torch code (the oracle) ----------------------------------------------

def _authors_quantize_weight(torch, weight, int_bits, frac_bits):
    upper = 2 ** (int_bits - 1) - 1
    lower = -(2 ** (int_bits - 1)) + 1
    scale = 2**frac_bits
    weight_q = weight.clamp(lower, upper).mul(scale).round().div(scale)
    return (weight_q - weight).detach() + weight


def authors_forward(sd, x, frac_bits=3, int_bits=32, ret=0.8, act_max=6):
    """small_lprnn_net.forward with jit_lpLinear/jit_lpRNN/Dense, on CPU, as the authors wrote it."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(x).float()
    states = []

    def q(w):
        return _authors_quantize_weight(torch, w, int_bits, frac_bits) if frac_bits < 32 else w

    def lowpass(ip, W, b, U=None):
        # quantize() runs once per forward (models.py), so the quantised tensors are fixed over the frames
        W, b, U = q(W), q(b), None if U is None else q(U)
        hidden = W.shape[0]
        a = ret * torch.ones(hidden)
        hx = torch.zeros(1, hidden)
        outputs = torch.zeros((ip.shape[0], ip.shape[1], hidden))
        for t, xt in enumerate(torch.unbind(ip, dim=1)):
            hy = F.linear(xt, W, b)
            if U is not None:
                hy = hy + torch.mm(hx, U.t())
            hy = torch.clamp(hy, 0, act_max)
            hx = a * hx + (1 - a) * hy
            outputs[:, t, :] += hx
        return outputs

    with torch.no_grad():
        h = lowpass(x, sd["lpff.linear.weight"], sd["lpff.linear.bias"])
        states.append(h)
        k = 0
        while f"rnn_layers.{k}.linear.weight" in sd:
            h = lowpass(h, sd[f"rnn_layers.{k}.linear.weight"], sd[f"rnn_layers.{k}.linear.bias"],
                        sd[f"rnn_layers.{k}.linear_hh.weight"])
            states.append(h)
            k += 1
        o = F.linear(h, q(sd["out.linear.weight"]), q(sd["out.linear.bias"]))
        states.append(o)
        logits = torch.mean(o[:, o.shape[1] // 2:], axis=1)
    return [s.numpy() for s in states], logits.numpy()


@pytest.fixture(scope="module")
def shd_model():
    return read_reference_checkpoint(CKPT, "shd")


@pytest.fixture(scope="module")
def torch_state():
    torch = pytest.importorskip("torch")
    return torch.load(CKPT, weights_only=True, map_location="cpu")


# --- the trained SHD model ------------------------------------------------------------------------------

@needs_ckpt
def test_numpy_forward_matches_authors_torch_on_checkpoint(shd_model, torch_state):
    """Oracle: transcription of the authors' torch forward on torch.load(weights_only=True) of the real SHD
    checkpoint, 6 z-scored random SHD-like inputs (125×80). Every layer state and the logits agree to 1e-5 at
    magnitude Iin (see TOL: hidden states 1e-5, read-out/logits scaled to ≈ 5e-5), predictions identical."""
    x = shd_like_inputs(6, seed=1)
    ref_states, ref_logits = authors_forward(torch_state, x)
    res = forward(shd_model, x)
    assert res.layer_names == ["lpff_1", "lprnn_1", "lprnn_2", "output"]
    worst = 0.0
    for ours, theirs in zip(res.states, ref_states):
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        worst = max(worst, assert_close(ours, theirs))
    assert_close(res.logits, ref_logits)
    np.testing.assert_array_equal(res.predictions, ref_logits.argmax(axis=1))
    print(f"max |numpy - torch| over states = {worst:.3g}, "
          f"logits = {float(np.abs(res.logits - ref_logits).max()):.3g}")


@needs_ckpt
def test_torch_twin_loads_authors_state_dict_and_matches_numpy(shd_model, torch_state):
    """Oracle: numpy forward. TorchLpRNN built from the model file loads the authors' state_dict with
    strict=True (same keys), and its states, read-out and logits (both windows) agree with numpy within TOL."""
    torch = pytest.importorskip("torch")
    from lprnn_brian.ann.torch_model import TorchLpRNN

    net = TorchLpRNN.from_model(shd_model)
    net.load_state_dict(torch_state, strict=True)
    assert set(net.state_dict()) == set(torch_state)
    x = shd_like_inputs(3, seed=2)
    with torch.no_grad():
        o, states = net(torch.from_numpy(x), return_states=True)
    res = forward(shd_model, x)
    for ours, theirs in zip(res.states, states + [o]):
        assert_close(ours, theirs.numpy())
    for window in ("second_half", "all"):
        assert_close(res.window_logits[window], net.logits(o, window).numpy())
    assert net.to_model().quantised().layers[1].U.tobytes() == shd_model.quantised().layers[1].U.tobytes()


@needs_ckpt
def test_quantised_checkpoint_codes_are_3_bit(shd_model):
    """Oracle: docs/method.md#quantisation-export-and-pruning / reference README: with F = 3 every tensor's codes lie in
    {−4…3} (3 bits). Codes recorded when written: lpff W {−3…3}, b {−1,0,1}; lprnn_1 W {−3…2}, U {−3…2}, b {0,1};
    lprnn_2 W {−4,−2…3}, U {−2…3}, b {0,1}; output W {−4…2}, b {0}."""
    seen = {}
    for layer in shd_model.layers:
        for name, t in layer.tensors().items():
            codes = weight_codes(t, shd_model.frac_bits)
            assert codes.min() >= -4 and codes.max() <= 3, (layer.name, name, codes)
            seen[f"{layer.name}/{name}"] = codes.tolist()
    assert seen["lpff_1/W"] == [-3, -2, -1, 0, 1, 2, 3]
    assert seen["lprnn_2/W"] == [-4, -2, -1, 0, 1, 2, 3]
    assert seen["output/W"] == [-4, -3, -2, -1, 0, 1, 2]
    assert seen["output/b"] == [0]
    all_codes = np.unique(np.concatenate([np.array(v) for v in seen.values()]))
    assert all_codes.tolist() == [-4, -3, -2, -1, 0, 1, 2, 3] and code_bits(all_codes) == 3


@needs_ckpt
def test_shd_checkpoint_counts(shd_model):
    """Oracle: docs/method.md#architectures-read-out-and-training (derived): 873,620 parameters = 10,368 + 328,192 +
    524,800 + 10,260, 1,172 biases, 1,172 neurons."""
    assert shd_model.n_parameters() == 873_620
    assert [layer.n_parameters() for layer in shd_model.layers] == [10_368, 328_192, 524_800, 10_260]
    assert sum(layer.b.size for layer in shd_model.layers) == 1_172
    assert shd_model.n_neurons() == 1_172


@needs_ckpt
def test_quantise_flag_changes_the_result(shd_model):
    """Oracle: quantise=False equals forward of the explicitly quantised model only when passed the
    quantised weights (idempotence of q); on latent weights it differs."""
    x = shd_like_inputs(2, seed=3)
    a = forward(shd_model, x)
    b = forward(shd_model.quantised(), x, quantise=False)
    c = forward(shd_model, x, quantise=False)
    np.testing.assert_array_equal(a.logits, b.logits)
    assert np.abs(a.logits - c.logits).max() > 1e-3


# --- the two clamp conventions --------------------------------------------------------------------------

def _small_model(W_scale: float, b_val: float, seed: int = 0) -> LpRNNModel:
    rng = np.random.default_rng(seed)
    layers = [
        Layer("lpff_1", "lpff", rng.uniform(0, W_scale, (6, 4)), np.full(6, b_val), retention=0.8),
        Layer("lprnn_1", "lprnn", rng.uniform(0, W_scale, (5, 6)), np.full(5, b_val),
              U=rng.uniform(0, W_scale, (5, 5)), retention=0.7),
        Layer("output", "dense", rng.uniform(-1, 1, (3, 5)), np.zeros(3)),
    ]
    return LpRNNModel(layers=layers, frac_bits=32, n_frames=20, frame_dt=1 / 20)


def test_clamp_conventions_agree_when_preactivations_in_range():
    """Oracle: docs/method.md#two-clamp-conventions: with 0 ≤ z ≤ Iin everywhere the two conventions are the same
    arithmetic. Model: non-negative W and U ≤ 0.05, b = 0.1, inputs in [0, 1]; the pre-activations of both layers are
    recomputed from the states and checked to lie in [0, Iin]. States and logits then agree bit for bit."""
    model = _small_model(0.05, 0.1)
    x = np.random.default_rng(1).uniform(0, 1, (4, 20, 4)).astype(np.float32)
    a = forward(model, x, clamp="clamp_then_filter")
    b = forward(model, x, clamp="filter_then_clamp")
    lpff, rnn = model.layers[0], model.layers[1]
    h0, h1 = a.states[0], a.states[1]
    h1_prev = np.concatenate([np.zeros_like(h1[:, :1]), h1[:, :-1]], axis=1)
    z0 = x @ lpff.W.T + lpff.b
    z1 = h0 @ rnn.W.T + rnn.b + h1_prev @ rnn.U.T
    for z in (z0, z1):
        assert z.min() >= 0 and z.max() <= model.Iin
    for s1, s2 in zip(a.states, b.states):
        np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(a.logits, b.logits)


def test_clamp_conventions_differ_when_preactivations_leave_range():
    """Oracle: docs/method.md#two-clamp-conventions: a pre-activation above Iin (large positive weights) or below 0
    makes the conventions differ: hidden states differ by more than 1e-3; filter_then_clamp states stay in [0, Iin]."""
    model = _small_model(3.0, 2.0)
    x = np.random.default_rng(2).uniform(-1, 1, (3, 20, 4)).astype(np.float32)
    a = forward(model, x, clamp="clamp_then_filter")
    b = forward(model, x, clamp="filter_then_clamp")
    assert np.abs(a.states[0] - b.states[0]).max() > 1e-3
    assert b.states[1].min() >= 0 and b.states[1].max() <= model.Iin
    np.testing.assert_array_equal(b.output_decode, np.clip(b.output, 0, model.Iin))


def test_single_layer_filter_then_clamp_by_hand():
    """Oracle: hand evaluation of docs/method.md#two-clamp-conventions for one unit, a = 0.5, Iin = 6, z = 20, −20, 20:
    h̃ = 10, 0, 10 → ĥ = 6, 0, 6; clamp_then_filter: h = 3, 1.5, 3.75."""
    layers = [Layer("lpff_1", "lpff", [[1.0]], [0.0], retention=0.5), Layer("output", "dense", [[1.0]], [0.0])]
    model = LpRNNModel(layers=layers, frac_bits=32, n_frames=3)
    x = np.array([[[20.0], [-20.0], [20.0]]], np.float32)
    ftc = forward(model, x, clamp="filter_then_clamp").states[0][0, :, 0]
    ctf = forward(model, x, clamp="clamp_then_filter").states[0][0, :, 0]
    np.testing.assert_array_equal(ftc, [6.0, 0.0, 6.0])
    np.testing.assert_array_equal(ctf, [3.0, 1.5, 3.75])


def test_reconstruction_is_the_mean_transfer_inside_the_one_update_range(tmp_path):
    """With ``reconstruction`` the state a layer feeds back and passes on is table(min(h̃, Iin)) (table: derive.
    mean_transfer of the model's policy and τ_S), kept in [a ĥ_prev, a ĥ_prev + (1 − a) Iin] (a: the fastest unit's
    retention per update). One unit, a = 0.5, z = 20, 0.03, 20 by hand: h̃ = 10, 5.015, 12.5075; table values
    T(6) = 6, T(5.015) ≈ 5.0, T(6); ranges [0, 3], [1.5, 4.5], [2.25, 5.25] → ĥ = 3, 4.5, 5.25 (the rise limited
    each time); the model file keeps the reconstruction (format 3), and a bad one is refused."""
    from lprnn_brian.ann.model import load_model, save_model
    from lprnn_brian.equations.derive import mean_transfer

    layers = [Layer("lpff_1", "lpff", [[1.0]], [0.0], retention=0.5), Layer("output", "dense", [[1.0]], [0.0])]
    model = LpRNNModel(layers=layers, frac_bits=32, n_frames=3, reconstruction={"policy": "unbiased", "tau_S": 64.0})
    c, h = mean_transfer("unbiased", 64.0, 6.0)
    assert np.interp(6.0, c, h) == pytest.approx(6.0, abs=1e-12) and 4.5 < np.interp(5.015, c, h) < 5.2
    x = np.array([[[20.0], [0.03], [20.0]]], np.float32)
    got = forward(model, x, clamp="filter_then_clamp").states[0][0, :, 0]
    np.testing.assert_allclose(got, [3.0, 4.5, 5.25], rtol=1e-6)
    x2 = np.array([[[4.0], [4.0], [4.0]]], np.float32)  # inside the range: the table alone (h̃ = 2, 3, 3.5)
    np.testing.assert_allclose(forward(model, x2, clamp="filter_then_clamp").states[0][0, :, 0],
                               np.interp([2.0, 3.0, 3.5], c, h), rtol=1e-6)
    back = load_model(save_model(model, tmp_path / "t.npz"))
    assert back.reconstruction == {"policy": "unbiased", "tau_S": 64.0}
    import json
    with np.load(tmp_path / "t.npz") as z:
        assert json.loads(str(z["meta"]))["format_version"] == 3
    model.reconstruction = {"policy": "round", "tau_S": 64.0}
    with pytest.raises(UserInputError, match="reconstruction must be"):
        model.validate()


# --- read-out windows and inputs ------------------------------------------------------------------------

def test_readout_windows():
    """Oracle: definition (docs/method.md#architectures-read-out-and-training): second half averages frames t ≥ ⌊T/2⌋
    (0-based), 'all' every frame; with T = 5 and a read-out that copies a lpff state that rises monotonically, the
    second-half mean (frames 2, 3, 4) is larger than the all-frame mean."""
    layers = [Layer("lpff_1", "lpff", [[1.0]], [0.0], retention=0.5), Layer("output", "dense", [[1.0]], [0.0])]
    model = LpRNNModel(layers=layers, frac_bits=32, n_frames=5)
    x = np.ones((1, 5, 1), np.float32)
    r = forward(model, x)
    o = r.output[0, :, 0]
    assert r.window_logits["second_half"][0, 0] == pytest.approx(o[2:].mean(), abs=1e-7)
    assert r.window_logits["all"][0, 0] == pytest.approx(o.mean(), abs=1e-7)
    assert r.logits is r.window_logits["second_half"]
    assert set(r.window_predictions) == {"second_half", "all"}


def test_single_2d_sample_is_a_batch_of_one():
    """Oracle: the same sample given as (frames, features) or (1, frames, features) gives identical logits."""
    model = _small_model(0.5, 0.0)
    x = np.random.default_rng(3).standard_normal((20, 4)).astype(np.float32)
    np.testing.assert_array_equal(forward(model, x).logits, forward(model, x[None]).logits)


def test_batch_equals_per_sample():
    """Oracle: samples are independent: the batched result equals sample-by-sample runs to 1e-6 (only the
    BLAS blocking may differ)."""
    model = _small_model(0.5, 0.1)
    x = np.random.default_rng(4).standard_normal((5, 20, 4)).astype(np.float32)
    full = forward(model, x)
    for i in range(5):
        one = forward(model, x[i])
        for s_full, s_one in zip(full.states, one.states):
            np.testing.assert_allclose(s_full[i], s_one[0], atol=1e-6)


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((2, 20, 5), np.float32), "features=4"),
    (np.zeros((2, 3, 20, 4), np.float32), "features=4"),
    (np.zeros((2, 20, 4), np.int32), "floating-point"),
    (np.full((1, 20, 4), np.nan, np.float32), "NaN"),
    (np.full((1, 20, 4), np.inf, np.float32), "NaN or inf"),
    (np.zeros((2, 0, 4), np.float32), "at least one frame"),
])
def test_bad_inputs_are_user_errors(bad, msg):
    """Oracle: the documented input contract: (samples, frames, features=N) finite floats, else
    UserInputError naming the expected shape or the problem."""
    with pytest.raises(UserInputError, match=msg):
        forward(_small_model(0.5, 0.0), bad)


def test_bad_clamp_is_user_error():
    """Oracle: clamp must be one of the two conventions."""
    with pytest.raises(UserInputError, match="clamp"):
        forward(_small_model(0.5, 0.0), np.zeros((1, 3, 4), np.float32), clamp="relu")


def test_keep_states_false_keeps_only_readout():
    """Oracle: same logits with and without hidden states kept."""
    model = _small_model(0.5, 0.1)
    x = np.random.default_rng(5).standard_normal((2, 20, 4)).astype(np.float32)
    a, b = forward(model, x), forward(model, x, keep_states=False)
    assert b.layer_names == ["output"]
    np.testing.assert_array_equal(a.logits, b.logits)


# --- quantiser ------------------------------------------------------------------------------------------

def test_quantise_matches_definition_and_torch():
    """Oracle: the definition in docs/method.md#quantisation-export-and-pruning and torch.round (half-to-even): ties
    0.0625 → 0, 0.1875 → 0.25, −0.0625 → +0; clip at ±(2^(I−1)−1) for I = 3; identity for F ≥ 32; random weights
    equal the authors' quantize_weight bit for bit."""
    w = np.array([0.0625, 0.1875, -0.0625, 0.3, -0.49, 7.0, -9.0], np.float32)
    np.testing.assert_array_equal(quantise(w, 32, 3), [0.0, 0.25, 0.0, 0.25, -0.5, 7.0, -9.0])
    assert not np.signbit(quantise(w, 32, 3)[2])  # +0 like the authors' (q − w) + w
    np.testing.assert_array_equal(quantise(w, 3, 3), [0.0, 0.25, -0.0, 0.25, -0.5, 3.0, -3.0])
    np.testing.assert_array_equal(quantise(w, 32, 32), w)
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(6).uniform(-2, 2, 10_000).astype(np.float32)
    for I, F in [(32, 3), (2, 4), (4, 1), (32, 0)]:
        theirs = _authors_quantize_weight(torch, torch.from_numpy(r), I, F).numpy()
        assert quantise(r, I, F).tobytes() == theirs.tobytes()


def test_quantise_rejects_bad_bits():
    """Oracle: I ≥ 1 integer, F integer; otherwise UserInputError."""
    with pytest.raises(UserInputError):
        quantise(np.ones(3), 0, 3)
    with pytest.raises(UserInputError):
        quantise(np.ones(3), 32, 2.5)
    with pytest.raises(UserInputError):
        weight_codes(np.ones(3), 32)
