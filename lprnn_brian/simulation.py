"""Simulate an SNN spec on many input samples and collect spikes, sampled states and every decode.

Decodes (docs/method.md#input-decoding-and-compartments, docs/method.md#why-the-spikes-reproduce-the-rate-network), each
in ANN units, for both windows (``'second_half'``: n ≥ ⌊n_steps/2⌋, ``'all'``):

* ``fb``    = −i_fb/(κ f): the neuron's reconstruction of its own state (headline; κ = kick·τ_S/Iin_snn is
  the layer's kick relative to the nominal one, 1 for the threshold policy ``zero``);
* ``ip``    = i_ip/f: the integrated input;
* ``in``    = i_in·τ_I/f: the synaptic current, ≈ W ĥ_pre + U ĥ (the pre-activation less the bias);
* ``count`` = spikes per step × Iin (the read-out: × its range): the rate code.

The predicted class is the argmax of the last layer's time-mean decode.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ann.forward import check_inputs, readout_start
from .ann.model import READOUT_WINDOWS
from .convert import SNNSpec, frame_end_steps, step_frames
from .errors import UserInputError
from .fileio import atomic_path
from .targets import RawRun, Runner, resolve_layout
from .compat import moved_names_of

#: The decodes of every run, in the order of the module docstring (``fb`` the headline).
DECODES = ("fb", "ip", "in", "count")
#: Which recorded state each decode reads, and its scale to ANN units (given a layer's f, τ_I, Iin).
_DECODE_STATE = {"fb": "i_fb", "ip": "i_ip", "in": "i_in"}
RESULT_FORMAT = "lprnn_brian.simulation"
#: 2: the spec records its threshold policy and per-layer thresholds (files of version 1 ran threshold 0).
RESULT_VERSION = 2


def decode_scale(decode: str, layer):
    """Factor turning a recorded state (or a spike rate) into ANN units (for ``in`` a per-neuron vector when
    the layer has per-neuron τ_I); the spike rate's is the layer's clamp level (Iin, or the read-out's range)."""
    return {"fb": -1.0 / (layer.kick_gain * layer.factor), "ip": 1.0 / layer.factor, "in": layer.tau_I / layer.factor,
            "count": layer.clamp_level}[decode]


@dataclass
class SimulationResult:
    """Spikes, frame-sampled states and decodes of a multi-sample run.

    Attributes
    ----------
    spec : SNNSpec
        The network that ran.
    target : str
        Code-generation target.
    layer_names : list of str
    spikes : list of numpy.ndarray
        Per layer, (n_spikes, 3) int32 rows (sample, neuron, step).
    frame_decodes : dict
        ``frame_decodes[decode][layer]``: (samples, frames, units) float32, each decode sampled per frame in
        ANN units (fb/ip/in at frame ends, count as the rate within the frame). Only the decodes whose state
        was recorded (``simulate(record=...)``; all by default); None for a layer that recorded no states
        (the hidden layers under ``sampling='readout'``; their ``count`` decode is always there).
    decodes : dict
        ``decodes[decode][window][layer]``: (samples, units) float64 time means in ANN units.
    wall_s : dict
        ``build`` and ``run`` seconds.
    layout : dict
        How the network ran: ``batch``, ``sampling`` (what was recorded: ``'steps'``, ``'frames'`` or
        ``'readout'``), ``propagation`` and ``threads`` (empty for a result of another simulator).
    """

    spec: SNNSpec
    target: str
    layer_names: list[str]
    spikes: list[np.ndarray]
    frame_decodes: dict[str, list[np.ndarray]]
    decodes: dict[str, dict[str, list[np.ndarray]]]
    n_samples: int
    wall_s: dict[str, float] = field(default_factory=dict)
    #: Per-sample raw runs (every recorded state at every step), kept only with ``simulate(keep_raw=True)``.
    raw: list[RawRun] | None = None
    #: Free-form JSON-ready metadata saved with the result, e.g. ``info['evaluation']``: the comparison with the
    #: ANN written by ``lprnn-brian simulate --out`` (read back by ``lprnn-brian analyse``).
    info: dict = field(default_factory=dict)
    layout: dict = field(default_factory=dict)

    def predictions(self, decode: str = "fb", window: str | None = None) -> np.ndarray:
        """Class per sample: argmax of the last layer's decode."""
        window = window or self.spec.readout_window
        return np.argmax(self.decodes[decode][window][-1], axis=1)

    def spikes_per_sample(self) -> np.ndarray:
        """Total spikes of all layers, per sample."""
        counts = np.zeros(self.n_samples, dtype=np.int64)
        for s in self.spikes:
            counts += np.bincount(s[:, 0], minlength=self.n_samples)
        return counts

    def spike_raster(self, sample: int, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """(neuron, step) of every spike of ``layer`` in ``sample``."""
        s = self.spikes[layer]
        s = s[s[:, 0] == sample]
        return s[:, 1], s[:, 2]

    # --- file I/O -------------------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write an ``.npz`` (no pickles) atomically."""
        arrays: dict[str, np.ndarray] = {}
        for k, name in enumerate(self.layer_names):
            arrays[f"spikes/{name}"] = self.spikes[k]
            for d in self.frame_decodes:
                if self.frame_decodes[d][k] is None:  # not recorded in this layer
                    continue
                arrays[f"frames/{d}/{name}"] = self.frame_decodes[d][k]
                for w in READOUT_WINDOWS:
                    arrays[f"decode/{d}/{w}/{name}"] = self.decodes[d][w][k]
        spec_meta, spec_arrays = self.spec.to_arrays()
        arrays.update(spec_arrays)
        meta = {"format": RESULT_FORMAT, "format_version": RESULT_VERSION, "target": self.target,
                "layer_names": self.layer_names, "n_samples": self.n_samples, "wall_s": self.wall_s,
                "layout": self.layout, "spec": spec_meta, "info": self.info}
        arrays["meta"] = np.array(json.dumps(meta, default=float))
        with atomic_path(path, force) as tmp:
            np.savez_compressed(tmp, **arrays)
        return Path(path)


def load_result(path: str | Path) -> SimulationResult:
    """Read a result written by :meth:`SimulationResult.save`; every array is read and checked here, so a
    damaged file (missing member, truncated or zeroed bytes, wrong shapes) is a :class:`UserInputError` now rather
    than a crash later."""
    path = Path(path)
    redo = "write it again with `lprnn-brian simulate ... --out run.npz`"
    if not path.is_file():
        raise UserInputError(f"run file {path} does not exist; {redo}")
    try:
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"][()]))
    except Exception as e:  # noqa: BLE001 - any failure here means "not our file"
        raise UserInputError(f"{path} is not an lprnn_brian simulation result ({type(e).__name__}); {redo}")
    if not isinstance(meta, dict) or meta.get("format") != RESULT_FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise UserInputError(f"{path} is not an lprnn_brian simulation result (format {fmt!r}); {redo}")
    if not isinstance(meta.get("format_version", 0), int) or meta.get("format_version", 0) > RESULT_VERSION:
        raise UserInputError(f"{path} was written by a newer lprnn_brian (format version "
                             f"{meta['format_version']}); upgrade lprnn_brian to read it")
    try:
        with z:
            arrays = {k: z[k] for k in z.files}  # read (and decompress, CRC-check) every member now
        result = _result_from(meta, arrays)
    except UserInputError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged or incomplete file
        detail = f"missing {e}" if isinstance(e, KeyError) else type(e).__name__
        raise UserInputError(f"{path} is a damaged lprnn_brian simulation result ({detail}); {redo}") from None
    return result


def _result_from(meta: dict, z: dict) -> SimulationResult:
    """A :class:`SimulationResult` from a result file's metadata and arrays, their shapes checked."""
    names = list(meta["layer_names"])
    n_samples = int(meta["n_samples"])
    spec = SNNSpec.from_arrays(meta["spec"], z)
    if n_samples < 1 or not names or len(names) != len(spec.layers):
        raise ValueError("layer names or sample count")
    n_in = None
    for L in spec.layers:  # the spec's arrays: every layer's weights and biases, U of an lpRNN layer
        shapes = {"W_ann": (L.n, n_in), "W_snn": (L.n, n_in), "b_tilde": (L.n,)}
        if L.kind == "lprnn":
            shapes["U_snn"] = (L.n, L.n)
        for a, shape in shapes.items():
            v = getattr(L, a)
            if v is None or v.ndim != len(shape) or any(e is not None and e != g for e, g in zip(shape, v.shape)):
                raise ValueError(f"spec/{L.name}/{a}")
        n_in = L.n

    def members(d: str, n: str) -> list[str]:
        return [f"frames/{d}/{n}"] + [f"decode/{d}/{w}/{n}" for w in READOUT_WINDOWS]

    # the read-out records every decode of the run
    present = [d for d in DECODES if d == "count" or any(m in z for m in members(d, names[-1]))]

    for n in names:  # a decode's members come as a whole; only a hidden layer's state decodes may be absent
        for d in present:
            have = [m in z for m in members(d, n)]
            if not all(have) and (any(have) or d == "count" or n == names[-1]):
                raise KeyError(members(d, n)[have.index(False)])
        states = [d for d in present if d != "count"]
        if len({f"frames/{d}/{n}" in z for d in states}) > 1:
            raise KeyError(f"a state decode of {n}")

    def get(key: str, shape: tuple) -> np.ndarray | None:
        if key not in z:
            return None
        a = z[key]
        if a.shape != shape or a.dtype.kind != "f":
            raise ValueError(f"{key} has shape {a.shape}")
        return a

    spikes = []
    for n, L in zip(names, spec.layers):
        s = z[f"spikes/{n}"]
        if s.ndim != 2 or s.shape[1] != 3 or s.dtype.kind not in "iu":
            raise ValueError(f"spikes/{n} has shape {s.shape}")
        if s.size and (s[:, 0].min() < 0 or s[:, 0].max() >= n_samples or s[:, 1].min() < 0
                       or s[:, 1].max() >= L.n or s[:, 2].min() < 0 or s[:, 2].max() >= spec.n_steps):
            raise ValueError(f"spikes/{n} out of range")
        spikes.append(s)
    return SimulationResult(
        spec=spec, target=meta["target"], layer_names=names, spikes=spikes,
        frame_decodes={d: [get(f"frames/{d}/{n}", (n_samples, spec.n_frames, L.n)) for n, L in zip(names, spec.layers)]
                       for d in present},
        decodes={d: {w: [get(f"decode/{d}/{w}/{n}", (n_samples, L.n)) for n, L in zip(names, spec.layers)]
                     for w in READOUT_WINDOWS} for d in present},
        n_samples=n_samples, wall_s=meta.get("wall_s", {}), info=meta.get("info", {}),
        layout=meta.get("layout", {}),
    )


def simulate(
    spec: SNNSpec,
    x: np.ndarray,
    *,
    target: str = "cpp_standalone",
    runner: Runner | None = None,
    progress: bool = False,
    build_root: str | Path | None = None,
    keep_raw: bool = False,
    record: tuple[str, ...] | None = None,
    batch: int | None = None,
    sampling: str | None = None,
    propagation: str | None = None,
    threads: int = 0,
) -> SimulationResult:
    """Run ``spec`` on inputs ``x`` (samples, frames, features) and decode.

    Parameters
    ----------
    spec : SNNSpec
    x : ndarray
        ANN input frames, (samples, frames, features) float.
    target : {'numpy', 'cython', 'cpp_standalone', 'genn', 'cuda_standalone'}
        The last two in the environments of ``scripts/setup-genn`` and ``scripts/setup-cuda``.
    runner : Runner, optional
        An open runner for ``spec`` (re-used across calls; otherwise one is built and closed here).
    progress : bool
        Show a progress bar on stderr.
    record : tuple of str, optional
        States recorded every step (default: ``i_fb``, ``i_ip``, ``i_in``, every decode). Fewer states make
        long runs faster; only the decodes of recorded states (and ``count``) are returned. Ignored when
        ``runner`` is given (its own recording applies).
    batch, sampling, propagation, threads :
        Network copies per run, state sampling (``'steps'``, ``'frames'`` or ``'readout'``), spike
        propagation (``'synapses'`` or ``'rows'``, cpp_standalone) and OpenMP threads, see
        :class:`lprnn_brian.targets.Runner`; every choice gives the same spikes and decodes (``'readout'``: of
        the read-out layer only). None (default) chooses the fastest the target runs
        (:func:`lprnn_brian.targets.resolve_layout`): on cpp_standalone up to 32 samples per run, frame-end
        sampling and row propagation; ``keep_raw=True`` samples every step. ``batch=1, sampling='steps',
        propagation='synapses'`` is the plain network (one Brian2 run per sample). Ignored when ``runner`` is
        given. The result records the layout that ran (:attr:`SimulationResult.layout`).
    """
    x = check_inputs(x, spec.layers[0].W_ann.shape[1])
    if x.shape[1] != spec.n_frames:
        raise UserInputError(f"inputs have {x.shape[1]} frames but the network was converted for "
                             f"{spec.n_frames}; convert with n_frames={x.shape[1]}")
    t0 = time.perf_counter()
    own = runner is None
    if own:
        layout = resolve_layout(target, batch=batch, sampling=sampling, propagation=propagation,
                                n_samples=x.shape[0], want="steps" if keep_raw else "frames")
        runner = Runner(spec, target, build_root=build_root, record=record, threads=threads, **layout)
    t_build = time.perf_counter() - t0
    raws: list[RawRun] = []
    try:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=x.shape[0], desc=f"simulating ({runner.target})", unit="sample", file=None)
        per_sample = []
        for first in range(0, x.shape[0], runner.batch):
            chunk = range(first, min(first + runner.batch, x.shape[0]))
            for s, raw in zip(chunk, runner.run_inputs(x[chunk.start:chunk.stop])):
                if keep_raw:
                    raws.append(raw)
                per_sample.append(_summarise(spec, raw, s, runner.record))
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
    finally:
        if own:
            runner.close()
    t_run = time.perf_counter() - t0 - t_build
    result = _assemble(spec, runner.target, per_sample, runner.record, {"build": t_build, "run": t_run})
    result.raw = raws if keep_raw else None
    result.layout = {"batch": runner.batch, "sampling": runner.sampling, "propagation": runner.propagation,
                     "threads": runner.threads}
    return result


def result_from_raw(spec: SNNSpec, raws: list[RawRun], target: str, record: tuple[str, ...] = ("i_fb", "i_ip", "i_in"),
                    wall_s: dict | None = None) -> SimulationResult:
    """A :class:`SimulationResult` from per-sample raw runs of another simulator (e.g. the Loihi emulator,
    :mod:`lprnn_brian.loihi.emulator`) recorded in this module's convention (index n: state before step n)."""
    per_sample = [_summarise(spec, raw, s, record) for s, raw in enumerate(raws)]
    return _assemble(spec, target, per_sample, record, wall_s or {})


def _assemble(spec: SNNSpec, target: str, per_sample: list[dict], record: tuple[str, ...],
              wall_s: dict) -> SimulationResult:
    names = [L.name for L in spec.layers]
    present = [d for d in DECODES if d == "count" or _DECODE_STATE[d] in record]
    spikes = [np.concatenate([p["spikes"][k] for p in per_sample]) for k in range(len(names))]
    frame_decodes = {d: [_stack([p["frames"][d][k] for p in per_sample]) for k in range(len(names))]
                     for d in present}
    decodes = {d: {w: [_stack([p["means"][d][w][k] for p in per_sample]) for k in range(len(names))]
                   for w in READOUT_WINDOWS} for d in present}
    return SimulationResult(spec, target, names, spikes, frame_decodes, decodes, len(per_sample), wall_s)


def _stack(per_sample: list) -> np.ndarray | None:
    """Stack one layer's per-sample arrays; None where the layer did not record the decode's state."""
    return None if per_sample[0] is None else np.stack(per_sample)


def _summarise(spec: SNNSpec, raw: RawRun, sample: int, record: tuple[str, ...]) -> dict:
    """Reduce one sample's raw run to spikes, per-frame decodes and window means (None for a state decode of
    a layer that recorded no states, the hidden layers under ``sampling='readout'``)."""
    ends = frame_end_steps(spec)
    frames_of_step = step_frames(spec)
    steps_per_frame = np.bincount(frames_of_step, minlength=spec.n_frames)
    out = {"spikes": [], "frames": {d: [] for d in DECODES},
           "means": {d: {w: [] for w in READOUT_WINDOWS} for d in DECODES}}
    sampled = raw.frame_states is not None
    for k, L in enumerate(spec.layers):
        i, n = raw.spike_i[k], raw.spike_step[k]
        out["spikes"].append(np.stack([np.full_like(i, sample), i, n], axis=1).astype(np.int32))
        recorded = raw.frame_states[k] if sampled else raw.states[k]
        for d in DECODES:
            if d != "count" and _DECODE_STATE[d] not in record:
                continue  # not recorded at all
            if d != "count" and _DECODE_STATE[d] not in recorded:  # not recorded in this layer
                out["frames"][d].append(None)
                for w in READOUT_WINDOWS:
                    out["means"][d][w].append(None)
                continue
            scale = decode_scale(d, L)
            if d == "count":
                per_step = np.zeros((spec.n_steps, L.n))
                np.add.at(per_step, (n, i), 1.0)
                frames = np.zeros((spec.n_frames, L.n))
                np.add.at(frames, frames_of_step, per_step)
                out["frames"][d].append((scale * frames / steps_per_frame[:, None]).astype(np.float32))
                means = {w: per_step[readout_start(spec.n_steps, w):].mean(axis=0) for w in READOUT_WINDOWS}
            elif sampled:
                state = _DECODE_STATE[d]
                out["frames"][d].append((scale * recorded[state]).astype(np.float32))
                means = {w: raw.window_sums[k][state][w] / (spec.n_steps - readout_start(spec.n_steps, w))
                         for w in READOUT_WINDOWS}
            else:
                trace = recorded[_DECODE_STATE[d]]
                out["frames"][d].append((scale * trace[ends]).astype(np.float32))
                means = {w: trace[readout_start(spec.n_steps, w):].mean(axis=0) for w in READOUT_WINDOWS}
            for w in READOUT_WINDOWS:
                out["means"][d][w].append(scale * means[w])
    return out


def merge_results(results: list[SimulationResult]) -> SimulationResult:
    """Concatenate results of consecutive sample chunks of one network (sample indices renumbered)."""
    if not results:
        raise UserInputError("nothing to merge")
    first = results[0]
    offsets = np.cumsum([0] + [r.n_samples for r in results[:-1]])
    spikes = []
    for k in range(len(first.layer_names)):
        parts = []
        for off, r in zip(offsets, results):
            s = r.spikes[k].copy()
            s[:, 0] += off
            parts.append(s)
        spikes.append(np.concatenate(parts))
    frame_decodes = {d: [None if first.frame_decodes[d][k] is None else
                         np.concatenate([r.frame_decodes[d][k] for r in results])
                         for k in range(len(first.layer_names))] for d in first.frame_decodes}
    decodes = {d: {w: [None if first.decodes[d][w][k] is None else
                       np.concatenate([r.decodes[d][w][k] for r in results])
                       for k in range(len(first.layer_names))] for w in first.decodes[d]} for d in first.decodes}
    wall = {k: float(sum(r.wall_s.get(k, 0.0) for r in results)) for k in first.wall_s}
    return SimulationResult(first.spec, first.target, list(first.layer_names), spikes, frame_decodes, decodes,
                            int(sum(r.n_samples for r in results)), wall, layout=dict(first.layout))


#: Names that moved out of this module still answer for one release, with a warning (:mod:`lprnn_brian.compat`).
__getattr__ = moved_names_of(__name__)
