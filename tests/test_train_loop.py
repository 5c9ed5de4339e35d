"""Tests of the training loop (lprnn_brian.training.classifier): convergence on a task learnable in seconds, QAT grid,
winning-ticket pruning with a real rewind, atomic checkpoints and resume, the read-out range penalty."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lprnn_brian.ann.quantise import quantise
from lprnn_brian.errors import UserInputError

torch = pytest.importorskip("torch")

from lprnn_brian.training.classifier import pruned_paths, save_result, train_lprnn  # noqa: E402
from lprnn_brian.training.classifier_config import TrainConfig  # noqa: E402
from lprnn_brian.ann.model import load_model  # noqa: E402

#: 4 classes; class c drives input channel c (of 6) with a constant level 1.5 in frames 4…15 of 20, plus
#: N(0, 0.3) noise everywhere. A low-pass unit with a = 0.8 integrates the level within ~5 frames, so the
#: second-half mean read-out separates the classes: learnable in a few epochs.
N_CLASSES, N_FEAT, T = 4, 6, 20


def toy_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    X = rng.normal(0.0, 0.3, (n, T, N_FEAT)).astype(np.float32)
    X[np.arange(n), 4:16, y] += 1.5
    return X, y


SMALL = TrainConfig(lpff=0, rnn=(8,), epochs=6, batch_size=16, lr=1e-2, threads=1, seed=3)


@pytest.fixture(scope="module")
def toy():
    return toy_data(240, 0), toy_data(80, 1)


def _weights(model):
    return [t for L in model.layers for k, t in L.tensors().items() if k in ("W", "U")]


def test_toy_task_converges_and_lies_on_3bit_grid(toy):
    """Oracle: chance. Cross-entropy starts near ln 4 = 1.386 (zero-initialised biases, small logits) and the
    selected model classifies held-out toy data far above chance 0.25 (≥ 0.9); every quantised tensor is an
    exact multiple of 1/8 (docs/method.md#quantisation-export-and-pruning)."""
    (X, y), (Xt, yt) = toy
    res = train_lprnn(X, y, SMALL, X_test=Xt, y_test=yt, log=None)
    first, last = res.history[0]["train_loss"], min(h["train_loss"] for h in res.history)
    assert first > 0.6 and last < 0.5 * first
    assert res.accuracy["test"] >= 0.9
    for L in res.model.layers:
        for t in L.tensors().values():
            q = quantise(t, 32, 3)
            np.testing.assert_array_equal(q * 8, np.rint(q * 8))


def test_winning_ticket_rewinds_and_keeps_mask(toy, tmp_path):
    """Oracle: docs/method.md#quantisation-export-and-pruning / decision A5 in docs/decisions.md. Iteration 1 keeps
    every weight that iteration 0's selected model quantised to 0 at exactly 0 (mask on weights and gradients), so its
    pruned fraction is ≥ iteration 0's; it restarts from a copy of the initial weights, so a run of 1 iteration
    reproduces iteration 0 of a 2-iteration run bit for bit; files are written as <stem>_nWTH_<k>."""
    (X, y), _ = toy
    cfg = dataclasses.replace(SMALL, prune_iterations=2, epochs=3)
    res = train_lprnn(X, y, cfg, log=None)
    assert len(res.models) == 2 and len(res.iterations) == 2
    m0, m1 = res.models
    for w0, w1 in zip(_weights(m0), _weights(m1)):
        zero0 = quantise(w0, 32, 3) == 0
        assert np.all(w1[zero0] == 0.0)
    assert res.iterations[1]["pruned_fraction"] >= res.iterations[0]["pruned_fraction"] > 0
    single = train_lprnn(X, y, dataclasses.replace(cfg, prune_iterations=1), log=None)
    for a, b in zip(_weights(single.model), _weights(m0)):
        np.testing.assert_array_equal(a, b)
    out = tmp_path / "m.npz"
    written = save_result(res, out)
    assert written[1:] == pruned_paths(out, 2) and all(p.is_file() for p in written)
    assert load_model(written[2]).equals(m1) and load_model(out).equals(m1)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("average", [0.0, 0.9])
def test_resume_after_interruption_is_bit_identical(toy, tmp_path, average):
    """Oracle: an uninterrupted run. A run stopped after its 2nd epoch (of 4, 2 pruning iterations) and resumed
    from its checkpoint ends with the same weights and history as a run never interrupted, with and without the
    weights' moving average (kept in the checkpoint); the checkpoint is never half-written (only the final name
    exists in the directory)."""
    (X, y), _ = toy
    cfg = dataclasses.replace(SMALL, prune_iterations=2, epochs=2, weight_average=average)
    full = train_lprnn(X, y, cfg, log=None)
    ck = tmp_path / "run.ckpt"
    calls = []

    def stop_after_two(line):
        calls.append(line)
        if len(calls) == 3:  # iteration 1, first epoch finished and checkpointed
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train_lprnn(X, y, cfg, checkpoint=ck, log=stop_after_two)
    assert ck.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]
    resumed = train_lprnn(X, y, cfg, checkpoint=ck, resume=True, log=None)
    for a, b in zip(_weights(full.model), _weights(resumed.model)):
        np.testing.assert_array_equal(a, b)
    assert [h["val_loss"] for h in full.history] == [h["val_loss"] for h in resumed.history]


def test_checkpoint_guards(toy, tmp_path):
    """Oracle: the documented contract. An existing checkpoint is not overwritten without resume; a checkpoint of
    another config is refused with a message naming the file."""
    (X, y), _ = toy
    ck = tmp_path / "c.ckpt"
    cfg = dataclasses.replace(SMALL, epochs=1)
    train_lprnn(X, y, cfg, checkpoint=ck, log=None)
    with pytest.raises(UserInputError, match="already exists"):
        train_lprnn(X, y, cfg, checkpoint=ck, log=None)
    with pytest.raises(UserInputError, match="c.ckpt.*other data or another training config"):
        train_lprnn(X, y, dataclasses.replace(cfg, lr=5e-3), checkpoint=ck, resume=True, log=None)


def test_readout_penalty_keeps_readout_in_range(toy):
    """Oracle: the penalty's definition. With a large penalty the read-out o_t of the selected model on the
    read-out window stays close to [0, Iin]: its mean distance outside that interval is at least 10× smaller
    than without the penalty and below 5 % of Iin (measured: 1.05 vs 0.029)."""
    from lprnn_brian.ann.forward import forward

    (X, y), (Xt, _) = toy
    cfg = dataclasses.replace(SMALL, Iin=1.0)

    def out_of_range(c):
        o = forward(train_lprnn(X, y, c, log=None).model, Xt).output[:, T // 2:]
        return float(np.mean(np.maximum(o - 1.0, 0) + np.maximum(-o, 0)))

    plain, penal = out_of_range(cfg), out_of_range(dataclasses.replace(cfg, readout_penalty=10.0))
    assert penal < plain / 10 and penal < 0.05, (plain, penal)


def test_substep_forward_exact_for_held_input_and_converges():
    """Oracle: analytic. With the recurrent weights at 0 and a constant drive c ∈ (0, Iin), every low-pass
    unit at frame end t holds c·(1 − a^t) whatever the number of sub-steps K (the input is held over the
    frame and a^(1/K) compounds to a), so K = 1 and K = 4 agree to float32 rounding; with recurrence the
    sub-stepped network differs from the per-frame one and converges as K grows (K = 64 vs 128 closer than
    K = 1 vs 128): it approaches the continuous-time system the ΣΔ network follows."""
    from lprnn_brian.ann.torch_model import TorchLpRNN
    from lprnn_brian.training.classifier import substep_forward

    net = TorchLpRNN(3, None, [5], 2, frac_bits=32, seed=0)
    with torch.no_grad():
        net.rnn_layers[0].linear_hh.weight.zero_()
        net.rnn_layers[0].linear.weight.fill_(0.5)
        net.rnn_layers[0].linear.bias.zero_()
        x = torch.full((1, 12, 3), 1.0)  # z = 1.5 for every unit
        _, states1 = net(x, return_states=True)
        h1 = states1[0][0, :, 0].numpy()
        o1, o4 = net(x), substep_forward(torch, net, x, 4)
    t = np.arange(1, 13)
    np.testing.assert_allclose(h1, 1.5 * (1 - 0.8 ** t), rtol=1e-6)
    np.testing.assert_allclose(o4.numpy(), o1.numpy(), rtol=1e-5, atol=1e-6)

    net = TorchLpRNN(3, None, [5], 2, frac_bits=32, seed=1)
    x = torch.from_numpy(np.random.default_rng(0).uniform(0, 2, (2, 12, 3)).astype(np.float32))
    with torch.no_grad():
        o = {k: substep_forward(torch, net, x, k).numpy() for k in (1, 64, 128)}
    assert np.abs(o[64] - o[128]).max() < 0.2 * np.abs(o[1] - o[128]).max()
    assert np.abs(o[1] - o[128]).max() > 1e-3


def test_weight_average_is_the_moving_average_of_the_trained_weights(toy):
    """Oracle: the definition a ← d·a + (1 − d)·w, from a = w0 after one optimiser step. With one batch per epoch and
    one epoch the averaged model is d·w0 + (1 − d)·w1, where w1 is the plain run's model (averaging never touches
    the live weights) and w0 the initial weights (a run whose one Adam step moves no weight by a float32 ulp:
    lr 1e-30). Tolerance: float32 rounding of the two products and their sum."""
    (X, y), _ = toy
    n = 64
    base = dataclasses.replace(SMALL, epochs=1, batch_size=n, val_fraction=0.25)
    kw = dict(n_classes=N_CLASSES, log=None)
    w1 = train_lprnn(X[:n], y[:n], base, **kw).model
    w0 = train_lprnn(X[:n], y[:n], dataclasses.replace(base, lr=1e-30), **kw).model
    d = 0.9
    avg = train_lprnn(X[:n], y[:n], dataclasses.replace(base, weight_average=d), **kw).model
    for a, b, c in zip(avg.layers, w0.layers, w1.layers):
        for k, t in a.tensors().items():
            if k in ("W", "U", "b"):
                want = d * b.tensors()[k].astype(np.float64) + (1 - d) * c.tensors()[k].astype(np.float64)
                np.testing.assert_allclose(t, want, rtol=1e-6, atol=1e-7)
    assert not np.array_equal(_weights(avg)[0], _weights(w1)[0])
    with pytest.raises(UserInputError):
        dataclasses.replace(base, weight_average=1.0).validate()
