"""One call from a model and inputs to the comparison of the ANN with its ΣΔ network.

Used by the ``simulate`` and ``demo`` commands; returns plain data (the JSON summary of design.md plus
the result objects for plots and files).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis.fidelity import Fidelity, fidelity
from .ann.forward import AnnResult, check_inputs, check_labels, forward
from .ann.model import READOUT_WINDOWS, LpRNNModel
from .convert import DEFAULT_THRESHOLD, SNNSpec, to_snn_spec
from .errors import UserInputError
from .simulation import DECODES, SimulationResult, simulate


@dataclass
class Evaluation:
    summary: dict
    spec: SNNSpec
    result: SimulationResult
    fidelity: Fidelity
    ann: AnnResult


def evaluate(
    model: LpRNNModel,
    x: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    target: str = "cpp_standalone",
    mode: str = "loihi",
    factors=None,
    resample: str = "hold",
    progress: bool = False,
    build_root: str | Path | None = None,
    batch: int | None = None,
    sampling: str | None = None,
    propagation: str | None = None,
    threads: int = 0,
    scheduler: str | None = None,
    workers: int = 2,
    threshold: str = DEFAULT_THRESHOLD,
) -> Evaluation:
    """ANN forward, conversion, simulation and fidelity on inputs ``x`` (samples, frames, features).

    ``batch``, ``sampling``, ``propagation`` and ``threads`` choose how the SNN runs
    (:class:`lprnn_brian.targets.Runner`); None chooses the fastest layout of the target that samples every
    layer's states at frame ends (:func:`lprnn_brian.simulation.simulate`); with ``sampling='readout'`` the hidden
    layers' state decodes are not recorded and their correlations are reported as None. ``scheduler`` (``'local'`` or a Dask scheduler
    address) splits the samples over a Dask cluster (:func:`lprnn_brian.sweep_dask.simulate_distributed`; ``workers``
    processes for ``'local'``); the spikes and decodes are those of one serial run. ``threshold`` is the comparator's
    threshold policy (:func:`lprnn_brian.convert.to_snn_spec`)."""
    t0 = time.perf_counter()
    x = check_inputs(x, model.n_inputs)
    if labels is not None:
        labels = check_labels(labels, x.shape[0], model.n_classes)
    ann = forward(model, x)
    spec = to_snn_spec(model, mode=mode, factors=factors, resample=resample, n_frames=x.shape[1],
                       threshold=threshold)
    if scheduler is not None:
        from .sweep_dask import simulate_distributed

        result = simulate_distributed(spec, x, scheduler=scheduler, workers=workers, target=target,
                                      batch=batch, build_root=build_root, progress=progress)
    else:
        result = simulate(spec, x, target=target, progress=progress, build_root=build_root, batch=batch,
                          sampling=sampling, propagation=propagation, threads=threads)
    ev = compare(model, x, result, labels, ann=ann)
    ev.summary["wall_s"] = time.perf_counter() - t0
    return ev


def compare(model: LpRNNModel, x: np.ndarray, result: SimulationResult, labels: np.ndarray | None = None, *,
            ann: AnnResult | None = None) -> Evaluation:
    """The comparison of the ANN ``model`` on inputs ``x`` (samples, frames, features) with a simulation ``result``
    of its ΣΔ network on the same inputs (:func:`evaluate`'s summary, ``wall_s`` from the result's times); ``ann``:
    the ANN's forward pass, if already computed. Also for results simulated elsewhere (an exported project's,
    :func:`lprnn_brian.export.standalone.read_standalone`)."""
    x = check_inputs(x, model.n_inputs)
    if labels is not None:
        labels = check_labels(labels, x.shape[0], model.n_classes)
    spec = result.spec
    if x.shape[:2] != (result.n_samples, spec.n_frames):
        raise UserInputError(f"inputs hold {x.shape[0]} samples of {x.shape[1]} frames; the simulation ran "
                             f"{result.n_samples} samples of {spec.n_frames} frames: give the inputs it ran")
    ann = forward(model, x) if ann is None else ann
    fid = fidelity(model, x, result, labels=labels, ann=ann)
    window = model.readout_window
    summary = {
        "n_samples": int(x.shape[0]),
        "target": result.target,
        "mode": spec.mode,
        "threshold": spec.threshold_policy,
        "readout_window": window,
        "layer_names": result.layer_names,
        "class_names": list(model.class_names),
        "ann_accuracy": fid.ann_accuracy,
        "snn_accuracy": {d: fid.snn_accuracy[d][window] for d in DECODES},
        "ann_predictions": fid.ann_predictions.tolist(),
        "snn_predictions": {d: fid.snn_predictions[d][window].tolist() for d in DECODES},
        "class_agreement": {d: fid.class_agreement[d][window] for d in DECODES},
        "layer_correlation": {d: fid.correlation[d] for d in DECODES},
        "layer_rmse": {d: fid.rmse[d] for d in DECODES},
        "by_window": {
            w: {
                "snn_accuracy": {d: fid.snn_accuracy[d][w] for d in DECODES},
                "snn_predictions": {d: fid.snn_predictions[d][w].tolist() for d in DECODES},
                "class_agreement": {d: fid.class_agreement[d][w] for d in DECODES},
                "ann_predictions": np.argmax(ann.window_logits[w], axis=1).tolist(),
            }
            for w in READOUT_WINDOWS
        },
        "spikes_per_sample": result.spikes_per_sample().tolist(),
        "snn": {k: v for k, v in spec.summary().items() if k != "class_names"},
        "wall_s_detail": dict(result.wall_s),
    }
    summary["wall_s"] = float(sum(result.wall_s.values()))
    return Evaluation(summary, spec, result, fid, ann)
