"""Parameter sweeps and whole-dataset SNN evaluation on Dask (``lprnn-brian sweep``, ``simulate --scheduler``).

A sweep is a TOML file: one model, one set of inputs, a grid of knobs, a target, the metrics. Every grid point
is split into chunks of samples; each chunk is one task on a Dask ``distributed`` cluster (a ``LocalCluster`` by
default, any scheduler address for a real cluster). A worker keeps one open :class:`lprnn_brian.targets.Runner`
per network (spec digest), so a standalone binary is compiled once per worker and model and re-used for all its
samples. Finished chunks are written as they arrive (``OUT.parts/``), so an interrupted sweep resumes where it
stopped; the table (``OUT``, parquet: one row per grid point) is written atomically at the end, with the config,
the versions and the seeds in its metadata. ``scheduler='serial'`` runs the same tasks in this process.

Example (``examples/sweep_steps_bits.toml``)::

    model = "bundled:digits"        # the bundled digits model, or a path to a model file
    inputs = "digits:test"          # bundled digits (labels included), or a path to X.npy (+ labels = "y.npy")
    limit = 64                      # first N samples (optional)
    target = "cpp_standalone"
    mode = "loihi"
    metrics = ["snn_accuracy", "class_agreement", "spikes_per_sample"]

    [grid]
    steps_per_frame = [3.6, 7.1, 14.3]
    weight_bits = [2, 3, 4]

Knobs (:data:`KNOBS`): ``steps_per_frame`` (SNN steps per ANN frame M, Δt_S = Δt_A/M), ``tau_S`` (SNN steps per
lp time constant, Δt_S = τ/τ_S; exact 12-bit decays when 4096/τ_S is an integer), ``weight_bits`` (the model's
deployed weights re-quantised after training to b bits on [−1/2, 1/2), grid 2^−b, as the weight-bits figure's
models; biases kept; a model trained at 3 bits is unchanged at b ≥ 3; ANN and SNN both use them), ``retention`` (every lp layer's retention a, ANN and SNN), ``jitter`` (σ in SNN
steps of Gaussian jitter of the last hidden layer's spikes; the read-out is replayed from them:
``in``/``ip`` decodes only), ``mode`` (``float``/``loihi``) and ``threshold`` (the comparator's threshold policy,
``unbiased``/``zero``).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .convert import DEFAULT_THRESHOLD, THRESHOLD_POLICIES
from .errors import UserInputError
from .fileio import atomic_path, check_writable

#: ``model = "bundled:digits"`` names the package's bundled digits model (works from a plain pip install).
BUNDLED = "bundled:digits"
#: Knob → (type, check, description).
KNOBS = {
    "steps_per_frame": (float, lambda v: v > 0, "SNN steps per ANN frame M (> 0)"),
    "tau_S": (float, lambda v: v >= 1, "SNN steps per lp time constant (≥ 1)"),
    "weight_bits": (int, lambda v: 1 <= v <= 16, "weight bits b on [−1/2, 1/2), grid 2^−b (1…16)"),
    "retention": (float, lambda v: 0 < v < 1, "retention a of every lp layer (0 < a < 1)"),
    "jitter": (float, lambda v: v >= 0, "σ of the last hidden layer's spike jitter, SNN steps (≥ 0)"),
    "mode": (str, lambda v: v in ("float", "loihi"), "'float' or 'loihi'"),
    "threshold": (str, lambda v: v in THRESHOLD_POLICIES, f"a threshold policy, one of {THRESHOLD_POLICIES}"),
}
DECODES = ("fb", "ip", "in", "count")
METRICS = ("ann_accuracy", "snn_accuracy", "class_agreement", "layer_correlation", "spikes_per_sample")
TARGETS = ("numpy", "cython", "cpp_standalone")
#: Top-level keys of a sweep config: key → (type(s), required, default, description).
CONFIG_KEYS = {
    "name": (str, False, "", "a name for the sweep (recorded)"),
    "model": (str, True, None, "model file (.npz), or 'bundled:digits'"),
    "inputs": (str, True, None, "'digits:test', 'digits:train', 'digits_shd:test' or a path to X.npy"),
    "labels": (str, False, None, "path to y.npy (class per sample of inputs)"),
    "limit": (int, False, None, "use the first N samples"),
    "target": (str, False, "cpp_standalone", f"code generation target, one of {TARGETS}"),
    "mode": (str, False, "loihi", "'float' or 'loihi' (unless a grid knob)"),
    "threshold": (str, False, DEFAULT_THRESHOLD, f"threshold policy, one of {THRESHOLD_POLICIES} (unless a grid knob)"),
    "metrics": (list, False, list(METRICS), f"a subset of {list(METRICS)}"),
    "seed": (int, False, 0, "seed of the jitter draws"),
    "chunk": (int, False, 16, "samples per task"),
    "batch": (int, False, 8, "samples per standalone run (network copies) inside a task"),
    "grid": (dict, True, None, "knob = [values, ...]"),
}


@dataclass
class SweepConfig:
    """A validated sweep (see the module docstring); ``source``: the file it came from."""

    model: str
    inputs: str
    grid: dict[str, list]
    name: str = ""
    labels: str | None = None
    limit: int | None = None
    target: str = "cpp_standalone"
    mode: str = "loihi"
    threshold: str = DEFAULT_THRESHOLD
    metrics: list[str] = field(default_factory=lambda: list(METRICS))
    seed: int = 0
    chunk: int = 16
    batch: int = 8
    source: str = ""

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in CONFIG_KEYS}

    def digest(self) -> str:
        """Hash of everything that changes the results (not the file name)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def points(self) -> list[dict]:
        """The grid points, in the order of the grid's keys (last key fastest)."""
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]


def _type_name(t) -> str:
    return {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}[t]


def parse_config(data: dict, source: str = "", base: Path | None = None) -> SweepConfig:
    """Validate a sweep config (a dict as read from TOML); every mistake raises :class:`UserInputError` naming
    the key, before any work starts. Relative paths are resolved against ``base`` (the TOML file's folder)."""
    where = f" in {source}" if source else ""
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise UserInputError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}{where}; "
                             f"allowed: {', '.join(CONFIG_KEYS)}")
    kw = {}
    for key, (typ, required, default, what) in CONFIG_KEYS.items():
        if key not in data:
            if required:
                raise UserInputError(f"missing key {key!r}{where}: {what}")
            kw[key] = copy.deepcopy(default)
            continue
        value = data[key]
        if not isinstance(value, typ) or isinstance(value, bool):
            raise UserInputError(f"{key!r}{where} must be {_type_name(typ)} ({what}), got {value!r}")
        kw[key] = value
    for key in ("limit", "chunk", "batch"):
        if kw[key] is not None and kw[key] < 1:
            raise UserInputError(f"{key!r}{where} must be ≥ 1, got {kw[key]}")
    if kw["target"] not in TARGETS:
        raise UserInputError(f"'target'{where} must be one of {TARGETS}, got {kw['target']!r}")
    if kw["mode"] not in ("float", "loihi"):
        raise UserInputError(f"'mode'{where} must be 'float' or 'loihi', got {kw['mode']!r}")
    if kw["threshold"] not in THRESHOLD_POLICIES:
        raise UserInputError(f"'threshold'{where} must be one of {THRESHOLD_POLICIES}, got {kw['threshold']!r}")
    bad = [m for m in kw["metrics"] if m not in METRICS]
    if bad or not kw["metrics"]:
        raise UserInputError(f"'metrics'{where} must be a non-empty subset of {list(METRICS)}, got {kw['metrics']!r}")
    grid = kw["grid"]
    if not grid:
        raise UserInputError(f"the grid{where} is empty: give at least one knob, e.g. [grid] steps_per_frame = [7.1, "
                             "14.3]")
    for knob, values in grid.items():
        if knob not in KNOBS:
            raise UserInputError(f"unknown grid knob {knob!r}{where}; knobs: {', '.join(KNOBS)}")
        typ, ok, what = KNOBS[knob]
        if not isinstance(values, list) or not values:
            raise UserInputError(f"grid knob {knob!r}{where} must be a non-empty list of values ({what})")
        for v in values:
            good_type = isinstance(v, str) if typ is str else (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                               and (typ is float or float(v).is_integer()))
            if not good_type or not ok(typ(v)):
                raise UserInputError(f"grid knob {knob!r}{where}: value {v!r} is not {what}")
        grid[knob] = [typ(v) for v in values]
        if len(set(grid[knob])) != len(grid[knob]):
            raise UserInputError(f"grid knob {knob!r}{where} repeats a value")
    if "steps_per_frame" in grid and "tau_S" in grid:
        raise UserInputError(f"grid{where}: 'steps_per_frame' and 'tau_S' both set the SNN step; give one")
    if kw["model"] == BUNDLED:
        from .bundled import bundled_model_path

        kw["model"] = str(bundled_model_path())
    for key in ("model", "labels"):
        if kw[key] is not None and base is not None and not os.path.isabs(kw[key]):
            kw[key] = str((base / kw[key]).resolve()) if (base / kw[key]).exists() else kw[key]
    if not kw["inputs"].startswith(("digits:", "digits_shd:")) and base is not None and not os.path.isabs(kw["inputs"]):
        if (base / kw["inputs"]).exists():
            kw["inputs"] = str((base / kw["inputs"]).resolve())
    if not Path(kw["model"]).is_file():
        raise UserInputError(f"model file {kw['model']!r}{where} does not exist")
    _check_inputs_spec(kw["inputs"], kw["labels"], where)
    return SweepConfig(source=source, **kw)


def _check_inputs_spec(inputs: str, labels: str | None, where: str) -> None:
    if inputs.startswith(("digits:", "digits_shd:")):
        kind, split = inputs.split(":", 1)
        if split not in ("test", "train") or (kind == "digits_shd" and split != "test"):
            raise UserInputError(f"'inputs'{where}: {inputs!r} is not one of 'digits:test', 'digits:train', "
                                 "'digits_shd:test'")
        if labels is not None:
            raise UserInputError(f"'labels'{where}: the bundled digits bring their labels; remove the key")
        return
    if not Path(inputs).is_file():
        raise UserInputError(f"inputs file {inputs!r}{where} does not exist (or use 'digits:test')")
    if labels is not None and not Path(labels).is_file():
        raise UserInputError(f"labels file {labels!r}{where} does not exist")


def load_config(path: str | os.PathLike) -> SweepConfig:
    """Read and validate a sweep TOML file."""
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"sweep config {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserInputError(f"{path} is not valid TOML: {e}") from None
    return parse_config(data, source=str(path), base=path.parent)


def load_sweep_inputs(cfg: SweepConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The sweep's inputs (samples, frames, features) and labels (or None), limited to ``cfg.limit``."""
    from .fileio import load_inputs, load_labels

    if cfg.inputs.startswith(("digits:", "digits_shd:")):
        from .tasks.digits import load_digits

        kind, split = cfg.inputs.split(":")
        x, y, _ = load_digits(split, front_end="shd" if kind == "digits_shd" else "gsc_paper")
    else:
        x = load_inputs(cfg.inputs)
        y = load_labels(cfg.labels) if cfg.labels else None
    if cfg.limit is not None:
        x = x[:cfg.limit]
        y = None if y is None else y[:cfg.limit]
    return x, y


# --- one grid point's model and network ----------------------------------------------------------------------
def point_model(model, point: dict):
    """The model a grid point evaluates: weights re-quantised to ``weight_bits``, retentions replaced."""
    model = copy.deepcopy(model)
    b = point.get("weight_bits")
    if b is not None:
        # start from the deployed (quantised) weights and biases, not the latent QAT floats: a model trained at
        # F bits is unchanged at b ≥ F and loses precision below
        lo, hi = -(2 ** (b - 1)), 2 ** (b - 1) - 1
        quantised = model.quantised()
        for L, Lq in zip(model.layers, quantised.layers):
            L.W = (np.clip(np.round(Lq.W.astype(np.float64) * 2**b), lo, hi) / 2**b).astype(np.float32)
            if L.U is not None:
                L.U = (np.clip(np.round(Lq.U.astype(np.float64) * 2**b), lo, hi) / 2**b).astype(np.float32)
            L.b = Lq.b.copy()
        model.frac_bits = max(b, model.frac_bits) if model.frac_bits < 32 else b
    a = point.get("retention")
    if a is not None:
        for L in model.layers:
            if L.retention is not None:
                L.retention = float(a)
    return model


def point_spec(model, point: dict, cfg_mode: str, n_frames: int, cfg_threshold: str = DEFAULT_THRESHOLD):
    """The SNN spec of a grid point (its mode, its SNN step, its threshold policy)."""
    from .convert import to_snn_spec
    from .equations import derive

    mode = point.get("mode", cfg_mode)
    dt = None
    if "steps_per_frame" in point:
        dt = model.frame_dt / point["steps_per_frame"]
    elif "tau_S" in point:
        taus = [derive.tau_seconds(float(np.min(L.retention_vector())), model.frame_dt)
                for L in model.layers if L.retention is not None]
        dt = min(taus) / point["tau_S"]
    return to_snn_spec(model, mode=mode, dt=dt, n_frames=n_frames,
                       threshold=point.get("threshold", cfg_threshold))


# --- worker side -------------------------------------------------------------------------------------------
#: This process's open runner and its key: Brian2 holds one standalone device per process, so a worker keeps the
#: runner of the network it ran last (tasks are submitted grid point by grid point: a worker switches rarely, and
#: a re-opened network re-uses its build directory's compiled objects).
_RUNNER: dict = {}


def _runner(spec, target: str, batch: int, build_root):
    """This process's open Runner for ``spec`` (compiled once per process and network)."""
    import atexit

    from .targets import Runner

    key = (spec.digest(), target, batch)
    if _RUNNER.get("key") != key:
        if "runner" in _RUNNER:
            _RUNNER.pop("runner").close()
        else:
            atexit.register(lambda: _RUNNER["runner"].close() if "runner" in _RUNNER else None)
        _RUNNER["runner"] = Runner(spec, target, build_root=build_root, batch=batch,
                                   sampling="frames" if target == "cpp_standalone" else "steps")
        _RUNNER["key"] = key
    return _RUNNER["runner"]


def simulate_chunk(spec, x: np.ndarray, target: str, batch: int, build_root=None):
    """Simulate one chunk of samples with this process's cached runner (a Dask task)."""
    from .simulation import simulate

    runner = _runner(spec, target, batch, build_root)
    return simulate(spec, x, runner=runner)


def run_chunk(model_path: str, point: dict, cfg: dict, first: int, stop: int, x: np.ndarray,
              labels: np.ndarray | None, build_root=None) -> dict:
    """One task: a grid point on samples [first, stop). Returns sufficient statistics (JSON-ready) so that
    chunks combine exactly: correct and agreeing counts per decode, spikes, per-layer sums for the fb
    correlation with the ANN."""
    from .analysis.fidelity import ann_counterparts
    from .ann.forward import forward
    from .ann.model import load_model

    model = point_model(load_model(model_path), point)
    spec = point_spec(model, point, cfg["mode"], x.shape[1], cfg.get("threshold", DEFAULT_THRESHOLD))
    res = simulate_chunk(spec, x, cfg["target"], cfg["batch"], build_root)
    ann = forward(model, x)
    window = spec.readout_window
    ann_pred = ann.window_predictions[window]
    preds = {d: res.predictions(d, window) for d in DECODES if d in res.decodes}
    sigma = point.get("jitter", 0.0)
    if sigma > 0:
        from .analysis.coding import jitter_events, readout_from_spikes

        rng = np.random.default_rng([cfg["seed"], first, _point_seed(point)])
        jittered = jitter_events(res.spikes[-2], sigma, spec.n_steps, rng)  # sample indices are chunk-local
        preds = {d: np.argmax(readout_from_spikes(spec, jittered, x.shape[0], window, decode=d), axis=1)
                 for d in ("in", "ip")}
    out = {"n": int(x.shape[0]), "first": int(first), "stop": int(stop), "digest": spec.digest(),
           "steps_per_frame": float(spec.steps_per_frame), "tau_S": float(spec.layers[0].tau_S),
           "agree": {d: int(np.sum(p == ann_pred)) for d, p in preds.items()},
           "spikes": int(res.spikes_per_sample().sum())}
    if labels is not None:
        out["correct"] = {d: int(np.sum(p == labels)) for d, p in preds.items()}
        out["ann_correct"] = int(np.sum(ann_pred == labels))
    ref = ann_counterparts(model, x, ann)["fb"]
    stats = []
    for k in range(len(spec.layers)):
        frames = res.frame_decodes["fb"][k]
        if frames is None:
            stats.append(None)
            continue
        a, b = frames.astype(np.float64).ravel(), np.asarray(ref[k], np.float64).ravel()
        stats.append([float(a.size), float(a.sum()), float(b.sum()), float(a @ a), float(b @ b), float(a @ b)])
    out["corr_stats"] = stats
    return out


def _point_seed(point: dict) -> int:
    return int(hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:8], 16)


def _point_id(point: dict) -> str:
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:12]


# --- combining ----------------------------------------------------------------------------------------------
def _corr(s) -> float | None:
    n, sa, sb, saa, sbb, sab = s
    va, vb = saa / n - (sa / n) ** 2, sbb / n - (sb / n) ** 2
    if va <= 0 or vb <= 0:
        return None
    return float((sab / n - sa * sb / n**2) / math.sqrt(va * vb))


def combine(point: dict, parts: list[dict], metrics: list[str], layer_names: list[str]) -> dict:
    """One table row from a point's chunk results (ordered by first sample)."""
    row = {f"{k}": v for k, v in point.items()}
    n = sum(p["n"] for p in parts)
    row["n_samples"] = n
    row["steps_per_frame_effective"] = parts[0]["steps_per_frame"]
    row["tau_S_effective"] = parts[0]["tau_S"]
    decodes = list(parts[0]["agree"])
    labelled = "correct" in parts[0]
    if "ann_accuracy" in metrics:
        row["ann_accuracy"] = sum(p["ann_correct"] for p in parts) / n if labelled else float("nan")
    for d in DECODES:
        if "snn_accuracy" in metrics:
            row[f"snn_accuracy_{d}"] = (sum(p["correct"][d] for p in parts) / n
                                        if labelled and d in decodes else float("nan"))
        if "class_agreement" in metrics:
            row[f"class_agreement_{d}"] = sum(p["agree"][d] for p in parts) / n if d in decodes else float("nan")
    if "spikes_per_sample" in metrics:
        row["spikes_per_sample"] = sum(p["spikes"] for p in parts) / n
    if "layer_correlation" in metrics:
        for k, name in enumerate(layer_names):
            stats = [p["corr_stats"][k] for p in parts]
            c = None if any(s is None for s in stats) else _corr(np.sum(stats, axis=0))
            row[f"layer_correlation_fb_{name}"] = float("nan") if c is None else c
    return row


# --- driver -------------------------------------------------------------------------------------------------
@dataclass
class SweepRun:
    table_path: Path
    rows: list[dict]
    computed_chunks: int
    reused_chunks: int
    wall_s: float


def _versions() -> dict:
    import brian2

    from ._version import __version__

    out = {"lprnn_brian": __version__, "brian2": brian2.__version__, "numpy": np.__version__,
           "python": platform.python_version()}
    try:
        import dask
        import distributed

        out.update(dask=dask.__version__, distributed=distributed.__version__)
    except ImportError:
        pass
    return out


def _parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def run_sweep(cfg: SweepConfig, out: str | os.PathLike, *, scheduler: str | None = None, workers: int = 2,
              force: bool = False, progress: bool = True, build_root=None, log=None) -> SweepRun:
    """Run (or resume) a sweep and write its table to ``out`` (.parquet).

    Parameters
    ----------
    scheduler : str, optional
        None: a ``LocalCluster`` of ``workers`` single-threaded worker processes; ``'serial'``: this process, no
        Dask; otherwise a Dask scheduler address (``tcp://host:8786``).
    force : bool
        Replace an existing table, and discard finished chunks of another config.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.suffix != ".parquet":
        raise UserInputError(f"the sweep table is written as parquet: give --out with a .parquet suffix, got {out}")
    check_writable(out, force)
    x, labels = load_sweep_inputs(cfg)
    from .ann.model import load_model

    model = load_model(cfg.model)
    if x.shape[2] != model.n_inputs:
        raise UserInputError(f"inputs have {x.shape[2]} features but the model expects {model.n_inputs}")
    parts = _parts_dir(out)
    stamp = parts / "config.json"
    digest = cfg.digest()
    if parts.exists():
        old = json.loads(stamp.read_text()).get("digest") if stamp.is_file() else None
        if old != digest:
            if not force:
                raise UserInputError(f"{parts} holds finished chunks of another sweep config; pass --force to discard "
                                     "them, or choose another --out")
            for f in parts.glob("*.json"):
                f.unlink()
    parts.mkdir(parents=True, exist_ok=True)
    with atomic_path(stamp, force=True) as tmp:
        tmp.write_text(json.dumps({"digest": digest, "config": cfg.to_dict()}, indent=1))
    points = cfg.points()
    chunks = _chunks(x.shape[0], cfg.chunk)
    tasks, done = [], {}
    for point in points:
        pid = _point_id(point)
        for first, stop in chunks:
            f = parts / f"{pid}-{first}-{stop}.json"
            if f.is_file():
                done[(pid, first)] = json.loads(f.read_text())
            else:
                tasks.append((point, pid, first, stop, f))
    reused = len(done)
    say = log or (lambda msg: None)
    say(f"sweep {cfg.name or cfg.source}: {len(points)} points × {len(chunks)} chunks; {reused} chunks already done")
    cfg_d = cfg.to_dict()

    def record(task, result):
        point, pid, first, stop, f = task
        with atomic_path(f, force=True) as tmp:
            tmp.write_text(json.dumps(result))
        done[(pid, first)] = result

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="sweep", unit="chunk")
    if scheduler == "serial":
        for task in tasks:
            point, pid, first, stop, f = task
            record(task, run_chunk(cfg.model, point, cfg_d, first, stop, x[first:stop],
                                   None if labels is None else labels[first:stop], build_root))
            if bar is not None:
                bar.update(1)
    elif tasks:
        _run_on_dask(tasks, cfg, cfg_d, x, labels, scheduler, workers, build_root, record, bar, say)
    if bar is not None:
        bar.close()
    layer_names = [L.name for L in model.layers]
    rows = []
    for point in points:
        pid = _point_id(point)
        rows.append(combine(point, [done[(pid, first)] for first, _ in chunks], cfg.metrics, layer_names))
    meta = {"config": cfg.to_dict(), "config_digest": digest, "versions": _versions(), "seed": cfg.seed,
            "scheduler": scheduler or f"LocalCluster({workers})", "wall_s": time.perf_counter() - t0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_table(rows, out, meta, force=force)
    for f in parts.glob("*.json"):
        f.unlink()
    parts.rmdir()
    return SweepRun(out, rows, len(tasks), reused, time.perf_counter() - t0)


def _import_brian2_on_worker(dask_worker=None) -> None:
    """Brian2 installs a SIGINT handler when first imported, which Python allows only in the main thread: import
    it there (a worker's event loop), before a task (run in the worker's executor thread) needs it."""
    import brian2  # noqa: F401


def connect(scheduler: str | None, workers: int):
    """A Dask client: a new LocalCluster of ``workers`` single-threaded processes (``scheduler`` None or
    ``'local'``) or the scheduler at an address; every worker, including one that joins or restarts later, imports
    Brian2 on its main thread first. Returns (client, cluster or None)."""
    try:
        from distributed import Client, LocalCluster
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:
        raise UserInputError("distributed runs need Dask: pip install 'lprnn_brian[sweep]' (or use --scheduler "
                             "serial)") from None

    class ImportBrian2(WorkerPlugin):
        def setup(self, worker):
            _import_brian2_on_worker(worker)

    cluster = None
    if scheduler in (None, "local"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise UserInputError(f"no Dask scheduler at {scheduler} ({e}); start one (dask scheduler) or leave "
                                 "--scheduler out for a local cluster") from None
    client.register_plugin(ImportBrian2(), name="lprnn-brian-import-brian2")
    return client, cluster


@contextlib.contextmanager
def _dask(scheduler: str | None, workers: int):
    """:func:`connect`, closing the client (and the local cluster) afterwards."""
    client, cluster = connect(scheduler, workers)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gather(futures: dict, record, bar) -> None:
    """``record(futures[f], f.result())`` for each future as it completes, advancing the progress bar."""
    from distributed import as_completed

    for fut in as_completed(futures):
        record(futures[fut], fut.result())
        if bar is not None:
            bar.update(1)


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    """[first, stop) sample ranges of at most ``size`` samples covering 0…n."""
    return [(first, min(first + size, n)) for first in range(0, n, size)]


def _run_on_dask(tasks, cfg, cfg_d, x, labels, scheduler, workers, build_root, record, bar, say) -> None:
    with _dask(scheduler, workers) as client:
        say(f"Dask dashboard: {client.dashboard_link}")
        x_f = client.scatter(x, broadcast=True)
        y_f = None if labels is None else client.scatter(labels, broadcast=True)
        futures = {}
        for task in tasks:
            point, pid, first, stop, f = task
            fut = client.submit(_dask_chunk, cfg.model, point, cfg_d, first, stop, x_f, y_f, build_root,
                                key=f"chunk-{pid}-{first}-{stop}-{cfg.digest()}", pure=False, retries=2)
            futures[fut] = task
        _gather(futures, record, bar)


def _dask_chunk(model_path, point, cfg_d, first, stop, x, labels, build_root):
    return run_chunk(model_path, point, cfg_d, first, stop, x[first:stop],
                     None if labels is None else labels[first:stop], build_root)


def write_table(rows: list[dict], out: Path, meta: dict, force: bool = False) -> Path:
    """Rows → parquet (one row per grid point), ``meta`` as JSON in the file's key-value metadata
    (``lprnn_brian``), written atomically."""
    pa, pq = _pyarrow()
    columns = list(rows[0])
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    table = table.replace_schema_metadata({"lprnn_brian": json.dumps(meta, default=str)})
    with atomic_path(out, force=force) as tmp:
        pq.write_table(table, tmp)
    return out


def read_table(path: str | os.PathLike) -> tuple[list[dict], dict]:
    """A sweep table: (rows, metadata)."""
    _, pq = _pyarrow()
    try:
        t = pq.read_table(path)
    except (OSError, ValueError) as e:
        raise UserInputError(f"{path} is not a readable sweep table ({e})") from None
    meta = json.loads((t.schema.metadata or {}).get(b"lprnn_brian", b"{}"))
    return t.to_pylist(), meta


# --- whole-dataset evaluation ----------------------------------------------------------------------------------
def simulate_distributed(spec, x: np.ndarray, *, scheduler: str | None = None, workers: int = 2,
                         target: str = "cpp_standalone", batch: int = 8, chunk: int = 16, build_root=None,
                         progress: bool = False):
    """:func:`lprnn_brian.simulation.simulate` split into chunks of samples over a Dask cluster (``scheduler``:
    None or ``'local'`` for a LocalCluster of ``workers`` processes, else an address); every worker compiles the
    network once and re-uses it. Returns the merged :class:`SimulationResult` (same spikes and decodes as one
    serial run)."""
    from .simulation import merge_results

    if target not in TARGETS:
        raise UserInputError(f"distributed simulation runs Brian2 targets {TARGETS}, not {target!r}")
    if chunk < 1 or batch < 1:
        raise UserInputError("chunk and batch must be ≥ 1")
    bounds = _chunks(x.shape[0], chunk)
    results: dict = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(bounds), desc=f"simulating ({target}, Dask)", unit="chunk")
    try:
        with _dask(scheduler, workers) as client:
            spec_f = client.scatter(spec, broadcast=True)
            futures = {client.submit(simulate_chunk, spec_f, x[first:stop], target, batch, build_root, pure=False,
                                     retries=2): (first, stop) for first, stop in bounds}
            _gather(futures, results.__setitem__, bar)
    finally:
        if bar is not None:
            bar.close()
    merged = merge_results([results[b] for b in bounds])
    merged.target = target
    return merged


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UserInputError("sweep tables are parquet files: pip install 'lprnn_brian[sweep]' (pyarrow)") from None
    return pa, pq
