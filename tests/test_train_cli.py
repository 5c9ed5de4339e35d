"""`lprnn-brian train TASK` end to end on small fixtures in the datasets' real on-disk layouts (written by
the fixture writers of test_spoken.py), with pruning, checkpoints and resume."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("torch")

from lprnn_brian.ann.model import load_model  # noqa: E402
from lprnn_brian.cli import main  # noqa: E402
from lprnn_brian.tasks import spoken as S  # noqa: E402
from test_spoken import GSC_V1_FIXTURE_WORDS, _write_gsc, _write_hd  # noqa: E402

TINY = ["--epochs", "2", "--lpff", "4", "--rnn", "6", "--batch-size", "4", "--quiet"]


def test_train_gsc_on_fixture_with_pruning(tmp_path, capsys):
    """Oracle: the CLI contract and docs/method.md#quantisation-export-and-pruning,
    docs/method.md#google-speech-commands. GSC v1 35-word protocol gives a 36-output model whose class names are the
    protocol's, paper-era features (80 mel, T 125), provenance naming version/protocol; `--prune 2` writes
    <out>_nWTH_0/1 and <out> (= iteration 1); the checkpoint is removed after success."""
    root = tmp_path / "gsc"
    _write_gsc(root, GSC_V1_FIXTURE_WORDS)
    out = tmp_path / "gsc.npz"
    rc = main(["train", "gsc", "--data-dir", str(root), "--out", str(out), "--prune", "2", *TINY])
    assert rc == 0, capsys.readouterr().err
    m = load_model(out)
    assert m.n_classes == 36 and tuple(m.class_names) == S.gsc_class_names(1, "35")
    assert m.n_inputs == 80 and m.n_frames == 125 and m.features["name"] == "gsc_paper"
    assert m.task == "gsc_v1_35" and m.provenance["version"] == 1 and m.provenance["prune_iteration"] == 1
    for k in (0, 1):
        assert load_model(tmp_path / f"gsc_nWTH_{k}.npz").provenance["prune_iteration"] == k
    assert load_model(tmp_path / "gsc_nWTH_1.npz").equals(m)
    assert not (tmp_path / "gsc.ckpt").exists()
    # selection on the official validation list (not a hold-out of train)
    assert m.provenance["selection"].endswith("on the official validation list")


def test_train_shd_on_fixture_and_resume(tmp_path, capsys):
    """Oracle: the CLI contract and docs/method.md#heidelberg-digits-shd. HD audio in its archive layout gives a
    20-class model in the h5 label order (English 0–9, German 10–19) with SHD features (48 kHz, hop 256); a run with
    --keep-checkpoint leaves its checkpoint, and re-running with --resume --force on it finishes at once with
    the same weights (the checkpoint already holds every epoch)."""
    pytest.importorskip("soundfile")
    root = tmp_path / "hd_audio"
    rng = np.random.default_rng(0)
    _write_hd(root, rng.integers(20_000, 40_000, 40).tolist(), rng.integers(20_000, 40_000, 20).tolist())
    out = tmp_path / "shd.npz"
    argv = ["train", "shd", "--data-dir", str(root), "--out", str(out), "--keep-checkpoint", *TINY]
    assert main(argv) == 0, capsys.readouterr().err
    m = load_model(out)
    assert m.n_classes == 20 and m.class_names[0] == S.SHD_CLASS_NAMES[0] and m.task == "shd"
    assert m.features["sample_rate"] == 48000 and m.features["hop_length"] == 256
    assert (tmp_path / "shd.ckpt").is_file()
    assert main(argv + ["--resume", "--force"]) == 0
    again = load_model(out)
    for a, b in zip(again.layers, m.layers):
        for k, t in a.tensors().items():
            np.testing.assert_array_equal(t, b.tensors()[k])
    assert again.provenance["best_epoch"] == m.provenance["best_epoch"]
    # selection on a whole training speaker (the fixture's train split: speakers 0 and 1, 20 clips each)
    assert re.search(r"on the training split's speakers \[[01]\] held out \(20 clips\)$", m.provenance["selection"])
    assert m.provenance["n_train"] == m.provenance["n_val"] == 20


def test_train_errors(tmp_path, capsys):
    """Oracle: the documented errors. A spoken task without --data-dir, a missing data folder and an existing
    output without --force end with exit 2 and a one-line message; nothing is written."""
    assert main(["train", "shd", "--out", str(tmp_path / "a.npz"), "--quiet"]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert main(["train", "gsc", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "a.npz"),
                 "--quiet"]) == 2
    assert "nope" in capsys.readouterr().err
    (tmp_path / "b.npz").write_bytes(b"mine")
    assert main(["train", "digits", "--out", str(tmp_path / "b.npz"), "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / "b.npz").read_bytes() == b"mine"
    assert not (tmp_path / "a.npz").exists()
