"""Where the data that ships with the package lives (``lprnn_brian/data``), and the authors' SHD checkpoint.

One home for these paths: the digits model and features, the sequence models, and the lookup of the reference
checkpoint that tests, figures and benchmarks read from beside a checkout (never copied into the package).
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import UserInputError

__all__ = ["DIGITS_MODEL", "SEQUENCE_MODELS", "data_path", "bundled_model_path", "bundled_sequence_model",
           "reference_checkpoint"]

#: File name of the bundled digits model (the demo's model; ``scripts/train_digits.py`` writes it).
DIGITS_MODEL = "digits_lprnn.npz"
#: File names of the bundled sequence models, trained with the ``snn`` curriculum presets.
SEQUENCE_MODELS = {"adding": "adding_lprnn.npz", "copying": "copying_lprnn.npz"}


def data_path(name: str) -> Path:
    """Path of ``lprnn_brian/data/<name>`` in this installation (it may not exist)."""
    return Path(str(resources.files("lprnn_brian") / "data" / name))


def bundled_model_path() -> Path:
    """Path of the bundled digits model."""
    return data_path(DIGITS_MODEL)


def bundled_sequence_model(task: str, required: bool = True) -> Path | None:
    """Path of the bundled ``task`` model ('adding' or 'copying'); None (or an error if ``required``) when the
    installation has none."""
    if task not in SEQUENCE_MODELS:
        raise UserInputError(f"no bundled model for task {task!r}; choose one of {sorted(SEQUENCE_MODELS)}")
    path = data_path(SEQUENCE_MODELS[task])
    if path.is_file():
        return path
    if required:
        raise UserInputError(f"this installation has no bundled {task} model ({path}); train one with "
                             f"`lprnn-brian train {task} --preset snn --out {SEQUENCE_MODELS[task]}`")
    return None


def reference_checkpoint() -> Path | None:
    """The authors' SHD checkpoint: ``$LPRNN_BRIAN_REFERENCE`` (file or folder), else ``../shared/reference`` next
    to the working directory or to the package's repository; None if absent."""
    from .ann.checkpoint import SHD_REFERENCE_FILE

    env = os.environ.get("LPRNN_BRIAN_REFERENCE")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[1]
    candidates += [Path.cwd().parent / "shared" / "reference", here.parent / "shared" / "reference"]
    for c in candidates:
        p = c / SHD_REFERENCE_FILE if c.is_dir() else c
        if p.is_file():
            return p
    return None
