"""The one home of the package's shipped data paths (lprnn_brian.bundled) and of the input loaders (fileio)."""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian import bundled, fileio
from lprnn_brian.ann.checkpoint import SHD_REFERENCE_FILE
from lprnn_brian.ann.model import load_model
from lprnn_brian.errors import UserInputError


def test_bundled_models_exist_and_load():
    """Oracle: the package's own data. The digits model and the adding model ship in lprnn_brian/data and load; the
    file names are the ones the trainers write (train.DIGITS_MODEL_FILE)."""
    from lprnn_brian.training.classifier import DIGITS_MODEL_FILE

    assert bundled.bundled_model_path().name == DIGITS_MODEL_FILE == bundled.DIGITS_MODEL
    assert load_model(bundled.bundled_model_path()).task == "digits"
    assert load_model(bundled.bundled_sequence_model("adding")).task == "adding"


def test_reference_checkpoint_lookup(tmp_path, monkeypatch):
    """Oracle: the documented lookup order. $LPRNN_BRIAN_REFERENCE names a file or a folder holding the checkpoint;
    a folder without it falls back to ../shared/reference beside the working directory."""
    (tmp_path / "ref").mkdir()
    ckpt = tmp_path / "ref" / SHD_REFERENCE_FILE
    ckpt.write_bytes(b"not read here")
    monkeypatch.setenv("LPRNN_BRIAN_REFERENCE", str(tmp_path / "ref"))
    assert bundled.reference_checkpoint() == ckpt
    monkeypatch.setenv("LPRNN_BRIAN_REFERENCE", str(ckpt))
    assert bundled.reference_checkpoint() == ckpt
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared" / "reference").mkdir(parents=True)
    (tmp_path / "shared" / "reference" / SHD_REFERENCE_FILE).write_bytes(b"x")
    monkeypatch.setenv("LPRNN_BRIAN_REFERENCE", str(tmp_path / "empty"))
    monkeypatch.chdir(work)
    assert bundled.reference_checkpoint() == tmp_path / "shared" / "reference" / SHD_REFERENCE_FILE


def test_old_homes_still_import_for_one_release():
    """The names that moved are still importable from their old modules, as the same objects."""
    from lprnn_brian import cli, demo
    from lprnn_brian.figures import fig_energy
    from lprnn_brian import evaluate_sequences

    assert demo.bundled_model_path is bundled.bundled_model_path and demo.BUNDLED_MODEL == bundled.DIGITS_MODEL
    assert evaluate_sequences.bundled_sequence_model is bundled.bundled_sequence_model
    assert fig_energy.reference_checkpoint is bundled.reference_checkpoint
    assert cli.load_inputs is fileio.load_inputs and cli.load_labels is fileio.load_labels


def test_load_inputs_and_labels(tmp_path):
    """Oracle: the input contract. A float (samples, frames, features) .npy round-trips; pickles, wrong shapes
    and NaN are refused with what to do."""
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(fileio.load_inputs(tmp_path / "x.npy"), x)
    np.save(tmp_path / "y.npy", np.array([1, 0]))
    np.testing.assert_array_equal(fileio.load_labels(tmp_path / "y.npy"), [1, 0])
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserInputError, match="Python objects"):
        fileio.load_inputs(tmp_path / "obj.npy")
    np.save(tmp_path / "flat.npy", x[0])
    with pytest.raises(UserInputError, match="expected 3 axes"):
        fileio.load_inputs(tmp_path / "flat.npy")
    x[0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", x)
    with pytest.raises(UserInputError, match="NaN"):
        fileio.load_inputs(tmp_path / "nan.npy")
