"""The ``lprnn-brian`` command line (design.md, "The command line contract").

User mistakes end with one line on stderr saying what was wrong and what to do, and exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .errors import UserInputError

EXIT_BAD_INPUT = 2


def load_inputs(path: str | Path) -> np.ndarray:
    """Read ``X.npy`` (samples, frames, features) of floats, refusing pickles, NaN and wrong shapes."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"inputs file {path} does not exist; give a .npy array (samples, frames, features)")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic[:4] == b"PK\x03\x04":
        raise UserInputError(f"{path} is an .npz archive; give a single .npy array (samples, frames, features)")
    if magic != b"\x93NUMPY":
        raise UserInputError(f"{path} is not a readable .npy file; save inputs with np.save")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UserInputError(f"{path} holds Python objects, not a numeric array; save a float array with np.save")
        raise UserInputError(f"{path} is not a readable .npy file ({e}); save inputs with np.save")
    except Exception as e:  # noqa: BLE001 - any parse failure is a user file problem
        raise UserInputError(f"{path} is not a readable .npy file ({type(e).__name__}); save inputs with np.save")
    if x.dtype.kind != "f":
        raise UserInputError(f"inputs in {path} have dtype {x.dtype}; expected floating point features "
                             "(convert with x.astype(np.float32))")
    if x.ndim != 3:
        raise UserInputError(f"inputs in {path} have shape {x.shape}; expected 3 axes (samples, frames, features)")
    if not np.all(np.isfinite(x)):
        raise UserInputError(f"inputs in {path} contain NaN or infinite values; clean them before simulating")
    return x


def load_labels(path: str | Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"labels file {path} does not exist; give a .npy array of class indices")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise UserInputError(f"{path} is not a numeric .npy file ({type(e).__name__}); save labels with np.save")


def _factors(text: str | None):
    if text is None or text == "derived":
        return None
    if "," not in text and not text[:1].isdigit():
        return text
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UserInputError(f"--factors {text!r}: give 'derived', a preset name or comma-separated numbers")


# --- commands ------------------------------------------------------------------------------------------

def cmd_import_reference(args) -> int:
    from .ann.checkpoint import import_reference

    out = import_reference(args.checkpoint, args.arch, args.out, force=args.force)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_simulate(args) -> int:
    from .ann.model import load_model
    from .evaluate import evaluate
    from .fileio import check_writable

    t0 = time.perf_counter()
    if args.out:
        check_writable(args.out, args.force)  # fail before a long run, not after
    model = load_model(args.model)
    x = load_inputs(args.inputs)
    labels = load_labels(args.labels) if args.labels else None
    ev = evaluate(model, x, labels, target=args.target, mode=args.mode, factors=_factors(args.factors),
                  resample=args.resample, progress=not args.quiet, build_root=args.build_dir)
    if args.out:
        ev.result.save(args.out, force=args.force)
    ev.summary["wall_s"] = time.perf_counter() - t0
    if args.json:
        print(json.dumps(ev.summary, allow_nan=False))
    else:
        _print_human(ev.summary)
    return 0


def _print_human(s: dict) -> None:
    print(f"{s['n_samples']} samples on {s['target']} ({s['mode']} mode), {s['wall_s']:.1f} s")
    if s["ann_accuracy"] is not None:
        print(f"ANN accuracy {s['ann_accuracy']:.4f}; SNN accuracy " +
              ", ".join(f"{d} {v:.4f}" for d, v in s["snn_accuracy"].items()))
    print("class agreement with the ANN: " + ", ".join(f"{d} {v:.4f}" for d, v in s["class_agreement"].items()))
    for k, name in enumerate(s["layer_names"]):
        c = s["layer_correlation"]["fb"][k]
        print(f"  {name:>10}: fb corr {'—' if c is None else f'{c:.4f}'}, rmse {s['layer_rmse']['fb'][k]:.4f}")
    print(f"spikes per sample: {np.mean(s['spikes_per_sample']):.0f}")


def cmd_train(args) -> int:
    import dataclasses

    from .ann.train import DIGITS_CONFIG, train_digits
    from .fileio import check_writable

    if args.weight_bits < 1:
        raise UserInputError(f"--weight-bits must be ≥ 1 (3 for the paper's 3-bit weights), got {args.weight_bits}")
    check_writable(args.out, args.force)  # fail before training, not after
    cfg = DIGITS_CONFIG
    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed), ("lpff", args.lpff),
                                   ("rnn", tuple(args.rnn) if args.rnn else None)) if v is not None}
    if args.weight_bits < 32:  # keep every weight code in the signed n-bit range (3 bits: −4…3, spec §2.3)
        overrides["code_range"] = (-(2 ** (args.weight_bits - 1)), 2 ** (args.weight_bits - 1) - 1)
    cfg = dataclasses.replace(cfg, **overrides)
    log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    res = train_digits(cfg, args.out, force=args.force, script="lprnn-brian train digits", log=log)
    print(f"wrote {args.out}: test accuracy {res.accuracy['test_numpy']:.4f}", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), target=args.target, mode=args.mode, force=args.force, quiet=args.quiet,
             limit=args.limit, build_root=args.build_dir)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .convert import MODES, RESAMPLE
    from .targets import TARGETS

    p = argparse.ArgumentParser(prog="lprnn-brian", description="Low-pass RNNs as adaptive ΣΔ spiking networks in Brian2.")
    sub = p.add_subparsers(dest="command", required=True)

    def common_run(sp):
        sp.add_argument("--target", choices=TARGETS, default="cpp_standalone", help="Brian2 code generation target")
        sp.add_argument("--mode", choices=MODES, default="loihi", help="float or Loihi-integer neuron (spec §6.1)")
        sp.add_argument("--build-dir", default=None, help="root of standalone build directories "
                        "(default $LPRNN_BRIAN_CACHE or ~/.cache/lprnn_brian)")
        sp.add_argument("--force", action="store_true", help="replace existing output files")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")

    d = sub.add_parser("demo", help="end-to-end run on the bundled spoken digits")
    d.add_argument("--out", default="lprnn_demo", help="output directory for the report and figures")
    d.add_argument("--limit", type=int, default=None, help="simulate only the first N test clips")
    common_run(d)
    d.set_defaults(func=cmd_demo)

    t = sub.add_parser("train", help="train an lpRNN with 3-bit QAT and write our model file (needs the train extra)")
    t.add_argument("task", choices=("digits",), help="digits: the bundled spoken digits")
    t.add_argument("--out", required=True, help="model file to write (.npz)")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--lpff", type=int, default=None, help="lpff layer size")
    t.add_argument("--rnn", type=int, nargs="+", default=None, help="lpRNN layer sizes")
    t.add_argument("--weight-bits", type=int, default=3,
                   help="signed bits per weight code on the 1/8 grid (default 3: codes −4…3); 32: no limit")
    t.add_argument("--force", action="store_true")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    i = sub.add_parser("import-reference", help="convert an authors' PyTorch checkpoint to our model file")
    i.add_argument("checkpoint")
    i.add_argument("--arch", choices=("shd", "gsc"), required=True)
    i.add_argument("--out", required=True)
    i.add_argument("--force", action="store_true")
    i.set_defaults(func=cmd_import_reference)

    s = sub.add_parser("simulate", help="run the ΣΔ network of a model on inputs and compare with the ANN")
    s.add_argument("model")
    s.add_argument("--inputs", required=True, help=".npy float array (samples, frames, features)")
    s.add_argument("--labels", help=".npy integer class per sample")
    s.add_argument("--out", help="write the simulation result (.npz)")
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    s.add_argument("--factors", default=None, help="'derived' (default), 'shd_reference', or f per layer 'f1,f2,...'")
    s.add_argument("--resample", choices=RESAMPLE, default="hold")
    common_run(s)
    s.set_defaults(func=cmd_simulate)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserInputError as e:
        print(f"lprnn-brian {args.command}: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
