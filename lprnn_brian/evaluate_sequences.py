"""Task success of a trained adding or copying lpRNN, in the rate network (numpy) or its ΣΔ network (Brian2).

- **Adding**: the prediction is the read-out at the last frame. ANN: o_T. SNN: a decode of the read-out at the
  end of the last frame (:attr:`lprnn_brian.simulation.SimulationResult.frame_decodes`), in ANN units. Score:
  MSE against the sum of the marked values; solved when MSE < 0.01 (the 2019 criterion).
- **Copying**: the prediction at every frame is the argmax of the read-out (ANN: o_t; SNN: its decode at the
  frame end). Scores: recall-window accuracy (the success criterion, ≥ 0.96) and all-step accuracy (the 2019
  code's criterion, for comparison).

**Which decode** (:data:`SEQUENCE_DECODE`). The sequence tasks read the SNN with ``in`` by default: the read-out's
synaptic current i_in·τ_I/f plus the read-out bias, that is W_o times the hidden layer's reconstruction (the
synapse decodes the hidden spikes with the hidden layer's own feedback filter), the unclamped read-out o_t. The
``fb`` decode (the classification headline) re-encodes that sum with a second ΣΔ loop, whose reconstruction rises
by at most one kick Iin/τ_S per step: a read-out that must change within a frame or two (the answer right after
the last marked value, a new symbol every recall frame) lags by up to τ_S steps, and values outside [0, Iin] are
clamped (logits below 0 tie at 0). Both are recorded in one run (:func:`evaluate_snn`); the ANN report of copying
also gives the accuracy of clamp(o, 0, Iin), what the fb decode's range costs before any spike.
See docs/method.md#reading-out-a-sequence.

By default the sequences are the trainer's test sequences for that length (the seed stream of
:func:`lprnn_brian.tasks.seeds.seed_sequence` with the model's training seed), so
``evaluate_adding(model)`` reproduces the test MSE recorded in the model's provenance.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ann.forward import CLAMPS, forward
from .ann.model import LpRNNModel
from .bundled import SEQUENCE_MODELS, bundled_sequence_model
from .convert import DEFAULT_THRESHOLD, MODES
from .errors import UserInputError
from .tasks import adding as adding_task
from .tasks import copying as copying_task
from .tasks.seeds import rng_for

BACKENDS = ("ann", "snn")
#: Which recorded SNN state each read-out decode needs.
_DECODE_RECORD = {"fb": "i_fb", "ip": "i_ip", "in": "i_in", "count": None}
#: The sequence tasks' default SNN decode (the module docstring says why); ``fb`` is reported beside it.
SEQUENCE_DECODE = "in"


@dataclass
class AddingEvaluation:
    """Score of a model on adding sequences.

    Attributes
    ----------
    length, n : int
        Sequence length L and number of sequences.
    backend : {'ann', 'snn'}
    mse : float
        Mean squared error of the predictions (target units: sums of k values in [0, 1)).
    chance_mse : float
        MSE of predicting the mean target, k/12 averaged over the sequences' k.
    solved : bool
        mse < 0.01 (docs/method.md#temporal-adding).
    predictions, targets : numpy.ndarray
        (n,) float64.
    detail : dict
        Backend settings (clamp; or mode, target, decode, Δt_S, steps, wall time, spikes per sample).
    """

    length: int
    n: int
    backend: str
    mse: float
    chance_mse: float
    solved: bool
    predictions: np.ndarray
    targets: np.ndarray
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Scalars only (JSON)."""
        return {"task": "adding", "length": self.length, "n": self.n, "backend": self.backend, "mse": self.mse,
                "chance_mse": self.chance_mse, "solved": self.solved, **self.detail}


@dataclass
class CopyingEvaluation:
    """Score of a model on copying sequences.

    Attributes
    ----------
    delay, n_recall, n : int
        T, S and the number of sequences.
    backend : {'ann', 'snn'}
    recall_accuracy : float
        Fraction of recall-window steps predicted correctly (the success criterion).
    all_step_accuracy : float
        Fraction of all steps predicted correctly (the 2019 criterion).
    solved : bool
        recall_accuracy ≥ 0.96.
    predictions : numpy.ndarray
        (n, T + 2S) int64 predicted classes; ``targets`` the true ones.
    detail : dict
        Backend settings and, for the ANN, the scores of the clamped read-out clamp(o, 0, Iin).
    """

    delay: int
    n_recall: int
    n: int
    backend: str
    recall_accuracy: float
    all_step_accuracy: float
    solved: bool
    predictions: np.ndarray
    targets: np.ndarray
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Scalars only (JSON)."""
        return {"task": "copying", "delay": self.delay, "n_recall": self.n_recall, "n": self.n,
                "backend": self.backend, "recall_accuracy": self.recall_accuracy,
                "all_step_accuracy": self.all_step_accuracy, "solved": self.solved, **self.detail}


def _train_info(model: LpRNNModel) -> dict:
    return dict(model.provenance.get("curriculum", {}) or {})


def _n(model: LpRNNModel, n: int | None) -> int:
    """The number of test sequences: ``n``, else the training's ``n_test``, else 1,000 (the paper)."""
    if n is None:
        n = model.provenance.get("train_config", {}).get("n_test", 1000)
    if int(n) < 1:
        raise UserInputError(f"n must be >= 1 sequences, got {n}")
    return int(n)


def _seed(model: LpRNNModel, seed: int | None) -> int:
    if seed is not None:
        return int(seed)
    return int(model.provenance.get("seed", 0) or 0)


def _clamp(model: LpRNNModel, clamp: str | None) -> str:
    clamp = clamp or model.provenance.get("train_config", {}).get("clamp", "clamp_then_filter")
    if clamp not in CLAMPS:
        raise UserInputError(f"clamp must be one of {CLAMPS}, got {clamp!r}")
    return clamp


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise UserInputError(f"backend must be one of {BACKENDS}, got {backend!r}")


#: The sequence streams an evaluation can draw: the test sequences (reported scores) and the validation sequences
#: (what the trainer selects models on; :func:`lprnn_brian.tasks.seeds.seed_sequence`).
SPLITS = ("test", "validation")


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise UserInputError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def adding_inputs(model: LpRNNModel, length: int, n: int, seed: int | None = None,
                  split: str = "test") -> adding_task.AddingData:
    """The adding sequences an evaluation uses: the trainer's test (or validation) stream for ``length`` (seed: the
    model's training seed unless given), with the model's ``max_entries``/``min_entries``."""
    feats = model.features
    return adding_task.adding_data(int(n), int(length), max_entries=int(feats.get("max_entries", 2)),
                                   min_entries=int(feats.get("min_entries", 2)),
                                   rng=rng_for(_seed(model, seed), "adding", _check_split(split), int(length)))


def copying_inputs(model: LpRNNModel, delay: int, n: int, n_recall: int | None = None,
                   seed: int | None = None, split: str = "test") -> copying_task.CopyingData:
    """The copying sequences an evaluation uses: the trainer's test (or validation) stream for (T, S)."""
    feats = model.features
    S = int(n_recall if n_recall is not None else feats.get("n_recall", copying_task.N_RECALL))
    return copying_task.copying_data(int(n), int(delay), n_recall=S, n_symbols=int(feats.get("n_symbols", 7)),
                                     rng=rng_for(_seed(model, seed), "copying", _check_split(split), int(delay), S))


def step_for_tau_S(model: LpRNNModel, tau_S: float) -> float:
    """The SNN step Δt_S (s) that gives the fastest unit of the first layer a feedback time constant of
    ``tau_S`` steps: τ_min/τ_S. The ripple of every decode is about Iin/τ_S ANN units
    (docs/method.md#why-the-spikes-reproduce-the-rate-network)."""
    from .equations.derive import tau_seconds

    if not float(tau_S) >= 1:
        raise UserInputError(f"tau_S must be >= 1 SNN step, got {tau_S}")
    a = model.layers[0].retention_vector()
    return min(tau_seconds(float(v), model.frame_dt) for v in np.unique(a)) / float(tau_S)


def _snn_readout(model: LpRNNModel, x: np.ndarray, *, mode: str, target: str, decodes: tuple[str, ...],
                 dt: float | None, tau_S: float | None, build_root, progress: bool,
                 threshold: str) -> tuple[dict[str, np.ndarray], dict]:
    """Per decode, the (samples, frames, outputs) per-frame read-out of one run of the ΣΔ network; run details."""
    from .convert import to_snn_spec
    from .simulation import simulate
    from .targets import resolve_layout

    decodes = tuple(dict.fromkeys(decodes))
    bad = [d for d in decodes if d not in _DECODE_RECORD]
    if bad or not decodes:
        raise UserInputError(f"decode must be one of {tuple(_DECODE_RECORD)}, got {bad or decodes!r}")
    t0 = time.perf_counter()
    if tau_S is not None:
        if dt is not None:
            raise UserInputError("give the SNN step either as dt or as tau_S, not both")
        dt = step_for_tau_S(model, tau_S)
    spec = to_snn_spec(model, mode=mode, n_frames=x.shape[1], dt=dt, threshold=threshold)
    record = tuple(_DECODE_RECORD[d] for d in decodes if _DECODE_RECORD[d])
    # many sequences per run, the read-out's states at frame ends only where the target can (cpp_standalone also
    # propagates by weight rows); the same spikes and decodes as one run per sequence (tests/test_batch.py)
    fast = resolve_layout(target, n_samples=len(x), want="readout")
    res = simulate(spec, x, target=target, build_root=build_root, progress=progress, record=record, **fast)
    outs = {}
    for d in decodes:
        out = res.frame_decodes[d][-1].astype(np.float64)
        if d == "in":  # i_in·τ_I/f ≈ W_o ĥ: add the read-out bias for the full, unclamped read-out
            out = out + model.quantised().layers[-1].b.astype(np.float64)
        outs[d] = out
    detail = {"mode": mode, "target": target, "threshold": spec.threshold_policy,
              "dt_S": spec.dt, "tau_S": spec.layers[0].tau_S,
              "n_steps": spec.n_steps,
              "steps_per_frame": spec.steps_per_frame,
              "spikes_per_sample": float(np.mean(res.spikes_per_sample())),
              "retention_error": [L.retention.get("max_abs_error") for L in spec.layers if L.retention],
              "wall_s": time.perf_counter() - t0}
    return outs, detail


def _adding_score(data: adding_task.AddingData, backend: str, pred: np.ndarray, detail: dict) -> AddingEvaluation:
    y = data.y.astype(np.float64)
    mse = adding_task.adding_mse(pred, data)
    return AddingEvaluation(int(data.x.shape[1]), int(len(y)), backend, mse,
                            adding_task.chance_mse(float(np.mean(data.k))), adding_task.adding_solved(mse), pred, y,
                            detail)


def _copying_score(data: copying_task.CopyingData, T: int, S: int, backend: str, pred: np.ndarray,
                   detail: dict) -> CopyingEvaluation:
    recall = copying_task.recall_accuracy(pred, data)
    return CopyingEvaluation(int(T), int(S), int(len(pred)), backend, recall, copying_task.all_step_accuracy(pred, data),
                             copying_task.copying_solved(recall), pred.astype(np.int64), data.y, detail)


def _task_data(model: LpRNNModel, task: str, length: int | None, n: int | None, seed: int | None,
               n_recall: int | None = None, split: str = "test"):
    """The checked test sequences of ``task`` for ``model``: (data, T, S); T is L for adding (default the model's
    n_frames) or the delay for copying (default n_frames − 2S), S the copying recall length (None for adding)."""
    n = _n(model, n)
    if task == "adding":
        if model.n_inputs != 2 or model.n_classes != 1:
            raise UserInputError(f"an adding model has 2 inputs and 1 output; this one has {model.n_inputs} and "
                                 f"{model.n_classes}")
        T = int(length if length is not None else model.n_frames)
        return adding_inputs(model, T, n, seed, split), T, None
    S = int(n_recall if n_recall is not None else model.features.get("n_recall", copying_task.N_RECALL))
    T = int(length if length is not None else model.n_frames - 2 * S)
    if T < 1:
        raise UserInputError(f"delay must be ≥ 1, got {T}")
    data = copying_inputs(model, T, n, S, seed, split)
    if model.n_inputs != data.n_classes or model.n_classes != data.n_classes:
        raise UserInputError(f"a copying model with {data.n_symbols} symbols has {data.n_classes} inputs and "
                             f"outputs; this one has {model.n_inputs} and {model.n_classes}")
    return data, T, S


def longest_length(model: LpRNNModel, task: str) -> int:
    """The longest length a sequence model's training solved: L (adding) or the delay T (copying), from its
    ``n_frames`` (T + 2S for copying)."""
    if task == "adding":
        return int(model.n_frames)
    return int(model.n_frames) - 2 * int(model.features.get("n_recall", copying_task.N_RECALL))


def curve_lengths(model: LpRNNModel, task: str, grid, with_longest: bool = True) -> list[int]:
    """The lengths of ``grid`` up to the model's :func:`longest_length`, and (``with_longest``) that length itself:
    a curriculum network is tuned to its last length."""
    longest = longest_length(model, task)
    return sorted({int(v) for v in grid if int(v) <= longest} | ({longest} if with_longest else set()))


def evaluate_snn(model: LpRNNModel, task: str, length: int | None = None, decodes=(SEQUENCE_DECODE, "fb"), *,
                 n: int | None = None, seed: int | None = None, n_recall: int | None = None, mode: str = "float",
                 target: str = "cpp_standalone", dt: float | None = None, tau_S: float | None = None,
                 build_root: str | Path | None = None, progress: bool = False,
                 threshold: str = DEFAULT_THRESHOLD, split: str = "test") -> dict:
    """The ΣΔ network's score on ``task`` ('adding' or 'copying') for several read-out decodes from one run.

    Returns ``{decode: AddingEvaluation | CopyingEvaluation}``, each what :func:`evaluate_adding` /
    :func:`evaluate_copying` with ``backend='snn'`` and that decode return (the same sequences, spikes and
    numbers). ``length`` is L (adding) or the delay T (copying); other parameters as :func:`evaluate_adding`.
    """
    if task not in ("adding", "copying"):
        raise UserInputError(f"task must be 'adding' or 'copying', got {task!r}")
    data, T, S = _task_data(model, task, length, n, seed, n_recall, split)
    outs, detail = _snn_readout(model, data.x, mode=mode, target=target, decodes=tuple(decodes), dt=dt, tau_S=tau_S,
                                build_root=build_root, progress=progress, threshold=threshold)
    if task == "adding":
        return {d: _adding_score(data, "snn", o[:, -1, 0], {**detail, "decode": d}) for d, o in outs.items()}
    return {d: _copying_score(data, T, S, "snn", np.argmax(o, axis=-1), {**detail, "decode": d})
            for d, o in outs.items()}


def evaluate_adding(model: LpRNNModel, length: int | None = None, n: int | None = None, seed: int | None = None,
                    backend: str = "ann", *, clamp: str | None = None, mode: str = "float",
                    target: str = "cpp_standalone", decode: str = SEQUENCE_DECODE, dt: float | None = None,
                    tau_S: float | None = None, build_root: str | Path | None = None,
                    progress: bool = False, threshold: str = DEFAULT_THRESHOLD,
                    split: str = "test") -> AddingEvaluation:
    """MSE of ``model`` on ``n`` adding sequences of ``length`` steps.

    Parameters
    ----------
    model : LpRNNModel
        A trained adding model (2 inputs, 1 output).
    length : int, optional
        L; default the model's ``n_frames`` (the longest length its training solved).
    n : int, optional
        Number of sequences; default the training's ``n_test`` (1,000 in the paper). The first sequences of
        a stream depend on ``n``: the training's test sequences are those of its own ``n_test``.
    seed : int, optional
        Seed of the test stream; default the model's training seed (with its ``n_test``: the very test
        sequences the training scored L on).
    backend : {'ann', 'snn'}
        Numpy rate network, or its ΣΔ network simulated with Brian2.
    clamp : {'clamp_then_filter', 'filter_then_clamp'}, optional
        ANN clamp convention (default: the one it was trained with).
    mode, target, decode : str
        SNN only: arithmetic ('float' or 'loihi'), Brian2 target, and the read-out decode (default
        :data:`SEQUENCE_DECODE`; :func:`evaluate_snn` scores several from one run).
    dt, tau_S : float, optional
        SNN only: the step Δt_S in seconds, or the feedback time constant τ_S in steps it should give
        (:func:`step_for_tau_S`). Default: :func:`lprnn_brian.convert.find_params`'s, τ_S = 64 steps for
        1/8-grid weights, the finest Loihi's 24-bit integers allow. A larger τ_S (float mode) lowers the
        ripple Iin/τ_S (0.094 at 64) proportionally, at proportionally more steps.
    build_root, progress :
        SNN only: standalone build cache and a progress bar.
    threshold : {'unbiased', 'zero'}
        SNN only: the comparator's threshold policy (:func:`lprnn_brian.convert.to_snn_spec`).
    split : {'test', 'validation'}
        The test sequences (reported scores), or the validation sequences the trainer selects on.
    """
    _check_backend(backend)
    if backend == "snn":
        return evaluate_snn(model, "adding", length, (decode,), n=n, seed=seed, mode=mode, target=target, dt=dt,
                            tau_S=tau_S, build_root=build_root, progress=progress, threshold=threshold,
                            split=split)[decode]
    data, _, _ = _task_data(model, "adding", length, n, seed, split=split)
    c = _clamp(model, clamp)
    pred = forward(model, data.x, clamp=c, keep_states=False).output[:, -1, 0].astype(np.float64)
    return _adding_score(data, "ann", pred, {"clamp": c})


def evaluate_copying(model: LpRNNModel, delay: int | None = None, n: int | None = None, seed: int | None = None,
                     backend: str = "ann", *, n_recall: int | None = None, clamp: str | None = None,
                     mode: str = "float", target: str = "cpp_standalone", decode: str = SEQUENCE_DECODE,
                     dt: float | None = None, tau_S: float | None = None, build_root: str | Path | None = None,
                     progress: bool = False, threshold: str = DEFAULT_THRESHOLD,
                     split: str = "test") -> CopyingEvaluation:
    """Recall-window and all-step accuracy of ``model`` on ``n`` copying sequences with delay ``delay``.

    Parameters
    ----------
    model : LpRNNModel
        A trained copying model (n_symbols + 2 inputs and outputs).
    delay : int, optional
        T; default the longest delay its training solved (``n_frames − 2 S``).
    n_recall : int, optional
        S; default the model's (8).
    Other parameters as :func:`evaluate_adding`.
    """
    _check_backend(backend)
    if backend == "snn":
        return evaluate_snn(model, "copying", delay, (decode,), n=n, seed=seed, n_recall=n_recall, mode=mode,
                            target=target, dt=dt, tau_S=tau_S, build_root=build_root, progress=progress,
                            threshold=threshold, split=split)[decode]
    data, T, S = _task_data(model, "copying", delay, n, seed, n_recall, split)
    c = _clamp(model, clamp)
    o = forward(model, data.x, clamp=c, keep_states=False).output
    clamped = np.argmax(np.clip(o, 0.0, model.Iin), axis=-1)
    detail = {"clamp": c, "recall_accuracy_clamped_readout": copying_task.recall_accuracy(clamped, data),
              "all_step_accuracy_clamped_readout": copying_task.all_step_accuracy(clamped, data)}
    return _copying_score(data, T, S, "ann", np.argmax(o, axis=-1), detail)


#: File names of the bundled sequence models (their home: :data:`lprnn_brian.bundled.SEQUENCE_MODELS`).
BUNDLED = SEQUENCE_MODELS


#: Where the ANN is good enough for its SNN to be held to the task's criterion: adding MSE ≤ 0.005 (half the
#: pass mark), copying recall-window accuracy ≥ 0.99.
ANN_GOOD = {"adding": 0.005, "copying": 0.99}


def task_curve(model: LpRNNModel, task: str, lengths, *, n: int = 100, modes=MODES,
               thresholds=("unbiased", "zero"), decodes=(SEQUENCE_DECODE, "fb"), target: str = "cpp_standalone",
               build_root: str | Path | None = None, log=None) -> list[dict]:
    """The task's score of the ANN and of its ΣΔ network at several sequence lengths (adding: L; copying: the
    delay T), for each mode and threshold policy, on the same seeded test sequences; every decode in ``decodes``
    from the same run, the first one the headline.

    Returns one dict per length: ``length``, ``ann`` (MSE or recall-window accuracy), ``ann_good`` (the ANN meets
    :data:`ANN_GOOD`), ``decode`` (the headline), ``snn[mode][threshold]`` (its score), ``snn_solved[mode][threshold]``
    (the 2019 criterion: MSE < 0.01, recall ≥ 0.96), ``by_decode[decode][mode][threshold]`` and
    ``by_decode_solved[...]`` (every decode's score and criterion) and the SNN details (steps, spikes per sample).
    """
    if task not in ("adding", "copying"):
        raise UserInputError(f"task must be 'adding' or 'copying', got {task!r}")
    decodes = tuple(dict.fromkeys(decodes))
    ev = evaluate_adding if task == "adding" else evaluate_copying
    key = "mse" if task == "adding" else "recall_accuracy"
    rows = []
    for length in lengths:
        ann = ev(model, int(length), n=n)
        score = getattr(ann, key)
        row = {"length": int(length), "n": int(n), "ann": score,
               "ann_good": bool(score <= ANN_GOOD[task] if task == "adding" else score >= ANN_GOOD[task]),
               "decode": decodes[0], "snn": {}, "snn_solved": {}, "by_decode": {d: {} for d in decodes},
               "by_decode_solved": {d: {} for d in decodes}, "detail": {}}
        for mode in modes:
            for th in thresholds:
                runs = evaluate_snn(model, task, int(length), decodes, n=n, mode=mode, threshold=th, target=target,
                                    build_root=build_root)
                s = runs[decodes[0]]
                row["snn"].setdefault(mode, {})[th] = getattr(s, key)
                row["snn_solved"].setdefault(mode, {})[th] = bool(s.solved)
                for d, r in runs.items():
                    row["by_decode"][d].setdefault(mode, {})[th] = getattr(r, key)
                    row["by_decode_solved"][d].setdefault(mode, {})[th] = bool(r.solved)
                row["detail"].setdefault(mode, {})[th] = {k: s.detail[k] for k in ("n_steps", "spikes_per_sample",
                                                                                    "tau_S", "wall_s")}
                if log:
                    log(f"{task} {length}: ANN {score:.4g}, SNN {mode} {th} "
                        + ", ".join(f"{d} {getattr(r, key):.4g}" for d, r in runs.items()))
        rows.append(row)
    return rows


#: Lengths the benchmark scores (up to the model's longest): adding L, copying delay T.
BENCHMARK_LENGTHS = {"adding": (10, 25, 50, 100, 150, 200, 250, 300), "copying": (3, 5, 10, 15, 20, 25, 30, 40)}


def benchmark_row(task: str, model: LpRNNModel | str | Path | None = None, *, n: int = 200, lengths=None,
                  target: str = "cpp_standalone", build_root: str | Path | None = None, log=None,
                  source: str | None = None) -> dict:
    """One row of the accuracy benchmark for ``task`` ∈ {'adding', 'copying'}: the model's score at its longest
    solved length for the ANN and its ΣΔ network (float and Loihi-integer mode at the default step, threshold
    'unbiased', 'zero' beside it), and the curve over :data:`BENCHMARK_LENGTHS` with the issue's criterion:
    wherever the ANN is good (:data:`ANN_GOOD`), its Loihi-mode SNN meets the 2019 criterion.

    Parameters
    ----------
    model : LpRNNModel or path, optional
        A trained model or its file; default: the bundled one (:func:`lprnn_brian.bundled.bundled_sequence_model`).
        To score a model trained on the spot, train it first (:func:`lprnn_brian.training.sequence.train_adding`,
        ``benchmarks/accuracy.py --retrain-sequences``) and pass it.
    n : int
        Test sequences per length (the same seeded ones for every column).
    source : str, optional
        How the model came about, for the row's ``model`` record (default: its path, or "given").

    Returns
    -------
    dict
        ``task``, ``n``, ``test_set``, ``measure``, ``ann``, ``snn_float``, ``snn_loihi`` (strings for the table),
        ``curve`` (:func:`task_curve`'s rows), ``criterion`` (lengths where the ANN is good, and where its
        Loihi-mode SNN under 'unbiased' then fails) and ``model`` (its source, provenance summary).
    """
    from .ann.model import load_model

    if task not in ("adding", "copying"):
        raise UserInputError(f"benchmark_row handles 'adding' and 'copying', got {task!r}")
    if not isinstance(model, LpRNNModel):
        path = Path(model) if model is not None else bundled_sequence_model(task)
        model = load_model(path)
        source = source or str(path)
    source = source or "given"
    S = int(model.features.get("n_recall", copying_task.N_RECALL))
    longest = longest_length(model, task)
    chosen = curve_lengths(model, task, lengths or BENCHMARK_LENGTHS[task])
    curve = task_curve(model, task, chosen, n=n, target=target, build_root=build_root, log=log)
    good = [r["length"] for r in curve if r["ann_good"]]
    failed = [r["length"] for r in curve if r["ann_good"] and not r["snn_solved"]["loihi"]["unbiased"]]
    last = curve[-1]
    key = "MSE (pass < 0.01)" if task == "adding" else "recall-window accuracy (pass ≥ 0.96)"

    def fmt(mode: str) -> str:
        v, z = last["snn"][mode]["unbiased"], last["snn"][mode]["zero"]
        fb = last["by_decode"].get("fb", {}).get(mode, {}).get("unbiased")
        also = f"; fb decode {fb:.4f}" if fb is not None and last["decode"] != "fb" else ""
        return f"{v:.4f}{' ✓' if last['snn_solved'][mode]['unbiased'] else ''} (threshold 0: {z:.4f}{also})"

    where = f"L = {last['length']}" if task == "adding" else f"T = {last['length']}, S = {S}"
    return {"task": task, "n": n, "test_set": f"{n} seeded test sequences, {where}",
            "measure": f"{key}; SNN {last['decode']} decode at τ_S = "
                       f"{last['detail']['loihi']['unbiased']['tau_S']:g}",
            "ann": f"{last['ann']:.4f}", "snn_float": fmt("float"), "snn_loihi": fmt("loihi"),
            "curve": curve, "criterion": {"ann_good_at": good, "snn_fails_at": failed, "met": bool(good) and not failed},
            "model": {"source": source, "longest_solved": longest,
                      "reconstruction": dict(model.reconstruction), "substeps": model.substeps}}
