#!/usr/bin/env python
"""Record "golden outputs" of the package before a behaviour-preserving refactor, and check them afterwards.

Usage::

    python scripts/golden_outputs.py record DIR [--targets numpy,cython,cpp_standalone] [--quick] [--force]
    python scripts/golden_outputs.py check DIR  [--targets ...] [--quick] [--keep]

``record`` writes the artefacts below into DIR (refused if DIR is not empty, unless ``--force``) and a
``manifest.json`` (options, versions, per-artefact digests). ``check`` recomputes every artefact into a temporary
directory and compares it with DIR, printing one line per artefact (``identical`` / ``DIFFERENT`` with the first
differing key) and exits 1 on any difference (2 on a usage error). Without ``--targets`` / ``--quick``, ``check``
uses the options recorded in DIR's manifest; ``--quick`` must match the recording (other clip counts), and fewer
``--targets`` than recorded leave the other targets' artefacts ``not checked``. The recomputed outputs are kept (and their path printed) when
something differs, or always with ``--keep``.

Artefacts (paths relative to DIR):

1. ``digits/``: the bundled digits model (:func:`lprnn_brian.bundled.bundled_model_path`) on the first 3 test clips
   (:func:`lprnn_brian.tasks.digits.load_digits`), default threshold policy, through
   :func:`lprnn_brian.evaluate.evaluate` (the path of ``demo`` and ``simulate``):

   * ``sim_<target>_<mode>.npz`` per target in ``--targets`` and mode in (float, loihi): per layer the spike
     trains (``spikes/<layer>/{sample,neuron,step}``, int32: sample, neuron index, SNN step), the per-frame
     decodes (``frames/<decode>/<layer>``, float32) and the window means (``decode/<decode>/<window>/<layer>``,
     float64) of every recorded decode (fb, ip, in, count);
   * ``sim_<target>_<mode>.json``: the evaluation summary (accuracies, predictions, correlations, RMSEs, spike
     counts, the SNN spec's summary);
   * ``spec_<mode>.npz`` / ``spec_<mode>.json``: the converted network (``SNNSpec.to_arrays``, ``summary()``,
     ``digest()``), target-independent;
   * ``ann.npz``: the ANN forward pass on the same clips (states per layer, logits per window).
2. ``shd_reference/``: the same for the authors' SHD checkpoint (``../shared/reference``, or ``--reference``, or
   ``$LPRNN_BRIAN_REFERENCE``) on the first 2 bundled SHD-front-end clips (``load_digits('test',
   front_end='shd')``), numpy target only, both modes. Skipped (with a line saying so) when the checkpoint is absent.
3. ``loihi_bundle/``: ``lprnn-brian export loihi`` of the digits model with the first 3 test clips and labels as
   ``--inputs``/``--labels`` (so the bundle also holds the emulator's accuracy, overflows, energy and divergence;
   ``--compare-samples 2``): ``bundle.npz`` (arrays), ``bundle.json`` (volatile keys removed), ``report.md`` (text).
4. ``nir/digits_<mode>.nir``: ``lprnn-brian export nir`` of the digits model, float and loihi mode; compared as the
   graph read back with ``nir.read`` (node types, every parameter array, sorted edges, metadata with the embedded
   spec JSON parsed), or, without nir, as every HDF5 dataset and attribute read with h5py.
5. ``sweep/table.parquet``: ``lprnn-brian sweep --scheduler serial`` of a 2-point sweep (``tau_S = [32, 64]``,
   Loihi mode, numpy target, bundled digits model) over the first 2 test clips, one clip per chunk (so chunk
   results are combined); compared as the table rows (timing columns excluded: see :data:`TIMING_COLUMN`; there
   are none today) and the table's metadata with volatile keys removed.

``--quick`` (smoke run): numpy target only, items 1 and 2 only, 1 clip each.

What is compared, and what is ignored
-------------------------------------
Every artefact is flattened into ``key → leaf``; arrays compare by dtype, shape and raw bytes, every other leaf
by its canonical JSON text (floats by ``repr``, so bit for bit; NaN equals NaN). Ignored:

* JSON keys named in :data:`IGNORED_KEYS` at any depth (timestamps, wall times, library versions, build
  directories), and the full key paths in :data:`IGNORED_PATHS`;
* string values that are absolute paths are replaced by ``<abs>/<basename>`` (the model file of a sweep config,
  the sweep's TOML file: these differ between DIR and the temporary directory of ``check``);
* for NIR files read with h5py, the root attributes / datasets in :data:`NIR_H5_IGNORED` (nir's own version);
* sweep-table columns matching :data:`TIMING_COLUMN`;
* ``manifest.json`` itself (it holds the recording's options, time and versions).

Standalone builds go to a fresh temporary build root (``--build-root`` to use another, e.g. the usual cache), so
that ``check`` never re-uses a binary compiled before the refactor.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"
FORMAT = "lprnn_brian golden outputs"
ALL_TARGETS = ("numpy", "cython", "cpp_standalone")
MODES = ("float", "loihi")
N_DIGITS, N_SHD, N_QUICK = 3, 2, 1
N_SWEEP = 2

#: JSON keys dropped wherever they occur, with why.
IGNORED_KEYS = {
    "created": "timestamp (bundle.json; sweep table metadata)",
    "created_by": "'lprnn_brian <version>' (bundle.json): a library version",
    "lprnn_brian_version": "library version (NIR graph metadata)",
    "versions": "library versions: lprnn_brian, brian2, numpy, python, dask (sweep table metadata)",
    "wall_s": "wall time (evaluate summary; sweep table metadata)",
    "wall_s_detail": "build and run wall times (evaluate summary)",
    "build_dir": "build directory (not written today; guard)",
    "build_root": "build directory root (not written today; guard)",
    "build_record": "compile/link record with times and pids (not written today; guard)",
}
#: Full key paths (dotted) dropped, with why.
IGNORED_PATHS = {
    "arrays.sha256": "bundle.json: SHA-256 of bundle.npz's bytes (a zip container: depends on numpy's writer, not on "
                     "the values; every array in it is compared itself)",
}
#: Root attributes/datasets of a NIR HDF5 file ignored in the h5py fallback (the nir library's version).
NIR_H5_IGNORED = {"version", "nir_version"}
#: Sweep-table columns treated as timings and excluded (none exist today: the table has no timing column).
TIMING_COLUMN = re.compile(r"(^|_)(wall|time|times|seconds|elapsed|duration)($|_)|_s$")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- producing the artefacts ----------------------------------------------------------------------------------
def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"{type(x).__name__} is not JSON-serialisable")


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, default=_json_default) + "\n")


def _write_npz(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})


def _spec_files(out: Path, spec, mode: str) -> None:
    summary, arrays = spec.to_arrays(prefix="")
    _write_npz(out / f"spec_{mode}.npz", arrays)
    _write_json(out / f"spec_{mode}.json", {"digest": spec.digest(), "to_arrays_summary": summary,
                                            "summary": spec.summary()})


def _result_arrays(result) -> dict:
    arrays = {}
    for k, name in enumerate(result.layer_names):
        s = np.asarray(result.spikes[k])
        arrays[f"spikes/{name}/sample"] = s[:, 0].astype(np.int32)
        arrays[f"spikes/{name}/neuron"] = s[:, 1].astype(np.int32)
        arrays[f"spikes/{name}/step"] = s[:, 2].astype(np.int32)
        for d, per_layer in result.frame_decodes.items():
            if per_layer[k] is not None:
                arrays[f"frames/{d}/{name}"] = per_layer[k]
        for d, by_window in result.decodes.items():
            for w, per_layer in by_window.items():
                if per_layer[k] is not None:
                    arrays[f"decode/{d}/{w}/{name}"] = per_layer[k]
    return arrays


def _ann_arrays(ann) -> dict:
    arrays = {f"states/{name}": s for name, s in zip(ann.layer_names, ann.states)}
    arrays.update({f"logits/{w}": v for w, v in ann.window_logits.items()})
    arrays["output_decode"] = ann.output_decode
    return arrays


def _simulations(out: Path, model, x, labels, targets, build_root: Path) -> None:
    """Item 1/2: every (target, mode) simulation of ``model`` on ``x`` via evaluate, plus the specs and the ANN."""
    from lprnn_brian.evaluate import evaluate

    ann_written = False
    for mode in MODES:
        for target in targets:
            t0 = time.perf_counter()
            ev = evaluate(model, x, labels, target=target, mode=mode, build_root=build_root)
            if not ann_written:
                _write_npz(out / "ann.npz", _ann_arrays(ev.ann))
                ann_written = True
            if target == targets[0]:
                _spec_files(out, ev.spec, mode)
            _write_npz(out / f"sim_{target}_{mode}.npz", _result_arrays(ev.result))
            _write_json(out / f"sim_{target}_{mode}.json", ev.summary)
            say(f"  {out.name}: {target}/{mode}, {x.shape[0]} clip(s): {time.perf_counter() - t0:.1f} s")


def reference_checkpoint(given: str | None) -> Path | None:
    from lprnn_brian.ann.checkpoint import SHD_REFERENCE_FILE

    cands = [Path(given)] if given else []
    if os.environ.get("LPRNN_BRIAN_REFERENCE"):
        cands.append(Path(os.environ["LPRNN_BRIAN_REFERENCE"]))
    cands.append(REPO.parent / "shared" / "reference")
    for c in cands:
        p = c / SHD_REFERENCE_FILE if c.is_dir() else c
        if p.is_file():
            return p
    return None


def _cli(*args: str, cwd: Path) -> None:
    """Run ``lprnn-brian ARGS`` in a subprocess of this interpreter; raise with its stderr on failure."""
    cmd = [sys.executable, "-m", "lprnn_brian.cli", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def produce(out: Path, opts, work: Path) -> list[str]:
    """Write every artefact of ``opts`` under ``out`` (intermediate files under ``work``); the notes to print."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.tasks.digits import load_digits

    notes = []
    build_root = Path(opts.build_root) if opts.build_root else work / "builds"
    model_path = bundled_model_path()
    x, y, _ = load_digits("test")
    n_digits = N_QUICK if opts.quick else N_DIGITS
    n_shd = N_QUICK if opts.quick else N_SHD

    say(f"[1] bundled digits model, {n_digits} test clip(s), targets {','.join(opts.targets)}")
    _simulations(out / "digits", load_model(model_path), x[:n_digits], y[:n_digits], opts.targets, build_root)

    ckpt = reference_checkpoint(opts.reference)
    if ckpt is None:
        notes.append("shd_reference: skipped (the authors' checkpoint is not in ../shared/reference; give "
                     "--reference)")
        say(notes[-1])
    else:
        from lprnn_brian.ann.checkpoint import read_reference_checkpoint

        say(f"[2] authors' SHD checkpoint, {n_shd} SHD-front-end clip(s), numpy")
        xs, _, _ = load_digits("test", front_end="shd")
        _simulations(out / "shd_reference", read_reference_checkpoint(ckpt, "shd"), xs[:n_shd], None, ("numpy",),
                     build_root)
    if opts.quick:
        return notes

    inputs, labels = work / "x.npy", work / "y.npy"
    np.save(inputs, x[:N_DIGITS])
    np.save(labels, y[:N_DIGITS])
    say("[3] export loihi (digits model, emulator on 3 clips)")
    _cli("export", "loihi", str(model_path), "--out", str(out / "loihi_bundle"), "--inputs", str(inputs),
         "--labels", str(labels), "--compare-samples", "2", "--quiet", cwd=work)

    say("[4] export nir (digits model, float and loihi mode)")
    (out / "nir").mkdir(parents=True, exist_ok=True)
    for mode in MODES:
        _cli("export", "nir", str(model_path), "--out", str(out / "nir" / f"digits_{mode}.nir"), "--mode", mode,
             cwd=work)

    say("[5] sweep: tau_S = [32, 64], 2 clips, numpy, serial")
    toml = work / "golden_sweep.toml"
    toml.write_text(
        'name = "golden"\nmodel = "bundled:digits"\ninputs = "digits:test"\n'
        f'limit = {N_SWEEP}\ntarget = "numpy"\nmode = "loihi"\nchunk = 1\nbatch = 1\n'
        "\n[grid]\ntau_S = [32, 64]\n")
    (out / "sweep").mkdir(parents=True, exist_ok=True)
    _cli("sweep", str(toml), "--out", str(out / "sweep" / "table.parquet"), "--scheduler", "serial",
         "--build-dir", str(build_root), "--quiet", cwd=work)
    return notes


# --- flattening and comparing -----------------------------------------------------------------------------------
def _normalise_str(s: str) -> str:
    if os.path.isabs(s) and len(Path(s).parts) > 1 and "\n" not in s:
        return f"<abs>/{Path(s).name}"
    return s


def _leaf(v) -> str:
    return json.dumps(v, sort_keys=True, default=_json_default, allow_nan=True, ensure_ascii=False)


def flatten(obj, prefix: str = "", out: dict | None = None) -> dict:
    """``key → leaf`` of a JSON-like object: arrays stay arrays, scalars and lists of scalars become canonical JSON
    text; ignored keys are dropped and absolute paths normalised."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if str(k) in IGNORED_KEYS or key in IGNORED_PATHS:
                continue
            flatten(v, key, out)
    elif isinstance(obj, np.ndarray) and obj.dtype.kind not in "OUS":
        out[prefix] = obj
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple, np.ndarray)) for v in obj):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}[{i}]", out)
    elif isinstance(obj, (list, tuple)):
        out[prefix] = _leaf([_normalise_str(v) if isinstance(v, str) else v for v in obj])
    elif isinstance(obj, np.ndarray):  # strings / objects
        out[prefix] = _leaf([_normalise_str(str(v)) for v in obj.ravel().tolist()] + [list(obj.shape)])
    elif isinstance(obj, str):
        out[prefix] = _leaf(_normalise_str(obj))
    elif isinstance(obj, (bytes, np.bytes_)):
        out[prefix] = _leaf(_normalise_str(bytes(obj).decode("utf-8", "replace")))
    elif isinstance(obj, np.generic):
        out[prefix] = _leaf(obj.item())
    else:
        out[prefix] = _leaf(obj)
    return out


def _load_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _load_json(path: Path) -> dict:
    return flatten(json.loads(path.read_text()))


def _load_nir(path: Path) -> dict:
    try:
        import nir
    except ImportError:
        return _load_h5(path)
    g = nir.read(str(path))
    return flatten(_nir_obj(g))


def _nir_obj(node):
    """A NIR node as a plain nested dict (type name, every dataclass field; sub-graph nodes recursed, edges
    sorted, the lprnn_brian metadata's embedded spec JSON parsed)."""
    import dataclasses

    d = {"type": type(node).__name__}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        if f.name == "nodes":
            v = {name: _nir_obj(n) for name, n in v.items()}
        elif f.name == "edges":
            v = sorted([list(map(str, e)) for e in v])
        elif f.name == "metadata" and isinstance(v, dict):
            v = dict(v)
            if isinstance(v.get("spec"), str):
                try:
                    v["spec"] = json.loads(v["spec"])
                except ValueError:
                    pass
        d[f.name] = v
    return d


def _load_h5(path: Path) -> dict:
    import h5py

    out: dict = {}

    def attrs(obj, key):
        for a, v in obj.attrs.items():
            if key == "" and a in NIR_H5_IGNORED:
                continue
            flatten(v, f"{key}@{a}", out)

    with h5py.File(path, "r") as f:
        attrs(f, "")

        def visit(name, obj):
            if name.split("/")[0] in NIR_H5_IGNORED or name.split("/")[-1] in IGNORED_KEYS:
                return
            attrs(obj, name)
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                if name.endswith("metadata/spec") and isinstance(value, (bytes, str)):
                    value = json.loads(value)  # the lprnn_brian spec summary, a JSON string
                flatten(value, name, out)

        f.visititems(visit)
    return out


def _load_parquet(path: Path) -> dict:
    from lprnn_brian.sweep_table import read_table

    rows, meta = read_table(path)
    rows = [{k: v for k, v in r.items() if not TIMING_COLUMN.search(k)} for r in rows]
    return flatten({"rows": rows, "meta": meta})


def _load_text(path: Path) -> dict:
    return {f"line {i + 1}": _leaf(line) for i, line in enumerate(path.read_text().splitlines())}


def _load_bytes(path: Path) -> dict:
    return {"bytes": np.frombuffer(path.read_bytes(), dtype=np.uint8)}


LOADERS = {".npz": _load_npz, ".json": _load_json, ".nir": _load_nir, ".parquet": _load_parquet,
           ".md": _load_text, ".toml": _load_text, ".txt": _load_text}


def load(path: Path) -> dict:
    return LOADERS.get(path.suffix, _load_bytes)(path)


def _leaf_bytes(v) -> bytes:
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        return f"{a.dtype.str}{a.shape}".encode() + a.tobytes()
    return v.encode()


def digest(flat: dict) -> str:
    h = hashlib.sha256()
    for k in sorted(flat):
        h.update(k.encode() + b"\0" + _leaf_bytes(flat[k]) + b"\0")
    return h.hexdigest()[:16]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
        return False
    return _leaf_bytes(a) == _leaf_bytes(b)


def _detail(a, b) -> str:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        show = lambda v: (v if len(v) <= 60 else v[:57] + "...") if isinstance(v, str) else f"array{v.shape}"
        return f"golden {show(a)} vs now {show(b)}"
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"golden {a.dtype}{a.shape} vs now {b.dtype}{b.shape}"
    if a.dtype.kind in "biuf":
        diff = ~((a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else (a == b))
        n = int(diff.sum())
        if n == 0:
            return "same values, different bytes (e.g. -0.0 vs 0.0)"
        dmax = float(np.max(np.abs(a[diff].astype(np.float64) - b[diff].astype(np.float64))))
        first = np.unravel_index(int(np.argmax(diff.ravel())), a.shape)
        return f"{n} of {a.size} elements differ, first at {tuple(map(int, first))}, max |diff| {dmax:.3g}"
    return "arrays differ"


def compare(golden: dict, now: dict) -> tuple[str | None, str, int]:
    """(first differing key or None, detail, number of differing keys); keys in sorted order."""
    first, detail, n = None, "", 0
    for k in sorted(set(golden) | set(now)):
        if k not in now:
            d = "missing from the recomputed artefact"
        elif k not in golden:
            d = "new key, not in the golden artefact"
        elif _same(golden[k], now[k]):
            continue
        else:
            d = _detail(golden[k], now[k])
        n += 1
        if first is None:
            first, detail = k, d
    return first, detail, n


def artefact_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


# --- commands ---------------------------------------------------------------------------------------------------
def _versions() -> dict:
    import brian2

    import lprnn_brian

    out = {"lprnn_brian": lprnn_brian.__version__, "brian2": brian2.__version__, "numpy": np.__version__,
           "python": platform.python_version()}
    try:
        out["git_head"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                         text=True).stdout.strip()
        out["git_dirty"] = bool(subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                                               text=True).stdout.strip())
    except OSError:
        pass
    return out


def _options(opts) -> dict:
    return {"targets": list(opts.targets), "quick": bool(opts.quick)}


def cmd_record(opts) -> int:
    out = Path(opts.dir)
    if out.exists() and not out.is_dir():
        say(f"{out} is a file; give a directory")
        return 2
    if out.is_dir() and any(out.iterdir()):
        if not opts.force:
            say(f"{out} is not empty; choose an empty or new directory, or pass --force")
            return 2
        old = out / MANIFEST
        if old.is_file():  # remove only what an earlier recording wrote
            for rel in json.loads(old.read_text()).get("artefacts", {}):
                (out / rel).unlink(missing_ok=True)
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="golden_work_") as work:
        notes = produce(out, opts, Path(work))
    artefacts = {}
    for rel in artefact_files(out):
        flat = load(out / rel)
        artefacts[rel] = {"keys": len(flat), "digest": digest(flat)}
        print(f"recorded   {rel}  ({len(flat)} keys, {artefacts[rel]['digest']})")
    for n in notes:
        print(n)
    _write_json(out / MANIFEST, {
        "format": FORMAT, "options": _options(opts), "notes": notes, "artefacts": artefacts,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": time.perf_counter() - t0,
        "versions": _versions(), "ignored_keys": IGNORED_KEYS, "ignored_paths": IGNORED_PATHS,
    })
    print(f"recorded {len(artefacts)} artefacts in {out} ({time.perf_counter() - t0:.0f} s)")
    return 0


def _in_scope(rel: str, opts) -> bool:
    """Whether ``opts`` produce the artefact ``rel`` (a check with fewer ``--targets`` leaves some out)."""
    m = re.match(r"digits/sim_(.+)_(float|loihi)\.", rel)
    return not (m and m.group(1) not in opts.targets)


def cmd_check(opts) -> int:
    golden = Path(opts.dir)
    mpath = golden / MANIFEST
    if not mpath.is_file():
        say(f"{golden} holds no {MANIFEST}; record golden outputs first: golden_outputs.py record {golden}")
        return 2
    manifest = json.loads(mpath.read_text())
    recorded = manifest.get("options", {})
    if opts.targets is None:
        opts.targets = tuple(recorded.get("targets", ("numpy",)))
    if opts.quick is None:
        opts.quick = bool(recorded.get("quick", False))
    if bool(opts.quick) != bool(recorded.get("quick", False)):
        say(f"{golden} was recorded {'with' if recorded.get('quick') else 'without'} --quick (other clip counts); "
            "check with the same setting")
        return 2
    if _options(opts) != recorded:
        say(f"note: checking with {_options(opts)}; DIR was recorded with {recorded}")
    t0 = time.perf_counter()
    new = Path(tempfile.mkdtemp(prefix="golden_check_"))
    with tempfile.TemporaryDirectory(prefix="golden_work_") as work:
        notes = produce(new / "out", opts, Path(work))
    now_root = new / "out"
    gold_files, now_files = set(artefact_files(golden)), set(artefact_files(now_root))
    bad = 0
    for rel in sorted(gold_files | now_files):
        if rel not in now_files:
            if not _in_scope(rel, opts):
                print(f"not checked {rel}  (not produced with these options)")
                continue
            print(f"DIFFERENT  {rel}  missing from the recomputed outputs")
            bad += 1
            continue
        if rel not in gold_files:
            print(f"DIFFERENT  {rel}  not in the golden directory (new artefact)")
            bad += 1
            continue
        g, n = load(golden / rel), load(now_root / rel)
        first, detail, count = compare(g, n)
        if first is None:
            print(f"identical  {rel}  ({len(g)} keys, {digest(g)})")
        else:
            print(f"DIFFERENT  {rel}  first differing key: {first} ({detail}); {count} of "
                  f"{len(set(g) | set(n))} keys differ")
            bad += 1
    for n in notes:
        print(n)
    keep = bad or opts.keep
    if keep:
        print(f"recomputed outputs kept in {now_root}")
    else:
        shutil.rmtree(new, ignore_errors=True)
    print(f"{'DIFFERENT' if bad else 'identical'}: {bad} of {len(gold_files | now_files)} artefacts differ "
          f"({time.perf_counter() - t0:.0f} s)")
    return 1 if bad else 0


def _targets(text: str) -> tuple[str, ...]:
    ts = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in ts if t not in ALL_TARGETS]
    if bad or not ts:
        raise argparse.ArgumentTypeError(f"targets must be a comma-separated subset of {','.join(ALL_TARGETS)}")
    return ts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("record", "check"))
    p.add_argument("dir", help="golden directory")
    p.add_argument("--targets", type=_targets, default=None,
                   help=f"comma-separated Brian2 targets of item 1 (default record: {','.join(ALL_TARGETS)}; "
                        "check: as recorded)")
    p.add_argument("--quick", action="store_true", default=None,
                   help="smoke run: numpy only, items 1 and 2 only, 1 clip each")
    p.add_argument("--force", action="store_true", help="record: write into a non-empty DIR")
    p.add_argument("--keep", action="store_true", help="check: keep the recomputed outputs even if identical")
    p.add_argument("--reference", default=None, help="the authors' SHD checkpoint (file or folder)")
    p.add_argument("--build-root", default=None,
                   help="standalone build root (default: a fresh temporary one, so no pre-refactor binary is re-used)")
    opts = p.parse_args(argv)
    if opts.quick:
        opts.targets = ("numpy",)
    if opts.command == "record":
        opts.quick = bool(opts.quick)
        opts.targets = opts.targets or ALL_TARGETS
        return cmd_record(opts)
    return cmd_check(opts)


if __name__ == "__main__":
    sys.exit(main())
