#!/usr/bin/env python
"""Train the bundled digits lpRNN and write ``lprnn_brian/data/digits_lprnn.npz``.

Recipe: :mod:`lprnn_brian.training.classifier` (3-bit QAT, a = 0.8, Iin = 6, Adam 1e-3, second-half read-out, seed 0)
on :func:`lprnn_brian.tasks.digits.load_digits`; architecture lpff → lpRNN → lpRNN → dense 10
(:data:`lprnn_brian.training.classifier_config.DIGITS_CONFIG`). Needs torch (``pip install 'lprnn_brian[train]'``).

Usage::

    python scripts/train_digits.py --force        # about 5-7 minutes on 2 CPU cores
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lprnn_brian.training.classifier import train_digits  # noqa: E402
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
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--freq-mask", type=int, default=d.freq_mask)
    ap.add_argument("--time-shift", type=int, default=d.time_shift)
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--substeps", type=int, nargs="+", default=list(d.substeps),
                    help="sub-steps per frame drawn for every training batch")
    ap.add_argument("--model-substeps", type=int, default=d.model_substeps,
                    help="the model's own sub-steps per frame (validation, selection, the stored model)")
    ap.add_argument("--reconstruction", default=d.reconstruction, choices=["", "zero", "unbiased"],
                    help="train through the ΣΔ neuron's mean reconstruction under this threshold policy ('' : off)")
    args = ap.parse_args(argv)
    cfg = dataclasses.replace(d, lpff=args.lpff, rnn=tuple(args.rnn), epochs=args.epochs,
                              batch_size=args.batch_size, seed=args.seed, freq_mask=args.freq_mask,
                              time_shift=args.time_shift, threads=args.threads,
                              reconstruction=args.reconstruction, substeps=tuple(args.substeps),
                              model_substeps=args.model_substeps)
    try:
        train_digits(cfg, args.out, force=args.force, script="scripts/train_digits.py",
                     log=lambda s: print(s, flush=True))
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
