"""The in-memory rate lpRNN (docs/method.md#the-rate-network-the-low-pass-rnn) and its versioned ``.npz`` model file.

A model is a list of layers in export order (docs/method.md#quantisation-export-and-pruning: ``lpff_1``, ``lprnn_1``,
``lprnn_2``, ``output``) plus the scalars that fix its arithmetic (Iin, quantisation bits, frame step, read-out window)
and the metadata that travels with it (class names, feature configuration, task, provenance).

File format: a pickle-free ``.npz`` holding one float32 array per tensor, named ``<layer>/W``,
``<layer>/b`` and (lpRNN layers) ``<layer>/U``, and an entry ``meta``: a 0-d unicode array holding a JSON
object with ``format = "lprnn_brian.model"``, ``format_version``, every scalar field of :class:`LpRNNModel`
and, per layer, its name, kind, retention and sizes.

- ``format_version`` 1: every retention is one number per layer (``"retention": 0.8``).
- ``format_version`` 2: some layer has one retention per unit (the 2019 cell, docs/method.md#the-2019-lprnn-cell): its
  metadata says ``"retention": "per_unit"`` and the float32 vector is the array ``<layer>/retention``; and/or the
  model updates its states ``substeps`` > 1 times per frame (meta key ``substeps``, absent means 1).
- ``format_version`` 3: the hidden layers output the ΣΔ neuron's mean reconstruction of their clamped state
  (meta key ``reconstruction``: ``{"policy": ..., "tau_S": ...}``, absent means none).
- ``format_version`` 4: the model names the range its spiking read-out carries (meta key ``readout_range``, ANN
  units; absent means Iin, the paper's neuron; docs/method.md#the-read-outs-range).

A model with scalar retentions and one update per frame is written as version 1, byte for byte as before,
so older readers still read it; version 1 files are read by this code unchanged.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from ..fileio import atomic_path, numpy_file_kind
from .quantise import quantise

#: Value of ``meta["format"]`` in every model file.
FORMAT_NAME = "lprnn_brian.model"
#: Newest version this code reads and writes; files with a larger version are refused with "upgrade
#: lprnn_brian". Models with scalar retentions only are still written as version 1.
FORMAT_VERSION = 4


def is_readout_range(value) -> bool:
    """True if ``value`` can be a read-out range (docs/method.md#the-read-outs-range): a positive finite number of ANN
    units (not a bool)."""
    return (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
            and math.isfinite(value) and value > 0)


#: Metadata value of ``retention`` for a layer whose retentions are stored as the array ``<layer>/retention``.
PER_UNIT = "per_unit"

LAYER_KINDS = ("lpff", "lprnn", "dense")
READOUT_WINDOWS = ("second_half", "all")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _as_float32(value):
    """Numeric array-likes become float32 arrays; anything else is left for :meth:`validate` to reject."""
    if value is None:
        return None
    try:
        arr = np.asarray(value)
    except Exception:  # ragged lists and the like: validate() names the tensor
        return value
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float32, copy=False)
    return arr


@dataclass(eq=False)
class Layer:
    """One layer of the lpRNN.

    Parameters
    ----------
    name : str
        Layer name, e.g. ``'lpff_1'``, ``'lprnn_1'``, ``'output'`` (a Python identifier).
    kind : {'lpff', 'lprnn', 'dense'}
        ``lpff``: low-pass feed-forward (U ≡ 0); ``lprnn``: low-pass recurrent; ``dense``: linear read-out.
    W : numpy.ndarray
        (out, in) float32 latent (unquantised) feed-forward weights, as the authors store them.
    b : numpy.ndarray
        (out,) float32 bias.
    U : numpy.ndarray or None
        (out, out) float32 recurrent weights (acting on the previous state); only for ``lprnn``.
    retention : float, numpy.ndarray or None
        Retention ratio a in [0, 1) of lpff/lprnn layers: one number for the layer (0.8 in the 2024 paper)
        or a float32 vector with one value per unit (the 2019 cell, docs/method.md#the-2019-lprnn-cell: fixed
        a ~ U(0.1, 1)); None for ``dense``.

    Numeric array-likes are converted to float32 on construction (a retention given as a sequence or
    array of one or more dimensions becomes a float32 vector; a number stays a Python float).
    """

    name: str
    kind: str
    W: np.ndarray
    b: np.ndarray
    U: np.ndarray | None = None
    retention: float | None = None

    def __post_init__(self) -> None:
        self.W = _as_float32(self.W)
        self.b = _as_float32(self.b)
        self.U = _as_float32(self.U)
        if isinstance(self.retention, (list, tuple, np.ndarray)) and np.ndim(self.retention) >= 1:
            self.retention = _as_float32(self.retention)

    @property
    def per_unit_retention(self) -> bool:
        """True if the retention is a vector (one value per unit)."""
        return isinstance(self.retention, np.ndarray)

    def retention_values(self):
        """The retention as the forward pass uses it: ``np.float32(a)`` for one value per layer, the float32
        (n_out,) vector for per-unit retention (None for dense layers)."""
        if self.retention is None:
            return None
        if self.per_unit_retention:
            return self.retention
        return np.float32(self.retention)

    def retention_vector(self) -> np.ndarray:
        """The retention of every unit, a float64 (n_out,) array (a scalar retention repeated)."""
        if self.retention is None:
            raise UserInputError(f"layer {self.name}: a {self.kind} layer has no retention")
        if self.per_unit_retention:
            return self.retention.astype(np.float64)
        return np.full(self.n_out, float(self.retention))

    @property
    def n_in(self) -> int:
        """Number of inputs (columns of W)."""
        return int(self.W.shape[1])

    @property
    def n_out(self) -> int:
        """Number of units (rows of W)."""
        return int(self.W.shape[0])

    def tensors(self) -> dict[str, np.ndarray]:
        """The layer's arrays by short name (``W``, ``b`` and, for lpRNN, ``U``), in export order W, U, b."""
        out = {"W": self.W}
        if self.U is not None:
            out["U"] = self.U
        out["b"] = self.b
        return out

    def n_parameters(self) -> int:
        """Number of weights and biases."""
        return int(sum(np.size(t) for t in self.tensors().values()))

    def copy(self) -> "Layer":
        """Deep copy."""
        retention = self.retention.copy() if self.per_unit_retention else self.retention
        return Layer(self.name, self.kind, self.W.copy(), self.b.copy(),
                     None if self.U is None else self.U.copy(), retention)

    def validate(self) -> None:
        """Check kind, shapes, dtypes, finiteness and retention; raise :class:`UserInputError` otherwise."""
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise UserInputError(f"layer name {self.name!r} is not a valid name: use letters, digits and '_' "
                                 "(e.g. 'lprnn_1')")
        if self.kind not in LAYER_KINDS:
            raise UserInputError(f"layer {self.name}: kind {self.kind!r} is not one of {LAYER_KINDS}")
        for tname in ("W", "b", "U"):
            t = getattr(self, tname)
            if t is None:
                if tname == "U":
                    continue
                raise UserInputError(f"layer {self.name}: {tname} is missing")
            if not isinstance(t, np.ndarray) or t.dtype != np.float32:
                raise UserInputError(f"layer {self.name}: {tname} must be a float32 array, got "
                                     f"{getattr(t, 'dtype', type(t).__name__)}; convert with .astype(np.float32)")
        if self.W.ndim != 2:
            raise UserInputError(f"layer {self.name}: W must be 2-D (out, in), got shape {self.W.shape}")
        n_out = self.W.shape[0]
        if self.b.shape != (n_out,):
            raise UserInputError(f"layer {self.name}: b has shape {self.b.shape}, expected ({n_out},) "
                                 f"to match W of shape {self.W.shape}")
        if self.kind == "lprnn":
            if self.U is None:
                raise UserInputError(f"layer {self.name}: an lprnn layer needs a recurrent matrix U "
                                     f"of shape ({n_out}, {n_out})")
            if self.U.shape != (n_out, n_out):
                raise UserInputError(f"layer {self.name}: U has shape {self.U.shape}, expected "
                                     f"({n_out}, {n_out})")
        elif self.U is not None:
            raise UserInputError(f"layer {self.name}: a {self.kind} layer has no recurrent matrix U; "
                                 "remove it or make the layer kind 'lprnn'")
        for tname, t in self.tensors().items():
            if not np.all(np.isfinite(t)):
                raise UserInputError(f"layer {self.name}: {tname} contains NaN or inf; the model is broken "
                                     "(retrain or re-import it)")
        if self.kind == "dense":
            if self.retention is not None:
                raise UserInputError(f"layer {self.name}: a dense layer has no retention; set it to None")
        elif self.per_unit_retention:
            a = self.retention
            if a.dtype != np.float32 or a.shape != (n_out,):
                raise UserInputError(f"layer {self.name}: a per-unit retention must be a float32 vector of "
                                     f"shape ({n_out},) (one value per unit), got {a.dtype} {a.shape}")
            if not np.all(np.isfinite(a)) or not np.all((a >= 0.0) & (a < 1.0)):
                raise UserInputError(f"layer {self.name}: every per-unit retention must lie in [0, 1), got "
                                     f"values in [{np.nanmin(a):g}, {np.nanmax(a):g}]")
        else:
            a = self.retention
            if (isinstance(a, bool) or not isinstance(a, (int, float, np.floating, np.integer))
                    or not (0.0 <= float(a) < 1.0)):
                raise UserInputError(f"layer {self.name}: retention must be a number in [0, 1) "
                                     f"(0.8 in the paper) or a vector of one value per unit, got {a!r}")


def _default_meta_dict() -> dict:
    return {}


@dataclass(eq=False)
class LpRNNModel:
    """A rate lpRNN: hidden low-pass layers followed by one dense read-out.

    Parameters
    ----------
    layers : list of Layer
        In network order; every layer but the last is ``lpff`` or ``lprnn``, the last is ``dense``.
    Iin : float, optional
        Clamp level of the activation clamp(z, 0, Iin) (ReLU6: 6).
    int_bits, frac_bits : int, optional
        Quantiser bits I and F (docs/method.md#quantisation-export-and-pruning); F ≥ 32 disables quantisation. One F for
        every tensor (decision A11 in docs/decisions.md).
    frame_dt : float, optional
        ANN frame step Δt_A in seconds (1/T by default, decision A1 in docs/decisions.md).
    n_frames : int, optional
        T, frames per sample the model was trained with.
    substeps : int, optional
        State updates per frame (1: the paper's lpRNN). K > 1 runs K exponential-Euler sub-steps with the
        input held and per-sub-step retention a^(1/K): the same filter time constant τ, with the recurrence
        refreshed K times per frame, which approaches the continuous-time dynamics the ΣΔ network computes
        (docs/method.md#one-update-per-frame-or-many) as K grows.
    readout_window : {'second_half', 'all'}, optional
        Frames averaged into the logits: t ≥ ⌊T/2⌋ (0-based) or every frame.
    readout_range : float, optional
        For the conversion: the largest logit (ANN units) its spiking read-out carries, the read-out neurons'
        clamp level (docs/method.md#the-read-outs-range). None (default): Iin, the paper's neuron. It does not
        change the rate network.
    reconstruction : dict, optional
        ``{"policy": P, "tau_S": T}``: every low-pass layer outputs the mean reconstruction of a ΣΔ neuron with
        threshold policy P and feedback time constant T steps: the mean transfer of its clamped state
        (:func:`lprnn_brian.equations.derive.mean_transfer`), kept inside the range the reconstruction reaches
        in one update (it decays no faster than the layer's fastest unit, :func:`~lprnn_brian.equations.derive.
        reconstruction_step_range`), before the recurrence and the next layer see it; so that the rate network
        is the one its spikes realise on average (docs/method.md). Empty (default): the plain lpRNN.
    class_names : list of str, optional
        Name of every output index, in the model's output order; empty means unnamed.
    features : dict, optional
        Feature configuration (free-form JSON: n_mels, hop_length, ...).
    task : str, optional
        Task name ('shd', 'gsc', 'adding', ...).
    provenance : dict, optional
        Where the model came from (source file, sha256, training settings, seed); free-form JSON.
    """

    layers: list[Layer]
    Iin: float = 6.0
    int_bits: int = 32
    frac_bits: int = 3
    frame_dt: float = 1 / 125
    n_frames: int = 125
    readout_window: str = "second_half"
    readout_range: float | None = None
    substeps: int = 1
    reconstruction: dict = field(default_factory=_default_meta_dict)
    class_names: list[str] = field(default_factory=list)
    features: dict = field(default_factory=_default_meta_dict)
    task: str = ""
    provenance: dict = field(default_factory=_default_meta_dict)

    # -- derived quantities ------------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        """Input features per frame."""
        return self.layers[0].n_in

    @property
    def n_classes(self) -> int:
        """Outputs of the read-out."""
        return self.layers[-1].n_out

    @property
    def layer_names(self) -> list[str]:
        """Layer names in network order."""
        return [layer.name for layer in self.layers]

    def layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise UserInputError(f"model has no layer {name!r}; its layers are {self.layer_names}")

    def n_parameters(self) -> int:
        """Weights plus biases of all layers (873,620 for the SHD model,
        docs/method.md#architectures-read-out-and-training)."""
        return sum(layer.n_parameters() for layer in self.layers)

    def n_neurons(self) -> int:
        """Units of all layers, read-out included (1,172 for the SHD model)."""
        return sum(layer.n_out for layer in self.layers)

    def reconstruction_table(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(drives, mean decodes) of the mean transfer of the model's :attr:`reconstruction` (None: plain lpRNN)."""
        return reconstruction_table(self.reconstruction, self.Iin)

    # -- transformations ---------------------------------------------------------------------------
    def copy(self) -> "LpRNNModel":
        """Deep copy."""
        return LpRNNModel(
            layers=[layer.copy() for layer in self.layers], Iin=self.Iin, int_bits=self.int_bits,
            frac_bits=self.frac_bits, frame_dt=self.frame_dt, n_frames=self.n_frames,
            readout_window=self.readout_window, readout_range=self.readout_range, substeps=self.substeps,
            reconstruction=dict(self.reconstruction),
            class_names=list(self.class_names),
            features=copy.deepcopy(self.features), task=self.task, provenance=copy.deepcopy(self.provenance))

    def quantised(self) -> "LpRNNModel":
        """A copy whose W, U and b are ``quantise(·, int_bits, frac_bits)`` (identity when F ≥ 32).

        Quantising twice changes nothing, so the result can be saved and quantised again safely.
        """
        out = self.copy()
        for layer in out.layers:
            layer.W = quantise(layer.W, self.int_bits, self.frac_bits)
            layer.b = quantise(layer.b, self.int_bits, self.frac_bits)
            if layer.U is not None:
                layer.U = quantise(layer.U, self.int_bits, self.frac_bits)
        return out

    def equals(self, other: "LpRNNModel") -> bool:
        """True if every field and every array (bit for bit, dtype included) are the same."""
        if not isinstance(other, LpRNNModel) or len(self.layers) != len(other.layers):
            return False
        if _meta_dict(self) != _meta_dict(other):
            return False
        for a, b in zip(self.layers, other.layers):
            ta, tb = a.tensors(), b.tensors()
            if a.per_unit_retention:
                ta["retention"], tb["retention"] = a.retention, b.retention
            if ta.keys() != tb.keys():
                return False
            for k in ta:
                if ta[k].dtype != tb[k].dtype or ta[k].shape != tb[k].shape:
                    return False
                if ta[k].tobytes() != tb[k].tobytes():
                    return False
        return True

    # -- checks ------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check layer kinds, order, shape chain, values and scalar fields.

        Raises
        ------
        UserInputError
            Naming the layer or field at fault and what to do.
        """
        if not isinstance(self.layers, (list, tuple)) or len(self.layers) == 0:
            raise UserInputError("model has no layers; it needs lpff/lprnn layers and a dense read-out")
        names = []
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise UserInputError(f"model layer {i} is a {type(layer).__name__}, not a Layer")
            layer.validate()
            names.append(layer.name)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise UserInputError(f"layer names must be unique; repeated: {dup}")
        *hidden, out = self.layers
        if out.kind != "dense":
            raise UserInputError(f"the last layer ({out.name}) must be the dense read-out, got kind {out.kind!r}")
        for layer in hidden:
            if layer.kind == "dense":
                raise UserInputError(f"layer {layer.name}: dense layers are only allowed as the last (read-out) "
                                     "layer")
        for prev, layer in zip(self.layers[:-1], self.layers[1:]):
            if layer.n_in != prev.n_out:
                raise UserInputError(f"layer {layer.name}: W has {layer.n_in} inputs but the previous layer "
                                     f"{prev.name} has {prev.n_out} units; the shapes must chain")
        if (isinstance(self.Iin, bool) or not isinstance(self.Iin, (int, float, np.integer, np.floating))
                or not math.isfinite(self.Iin) or self.Iin <= 0):
            raise UserInputError(f"Iin must be a positive finite number (6 for ReLU6), got {self.Iin!r}")
        for fname in ("int_bits", "frac_bits", "n_frames", "substeps"):
            v = getattr(self, fname)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise UserInputError(f"{fname} must be an integer, got {v!r}")
        if self.int_bits < 1:
            raise UserInputError(f"int_bits must be >= 1, got {self.int_bits}")
        if self.frac_bits < 0:
            raise UserInputError(f"frac_bits must be >= 0 (32 or more: no quantisation), got {self.frac_bits}")
        if self.n_frames < 1:
            raise UserInputError(f"n_frames must be >= 1, got {self.n_frames}")
        if self.substeps < 1:
            raise UserInputError(f"substeps must be >= 1 (state updates per frame), got {self.substeps}")
        if (isinstance(self.frame_dt, bool) or not isinstance(self.frame_dt, (int, float, np.integer, np.floating))
                or not math.isfinite(self.frame_dt) or self.frame_dt <= 0):
            raise UserInputError(f"frame_dt must be a positive time step in seconds (1/T), got {self.frame_dt!r}")
        if self.readout_window not in READOUT_WINDOWS:
            raise UserInputError(f"readout_window must be one of {READOUT_WINDOWS}, got {self.readout_window!r}")
        if self.readout_range is not None and not is_readout_range(self.readout_range):
            raise UserInputError(f"readout_range must be None (Iin) or a positive finite number of ANN units, got "
                                 f"{self.readout_range!r}")
        if not isinstance(self.class_names, (list, tuple)) or not all(isinstance(c, str) for c in self.class_names):
            raise UserInputError("class_names must be a list of strings")
        if self.class_names and len(self.class_names) != out.n_out:
            raise UserInputError(f"class_names has {len(self.class_names)} names but the read-out has {out.n_out} "
                                 "outputs; give one name per output index (or none)")
        if not isinstance(self.task, str):
            raise UserInputError(f"task must be a string, got {self.task!r}")
        self.reconstruction_table()  # checks the reconstruction
        for fname in ("features", "provenance"):
            v = getattr(self, fname)
            if not isinstance(v, dict):
                raise UserInputError(f"{fname} must be a dict, got {type(v).__name__}")
            _check_json(v, fname)


def _check_json(value, where: str) -> None:
    """Raise unless ``value`` survives a JSON round trip unchanged (up to tuple -> list)."""
    if value is None or isinstance(value, (str, bool)):
        return
    if isinstance(value, (int, np.integer)):
        return
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise UserInputError(f"{where} = {value!r}: metadata numbers must be finite")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise UserInputError(f"{where} has key {k!r}: metadata dict keys must be strings")
            _check_json(item, f"{where}[{k!r}]")
        return
    raise UserInputError(f"{where} is a {type(value).__name__}: metadata may hold only str, finite numbers, "
                         "bool, None, lists and dicts with string keys")


def reconstruction_table(reconstruction: dict, Iin: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(drives, mean decodes) of a ΣΔ mean reconstruction ``{"policy": P, "tau_S": T}``
    (:func:`lprnn_brian.equations.derive.mean_transfer`); None for an empty one (the plain lpRNN)."""
    if not reconstruction:
        return None
    from ..equations.derive import THRESHOLD_POLICIES, mean_transfer

    ok = isinstance(reconstruction, dict) and set(reconstruction) == {"policy", "tau_S"}
    policy, tau_S = (reconstruction["policy"], reconstruction["tau_S"]) if ok else (None, None)
    if (not ok or policy not in THRESHOLD_POLICIES or isinstance(tau_S, bool) or not isinstance(tau_S, (int, float))
            or not tau_S >= 2):
        raise UserInputError(f"reconstruction must be {{'policy': one of {THRESHOLD_POLICIES}, 'tau_S': steps ≥ 2}} or "
                             f"empty, got {reconstruction!r}")
    return mean_transfer(policy, float(tau_S), float(Iin))


def reconstruction_meta(policy: str, tau_S: float) -> dict:
    """The model metadata ``{"policy": P, "tau_S": T}`` of a trainer's ``reconstruction`` / ``reconstruction_tau_S``
    options (``policy`` '' : none, ``{}``); a bad policy or time constant is a :class:`UserInputError`."""
    from ..equations.derive import THRESHOLD_POLICIES

    if policy not in ("",) + THRESHOLD_POLICIES:
        raise UserInputError(f"reconstruction must be '' (none) or a threshold policy {THRESHOLD_POLICIES}, "
                             f"got {policy!r}")
    meta = {"policy": policy, "tau_S": float(tau_S)} if policy else {}
    reconstruction_table(meta, 1.0)
    return meta


# -- file format -----------------------------------------------------------------------------------

def _retention_meta(layer: Layer):
    if layer.retention is None:
        return None
    return PER_UNIT if layer.per_unit_retention else float(layer.retention)


def _meta_dict(model: LpRNNModel) -> dict:
    per_unit = any(layer.per_unit_retention for layer in model.layers)
    extra = {} if model.substeps == 1 else {"substeps": int(model.substeps)}  # version 1 files: no key
    version = 2 if (per_unit or extra) else 1
    if model.reconstruction:
        extra["reconstruction"] = {"policy": model.reconstruction["policy"], "tau_S": float(model.reconstruction["tau_S"])}
        version = 3
    if model.readout_range is not None:
        extra["readout_range"] = float(model.readout_range)
        version = 4
    return extra | {
        "format": FORMAT_NAME,
        "format_version": version,
        "Iin": float(model.Iin),
        "int_bits": int(model.int_bits),
        "frac_bits": int(model.frac_bits),
        "frame_dt": float(model.frame_dt),
        "n_frames": int(model.n_frames),
        "readout_window": model.readout_window,
        "class_names": list(model.class_names),
        "features": model.features,
        "task": model.task,
        "provenance": model.provenance,
        "layers": [
            {"name": layer.name, "kind": layer.kind,
             "retention": _retention_meta(layer),
             "n_in": layer.n_in, "n_out": layer.n_out}
            for layer in model.layers
        ],
    }


def _json_default(obj):
    if isinstance(obj, np.generic):  # numpy scalars in free-form metadata
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def save_model(model: LpRNNModel, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Validate ``model`` and write it to ``path`` (``.npz``) atomically.

    Parameters
    ----------
    model : LpRNNModel
        The model; its latent (unquantised) weights are stored.
    path : str or path-like
        Output file. An existing file is kept unless ``force`` is True.
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    arrays = model_arrays(model)
    with atomic_path(path, force) as tmp:
        with open(tmp, "wb") as fh:  # a file object: numpy appends no '.npz'
            np.savez_compressed(fh, **arrays)
    return Path(path)


def model_arrays(model: LpRNNModel, prefix: str = "") -> dict[str, np.ndarray]:
    """Validate ``model`` and return the named arrays of its file (``meta`` included), each name prefixed.

    :func:`save_model` writes exactly these arrays (``prefix=""``); :func:`model_from_arrays` reads them
    back. A prefix lets one ``.npz`` hold several models (e.g. a training checkpoint).
    """
    model.validate()
    meta = json.dumps(_meta_dict(model), allow_nan=False, ensure_ascii=True, sort_keys=True, default=_json_default)
    arrays: dict[str, np.ndarray] = {f"{prefix}meta": np.array(meta)}
    for layer in model.layers:
        for tname, t in layer.tensors().items():
            arrays[f"{prefix}{layer.name}/{tname}"] = np.ascontiguousarray(t, dtype=np.float32)
        if layer.per_unit_retention:
            arrays[f"{prefix}{layer.name}/retention"] = np.ascontiguousarray(layer.retention, dtype=np.float32)
    return arrays


class _Prefixed:
    """A read-only view of the members of an ``.npz`` whose names start with ``prefix``."""

    def __init__(self, data, prefix: str) -> None:
        self._data, self._prefix = data, prefix
        self.files = [k[len(prefix):] for k in data.files if k.startswith(prefix)]

    def __getitem__(self, key: str):
        return self._data[self._prefix + key]


def model_from_arrays(data, path: str | os.PathLike = "<arrays>", prefix: str = "") -> LpRNNModel:
    """Inverse of :func:`model_arrays`: ``data`` is an opened ``.npz`` (anything with ``files`` and
    ``[name]``); ``path`` only names the source in error messages."""
    return _model_from_npz(_Prefixed(data, prefix) if prefix else data, Path(path))


def _require(meta: dict, key: str, types, path) -> Any:
    if key not in meta:
        raise UserInputError(f"{path}: model metadata lacks '{key}'; the file is damaged — re-create it")
    value = meta[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise UserInputError(f"{path}: model metadata '{key}' has the wrong type ({value!r})")
    if not isinstance(value, types):
        raise UserInputError(f"{path}: model metadata '{key}' has the wrong type ({value!r})")
    return value


def load_model(path: str | os.PathLike) -> LpRNNModel:
    """Read a model written by :func:`save_model`, checking its format, version, arrays and values.

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` model file.

    Returns
    -------
    LpRNNModel
        The validated model (latent float32 weights).

    Raises
    ------
    UserInputError
        If the file is missing, not an ``.npz``, not an lprnn_brian model, of a newer format version, or
        has missing, misshapen or non-finite arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"model file {path} does not exist (or is not a file)")
    kind = numpy_file_kind(path)
    if kind == "npy":
        raise UserInputError(f"{path} is a single .npy array, not an lprnn_brian model file (.npz)")
    if kind != "npz":
        raise UserInputError(f"{path} is not an lprnn_brian model file: not an .npz archive. Create one with "
                             "`lprnn-brian train` or `lprnn-brian import-reference`")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UserInputError(f"{path} is not an lprnn_brian model file (.npz): {exc}. Create one with "
                             "`lprnn-brian train` or `lprnn-brian import-reference`") from None
    try:
        with data:
            return _model_from_npz(data, path)
    except UserInputError:
        raise
    except Exception as exc:  # damaged members: zlib, CRC, truncated arrays, object arrays, ...
        raise UserInputError(f"{path} is a damaged model file ({type(exc).__name__}: {exc}); re-create it") from None


def _model_from_npz(data, path: Path) -> LpRNNModel:
    if "meta" not in data.files:
        raise UserInputError(f"{path} is an .npz without 'meta': not an lprnn_brian model file. Create one with "
                             "`lprnn-brian train` or `lprnn-brian import-reference`")
    meta_arr = data["meta"]
    if meta_arr.dtype.kind != "U" or meta_arr.shape != ():
        raise UserInputError(f"{path}: 'meta' is not a JSON string; not an lprnn_brian model file")
    try:
        meta = json.loads(str(meta_arr))
    except ValueError as exc:
        raise UserInputError(f"{path}: 'meta' is not valid JSON ({exc}); the file is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise UserInputError(f"{path} is not an lprnn_brian model file (meta format is "
                             f"{meta.get('format') if isinstance(meta, dict) else meta!r}, "
                             f"expected {FORMAT_NAME!r})")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UserInputError(f"{path}: unknown model format_version {version!r}; the file is damaged")
    if version > FORMAT_VERSION:
        raise UserInputError(f"{path} was written in model format version {version}, newer than this "
                             f"lprnn_brian reads ({FORMAT_VERSION}); upgrade lprnn_brian")
    layer_meta = _require(meta, "layers", list, path)
    layers = []
    for i, lm in enumerate(layer_meta):
        if not isinstance(lm, dict):
            raise UserInputError(f"{path}: metadata of layer {i} is not an object; the file is damaged")
        name = _require(lm, "name", str, path)
        kind = _require(lm, "kind", str, path)
        if kind not in LAYER_KINDS:
            raise UserInputError(f"{path}: layer {name} has unknown kind {kind!r}; expected one of {LAYER_KINDS}")
        retention = _require(lm, "retention", (int, float, str, type(None)), path)
        if isinstance(retention, str) and (retention != PER_UNIT or version < 2):
            raise UserInputError(f"{path}: layer {name} has retention {retention!r}; expected a number or "
                                 f"{PER_UNIT!r} (format version 2); the file is damaged")
        n_in = _require(lm, "n_in", int, path)
        n_out = _require(lm, "n_out", int, path)
        names = ["W", "b"] + (["U"] if kind == "lprnn" else []) + (["retention"] if retention == PER_UNIT else [])
        expected = {"W": (n_out, n_in), "b": (n_out,), "U": (n_out, n_out), "retention": (n_out,)}
        tensors = {}
        for tname in names:
            key = f"{name}/{tname}"
            if key not in data.files:
                raise UserInputError(f"{path}: array '{key}' is missing; the file is damaged — re-create it")
            arr = data[key]
            if arr.dtype != np.float32:
                raise UserInputError(f"{path}: array '{key}' has dtype {arr.dtype}, expected float32")
            if arr.shape != expected[tname]:
                raise UserInputError(f"{path}: array '{key}' has shape {arr.shape}, expected {expected[tname]} "
                                     f"from the layer metadata; the file is damaged")
            if not np.all(np.isfinite(arr)):
                raise UserInputError(f"{path}: array '{key}' contains NaN or inf; the model is broken "
                                     "(retrain or re-import it)")
            tensors[tname] = arr
        if retention == PER_UNIT:
            retention = tensors["retention"]
        elif retention is not None:
            retention = float(retention)
        layers.append(Layer(name=name, kind=kind, W=tensors["W"], b=tensors["b"], U=tensors.get("U"),
                            retention=retention))
    model = LpRNNModel(
        layers=layers,
        Iin=float(_require(meta, "Iin", (int, float), path)),
        int_bits=_require(meta, "int_bits", int, path),
        frac_bits=_require(meta, "frac_bits", int, path),
        frame_dt=float(_require(meta, "frame_dt", (int, float), path)),
        n_frames=_require(meta, "n_frames", int, path),
        readout_window=_require(meta, "readout_window", str, path),
        substeps=_require(meta, "substeps", int, path) if "substeps" in meta else 1,
        reconstruction=_require(meta, "reconstruction", dict, path) if "reconstruction" in meta else {},
        readout_range=float(_require(meta, "readout_range", (int, float), path)) if "readout_range" in meta else None,
        class_names=_require(meta, "class_names", list, path),
        features=_require(meta, "features", dict, path),
        task=_require(meta, "task", str, path),
        provenance=_require(meta, "provenance", dict, path),
    )
    try:
        model.validate()
    except UserInputError as exc:
        raise UserInputError(f"{path}: {exc}") from None
    return model
