"""Tests of the bundled spoken-digit data set (scripts/make_digits.py, lprnn_brian.tasks.digits)."""
from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from lprnn_brian.errors import UserInputError
from lprnn_brian.tasks.digits import CLASS_NAMES, DATA_FILES, digits_feature_config, digits_meta, load_digits
from lprnn_brian.tasks.features import FeatureConfig


@pytest.fixture(scope="module")
def splits():
    return {s: load_digits(s) for s in ("train", "validation", "test", "all")}


def test_file_size_at_most_7mb():
    """Oracle: the packaging budget (≤ 7 MB, 7·10^6 bytes) for the bundled features, both front ends together."""
    total = 0
    for name in DATA_FILES.values():
        with resources.as_file(resources.files("lprnn_brian").joinpath("data", name)) as p:
            total += p.stat().st_size
    assert total <= 7_000_000


def test_shd_front_end_holds_the_same_test_clips(splits):
    """The SHD-front-end file has the same 210 test clips (labels, voices) as the default file, through the
    docs/method.md#heidelberg-digits-shd front end (48 kHz, hop 256, 80 mel bands, T = 125), z-scored per file."""
    X, y, info = load_digits("test", front_end="shd")
    X0, y0, info0 = splits["test"]
    assert X.shape == X0.shape == (210, 125, 80)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(info["voice"], info0["voice"])
    cfg = FeatureConfig.from_dict(info["feature_config"])
    assert (cfg.sample_rate, cfg.hop_length, cfg.n_mels, cfg.n_frames) == (48000, 256, 80, 125)
    np.testing.assert_allclose(X.reshape(210, -1).mean(axis=1), 0, atol=1e-5)
    with pytest.raises(UserInputError):
        load_digits("test", front_end="htk")


def test_shapes_and_dtypes(splits):
    """Oracle: the documented layout: X float32 (N, 125, 80), y int64; train + validation + test = all; 1050
    training, 210 validation and 210 test clips (35, 7 and 7 speakers × 10 digits × 3 takes; the demo simulates
    every test clip) and 1470 clips in all."""
    for s, (X, y, info) in splits.items():
        assert X.dtype == np.float32 and X.ndim == 3 and X.shape[1:] == (125, 80)
        assert y.dtype == np.int64 and y.shape == (X.shape[0],)
        assert info["voice"].shape == y.shape
    n_tr, n_val, n_te, n_all = (splits[s][0].shape[0] for s in ("train", "validation", "test", "all"))
    assert n_tr + n_val + n_te == n_all
    assert (n_tr, n_val, n_te, n_all) == (1050, 210, 210, 1470)


@pytest.mark.parametrize("held_out", ["validation", "test"])
def test_split_by_speaker_disjoint(splits, held_out):
    """Oracle: the generator's fixed speaker split (version 5), read from the clips' own voice metadata: no voice
    (accent+variant) and no voice variant (espeak-ng's speaker model) of the validation or the test split occurs
    in train or in the other held-out split, while every held-out accent also occurs in train; the meta lists the
    same voices."""
    voices = {s: set(splits[s][2]["voice"]) for s in ("train", "validation", "test")}
    variants = {s: {v.split("+")[1] for v in vs} for s, vs in voices.items()}
    others = [s for s in voices if s != held_out]
    for other in others:
        assert voices[held_out] and voices[other] and not (voices[held_out] & voices[other])
        assert not (variants[held_out] & variants[other])
    assert {v.split("+")[0] for v in voices[held_out]} == {v.split("+")[0] for v in voices["train"]}
    meta = digits_meta()
    assert meta["generator_version"] == 5
    assert {s: set(meta["voices"][s]) for s in voices} == voices


def test_validation_voices_are_training_clips_of_version_3():
    """Oracle: versions 4 and 5 only move seven voices out of the training split (and add seven more training
    voices after the test voices). Each (voice, digit) keeps version 3's seeded takes, so the validation clips are
    the generator's clips of those voices: 3 takes of each digit per voice, speeds spread over the three strata of
    120–200 wpm (one take in each, the generator's plan)."""
    X, y, info = load_digits("validation")
    edges = np.linspace(120, 200, 4)
    for voice in set(info["voice"]):
        for digit in range(10):
            sel = (info["voice"] == voice) & (y == digit)
            assert sel.sum() == 3
            strata = np.clip(np.searchsorted(edges, info["speed"][sel], side="right") - 1, 0, 2)
            assert sorted(strata) == [0, 1, 2]


def test_labels_balanced(splits):
    """Oracle: by construction every (voice, digit) pair has the same number of takes, so each split holds
    exactly N/10 clips of each label 0–9."""
    for s, (X, y, info) in splits.items():
        counts = np.bincount(y, minlength=10)
        assert counts.shape == (10,) and np.all(counts == len(y) // 10)
        assert info["class_names"] == list(CLASS_NAMES)


def test_features_zscored_and_config(splits):
    """Oracle: per-file z-score (mean 0, ddof=1 std 1 to 1e-4 in float32) and the recorded feature config is the
    16 kHz / hop 128 / 80 mel / T 125 front end with keep-last padding (L = 16,000 samples)."""
    X = splits["test"][0].astype(np.float64)
    np.testing.assert_allclose(X.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(X.reshape(len(X), -1).std(axis=1, ddof=1), 1.0, atol=1e-4)
    cfg = digits_feature_config()
    assert isinstance(cfg, FeatureConfig)
    assert (cfg.sample_rate, cfg.hop_length, cfg.n_mels, cfg.n_frames, cfg.pad) == (16000, 128, 80, 125, "left")
    meta = digits_meta()
    assert meta["quantisation"]["step_db"] == 0.5 and meta["espeak_ng_version"]


def test_bad_split():
    """Oracle: user input check: an unknown split name is a UserInputError."""
    with pytest.raises(UserInputError):
        load_digits("valid")
