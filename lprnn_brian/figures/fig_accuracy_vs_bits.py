"""Figure: test accuracy of digits lpRNNs trained with signed b-bit weights on [−1/2, 1/2), as ANNs and as ΣΔ networks.

Every point is a model trained by the package trainer (:func:`lprnn_brian.training.classifier.train_digits`) with its weight
codes −2^(b−1) … 2^(b−1) − 1 on the 2^−b grid (the paper's 3 bits: codes −4…3 on the 1/8 grid,
docs/method.md#quantisation-export-and-pruning), converted (docs/method.md#parameter-mapping) and simulated with Brian2.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from ._common import figure_main, figure_paths, loihi_first, write_numbers

NAME = "accuracy_vs_bits"
TITLE = "Accuracy vs weight bits"

FULL_BITS = (1, 2, 3, 4, 6)
QUICK_BITS = (2, 3)
#: Epochs per model in the full figure: 5 models × 15 epochs × ~25 s (the digits recipe on 2 cores) ≈ 30 min.
FULL_EPOCHS = 15
QUICK_TRAIN = 200  # training clips of the quick figure
QUICK_SNN_CLIPS = 16  # test clips simulated by the quick figure (the ANN is scored on all 210)
CACHE_FORMAT = 1

CAPTION = (
    "Test accuracy on the bundled spoken digits (210 test clips of unseen voices) against the width b of the "
    "signed weights: every W and U is trained (quantisation-aware, straight-through) as codes −2^(b−1) … "
    "2^(b−1) − 1 on the grid 2^−b, i.e. b bits spanning the same range [−1/2, 1/2) (1 bit: {−1/2, 0}; 2 bits: "
    "steps of 1/4; 3 bits: the paper's 1/8 grid and −0.5 … 0.375; 6 bits: 1/64); biases use the same grid. "
    "A fixed range is the meaningful comparison: widening the code range at a fixed 1/8 grid changes nothing, "
    "because the latent weights of these models stay inside ±0.5 (measured: 3-, 4- and 6-bit codes on the 1/8 "
    "grid trained to identical models). Each model uses the recipe of the bundled model (80 mel → "
    f"lpff 48 → lpRNN 96 → lpRNN 96 → 10, a = 0.8, frequency masking, time shifts, read-out range penalty, 1 and "
    f"4 sub-steps per frame, seed 0) but only {FULL_EPOCHS} epochs instead of 100 and without the weights' moving "
    "average (its time constant, about 15 epochs, is as long as the run; the whole figure then takes about 6 min on "
    "two cores), so every point, the 3-bit one included, lies below the bundled model's 96 % ANN "
    "accuracy: the curve compares equal, short training budgets, not converged models (full run: ANN 0.10, 0.75, "
    "0.77, 0.77, 0.85 and SNN 0.10, 0.74, 0.76, 0.76, 0.85 at 1, 2, 3, 4, 6 bits). The 1/64 grid (6 bits) has "
    "no Loihi-integer conversion (`convert.find_params`), so that point, and the degenerate 1-bit one, run in "
    "float mode (marked) at the same SNN step (τ_S = 64). Solid line: the ANN "
    "(numpy reference forward, all test clips); dashed: its ΣΔ network (Loihi-integer mode, package default "
    "conversion τ_S = 64, M = 14.28; Brian2 cpp_standalone), classified by the feedback decode −i_fb/f "
    "(second-half mean); dotted: the fraction of clips on which the SNN and ANN classes agree. Trained models "
    "are cached (`$LPRNN_BRIAN_CACHE/figures`, keyed by the training config), so a rerun only simulates. Look "
    "for the collapse to chance at 1 bit: the weights −1/2 and 0 allow no positive (excitatory) weight, so no "
    "unit can rise with its input. Quick settings: lpff 8, one lpRNN layer of 16, one epoch on 200 "
    "training clips, b ∈ {2, 3}, SNN on 16 test clips with the numpy target."
)


def cache_dir(cache: str | Path | None = None) -> Path:
    """Where trained models are kept: ``cache``, else ``$LPRNN_BRIAN_CACHE/figures``, else
    ``~/.cache/lprnn_brian/figures``."""
    if cache is not None:
        return Path(cache)
    root = os.environ.get("LPRNN_BRIAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lprnn_brian")
    return Path(root) / "figures"


def code_range(bits: int) -> tuple[int, int]:
    """Signed b-bit integer codes (the rule of ``lprnn-brian train --weight-bits``): (−2^(b−1), 2^(b−1) − 1)."""
    from ..errors import UserInputError

    if int(bits) < 1:
        raise UserInputError(f"weight bits must be >= 1, got {bits}")
    return -(2 ** (int(bits) - 1)), 2 ** (int(bits) - 1) - 1


def train_config(bits: int, quick: bool = False, seed: int = 0):
    """The training config of one point: the bundled model's recipe with ``bits``-bit weights on [−1/2, 1/2)
    (codes :func:`code_range` on the grid 2^−bits) (full), or a tiny one-epoch network (quick)."""
    from ..training.classifier_config import DIGITS_CONFIG

    grid = dict(code_range=code_range(bits), frac_bits=int(bits))  # b bits over [−1/2, 1/2): step 2^−b
    if quick:
        return dataclasses.replace(DIGITS_CONFIG, lpff=8, rnn=(16,), epochs=1, substeps=(1,), seed=int(seed),
                                   threads=1, weight_average=0.0, **grid)
    # no moving average of the weights: its time constant (500 optimiser steps, about 15 epochs) is as long as this
    # budget, so the average would mostly hold the first epochs' weights
    return dataclasses.replace(DIGITS_CONFIG, epochs=FULL_EPOCHS, seed=int(seed), weight_average=0.0, **grid)


def cache_key(config, n_train: int | None) -> str:
    """Key of a trained model: the training config, the training subset and the bundled data's version."""
    from ..tasks.digits import digits_meta

    blob = json.dumps({"format": CACHE_FORMAT, "config": config.to_dict(), "n_train": n_train,
                       "data": digits_meta().get("generator_version")}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def trained_model(config, cache: Path, n_train: int | None = None, *, log=None):
    """The model trained with ``config`` (on ``n_train`` seeded training clips, all by default): read from
    ``cache`` if it is there, else trained with :func:`lprnn_brian.training.classifier.train_digits` and saved there.

    Returns (model, path, trained) with ``trained`` False when the cache held it. Needs torch to train."""
    from ..ann.model import load_model
    from ..training.classifier import train_digits
    from ..training.common import import_torch

    lo, hi = config.code_range
    path = Path(cache) / f"digits_codes{lo}to{hi}_frac{config.frac_bits}_{cache_key(config, n_train)}.npz"
    if path.exists():
        return load_model(path), path, False
    import_torch()  # the package's clear error when torch is missing
    path.parent.mkdir(parents=True, exist_ok=True)
    res = train_digits(config, path, force=True, n_train=n_train, script="lprnn_brian.figures.fig_accuracy_vs_bits",
                       log=log)
    return res.model, path, True


def default_step(model) -> float:
    """Δt_S of the package's default conversion of a 1/8-grid model: τ/64 with τ = −Δt_A/ln a
    (docs/method.md#reproduced-numbers)."""
    from ..equations.derive import tau_seconds

    retention = next(L.retention for L in model.layers if L.retention is not None)
    return tau_seconds(float(np.max(retention)), model.frame_dt) / 64


def compute(quick: bool = False, seed: int = 0, *, bits=None, cache: str | Path | None = None,
            target: str | None = None, build_root=None, log=None) -> dict:
    """Train (or read from the cache) one model per bit width, score its ANN on all test clips and its ΣΔ
    network on the simulated clips.

    Returns a dict with ``bits``, ``ann_accuracy`` (all 210 test clips, numpy forward), ``ann_accuracy_torch``
    (the trainer's torch evaluation of the same clips), ``snn_accuracy`` (fb decode, read-out window),
    ``ann_accuracy_sim`` (the ANN on the simulated clips), ``agreement``, ``mode`` (conversion mode used, or None
    when the model could not be converted), ``paths`` (cached models), ``trained`` (flags), ``sim_clips``.
    """
    from ..ann.forward import forward
    from ..convert import to_snn_spec
    from ..errors import UserInputError
    from ..simulation import simulate
    from ..tasks.digits import load_digits

    bits = tuple(bits) if bits is not None else (QUICK_BITS if quick else FULL_BITS)
    target = target or ("numpy" if quick else "cpp_standalone")
    cache = cache_dir(cache)
    X, y, _ = load_digits("test")
    sim = np.sort(np.random.default_rng(seed).choice(len(y), size=QUICK_SNN_CLIPS, replace=False)) if quick \
        else np.arange(len(y))
    n_train = QUICK_TRAIN if quick else None
    out = {k: [] for k in ("ann_accuracy", "ann_accuracy_torch", "snn_accuracy", "ann_accuracy_sim", "agreement",
                           "mode", "paths", "trained", "code_range", "snn_predictions", "ann_predictions_sim")}
    for b in bits:
        cfg = train_config(b, quick=quick, seed=seed)
        model, path, trained = trained_model(cfg, cache, n_train, log=log)
        ann_pred = forward(model, X, keep_states=False).predictions
        out["ann_accuracy"].append(float(np.mean(ann_pred == y)))
        out["ann_accuracy_torch"].append(model.provenance.get("test_accuracy"))
        out["ann_accuracy_sim"].append(float(np.mean(ann_pred[sim] == y[sim])))
        out["ann_predictions_sim"].append(ann_pred[sim].tolist())
        out["paths"].append(str(path))
        out["trained"].append(trained)
        out["code_range"].append(tuple(cfg.code_range))
        spec, mode = None, None
        for mode in loihi_first():  # float only where Loihi has no integer weights for this model
            try:
                # float mode at the package's default step (τ_S = 64, M = 14.28), not its own d = 1 search
                # (τ_S = 4096: 64× the steps), so that every point runs the same SNN time resolution
                dt = None if mode == "loihi" else default_step(model)
                spec = to_snn_spec(model, mode=mode, n_frames=X.shape[1], dt=dt)
                break
            except UserInputError:
                spec = None
        if spec is None:
            out["mode"].append(None)
            out["snn_accuracy"].append(None)
            out["agreement"].append(None)
            out["snn_predictions"].append(None)
            continue
        if target == "cpp_standalone":
            res = simulate(spec, X[sim], target=target, batch=32, sampling="readout", propagation="rows",
                           record=("i_fb",), build_root=build_root)
        else:
            # the runtime targets pay Python overhead per step: simulate the clips as one batch
            res = simulate(spec, X[sim], target=target, sampling="readout", record=("i_fb",),
                           batch=min(32, len(sim)))
        pred = res.predictions("fb", model.readout_window)
        out["mode"].append(mode)
        out["snn_accuracy"].append(float(np.mean(pred == y[sim])))
        out["agreement"].append(float(np.mean(pred == ann_pred[sim])))
        out["snn_predictions"].append(np.asarray(pred).tolist())
    out.update(bits=list(bits), sim_clips=sim, n_test=int(len(y)), target=target,
               epochs=int(train_config(bits[0], quick=quick, seed=seed).epochs), quick=bool(quick))
    return out


def plot(d: dict, out: Path) -> list[Path]:
    """Draw :func:`compute`'s data to ``out/NAME.png`` and ``.pdf``."""
    from ..analysis.plots import PALETTE, save_figure, subplots

    fig, ax = subplots(figsize=(6.4, 4.2))
    b = np.asarray(d["bits"], dtype=float)

    def series(key):
        return np.array([np.nan if v is None else v for v in d[key]], dtype=float)

    n_sim = len(d["sim_clips"])
    ax.plot(b, series("ann_accuracy"), "o-", color=PALETTE[0], lw=1.5, ms=6,
            label=f"ANN ({d['n_test']} test clips)")
    ax.plot(b, series("snn_accuracy"), "s--", color=PALETTE[1], lw=1.5, ms=5, mfc="white",
            label=f"SNN, fb decode ({n_sim} clips)")
    ax.plot(b, series("agreement"), "^:", color=PALETTE[2], lw=1.2, ms=5,
            label=f"SNN class = ANN class ({n_sim} clips)")
    for bi, v, m in zip(b, series("snn_accuracy"), d["mode"]):
        if m == "float":  # no Loihi-integer conversion for this model
            ax.annotate("float mode", (bi, v), textcoords="offset points", xytext=(0, -12), fontsize=6,
                        ha="center")
    ax.axhline(0.1, color=PALETTE[7], lw=0.8, ls=(0, (1, 3)))
    ax.text(b.max(), 0.1, "chance ", fontsize=7, va="bottom", ha="right", color=PALETTE[7])
    ax.set_xticks(b)
    ax.set_xticklabels([f"{int(v)}\n(step 1/{2 ** int(v)})" for v in b], fontsize=8)
    ax.set_xlabel("weight bits b over [−1/2, 1/2) (grid step 2^−b)")
    ax.set_ylabel("test accuracy / agreement (fraction)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, lw=0.5)
    ax.set_title(f"digits lpRNNs, {d['epochs']} training epoch{'s' if d['epochs'] > 1 else ''} each"
                 + (" (quick: tiny net)" if d.get("quick") else ""), fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 0.12))
    save_figure(fig, out / NAME)
    return figure_paths(out, NAME)


def make(out: Path, quick: bool = False, seed: int = 0, *, cache: str | Path | None = None,
         record: dict | None = None, build_root=None) -> list[Path]:
    """Write the figure; models are cached in :func:`cache_dir` (``cache``); ``record`` (a dict), if given,
    receives the numbers plotted (:func:`compute`)."""
    log = None if quick else (lambda s: print(s, file=sys.stderr))
    d = compute(quick=quick, seed=seed, cache=cache, build_root=build_root, log=log)
    if record is not None:
        record.update(d)
    write_numbers(out, NAME, d)
    return plot(d, Path(out))


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
