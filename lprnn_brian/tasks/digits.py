"""The bundled spoken-digit data set (espeak-ng voices, made by ``scripts/make_digits.py``).

Ten classes "zero" … "nine"; a fixed train/validation/test split by voice: 35 training voices, 7 validation
voices (model selection) and 7 test voices, every accent in each split, no voice variant (espeak-ng's speaker model)
in two splits. Features: paper-era GSC log-mel front end (16 kHz, hop 128, 80 Slaney mel bands, T = 125) with
keep-last/left padding, stored as uint8 dB codes at 0.5 dB steps and z-scored per file at load.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..bundled import data_path
from ..errors import UserInputError
from .features import FeatureConfig, zscore

__all__ = ["DATA_FILE", "DATA_FILES", "CLASS_NAMES", "load_digits", "digits_feature_config", "digits_meta"]

#: Bundled feature files per front end: the default (16 kHz GSC paper-era, the bundled model's input) and
#: the SHD front end (48 kHz, hop 256, docs/method.md#heidelberg-digits-shd; test clips only) for the authors' SHD
#: checkpoint.
DATA_FILES = {"gsc_paper": "digits_features.npz", "shd": "digits_shd_features.npz"}
DATA_FILE = DATA_FILES["gsc_paper"]
CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPLITS = {"train": (0,), "validation": (2,), "test": (1,), "all": (0, 1, 2)}
_SPLIT_NAMES = {0: "train", 1: "test", 2: "validation"}


def _open(front_end: str = "gsc_paper"):
    if front_end not in DATA_FILES:
        raise UserInputError(f"front_end must be one of {sorted(DATA_FILES)}, got {front_end!r}")
    name = DATA_FILES[front_end]
    path = data_path(name)
    if not path.is_file():
        raise UserInputError(f"the bundled digit data lprnn_brian/data/{name} is missing; regenerate it with "
                             f"`python scripts/make_digits.py --front-end {front_end}` or reinstall lprnn_brian")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def digits_meta() -> dict[str, Any]:
    """The generator's JSON meta (version, feature config, voices per split, espeak-ng version, …)."""
    return json.loads(str(_open()["meta"]))


def digits_feature_config() -> FeatureConfig:
    """The :class:`FeatureConfig` the bundled features were computed with."""
    return FeatureConfig.from_dict(digits_meta()["feature_config"])


def load_digits(split: str = "train", front_end: str = "gsc_paper") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Load the bundled digits (``front_end='shd'``: the test clips through the SHD front end).

    Returns ``X`` float32 (N, 125, 80) per-file z-scored log-mel features (time first), ``y`` int64 labels
    0–9 and ``info``: ``class_names``, ``feature_config`` (dict), per-clip ``voice`` (names), ``speed``,
    ``pitch``, ``split`` (names), ``meta`` (generator JSON) and ``quantisation``.
    """
    if split not in _SPLITS:
        raise UserInputError(f"split must be one of {sorted(_SPLITS)}, got {split!r}")
    z = _open(front_end)
    meta = json.loads(str(z["meta"]))
    sel = np.isin(z["split"], _SPLITS[split])
    step = float(meta["quantisation"]["step_db"])
    db = -step * z["features_q"][sel].astype(np.float64)
    X = np.stack([zscore(d) for d in db]).astype(np.float32) if db.shape[0] else \
        np.zeros((0,) + z["features_q"].shape[1:], np.float32)
    y = z["labels"][sel].astype(np.int64)
    names = [str(v) for v in z["voice_names"]]
    info = {
        "split": split,
        "class_names": list(meta.get("class_names", CLASS_NAMES)),
        "feature_config": meta["feature_config"],
        "voice": np.array([names[i] for i in z["voice"][sel]]),
        "speed": z["speed"][sel].astype(np.int64),
        "pitch": z["pitch"][sel].astype(np.int64),
        "split_of_clip": np.array([_SPLIT_NAMES[int(s)] for s in z["split"][sel]]),
        "quantisation": meta["quantisation"],
        "meta": meta,
    }
    return X, y, info
