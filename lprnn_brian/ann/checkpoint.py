"""Import the authors' trained PyTorch checkpoints (gauthierboeshertz/lpRNN_loihi) as :class:`LpRNNModel`.

Their ``small_lprnn_net`` state_dict has the keys ``lpff.linear.{weight,bias}``,
``rnn_layers.<k>.linear.{weight,bias}``, ``rnn_layers.<k>.linear_hh.weight`` and ``out.linear.{weight,bias}``;
they become the layers ``lpff_1``, ``lprnn_<k+1>`` and ``output`` (docs/method.md#quantisation-export-and-pruning).
Retention, Iin, the quantiser, T, the read-out window, features and class order are not in the file: they come from
``arch`` (docs/method.md#architectures-read-out-and-training, docs/method.md#heidelberg-digits-shd,
docs/method.md#google-speech-commands, decisions A1/A8/A9/A11 in docs/decisions.md). The file is read with
:mod:`.torch_pickle` (no torch, no code execution).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..fileio import file_sha256
from .model import Layer, LpRNNModel, save_model
from .torch_pickle import load_torch_state_dict

ARCHS = ("shd", "gsc")
RETENTION = 0.8
IIN = 6.0
FRAC_BITS = 3

#: Output order of the authors' SHD model. Their HD-audio loader labels a file ``digit + (10 if english
#: else 0)`` (``shd/shdANN/shd_dataset.py``), so German digits are outputs 0–9 and English 10–19 — the
#: reverse of the SHD h5 convention (decision A8 in docs/decisions.md). The imported model keeps this order.
#: File name of the authors' trained SHD model (gauthierboeshertz/lpRNN_loihi), the reference checkpoint.
SHD_REFERENCE_FILE = "shd_QlpRNN_128_2x512_ret0.8_mel80_hop256.pth"
SHD_CHECKPOINT_CLASS_NAMES = [f"de_{d}" for d in range(10)] + [f"en_{d}" for d in range(10)]

_GSC_V1_36 = ["unknown", "nine", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
              "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
              "backward", "bed", "bird", "cat", "dog", "follow", "forward", "happy", "house", "learn", "marvin",
              "sheila", "tree", "visual", "wow"]
_GSC_V2_12 = ["unknown", "silence", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
#: Output orders of the authors' GSC models by number of classes (``SpeechDownloader.py`` category dicts,
#: ``speech_datasetv2.py`` label list; docs/method.md#google-speech-commands).
GSC_CLASS_NAMES = {36: _GSC_V1_36, 12: _GSC_V2_12, 35: sorted(_GSC_V1_36[1:])}

#: Feature configurations (keys of :class:`lprnn_brian.tasks.features.FeatureConfig`).
SHD_FEATURES = dict(sample_rate=48000, n_fft=1024, hop_length=256, n_mels=80, fmin=0.0, fmax=24000.0,
                    n_frames=125, mel_norm="l1", win_length=None, pad="left", pad_mode="reflect", db_floor=-80.0,
                    amin=1e-10, drop_first=True, normalise=True, name="shd")
GSC_PAPER_FEATURES = dict(sample_rate=16000, n_fft=1024, hop_length=128, n_mels=80, fmin=40.0, fmax=8000.0,
                          n_frames=125, mel_norm="l1", win_length=None, pad="right", pad_mode="reflect",
                          db_floor=-80.0, amin=1e-10, drop_first=True, normalise=True, name="gsc_paper")
#: GSC HEAD front end (docs/method.md#google-speech-commands): Kaldi fbank, not a log-mel FeatureConfig.
GSC_HEAD_FEATURES = dict(name="gsc_head", kind="kaldi_fbank", sample_rate=16000, num_mel_bins=40,
                         frame_length_ms=25.0, frame_shift_ms=10.0, window_type="povey", preemphasis=0.97,
                         remove_dc_offset=True, dither=0.0, snip_edges=True, low_freq=20.0, high_freq=0.0,
                         use_energy=False, n_frames=98, clip_samples=16000, pad="left", normalise=False)

_RNN_KEY = re.compile(r"^rnn_layers\.(\d+)\.")


class _Keys:
    """Takes tensors out of a state_dict by key, checking dtype and shape, and remembers what was used."""

    def __init__(self, state: dict, source: str) -> None:
        self.state = state
        self.source = source
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        return key in self.state

    def take(self, key: str, shape: tuple) -> np.ndarray:
        """Tensor ``key``; ``shape`` entries of None are free, ints are required."""
        if key not in self.state:
            raise UserInputError(f"{self.source}: key '{key}' is missing; this is not a complete lpRNN_loihi "
                                 "small_lprnn_net state_dict (give the checkpoint the authors' code saved)")
        arr = self.state[key]
        self.used.add(key)
        if arr.dtype.kind != "f":
            raise UserInputError(f"{self.source}: '{key}' has dtype {arr.dtype}; expected floating-point weights")
        ok = arr.ndim == len(shape) and all(s is None or s == n for s, n in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise UserInputError(f"{self.source}: '{key}' has shape {tuple(arr.shape)}, expected {want}; the "
                                 "layer sizes of the checkpoint do not chain")
        if not np.all(np.isfinite(arr)):
            raise UserInputError(f"{self.source}: '{key}' contains NaN or inf; the checkpoint is broken")
        return arr.astype(np.float32)

    def retention(self, prefix: str, n: int, default: float) -> float:
        """The layer's retention: its stored ``retention_ratio`` if present (must be uniform), else ``default``.

        The authors' layers assign ``nn.Parameter(...).to(device)``: on a GPU that is a plain tensor (not
        saved, as in the published checkpoint); trained on CPU it stays a registered parameter and is saved.
        """
        key = f"{prefix}.retention_ratio"
        if key not in self.state:
            return default
        a = self.take(key, (n,))
        if a.size and not np.all(a == a[0]):
            raise UserInputError(f"{self.source}: '{key}' holds different retentions per unit; lprnn_brian "
                                 "supports one retention per layer")
        # shortest decimal of the float32 value (0.8, not 0.800000011920929): same float32, readable meta
        return float(np.format_float_scientific(a[0], unique=True)) if a.size else default


def _layers_from_state_dict(state: dict, source: str, retention: float, n_inputs: int) -> tuple[list[Layer], bool]:
    keys = _Keys(state, source)
    with_bias = keys.has("out.linear.bias")
    layers: list[Layer] = []
    n_prev = n_inputs

    def bias(key: str, n: int) -> np.ndarray:
        if with_bias:
            return keys.take(key, (n,))
        if keys.has(key):
            raise UserInputError(f"{source}: '{key}' is present but 'out.linear.bias' is missing; either every "
                                 "layer has a bias or none has")
        return np.zeros(n, np.float32)

    if any(k.startswith("lpff.") for k in state):
        W = keys.take("lpff.linear.weight", (None, n_prev))
        n = W.shape[0]
        layers.append(Layer("lpff_1", "lpff", W, bias("lpff.linear.bias", n),
                            retention=keys.retention("lpff", n, retention)))
        n_prev = n
    indices = sorted({int(m.group(1)) for m in map(_RNN_KEY.match, state) if m})
    if not indices:
        raise UserInputError(f"{source}: key 'rnn_layers.0.linear.weight' is missing; no lpRNN layers found "
                             "(is this an lpRNN_loihi small_lprnn_net checkpoint?)")
    if indices != list(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - set(indices))
        raise UserInputError(f"{source}: keys 'rnn_layers.{missing[0]}.*' are missing; lpRNN layers must be "
                             "numbered 0, 1, ... without gaps")
    for k in indices:
        prefix = f"rnn_layers.{k}"
        W = keys.take(f"{prefix}.linear.weight", (None, n_prev))
        n = W.shape[0]
        U = keys.take(f"{prefix}.linear_hh.weight", (n, n))
        layers.append(Layer(f"lprnn_{k + 1}", "lprnn", W, bias(f"{prefix}.linear.bias", n), U=U,
                            retention=keys.retention(prefix, n, retention)))
        n_prev = n
    W = keys.take("out.linear.weight", (None, n_prev))
    layers.append(Layer("output", "dense", W, bias("out.linear.bias", W.shape[0])))
    extra = [k for k in state if k not in keys.used]
    if extra:
        raise UserInputError(f"{source}: unexpected keys {extra[:5]}{' ...' if len(extra) > 5 else ''}; only "
                             "lpRNN_loihi small_lprnn_net checkpoints are supported (not the LSTM baseline)")
    return layers, with_bias


def _first_n_in(state: dict, source: str) -> int:
    for key in ("lpff.linear.weight", "rnn_layers.0.linear.weight"):
        if key in state:
            arr = state[key]
            if arr.ndim != 2:
                raise UserInputError(f"{source}: '{key}' has shape {tuple(arr.shape)}, expected (units, inputs)")
            return int(arr.shape[1])
    raise UserInputError(f"{source}: key 'lpff.linear.weight' is missing (and no 'rnn_layers.0.linear.weight'); "
                         "not an lpRNN_loihi small_lprnn_net checkpoint")


def read_reference_checkpoint(path: str | os.PathLike, arch: str = "shd") -> LpRNNModel:
    """Read an authors' lpRNN_loihi checkpoint (``*.pth``) as an :class:`LpRNNModel`, without torch.

    Parameters
    ----------
    path : str or path-like
        ``torch.save(model.state_dict())`` zip file of their ``small_lprnn_net``.
    arch : {'shd', 'gsc'}
        Which of their models it is; fixes what the file does not store:

        - ``'shd'``: 80 mel inputs (hop 256), T = 125, Δt_A = 1/125 s, second-half read-out, 20 classes in
          the checkpoint's order (German 0–9, English 10–19: :data:`SHD_CHECKPOINT_CLASS_NAMES`).
        - ``'gsc'``: 80 inputs: paper-era pipeline (80 mel, hop 128, T = 125, second half); 40 inputs: HEAD
          pipeline (40 Kaldi fbank, T = 98, all-frame read-out). 36, 12 or 35 classes (:data:`GSC_CLASS_NAMES`).

        Both: retention 0.8 (unless the file stores ``retention_ratio``), Iin = 6, I = 32, F = 3.

    Returns
    -------
    LpRNNModel
        Latent float32 weights as stored; provenance holds the file name and sha256.

    Raises
    ------
    UserInputError
        Not a zip / not a torch checkpoint / refused pickle global, missing or unexpected keys, shapes that do
        not chain or do not fit ``arch``.
    """
    if arch not in ARCHS:
        raise UserInputError(f"arch must be one of {ARCHS}, got {arch!r}")
    path = Path(path)
    source = str(path)
    state = load_torch_state_dict(path)
    n_in = _first_n_in(state, source)
    notes = []
    if arch == "shd":
        if n_in != 80:
            raise UserInputError(f"{source}: first layer takes {n_in} inputs; arch 'shd' expects 80 mel bands "
                                 "(is this a GSC checkpoint? use --arch gsc)")
        features, n_frames, window, pipeline = dict(SHD_FEATURES), 125, "second_half", "shd_hd_audio_mel"
    else:
        if n_in == 80:
            features, n_frames, window, pipeline = dict(GSC_PAPER_FEATURES), 125, "second_half", "gsc_paper_era"
        elif n_in == 40:
            features, n_frames, window, pipeline = dict(GSC_HEAD_FEATURES), 98, "all", "gsc_head"
        else:
            raise UserInputError(f"{source}: first layer takes {n_in} inputs; arch 'gsc' expects 80 (paper-era "
                                 "mel) or 40 (HEAD fbank)")
    layers, with_bias = _layers_from_state_dict(state, source, RETENTION, n_in)
    n_out = layers[-1].n_out
    if arch == "shd":
        if n_out != 20:
            raise UserInputError(f"{source}: 'out.linear.weight' has {n_out} outputs; arch 'shd' has 20 classes")
        class_names = list(SHD_CHECKPOINT_CLASS_NAMES)
        notes.append("class order as trained by the authors: German digits 0-9 at outputs 0-9, English at "
                     "10-19 (decision A8 in docs/decisions.md)")
    else:
        if n_out not in GSC_CLASS_NAMES:
            raise UserInputError(f"{source}: 'out.linear.weight' has {n_out} outputs; arch 'gsc' models have "
                                 f"{sorted(GSC_CLASS_NAMES)} classes")
        class_names = list(GSC_CLASS_NAMES[n_out])
    if not with_bias:
        notes.append("checkpoint has no biases (no_bias model): biases set to zero")
    provenance = {
        "source": path.name,
        "sha256": file_sha256(path),
        "origin": "gauthierboeshertz/lpRNN_loihi small_lprnn_net state_dict",
        "reader": "lprnn_brian.ann.checkpoint.read_reference_checkpoint",
        "arch": arch,
        "pipeline": pipeline,
        "notes": notes,
    }
    model = LpRNNModel(layers=layers, Iin=IIN, int_bits=32, frac_bits=FRAC_BITS, frame_dt=1.0 / n_frames,
                       n_frames=n_frames, readout_window=window, class_names=class_names, features=features,
                       task=arch, provenance=provenance)
    model.validate()
    return model


def import_reference(path: str | os.PathLike, arch: str, out: str | os.PathLike, force: bool = False) -> Path:
    """Read an authors' checkpoint with :func:`read_reference_checkpoint` and save it with :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
        The ``*.pth`` checkpoint.
    arch : {'shd', 'gsc'}
        See :func:`read_reference_checkpoint`.
    out : str or path-like
        Output model file (``.npz``); kept if it exists unless ``force``.
    force : bool, optional
        Replace an existing output.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    model = read_reference_checkpoint(path, arch)
    return save_model(model, out, force=force)
