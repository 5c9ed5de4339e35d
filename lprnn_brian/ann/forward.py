r"""Numpy float32 reference forward pass of the rate lpRNN (docs/method.md#the-rate-network-the-low-pass-rnn),
vectorised over samples.

clamp_then_filter (the trained model):

.. math:: z_t = W x_t + b + U h_{t-1},\quad h_t = a\,h_{t-1} + (1-a)\,\mathrm{clamp}(z_t, 0, I_{in})

with one retention a per layer or one per unit (element-wise: the 2019 cell of docs/method.md#the-2019-lprnn-cell). A
model with ``substeps`` K > 1 repeats the update K times per frame with the input held and retention a^(1/K)
(:func:`substep_retention`), refreshing the recurrent input each time; K → ∞ is the continuous-time lpRNN
τ dh/dt = −h + act(z) that the ΣΔ network integrates (docs/method.md#one-update-per-frame-or-many).

filter_then_clamp (what the ΣΔ network computes):

.. math:: z_t = W x_t + b + U \hat h_{t-1},\quad \tilde h_t = \max(0, a\,\tilde h_{t-1} + (1-a)\,z_t),\quad
          \hat h_t = \min(\tilde h_t, I_{in})

and the next layer receives :math:`\hat h`. The read-out is :math:`o_t = W_o h_t + b_o` at every frame;
the logits are the mean of :math:`o_t` over the read-out window. The float32 operations follow the order of
the authors' torch code (``(W x + b) + U h``, then ``a·h + (1−a)·act``), so results agree with torch to
float32 rounding of the matrix products.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError
from .model import READOUT_WINDOWS, Layer, LpRNNModel

CLAMPS = ("clamp_then_filter", "filter_then_clamp")


def readout_start(n_frames: int, window: str) -> int:
    """First frame (0-based) of the read-out window: ⌊T/2⌋ for ``'second_half'``, 0 for ``'all'``.

    The same rule picks the first SNN step of a decode window (n ≥ ⌊n_steps/2⌋,
    docs/method.md#input-decoding-and-compartments)."""
    if window not in READOUT_WINDOWS:
        raise UserInputError(f"read-out window must be one of {READOUT_WINDOWS}, got {window!r}")
    return n_frames // 2 if window == "second_half" else 0


def window_mean(o: np.ndarray, window: str) -> np.ndarray:
    """Mean of ``o`` (samples, frames, classes) over the read-out window -> (samples, classes) float32."""
    start = readout_start(o.shape[1], window)
    return o[:, start:].mean(axis=1, dtype=np.float32)


@dataclass(eq=False)
class AnnResult:
    """Output of :func:`forward`.

    Attributes
    ----------
    states : list of numpy.ndarray
        Per layer, (samples, frames, units) float32: the hidden layers' states (ĥ for filter_then_clamp)
        followed by the read-out o_t. With ``keep_states=False`` only the read-out.
    layer_names : list of str
        Names matching ``states``.
    window_logits : dict of str to numpy.ndarray
        (samples, classes) float32 logits for each read-out window, ``'second_half'`` and ``'all'``.
    readout_window : str
        The model's window; :attr:`logits` and :attr:`predictions` use it.
    clamp : str
        The clamp convention used.
    output_decode : numpy.ndarray
        clamp(o_t, 0, Iin), (samples, frames, classes): the read-out as the ΣΔ network's feedback decode
        sees it (docs/method.md#two-clamp-conventions).
    """

    states: list[np.ndarray]
    layer_names: list[str]
    window_logits: dict[str, np.ndarray]
    readout_window: str
    clamp: str
    output_decode: np.ndarray

    @property
    def output(self) -> np.ndarray:
        """The read-out o_t, (samples, frames, classes)."""
        return self.states[-1]

    @property
    def hidden(self) -> list[np.ndarray]:
        """States of the hidden (lpff/lprnn) layers."""
        return self.states[:-1]

    @property
    def logits(self) -> np.ndarray:
        """(samples, classes) logits over the model's read-out window."""
        return self.window_logits[self.readout_window]

    @property
    def predictions(self) -> np.ndarray:
        """Predicted class index per sample (argmax of :attr:`logits`), int64."""
        return np.argmax(self.logits, axis=1)

    @property
    def window_predictions(self) -> dict[str, np.ndarray]:
        """Predictions for each read-out window."""
        return {w: np.argmax(v, axis=1) for w, v in self.window_logits.items()}

    def state(self, name: str) -> np.ndarray:
        """The state of the layer called ``name``."""
        if name not in self.layer_names:
            raise UserInputError(f"no state for layer {name!r}; available: {self.layer_names}")
        return self.states[self.layer_names.index(name)]


def check_inputs(x, n_features: int, *, min_samples: int = 1) -> np.ndarray:
    """Return ``x`` as a (samples, frames, features) float32 array, or raise :class:`UserInputError`.

    The one check of input frames (every command and library entry point calls it): a floating-point array of 3
    axes (a single 2-D sample (frames, features) becomes a batch of one), ``n_features`` features, at least one
    frame and ``min_samples`` samples, finite values that float32 can hold. Floating dtypes are converted to
    float32.
    """
    expected = f"(samples, frames, features={n_features})"
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise UserInputError(f"inputs must be a numeric array of shape {expected}: {exc}") from None
    if arr.dtype.kind != "f":
        raise UserInputError(f"inputs must be a floating-point array of shape {expected}, got dtype {arr.dtype}; "
                             "convert with .astype(np.float32)")
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise UserInputError(f"inputs must have shape {expected} (or one sample (frames, features)), "
                             f"got shape {np.shape(x)}")
    if arr.shape[2] != n_features:
        raise UserInputError(f"inputs must have shape {expected}: got {arr.shape[2]} features per frame "
                             f"(shape {arr.shape}); the model expects {n_features}")
    if arr.shape[0] < min_samples:
        raise UserInputError(f"inputs hold {arr.shape[0]} samples (shape {arr.shape}); give at least {min_samples} "
                             f"sample{'s' if min_samples > 1 else ''} {expected}")
    if arr.shape[1] < 1:
        raise UserInputError(f"inputs must have at least one frame: shape {expected}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise UserInputError("inputs contain NaN or inf; clean the features first")
    with np.errstate(over="ignore"):
        arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise UserInputError(f"inputs hold values beyond float32's range (±{np.finfo(np.float32).max:.3g}); "
                             "rescale the features first")
    return arr


def frame_count_note(model_frames: int, n_frames: int, window: str) -> str | None:
    """What happens when inputs have another frame count than the model was trained on (None when they agree).

    Not an error: the ANN and its ΣΔ network run any number of frames (the SNN is converted for the inputs'
    count), and both read out over the window of *these* frames, so the comparison between them stays exact;
    only the accuracy may differ from what the model reached on inputs of its own length (docs/cli.md)."""
    if n_frames == model_frames:
        return None
    start = readout_start(n_frames, window)
    return (f"inputs have {n_frames} frames, the model was trained on {model_frames}: the ANN and the SNN run all "
            f"{n_frames} and read out frames {start}…{n_frames - 1} ({window}); accuracy may differ from the "
            "model's own")


def check_labels(labels, n_samples: int, n_classes: int) -> np.ndarray:
    """Integer class labels, one per sample, in [0, n_classes), as int64, or raise :class:`UserInputError`.

    The one check of labels (every command and library entry point calls it). Floats that are whole numbers are
    accepted; fractions, NaN, booleans, strings and objects are not."""
    try:
        y = np.asarray(labels)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise UserInputError(f"labels must be an array of class indices: {exc}") from None
    if y.ndim != 1:
        raise UserInputError(f"labels have shape {y.shape}; expected ({n_samples},): one class index per sample")
    if y.shape[0] != n_samples:
        raise UserInputError(f"{y.shape[0]} labels for {n_samples} input samples; give one class index per sample")
    if y.dtype.kind not in "iuf":
        raise UserInputError(f"labels must be integer class indices, got dtype {y.dtype}; "
                             "save them with np.save(path, y.astype(np.int64))")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise UserInputError("labels contain NaN or inf; give integer class indices")
        frac = y[y != np.round(y)]
        if frac.size:
            raise UserInputError(f"labels must be whole class indices, got {frac[0].item()!r}; "
                                 "give integer class indices")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise UserInputError(f"label {bad.item()!r} is outside the class range: the model has {n_classes} classes, "
                             f"labels must lie in 0…{n_classes - 1}")
    return y.astype(np.int64)


def _feedforward(layer: Layer, x: np.ndarray) -> np.ndarray:
    """W x_t + b for every sample and frame at once: (samples, frames, out) float32."""
    n_samples, n_frames, n_in = x.shape
    z = x.reshape(n_samples * n_frames, n_in) @ layer.W.T
    z += layer.b
    return z.reshape(n_samples, n_frames, layer.n_out)


def substep_retention(a, substeps: int):
    """Retention per sub-step, a^(1/K), in float32 (computed in float64); ``a`` itself for K = 1."""
    if substeps == 1:
        return a
    ak = (np.asarray(a, dtype=np.float64) ** (1.0 / substeps)).astype(np.float32)
    return ak if ak.ndim else np.float32(ak)


def lowpass_layer(layer: Layer, x: np.ndarray, Iin: float, clamp: str = "clamp_then_filter",
                  substeps: int = 1, reconstruction: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Run one lpff/lpRNN layer over (samples, frames, in) float32 inputs.

    Parameters
    ----------
    layer : Layer
        ``lpff`` or ``lprnn`` layer (weights used as given: quantise them first if wanted); its retention
        is one number or one per unit (applied element-wise).
    x : numpy.ndarray
        (samples, frames, in) float32.
    Iin : float
        Clamp level.
    clamp : {'clamp_then_filter', 'filter_then_clamp'}
        Convention of docs/method.md#two-clamp-conventions.
    substeps : int
        Updates per frame (input held, retention a^(1/K)); the output is the state at the frame end.
    reconstruction : (drives, decodes), optional
        The ΣΔ neuron's mean reconstruction (:meth:`lprnn_brian.ann.model.LpRNNModel.reconstruction_table`): what the
        recurrence and the next layer see is the mean transfer of the clamped state (linear interpolation of the
        table), kept inside the range the reconstruction reaches in one update, [a_f ĥ, a_f ĥ + (1 − a_f) Iin] with
        a_f the per-update retention of the layer's fastest unit (its feedback time constant; docs/method.md).

    Returns
    -------
    numpy.ndarray
        (samples, frames, out) float32: h_t, or ĥ_t for filter_then_clamp.
    """
    if clamp not in CLAMPS:
        raise UserInputError(f"clamp must be one of {CLAMPS}, got {clamp!r}")
    # np.float32 scalar, or a float32 (out,) vector for per-unit retention; per sub-step a^(1/K)
    a = substep_retention(layer.retention_values(), substeps)
    one_minus_a = np.float32(1.0) - a  # computed in float32, as torch does with its float32 retention vector
    top = np.float32(Iin)
    zero = np.float32(0.0)
    a_fast = np.float32(np.min(a))  # per-update retention of the feedback (the layer's fastest unit)
    ff = _feedforward(layer, x)
    n_samples, n_frames, n_out = ff.shape
    Ut = None if layer.U is None else np.ascontiguousarray(layer.U.T)
    out = np.empty_like(ff)
    h = np.zeros((n_samples, n_out), np.float32)  # h (clamp_then_filter) or h̃ (filter_then_clamp)
    fed_back = h  # the state the recurrence sees: h, or ĥ = min(h̃, Iin)
    previous = h  # the previous output (the reconstruction's starting point)
    for t in range(n_frames):
        for _ in range(substeps):
            z = ff[:, t] if Ut is None else ff[:, t] + fed_back @ Ut
            if clamp == "clamp_then_filter":
                h = a * h + one_minus_a * np.clip(z, zero, top)
                fed_back = h
            else:
                h = np.maximum(a * h + one_minus_a * z, zero)
                fed_back = np.minimum(h, top)
            if reconstruction is not None:
                low = a_fast * previous
                fed_back = np.clip(np.interp(fed_back, *reconstruction).astype(np.float32), low,
                                   low + (np.float32(1.0) - a_fast) * top)
                previous = fed_back
        out[:, t] = fed_back
    return out


def forward(model: LpRNNModel, x, *, clamp: str = "clamp_then_filter", quantise: bool = True,
            keep_states: bool = True) -> AnnResult:
    """Float32 forward pass of ``model`` on ``x``.

    Parameters
    ----------
    model : LpRNNModel
        The network (latent weights).
    x : array_like
        (samples, frames, features) floating-point inputs; a single (frames, features) sample is treated as
        a batch of one.
    clamp : {'clamp_then_filter', 'filter_then_clamp'}, optional
        Clamp convention (docs/method.md#two-clamp-conventions, decision B4 in docs/decisions.md); the trained models
        use clamp_then_filter.
    quantise : bool, optional
        Pass W, U, b through the model's quantiser first (what the authors' forward does).
    keep_states : bool, optional
        Keep every hidden layer's state (samples × frames × units floats each); False keeps only the
        read-out, for large batches.

    Returns
    -------
    AnnResult
        States, read-out, logits and predictions for both read-out windows.
    """
    model.validate()
    if clamp not in CLAMPS:
        raise UserInputError(f"clamp must be one of {CLAMPS}, got {clamp!r}")
    h = check_inputs(x, model.n_inputs)
    net = model.quantised() if quantise else model
    states, names = [], []
    for layer in net.layers[:-1]:
        h = lowpass_layer(layer, h, model.Iin, clamp, model.substeps, model.reconstruction_table())
        if keep_states:
            states.append(h)
            names.append(layer.name)
    readout = net.layers[-1]
    o = _feedforward(readout, h)
    states.append(o)
    names.append(readout.name)
    return AnnResult(
        states=states,
        layer_names=names,
        window_logits={w: window_mean(o, w) for w in READOUT_WINDOWS},
        readout_window=model.readout_window,
        clamp=clamp,
        output_decode=np.clip(o, np.float32(0.0), np.float32(model.Iin)),
    )
