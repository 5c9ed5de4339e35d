"""Torch twin of the lpRNN (lprnn_brian.ann.torch_model): conversion, quantisation-aware gradients, generality.

Oracle: the numpy reference forward (itself tested against the authors' torch code in test_ann_forward.py).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel, forward
from lprnn_brian.errors import UserInputError

torch = pytest.importorskip("torch")
from lprnn_brian.ann.torch_model import TorchLpRNN, quantise_ste, readout_logits  # noqa: E402

TOL = 1e-5  # float32 BLAS summation-order differences on values of order 1 (see test_ann_forward.TOL)


def _model(seed=0, lpff=True, rnn=(5, 4), n_in=3, n_out=2, scale=0.6) -> LpRNNModel:
    rng = np.random.default_rng(seed)
    layers, prev = [], n_in
    if lpff:
        layers.append(Layer("lpff_1", "lpff", rng.uniform(-scale, scale, (4, prev)), rng.uniform(-0.2, 0.5, 4),
                            retention=0.8))
        prev = 4
    for k, n in enumerate(rnn):
        layers.append(Layer(f"lprnn_{k + 1}", "lprnn", rng.uniform(-scale, scale, (n, prev)),
                            rng.uniform(-0.2, 0.5, n), U=rng.uniform(-scale, scale, (n, n)), retention=0.8))
        prev = n
    layers.append(Layer("output", "dense", rng.uniform(-1, 1, (n_out, prev)), rng.uniform(-0.1, 0.1, n_out)))
    return LpRNNModel(layers=layers, n_frames=16, frame_dt=1 / 16, class_names=[f"c{i}" for i in range(n_out)],
                      task="unit", features={"n_mels": n_in}, provenance={"seed": seed})


@pytest.mark.parametrize("lpff, rnn", [(True, (5, 4)), (False, (6,)), (True, (3, 3, 2))])
@pytest.mark.parametrize("clamp", ["clamp_then_filter", "filter_then_clamp"])
def test_torch_forward_matches_numpy(lpff, rnn, clamp):
    """Oracle: numpy forward (quantised, same clamp convention): every state and both windows' logits agree
    to 1e-5, for models with and without lpff and one to three lpRNN layers."""
    model = _model(lpff=lpff, rnn=rnn)
    x = np.random.default_rng(1).standard_normal((4, 16, 3)).astype(np.float32) * 3
    net = TorchLpRNN.from_model(model, clamp=clamp)
    with torch.no_grad():
        o, states = net(torch.from_numpy(x), return_states=True)
    ref = forward(model, x, clamp=clamp)
    for ours, theirs in zip(states + [o], ref.states):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=TOL, rtol=TOL)
    for w in ("second_half", "all"):
        np.testing.assert_allclose(net.logits(o, w).numpy(), ref.window_logits[w], atol=TOL, rtol=TOL)
    np.testing.assert_allclose(net.logits(o).numpy(), ref.logits, atol=TOL, rtol=TOL)


def test_torch_forward_with_reconstruction_matches_numpy():
    """A model trained through the ΣΔ mean reconstruction: the torch twin (piecewise-linear interpolation, differentiable)
    equals the numpy forward (np.interp) to 1e-5, and the reconstruction survives to_model()."""
    model = _model(lpff=True, rnn=(5,))
    model.reconstruction = {"policy": "unbiased", "tau_S": 64.0}
    x = np.random.default_rng(2).standard_normal((3, 16, 3)).astype(np.float32) * 3
    net = TorchLpRNN.from_model(model, clamp="filter_then_clamp")
    xt = torch.from_numpy(x)
    o, states = net(xt, return_states=True)
    ref = forward(model, x, clamp="filter_then_clamp")
    for ours, theirs in zip(states + [o], ref.states):
        np.testing.assert_allclose(ours.detach().numpy(), theirs, atol=TOL, rtol=TOL)
    o.sum().backward()
    assert net.out.linear.weight.grad is not None and torch.isfinite(net.out.linear.weight.grad).all()
    assert net.to_model().reconstruction == model.reconstruction


def test_reconstruction_ripple_is_training_only_uniform_noise_of_its_width():
    """``ripple`` r: in training mode each layer passes on its reconstruction plus uniform noise on [-r/2, r/2) (for
    the feed-forward first layer its own state is untouched, so the difference to evaluation mode is that noise: bounded
    by r/2, standard deviation r/sqrt(12) to the sampling error of 3000 draws, ~4 %); in evaluation mode the
    forward is the numpy one."""
    model = _model(lpff=True, rnn=(5,))
    model.reconstruction = {"policy": "unbiased", "tau_S": 64.0}
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((50, 16, 3)).astype(np.float32) * 3)
    net = TorchLpRNN.from_model(model, clamp="filter_then_clamp")
    net.ripple = r = 0.25
    net.eval()
    with torch.no_grad():
        _, (quiet, _) = net(x, return_states=True)
    np.testing.assert_allclose(quiet.numpy(), forward(model, x.numpy(), clamp="filter_then_clamp").states[0],
                               atol=TOL, rtol=TOL)
    net.train()
    torch.manual_seed(0)
    with torch.no_grad():
        _, (noisy, _) = net(x, return_states=True)
    d = (noisy - quiet).numpy().ravel()
    assert np.abs(d).max() <= r / 2 + TOL
    assert d.std() == pytest.approx(r / np.sqrt(12), rel=0.15)
    assert abs(d.mean()) < 4 * r / np.sqrt(12) / np.sqrt(d.size)


def test_state_dict_keys_are_the_authors():
    """Oracle: the authors' small_lprnn_net key names (lpff.linear.*, rnn_layers.k.linear*, out.linear.*);
    retention is not stored."""
    net = TorchLpRNN(80, 128, [512, 512], 20, seed=0)
    assert list(net.state_dict()) == [
        "lpff.linear.weight", "lpff.linear.bias",
        "rnn_layers.0.linear.weight", "rnn_layers.0.linear.bias", "rnn_layers.0.linear_hh.weight",
        "rnn_layers.1.linear.weight", "rnn_layers.1.linear.bias", "rnn_layers.1.linear_hh.weight",
        "out.linear.weight", "out.linear.bias"]


def test_model_round_trip_is_bit_exact():
    """Oracle: bit equality: LpRNNModel -> TorchLpRNN -> LpRNNModel keeps every latent weight and field."""
    model = _model()
    assert TorchLpRNN.from_model(model).to_model().equals(model)


def test_straight_through_gradient():
    """Oracle: docs/method.md#quantisation-export-and-pruning STE: the forward value is q(w) and d loss/d w equals the
    gradient of the same loss taken with respect to q(w) itself (an unquantised net holding q(w) as its weights), to
    1e-6."""
    model = _model(scale=0.9)
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((3, 16, 3)).astype(np.float32))
    latent = TorchLpRNN.from_model(model)
    qnet = TorchLpRNN.from_model(model.quantised())
    qnet.frac_bits = 32
    losses = []
    for net in (latent, qnet):
        loss = (net.logits(net(x)) ** 2).sum()
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == losses[1]
    for (name, p), (_, pq) in zip(latent.named_parameters(), qnet.named_parameters()):
        assert p.grad is not None and torch.allclose(p.grad, pq.grad, atol=1e-6), name
    w = torch.tensor([0.3, -0.0625, 0.1875], requires_grad=True)
    q = quantise_ste(w, 32, 3)
    assert q.tolist() == [0.25, 0.0, 0.25]
    q.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0]


def test_initialisation_is_seeded_xavier_orthogonal_zero():
    """Oracle: the authors' init (docs/method.md#layers-and-time-constant): same seed -> same weights; U orthogonal
    (U Uᵀ = I to 1e-5); zero biases; Xavier-uniform bound sqrt(6/(in+out))."""
    a, b = TorchLpRNN(10, 8, [6], 3, seed=3), TorchLpRNN(10, 8, [6], 3, seed=3)
    for (n, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(p, q), n
    U = a.rnn_layers[0].linear_hh.weight.detach()
    assert torch.allclose(U @ U.T, torch.eye(6), atol=1e-5)
    assert float(a.lpff.linear.weight.detach().abs().max()) <= (6 / 18) ** 0.5
    assert all(float(m.linear.bias.detach().abs().max()) == 0 for m in a.hidden_layers() + [a.out])


def test_readout_logits_and_bad_inputs():
    """Oracle: definition of the windows (T = 5: second half = frames 2–4); wrong input shape and unknown
    window are UserInputError."""
    o = torch.arange(5.0).reshape(1, 5, 1)
    assert readout_logits(o, "second_half").item() == 3.0 and readout_logits(o, "all").item() == 2.0
    with pytest.raises(UserInputError):
        readout_logits(o, "first")
    net = TorchLpRNN(3, None, [4], 2)
    with pytest.raises(UserInputError, match="features=3"):
        net(torch.zeros(1, 5, 4))
    with pytest.raises(UserInputError):
        TorchLpRNN(3, None, [], 2)


def test_unsupported_layer_order_is_user_error():
    """Oracle: TorchLpRNN's family is [lpff] + lprnn… + dense; an lpff after an lprnn is refused."""
    m = _model()
    m.layers[0], m.layers[1] = m.layers[1], m.layers[0]
    m.layers[0].W = np.zeros((5, 3), np.float32)
    m.layers[1].W = np.zeros((4, 5), np.float32)
    m.layers[2].W = np.zeros((4, 4), np.float32)
    with pytest.raises(UserInputError, match="TorchLpRNN supports"):
        TorchLpRNN.from_model(m)


def test_ann_package_does_not_import_torch_and_clear_message_without_torch():
    """Oracle: design.md (torch is an extra): importing lprnn_brian.ann loads no torch; importing the torch
    twin without torch says 'pip install lprnn_brian[train]'."""
    code = "import sys, lprnn_brian.ann; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = "import sys; sys.modules['torch'] = None; import lprnn_brian.ann.torch_model"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "pip install lprnn_brian[train]" in out.stderr
