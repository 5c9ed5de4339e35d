#!/usr/bin/env python
"""Train the bundled digits lpRNN and write ``lprnn_brian/data/digits_lprnn.npz``.

Recipe: :mod:`lprnn_brian.training.classifier` (3-bit QAT, a = 0.8, Iin = 6, Adam 1e-3, second-half read-out, seed 0)
on :func:`lprnn_brian.tasks.digits.load_digits`; architecture lpff → lpRNN → lpRNN → dense 10
(:data:`lprnn_brian.training.classifier_config.DIGITS_CONFIG`). Needs torch (``pip install 'lprnn_brian[train]'``).

The bundled model is the recipe's selection among five seeds by validation accuracy (seven held-out speakers),
never by test accuracy; every seed's validation and test accuracy is recorded in its provenance (``seed_selection``).

Usage::

    python scripts/train_digits.py --force --seeds 0 1 2 3 4 --jobs 2   # the bundled model (time: docs/accuracy.md)
    python scripts/train_digits.py --out d.npz --seed 3          # one seed
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from lprnn_brian.training.classifier import (check_outputs, save_result, select_by_validation,  # noqa: E402
                                             train_digits_seeds)
from lprnn_brian.training.classifier_config import DIGITS_CONFIG  # noqa: E402
from lprnn_brian.errors import UserInputError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    d = DIGITS_CONFIG
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "lprnn_brian" / "data" / "digits_lprnn.npz"))
    ap.add_argument("--force", action="store_true", help="replace an existing output file")
    ap.add_argument("--lpff", type=int, default=d.lpff)
    ap.add_argument("--rnn", type=int, nargs="+", default=list(d.rnn))
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--seed", type=int, default=d.seed, help="the seed of a one-seed training")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="train one model per seed and write the one with the best validation accuracy")
    ap.add_argument("--jobs", type=int, default=1, help="with --seeds: seeds trained at once, in separate processes")
    ap.add_argument("--all-models", default=None, metavar="DIR",
                    help="also write every seed's model as DIR/digits_seed<k>.npz (e.g. for benchmarks/accuracy.py "
                         "--digits-models)")
    ap.add_argument("--freq-mask", type=int, default=d.freq_mask)
    ap.add_argument("--time-shift", type=int, default=d.time_shift)
    ap.add_argument("--freq-warp", type=float, default=d.freq_warp,
                    help="warp the feature axis by up to this fraction per training clip (0: off)")
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--weight-average", type=float, default=d.weight_average,
                    help="decay of the weights' moving average that is validated and kept (0: off)")
    ap.add_argument("--substeps", type=int, nargs="+", default=list(d.substeps),
                    help="sub-steps per frame drawn for every training batch")
    ap.add_argument("--model-substeps", type=int, default=d.model_substeps,
                    help="the model's own sub-steps per frame (validation, selection, the stored model)")
    ap.add_argument("--reconstruction", default=d.reconstruction, choices=["", "zero", "unbiased"],
                    help="train through the ΣΔ neuron's mean reconstruction under this threshold policy ('' : off)")
    args = ap.parse_args(argv)
    cfg = dataclasses.replace(d, lpff=args.lpff, rnn=tuple(args.rnn), epochs=args.epochs,
                              batch_size=args.batch_size, seed=args.seed, freq_mask=args.freq_mask,
                              time_shift=args.time_shift, freq_warp=args.freq_warp, threads=args.threads,
                              weight_average=args.weight_average,
                              reconstruction=args.reconstruction, substeps=tuple(args.substeps),
                              model_substeps=args.model_substeps)
    seeds = args.seeds or [args.seed]
    try:
        check_outputs(args.out, cfg, args.force)
        results = train_digits_seeds(seeds, cfg, jobs=args.jobs, script="scripts/train_digits.py",
                                     log=lambda s: print(s, flush=True))
        k = select_by_validation(results)
        chosen = results[k]
        val = [r.accuracy["val"] for r in results]
        test = [r.accuracy["test_numpy"] for r in results]
        chosen.model.provenance["seed_selection"] = {
            "seeds": seeds, "selected_seed": seeds[k], "rule": "best validation accuracy (ties: lower validation loss)",
            "validation_accuracy": val, "test_accuracy": test,
            "test_mean": float(np.mean(test)), "test_sd": float(np.std(test, ddof=1)) if len(test) > 1 else 0.0,
            "test_min": float(np.min(test)), "train_wall_s": [round(r.wall_s, 1) for r in results]}
        save_result(chosen, args.out, force=args.force)
        if args.all_models:
            Path(args.all_models).mkdir(parents=True, exist_ok=True)
            for seed, r in zip(seeds, results):
                save_result(r, Path(args.all_models) / f"digits_seed{seed}.npz", force=args.force)
        for seed, v, t in zip(seeds, val, test):
            print(f"seed {seed}: validation {100 * v:.1f} %, test {100 * t:.1f} %" + ("  <- selected" if seed == seeds[k]
                                                                                     else ""), flush=True)
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
