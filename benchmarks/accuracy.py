"""Accuracy table: ANN, SNN float and SNN Loihi-integer on the same test set, beside the published numbers.

    python benchmarks/accuracy.py                       # digits + adding + copying (the bundled models)
    python benchmarks/accuracy.py --tasks adding --retrain-sequences snn   # train the adding model here first
    python benchmarks/accuracy.py --tasks digits --retrain-digits
    python benchmarks/accuracy.py --tasks digits --retrain-digits --seeds 0,1,2,3,4   # the recipe's spread
    python benchmarks/accuracy.py --tasks digits --digits-models s0.npz,s1.npz       # models trained elsewhere
    python benchmarks/accuracy.py --tasks shd --shd-dir /data/hd_audio --shd-model shd.npz
    python benchmarks/accuracy.py --tasks gsc --gsc-dir /data/speech_commands_v0.01 --gsc-model gsc.npz

Every row evaluates one model three ways on one test set: the numpy float32 ANN (the model's clamp
convention), and its ΣΔ network simulated by Brian2 (``--target``, default cpp_standalone) in float and in
Loihi-integer mode. Classification rows report accuracy with the fb decode (the headline,
docs/method.md#input-decoding-and-compartments) and the ip decode; the sequence tasks report their success measure at
the longest length the ANN solved (adding: MSE, pass < 0.01; copying: recall-window accuracy, pass ≥ 0.96) under the
default threshold policy (threshold 0 beside it), and a second table at every length with the criterion "wherever the
ANN is good (MSE ≤ 0.005, recall ≥ 0.99) its Loihi-mode SNN passes". Spoken-word datasets are read from
``--shd-dir`` / ``--gsc-dir`` (not downloadable here); without a data folder their row lists only the
published numbers. Training the paper's SHD/GSC networks takes days on a CPU: pass ``--shd-model`` /
``--gsc-model`` (trained with ``lprnn-brian train shd|gsc``), or ``--epochs`` for a shorter run.

With several digits models (``--seeds`` with ``--retrain-digits``: one training per seed; or ``--digits-models``) every
model gets its own row and a summary row gives each column's mean ± sd (sample sd, n − 1) and minimum over the
models, with the largest ANN − SNN gap (fb decode) of any model: the recipe's spread, not one run.

Published numbers (docs/method.md#published-results): the 2024 paper's per-task table is not transcribed in the
package (take it from arXiv 2407.13534); the figures below are quoted, not re-checked against their sources.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine_info import describe

from lprnn_brian.ann.forward import forward
from lprnn_brian.ann.model import LpRNNModel, load_model
from lprnn_brian.evaluate import evaluate

#: Published figures beside each task (docs/method.md#nair-and-indiveri-2019,
#: docs/method.md#other-spiking-networks; quoted, not re-checked against their sources).
PUBLISHED = {
    "digits": "— (our espeak-ng data set)",
    "adding": "2019: max length in the paper's figures (no number published)",
    "copying": "2019: max delay in the paper's figures (no number published)",
    "shd": "Yin 2021 ALIF-SRNN 90.4 %; Cramer 2020 recurrent LIF 83.2 %; ΣΔ-lpRNN 2024: see arXiv 2407.13534",
    "gsc": "2019 lpRNN dense v1 val 89.9 % (max 90.15); Yin 2021 GSC 92.1 % (v1 91.40)",
}
TASKS = ("digits", "adding", "copying", "shd", "gsc")


def published(row: dict) -> str:
    """The published figure beside a row (a per-seed or summary row: its data set's)."""
    return PUBLISHED.get(row.get("dataset", row["task"]), "—")


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def classification_row(task: str, model: LpRNNModel, X: np.ndarray, y: np.ndarray, target: str,
                       build_root: str | None) -> dict:
    """ANN accuracy and SNN (float, loihi) accuracy of the fb and ip decodes on (X, y); ``values`` holds the
    fractions (ann, snn_float_fb, snn_float_ip, snn_loihi_fb, snn_loihi_ip)."""
    ann = float(np.mean(forward(model, X, keep_states=False).predictions == y))
    row = {"task": task, "n": int(len(y)), "ann": _pct(ann), "values": {"ann": ann}}
    for mode in ("float", "loihi"):
        t0 = time.time()
        s = evaluate(model, X, y, target=target, mode=mode, build_root=build_root).summary
        row[f"snn_{mode}"] = f"{_pct(s['snn_accuracy']['fb'])} (ip {_pct(s['snn_accuracy']['ip'])})"
        row["values"] |= {f"snn_{mode}_{d}": float(s["snn_accuracy"][d]) for d in ("fb", "ip")}
        print(f"  {task} {mode}: fb {s['snn_accuracy']['fb']:.4f}, ip {s['snn_accuracy']['ip']:.4f}, "
              f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    row["measure"] = "accuracy, fb decode (ip decode)"
    return row


def spread(values) -> dict:
    """mean, sample sd (n − 1; 0 for one value), min and max of ``values``."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()),
            "max": float(v.max()), "n": int(v.size)}


def _spread_pct(st: dict) -> str:
    return f"{100 * st['mean']:.1f} ± {100 * st['sd']:.1f} % (min {100 * st['min']:.1f} %)"


def summary_row(task: str, rows: list[dict]) -> dict:
    """Mean ± sd (min) of every column over the per-model rows, and the largest ANN − SNN fb gap of any model."""
    keys = rows[0]["values"].keys()
    stats = {k: spread([r["values"][k] for r in rows]) for k in keys}
    gaps = {m: max(r["values"]["ann"] - r["values"][f"snn_{m}_fb"] for r in rows) for m in ("float", "loihi")}
    row = {"task": f"{task}, {len(rows)} models", "n": rows[0]["n"], "ann": _spread_pct(stats["ann"]),
           "stats": stats, "max_ann_minus_snn_fb": gaps,
           "measure": "mean ± sd (min) over the models above; fb decode (ip decode)"}
    for m in ("float", "loihi"):
        row[f"snn_{m}"] = (f"{_spread_pct(stats[f'snn_{m}_fb'])} (ip {100 * stats[f'snn_{m}_ip']['mean']:.1f} %); "
                           f"ANN − SNN ≤ {100 * gaps[m]:.1f} pt")
    if "val" in keys:
        row["validation"] = _spread_pct(stats["val"])
    return row


def digits_rows(args) -> list[dict]:
    """One row per digits model (the bundled one, ``--digits-model(s)``, or one training per ``--seeds`` entry) and,
    for several, their summary row."""
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.tasks.digits import load_digits

    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    if args.retrain_digits:
        from lprnn_brian.training.classifier import train_digits_seeds
        from lprnn_brian.training.classifier_config import DIGITS_CONFIG

        cfg = DIGITS_CONFIG if args.epochs is None else dataclasses.replace(DIGITS_CONFIG, epochs=args.epochs)
        results = train_digits_seeds(seeds or [cfg.seed], cfg, jobs=args.jobs, n_train=args.n_train, log=None)
        models = [r.model for r in results]
    elif args.digits_models:
        models = [load_model(p) for p in args.digits_models.split(",")]
    else:
        models = [load_model(args.digits_model or bundled_model_path())]
    X, y, _ = load_digits("test")
    if args.n_test is not None:
        sel = np.sort(np.random.default_rng(0).permutation(len(y))[:args.n_test])
        X, y = X[sel], y[sel]
    rows = []
    for k, model in enumerate(models):
        row = classification_row("digits", model, X, y, args.target, args.build_dir) | {"dataset": "digits"}
        prov = model.provenance
        if len(models) > 1:
            row["task"] = f"digits (seed {prov.get('seed', k)})"
        if prov.get("val_accuracy") is not None:
            row["values"]["val"] = float(prov["val_accuracy"])
            row["validation"] = _pct(prov["val_accuracy"])
        rows.append(row)
        print(f"  {row['task']}: " + ", ".join(f"{k} {v:.4f}" for k, v in row["values"].items()), file=sys.stderr,
              flush=True)
    if len(rows) > 1:
        rows.append(summary_row("digits", rows) | {"dataset": "digits"})
    return rows


def spoken_row(task: str, args) -> dict:
    from lprnn_brian.training.classifier import train_spoken
    from lprnn_brian.training.classifier_config import spoken_config
    from lprnn_brian.tasks import spoken

    data_dir = args.shd_dir if task == "shd" else args.gsc_dir
    if not data_dir:
        return {"task": task, "n": 0, "ann": f"not run (no --{task}-dir)", "snn_float": "—", "snn_loihi": "—",
                "measure": "accuracy"}
    model_path = args.shd_model if task == "shd" else args.gsc_model
    kw = dict(limit=args.limit, progress=True)
    if task == "shd":
        X, y, _ = spoken.load_shd(data_dir, "test", **kw)
    else:
        X, y, _ = spoken.load_gsc(data_dir, version=args.gsc_version, protocol=args.gsc_protocol, split="test", **kw)
    if model_path:
        model = load_model(model_path)
    else:
        cfg = spoken_config(task)
        if args.epochs:
            cfg = dataclasses.replace(cfg, epochs=args.epochs)
        model = train_spoken(task, data_dir, cfg, version=args.gsc_version, protocol=args.gsc_protocol,
                             limit=args.limit, progress=True, log=None).model
    return classification_row(task, model, X, y, args.target, args.build_dir)


def sequence_row(task: str, args) -> dict:
    from lprnn_brian.bundled import bundled_sequence_model
    from lprnn_brian import evaluate_sequences

    path = args.adding_model if task == "adding" else args.copying_model
    if path is None and args.retrain_sequences is None and not bundled_sequence_model(task, False):
        why = (f"no bundled {task} model: pass --{task}-model MODEL.npz, or --retrain-sequences snn to train one "
               f"here")
        print(f"  {why}", file=sys.stderr, flush=True)
        return {"task": task, "n": 0, "test_set": "—", "measure": "—", "ann": "—", "snn_float": "—",
                "snn_loihi": f"— ({why})"}
    log = lambda m: print(f"  {m}", file=sys.stderr, flush=True)  # noqa: E731
    model, source = path, None
    if args.retrain_sequences is not None and path is None:
        from lprnn_brian.training.sequence import train_adding, train_copying
        from lprnn_brian.training.sequence_config import preset

        train = train_adding if task == "adding" else train_copying
        model = train(preset(task, args.retrain_sequences), progress=False, log=log).model
        source = f"trained here with preset {args.retrain_sequences!r}"
    return evaluate_sequences.benchmark_row(task, model, n=args.sequences, target=args.target,
                                            build_root=args.build_dir, log=log, source=source)


def curve_markdown(row: dict) -> str:
    """The sequence task's scores at every length: ANN, and SNN per mode and threshold policy (headline decode),
    and the other decodes under 'unbiased'."""
    rows = row["curve"]
    head = rows[0]["decode"]
    cols = [(head, m, t) for m in rows[0]["snn"] for t in rows[0]["snn"][m]]
    cols += [(d, m, "unbiased") for d in rows[0]["by_decode"] if d != head for m in rows[0]["by_decode"][d]]
    unit = "L" if row["task"] == "adding" else "T"
    lines = [f"| {unit} | ANN | " + " | ".join(f"SNN {m}, {t}, {d}" for d, m, t in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for r in rows:
        mark = " (ANN good)" if r["ann_good"] else ""
        cells = [f"{r['by_decode'][d][m][t]:.4f}{' ✓' if r['by_decode_solved'][d][m][t] else ''}" for d, m, t in cols]
        lines.append(f"| {r['length']} | {r['ann']:.4f}{mark} | " + " | ".join(cells) + " |")
    c = row["criterion"]
    verdict = ("met" if c["met"] else f"NOT met at {c['snn_fails_at']}" if c["ann_good_at"] else
               "not testable (the ANN is good at no length)")
    lines.append("")
    lines.append(f"Criterion (wherever the ANN is good, the Loihi-mode SNN with threshold 'unbiased' and the {head} "
                 f"decode passes): "
                 f"{verdict}; ANN good at {c['ann_good_at']}. Model: {row['model']['source']}.")
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    """The accuracy table (also drawn by scripts/results_page.py from a stored run's rows)."""
    lines = ["| task | test set | measure | validation | ANN | SNN float | SNN Loihi-integer | published |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r.get('test_set', r['n'])} | {r['measure']} | {r.get('validation', '—')} | "
                     f"{r['ann']} | {r['snn_float']} | {r['snn_loihi']} | {r.get('published', published(r))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default="digits,adding,copying", help=f"comma-separated subset of {','.join(TASKS)}")
    ap.add_argument("--target", default="cpp_standalone", choices=("numpy", "cython", "cpp_standalone"))
    ap.add_argument("--build-dir", default=None)
    ap.add_argument("--digits-model", default=None, help="default: the bundled model")
    ap.add_argument("--retrain-digits", action="store_true",
                    help="train the digits model first (about 3 min per seed on 2 cores)")
    ap.add_argument("--seeds", default=None, help="with --retrain-digits: comma-separated seeds, one training each")
    ap.add_argument("--jobs", type=int, default=1, help="with --seeds: trainings at once, in separate processes")
    ap.add_argument("--digits-models", default=None, help="comma-separated digits model files, one row each")
    ap.add_argument("--n-train", type=int, default=None, help="with --retrain-digits: training clips (tiny runs)")
    ap.add_argument("--n-test", type=int, default=None, help="digits test clips (a seeded subset; tiny runs)")
    ap.add_argument("--adding-model", default=None, help="default: the bundled adding model")
    ap.add_argument("--copying-model", default=None, help="default: the bundled copying model")
    ap.add_argument("--retrain-sequences", default=None, metavar="PRESET",
                    help="train the adding/copying models here with this curriculum preset (e.g. snn)")
    ap.add_argument("--sequences", type=int, default=200, help="test sequences per length (adding, copying)")
    ap.add_argument("--shd-dir", default=None)
    ap.add_argument("--shd-model", default=None)
    ap.add_argument("--gsc-dir", default=None)
    ap.add_argument("--gsc-model", default=None)
    ap.add_argument("--gsc-version", type=int, default=1, choices=(1, 2))
    ap.add_argument("--gsc-protocol", default="35", choices=("35", "12"))
    ap.add_argument("--epochs", type=int, default=None, help="epochs when training digits, SHD or GSC here")
    ap.add_argument("--limit", type=int, default=None, help="files per split for SHD/GSC (smoke runs)")
    ap.add_argument("--out", default=None, help="also write the table to this Markdown file")
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent / "results"),
                    help="folder of the JSON record (accuracy-<date>.json; scripts/results_page.py reads it)")
    args = ap.parse_args(argv)
    command = shlex.join(["python", "benchmarks/accuracy.py", *(sys.argv[1:] if argv is None else argv)])
    load_at_start = os.getloadavg()[0]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.seeds and not args.retrain_digits:
        ap.error("--seeds trains one digits model per seed: add --retrain-digits (or give --digits-models)")
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        ap.error(f"unknown tasks {unknown}; choose from {TASKS}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lprnn_acc_") as tmp:
        args.build_dir = args.build_dir or str(Path(tmp) / "builds")
        for task in tasks:
            print(f"{task} …", file=sys.stderr, flush=True)
            if task == "digits":
                rows.extend(digits_rows(args))
            elif task in ("adding", "copying"):
                rows.append(sequence_row(task, args))
            else:
                rows.append(spoken_row(task, args))
    table = markdown(rows)
    for r in rows:
        if "curve" in r:
            table += f"\n\n**{r['task']}** at every length:\n\n" + curve_markdown(r)
    print(table)
    from lprnn_brian.fileio import write_text_atomic

    if args.out:
        write_text_atomic(args.out, table + "\n")
    record = {"benchmark": "accuracy", "command": command, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "machine": describe() | {"load_average_1min": load_at_start},
              "rows": [_repo_relative(r) | {"published": published(r)} for r in rows]}
    path = Path(args.results) / f"accuracy-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(record, indent=1, default=_jsonable) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _repo_relative(row: dict) -> dict:
    """The row with its model's path from the repository root when the model lives in this checkout."""
    source = row.get("model", {}).get("source")
    repo = Path(__file__).resolve().parents[1]
    if source and Path(source).is_absolute() and Path(source).resolve().is_relative_to(repo):
        return row | {"model": row["model"] | {"source": str(Path(source).resolve().relative_to(repo))}}
    return row


def _jsonable(v):
    """numpy scalars and arrays in the rows, as JSON."""
    return v.tolist() if hasattr(v, "tolist") else str(v)


if __name__ == "__main__":
    sys.exit(main())
