"""Tests of lpRNN training (lprnn_brian.training.classifier) and of the shipped digits model."""
from __future__ import annotations

import dataclasses
import sys
from importlib import resources

import numpy as np
import pytest

from lprnn_brian.ann.forward import forward
from lprnn_brian.ann.model import load_model
from lprnn_brian.ann.quantise import quantise, weight_codes
from lprnn_brian.errors import UserInputError

torch = pytest.importorskip("torch")

from lprnn_brian.ann.torch_model import TorchLpRNN  # noqa: E402
from lprnn_brian.training.classifier import holdout_split, train_digits  # noqa: E402
from lprnn_brian.training.classifier_config import DIGITS_CONFIG  # noqa: E402
from lprnn_brian.training.common import import_torch  # noqa: E402

TINY = dataclasses.replace(DIGITS_CONFIG, lpff=8, rnn=(12, 12), epochs=2, batch_size=16, code_range=(-4, 3))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "tiny.npz"
    res = train_digits(TINY, out, n_train=64, n_test=20, log=None)
    return res, out


def test_tiny_training_runs_and_saves(tiny):
    """Oracle: the documented contract. Two epochs on 64 clips give 2 history records, the authors' layer order
    lpff_1, lprnn_1, lprnn_2, output with sizes 80→8→12→12→10, a = 0.8, Iin 6, F 3; the saved file loads and
    equals the returned model bit for bit; provenance records seed, epochs, accuracies and torch version."""
    res, out = tiny
    assert len(res.history) == 2 and 1 <= res.best_epoch <= 2
    m = load_model(out)
    assert m.equals(res.model)
    assert m.layer_names == ["lpff_1", "lprnn_1", "lprnn_2", "output"]
    assert [(l.n_in, l.n_out) for l in m.layers] == [(80, 8), (8, 12), (12, 12), (12, 10)]
    assert all(l.retention == pytest.approx(0.8) for l in m.layers[:-1])
    assert (m.Iin, m.int_bits, m.frac_bits, m.n_frames, m.readout_window) == (6.0, 32, 3, 125, "second_half")
    assert m.task == "digits" and m.class_names[0] == "zero" and m.class_names[-1] == "nine"
    assert m.features["hop_length"] == 128 and m.features["n_mels"] == 80
    p = m.provenance
    assert p["seed"] == 0 and p["epochs"] == 2 and p["torch_version"] == torch.__version__
    assert {"train_accuracy", "val_accuracy", "test_accuracy", "test_accuracy_numpy"} <= set(p)
    assert p["n_train"] + p["n_val"] == 64 and p["n_val"] == 7  # ⌈10 % of 64⌉


def test_stored_weights_are_latent_and_3bit(tiny):
    """Oracle: docs/method.md#quantisation-export-and-pruning. Stored tensors are the latent floats (some not on the 1/8
    grid); q(w; 32, 3) of every tensor is an exact multiple of 1/8; with ``code_range=(-4, 3)`` every weight matrix (W,
    U) gives integer codes in {−4…3} ("3-bit"), although Xavier init of these 12-unit layers reaches ±0.55 (code ±4)."""
    m = load_model(tiny[1])
    off_grid = False
    for layer in m.layers:
        for name, t in layer.tensors().items():
            q = quantise(t, 32, 3)
            np.testing.assert_array_equal(q * 8, np.rint(q * 8))
            off_grid |= bool(np.any(q != t))
            if name in ("W", "U"):
                codes = weight_codes(t, 3)
                assert codes.min() >= -4 and codes.max() <= 3, (layer.name, name, codes)
    assert off_grid


def _numpy_forward_equals_torch(m, X):
    """The numpy reference forward of ``m`` on ``X`` after checking it against TorchLpRNN.from_model's: read-out
    o_t to 1e-5 absolute (float32 rounding over 125 frames), same second-half-window predictions."""
    res_np = forward(m, X)
    net = TorchLpRNN.from_model(m).eval()
    with torch.no_grad():
        o = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(res_np.output, o, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(res_np.predictions, o[:, o.shape[1] // 2:].mean(axis=1).argmax(axis=1))
    return res_np


def test_numpy_forward_equals_torch(tiny):
    """Oracle: second implementation. The saved model's numpy float32 reference forward
    (lprnn_brian.ann.forward) equals TorchLpRNN.from_model's forward on 8 test clips: read-out o_t to 1e-5
    absolute, same predictions; and the numpy test accuracy stored in the provenance is reproduced exactly."""
    from lprnn_brian.tasks.digits import load_digits

    m = load_model(tiny[1])
    X, _, _ = load_digits("test")
    _numpy_forward_equals_torch(m, X[:8])


def test_training_through_the_reconstruction_at_the_models_substeps(tmp_path):
    """Oracle: second implementation. ``reconstruction='unbiased'`` with ``model_substeps=4`` trains a model that
    records the ΣΔ mean reconstruction it was trained through (format 3) and its own 4 updates per frame; the numpy
    forward (lprnn_brian.ann.forward) of the saved file, which applies both itself, equals the torch forward it was
    trained with, to 1e-5 (float32 rounding over 125 frames), with the same predictions, and reproduces the torch
    test accuracy the trainer recorded (so selection and reports used K = 4). Neither option is a no-op: without
    the reconstruction, or at one update per frame, the read-out differs."""
    from lprnn_brian.tasks.digits import load_digits

    cfg = dataclasses.replace(TINY, epochs=1, reconstruction="unbiased", reconstruction_tau_S=64.0, substeps=(4,),
                              model_substeps=4)
    res = train_digits(cfg, tmp_path / "rec.npz", n_train=32, n_test=10, log=None)
    m = load_model(tmp_path / "rec.npz")
    assert m.reconstruction == {"policy": "unbiased", "tau_S": 64.0} and m.substeps == 4
    assert m.provenance["test_accuracy"] == m.provenance["test_accuracy_numpy"]
    X, _, _ = load_digits("test")
    res_np = _numpy_forward_equals_torch(m, X[:8])
    for other in (dataclasses.replace(res.model, reconstruction={}), dataclasses.replace(res.model, substeps=1)):
        assert np.max(np.abs(forward(other, X[:8]).output - res_np.output)) > 1e-3


def test_bad_reconstruction_policy_or_model_substeps_is_refused():
    """Oracle: input checks. An unknown reconstruction policy names the known ones; model sub-steps must be a
    positive integer."""
    with pytest.raises(UserInputError, match=r"threshold policy \('zero', 'unbiased'\), got 'biased'"):
        dataclasses.replace(DIGITS_CONFIG, reconstruction="biased").validate()
    for bad in (0, 2.5, True):
        with pytest.raises(UserInputError, match="model_substeps must be an integer >= 1"):
            dataclasses.replace(DIGITS_CONFIG, model_substeps=bad).validate()


def test_training_is_deterministic(tiny):
    """Oracle: seeding (docs/method.md#architectures-read-out-and-training, seed 0 everywhere). A second identical run
    gives bit-identical weights."""
    res2 = train_digits(TINY, None, n_train=64, n_test=20, log=None)
    for a, b in zip(tiny[0].model.layers, res2.model.layers):
        for k in a.tensors():
            np.testing.assert_array_equal(a.tensors()[k], b.tensors()[k])


def test_holdout_split():
    """Oracle: definition. A seeded 10 % hold-out: ⌈0.1·n⌉ validation indices, disjoint from train, covering
    0..n−1, identical for the same seed."""
    tr, va = holdout_split(720, 0.1, 0)
    assert len(va) == 72 and len(tr) == 648
    assert not set(tr) & set(va) and set(tr) | set(va) == set(range(720))
    tr2, va2 = holdout_split(720, 0.1, 0)
    np.testing.assert_array_equal(va, va2)


def test_missing_torch_message(monkeypatch):
    """Oracle: the documented error. Without torch, import_torch raises a UserInputError naming the extra."""
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(UserInputError, match=r"pip install 'lprnn_brian\[train\]'"):
        import_torch()


def test_bad_config():
    """Oracle: input checks. A config without lpRNN layers is a UserInputError."""
    with pytest.raises(UserInputError):
        dataclasses.replace(DIGITS_CONFIG, rnn=()).validate()


def _shipped():
    ref = resources.files("lprnn_brian").joinpath("data/digits_lprnn.npz")
    assert ref.is_file(), "the bundled model lprnn_brian/data/digits_lprnn.npz is missing (python scripts/train_digits.py)"
    with resources.as_file(ref) as p:
        return load_model(p)


def test_shipped_digits_model():
    """Oracle: the shipped model's own provenance. lprnn_brian/data/digits_lprnn.npz is a digits model with
    the bundled feature config; every weight matrix is 3-bit ({−4…3}/8); its numpy-forward accuracy on
    the 150 test clips reproduces the recorded test_accuracy_numpy exactly, and agrees with torch's recorded
    test accuracy to one clip (float32 rounding near ties)."""
    from lprnn_brian.tasks.digits import digits_meta, load_digits

    m = _shipped()
    assert m.task == "digits" and len(m.class_names) == 10
    assert m.features == digits_meta()["feature_config"]
    for layer in m.layers:
        for name in ("W", "U"):
            t = layer.tensors().get(name)
            if t is not None:
                codes = weight_codes(t, 3)
                assert codes.min() >= -4 and codes.max() <= 3, (layer.name, name, codes)
    X, y, _ = load_digits("test")
    acc = float(np.mean(forward(m, X, keep_states=False).predictions == y))
    assert acc == m.provenance["test_accuracy_numpy"]
    assert abs(acc - m.provenance["test_accuracy"]) <= 1.0 / len(y) + 1e-12
