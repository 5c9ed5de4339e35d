"""The tasks of a sweep (:mod:`lprnn_brian.sweep`): one grid point's model and network, one chunk of samples run
on it (serially or as a Dask task, :mod:`lprnn_brian.sweep_dask`), and the chunks of a point combined into one
table row.

A chunk returns sufficient statistics (JSON-ready counts and sums), so that chunks combine exactly into the
row a single run over all samples would give.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math

import numpy as np

from .analysis.coding import READOUT_DECODES
from .convert import DEFAULT_THRESHOLD
from .targets.genn import TARGET as GENN_TARGET
from .targets.lava_device import TARGET as LAVA_TARGET
from .simulation import DECODES
from .targets import TARGETS as ALL_TARGETS

#: Targets that run only in an environment of their own (``scripts/setup-genn``, ``scripts/setup-cuda``,
#: ``scripts/setup-brian2lava``).
OWN_ENVIRONMENT = (GENN_TARGET, "cuda_standalone", LAVA_TARGET)
#: The Brian2 targets a sweep (or a distributed simulation) runs: every target of
#: :data:`lprnn_brian.targets.TARGETS` but those of :data:`OWN_ENVIRONMENT` (a worker runs in the sweep's own
#: Python environment).
TARGETS = tuple(t for t in ALL_TARGETS if t not in OWN_ENVIRONMENT)


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """[first, stop) sample ranges of at most ``size`` samples covering 0…n."""
    return [(first, min(first + size, n)) for first in range(0, n, size)]


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
    """The SNN spec of a grid point (its mode, its SNN step, its threshold policy, its read-out range)."""
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
                       threshold=point.get("threshold", cfg_threshold), readout_range=point.get("readout_range"))


# --- worker side -------------------------------------------------------------------------------------------
#: This process's open runner and its key: Brian2 holds one standalone device per process, so a worker keeps the
#: runner of the network it ran last (tasks are submitted grid point by grid point: a worker switches rarely, and
#: a re-opened network re-uses its build directory's compiled objects).
_RUNNER: dict = {}


def _runner(spec, target: str, batch: int, build_root):
    """This process's open Runner for ``spec`` (compiled once per process and network): ``batch`` samples per run
    in the target's fastest layout that samples every layer at frame ends
    (:func:`lprnn_brian.targets.resolve_layout`)."""
    import atexit

    from .targets import Runner, resolve_layout

    layout = resolve_layout(target, batch=batch, want="frames")
    key = (spec.digest(), target, tuple(sorted(layout.items())))
    if _RUNNER.get("key") != key:
        if "runner" in _RUNNER:
            _RUNNER.pop("runner").close()
        else:
            atexit.register(lambda: _RUNNER["runner"].close() if "runner" in _RUNNER else None)
        _RUNNER["runner"] = Runner(spec, target, build_root=build_root, **layout)
        _RUNNER["key"] = key
    return _RUNNER["runner"]


def release_runner() -> None:
    """Close this process's open sweep Runner, if any (a serial sweep on a standalone target keeps it open, and
    with it the process's one standalone device, until the process exits or this is called)."""
    runner = _RUNNER.pop("runner", None)
    _RUNNER.pop("key", None)
    if runner is not None:
        runner.close()


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
        preds = _jittered_predictions(spec, res, x.shape[0], sigma, (cfg["seed"], first, _point_seed(point)))
    out = {"n": int(x.shape[0]), "first": int(first), "stop": int(stop), "digest": spec.digest(),
           "steps_per_frame": float(spec.steps_per_frame), "tau_S": float(spec.layers[0].tau_S),
           "agree": {d: int(np.sum(p == ann_pred)) for d, p in preds.items()},
           "spikes": int(res.spikes_per_sample().sum())}
    if labels is not None:
        out["correct"] = {d: int(np.sum(p == labels)) for d, p in preds.items()}
        out["ann_correct"] = int(np.sum(ann_pred == labels))
    out["corr_stats"] = _fb_corr_stats(model, x, ann, spec, res)
    return out


def _jittered_predictions(spec, res, n_samples: int, sigma: float, seed: tuple) -> dict:
    """Classes per read-out decode (:data:`lprnn_brian.analysis.coding.READOUT_DECODES`) replayed from the last
    hidden layer's spikes jittered by σ steps."""
    from .analysis.coding import jitter_events, readout_from_spikes

    window = spec.readout_window
    rng = np.random.default_rng(list(seed))
    jittered = jitter_events(res.spikes[-2], sigma, spec.n_steps, rng)  # sample indices are chunk-local
    return {d: np.argmax(readout_from_spikes(spec, jittered, n_samples, window, decode=d), axis=1)
            for d in READOUT_DECODES}


def _fb_corr_stats(model, x, ann, spec, res) -> list:
    """Per layer, the sums :func:`corr_from_stats` needs for the fb decode against its ANN counterpart (None:
    the layer recorded no states)."""
    from .analysis.fidelity import ann_counterparts

    ref = ann_counterparts(model, x, ann, readout_range=spec.readout_range)["fb"]
    stats = []
    for k in range(len(spec.layers)):
        frames = res.frame_decodes["fb"][k]
        if frames is None:
            stats.append(None)
            continue
        a, b = frames.astype(np.float64).ravel(), np.asarray(ref[k], np.float64).ravel()
        stats.append([float(a.size), float(a.sum()), float(b.sum()), float(a @ a), float(b @ b), float(a @ b)])
    return stats


def _point_seed(point: dict) -> int:
    return int(hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:8], 16)


def point_id(point: dict) -> str:
    """A grid point's name in chunk files and task keys."""
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:12]


# --- combining ----------------------------------------------------------------------------------------------
def corr_from_stats(s) -> float | None:
    """Pearson correlation from summed statistics (n, Σa, Σb, Σa², Σb², Σab); None where a side is constant."""
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
            c = None if any(s is None for s in stats) else corr_from_stats(np.sum(stats, axis=0))
            row[f"layer_correlation_fb_{name}"] = float("nan") if c is None else c
    return row


