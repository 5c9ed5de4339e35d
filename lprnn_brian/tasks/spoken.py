"""Spoken-word data sets read from their unpacked archives: Heidelberg Digits audio and Google Speech Commands.

**Heidelberg Digits (HD) audio** — the SHD task of the paper (docs/method.md#heidelberg-digits-shd, decisions A1/A8 in
docs/decisions.md), 20 classes. The archive ``hd_audio.tar.gz`` (https://zenkelab.org/datasets/) unpacks to a
folder holding

- ``audio/`` with 48 kHz mono FLAC files named ``lang-{english|german}_speaker-{NN}_trial-{N}_digit-{D}.flac``;
- ``train_filenames.txt`` and ``test_filenames.txt``: the official split, one file base name per line.

Labels follow the SHD h5 convention: English digit d is label d (``en_d``), German digit d is 10 + d (``de_d``).
``label_order='reference'`` gives the order of the authors' HD-audio loader (German 0–9, English 10–19), which
the authors' checkpoint was trained with (decision A8 in docs/decisions.md). Validation is made by the trainer from
whole training speakers (``info['speaker']``; :func:`lprnn_brian.training.classifier.holdout_groups`), not here.

**Google Speech Commands (GSC) v1/v2** (docs/method.md#google-speech-commands): one folder per word holding 16 kHz
16-bit mono WAV files ``<speaker>_nohash_<n>.wav``, ``_background_noise_/`` (a few long noise recordings), and the split
lists ``validation_list.txt`` and ``testing_list.txt`` (paths such as ``right/bb05582b_nohash_3.wav``); train is
every other word clip. Protocols (``protocol``):

- ``"12"`` (v1 or v2): ``_unknown_`` 0 (every non-command word), ``_silence_`` 1, yes, no, up, down, left, right,
  on, off, stop, go 2–11;
- ``"35"`` with ``version=1``: the 36-class order of the 2019/2024 code, ``_unknown_`` 0 (unknown or silence),
  nine 1, yes…go 2–11, zero…eight 12–20, backward…wow 21–35 (alphabetical); the v1 archive has no
  backward, follow, forward, learn or visual, so those five classes stay empty;
- ``"35"`` with ``version=2``: the 35 words in alphabetical order (labels 0–34).

Silence (decision A8 in docs/decisions.md): 1 s crops of the ``_background_noise_`` recordings, in every split,
following Warden's ``input_data.py`` (arXiv 1804.03209): ceil(``silence_fraction`` · n) crops per split, where n is the
number of clips of the protocol's named words in that split (the ten commands for ``"12"``), each crop scaled by a gain
drawn uniformly from [0, 1). ``silence_fraction`` defaults to 0.1 for ``"12"`` (about one average command class)
and 0 otherwise. Crops are seeded, and split-disjoint: each noise file's first 80 % feeds train, the next 10 %
validation, the last 10 % test.

Features are computed clip by clip with :func:`lprnn_brian.tasks.features.compute_features` (per-file dB
reference and z-score), so a clip's features never depend on the other clips loaded with it. Computed arrays may
be cached in ``cache_dir`` (an ``.npz`` per request, keyed by the feature config, the protocol and every file's
size and modification time; written atomically, never replacing a file).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..errors import UserInputError
from ..fileio import atomic_path
from . import features as F

__all__ = [
    "HD_URL",
    "GSC_URLS",
    "data_source",
    "SHD_CLASS_NAMES",
    "SHD_REFERENCE_CLASS_NAMES",
    "GSC_COMMANDS",
    "GSC_V1_WORDS",
    "GSC_V2_WORDS",
    "gsc_class_names",
    "parse_hd_name",
    "read_audio",
    "load_shd",
    "load_gsc",
]

HD_URL = "https://zenkelab.org/datasets/"
GSC_URLS = {1: "http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
            2: "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"}

HD_SAMPLE_RATE = 48000
GSC_SAMPLE_RATE = 16000
#: Samples per silence crop (1 s of 16 kHz audio).
GSC_SILENCE_SAMPLES = 16000

SHD_CLASS_NAMES = tuple(f"en_{d}" for d in range(10)) + tuple(f"de_{d}" for d in range(10))
SHD_REFERENCE_CLASS_NAMES = tuple(f"de_{d}" for d in range(10)) + tuple(f"en_{d}" for d in range(10))
_SHD_ORDERS = {"h5": SHD_CLASS_NAMES, "reference": SHD_REFERENCE_CLASS_NAMES}
_LANG_CODE = {"english": "en", "german": "de"}
_HD_NAME = re.compile(r"^lang-(?P<lang>[a-z]+)_speaker-(?P<speaker>\d+)_trial-(?P<trial>\d+)"
                      r"_digit-(?P<digit>\d+)\.flac$")

GSC_COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
GSC_V1_WORDS = tuple(sorted(GSC_COMMANDS + ("zero", "one", "two", "three", "four", "five", "six", "seven",
                                            "eight", "nine", "bed", "bird", "cat", "dog", "happy", "house",
                                            "marvin", "sheila", "tree", "wow")))
GSC_V2_WORDS = tuple(sorted(GSC_V1_WORDS + ("backward", "follow", "forward", "learn", "visual")))
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight")
_GSC_36 = (("_unknown_", "nine") + GSC_COMMANDS + _DIGIT_WORDS
           + tuple(w for w in GSC_V2_WORDS if w not in GSC_COMMANDS and w not in _DIGIT_WORDS and w != "nine"))
_GSC_12 = ("_unknown_", "_silence_") + GSC_COMMANDS
_BACKGROUND = "_background_noise_"
_SPLIT_LISTS = {"validation": "validation_list.txt", "test": "testing_list.txt"}
#: Fraction of each background-noise file that feeds the silence crops of each split (split-disjoint).
_SILENCE_SEGMENTS = {"train": (0.0, 0.8), "validation": (0.8, 0.9), "test": (0.9, 1.0)}
_SPLIT_INDEX = {"train": 0, "validation": 1, "test": 2}
_CACHE_FORMAT = 1


def data_source(dataset: str) -> str:
    """Where to download a data set and which folder to pass: ``dataset`` in {'hd', 'gsc_v1', 'gsc_v2'}."""
    if dataset == "hd":
        return (f"get hd_audio.tar.gz from {HD_URL} (Heidelberg Digits audio), unpack it with "
                "`mkdir hd_audio && tar xzf hd_audio.tar.gz -C hd_audio`, and pass the folder that holds audio/, "
                "train_filenames.txt and test_filenames.txt (or its parent)")
    if dataset in ("gsc_v1", "gsc_v2"):
        v = int(dataset[-1])
        url = GSC_URLS[v]
        return (f"get {url} (Google Speech Commands v{v}), unpack it into an empty folder with "
                f"`mkdir gsc_v{v} && tar xzf {url.rsplit('/', 1)[1]} -C gsc_v{v}`, and pass that folder (one "
                "subfolder per word, _background_noise_/, validation_list.txt and testing_list.txt)")
    raise UserInputError(f"dataset must be 'hd', 'gsc_v1' or 'gsc_v2', got {dataset!r}")


def gsc_class_names(version: int, protocol: str) -> tuple[str, ...]:
    """Class names by label index for a GSC ``version`` (1 or 2) and ``protocol`` ('12' or '35')."""
    _check_gsc_args(version, protocol)
    if protocol == "12":
        return _GSC_12
    return _GSC_36 if version == 1 else GSC_V2_WORDS


def _check_gsc_args(version: Any, protocol: Any) -> None:
    if version not in (1, 2) or isinstance(version, bool):
        raise UserInputError(f"GSC version must be 1 or 2, got {version!r}")
    if protocol not in ("12", "35"):
        raise UserInputError(f"GSC protocol must be '12' or '35', got {protocol!r}")


# ---------------------------------------------------------------------------------------------- audio
def _import_soundfile():
    try:
        import soundfile
    except (ImportError, OSError) as exc:  # OSError: the libsndfile library could not be loaded
        raise UserInputError("reading FLAC audio (Heidelberg Digits) needs the soundfile package; install it "
                             f"with `pip install soundfile` ({exc})") from None
    return soundfile


def _pcm_to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return (x.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
    return x.astype(np.float64)


def read_audio(path: str | os.PathLike, expected_rate: int) -> np.ndarray:
    """Read a mono WAV (scipy) or FLAC (soundfile) file as float64 samples in [−1, 1].

    Raises :class:`UserInputError`, naming the file, if it cannot be read, is not mono, is empty or is not
    sampled at ``expected_rate`` Hz.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: audio file not found")
    try:
        if path.suffix.lower() == ".flac":
            sf = _import_soundfile()
            data, rate = sf.read(str(path), dtype="float64", always_2d=True)
        else:
            from scipy.io import wavfile
            rate, data = wavfile.read(str(path))
    except UserInputError:
        raise
    except Exception as exc:  # soundfile.LibsndfileError, ValueError from scipy, OSError, …
        raise UserInputError(f"{path}: cannot read the audio ({type(exc).__name__}: {exc}); the file is "
                             "damaged or not audio, so download and unpack the archive again") from None
    data = np.asarray(data)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1:
        raise UserInputError(f"{path}: audio has {data.shape[1]} channels; the data set is mono, so mix it "
                             "down (e.g. sox in.wav -c 1 out.wav) or replace the file")
    if int(rate) != int(expected_rate):
        raise UserInputError(f"{path}: sampled at {rate} Hz, expected {expected_rate} Hz; resample it (e.g. "
                             f"sox in.wav -r {expected_rate} out.wav) or download the original archive")
    if data.shape[0] == 0:
        raise UserInputError(f"{path}: the file holds no samples; replace it from the original archive")
    x = _pcm_to_float(data)
    if not np.all(np.isfinite(x)):
        raise UserInputError(f"{path}: audio contains NaN or infinite samples")
    return x


def _n_frames_of(path: Path) -> int:
    """Sample count of an audio file from its header (FLAC via soundfile)."""
    sf = _import_soundfile()
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise UserInputError(f"{path}: cannot read the audio header ({type(exc).__name__}: {exc}); the file "
                             "is damaged or not audio, so download and unpack the archive again") from None
    if int(info.samplerate) != HD_SAMPLE_RATE:
        raise UserInputError(f"{path}: sampled at {info.samplerate} Hz, expected {HD_SAMPLE_RATE} Hz")
    return int(info.frames)


# ---------------------------------------------------------------------------------------------- helpers
def _progress(items: Sequence[Any], desc: str, progress: bool) -> Iterable[Any]:
    if not progress:
        return items
    from tqdm import tqdm
    return tqdm(items, desc=desc, unit="clip", file=sys.stderr, total=len(items))


def _read_list(path: Path, dataset: str) -> list[str]:
    if not path.is_file():
        raise UserInputError(f"missing list file {path}; {path.parent} is not an unpacked archive of the "
                             f"expected layout: {data_source(dataset)}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read the list file ({exc})") from None
    return [ln.strip() for ln in lines if ln.strip()]


def _feature_shape(cfg: F.FrontEndConfig) -> tuple[int, int]:
    if isinstance(cfg, F.KaldiFbankConfig):
        return cfg.n_frames, cfg.n_mels
    return (cfg.n_frames if cfg.drop_first else cfg.n_frames + 1), cfg.n_mels


def _stack(feats: list[np.ndarray], cfg: F.FrontEndConfig) -> np.ndarray:
    if not feats:
        return np.zeros((0,) + _feature_shape(cfg), dtype=np.float32)
    return np.stack(feats).astype(np.float32, copy=False)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
        raise UserInputError(f"limit must be a non-negative integer or None, got {limit!r}")


def _fingerprint(paths: Iterable[Path]) -> list[list[Any]]:
    out = []
    for p in paths:
        st = p.stat()
        out.append([p.name, st.st_size, st.st_mtime_ns])
    return out


def _with_cache(cache_dir: str | os.PathLike | None, prefix: str, key: dict[str, Any],
                compute: Callable[[], tuple[np.ndarray, np.ndarray, dict[str, Any]]]
                ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Return ``compute()``, read from / written to ``cache_dir/<prefix>-<hash of key>.npz`` when given."""
    if cache_dir is None:
        X, y, info = compute()
        info["cache"] = None
        return X, y, info
    key = dict(key, cache_format=_CACHE_FORMAT)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()[:24]
    path = Path(cache_dir) / f"{prefix}-{digest}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                X, y, info = z["X"], z["y"], json.loads(str(z["info"]))
            info["cache"] = str(path)
            return X, y, info
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache file: recompute, and leave the file alone
    X, y, info = compute()
    info["cache"] = str(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.savez(tmp, X=X, y=y, info=np.array(json.dumps(info)))
    except (UserInputError, OSError) as exc:  # exists already (another process) or not writable: no cache
        print(f"lprnn_brian: feature cache {path} not written ({exc})", file=sys.stderr)
    return X, y, info


# ---------------------------------------------------------------------------------------------- HD / SHD
def parse_hd_name(name: str) -> tuple[str, int, int, int]:
    """(language, speaker, trial, digit) of an HD file name ``lang-english_speaker-01_trial-0_digit-3.flac``.

    Raises :class:`UserInputError` if the name does not follow that pattern, the language is not english or
    german, or the digit is not 0–9.
    """
    m = _HD_NAME.match(name)
    if m is None or m["lang"] not in _LANG_CODE or not 0 <= int(m["digit"]) <= 9:
        raise UserInputError(f"{name!r} is not a Heidelberg Digits file name with a known label (expected "
                             "lang-{english|german}_speaker-NN_trial-N_digit-D.flac with D in 0-9)")
    return m["lang"], int(m["speaker"]), int(m["trial"]), int(m["digit"])


def _hd_label(lang: str, digit: int, label_order: str) -> int:
    return _SHD_ORDERS[label_order].index(f"{_LANG_CODE[lang]}_{digit}")


def _hd_root(data_dir: str | os.PathLike) -> Path:
    root = Path(data_dir)
    if not root.is_dir():
        raise UserInputError(f"HD audio folder {root} does not exist; {data_source('hd')}")
    if not (root / "audio").is_dir() and (root / "hd_audio" / "audio").is_dir():
        root = root / "hd_audio"
    if not (root / "audio").is_dir():
        raise UserInputError(f"missing audio folder {root / 'audio'}; {data_source('hd')}")
    return root


def _hd_entries(root: Path, split: str, label_order: str) -> list[tuple[str, Path, int, str, int, int, int]]:
    list_path = root / f"{split}_filenames.txt"
    out = []
    for name in _read_list(list_path, "hd"):
        base = os.path.basename(name)
        try:
            lang, speaker, trial, digit = parse_hd_name(base)
        except UserInputError as exc:
            raise UserInputError(f"{list_path}: {exc}; remove the line or fix the file name") from None
        path = root / "audio" / base
        if not path.is_file():
            raise UserInputError(f"{list_path} lists {base}, but {path} does not exist; the archive is "
                                 f"incomplete: {data_source('hd')}")
        out.append((f"audio/{base}", path, _hd_label(lang, digit, label_order), lang, speaker, trial, digit))
    return out


def load_shd(data_dir: str | os.PathLike, split: str = "train", *, config: F.FeatureConfig | None = None,
             n_frames: int | str | None = None, hop_length: int | None = None, label_order: str = "h5",
             limit: int | None = None, progress: bool = True, cache_dir: str | os.PathLike | None = None
             ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Load Heidelberg Digits audio as SHD-front-end features (docs/method.md#heidelberg-digits-shd).

    Parameters
    ----------
    data_dir : folder of the unpacked ``hd_audio.tar.gz`` (holding ``audio/``, ``train_filenames.txt``,
        ``test_filenames.txt``), or its parent holding ``hd_audio/``.
    split : ``'train'`` or ``'test'`` (the official lists).
    config : log-mel configuration; default :func:`lprnn_brian.tasks.features.shd` (48 kHz, n_fft 1024,
        hop 256 samples, 80 mel bands 0–24 kHz, T = 125, keep-last/left-pad).
    n_frames : T. ``None`` keeps the config's (125); an int sets it; ``'p90'`` sets T = ⌊L90/hop⌋ with L90
        (samples) the 90th percentile of the **train** clip lengths (decision A1 in docs/decisions.md), whatever
        ``split`` is. The clip length is then L = T·hop samples (the reference keeps L90 samples; the extra L90 mod hop
        samples at the clip start fall in no frame of ours).
    hop_length : hop in samples (256 or 128, decision A1 in docs/decisions.md); ``None`` keeps the config's.
    label_order : ``'h5'`` (SHD convention: English 0–9, German 10–19) or ``'reference'`` (the authors'
        HD-audio loader: German 0–9, English 10–19).
    limit : load only the first ``limit`` files of the list (p90 still uses the whole train list).
    progress : show a progress bar on stderr.
    cache_dir : folder for a feature cache (``None``: no cache).

    Returns
    -------
    X : float32 (N, T, 80), per-file z-scored log-mel features, time first.
    y : int64 (N,), labels in ``label_order``.
    info : JSON-serialisable dict: ``dataset`` ('hd'), ``split``, ``class_names``, ``label_order``,
        ``feature_config`` (dict), ``n_frames`` (T), ``n_frames_rule`` ('config', 'fixed' or 'p90'),
        ``p90_samples`` (L90, or None), ``frame_dt`` (Δt_A = 1/T, s), ``hop_seconds`` (true hop, s),
        ``files`` (paths relative to the data folder), ``speaker``, ``trial``, ``digit``, ``language``
        (per clip), ``data_dir``, ``source`` (download URL), ``cache`` (cache file or None).
    """
    if split not in ("train", "test"):
        raise UserInputError(f"HD split must be 'train' or 'test', got {split!r} (validation is a hold-out of "
                             "training speakers made by the trainer)")
    if label_order not in _SHD_ORDERS:
        raise UserInputError(f"label_order must be 'h5' or 'reference', got {label_order!r}")
    _check_limit(limit)
    cfg = F.shd() if config is None else config
    if not isinstance(cfg, F.FeatureConfig):
        raise UserInputError(f"the SHD loader takes a log-mel FeatureConfig, got {type(cfg).__name__}")
    if hop_length is not None:
        cfg = F.FeatureConfig.from_dict(dict(cfg.to_dict(), hop_length=hop_length))
    if cfg.sample_rate != HD_SAMPLE_RATE:
        raise UserInputError(f"HD audio is sampled at {HD_SAMPLE_RATE} Hz; the feature config has "
                             f"sample_rate={cfg.sample_rate}")
    root = _hd_root(data_dir)
    entries = _hd_entries(root, split, label_order)
    rule, p90 = "config", None
    if isinstance(n_frames, str):
        if n_frames != "p90":
            raise UserInputError(f"n_frames must be a positive integer, None or 'p90', got {n_frames!r}")
        train = entries if split == "train" else _hd_entries(root, "train", label_order)
        if not train:
            raise UserInputError(f"{root / 'train_filenames.txt'} lists no files; n_frames='p90' needs them")
        lengths = [_n_frames_of(e[1]) for e in _progress(train, "HD train lengths", progress)]
        p90 = int(np.percentile(lengths, 90))
        t = p90 // cfg.hop_length
        if t < 1:
            raise UserInputError(f"the 90th-percentile train clip ({p90} samples) is shorter than one hop "
                                 f"({cfg.hop_length} samples)")
        cfg = F.FeatureConfig.from_dict(dict(cfg.to_dict(), n_frames=t))
        rule = "p90"
    elif n_frames is not None:
        cfg = F.FeatureConfig.from_dict(dict(cfg.to_dict(), n_frames=n_frames))
        rule = "fixed"
    if limit is not None:
        entries = entries[:int(limit)]

    def compute() -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        feats = [F.compute_features(read_audio(e[1], HD_SAMPLE_RATE), cfg)
                 for e in _progress(entries, f"HD {split} features", progress)]
        X = _stack(feats, cfg)
        y = np.array([e[2] for e in entries], dtype=np.int64)
        info = {
            "dataset": "hd", "split": split, "class_names": list(_SHD_ORDERS[label_order]),
            "label_order": label_order, "feature_config": cfg.to_dict(), "n_frames": int(cfg.n_frames),
            "n_frames_rule": rule, "p90_samples": p90, "frame_dt": cfg.frame_dt, "hop_seconds": cfg.hop_seconds,
            "files": [e[0] for e in entries], "speaker": [e[4] for e in entries],
            "trial": [e[5] for e in entries], "digit": [e[6] for e in entries],
            "language": [e[3] for e in entries], "data_dir": str(root.resolve()), "source": HD_URL,
        }
        return X, y, info

    key = {"loader": "shd", "split": split, "label_order": label_order, "config": cfg.to_dict(),
           "rule": rule, "p90": p90, "files": [e[0] for e in entries],
           "stat": _fingerprint(e[1] for e in entries) if cache_dir is not None else None}
    X, y, info = _with_cache(cache_dir, f"hd-{split}", key, compute)
    return X, y.astype(np.int64, copy=False), info


# ---------------------------------------------------------------------------------------------- GSC
def _gsc_scan(root: Path, version: int) -> dict[str, Path]:
    """All word clips, ``{'word/file.wav': path}``; every word folder must be a word of ``version``."""
    vocab = GSC_V1_WORDS if version == 1 else GSC_V2_WORDS
    clips: dict[str, Path] = {}
    for d in sorted(root.iterdir()):
        if not d.is_dir() or d.name.startswith(".") or d.name == _BACKGROUND:
            continue
        if d.name not in vocab:
            hint = (" (it is a v2 word: pass version=2)" if version == 1 and d.name in GSC_V2_WORDS else "")
            raise UserInputError(f"{d}: {d.name!r} is not a Speech Commands v{version} word{hint}; remove the "
                                 f"folder or pass the unpacked archive: {data_source(f'gsc_v{version}')}")
        for f in sorted(d.iterdir()):
            if f.suffix.lower() == ".wav" and f.is_file():
                clips[f"{d.name}/{f.name}"] = f
    if not clips:
        raise UserInputError(f"no word folders with .wav files in {root}; {data_source(f'gsc_v{version}')}")
    return clips


def _gsc_split(root: Path, clips: dict[str, Path], split: str, version: int) -> list[str]:
    listed: dict[str, list[str]] = {}
    for name, fname in _SPLIT_LISTS.items():
        list_path = root / fname
        entries = []
        for rel in _read_list(list_path, f"gsc_v{version}"):
            rel = rel.replace("\\", "/")
            rel = rel[2:] if rel.startswith("./") else rel
            if rel not in clips:
                raise UserInputError(f"{list_path} lists {rel}, but {root / rel} does not exist (or is not in a "
                                     f"word folder); the archive is incomplete: {data_source(f'gsc_v{version}')}")
            entries.append(rel)
        listed[name] = entries
    if split in listed:
        return listed[split]
    held_out = set(listed["validation"]) | set(listed["test"])
    return [rel for rel in clips if rel not in held_out]


def _gsc_label(word: str, version: int, protocol: str) -> int:
    if protocol == "12":
        return _GSC_12.index(word) if word in GSC_COMMANDS else 0
    names = _GSC_36 if version == 1 else GSC_V2_WORDS
    return names.index(word)


def _silence_crops(root: Path, split: str, n: int, seed: int, version: int
                   ) -> list[tuple[str, np.ndarray, dict[str, Any]]]:
    """``n`` seeded 1 s background-noise crops from this split's segment of every noise file."""
    bg = root / _BACKGROUND
    files = sorted(p for p in bg.iterdir() if p.suffix.lower() == ".wav" and p.is_file()) if bg.is_dir() else []
    if not files:
        raise UserInputError(f"silence clips need the background-noise recordings in {bg}, which is missing or "
                             f"holds no .wav file; {data_source(f'gsc_v{version}')} (or pass silence_fraction=0)")
    lo, hi = _SILENCE_SEGMENTS[split]
    usable = []
    for p in files:
        x = read_audio(p, GSC_SAMPLE_RATE)
        a, b = int(math.floor(lo * x.shape[0])), int(math.floor(hi * x.shape[0]))
        if b - a >= GSC_SILENCE_SAMPLES:
            usable.append((p, x, a, b))
    if not usable:
        raise UserInputError(f"the recordings in {bg} are too short for 1 s silence crops from the {split} "
                             f"segment ({lo:.0%}–{hi:.0%} of each file); each needs at least "
                             f"{math.ceil(GSC_SILENCE_SAMPLES / (hi - lo))} samples")
    rng = np.random.default_rng([int(seed), _SPLIT_INDEX[split]])
    out = []
    for _ in range(n):
        p, x, a, b = usable[int(rng.integers(len(usable)))]
        off = int(rng.integers(a, b - GSC_SILENCE_SAMPLES + 1))
        gain = float(rng.uniform(0.0, 1.0))
        rel = f"{_BACKGROUND}/{p.name}"
        out.append((f"{rel}@{off}", gain * x[off:off + GSC_SILENCE_SAMPLES],
                    {"file": rel, "offset": off, "samples": GSC_SILENCE_SAMPLES, "gain": gain}))
    return out


def load_gsc(data_dir: str | os.PathLike, *, version: int = 1, protocol: str = "35", split: str = "train",
             pipeline: str = "paper", config: F.FrontEndConfig | None = None, silence_fraction: float | None = None,
             seed: int = 0, limit: int | None = None, progress: bool = True,
             cache_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Load Google Speech Commands v1/v2 as features (docs/method.md#google-speech-commands; protocols and silence:
    module docstring).

    Parameters
    ----------
    data_dir : folder of the unpacked ``speech_commands_v0.0{1,2}.tar.gz``.
    version : 1 or 2. Word folders that are not words of this version are an error.
    protocol : ``'12'`` (10 commands + unknown + silence) or ``'35'`` (v1: 36-class order of the reference
        code; v2: 35 words alphabetically).
    split : ``'train'``, ``'validation'`` (``validation_list.txt``) or ``'test'`` (``testing_list.txt``).
    pipeline : ``'paper'`` (:func:`~lprnn_brian.tasks.features.gsc_paper`: 80 log-mel bands, T = 125,
        right-padded to 16,000 samples, per-file z-score) or ``'head'``
        (:func:`~lprnn_brian.tasks.features.gsc_head`: 40 Kaldi fbank bins, T = 98, last 16,000 samples,
        no normalisation).
    config : a front-end config to use instead of the pipeline's (must be at 16 kHz).
    silence_fraction : silence crops per named-word clip of the split (Warden's silence_percentage/100);
        ``None``: 0.1 for ``'12'``, 0 for ``'35'`` (silence then goes to class 0 of the v1 order; the v2
        alphabetical order has no silence class, so it must stay 0).
    seed : seed of the silence crops (offsets, files, gains).
    limit : load only the first ``limit`` word clips of the split (train: sorted by path; validation and
        test: list order); the silence count follows the clips loaded.
    progress : show a progress bar on stderr.
    cache_dir : folder for a feature cache (``None``: no cache).

    Returns
    -------
    X : float32 (N, T, F) features, time first (word clips, then silence crops).
    y : int64 (N,).
    info : JSON-serialisable dict: ``dataset`` ('gsc_v1'/'gsc_v2'), ``version``, ``protocol``, ``split``,
        ``pipeline``, ``class_names``, ``feature_config`` (dict), ``n_frames``, ``frame_dt`` (Δt_A = 1/T, s),
        ``hop_seconds``, ``files`` (relative paths; silence crops as ``_background_noise_/<file>@<offset>``),
        ``words`` (folder word or ``'_silence_'``), ``silence`` (file, offset, samples, gain per crop),
        ``silence_fraction``, ``seed``, ``data_dir``, ``source`` (download URL), ``cache``.
    """
    _check_gsc_args(version, protocol)
    if split not in _SPLIT_INDEX:
        raise UserInputError(f"GSC split must be 'train', 'validation' or 'test', got {split!r}")
    if config is None:
        if pipeline not in ("paper", "head"):
            raise UserInputError(f"pipeline must be 'paper' or 'head', got {pipeline!r}")
        cfg: F.FrontEndConfig = F.gsc_paper() if pipeline == "paper" else F.gsc_head()
    elif isinstance(config, (F.FeatureConfig, F.KaldiFbankConfig)):
        cfg = config
        pipeline = "head" if isinstance(config, F.KaldiFbankConfig) else "paper"
    else:
        raise UserInputError(f"config must be a FeatureConfig or KaldiFbankConfig, got {type(config).__name__}")
    if cfg.sample_rate != GSC_SAMPLE_RATE:
        raise UserInputError(f"Speech Commands audio is sampled at {GSC_SAMPLE_RATE} Hz; the feature config has "
                             f"sample_rate={cfg.sample_rate}")
    if silence_fraction is None:
        silence_fraction = 0.1 if protocol == "12" else 0.0
    silence_fraction = float(silence_fraction)
    if not (0.0 <= silence_fraction <= 10.0) or not math.isfinite(silence_fraction):
        raise UserInputError(f"silence_fraction must be in [0, 10], got {silence_fraction}")
    if silence_fraction > 0 and protocol == "35" and version == 2:
        raise UserInputError("the v2 35-word protocol has no silence class; use silence_fraction=0 or protocol '12'")
    _check_limit(limit)
    root = Path(data_dir)
    if not root.is_dir():
        raise UserInputError(f"Speech Commands folder {root} does not exist; {data_source(f'gsc_v{version}')}")
    clips = _gsc_scan(root, version)
    rels = _gsc_split(root, clips, split, version)
    if limit is not None:
        rels = rels[:int(limit)]
    named = [r for r in rels if protocol == "35" or r.split("/", 1)[0] in GSC_COMMANDS]
    n_silence = int(math.ceil(silence_fraction * len(named))) if silence_fraction > 0 else 0
    silence_label = _GSC_12.index("_silence_") if protocol == "12" else 0
    dataset = f"gsc_v{version}"

    def compute() -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        feats = [F.compute_features(read_audio(clips[r], GSC_SAMPLE_RATE), cfg)
                 for r in _progress(rels, f"GSC v{version} {split} features", progress)]
        labels = [_gsc_label(r.split("/", 1)[0], version, protocol) for r in rels]
        crops = _silence_crops(root, split, n_silence, seed, version) if n_silence else []
        feats += [F.compute_features(c[1], cfg) for c in crops]
        labels += [silence_label] * len(crops)
        info = {
            "dataset": dataset, "version": version, "protocol": protocol, "split": split, "pipeline": pipeline,
            "class_names": list(gsc_class_names(version, protocol)), "feature_config": cfg.to_dict(),
            "n_frames": _feature_shape(cfg)[0], "frame_dt": cfg.frame_dt, "hop_seconds": cfg.hop_seconds,
            "files": list(rels) + [c[0] for c in crops],
            "words": [r.split("/", 1)[0] for r in rels] + ["_silence_"] * len(crops),
            "silence": [c[2] for c in crops], "silence_fraction": silence_fraction, "seed": int(seed),
            "data_dir": str(root.resolve()), "source": GSC_URLS[version],
        }
        return _stack(feats, cfg), np.array(labels, dtype=np.int64), info

    key = None
    if cache_dir is not None:
        bg = root / _BACKGROUND
        noise = sorted(p for p in bg.iterdir() if p.suffix.lower() == ".wav") if n_silence and bg.is_dir() else []
        key = {"loader": "gsc", "version": version, "protocol": protocol, "split": split, "config": cfg.to_dict(),
               "silence_fraction": silence_fraction, "n_silence": n_silence, "seed": int(seed), "files": rels,
               "stat": _fingerprint(clips[r] for r in rels), "noise": _fingerprint(noise)}
    X, y, info = _with_cache(cache_dir, f"{dataset}-{split}", key or {}, compute)
    return X, y.astype(np.int64, copy=False), info
