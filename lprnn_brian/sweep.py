"""Parameter sweeps (``lprnn-brian sweep``): the config, its inputs and the driver that runs (or resumes) a sweep.

A sweep is a TOML file: one model, one set of inputs, a grid of knobs, a target, the metrics. Every grid point
is split into chunks of samples; each chunk is one task on a Dask ``distributed`` cluster (a ``LocalCluster`` by
default, any scheduler address for a real cluster). A worker keeps one open :class:`lprnn_brian.targets.Runner`
per network (spec digest), so a standalone binary is compiled once per worker and model and re-used for all its
samples. Finished chunks are written as they arrive (``OUT.parts/``), so an interrupted sweep resumes where it
stopped; the table (``OUT``, parquet: one row per grid point) is written atomically at the end, with the config,
the versions and the seeds in its metadata. ``scheduler='serial'`` runs the same tasks in this process.

The tasks (a grid point's model and network, one chunk, the combined row) are in :mod:`lprnn_brian.sweep_tasks`,
the Dask machinery (and ``simulate --scheduler``'s :func:`lprnn_brian.sweep_dask.simulate_distributed`) in
:mod:`lprnn_brian.sweep_dask`, the parquet table in :mod:`lprnn_brian.sweep_table`.

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
``in``/``ip`` decodes only), ``mode`` (``float``/``loihi``), ``threshold`` (the comparator's threshold policy,
``unbiased``/``zero``) and ``readout_range`` (the largest logit the spiking read-out carries, ANN units;
docs/method.md#the-read-outs-range).
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import math
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .convert import DEFAULT_THRESHOLD, MODES, THRESHOLD_POLICIES
from .errors import UserInputError
from .fileio import atomic_path, check_writable
from .sweep_tasks import TARGETS, chunk_bounds, combine, point_id, run_chunk
from .sweep_table import write_table
from .compat import moved_names_of

#: ``model = "bundled:digits"`` names the package's bundled digits model (works from a plain pip install).
BUNDLED = "bundled:digits"
#: Knob → (type, check, description).
KNOBS = {
    "steps_per_frame": (float, lambda v: v > 0, "SNN steps per ANN frame M (> 0)"),
    "tau_S": (float, lambda v: v >= 1, "SNN steps per lp time constant (≥ 1)"),
    "weight_bits": (int, lambda v: 1 <= v <= 16, "weight bits b on [−1/2, 1/2), grid 2^−b (1…16)"),
    "retention": (float, lambda v: 0 < v < 1, "retention a of every lp layer (0 < a < 1)"),
    "jitter": (float, lambda v: v >= 0, "σ of the last hidden layer's spike jitter, SNN steps (≥ 0)"),
    "mode": (str, lambda v: v in MODES, "'float' or 'loihi'"),
    "threshold": (str, lambda v: v in THRESHOLD_POLICIES, f"a threshold policy, one of {THRESHOLD_POLICIES}"),
    "readout_range": (float, lambda v: 0 < v < math.inf, "the read-out's range R in ANN units (> 0)"),
}
METRICS = ("ann_accuracy", "snn_accuracy", "class_agreement", "layer_correlation", "spikes_per_sample")
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
    kw = _typed_keys(data, where)
    _check_values(kw, where)
    _check_grid(kw["grid"], where)
    _resolve_paths(kw, base)
    if not Path(kw["model"]).is_file():
        raise UserInputError(f"model file {kw['model']!r}{where} does not exist")
    _check_inputs_spec(kw["inputs"], kw["labels"], where)
    return SweepConfig(source=source, **kw)


def _typed_keys(data: dict, where: str) -> dict:
    """Every key of :data:`CONFIG_KEYS`: its value (of the right type) or its default; unknown keys refused."""
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
    return kw


def _check_values(kw: dict, where: str) -> None:
    """The top-level values lie in their ranges (counts ≥ 1, a known target, mode, threshold and metrics)."""
    for key in ("limit", "chunk", "batch"):
        if kw[key] is not None and kw[key] < 1:
            raise UserInputError(f"{key!r}{where} must be ≥ 1, got {kw[key]}")
    if kw["target"] not in TARGETS:
        raise UserInputError(f"'target'{where} must be one of {TARGETS}, got {kw['target']!r}")
    if kw["mode"] not in MODES:
        raise UserInputError(f"'mode'{where} must be 'float' or 'loihi', got {kw['mode']!r}")
    if kw["threshold"] not in THRESHOLD_POLICIES:
        raise UserInputError(f"'threshold'{where} must be one of {THRESHOLD_POLICIES}, got {kw['threshold']!r}")
    bad = [m for m in kw["metrics"] if m not in METRICS]
    if bad or not kw["metrics"]:
        raise UserInputError(f"'metrics'{where} must be a non-empty subset of {list(METRICS)}, got {kw['metrics']!r}")


def _check_grid(grid: dict, where: str) -> None:
    """Every knob known, its values a non-empty list of distinct valid values (converted to the knob's type in
    place); one way of setting the SNN step."""
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
                                                               and math.isfinite(v)
                                                               and (typ is float or float(v).is_integer()))
            if not good_type or not ok(typ(v)):
                raise UserInputError(f"grid knob {knob!r}{where}: value {v!r} is not {what}")
        grid[knob] = [typ(v) for v in values]
        if len(set(grid[knob])) != len(grid[knob]):
            raise UserInputError(f"grid knob {knob!r}{where} repeats a value")
    if "steps_per_frame" in grid and "tau_S" in grid:
        raise UserInputError(f"grid{where}: 'steps_per_frame' and 'tau_S' both set the SNN step; give one")


def _resolve_paths(kw: dict, base: Path | None) -> None:
    """The bundled model's path; relative model, labels and inputs paths against ``base`` where they exist."""
    if kw["model"] == BUNDLED:
        from .bundled import bundled_model_path

        kw["model"] = str(bundled_model_path())
    for key in ("model", "labels"):
        if kw[key] is not None and base is not None and not os.path.isabs(kw[key]):
            kw[key] = str((base / kw[key]).resolve()) if (base / kw[key]).exists() else kw[key]
    if not kw["inputs"].startswith(("digits:", "digits_shd:")) and base is not None and not os.path.isabs(kw["inputs"]):
        if (base / kw["inputs"]).exists():
            kw["inputs"] = str((base / kw["inputs"]).resolve())


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

    from .version import __version__

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
    from .ann.forward import check_inputs, check_labels, frame_count_note

    x = check_inputs(x, model.n_inputs)
    if labels is not None:
        labels = check_labels(labels, x.shape[0], model.n_classes)
    note = frame_count_note(model.n_frames, x.shape[1], model.readout_window)
    if note and log is not None:
        log(f"note: {note}")
    parts = _open_parts(cfg, out, force)
    points = cfg.points()
    chunks = chunk_bounds(x.shape[0], cfg.chunk)
    tasks, done = _pending(points, chunks, parts)
    reused = len(done)
    say = log or (lambda msg: None)
    say(f"sweep {cfg.name or cfg.source}: {len(points)} points × {len(chunks)} chunks; {reused} chunks already done")

    def record(task, result):
        point, pid, first, stop, f = task
        with atomic_path(f, force=True) as tmp:
            tmp.write_text(json.dumps(result))
        done[(pid, first)] = result

    _run_tasks(tasks, cfg, x, labels, record, scheduler=scheduler, workers=workers, build_root=build_root,
               progress=progress, say=say)
    layer_names = [L.name for L in model.layers]
    rows = []
    for point in points:
        pid = point_id(point)
        rows.append(combine(point, [done[(pid, first)] for first, _ in chunks], cfg.metrics, layer_names))
    meta = {"config": cfg.to_dict(), "config_digest": cfg.digest(), "versions": _versions(), "seed": cfg.seed,
            "scheduler": scheduler or f"LocalCluster({workers})", "wall_s": time.perf_counter() - t0,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_table(rows, out, meta, force=force)
    for f in parts.glob("*.json"):
        f.unlink()
    parts.rmdir()
    return SweepRun(out, rows, len(tasks), reused, time.perf_counter() - t0)


def _open_parts(cfg: SweepConfig, out: Path, force: bool) -> Path:
    """The folder of finished chunks (``OUT.parts``), stamped with the config's digest; finished chunks of another
    config are refused (or, with ``force``, discarded)."""
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
    return parts


def _pending(points: list[dict], chunks: list[tuple[int, int]], parts: Path) -> tuple[list, dict]:
    """(tasks still to run: (point, point id, first, stop, chunk file), results already in ``parts``: (point id,
    first) → chunk result)."""
    tasks, done = [], {}
    for point in points:
        pid = point_id(point)
        for first, stop in chunks:
            f = parts / f"{pid}-{first}-{stop}.json"
            if f.is_file():
                done[(pid, first)] = json.loads(f.read_text())
            else:
                tasks.append((point, pid, first, stop, f))
    return tasks, done


def _run_tasks(tasks: list, cfg: SweepConfig, x: np.ndarray, labels, record, *, scheduler, workers, build_root,
               progress: bool, say) -> None:
    """Run the chunk ``tasks`` in this process (``scheduler='serial'``) or on Dask, ``record`` each result."""
    cfg_d = cfg.to_dict()
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
        from .sweep_dask import run_on_dask

        run_on_dask(tasks, cfg, cfg_d, x, labels, scheduler, workers, build_root, record, bar, say)
    if bar is not None:
        bar.close()


#: Names that moved out of this module still answer for one release, with a warning (:mod:`lprnn_brian.compat`).
__getattr__ = moved_names_of(__name__)
