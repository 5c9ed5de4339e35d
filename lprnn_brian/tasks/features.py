"""Log-mel front end of docs/method.md#heidelberg-digits-shd, docs/method.md#google-speech-commands, in plain
numpy/scipy (no librosa).

Pipeline (:func:`log_mel`), for one clip ``audio`` sampled at ``config.sample_rate``:

1. clip length L = T·hop (:func:`fix_length`): ``pad='left'`` keeps the **last** L samples and left-pads
   shorter clips with zeros (SHD, docs/method.md#heidelberg-digits-shd; GSC HEAD); ``pad='right'`` keeps the first L and
   right-pads (paper-era GSC, decision A6 in docs/decisions.md);
2. centred power spectrogram (:func:`power_spectrogram`): periodic Hann window of ``n_fft``, hop
   ``hop_length``, the signal padded by n_fft//2 on both sides (``pad_mode='reflect'`` like librosa's
   ``center=True``), |FFT|²;
3. mel magnitude sqrt(M·P) with our own Slaney-scale filterbank (:func:`mel_filterbank`), built at the true
   sample rate (decision A6 in docs/decisions.md), normalised per ``mel_norm`` (decision A7 in docs/decisions.md);
4. dB (:func:`to_db`): 10·log10(max(x, 1e-10)) minus the per-file maximum (decision A2 in docs/decisions.md), floored at
   −80 dB;
5. drop the first frame, so that 1 + L/hop centred frames leave exactly T = L/hop;
6. per-file z-score over (time, mel): (x − mean)/(std_unbiased + 1e-10) (:func:`zscore`).

Output: float32 array of shape (T, n_mels), time first (the model's input layout; the SNN file layout of
the reference is its transpose).

Steps 1–5 are :func:`log_mel_db` (values in [−80, 0] dB with maximum exactly 0); the bundled digits file
stores those, quantised, and applies step 6 at load time.

The GSC HEAD front end (docs/method.md#google-speech-commands) is a Kaldi log filterbank (:class:`KaldiFbankConfig`,
:func:`gsc_head`, :func:`kaldi_fbank`), a numpy re-implementation of ``torchaudio.compliance.kaldi.fbank`` with its
defaults and 40 bins: (98, 40) per 16,000-sample clip. :func:`compute_features` dispatches on the config type and
:func:`config_from_dict` rebuilds either config from its ``to_dict()`` form.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserInputError

__all__ = [
    "FeatureConfig",
    "shd",
    "gsc_paper",
    "hz_to_mel",
    "mel_to_hz",
    "mel_frequencies",
    "mel_filterbank",
    "fix_length",
    "power_spectrogram",
    "to_db",
    "zscore",
    "log_mel_db",
    "log_mel",
    "KALDI_EPS",
    "KaldiFbankConfig",
    "FrontEndConfig",
    "gsc_head",
    "config_from_dict",
    "kaldi_mel_scale",
    "kaldi_mel_to_hz",
    "kaldi_num_frames",
    "kaldi_window",
    "kaldi_mel_banks",
    "kaldi_fbank",
    "kaldi_features",
    "compute_features",
]

# Slaney mel scale (Auditory Toolbox; librosa htk=False): linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # = 15 mel
_LOGSTEP = math.log(6.4) / 27.0  # 27 mel per factor 6.4 above 1 kHz

_MEL_NORMS = ("l1", "slaney")
_PADS = ("left", "right")
_PAD_MODES = ("reflect", "constant")


class _DictConfig:
    """``to_dict``/``from_dict`` of the frozen front-end config dataclasses (``_label`` names the config in
    error messages)."""

    _label = "config"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (round-trips through :meth:`from_dict`)."""
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, np.generic):
                d[k] = v.item()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Build from :meth:`to_dict` output; unknown keys are a :class:`UserInputError`."""
        if not isinstance(d, dict):
            raise UserInputError(f"{cls._label} must be a dict, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserInputError(f"{cls._label}: unknown keys {unknown}; known keys are {sorted(names)}")
        return cls(**d)


@dataclass(frozen=True)
class FeatureConfig(_DictConfig):
    """Parameters of the log-mel front end (docs/method.md#heidelberg-digits-shd,
    docs/method.md#google-speech-commands). All frequencies in Hz, lengths in samples.

    ``n_frames`` is T; the clip length is L = T·hop_length samples (decision A1 in docs/decisions.md). ``fmax=None``
    means the Nyquist frequency. ``mel_norm``: ``'l1'`` (each filter sums to 1; librosa ≥ 0.8 ``norm=1``) or
    ``'slaney'`` (area normalisation 2/(f_hi − f_lo)). ``pad``: ``'left'`` keeps the last L samples and
    left-pads (docs/method.md#heidelberg-digits-shd), ``'right'`` keeps the first L and right-pads (paper-era GSC,
    decision A6 in docs/decisions.md).
    """

    _label = "feature config"

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 128
    n_mels: int = 80
    fmin: float = 40.0
    fmax: float | None = 8000.0
    n_frames: int = 125
    mel_norm: str = "l1"
    win_length: int | None = None  # None: n_fft
    pad: str = "left"
    pad_mode: str = "reflect"
    db_floor: float = -80.0
    amin: float = 1e-10
    drop_first: bool = True
    normalise: bool = True
    name: str = "custom"

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ derived quantities
    @property
    def clip_samples(self) -> int:
        """L = T·hop_length."""
        return int(self.n_frames) * int(self.hop_length)

    @property
    def f_max(self) -> float:
        return float(self.sample_rate) / 2.0 if self.fmax is None else float(self.fmax)

    @property
    def window_length(self) -> int:
        return int(self.n_fft) if self.win_length is None else int(self.win_length)

    @property
    def frame_dt(self) -> float:
        """Δt_A = 1/T (step 8 of docs/method.md#heidelberg-digits-shd, decision B8 in docs/decisions.md): each clip
        is treated as 1 s."""
        return 1.0 / float(self.n_frames)

    @property
    def hop_seconds(self) -> float:
        """The true hop in seconds (differs from Δt_A except for paper-era GSC)."""
        return float(self.hop_length) / float(self.sample_rate)

    # ------------------------------------------------------------------ checks and (de)serialisation
    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise UserInputError(f"feature config: {msg}")

        for key in ("sample_rate", "n_fft", "hop_length", "n_mels", "n_frames"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                bad(f"{key} must be a positive integer, got {v!r}")
        if self.win_length is not None and not (0 < int(self.win_length) <= int(self.n_fft)):
            bad(f"win_length must be in 1..n_fft={self.n_fft}, got {self.win_length!r}")
        if self.mel_norm not in _MEL_NORMS:
            bad(f"mel_norm must be one of {_MEL_NORMS}, got {self.mel_norm!r}")
        if self.pad not in _PADS:
            bad(f"pad must be one of {_PADS}, got {self.pad!r}")
        if self.pad_mode not in _PAD_MODES:
            bad(f"pad_mode must be one of {_PAD_MODES}, got {self.pad_mode!r}")
        if not (0.0 <= float(self.fmin) < self.f_max <= self.sample_rate / 2.0 + 1e-9):
            bad(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax}, "
                f"sample_rate={self.sample_rate}")
        if not float(self.db_floor) < 0.0:
            bad(f"db_floor must be negative, got {self.db_floor}")
        if not float(self.amin) > 0.0:
            bad(f"amin must be positive, got {self.amin}")

def shd(**overrides: Any) -> FeatureConfig:
    """SHD / Heidelberg Digits audio (docs/method.md#heidelberg-digits-shd): 48 kHz, n_fft 1024, hop 256, 80 mels
    0–24 kHz, T 125, keep-last/left-pad, L = 32,000 samples."""
    kw: dict[str, Any] = dict(sample_rate=48000, n_fft=1024, hop_length=256, n_mels=80, fmin=0.0, fmax=24000.0,
                              n_frames=125, mel_norm="l1", pad="left", name="shd")
    kw.update(overrides)
    return FeatureConfig(**kw)


def gsc_paper(**overrides: Any) -> FeatureConfig:
    """Paper-era Google Speech Commands (docs/method.md#google-speech-commands): 16 kHz, n_fft 1024, hop 128, 80
    mels 40 Hz–8 kHz built at 16 kHz (decision A6 in docs/decisions.md), T 125 (Δt_A = 8 ms = hop exactly),
    right-padded to 16,000 samples."""
    kw: dict[str, Any] = dict(sample_rate=16000, n_fft=1024, hop_length=128, n_mels=80, fmin=40.0, fmax=8000.0,
                              n_frames=125, mel_norm="l1", pad="right", name="gsc_paper")
    kw.update(overrides)
    return FeatureConfig(**kw)


# ---------------------------------------------------------------------------------------------- mel scale
def hz_to_mel(f: Any) -> np.ndarray:
    """Slaney mel scale: f/(200/3) below 1 kHz, 15 + ln(f/1000)/(ln 6.4/27) above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m: Any) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    lin = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n: int, fmin: float, fmax: float) -> np.ndarray:
    """``n`` frequencies (Hz) equally spaced on the Slaney mel scale from fmin to fmax inclusive."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), int(n)))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
                   norm: str = "l1") -> np.ndarray:
    """Triangular Slaney-scale mel filters, shape (n_mels, 1 + n_fft//2), float64.

    Filter m rises linearly from edge m to its centre m+1 and falls to edge m+2, the n_mels+2 edges being
    equally spaced in mel between fmin and fmax (Hz); FFT bin k sits at k·sample_rate/n_fft. ``norm='l1'``
    makes every non-empty filter sum to 1; ``'slaney'`` scales filter m by 2/(edge_{m+2} − edge_m) (Hz).
    Filters that catch no FFT bin stay all-zero.
    """
    if norm not in _MEL_NORMS:
        raise UserInputError(f"mel norm must be one of {_MEL_NORMS}, got {norm!r}")
    fmax = float(sample_rate) / 2.0 if fmax is None else float(fmax)
    fft_hz = np.arange(1 + int(n_fft) // 2, dtype=np.float64) * float(sample_rate) / float(n_fft)
    edges = mel_frequencies(int(n_mels) + 2, float(fmin), fmax)
    fdiff = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    else:
        s = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, s, out=np.zeros_like(weights), where=s > 0)
    return weights


# ---------------------------------------------------------------------------------------------- pipeline
def fix_length(audio: np.ndarray, length: int, pad: str = "left") -> np.ndarray:
    """Cut or zero-pad a 1-D signal to ``length`` samples.

    ``pad='left'``: keep the last ``length`` samples, left-pad shorter clips. ``pad='right'``: keep the first,
    right-pad.
    """
    if pad not in _PADS:
        raise UserInputError(f"pad must be one of {_PADS}, got {pad!r}")
    x = np.asarray(audio, dtype=np.float64)
    n = x.shape[0]
    if n >= length:
        return x[n - length:] if pad == "left" else x[:length]
    z = np.zeros(length - n, dtype=np.float64)
    return np.concatenate([z, x]) if pad == "left" else np.concatenate([x, z])


def _hann(n: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of length n, zero-padded symmetrically to n_fft (librosa/torch convention)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    if n < n_fft:
        left = (n_fft - n) // 2
        w = np.pad(w, (left, n_fft - n - left))
    return w


def power_spectrogram(x: np.ndarray, n_fft: int, hop_length: int, win_length: int | None = None,
                      pad_mode: str = "reflect") -> np.ndarray:
    """Centred |STFT|², shape (1 + n_fft//2, 1 + len(x)//hop), float64.

    The signal is padded by n_fft//2 on both sides (``reflect`` or ``constant`` zeros), then framed every
    ``hop_length`` samples with a periodic Hann window.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise UserInputError(f"audio must be 1-D (mono), got shape {x.shape}")
    half = n_fft // 2
    if pad_mode == "reflect" and x.shape[0] <= half:
        raise UserInputError(f"audio of {x.shape[0]} samples is too short for reflect padding of {half}")
    xp = np.pad(x, (half, half), mode=pad_mode)
    n_frames = 1 + (xp.shape[0] - n_fft) // hop_length
    frames = np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop_length][:n_frames]
    win = _hann(n_fft if win_length is None else int(win_length), n_fft)
    spec = np.fft.rfft(frames * win[None, :], n=n_fft, axis=1)
    return (spec.real ** 2 + spec.imag ** 2).T


def to_db(x: np.ndarray, amin: float = 1e-10, floor: float = -80.0) -> np.ndarray:
    """10·log10(max(x, amin)) minus its maximum (per-file reference, decision A2 in docs/decisions.md), floored at
    ``floor`` dB."""
    db = 10.0 * np.log10(np.maximum(x, amin))
    db = db - db.max()
    return np.maximum(db, floor)


def zscore(x: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """Per-file z-score over all entries: (x − mean)/(std with ddof=1 + eps)."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / (x.std(ddof=1) + eps)


_FB_CACHE: dict[tuple, np.ndarray] = {}


def _filterbank(config: FeatureConfig) -> np.ndarray:
    key = (config.sample_rate, config.n_fft, config.n_mels, float(config.fmin), config.f_max, config.mel_norm)
    fb = _FB_CACHE.get(key)
    if fb is None:
        fb = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.f_max,
                            config.mel_norm)
        _FB_CACHE[key] = fb
    return fb


def _check_audio(audio: Any, config: FeatureConfig | KaldiFbankConfig, sample_rate: int | None) -> np.ndarray:
    if sample_rate is not None and int(sample_rate) != int(config.sample_rate):
        raise UserInputError(f"audio is sampled at {sample_rate} Hz but the feature config expects "
                             f"{config.sample_rate} Hz; resample it first (e.g. sox in.wav -r "
                             f"{config.sample_rate} out.wav)")
    x = np.asarray(audio)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise UserInputError(f"audio must be a mono 1-D array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise UserInputError(f"audio must be numeric, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.integer):  # PCM integers -> [-1, 1)
        x = x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise UserInputError("audio contains NaN or infinite samples")
    return x


def log_mel_db(audio: Any, config: FeatureConfig, sample_rate: int | None = None) -> np.ndarray:
    """Steps 1–5 of the pipeline: dB mel features relative to the file maximum, in [db_floor, 0].

    Returns float64 of shape (T, n_mels) (T = n_frames when ``drop_first``, else T + 1).
    """
    x = _check_audio(audio, config, sample_rate)
    x = fix_length(x, config.clip_samples, config.pad)
    p = power_spectrogram(x, config.n_fft, config.hop_length, config.win_length, config.pad_mode)
    mel = np.sqrt(_filterbank(config) @ p)  # (n_mels, frames)
    db = to_db(mel, config.amin, config.db_floor)
    if config.drop_first:
        db = db[:, 1:]
    return db.T


def log_mel(audio: Any, config: FeatureConfig, sample_rate: int | None = None) -> np.ndarray:
    """The full front end: (T, n_mels) float32, per-file z-scored when ``config.normalise``."""
    db = log_mel_db(audio, config, sample_rate)
    out = zscore(db) if config.normalise else db
    return out.astype(np.float32)


# ============================================================================================== Kaldi fbank
# HEAD pipeline of the GSC code (docs/method.md#google-speech-commands):
# ``torchaudio.compliance.kaldi.fbank(waveform, num_mel_bins=40)`` with every other argument at its default.
# Re-implemented here in numpy, step for step:
#   frames of window_size = int(sr·frame_length_ms/1000) samples every window_shift = int(sr·frame_shift_ms/1000)
#   (snip_edges: only frames that fit, T = 1 + (N − size)//shift); per frame: subtract the frame mean
#   (remove_dc_offset); pre-emphasis x[j] −= k·x[max(0, j−1)] (the first sample uses itself); window (povey =
#   symmetric Hann^0.85); zero-pad to the next power of two (round_to_power_of_two); |rfft|² (use_power);
#   triangular filters equally spaced on the Kaldi/HTK mel scale 1127·ln(1 + f/700) from low_freq to
#   high_freq (≤ 0: offset from Nyquist), triangles linear in mel, peak 1, no normalisation, the Nyquist bin
#   weighted 0; log(max(e, float32 eps)) (use_log_fbank); no energy term (use_energy False); dither 0.
_KALDI_WINDOWS = ("povey", "hanning", "hamming", "rectangular")
#: std::numeric_limits<float>::epsilon(), Kaldi's and torchaudio's floor before the log.
KALDI_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class KaldiFbankConfig(_DictConfig):
    """Parameters of the Kaldi-compatible log filterbank front end (GSC HEAD pipeline,
    docs/method.md#google-speech-commands).

    Times in milliseconds, frequencies in Hz, lengths in samples. Defaults are those of
    ``torchaudio.compliance.kaldi.fbank`` with ``num_mel_bins=40`` (dither 0). The clip is first cut or
    zero-padded to ``n_samples`` (``pad='left'``: keep the last samples / left-pad, as the HEAD code does);
    the waveform is float in [−1, 1] (PCM integers are divided by 2^(bits−1)). ``high_freq <= 0`` means an
    offset from the Nyquist frequency (Kaldi convention). ``normalise`` adds a per-file z-score (an option of
    decision A4 in docs/decisions.md; the HEAD definition has none). ``front_end`` is a constant tag that tells the
    dict form of this config from a :class:`FeatureConfig` (see :func:`config_from_dict`).
    """

    _label = "kaldi fbank config"

    sample_rate: int = 16000
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    n_mels: int = 40
    low_freq: float = 20.0
    high_freq: float = 0.0
    preemphasis: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    round_to_power_of_two: bool = True
    snip_edges: bool = True
    use_power: bool = True
    use_log_fbank: bool = True
    n_samples: int = 16000
    pad: str = "left"
    normalise: bool = False
    name: str = "custom"
    front_end: str = "kaldi_fbank"

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ derived quantities
    @property
    def window_size(self) -> int:
        """Frame length in samples, int(sample_rate · frame_length_ms / 1000) (400 at 16 kHz)."""
        return int(self.sample_rate * self.frame_length_ms * 0.001)

    @property
    def window_shift(self) -> int:
        """Frame shift in samples, int(sample_rate · frame_shift_ms / 1000) (160 at 16 kHz)."""
        return int(self.sample_rate * self.frame_shift_ms * 0.001)

    @property
    def padded_window_size(self) -> int:
        """FFT length: the next power of two ≥ window_size (512 for 400) or window_size itself."""
        w = self.window_size
        return 1 << (w - 1).bit_length() if self.round_to_power_of_two else w

    @property
    def f_high(self) -> float:
        """Upper edge of the filterbank in Hz (high_freq, or Nyquist + high_freq when high_freq <= 0)."""
        nyq = 0.5 * float(self.sample_rate)
        return float(self.high_freq) + nyq if self.high_freq <= 0.0 else float(self.high_freq)

    @property
    def n_frames(self) -> int:
        """T for a clip of n_samples: 1 + (N − size)//shift with snip_edges (98 for 16,000 samples)."""
        return kaldi_num_frames(self.n_samples, self.window_size, self.window_shift, self.snip_edges)

    @property
    def frame_dt(self) -> float:
        """Δt_A = 1/T (decision B8 in docs/decisions.md: 10.2 ms for T = 98; the true shift is 10 ms)."""
        return 1.0 / float(self.n_frames)

    @property
    def hop_seconds(self) -> float:
        """The true frame shift in seconds."""
        return float(self.window_shift) / float(self.sample_rate)

    # ------------------------------------------------------------------ checks and (de)serialisation
    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise UserInputError(f"kaldi fbank config: {msg}")

        for key in ("sample_rate", "n_mels", "n_samples"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                bad(f"{key} must be a positive integer, got {v!r}")
        for key in ("remove_dc_offset", "round_to_power_of_two", "snip_edges", "use_power", "use_log_fbank",
                    "normalise"):
            if not isinstance(getattr(self, key), (bool, np.bool_)):
                bad(f"{key} must be True or False, got {getattr(self, key)!r}")
        if self.front_end != "kaldi_fbank":
            bad(f"front_end must be 'kaldi_fbank', got {self.front_end!r}")
        if self.n_mels <= 3:
            bad(f"n_mels must be at least 4 (Kaldi), got {self.n_mels}")
        if not (float(self.frame_length_ms) > 0 and float(self.frame_shift_ms) > 0):
            bad("frame_length_ms and frame_shift_ms must be positive")
        if self.window_size < 2 or self.window_shift < 1:
            bad(f"frame of {self.window_size} samples / shift of {self.window_shift} samples is too short")
        if self.padded_window_size % 2:
            bad(f"the FFT length {self.padded_window_size} must be even; set round_to_power_of_two=True")
        if self.window_type not in _KALDI_WINDOWS:
            bad(f"window_type must be one of {_KALDI_WINDOWS}, got {self.window_type!r}")
        if not 0.0 <= float(self.preemphasis) <= 1.0:
            bad(f"preemphasis must be in [0, 1], got {self.preemphasis}")
        nyq = 0.5 * float(self.sample_rate)
        if not (0.0 <= float(self.low_freq) < nyq and 0.0 < self.f_high <= nyq and self.low_freq < self.f_high):
            bad(f"need 0 <= low_freq < high edge <= Nyquist ({nyq} Hz), got low_freq={self.low_freq}, "
                f"high_freq={self.high_freq} (high edge {self.f_high} Hz)")
        if self.pad not in _PADS:
            bad(f"pad must be one of {_PADS}, got {self.pad!r}")
        if self.n_samples < self.window_size:
            bad(f"n_samples={self.n_samples} is shorter than one frame ({self.window_size} samples)")


def gsc_head(**overrides: Any) -> KaldiFbankConfig:
    """GSC HEAD pipeline (docs/method.md#google-speech-commands): Kaldi fbank with torchaudio defaults and 40 bins on
    the last 16,000 samples (left-padded), float waveform, no normalisation; T = 98 frames of 25 ms every 10 ms."""
    kw: dict[str, Any] = dict(n_mels=40, n_samples=16000, pad="left", normalise=False, name="gsc_head")
    kw.update(overrides)
    return KaldiFbankConfig(**kw)


#: Either front-end configuration.
FrontEndConfig = FeatureConfig | KaldiFbankConfig


def config_from_dict(d: dict[str, Any]) -> FrontEndConfig:
    """Rebuild a :class:`FeatureConfig` or :class:`KaldiFbankConfig` from its ``to_dict()`` form (e.g. a
    model's meta): dicts with ``front_end='kaldi_fbank'`` are Kaldi configs, all others log-mel configs."""
    if isinstance(d, dict) and d.get("front_end") == "kaldi_fbank":
        return KaldiFbankConfig.from_dict(d)
    return FeatureConfig.from_dict(d)


def kaldi_mel_scale(f: Any) -> np.ndarray:
    """Kaldi/HTK mel scale, 1127·ln(1 + f/700) (f in Hz)."""
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


def kaldi_mel_to_hz(m: Any) -> np.ndarray:
    """Inverse of :func:`kaldi_mel_scale`: 700·(exp(m/1127) − 1) Hz."""
    return 700.0 * np.expm1(np.asarray(m, dtype=np.float64) / 1127.0)


def kaldi_num_frames(n_samples: int, window_size: int, window_shift: int, snip_edges: bool = True) -> int:
    """Number of Kaldi frames: 1 + (N − size)//shift (0 if N < size) with snip_edges, else (N + shift//2)//shift."""
    if snip_edges:
        return 0 if n_samples < window_size else 1 + (n_samples - window_size) // window_shift
    return (n_samples + window_shift // 2) // window_shift


def kaldi_window(window_type: str, size: int) -> np.ndarray:
    """Kaldi frame window of ``size`` samples: 'povey' = (0.5 − 0.5·cos(2πn/(size−1)))^0.85 (symmetric Hann
    to the power 0.85), 'hanning' (symmetric Hann), 'hamming' (0.54 − 0.46·cos), 'rectangular'."""
    if window_type not in _KALDI_WINDOWS:
        raise UserInputError(f"window_type must be one of {_KALDI_WINDOWS}, got {window_type!r}")
    n = np.arange(size, dtype=np.float64)
    a = 2.0 * np.pi / (size - 1)
    if window_type == "rectangular":
        return np.ones(size)
    if window_type == "hamming":
        return 0.54 - 0.46 * np.cos(a * n)
    hann = 0.5 - 0.5 * np.cos(a * n)
    return hann ** 0.85 if window_type == "povey" else hann


def kaldi_mel_banks(n_mels: int, padded_window_size: int, sample_rate: float, low_freq: float = 20.0,
                    high_freq: float = 0.0) -> np.ndarray:
    """Kaldi triangular filterbank, shape (n_mels, padded_window_size//2 + 1), float64.

    Edges: n_mels + 2 points equally spaced on :func:`kaldi_mel_scale` between low_freq and the high edge
    (``high_freq <= 0``: Nyquist + high_freq). FFT bin k (k < padded//2) sits at k·sample_rate/padded Hz;
    its weight in filter m is the triangle evaluated **in mel** (peak 1 at the centre, no normalisation).
    The last column (Nyquist bin) is zero, as in torchaudio.
    """
    nyq = 0.5 * float(sample_rate)
    hi = float(high_freq) + nyq if high_freq <= 0.0 else float(high_freq)
    n_fft_bins = int(padded_window_size) // 2
    mel_lo, mel_hi = kaldi_mel_scale(low_freq), kaldi_mel_scale(hi)
    delta = (mel_hi - mel_lo) / (int(n_mels) + 1)
    m = np.arange(int(n_mels), dtype=np.float64)[:, None]
    left, centre, right = mel_lo + m * delta, mel_lo + (m + 1.0) * delta, mel_lo + (m + 2.0) * delta
    mel = kaldi_mel_scale(np.arange(n_fft_bins) * float(sample_rate) / float(padded_window_size))[None, :]
    up = (mel - left) / (centre - left)
    down = (right - mel) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.concatenate([banks, np.zeros((banks.shape[0], 1))], axis=1)


_KALDI_BANK_CACHE: dict[tuple, np.ndarray] = {}


def _kaldi_banks(config: KaldiFbankConfig) -> np.ndarray:
    key = (config.n_mels, config.padded_window_size, config.sample_rate, float(config.low_freq), config.f_high)
    b = _KALDI_BANK_CACHE.get(key)
    if b is None:
        b = kaldi_mel_banks(config.n_mels, config.padded_window_size, config.sample_rate, config.low_freq,
                            config.f_high)
        _KALDI_BANK_CACHE[key] = b
    return b


def _kaldi_frames(x: np.ndarray, size: int, shift: int, snip_edges: bool) -> np.ndarray:
    m = kaldi_num_frames(x.shape[0], size, shift, snip_edges)
    if not snip_edges:  # reflect at the ends: [x[pad-1] … x[0]] x [x[-1] … x[0]], as torchaudio
        pad = size // 2 - shift // 2
        rev = x[::-1]
        x = np.concatenate([rev[-pad:], x, rev]) if pad > 0 else np.concatenate([x[-pad:], rev])
    if m <= 0:
        raise UserInputError(f"audio of {x.shape[0]} samples is shorter than one Kaldi frame ({size} samples)")
    return np.lib.stride_tricks.sliding_window_view(x, size)[::shift][:m].copy()


def kaldi_fbank(waveform: Any, config: KaldiFbankConfig | None = None) -> np.ndarray:
    """Kaldi log filterbank of a whole 1-D waveform (no cutting or padding): shape (T, n_mels), float64.

    Matches ``torchaudio.compliance.kaldi.fbank`` with the same options (see :class:`KaldiFbankConfig`;
    ``config=None`` means :func:`gsc_head`). The waveform is taken as given (float, e.g. in [−1, 1]);
    T = 1 + (len − window_size)//window_shift with snip_edges.
    """
    cfg = gsc_head() if config is None else config
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim != 1:
        raise UserInputError(f"waveform must be 1-D (mono), got shape {x.shape}")
    frames = _kaldi_frames(x, cfg.window_size, cfg.window_shift, cfg.snip_edges)
    if cfg.remove_dc_offset:
        frames -= frames.mean(axis=1, keepdims=True)
    if cfg.preemphasis != 0.0:
        prev = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
        frames = frames - float(cfg.preemphasis) * prev
    frames *= kaldi_window(cfg.window_type, cfg.window_size)[None, :]
    spec = np.fft.rfft(frames, n=cfg.padded_window_size, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    if not cfg.use_power:
        power = np.sqrt(power)
    energies = power @ _kaldi_banks(cfg).T
    if cfg.use_log_fbank:
        energies = np.log(np.maximum(energies, KALDI_EPS))
    return energies


def kaldi_features(audio: Any, config: KaldiFbankConfig, sample_rate: int | None = None) -> np.ndarray:
    """The full HEAD front end: cut/pad to ``n_samples`` (keep-last/left-pad by default), :func:`kaldi_fbank`,
    optional per-file z-score; (T, n_mels) float32 with T = ``config.n_frames``."""
    x = _check_audio(audio, config, sample_rate)
    x = fix_length(x, config.n_samples, config.pad)
    out = kaldi_fbank(x, config)
    if config.normalise:
        out = zscore(out)
    return out.astype(np.float32)


def compute_features(audio: Any, config: FrontEndConfig, sample_rate: int | None = None) -> np.ndarray:
    """Features of one clip with either front end: (T, n_features) float32 (time first).

    ``audio``: mono samples (float in [−1, 1] or PCM integers); ``sample_rate`` (Hz), when given, must equal
    the config's. Each clip is processed on its own (per-file dB reference and z-score), so its features
    never depend on other clips.
    """
    if isinstance(config, KaldiFbankConfig):
        return kaldi_features(audio, config, sample_rate)
    if isinstance(config, FeatureConfig):
        return log_mel(audio, config, sample_rate)
    raise UserInputError(f"config must be a FeatureConfig or KaldiFbankConfig, got {type(config).__name__}")
