"""PyTorch twin of the rate lpRNN, for training (needs the ``train`` extra: ``pip install lprnn_brian[train]``).

State-dict keys are the authors' (``lpff.linear.*``, ``rnn_layers.<k>.linear.*``,
``rnn_layers.<k>.linear_hh.weight``, ``out.linear.*``), so their checkpoints load with ``load_state_dict``.
The latent float weights are the parameters; every forward pass quantises them with a straight-through
estimator, w + stopgrad(q(w) − w) (docs/method.md#quantisation-export-and-pruning). Retention is a non-persistent
float32 buffer with one value per unit (not trained, not stored in the state dict): the same value for every unit (the
2024 model) or one per unit (the 2019 cell, docs/method.md#the-2019-lprnn-cell).
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError("lprnn_brian.ann.torch_model needs PyTorch; install it with: "
                      "pip install lprnn_brian[train]") from exc

from ..errors import UserInputError
from .forward import CLAMPS, readout_start
from .model import READOUT_WINDOWS, Layer, LpRNNModel, reconstruction_table
from .quantise import FULL_PRECISION_BITS

#: Model fields carried through TorchLpRNN unchanged (everything but the layers).
_META_FIELDS = ("Iin", "int_bits", "frac_bits", "frame_dt", "n_frames", "readout_window", "readout_range",
                "substeps", "reconstruction", "class_names", "features", "task", "provenance")


def interp(v: "torch.Tensor", xs: "torch.Tensor", ys: "torch.Tensor") -> "torch.Tensor":
    """Piecewise-linear ``np.interp(v, xs, ys)`` (xs increasing, constant beyond the ends), differentiable in v."""
    v_in = v.clamp(float(xs[0]), float(xs[-1]))
    idx = torch.searchsorted(xs, v_in.detach().contiguous()).clamp(1, xs.numel() - 1)
    x0, x1, y0, y1 = xs[idx - 1], xs[idx], ys[idx - 1], ys[idx]
    return y0 + (v_in - x0) * (y1 - y0) / (x1 - x0)


def quantise_ste(w: "torch.Tensor", int_bits: int = 32, frac_bits: int = 3) -> "torch.Tensor":
    """q(w; I, F) in the forward pass, identity gradient in the backward pass (straight-through estimator).

    Parameters
    ----------
    w : torch.Tensor
        Latent weights.
    int_bits, frac_bits : int
        I (clip ±(2^(I−1) − 1)) and F (grid 2^-F); ``frac_bits >= 32`` returns ``w`` itself.

    Returns
    -------
    torch.Tensor
        ``w + (q(w) − w).detach()``; rounding is half-to-even like :func:`lprnn_brian.ann.quantise.quantise`.
    """
    if frac_bits >= FULL_PRECISION_BITS:
        return w
    limit = float(2 ** (int_bits - 1) - 1)
    scale = 2.0**frac_bits
    q = w.clamp(-limit, limit).mul(scale).round().div(scale)
    return w + (q - w).detach()


def readout_logits(o: "torch.Tensor", window: str = "second_half") -> "torch.Tensor":
    """Mean of the read-out o (batch, frames, classes) over frames t ≥ ⌊T/2⌋ (``'second_half'``) or all."""
    return o[:, readout_start(o.shape[1], window):].mean(dim=1)


def _check_retention(retention, n_out: int):
    """A float in [0, 1) stays a float; anything else must be n_out values in [0, 1) (-> float32 array)."""
    if isinstance(retention, (int, float, np.floating, np.integer)) and not isinstance(retention, bool):
        if not 0.0 <= float(retention) < 1.0:
            raise UserInputError(f"retention must be in [0, 1), got {retention!r}")
        return float(retention)
    a = np.asarray(retention, dtype=np.float32)
    if a.shape != (n_out,) or not np.all((a >= 0.0) & (a < 1.0)):
        raise UserInputError(f"a per-unit retention must be {n_out} values in [0, 1), got shape {a.shape}")
    return a.copy()


class _LowPass(nn.Module):
    """lpff (``recurrent=False``) or lpRNN layer: ``linear`` (W, b) and, if recurrent, ``linear_hh`` (U)."""

    def __init__(self, n_in: int, n_out: int, retention, recurrent: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.linear_hh = nn.Linear(n_out, n_out, bias=False) if recurrent else None
        self.register_buffer("retention", torch.zeros((n_out,), dtype=torch.float32), persistent=False)
        self.set_retention(retention)

    def set_retention(self, retention) -> None:
        """One value in [0, 1) for every unit, or one per unit (n_out values)."""
        value = _check_retention(retention, self.linear.out_features)
        self.retention_value = value  # exact value for to_model(); the buffer is its float32
        # float32 vector like the authors', so 1 − a is rounded in float32 exactly as theirs
        with torch.no_grad():
            if isinstance(value, float):
                self.retention.fill_(value)
            else:
                self.retention.copy_(torch.from_numpy(value))

    def forward(self, x: "torch.Tensor", Iin: float, int_bits: int, frac_bits: int, clamp: str,
                substeps: int = 1, reconstruction=None, ripple: float = 0.0) -> "torch.Tensor":
        W = quantise_ste(self.linear.weight, int_bits, frac_bits)
        b = quantise_ste(self.linear.bias, int_bits, frac_bits)
        U = None if self.linear_hh is None else quantise_ste(self.linear_hh.weight, int_bits, frac_bits)
        a = self.retention
        if substeps > 1:  # per sub-step a^(1/K), computed in float64 like the numpy forward
            a = a.double().pow(1.0 / substeps).float()
        one_minus_a = 1 - a
        a_fast = a.min()  # per-update retention of the feedback (the layer's fastest unit)
        h = x.new_zeros((x.shape[0], self.linear.out_features))
        fed_back = previous = h
        outputs = []
        for x_t in torch.unbind(x, dim=1):
            ff = F.linear(x_t, W, b)
            for _ in range(substeps):
                z = ff if U is None else ff + torch.mm(fed_back, U.t())
                if clamp == "clamp_then_filter":
                    h = a * h + one_minus_a * torch.clamp(z, 0.0, Iin)
                    fed_back = h
                else:
                    h = torch.clamp(a * h + one_minus_a * z, min=0.0)
                    fed_back = torch.clamp(h, max=Iin)
                if reconstruction is not None:  # the mean transfer, inside the reconstruction's one-update range
                    low = a_fast * previous
                    fed_back = torch.minimum(torch.maximum(interp(fed_back, *reconstruction), low),
                                             low + (1 - a_fast) * Iin)
                    previous = fed_back
                    if ripple and self.training:  # the reconstruction's ripple, as uniform noise of its width
                        fed_back = fed_back + (torch.rand_like(fed_back) - 0.5) * ripple
            outputs.append(fed_back)
        return torch.stack(outputs, dim=1)


class _Readout(nn.Module):
    """Dense read-out o_t = W_o h_t + b_o (key ``out.linear``)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, h: "torch.Tensor", int_bits: int, frac_bits: int) -> "torch.Tensor":
        W = quantise_ste(self.linear.weight, int_bits, frac_bits)
        b = quantise_ste(self.linear.bias, int_bits, frac_bits)
        return F.linear(h, W, b)


class TorchLpRNN(nn.Module):
    """Trainable lpRNN: optional lpff layer, any number of lpRNN layers, dense read-out.

    Parameters
    ----------
    n_inputs : int
        Features per frame.
    lpff_size : int or None
        Units of the first low-pass feed-forward layer; None or 0 for none.
    rnn_sizes : sequence of int
        Units of each lpRNN layer (at least one).
    n_classes : int
        Read-out outputs.
    retention : float or sequence, optional
        Retention a of every low-pass layer (0.8), or a sequence with one entry per low-pass layer (lpff
        first), each a float or a vector of one value per unit.
    Iin : float, optional
        Clamp level.
    int_bits, frac_bits : int, optional
        Quantiser bits (F ≥ 32: no quantisation).
    readout_window : {'second_half', 'all'}, optional
        Default window of :meth:`logits`.
    clamp : {'clamp_then_filter', 'filter_then_clamp'}, optional
        Clamp convention (docs/method.md#two-clamp-conventions); training uses clamp_then_filter.
    substeps : int, optional
        State updates per frame (:class:`LpRNNModel` ``substeps``; 1: the paper's lpRNN).
    meta : dict, optional
        Other :class:`LpRNNModel` fields to carry (frame_dt, n_frames, class_names, features, task,
        provenance).
    seed : int, optional
        Seed of the initialisation (Xavier-uniform W, orthogonal U, zero b); None uses torch's global RNG.
    """

    def __init__(self, n_inputs: int, lpff_size: int | None, rnn_sizes: Sequence[int], n_classes: int, *,
                 retention=0.8, Iin: float = 6.0, int_bits: int = 32, frac_bits: int = 3,
                 readout_window: str = "second_half", clamp: str = "clamp_then_filter", meta: dict | None = None,
                 seed: int | None = None, substeps: int = 1) -> None:
        super().__init__()
        sizes = [int(n_inputs)] + ([int(lpff_size)] if lpff_size else []) + [int(s) for s in rnn_sizes]
        if len(rnn_sizes) < 1 or min(sizes + [int(n_classes)]) < 1:
            raise UserInputError(f"TorchLpRNN needs positive sizes and at least one lpRNN layer; got inputs "
                                 f"{n_inputs}, lpff {lpff_size}, lpRNN {list(rnn_sizes)}, classes {n_classes}")
        if readout_window not in READOUT_WINDOWS:
            raise UserInputError(f"readout_window must be one of {READOUT_WINDOWS}, got {readout_window!r}")
        if clamp not in CLAMPS:
            raise UserInputError(f"clamp must be one of {CLAMPS}, got {clamp!r}")
        self.Iin = float(Iin)
        self.int_bits = int(int_bits)
        self.frac_bits = int(frac_bits)
        self.readout_window = readout_window
        self.clamp = clamp
        if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
            raise UserInputError(f"substeps must be an integer >= 1, got {substeps!r}")
        self.substeps = int(substeps)
        self.meta = copy.deepcopy(dict(meta or {}))
        #: Training only: width (ANN units) of the uniform noise added to every reconstruction a layer passes on,
        #: the ΣΔ ripple's (one kick, Iin/τ_S); 0: none. Set by the trainer (``reconstruction_ripple``).
        self.ripple = 0.0
        n_lowpass = len(sizes) - 1
        if isinstance(retention, (int, float, np.floating, np.integer)) and not isinstance(retention, bool):
            retentions = [retention] * n_lowpass
        else:
            retentions = list(retention)
            if len(retentions) != n_lowpass:
                raise UserInputError(f"retention: give one number for all layers or one entry per low-pass "
                                     f"layer ({n_lowpass}), got {len(retentions)} entries")
        n_prev = int(n_inputs)
        self.lpff = None
        if lpff_size:
            self.lpff = _LowPass(n_prev, int(lpff_size), retentions.pop(0), recurrent=False)
            n_prev = int(lpff_size)
        layers = []
        for n in rnn_sizes:
            layers.append(_LowPass(n_prev, int(n), retentions.pop(0), recurrent=True))
            n_prev = int(n)
        self.rnn_layers = nn.ModuleList(layers)
        self.out = _Readout(n_prev, int(n_classes))
        self.reset_parameters(seed)

    def hidden_layers(self) -> list[_LowPass]:
        """The low-pass layers in network order."""
        return ([self.lpff] if self.lpff is not None else []) + list(self.rnn_layers)

    def reset_parameters(self, seed: int | None = None) -> None:
        """The authors' initialisation: Xavier-uniform W, orthogonal U, zero biases."""
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in self.hidden_layers() + [self.out]:
                nn.init.xavier_uniform_(layer.linear.weight, generator=gen)
                nn.init.zeros_(layer.linear.bias)
                if getattr(layer, "linear_hh", None) is not None:
                    nn.init.orthogonal_(layer.linear_hh.weight, generator=gen)

    def forward(self, x: "torch.Tensor", return_states: bool = False):
        """Read-out o of shape (batch, frames, classes) for x of shape (batch, frames, features).

        With ``return_states`` also the list of hidden states, each (batch, frames, units).
        """
        if x.ndim != 3 or x.shape[2] != self.n_inputs:
            raise UserInputError(f"inputs must have shape (batch, frames, features={self.n_inputs}), "
                                 f"got {tuple(x.shape)}")
        h = x.to(self.out.linear.weight.dtype)
        states = []
        reconstruction = self._reconstruction(h.dtype)
        for layer in self.hidden_layers():
            h = layer(h, self.Iin, self.int_bits, self.frac_bits, self.clamp, self.substeps, reconstruction,
                      self.ripple)
            states.append(h)
        o = self.out(h, self.int_bits, self.frac_bits)
        return (o, states) if return_states else o

    def _reconstruction(self, dtype):
        """The model's ΣΔ mean reconstruction as two tensors (``meta['reconstruction']``; None for the plain lpRNN)."""
        table = reconstruction_table(self.meta.get("reconstruction") or {}, self.Iin)
        return None if table is None else tuple(torch.as_tensor(t, dtype=dtype) for t in table)

    def logits(self, o: "torch.Tensor", window: str | None = None) -> "torch.Tensor":
        """Logits from the read-out o: mean over ``window`` (default: the model's read-out window)."""
        return readout_logits(o, window or self.readout_window)

    @property
    def n_inputs(self) -> int:
        """Features per frame."""
        return self.hidden_layers()[0].linear.in_features

    # -- conversion to and from the numpy model ------------------------------------------------------
    @classmethod
    def from_model(cls, model: LpRNNModel, clamp: str = "clamp_then_filter") -> "TorchLpRNN":
        """Torch module with ``model``'s latent weights, retentions and metadata.

        ``model`` must be [lpff] + lprnn… + dense (the authors' architecture family).
        """
        model.validate()
        hidden = model.layers[:-1]
        kinds = [layer.kind for layer in hidden]
        has_lpff = bool(kinds) and kinds[0] == "lpff"
        rnn = hidden[1:] if has_lpff else hidden
        if not rnn or any(layer.kind != "lprnn" for layer in rnn):
            raise UserInputError(f"TorchLpRNN supports an optional first lpff layer, then lprnn layers, then the "
                                 f"dense read-out; this model has kinds {kinds + ['dense']}")
        net = cls(model.n_inputs, hidden[0].n_out if has_lpff else None, [layer.n_out for layer in rnn],
                  model.n_classes, Iin=model.Iin, int_bits=model.int_bits, frac_bits=model.frac_bits,
                  readout_window=model.readout_window, clamp=clamp, substeps=model.substeps,
                  meta={k: getattr(model, k) for k in _META_FIELDS})
        with torch.no_grad():
            for src, dst in zip(hidden, net.hidden_layers()):
                dst.linear.weight.copy_(torch.from_numpy(src.W))
                dst.linear.bias.copy_(torch.from_numpy(src.b))
                if src.U is not None:
                    dst.linear_hh.weight.copy_(torch.from_numpy(src.U))
                dst.set_retention(src.retention.copy() if src.per_unit_retention else float(src.retention))
            net.out.linear.weight.copy_(torch.from_numpy(model.layers[-1].W))
            net.out.linear.bias.copy_(torch.from_numpy(model.layers[-1].b))
        return net

    def to_model(self) -> LpRNNModel:
        """:class:`LpRNNModel` with the current latent weights (layers ``lpff_1``, ``lprnn_k``, ``output``)."""

        def arr(t: "torch.Tensor") -> np.ndarray:
            return t.detach().to("cpu", torch.float32).numpy().copy()

        def ret(layer: _LowPass):
            v = layer.retention_value
            return v.copy() if isinstance(v, np.ndarray) else v

        layers = []
        if self.lpff is not None:
            layers.append(Layer("lpff_1", "lpff", arr(self.lpff.linear.weight), arr(self.lpff.linear.bias),
                                retention=ret(self.lpff)))
        for k, layer in enumerate(self.rnn_layers):
            layers.append(Layer(f"lprnn_{k + 1}", "lprnn", arr(layer.linear.weight), arr(layer.linear.bias),
                                U=arr(layer.linear_hh.weight), retention=ret(layer)))
        layers.append(Layer("output", "dense", arr(self.out.linear.weight), arr(self.out.linear.bias)))
        meta = {k: copy.deepcopy(v) for k, v in self.meta.items() if k in _META_FIELDS}
        meta.update(Iin=self.Iin, int_bits=self.int_bits, frac_bits=self.frac_bits,
                    readout_window=self.readout_window, substeps=self.substeps)
        model = LpRNNModel(layers=layers, **meta)
        model.validate()
        return model
