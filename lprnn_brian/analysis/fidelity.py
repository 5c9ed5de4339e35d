"""How well the spiking network reproduces the rate network: per-layer correlation and RMSE of every
SNN decode against its ANN counterpart, class agreement and accuracy.

ANN counterpart of each decode (per frame, ANN units):

* ``fb``, ``count`` → the layer's ANN state h_t; for the dense read-out, clamp(o_t, 0, R) with R the spec's read-out
  range (Iin by default, docs/method.md#the-read-outs-range): the feedback reconstruction spans [0, Iin_snn] by
  construction, so that is what it can encode
  (docs/method.md#two-clamp-conventions, docs/method.md#input-decoding-and-compartments);
* ``ip`` → h_t; for the read-out max(o_t, 0) (i_ip is floored at 0 every step);
* ``in`` → the pre-activation less the bias, W x_t + U h_{t−1}
  (docs/method.md#why-the-spikes-reproduce-the-rate-network).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ann.forward import AnnResult, forward
from ..ann.model import READOUT_WINDOWS, LpRNNModel
from ..convert import resolve_readout_range
from ..simulation import DECODES, SimulationResult


def ann_counterparts(model: LpRNNModel, x: np.ndarray, ann: AnnResult,
                     readout_range: float | None = None) -> dict[str, list[np.ndarray]]:
    """Per decode, per layer: the ANN quantity the decode estimates, (samples, frames, units); the read-out's
    fb and count counterparts are clamped to ``readout_range`` (the run's
    :attr:`~lprnn_brian.convert.SNNSpec.readout_range`; default: the model's, else Iin)."""
    q = model.quantised()
    states = [s.astype(np.float64) for s in ann.states]
    inputs = [np.asarray(x, dtype=np.float64)] + states[:-1]
    pre = []
    for k, L in enumerate(q.layers):
        z = inputs[k] @ L.W.astype(np.float64).T
        if L.U is not None:
            h_prev = np.concatenate([np.zeros_like(states[k][:, :1]), states[k][:, :-1]], axis=1)
            z = z + h_prev @ L.U.astype(np.float64).T
        pre.append(z)
    o = states[-1]
    clamped = states[:-1] + [np.clip(o, 0.0, resolve_readout_range(model, readout_range))]
    floored = states[:-1] + [np.maximum(o, 0.0)]
    return {"fb": clamped, "ip": floored, "count": clamped, "in": pre}


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation over all entries; None where either side is constant (e.g. the synaptic current
    of layer 0, which receives no spikes)."""
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else None


@dataclass
class Fidelity:
    """Per decode, per layer correlation and RMSE (ANN units); agreement and accuracy per decode/window."""

    layer_names: list[str]
    correlation: dict[str, list[float | None]]
    rmse: dict[str, list[float | None]]
    class_agreement: dict[str, dict[str, float]]
    snn_accuracy: dict[str, dict[str, float | None]]
    ann_accuracy: float | None
    ann_predictions: np.ndarray
    snn_predictions: dict[str, dict[str, np.ndarray]]

    def to_dict(self) -> dict:
        return {
            "layer_names": self.layer_names,
            "layer_correlation": {d: dict(zip(self.layer_names, v)) for d, v in self.correlation.items()},
            "layer_rmse": {d: dict(zip(self.layer_names, v)) for d, v in self.rmse.items()},
            "class_agreement": self.class_agreement,
            "snn_accuracy": self.snn_accuracy,
            "ann_accuracy": self.ann_accuracy,
        }


def fidelity(
    model: LpRNNModel,
    x: np.ndarray,
    result: SimulationResult,
    labels: np.ndarray | None = None,
    ann: AnnResult | None = None,
) -> Fidelity:
    """Compare ``result`` (the SNN of ``model`` run on ``x``) with the ANN forward pass."""
    ann = ann if ann is not None else forward(model, x)
    ref = ann_counterparts(model, x, ann, readout_range=result.spec.readout_range)
    corr, rmse = {}, {}
    for d in DECODES:
        corr[d], rmse[d] = [], []
        for k in range(len(result.layer_names)):
            frames = result.frame_decodes.get(d, [None] * len(result.layer_names))[k]
            if frames is None:  # state not recorded in this layer
                corr[d].append(None)
                rmse[d].append(None)
                continue
            snn = frames.astype(np.float64)
            corr[d].append(pearson(snn, ref[d][k]))
            rmse[d].append(float(np.sqrt(np.mean((snn - ref[d][k]) ** 2))))
    ann_pred = ann.window_predictions
    window = model.readout_window
    snn_pred = {d: {w: result.predictions(d, w) for w in READOUT_WINDOWS} for d in DECODES if d in result.decodes}
    agreement = {d: {w: float(np.mean(p[w] == ann_pred[w])) for w in READOUT_WINDOWS} for d, p in snn_pred.items()}
    if labels is not None:
        labels = np.asarray(labels)
        snn_acc = {d: {w: float(np.mean(p[w] == labels)) for w in READOUT_WINDOWS} for d, p in snn_pred.items()}
        ann_acc = float(np.mean(ann_pred[window] == labels))
    else:
        snn_acc = {d: {w: None for w in READOUT_WINDOWS} for d in snn_pred}
        ann_acc = None
    return Fidelity(list(result.layer_names), corr, rmse, agreement, snn_acc, ann_acc, ann_pred[window], snn_pred)
