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
from .fileio import load_inputs, load_labels  # noqa: F401 (their home is fileio; kept here for one release)

EXIT_BAD_INPUT = 2


def _factors(text: str | None):
    if text is None or text == "derived":
        return None
    if "," not in text and not text[:1].isdigit():
        return text
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UserInputError(f"--factors {text!r}: give 'derived', a preset name or comma-separated numbers")


def _floats(text: str, flag: str, lo: float, hi: float | None) -> list[float]:
    """Comma-separated numbers in [lo, hi] (hi None: no upper bound)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserInputError(f"{flag} {text!r}: give comma-separated numbers, e.g. 0,1,2,4")
    bad = [v for v in values if not (np.isfinite(v) and v >= lo and (hi is None or v <= hi))]
    if not values or bad:
        raise UserInputError(f"{flag} {text!r}: every value must lie in [{lo}, {'∞)' if hi is None else f'{hi}]'}")
    return values


def _inputs_and_labels(command: str, model, inputs, labels=None, *, min_samples: int = 1):
    """Read and check ``--inputs`` (and ``--labels``) against ``model`` before anything is built or written
    (the checks of :func:`lprnn_brian.ann.forward.check_inputs` and :func:`~lprnn_brian.ann.forward.check_labels`,
    the library's own); say in one line what happens when the inputs' frame count is not the model's."""
    from .ann.forward import check_inputs, check_labels, frame_count_note

    x = check_inputs(load_inputs(inputs), model.n_inputs, min_samples=min_samples)
    y = None if labels is None else check_labels(load_labels(labels), x.shape[0], model.n_classes)
    note = frame_count_note(model.n_frames, x.shape[1], model.readout_window)
    if note:
        print(f"lprnn-brian {command}: note: {note}", file=sys.stderr)
    return x, y


# --- commands ------------------------------------------------------------------------------------------

def cmd_import_reference(args) -> int:
    from .ann.checkpoint import import_reference

    out = import_reference(args.checkpoint, args.arch, args.out, force=args.force)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_simulate(args) -> int:
    from .evaluate import evaluate
    from .fileio import check_writable

    t0 = time.perf_counter()
    if args.out:
        check_writable(args.out, args.force)  # fail before a long run, not after
    model = _load_model_for_run(args)
    x, labels = _inputs_and_labels("simulate", model, args.inputs, args.labels)
    ev = evaluate(model, x, labels, target=args.target, mode=args.mode, factors=_factors(args.factors),
                  resample=args.resample, progress=not args.quiet, build_root=args.build_dir, batch=args.batch,
                  sampling=_auto(args.sampling), propagation=_auto(args.propagation), threads=args.threads,
                  scheduler=args.scheduler, workers=args.workers, threshold=args.threshold)
    ev.summary["wall_s"] = time.perf_counter() - t0
    if args.out:  # the comparison with the ANN (and the labels) travel with the run, for `analyse`
        ev.result.info.update(evaluation=ev.summary, model=str(args.model),
                              labels=None if labels is None else np.asarray(labels).tolist())
        ev.result.save(args.out, force=args.force)
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
        r = s["layer_rmse"]["fb"][k]
        print(f"  {name:>10}: fb corr {'—' if c is None else f'{c:.4f}'}, rmse {'—' if r is None else f'{r:.4f}'}")
    print(f"spikes per sample: {np.mean(s['spikes_per_sample']):.0f}")


def _train_log(args):
    return (lambda *a: None) if args.quiet else (lambda msg: tqdm_write(msg))


def tqdm_write(msg: str) -> None:
    """One progress line on stderr that does not break a running progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(msg, file=sys.stderr)


def _classifier_config(args, base):
    """``base`` with the command-line overrides of a classification task."""
    import dataclasses

    if args.weight_bits < 1:
        raise UserInputError(f"--weight-bits must be ≥ 1 (3 for the paper's 3-bit weights), got {args.weight_bits}")
    overrides = {k: v for k, v in (("epochs", args.epochs), ("seed", args.seed), ("lpff", args.lpff),
                                   ("rnn", tuple(args.rnn) if args.rnn else None),
                                   ("batch_size", args.batch_size), ("prune_iterations", args.prune),
                                   ("readout_window", args.readout_window), ("threads", args.threads))
                 if v is not None}
    # keep every weight code in the signed n-bit range (3 bits: −4…3, docs/method.md#quantisation-export-and-pruning)
    if args.weight_bits < 32:
        overrides["code_range"] = (-(2 ** (args.weight_bits - 1)), 2 ** (args.weight_bits - 1) - 1)
    return dataclasses.replace(base, **overrides)


def cmd_train(args) -> int:
    from .training import classifier as T
    from .training import classifier_config as C
    from .training.common import default_checkpoint

    log = _train_log(args)
    ckpt = default_checkpoint(args.out, args.checkpoint)
    common = dict(force=args.force, checkpoint=ckpt, resume=args.resume, progress=not args.quiet, log=log)
    if args.task in ("adding", "copying"):
        from .training.sequence import train_task_cli

        unused = [flag for flag, v in (("--data-dir", args.data_dir), ("--lpff", args.lpff), ("--prune", args.prune),
                                       ("--readout-window", args.readout_window), ("--limit", args.limit))
                  if v is not None]
        if unused:
            raise UserInputError(f"{', '.join(unused)} do not apply to train {args.task} (one lpRNN layer, "
                                 "generated data); see `lprnn-brian train --help`")
        train_task_cli(args, log=log)
        return 0
    if args.task == "digits":
        if args.data_dir:
            raise UserInputError("train digits uses the bundled data; --data-dir is for shd and gsc")
        cfg = _classifier_config(args, C.DIGITS_CONFIG)
        res = T.train_digits(cfg, args.out, script="lprnn-brian train digits", **common)
    else:
        if not args.data_dir:
            raise UserInputError(f"train {args.task} needs --data-dir (where the dataset lies in its own layout); "
                                 f"see `lprnn-brian train --help` for where to download it")
        cfg = _classifier_config(args, C.spoken_config(args.task, args.pipeline))
        frames = args.frames
        res = T.train_spoken(args.task, args.data_dir, cfg, args.out, version=args.version, protocol=args.protocol,
                             pipeline=args.pipeline, hop_length=args.hop, n_frames=frames, limit=args.limit,
                             cache_dir=args.cache_dir, script=f"lprnn-brian train {args.task}", **common)
    if ckpt.exists() and not args.keep_checkpoint:
        ckpt.unlink()
    written = [args.out] + ([str(p) for p in T.pruned_paths(args.out, len(res.models))] if len(res.models) > 1 else [])
    print(f"wrote {', '.join(written)}: validation accuracy {res.accuracy['val']:.4f} (selected epoch "
          f"{res.best_epoch}), test accuracy {res.accuracy['test_numpy']:.4f}, {res.wall_s / 60:.1f} min", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), target=args.target, mode=args.mode, force=args.force, quiet=args.quiet,
             limit=args.limit, build_root=args.build_dir, threshold=args.threshold, batch=args.batch,
             sampling=_auto(args.sampling), propagation=_auto(args.propagation))
    return 0


def cmd_figures(args) -> int:
    from .figures.make_all import make_all

    records = make_all(args.out, quick=args.quick, seed=args.seed, only=args.only, force=args.force,
                       progress=not args.quiet)
    print(f"wrote {len(records)} figures and the gallery {Path(args.out) / 'README.md'}", file=sys.stderr)
    return 0


def cmd_analyse(args) -> int:
    from .analysis.report import write_analysis
    from .simulation import load_result

    jitter = _floats(args.jitter, "--jitter", 0.0, None)
    deletion = _floats(args.deletion, "--deletion", 0.0, 1.0)
    result = load_result(args.run)
    labels = load_labels(args.labels) if args.labels else None
    files = write_analysis(result, args.out, labels=labels, seed=args.seed, force=args.force,
                           jitter=jitter, deletion=deletion)
    print(f"wrote {', '.join(str(f) for f in files)}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    standalone_only = [flag for flag, value in (("--target", args.target), ("--frames", args.frames),
                                                ("--batch", args.batch), ("--sampling", _auto(args.sampling)),
                                                ("--propagation", _auto(args.propagation))) if value is not None]
    if standalone_only and args.format != "standalone":
        raise UserInputError(f"{', '.join(standalone_only)} appl{'ies' if len(standalone_only) == 1 else 'y'} to "
                             f"export standalone, not export {args.format}")
    model = _load_model_for_run(args)
    if args.mode is not None and args.format not in ("nir", "standalone"):
        raise UserInputError(f"--mode applies to export nir and standalone; export {args.format} always maps the "
                             "Loihi mode")
    if args.format == "standalone":
        return _export_standalone(args, model)
    if args.format == "loihi":
        from .loihi.export import export_loihi

        if args.labels and not args.inputs:
            raise UserInputError("--labels needs --inputs (the labels of those inputs)")
        x, labels = _inputs_and_labels("export", model, args.inputs, args.labels) if args.inputs else (None, None)
        if args.compare_samples < 0:
            raise UserInputError(f"--compare-samples must be ≥ 0, got {args.compare_samples}")
        summary = export_loihi(model, args.out, x=x, labels=labels, factors=_factors(args.factors),
                               compare_samples=args.compare_samples, force=args.force, progress=not args.quiet,
                               threshold=args.threshold)
        t = summary["resources"]["total"]
        print(f"wrote {args.out}: {t['cores']} cores, {t['synapses']:,} synapses (report.md)", file=sys.stderr)
        if args.json:
            print(json.dumps(summary, default=float))
        return 0
    if args.format == "lava":
        from .loihi.lava import export_lava

        if not args.inputs:
            raise UserInputError("export lava needs --inputs (the frames to run on Lava and on the emulator)")
        if args.samples < 1 or (args.steps is not None and args.steps < 1):
            raise UserInputError("--samples and --steps must be ≥ 1")
        x, _ = _inputs_and_labels("export", model, args.inputs, min_samples=args.samples)
        report = export_lava(model, args.out, x=x, samples=args.samples, n_steps=args.steps,
                             factors=_factors(args.factors), force=args.force, threshold=args.threshold)
        verdict = "identical at every step" if report["identical"] else "DIFFERENT (see lava_report.json)"
        print(f"wrote {args.out}: Lava (lava-nc {report['lava']['lava_nc']}) vs emulator, {report['samples']} samples "
              f"× {report['steps']} steps: {verdict}", file=sys.stderr)
        if args.json:
            print(json.dumps(report))
        return 0 if report["identical"] else 1
    if args.format == "nir":
        from .convert import to_snn_spec
        from .export.nir import write_nir

        mode = args.mode or "float"
        spec = to_snn_spec(model, mode=mode, factors=_factors(args.factors), threshold=args.threshold)
        out = write_nir(spec, args.out, force=args.force)
        print(f"wrote {out}: NIR graph of {len(spec.layers)} layers, {spec.n_neurons} neurons, "
              f"dt = {spec.dt:.6g} s ({mode} mode)", file=sys.stderr)
        if args.json:
            print(json.dumps({"path": str(out), "mode": mode, "dt": spec.dt, "digest": spec.digest()}))
        return 0
    raise UserInputError(f"export {args.format} is not available")


def _export_standalone(args, model) -> int:
    """``export standalone``: the generated project of the model's ΣΔ network on --target."""
    from .convert import to_snn_spec
    from .export.standalone import export_standalone

    if args.inputs or args.labels:
        raise UserInputError("--inputs and --labels apply to export loihi and lava; the standalone project takes "
                             "its inputs when it runs (./run.sh FRAMES.npy RESULTS, README.md of the project)")
    target = args.target or "cpp_standalone"
    mode = args.mode or "loihi"
    spec = to_snn_spec(model, mode=mode, factors=_factors(args.factors), threshold=args.threshold,
                       n_frames=args.frames)
    manifest = export_standalone(spec, args.out, target=target, batch=args.batch, sampling=_auto(args.sampling),
                                 propagation=_auto(args.propagation), force=args.force, model_name=Path(args.model).name)
    lay = manifest["layout"]
    print(f"wrote {args.out}: {target} project of {len(spec.layers)} layers, {spec.n_neurons} neurons, "
          f"{spec.n_frames} frames ({spec.n_steps} steps) per sample, {lay['batch']} samples per run ({mode} mode); "
          f"build it with make, run it with ./run.sh FRAMES.npy RESULTS (README.md)", file=sys.stderr)
    if args.json:
        print(json.dumps({"path": str(args.out), "target": target, "mode": mode, "digest": spec.digest(),
                          "layout": lay, "n_frames": spec.n_frames, "n_steps": spec.n_steps}))
    return 0


def cmd_import_standalone(args) -> int:
    from .ann.forward import check_labels
    from .export.standalone import read_standalone
    from .fileio import check_writable

    check_writable(args.out, args.force)  # fail before reading every batch
    if bool(args.model) != bool(args.inputs):
        raise UserInputError("--model and --inputs go together: the model the project was exported from and the "
                             "frames it ran, for the comparison with the ANN that `analyse` reports")
    result = read_standalone(args.results)
    labels = None
    if args.model:
        from .ann.model import load_model
        from .convert import to_snn_spec
        from .evaluate import compare

        model = load_model(args.model)
        spec = result.spec
        again = to_snn_spec(model, mode=spec.mode, factors=[L.factor for L in spec.layers],
                            threshold=spec.threshold_policy, n_frames=spec.n_frames, readout_range=spec.readout_range)
        if again.digest() != spec.digest():
            raise UserInputError(f"{args.model} is not the model that the project was exported from (its ΣΔ network "
                                 "differs); give that model")
        x, labels = _inputs_and_labels("import-standalone", model, args.inputs, args.labels)
        ev = compare(model, x, result, labels)
        result.info.update(evaluation=ev.summary, model=str(args.model))
    elif args.labels:
        labels = check_labels(load_labels(args.labels), result.n_samples, result.spec.layers[-1].n)
    if labels is not None:
        result.info["labels"] = np.asarray(labels).tolist()
    result.save(args.out, force=args.force)
    print(f"wrote {args.out}: {result.n_samples} samples of the {result.target} project, "
          f"{int(result.spikes_per_sample().sum()):,} spikes", file=sys.stderr)
    if args.model:
        _print_human(ev.summary)
    return 0


def cmd_sweep(args) -> int:
    from .sweep import load_config, run_sweep

    cfg = load_config(args.config)
    if args.workers < 1:
        raise UserInputError(f"--workers must be ≥ 1, got {args.workers}")
    out = args.out or Path(args.config).with_suffix(".parquet").name
    run = run_sweep(cfg, out, scheduler=args.scheduler, workers=args.workers, force=args.force,
                    progress=not args.quiet, build_root=args.build_dir,
                    log=(lambda m: None) if args.quiet else tqdm_write)
    print(f"wrote {run.table_path}: {len(run.rows)} grid points ({run.computed_chunks} chunks computed, "
          f"{run.reused_chunks} re-used), {run.wall_s:.1f} s", file=sys.stderr)
    return 0


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, except where the help says it already, for on/off flags (off
    by default), required options and options without a value. Descriptions and epilogs are wrapped, or kept
    as written when they hold line breaks."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        if ("%(default)" in text or "(default" in text or action.required or not action.option_strings
                or action.default is None or action.default is argparse.SUPPRESS or action.nargs == 0):
            return text
        return text + " (default: %(default)s)"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, ``<prog>: error: <message>``, and exit code 2 (the style of
    every user error of the command line)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> ArgumentParser:
    """The ``lprnn-brian`` parser: one sub-parser per command (each added by its own ``_add_*`` function)."""
    from .version import __version__

    p = ArgumentParser(prog="lprnn-brian", formatter_class=HelpFormatter,
                       description="Low-pass RNNs as adaptive ΣΔ spiking networks in Brian2.")
    p.add_argument("--version", action="version", version=__version__, help="print the package version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="command",
                           help="one of the commands below; `lprnn-brian <command> --help` lists its options")
    for add in (_add_demo, _add_train, _add_import_reference, _add_simulate, _add_analyse, _add_export,
                _add_import_standalone, _add_sweep, _add_figures):
        add(sub)
    return p


def _parser(sub, name: str, **kw) -> ArgumentParser:
    """A sub-command's parser, with the package's help formatter."""
    return sub.add_parser(name, formatter_class=HelpFormatter, **kw)


def _int_at_least(lo: int):
    """An argparse type: an integer ≥ ``lo`` (a bad value is argparse's one-line error, exit code 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"give an integer ≥ {lo}, not {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be ≥ {lo}, got {value}")
        return value

    parse.__name__ = f"integer ≥ {lo}"
    return parse


def _positive_or(word: str, meaning: str | None, noun: str):
    """An argparse type: a positive integer (a ``noun``), or the keyword ``word``, which parses to ``meaning``."""
    def parse(text: str) -> int | str | None:
        if text == word:
            return meaning
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"give a positive {noun} or '{word}', not {text!r}")
        return value

    parse.__name__ = f"positive {noun} or '{word}'"
    return parse


#: ``train --frames``: a positive number of frames, or 'p90'.
_frames = _positive_or("p90", "p90", "number of frames")
#: ``--batch``: a positive integer, or 'auto' (None: the target's choice).
_batch = _positive_or("auto", None, "integer")


def _auto(value: str | None) -> str | None:
    """None for a layout option left at 'auto' (the target's choice, :func:`lprnn_brian.targets.resolve_layout`)."""
    return None if value == "auto" else value


def _threshold_option(sp) -> None:
    from .convert import DEFAULT_THRESHOLD, THRESHOLD_POLICIES

    sp.add_argument("--threshold", choices=THRESHOLD_POLICIES, default=DEFAULT_THRESHOLD,
                    help="comparator threshold policy: 'unbiased' centres each neuron's reconstruction on its drive; "
                         "'zero' is the authors' neuron (threshold 0; docs/method.md#the-comparators-threshold)")


def _readout_range_option(sp) -> None:
    sp.add_argument("--readout-range", type=float, default=None, metavar="R",
                    help="largest logit (ANN units) the spiking read-out carries: its fb decode is clamp(logit, 0, R) "
                         "(docs/method.md#the-read-outs-range) (default: the model's own, else its Iin)")


def _load_model_for_run(args):
    """The model of --model/MODEL with ``--readout-range`` (if given) as its read-out range."""
    from .ann.model import is_readout_range, load_model

    model = load_model(args.model)
    R = getattr(args, "readout_range", None)
    if R is not None:
        if not is_readout_range(R):
            raise UserInputError(f"--readout-range must be a positive number of ANN units (the model's Iin is "
                                 f"{float(model.Iin):g}), got {R:g}")
        model.readout_range = float(R)
    return model


def _factors_option(sp) -> None:
    sp.add_argument("--factors", default="derived",
                    help="scale factor f per layer: 'derived' (from the weights), 'shd_reference', or comma-separated "
                         "numbers 'f1,f2,...'")


def _common_run(sp) -> None:
    """Options of the commands that build and run a network (target, mode, threshold, build directory)."""
    from .convert import MODES
    from .targets import TARGETS

    sp.add_argument("--target", choices=TARGETS, default="cpp_standalone", help="Brian2 code generation target")
    sp.add_argument("--mode", choices=MODES, default="loihi",
                    help="neuron arithmetic: float, or Loihi integers (docs/method.md#simulation-modes)")
    _threshold_option(sp)
    sp.add_argument("--build-dir", default=None, help="root of the standalone build directories "
                    "(default: $LPRNN_BRIAN_CACHE/builds or ~/.cache/lprnn_brian/builds)")
    sp.add_argument("--force", action="store_true", help="replace existing output files")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")


def _layout_options(sp, samplings: tuple[str, ...], sampling_help: str) -> None:
    """--batch, --sampling, --propagation: how the network runs; every choice gives the same spikes and decodes
    (tests/test_batch.py), 'auto' the fastest that the target runs (:func:`lprnn_brian.targets.resolve_layout`)."""
    from .network import PROPAGATIONS

    sp.add_argument("--batch", type=_batch, default="auto", metavar="N",
                    help="samples per run (network copies simulated together); auto: up to 32 (8 with --sampling "
                         "steps), on compiled targets rounded up to a power of two")
    sp.add_argument("--sampling", choices=("auto",) + samplings, default="auto", help=sampling_help)
    sp.add_argument("--propagation", choices=("auto",) + PROPAGATIONS, default="auto",
                    help="how spikes reach their targets: Brian2 Synapses, or weight rows in a C++ kernel "
                         "('rows', cpp_standalone only); auto: rows on cpp_standalone, synapses elsewhere")


def _add_demo(sub) -> None:
    d = _parser(sub, "demo", help="end-to-end run on the bundled spoken digits",
                description="Evaluate the bundled 3-bit lpRNN and its ΣΔ network on the bundled spoken-digit test "
                            "clips; write report.md, report.json and figures.")
    d.add_argument("--out", default="lprnn_demo", help="output directory for the report and figures")
    d.add_argument("--limit", type=_int_at_least(1), default=None, help="simulate only the first N test clips (default: all 210)")
    _common_run(d)
    _layout_options(d, ("frames", "steps"),
                    "record states at frame ends ('frames') or every step ('steps'); auto: frames (steps on genn, "
                    "which records every step only)")
    d.set_defaults(func=cmd_demo)


def _add_train(sub) -> None:
    from .ann.model import READOUT_WINDOWS

    t = _parser(
        sub, "train", help="train an lpRNN with 3-bit QAT and write our model file (needs the train extra)",
        description="Train a task's lpRNN with 3-bit quantisation-aware training "
                    "(docs/method.md#quantisation-export-and-pruning; adding/copying: the 2019 curricula, "
                    "docs/method.md#temporal-adding). Options left unset take the task's configuration.",
        epilog="data for --data-dir (not downloadable from here):\n"
               "  shd  Heidelberg Digits audio, hd_audio.tar.gz from https://zenkelab.org/datasets/ (folder with\n"
               "       audio/*.flac, train_filenames.txt, test_filenames.txt)\n"
               "  gsc  Google Speech Commands v1 (speech_commands_v0.01.tar.gz) or v2 (v0.02) from\n"
               "       http://download.tensorflow.org/data/ (folder with one sub-folder per word,\n"
               "       validation_list.txt, testing_list.txt, _background_noise_/)")
    t.add_argument("task", choices=("adding", "copying", "digits", "shd", "gsc"),
                   help="adding/copying: 2019 temporal tasks (curriculum); digits: the bundled spoken digits; "
                        "shd: Heidelberg Digits audio; gsc: Google Speech Commands")
    t.add_argument("--out", required=True, help="model file to write (.npz)")
    t.add_argument("--data-dir", default=None, help="dataset folder of shd or gsc, see below (default: none)")
    t.add_argument("--epochs", type=_int_at_least(1), default=None,
                   help="epochs (per pruning iteration; adding/copying: per stage) (default: the task's)")
    t.add_argument("--seed", type=_int_at_least(0), default=None, help="random seed (default: the task's)")
    t.add_argument("--lpff", type=_int_at_least(0), default=None, help="lpff layer size, 0: none (default: the task's)")
    t.add_argument("--rnn", type=_int_at_least(1), nargs="+", default=None, help="lpRNN layer sizes (default: the task's)")
    t.add_argument("--batch-size", type=_int_at_least(1), default=None, help="training batch size (default: the task's)")
    t.add_argument("--weight-bits", type=_int_at_least(1), default=3,
                   help="signed bits per weight code on the 1/8 grid (3: codes −4…3); 32: no limit")
    t.add_argument("--prune", type=_int_at_least(1), default=None, metavar="WTH",
                   help="winning-ticket iterations (the authors' --wth; 1: no pruning); writes <out>_nWTH_<k>.npz "
                        "(default: the task's)")
    t.add_argument("--readout-window", choices=READOUT_WINDOWS, default=None,
                   help="steps whose mean read-out decides the class (default: the task's)")
    t.add_argument("--threads", type=_int_at_least(1), default=None, help="torch CPU threads (default: 2)")
    t.add_argument("--checkpoint", default=None, help="training state file, written every epoch "
                   "(default: <out>.ckpt)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    t.add_argument("--keep-checkpoint", action="store_true", help="keep the checkpoint after success")
    g = t.add_argument_group("spoken words (shd, gsc)")
    g.add_argument("--version", type=int, choices=(1, 2), default=1, help="GSC version")
    g.add_argument("--protocol", choices=("35", "12"), default="35",
                   help="GSC: 35 words (v1: + unknown/silence, 36 classes) or 12 commands (v2)")
    g.add_argument("--pipeline", choices=("paper", "head"), default="paper",
                   help="GSC features: paper era (80 mel, T 125) or HEAD (40 Kaldi fbank, T 98)")
    g.add_argument("--hop", type=int, choices=(256, 128), default=None, help="SHD hop length (default: 256)")
    g.add_argument("--frames", type=_frames, default=None, help="SHD frames T, or p90 (default: 125)")
    g.add_argument("--limit", type=_int_at_least(1), default=None, help="read only the first N files of every split "
                   "(default: all)")
    g.add_argument("--cache-dir", default=None, help="cache the computed features here (default: no cache)")
    c = t.add_argument_group("temporal tasks (adding, copying)")
    c.add_argument("--preset", choices=("quick", "quick_snn", "snn", "paper"), default=None,
                   help="quick: minutes on 2 cores, the paper's cell; snn: a network its ΣΔ network "
                        "reproduces in Loihi-integer mode (one retention, trained through the neuron's mean "
                        "reconstruction; 2 hours to L = 200 on one core); quick_snn: continuous-time dynamics only; "
                        "paper: the 2019 budgets (days) (default: quick)")
    c.add_argument("--paper", action="store_true", help="same as --preset paper")
    c.add_argument("--max-length", type=_int_at_least(1), default=None, help="stop the curriculum after this length/delay "
                   "(default: the preset's)")
    c.add_argument("--max-stages", type=_int_at_least(1), default=None, help="stop after this many curriculum stages "
                   "(default: no limit)")
    t.add_argument("--force", action="store_true", help="replace existing output files")
    t.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    t.set_defaults(func=cmd_train)


def _add_import_reference(sub) -> None:
    i = _parser(sub, "import-reference", help="convert an authors' PyTorch checkpoint to our model file",
                description="Convert a checkpoint of the authors' PyTorch code (SHD or GSC network) to a model "
                            "file of this package.")
    i.add_argument("checkpoint", help="the authors' PyTorch checkpoint file")
    i.add_argument("--arch", choices=("shd", "gsc"), required=True, help="the network the checkpoint holds")
    i.add_argument("--out", required=True, help="model file to write (.npz)")
    i.add_argument("--force", action="store_true", help="replace an existing --out file")
    i.set_defaults(func=cmd_import_reference)


def _add_simulate(sub) -> None:
    from .convert import RESAMPLE
    from .network import SAMPLINGS

    s = _parser(sub, "simulate", help="run the ΣΔ network of a model on inputs and compare with the ANN",
                description="Convert a model to its ΣΔ network, simulate it on the inputs and compare it with the "
                            "ANN (accuracy, class agreement, per-layer fidelity).")
    s.add_argument("model", help="model file (.npz), e.g. lprnn_brian/data/digits_lprnn.npz")
    s.add_argument("--inputs", required=True, help=".npy float array (samples, frames, features)")
    s.add_argument("--labels", help=".npy integer class per sample (default: none; no accuracies)")
    s.add_argument("--out", help="write the simulation result (.npz) for `analyse` (default: not written)")
    s.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    _factors_option(s)
    s.add_argument("--resample", choices=RESAMPLE, default="hold",
                   help="ANN frames to SNN steps: hold each frame, or FFT resampling (the reference's)")
    _layout_options(s, SAMPLINGS,
                    "record states every step ('steps'), at frame ends ('frames'), or the read-out layer's only "
                    "('readout', fastest; hidden-layer fidelity then not reported); auto: frames (steps on genn, "
                    "which records every step only); the result file records which")
    s.add_argument("--threads", type=_int_at_least(0), default=0,
                   help="OpenMP threads (cpp_standalone with row propagation; 0: none)")
    s.add_argument("--scheduler", default=None,
                   help="evaluate on Dask: 'local' (a LocalCluster of --workers processes) or a scheduler address "
                        "(tcp://host:8786); each worker compiles the network once (default: no Dask)")
    s.add_argument("--workers", type=_int_at_least(1), default=2, help="worker processes of --scheduler local")
    _common_run(s)
    _readout_range_option(s)
    s.set_defaults(func=cmd_simulate)


def _add_analyse(sub) -> None:
    a = _parser(sub, "analyse", help="fidelity, rate vs timing coding and energy report of a simulation result",
                description="Fidelity to the ANN, spike statistics, robustness to jitter and deletion, and energy "
                            "per inference of a result written by `simulate --out`.")
    a.add_argument("run", help="simulation result written by `simulate --out run.npz`")
    a.add_argument("--out", default="analysis", help="output directory (report.md, report.json, figures)")
    a.add_argument("--labels", default=None, help=".npy class per sample (default: the labels saved with the run)")
    a.add_argument("--jitter", default="0,1,2,4,8,16", help="spike-time jitter σ values in SNN steps")
    a.add_argument("--deletion", default="0,0.1,0.2,0.3,0.4,0.5", help="spike deletion probabilities")
    a.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the jitter and deletion draws")
    a.add_argument("--force", action="store_true", help="replace an existing report in --out")
    a.set_defaults(func=cmd_analyse)


def _add_export(sub) -> None:
    from .convert import MODES
    from .export.standalone import TARGETS as STANDALONE_TARGETS
    from .network import SAMPLINGS

    ex = _parser(sub, "export", help="write a model for Loihi (integer bundle), NIR, Lava, or as a standalone project",
                 description="Write a model's ΣΔ network for Loihi (integer registers and cores), as an NIR graph, "
                             "or run the Loihi bundle on Lava and compare it with the emulator; or write its "
                             "code-generated standalone project (C++, CUDA or GeNN), which a cluster node builds with "
                             "make and runs with ./run.sh on input frames, without Python (its README.md says how).")
    ex.add_argument("format", choices=("loihi", "lava", "nir", "standalone"),
                    help="loihi: integer registers, cores and reports (bundle directory); lava: the bundle run on "
                         "Lava's bit-accurate CPU models (scripts/setup-lava) and compared with the emulator step by "
                         "step; nir: an NIR graph (HDF5) of the network; standalone: the project directory of "
                         "--target (read its results back with `lprnn-brian import-standalone`)")
    ex.add_argument("model", help="model file (.npz)")
    ex.add_argument("--out", required=True, help="output directory (loihi, lava, standalone) or file (nir, e.g. "
                    "net.nir)")
    ex.add_argument("--mode", choices=MODES, default=None,
                    help="nir: float or loihi (Loihi-rounded weights, biases and time constants); standalone: the "
                         "neuron arithmetic, as simulate's; loihi and lava always use the Loihi mode (default: float "
                         "for nir, loihi for standalone)")
    ex.add_argument("--target", choices=STANDALONE_TARGETS, default=None,
                    help="standalone: Brian2's C++ (cpp_standalone), brian2cuda's CUDA (cuda_standalone; export in the "
                         "environment of scripts/setup-cuda, run on a GPU) or GeNN's CPU backend (genn; in the "
                         "environment of scripts/setup-genn) (default: cpp_standalone)")
    ex.add_argument("--frames", type=_int_at_least(1), default=None,
                    help="standalone: frames per input sample that the project runs (default: the model's)")
    ex.add_argument("--batch", type=_batch, default=None, metavar="N",
                    help="standalone: samples per run of the project's binary (network copies); auto: 32 (8 on genn, "
                         "which records every step) (default: auto)")
    ex.add_argument("--sampling", choices=("auto",) + SAMPLINGS, default=None,
                    help="standalone: record states at frame ends ('frames'), the read-out layer's only ('readout') or "
                         "every step ('steps'); auto: frames (steps on genn) (default: auto)")
    ex.add_argument("--propagation", choices=("auto", "synapses", "rows"), default=None,
                    help="standalone: Brian2 Synapses, or weight rows in a C++ kernel ('rows', cpp_standalone only); "
                         "auto: rows on cpp_standalone (default: auto)")
    ex.add_argument("--inputs", help=".npy frames (samples, frames, features): run the bit-exact emulator on them "
                    "(accuracy, overflows, energy, divergence from the Brian2 Loihi mode) (default: none)")
    ex.add_argument("--labels", help=".npy class per sample of --inputs (default: none)")
    _factors_option(ex)
    _threshold_option(ex)
    _readout_range_option(ex)
    ex.add_argument("--compare-samples", type=_int_at_least(0), default=8,
                    help="samples also run in the Brian2 Loihi mode's arithmetic for the divergence report")
    ex.add_argument("--samples", type=_int_at_least(1), default=2, help="lava: how many of --inputs run on Lava")
    ex.add_argument("--steps", type=_int_at_least(1), default=None, help="lava: steps per sample (default: all)")
    ex.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    ex.add_argument("--force", action="store_true", help="replace an existing bundle, graph or project in --out")
    ex.add_argument("--quiet", action="store_true", help="no progress bar")
    ex.set_defaults(func=cmd_export)


def _add_import_standalone(sub) -> None:
    im = _parser(sub, "import-standalone", help="read the results of an exported standalone project into a run file",
                 description="Read the results directory that an exported standalone project's run.sh wrote (`lprnn-"
                             "brian export standalone`) into the run file of `simulate --out`, for `analyse`.")
    im.add_argument("results", help="the RESULTS directory of `./run.sh FRAMES.npy RESULTS` (every batch complete)")
    im.add_argument("--out", required=True, help="run file to write (.npz)")
    im.add_argument("--labels", help=".npy class per sample, saved with the run for `analyse` (default: none)")
    im.add_argument("--model", help="the model file the project was exported from, with --inputs: compare the run "
                    "with the ANN (accuracies, class agreement, per-layer fidelity), as `simulate --out` does "
                    "(default: no comparison)")
    im.add_argument("--inputs", help=".npy frames that the project ran (samples, frames, features), with --model "
                    "(default: none)")
    im.add_argument("--force", action="store_true", help="replace an existing --out file")
    im.set_defaults(func=cmd_import_standalone)


def _add_sweep(sub) -> None:
    sw = _parser(sub, "sweep", help="a parameter sweep (TOML config) on Dask; resumes an interrupted sweep",
                 description="Run a parameter sweep described by a TOML config on Dask and write one table row per "
                             "grid point; an interrupted sweep resumes from its finished chunks.")
    sw.add_argument("config", help="sweep config (.toml): model, inputs, [grid], target, metrics")
    sw.add_argument("--out", default=None, help="table (.parquet) (default: <config name>.parquet here)")
    sw.add_argument("--scheduler", default=None, help="Dask scheduler address; 'serial' runs in this process "
                    "(default: a LocalCluster of --workers processes)")
    sw.add_argument("--workers", type=_int_at_least(1), default=2, help="worker processes of the local cluster")
    sw.add_argument("--build-dir", default=None, help="root of the standalone build directories "
                    "(default: $LPRNN_BRIAN_CACHE/builds or ~/.cache/lprnn_brian/builds)")
    sw.add_argument("--force", action="store_true", help="replace an existing table / discard another config's parts")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)


def _add_figures(sub) -> None:
    fg = _parser(sub, "figures", help="make every figure (PNG and PDF) and the gallery page",
                 description="Make the package's figures (PNG and PDF) and their gallery page README.md.")
    fg.add_argument("--out", default="figures_out", help="output directory")
    fg.add_argument("--quick", action="store_true", help="small settings (a few minutes in all; used in CI)")
    fg.add_argument("--only", default=None, help="comma-separated figure names, e.g. noise_shaping,energy "
                    "(default: every figure)")
    fg.add_argument("--seed", type=_int_at_least(0), default=0, help="seed of the figures' random draws")
    fg.add_argument("--force", action="store_true", help="replace existing figures in --out")
    fg.add_argument("--quiet", action="store_true", help="no progress bar")
    fg.set_defaults(func=cmd_figures)


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (a bad option, an unusable file or value) ends with one line on stderr,
    ``lprnn-brian <command>: error: <what was wrong and what to do>``, and exit code 2, argparse's own errors (an
    unknown option, a bad choice: :class:`ArgumentParser`) too. Returns the exit code (also after ``--help`` and
    ``--version``: 0)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse's exit: --help, --version (0) or a usage error (2, its line printed)
        return e.code if isinstance(e.code, int) else EXIT_BAD_INPUT
    try:
        return args.func(args)
    except UserInputError as e:
        message = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"lprnn-brian {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:  # an unreadable or unwritable path (permissions, a directory, a full disk)
        where = f" {e.filename}" if e.filename else ""
        print(f"lprnn-brian {args.command}: error: cannot use{where}: {e.strerror or e}; check the path and its "
              "permissions", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
