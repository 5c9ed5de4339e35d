#!/usr/bin/env python
"""Your own data: train a small 3-bit lpRNN on (samples, frames, features) arrays, convert it, simulate it.

Give ``--inputs X.npy --labels y.npy`` (float32 features, time first; integer classes), or let the script make a
toy two-class set: a bump of activity that sweeps up or down through 16 feature channels (think of a rising or
falling tone in a filterbank) with noise. It trains with the package's QAT recipe (``train_lprnn``, 3-bit
weights, retention 0.8; needs ``pip install 'lprnn_brian[train]'``), writes the model file, converts it to the
ΣΔ network in Loihi-integer mode, simulates the held-out samples and prints ANN vs SNN accuracy and agreement.

    python examples/own_dataset.py --out own_out
    python examples/own_dataset.py --inputs X.npy --labels y.npy --frames-per-second 100 --out own_out
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from lprnn_brian.ann.forward import forward
from lprnn_brian.ann.model import save_model
from lprnn_brian.training.classifier import train_lprnn
from lprnn_brian.training.classifier_config import TrainConfig
from lprnn_brian.convert import to_snn_spec
from lprnn_brian.simulation import simulate


def toy_sweeps(n: int, frames: int = 30, channels: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 0: a Gaussian bump moving up through the channels; class 1: moving down; plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.linspace(0, 1, frames)[:, None]
    ch = np.arange(channels)[None, :]
    x = np.empty((n, frames, channels), np.float32)
    for i in range(n):
        start, speed = rng.uniform(0, 4), rng.uniform(8, 12)
        centre = start + speed * (t if y[i] == 0 else 1 - t)
        x[i] = np.exp(-0.5 * ((ch - centre) / 1.5) ** 2) + 0.2 * rng.standard_normal((frames, channels))
    return x, y


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", help="X.npy (samples, frames, features) float")
    ap.add_argument("--labels", help="y.npy integer class per sample")
    ap.add_argument("--frames-per-second", type=float, default=None, help="frame rate (default: 1/frames per s)")
    ap.add_argument("--out", default="own_dataset_out")
    ap.add_argument("--quick", action="store_true", help="small data set and few epochs (about a minute)")
    ap.add_argument("--target", default=None, help="Brian2 target (default cpp_standalone; numpy with --quick)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.inputs:
        x, y = np.load(args.inputs).astype(np.float32), np.load(args.labels).astype(np.int64)
    else:
        x, y = toy_sweeps(120 if args.quick else 600)
    n_test = max(4, len(y) // 5)
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    if args.quick:
        x_test, y_test = x_test[:6], y_test[:6]
    cfg = dataclasses.replace(TrainConfig(), lpff=12, rnn=(24,), epochs=6 if args.quick else 30, batch_size=16)
    frame_dt = 1.0 / args.frames_per_second if args.frames_per_second else None
    res = train_lprnn(x_train, y_train, cfg, n_classes=int(y.max()) + 1, frame_dt=frame_dt, task="own data",
                      log=None)
    model = res.model
    save_model(model, out / "model.npz", force=True)
    ann_pred = forward(model, x_test).window_predictions[model.readout_window]
    spec = to_snn_spec(model, mode="loihi", n_frames=x.shape[1])
    snn = simulate(spec, x_test, target=args.target or ("numpy" if args.quick else "cpp_standalone"))
    snn_pred = snn.predictions("fb")
    summary = {"n_test": int(len(y_test)), "ann_accuracy": float(np.mean(ann_pred == y_test)),
               "snn_accuracy_fb": float(np.mean(snn_pred == y_test)),
               "agreement_fb": float(np.mean(snn_pred == ann_pred)),
               "snn_predictions": snn_pred.tolist(), "steps_per_frame": spec.steps_per_frame}
    print(f"ANN accuracy {summary['ann_accuracy']:.3f}, SNN accuracy (fb) {summary['snn_accuracy_fb']:.3f}, "
          f"agreement {summary['agreement_fb']:.3f} on {len(y_test)} held-out samples")
    (out / "own_dataset.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {out}/model.npz and own_dataset.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
