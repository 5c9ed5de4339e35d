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
    assert p["n_train"] == 64 and p["n_val"] == 210  # the subset; all 7 validation voices × 10 digits × 3 takes


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
    """Oracle: input checks. A config without lpRNN layers is a UserInputError; so is a classifier trained
    filter-then-clamp (its stored model would be evaluated clamp-then-filter: another network) and a read-out range
    that is not a positive number."""
    with pytest.raises(UserInputError):
        dataclasses.replace(DIGITS_CONFIG, rnn=()).validate()
    with pytest.raises(UserInputError, match="clamp must be 'clamp_then_filter' for a classifier"):
        dataclasses.replace(DIGITS_CONFIG, clamp="filter_then_clamp").validate()
    for bad in (0.0, -1.0, float("inf"), True):
        with pytest.raises(UserInputError, match="readout_range must be None"):
            dataclasses.replace(DIGITS_CONFIG, readout_range=bad).validate()


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


@pytest.fixture(scope="module")
def seed1():
    """The ``tiny`` training with seed 1."""
    return train_digits(dataclasses.replace(TINY, seed=1), None, n_train=64, n_test=20, log=None)


def test_another_seed_gives_other_weights(tiny, seed1):
    """Oracle: the seed reaches every random stream: seed 1 (same data, same budget) starts from another
    initialisation, so its trained weights differ from seed 0's in every layer."""
    for a, b in zip(tiny[0].model.layers, seed1.model.layers):
        assert not np.array_equal(a.tensors()["W"], b.tensors()["W"])


def test_selection_runs_on_held_out_validation_speakers(tiny):
    """Oracle: the data's own voice metadata. The model is selected on the validation split, whose speakers are
    disjoint from the training and the test speakers; the provenance says so and lists the three voice sets."""
    from lprnn_brian.tasks.digits import load_digits

    prov = tiny[0].model.provenance
    voices = {s: set(load_digits(s)[2]["voice"]) for s in ("train", "validation", "test")}
    assert {s: set(prov[f"{s}_voices"]) for s in voices} == voices
    assert not (voices["validation"] & voices["train"]) and not (voices["validation"] & voices["test"])
    assert "7 held-out validation speakers" in prov["selection"]
    assert prov["n_val"] == len(load_digits("validation")[1]) == 210
    assert prov["val_accuracy"] == tiny[0].accuracy["val"]


def test_provenance_records_what_a_rerun_must_match(tiny):
    """Oracle: the training's own settings and the running interpreter: seed, thread count, deterministic
    algorithms on, and the versions and machine of this process."""
    import os
    import platform

    prov = tiny[0].model.provenance
    env = prov["environment"]
    assert prov["seed"] == TINY.seed and env["torch_threads"] == TINY.threads and env["torch_deterministic"] is True
    assert env["torch"] == torch.__version__ and env["numpy"] == np.__version__
    assert env["python"] == platform.python_version() and env["cpus"] == os.cpu_count() and env["cpu_model"]


def _result(val: float, val_loss: float, test: float):
    from lprnn_brian.training.classifier import TrainResult

    history = [dict(iteration=0, epoch=1, val_acc=val - 0.1, val_loss=val_loss + 1.0),
               dict(iteration=0, epoch=2, val_acc=val, val_loss=val_loss)]
    return TrainResult(model=None, history=history, best_epoch=2, accuracy={"val": val, "test": test},
                       iterations=[dict(iteration=0, best_epoch=2)])


def test_select_by_validation_never_looks_at_test():
    """Oracle: the rule by hand: the highest validation accuracy wins whatever the test scores; equal
    validation accuracy goes to the lower validation loss of the selected epoch, then to the first."""
    from lprnn_brian.training.classifier import select_by_validation

    assert select_by_validation([_result(0.90, 0.3, 0.99), _result(0.95, 0.5, 0.80)]) == 1
    assert select_by_validation([_result(0.95, 0.5, 0.99), _result(0.95, 0.2, 0.80)]) == 1
    assert select_by_validation([_result(0.95, 0.2, 0.70), _result(0.95, 0.2, 0.99)]) == 0
    with pytest.raises(UserInputError):
        select_by_validation([])


def test_frequency_warp_moves_a_band_by_the_drawn_factor():
    """Oracle: the warp by hand. For the factor α the generator draws, a single lit band k lands on the bands j
    with |j/α − k| < 1, each with weight 1 − |j/α − k| (linear interpolation), its peak at round(k·α); with the warp
    off, the batch and the random stream are untouched."""
    from lprnn_brian.training.classifier import _augment

    F, k = 80, 40
    x = np.zeros((1, 3, F), np.float32)
    x[0, :, k] = 1.0
    rng = np.random.default_rng(7)
    alpha = np.random.default_rng(7).uniform(0.9, 1.1)
    y = _augment(x, rng, 0, 0, 0.1)
    src = np.arange(F) / alpha
    want = np.clip(1.0 - np.abs(src - k), 0.0, None)
    np.testing.assert_allclose(y[0], np.broadcast_to(want, (3, F)), atol=1e-6)
    assert np.argmax(y[0, 0]) == round(k * alpha)
    rng_off = np.random.default_rng(7)
    assert _augment(x, rng_off, 0, 0, 0.0) is x and rng_off.uniform() == np.random.default_rng(7).uniform()


def test_holdout_groups_keeps_every_speaker_on_one_side():
    """Oracle: definition. Whole groups are held out until ⌈fraction·n⌉ samples: no group on both sides, every
    sample on exactly one side, at least one group left for training, the same split for the same seed; a single
    group cannot be split."""
    from lprnn_brian.training.classifier import holdout_groups

    groups = np.repeat(np.arange(10), [30, 20, 50, 10, 40, 25, 35, 15, 45, 30])
    for seed in range(5):
        tr, va = holdout_groups(groups, 0.1, seed)
        assert not set(groups[tr]) & set(groups[va])
        assert sorted(np.concatenate([tr, va]).tolist()) == list(range(groups.size))
        assert va.size >= np.ceil(0.1 * groups.size) and set(groups[tr])
        # no more groups than needed: without one of them (the last taken) the hold-out is short
        assert min(va.size - np.sum(groups == g) for g in set(groups[va])) < np.ceil(0.1 * groups.size)
        np.testing.assert_array_equal(va, holdout_groups(groups, 0.1, seed)[1])
    assert len(set(groups[holdout_groups(groups, 0.99, 0)[0]])) == 1
    with pytest.raises(UserInputError):
        holdout_groups(np.zeros(8), 0.1, 0)


@pytest.mark.slow  # ~8 s: worker processes start and train
def test_seeds_in_parallel_processes_give_the_serial_weights(tiny, seed1):
    """Oracle: determinism across processes. Seeds 0 and 1 trained in two worker processes at once give, in seed
    order, the weights of the one-at-a-time trainings (seed 0: the ``tiny`` fixture's own run)."""
    from lprnn_brian.training.classifier import train_digits_seeds

    both = train_digits_seeds([1, 0], TINY, jobs=2, n_train=64, n_test=20, log=None)
    for res, want in ((both[0], seed1), (both[1], tiny[0])):
        assert res.model.provenance["seed"] == want.model.provenance["seed"]
        for a, b in zip(res.model.layers, want.model.layers):
            for k in a.tensors():
                np.testing.assert_array_equal(a.tensors()[k], b.tensors()[k])
