"""Training of the rate lpRNN classifiers with 3-bit quantisation-aware training
(docs/method.md#quantisation-export-and-pruning, docs/method.md#architectures-read-out-and-training), in PyTorch.

torch is an extra (``pip install 'lprnn_brian[train]'``); it is imported only when training starts.

The recipe is the authors' SHD recipe (docs/method.md#architectures-read-out-and-training):

- model :class:`lprnn_brian.ann.torch_model.TorchLpRNN`: lpff → lpRNN… → dense, a = 0.8 fixed, Iin = 6
  clamped ReLU, clamp-then-filter, Xavier-uniform W, orthogonal U, zero b;
- QAT: F = 3, I = 32: every forward pass rounds W, U, b to the 1/8 grid with a straight-through estimator;
  the latent floats are what is stored;
- logits: mean of o_t over the second half (t ≥ ⌊T/2⌋); cross-entropy;
- Adam, lr 1e-3; ReduceLROnPlateau on the validation loss (×0.5, patience 3);
- gradient clipping: norm 2.0, then value 2.0;
- seed 0 for python, numpy and torch (initialisation, data order, augmentation, sub-step draws each from their own
  seeded generator); torch's deterministic algorithms; ``threads`` CPU threads; the seed, thread count, versions
  and machine are recorded in the model's provenance (``environment``), so a rerun on the same machine with the
  same seed gives the same weights (docs/accuracy.md#reproducing-a-training says what can differ on another);
- model selection: best validation accuracy (ties: lower validation loss) on the given validation set (the
  bundled digits: seven held-out speakers; GSC: its official list) or else a seeded 10 % hold-out of the
  training set (decision A8 in docs/decisions.md), kept as a deep copy (decision A5 in docs/decisions.md).

Options beyond the paper (off by default): ``code_range`` (e.g. (−4, 3): after initialisation and after every
optimiser step the latent weight matrices W and U — not the biases — are clamped to [lo, hi]·2^-F, so that
q(w) uses only the integer codes lo…hi; the paper's "3-bit" weights are a by-product of |w| ≤ 0.5 in its
large layers, which small layers do not guarantee: Xavier/orthogonal initialisation of a 12-unit layer
already reaches ±0.55), ``freq_mask`` (mask up to that many adjacent input feature bands
per training sample, as the paper-era GSC pipeline masks frequencies), ``time_shift`` (roll each training
sample by up to that many frames, zero-filled) and ``freq_warp`` (stretch or squeeze the feature axis by up to that
fraction, a vocal-tract-length perturbation), all drawn from a seeded numpy Generator.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..ann.forward import check_inputs, check_labels, forward, readout_start
from ..ann.model import LpRNNModel, reconstruction_meta, save_model
from ..bundled import DIGITS_MODEL
from ..errors import UserInputError
from ..fileio import atomic_path, check_writable
from ..machine import environment
from .classifier_config import DIGITS_CONFIG, SPOKEN_TASKS, TrainConfig, spoken_config
from .common import import_torch, seed_everything

__all__ = ["TrainResult", "train_lprnn", "holdout_split", "holdout_groups", "train_digits", "train_digits_seeds",
           "select_by_validation", "pruned_paths", "readout_range_penalty", "substep_forward", "check_outputs",
           "save_result", "train_spoken", "DIGITS_MODEL_FILE"]

DIGITS_MODEL_FILE = DIGITS_MODEL


@dataclass
class TrainResult:
    """What :func:`train_lprnn` returns: the last iteration's selected model, every iteration's model and
    summary (``iterations``: best epoch, accuracies, fraction of pruned weights) and the epoch history."""

    model: LpRNNModel
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    accuracy: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    iterations: list[dict] = field(default_factory=list)
    models: list[LpRNNModel] = field(default_factory=list)


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random hold-out: (train indices, validation indices), ⌈fraction·n⌉ validation samples."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(np.ceil(fraction * n)))
    if n_val >= n:
        raise UserInputError(f"a {fraction:.0%} hold-out of {n} samples leaves nothing to train on")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def holdout_groups(groups: Sequence, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded hold-out of whole groups (speakers): (train indices, validation indices). The distinct groups are
    taken in a seeded random order until the held-out samples reach ⌈fraction·n⌉, so no group is on both sides;
    at least one group stays for training."""
    groups = np.asarray(groups)
    names = np.unique(groups)
    if names.size < 2:
        raise UserInputError(f"a speaker hold-out needs at least two speakers in the training split, got "
                             f"{names.size}")
    need = max(1, int(np.ceil(fraction * groups.size)))
    held, count = [], 0
    for g in np.random.default_rng(seed).permutation(names)[:-1]:
        held.append(g)
        count += int(np.sum(groups == g))
        if count >= need:
            break
    val = np.isin(groups, held)
    return np.flatnonzero(~val), np.flatnonzero(val)


def average_into(average: dict, state: dict, decay: float) -> None:
    """One step of the exponential moving average of the weights, in place: a ← decay·a + (1 − decay)·w for every
    floating-point tensor of ``state`` (integer buffers are copied)."""
    for name, value in state.items():
        if value.is_floating_point():
            average[name].mul_(decay).add_(value.detach(), alpha=1.0 - decay)
        else:
            average[name].copy_(value)


def _augment(xb: np.ndarray, rng: np.random.Generator, freq_mask: int, time_shift: int,
             freq_warp: float = 0.0) -> np.ndarray:
    """The training batch's augmentation, drawn from ``rng`` per sample: a time shift of up to ``time_shift`` frames
    (zero-filled), a mask of up to ``freq_mask`` adjacent feature bands, and a warp of the feature axis by a factor
    α ~ U(1 − ``freq_warp``, 1 + ``freq_warp``) (band j takes the linear interpolation of band j/α, the edge band
    beyond the last: a vocal-tract-length perturbation on the mel axis, another speaker's formants). Each kind
    draws only when it is on, so a recipe without it keeps its random stream."""
    if not freq_mask and not time_shift and not freq_warp:
        return xb
    xb = xb.copy()
    n, T, F = xb.shape
    bands = np.arange(F, dtype=np.float64)
    for i in range(n):
        if time_shift:
            s = int(rng.integers(-time_shift, time_shift + 1))
            if s > 0:
                xb[i, s:] = xb[i, :T - s].copy()
                xb[i, :s] = 0.0
            elif s < 0:
                xb[i, :T + s] = xb[i, -s:].copy()
                xb[i, T + s:] = 0.0
        if freq_mask:
            w = int(rng.integers(0, freq_mask + 1))
            if w:
                f0 = int(rng.integers(0, F - w + 1))
                xb[i, :, f0:f0 + w] = 0.0
        if freq_warp:
            src = np.minimum(bands / rng.uniform(1.0 - freq_warp, 1.0 + freq_warp), F - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, F - 1)
            frac = (src - lo).astype(xb.dtype)
            xb[i] = xb[i][:, lo] * (1 - frac) + xb[i][:, hi] * frac
    return xb


def _evaluate(torch, net, X: np.ndarray, y: np.ndarray, batch: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``net`` on (X, y)."""
    net.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(y), batch):
            xb = torch.from_numpy(np.ascontiguousarray(X[k:k + batch]))
            yb = torch.from_numpy(y[k:k + batch])
            logits = net.logits(net(xb))
            total += float(torch.nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
    return total / len(y), correct / len(y)


def readout_range_penalty(torch, net, o) -> "Any":
    """mean(relu(o − Iin)² + relu(−o)²) over the read-out window of o (batch, frames, classes)."""
    w = o[:, readout_start(o.shape[1], net.readout_window):]
    return (torch.relu(w - net.Iin) ** 2 + torch.relu(-w) ** 2).mean()


def substep_forward(torch, net, x, substeps: int = 1):
    """Read-out of ``net`` with every frame integrated in ``substeps`` steps (retention a^(1/K), input held;
    :class:`~lprnn_brian.ann.torch_model.TorchLpRNN` ``substeps``), sampled at frame ends:
    (batch, frames, classes). The network's own ``substeps`` is restored afterwards."""
    saved = net.substeps
    net.substeps = int(substeps)
    try:
        return net(x)
    finally:
        net.substeps = saved


def _fingerprint(X: np.ndarray, y: np.ndarray, cfg: TrainConfig, n_classes: int) -> str:
    """What a checkpoint must match to be resumed: data, labels, classes and every hyper-parameter."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    h.update(json.dumps({"config": cfg.to_dict(), "n_classes": int(n_classes)}, sort_keys=True).encode())
    return h.hexdigest()


class _Checkpoint:
    """Atomic per-epoch training state (torch.save of tensors and plain Python values only, so it loads
    with ``weights_only=True``)."""

    def __init__(self, torch, path, resume: bool, fingerprint: str) -> None:
        self.torch, self.path, self.fingerprint = torch, Path(path), fingerprint
        self.state = None
        if self.path.exists():
            if not resume:
                raise UserInputError(f"checkpoint {self.path} already exists; pass --resume to continue that run "
                                     "or choose another checkpoint path")
            try:
                state = torch.load(self.path, weights_only=True)
            except Exception as exc:  # noqa: BLE001 - any unreadable file
                raise UserInputError(f"checkpoint {self.path} cannot be read ({exc}); delete it to start afresh")
            if state.get("fingerprint") != fingerprint:
                raise UserInputError(f"checkpoint {self.path} was written for other data or another training "
                                     "config; use the same data and options, or another checkpoint path")
            self.state = state
        else:
            check_writable(self.path)

    def save(self, state: dict) -> None:
        state = dict(state, fingerprint=self.fingerprint)
        with atomic_path(self.path, force=True) as tmp:
            self.torch.save(state, tmp)


def _make_optimiser(torch, net, cfg: TrainConfig):
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    mode = "max" if cfg.plateau_mode == "max_val_acc" else "min"
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=cfg.plateau_factor,
                                                       patience=cfg.plateau_patience,
                                                       threshold=cfg.plateau_threshold, min_lr=cfg.min_lr)
    return opt, sched


def train_lprnn(X, y, config: TrainConfig | None = None, *, n_classes: int | None = None,
                X_val=None, y_val=None, X_test=None, y_test=None, class_names: Sequence[str] = (), features: dict | None = None,
                task: str = "", provenance: dict | None = None, frame_dt: float | None = None,
                checkpoint: str | Path | None = None, resume: bool = False, progress: bool = False,
                log: Callable[[str], None] | None = print, validation_name: str = "the given validation set"
                ) -> TrainResult:
    """Train an lpRNN on (X, y) with QAT; return the selected model (latent weights) and its history.

    Parameters
    ----------
    X, y : array_like
        Training inputs (samples, frames, features) and integer labels.
    config : TrainConfig, optional
        Hyper-parameters; ``TrainConfig()`` by default.
    n_classes : int, optional
        Read-out size; ``len(class_names)`` or ``max(y) + 1`` by default.
    X_val, y_val : array_like, optional
        Validation set for model selection and the plateau schedule (e.g. GSC's official validation list);
        by default a seeded ``val_fraction`` hold-out of (X, y). ``validation_name`` says in the provenance what
        the given set is (e.g. "the 7 held-out validation speakers").
    X_test, y_test : array_like, optional
        Test set, evaluated once on each selected model (never used for selection).
    class_names, features, task, provenance, frame_dt :
        Metadata of the returned :class:`LpRNNModel` (frame_dt, in seconds, defaults to 1/T).
    checkpoint : path, optional
        Training state written atomically after every epoch (weights, optimiser, scheduler, random
        generators, history, pruning masks). With ``resume=True`` an existing checkpoint is continued; it
        must come from the same data and config (else :class:`UserInputError`). Without ``resume`` an
        existing checkpoint file is an error (nothing is overwritten silently).
    progress : bool
        tqdm progress bar on stderr (loss, validation accuracy, learning rate).
    log : callable or None
        Progress lines (one per epoch).
    """
    torch = import_torch()
    from ..ann.torch_model import TorchLpRNN

    cfg = config or TrainConfig()
    cfg.validate()
    if n_classes is None:
        n_classes = len(class_names) if class_names else int(np.max(y)) + 1
    X = check_inputs(X, np.shape(X)[-1])
    y = check_labels(y, X.shape[0], n_classes)
    if X_test is not None and y_test is not None:
        X_test = check_inputs(X_test, X.shape[2])
        y_test = check_labels(y_test, X_test.shape[0], n_classes)
    else:
        X_test = y_test = None
    val = None
    if X_val is not None and y_val is not None:
        X_val = check_inputs(X_val, X.shape[2])
        val = (X_val, check_labels(y_val, X_val.shape[0], n_classes))
    fp = _fingerprint(X, y, cfg, n_classes) + ("" if val is None else _fingerprint(*val, cfg, n_classes))
    job = _Job(cfg, X, y, n_classes, val, X_test, y_test, class_names, features, task, provenance, frame_dt,
               _Checkpoint(torch, checkpoint, resume, fp) if checkpoint else None, progress, log, validation_name)
    prev_threads, prev_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(int(cfg.threads))
    torch.use_deterministic_algorithms(True)
    try:
        return _ClassifierRun(torch, TorchLpRNN, job).run()
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)


@dataclass
class _Job:
    """One checked call of :func:`train_lprnn`: the configuration, the data (``val``: the given validation set
    or None for a hold-out; ``X_test``/``y_test`` None without a test set), the model's metadata and how to run."""

    cfg: TrainConfig
    X: np.ndarray
    y: np.ndarray
    n_classes: int
    val: tuple | None
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: Sequence[str]
    features: dict | None
    task: str
    provenance: dict | None
    frame_dt: float | None
    ckpt: "_Checkpoint | None"
    progress: bool
    log: Callable[[str], None] | None
    validation_name: str = "the given validation set"

    @property
    def has_test(self) -> bool:
        return self.X_test is not None


@dataclass
class _Sets:
    """The training and validation sets of a run, their indices into the given data and how the validation set
    was chosen."""

    X_tr: np.ndarray
    y_tr: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    tr_idx: np.ndarray
    val_idx: np.ndarray
    selection_set: str


def _split(job: _Job) -> _Sets:
    """The given validation set, or a seeded ``val_fraction`` hold-out of the training data."""
    cfg, X, y = job.cfg, job.X, job.y
    if job.val is None:
        tr_idx, val_idx = holdout_split(len(y), cfg.val_fraction, cfg.seed)
        return _Sets(X[tr_idx], y[tr_idx], X[val_idx], y[val_idx], tr_idx, val_idx,
                     f"a seeded {cfg.val_fraction:.0%} hold-out of the training set")
    X_val, y_val = job.val
    return _Sets(X, y, X_val, y_val, np.arange(len(y)), np.arange(len(y_val)), job.validation_name)


def _new_net(TorchLpRNN, job: _Job):
    """The initialised torch network of ``job`` (its metadata included)."""
    cfg, n_frames = job.cfg, int(job.X.shape[1])
    meta = dict(frame_dt=float(job.frame_dt if job.frame_dt is not None else 1.0 / n_frames), n_frames=n_frames,
                class_names=list(job.class_names), features=dict(job.features or {}), task=job.task, provenance={},
                reconstruction=reconstruction_meta(cfg.reconstruction, cfg.reconstruction_tau_S),
                readout_range=None if cfg.readout_range is None else float(cfg.readout_range))
    return TorchLpRNN(job.X.shape[2], int(cfg.lpff) or None, [int(n) for n in cfg.rnn], job.n_classes,
                      retention=cfg.retention, Iin=cfg.Iin, int_bits=cfg.int_bits, frac_bits=cfg.frac_bits,
                      readout_window=cfg.readout_window, clamp=cfg.clamp, meta=meta, seed=cfg.seed,
                      substeps=int(cfg.model_substeps))


@dataclass
class _RunState:
    """What a run has done so far; everything here (with the network, optimiser, scheduler and random
    generators) is restored from a checkpoint when resuming. ``it``/``epoch``: the next iteration and the next
    epoch within it; ``selected``: the selected state dict of every finished iteration; ``best``: the key
    (validation accuracy, −loss) of the best epoch of the current iteration."""

    init_state: dict
    masks: dict
    history: list = field(default_factory=list)
    iterations: list = field(default_factory=list)
    selected: list = field(default_factory=list)
    it: int = 0
    epoch: int = 0
    best: tuple | None = None
    best_state: dict | None = None
    best_epoch: int = -1
    average: dict | None = None


class _ClassifierRun:
    """The training loop of :func:`train_lprnn`: epochs of QAT with model selection, and the winning-ticket
    iterations (pruning masks, rewind to the initial weights) between them."""

    def __init__(self, torch, TorchLpRNN, job: _Job) -> None:
        cfg = job.cfg
        self.torch, self.job, self.cfg = torch, job, cfg
        self.t0 = time.time()
        seed_everything(torch, cfg.seed)
        self.sets = _split(job)
        self.net = _new_net(TorchLpRNN, job)
        self.weight_names = [name for name, _ in self.net.named_parameters() if name.endswith("weight")]  # W, U
        self.params = dict(self.net.named_parameters())
        self.project()
        # a real copy: the rewind target (decision A5 in docs/decisions.md)
        init_state = copy.deepcopy(self.net.state_dict())
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.aug_rng = np.random.default_rng(cfg.seed)
        self.substep_rng = np.random.default_rng([cfg.seed, 1])
        self.substeps = [int(k) for k in cfg.substeps]
        self.s = _RunState(init_state, {name: torch.ones_like(self.params[name]) for name in self.weight_names})
        self.s.average = self._fresh_average()
        self.opt, self.sched = _make_optimiser(torch, self.net, cfg)
        self.n_iter, self.n_ep = int(cfg.prune_iterations), int(cfg.epochs)
        if job.ckpt is not None and job.ckpt.state is not None:
            self._restore(job.ckpt.state)

    def project(self) -> None:
        """Clamp the weight matrices to the integer codes ``code_range`` (if set)."""
        cfg = self.cfg
        if cfg.code_range is not None:
            step = 2.0 ** -int(cfg.frac_bits)
            with self.torch.no_grad():
                for name in self.weight_names:
                    self.params[name].clamp_(int(cfg.code_range[0]) * step, int(cfg.code_range[1]) * step)

    def _restore(self, state: dict) -> None:
        s = self.s
        s.it, s.epoch = int(state["iteration"]), int(state["epoch"])
        s.history, s.iterations, s.selected = state["history"], state["iterations"], state["selected"]
        s.init_state, s.masks = state["init_state"], state["masks"]
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        s.best = tuple(state["best"]) if state["best"] is not None else None
        s.best_state, s.best_epoch = state["best_state"], int(state["best_epoch"])
        self.shuffle.set_state(state["shuffle"])
        self.aug_rng.bit_generator.state = state["aug_rng"]
        self.substep_rng.bit_generator.state = state["substep_rng"]
        s.average = state.get("average")
        if self.job.log:
            self.job.log(f"resuming from {self.job.ckpt.path}: iteration {s.it}, {s.epoch} of {self.n_ep} epochs done")

    def _save(self, epoch_done: int) -> None:
        """Checkpoint: everything a resumed run needs to continue bit for bit after ``epoch_done`` epochs."""
        if self.job.ckpt is None:
            return
        s = self.s
        self.job.ckpt.save(dict(
            iteration=s.it, epoch=epoch_done, history=s.history, iterations=s.iterations, selected=s.selected,
            init_state=s.init_state, masks=s.masks, net=self.net.state_dict(), opt=self.opt.state_dict(),
            sched=self.sched.state_dict(), best=None if s.best is None else list(s.best), best_state=s.best_state,
            best_epoch=s.best_epoch, shuffle=self.shuffle.get_state(), aug_rng=self.aug_rng.bit_generator.state,
            substep_rng=self.substep_rng.bit_generator.state, average=s.average))

    def run(self) -> TrainResult:
        from tqdm.auto import tqdm

        s, n_iter, n_ep = self.s, self.n_iter, self.n_ep
        n_batches = -(-len(self.sets.y_tr) // int(self.cfg.batch_size))
        bar = tqdm(total=n_iter * n_ep * n_batches, initial=(s.it * n_ep + s.epoch) * n_batches, unit="batch",
                   disable=not self.job.progress, dynamic_ncols=True, leave=True)
        try:
            while s.it < n_iter:
                for e in range(s.epoch, n_ep):
                    self.net.train()
                    bar.set_description(f"iter {s.it} epoch {e + 1}/{n_ep}" if n_iter > 1 else f"epoch {e + 1}/{n_ep}")
                    train_loss = self._train_epoch(bar)
                    self._end_epoch(e, train_loss, bar)
                self._end_iteration()
        finally:
            bar.close()
        return self._result(time.time() - self.t0)

    def _train_epoch(self, bar) -> float:
        """One pass over the shuffled training set; the mean training loss (without the penalty)."""
        torch, cfg, net, sets = self.torch, self.cfg, self.net, self.sets
        bs = int(cfg.batch_size)
        order = torch.randperm(len(sets.y_tr), generator=self.shuffle).numpy()
        train_loss, seen = 0.0, 0
        for k in range(0, len(order), bs):
            idx = order[k:k + bs]
            xb = torch.from_numpy(_augment(sets.X_tr[idx], self.aug_rng, int(cfg.freq_mask), int(cfg.time_shift),
                                           float(cfg.freq_warp)))
            yb = torch.from_numpy(sets.y_tr[idx])
            o = substep_forward(torch, net, xb, int(self.substep_rng.choice(self.substeps)))
            loss = torch.nn.functional.cross_entropy(net.logits(o), yb)
            total = loss + cfg.readout_penalty * readout_range_penalty(torch, net, o) \
                if cfg.readout_penalty else loss
            self.opt.zero_grad()
            total.backward()
            self._step()
            train_loss += float(loss.detach()) * len(idx)
            seen += len(idx)
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss / seen:.3f}", refresh=False)
        return train_loss / seen

    def _step(self) -> None:
        """Masked gradients (iterations after the first), clipping, the optimiser step, masked weights, the
        code-range projection."""
        torch, cfg, params, masks = self.torch, self.cfg, self.params, self.s.masks
        if self.s.it > 0:
            for name in self.weight_names:
                params[name].grad.mul_(masks[name])
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.clip_norm)
        torch.nn.utils.clip_grad_value_(self.net.parameters(), cfg.clip_value)
        self.opt.step()
        if self.s.it > 0:
            with torch.no_grad():
                for name in self.weight_names:
                    params[name].mul_(masks[name])
        self.project()
        if self.s.average is not None:
            average_into(self.s.average, self.net.state_dict(), float(cfg.weight_average))

    def _fresh_average(self) -> dict | None:
        """The running average of the weights (``weight_average`` > 0), started at the network's current state."""
        if not float(self.cfg.weight_average):
            return None
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def _end_epoch(self, e: int, train_loss: float, bar) -> None:
        """Validation, the plateau schedule, the record, model selection, the checkpoint and the log line."""
        cfg, s, sets = self.cfg, self.s, self.sets
        live = None
        if s.average is not None:  # validate, select and keep the averaged weights; train on the live ones
            live = copy.deepcopy(self.net.state_dict())
            self.net.load_state_dict(s.average)
        val_loss, val_acc = _evaluate(self.torch, self.net, sets.X_val, sets.y_val, int(cfg.eval_batch_size))
        self.sched.step(val_acc if cfg.plateau_mode == "max_val_acc" else val_loss)
        rec = dict(iteration=s.it, epoch=e + 1, train_loss=train_loss, val_loss=val_loss,
                   val_acc=val_acc, lr=float(self.opt.param_groups[0]["lr"]), wall_s=time.time() - self.t0)
        s.history.append(rec)
        key = (val_acc, -val_loss)
        if s.best is None or key > s.best:
            s.best, s.best_epoch = key, e + 1
            s.best_state = copy.deepcopy(self.net.state_dict())
        if live is not None:
            self.net.load_state_dict(live)
        bar.set_postfix(loss=f"{rec['train_loss']:.3f}", val_acc=f"{val_acc:.3f}", lr=f"{rec['lr']:.1e}")
        self._save(e + 1)
        if self.job.log:
            self.job.log(f"{'iter %d ' % s.it if self.n_iter > 1 else ''}epoch {e + 1:3d}/{self.n_ep}  train loss "
                         f"{rec['train_loss']:.4f}  val loss {val_loss:.4f}  val acc {val_acc:.4f}  lr {rec['lr']:.2e}"
                         f"  {rec['wall_s']:.0f} s" + ("  *" if s.best_epoch == e + 1 else ""))

    def _end_iteration(self) -> None:
        """The iteration's selected model and its summary, then (winning ticket) the rewind for the next one."""
        torch, cfg, s, sets, net = self.torch, self.cfg, self.s, self.sets, self.net
        ebs = int(cfg.eval_batch_size)
        net.load_state_dict(s.best_state)
        summary = dict(iteration=s.it, best_epoch=s.best_epoch,
                       train=_evaluate(torch, net, sets.X_tr, sets.y_tr, ebs)[1],
                       val=_evaluate(torch, net, sets.X_val, sets.y_val, ebs)[1],
                       pruned_fraction=_pruned_fraction(torch, net, self.weight_names, cfg))
        if self.job.has_test:
            summary["test"] = _evaluate(torch, net, self.job.X_test, self.job.y_test, ebs)[1]
        s.iterations.append(summary)
        s.selected.append(copy.deepcopy(s.best_state))
        s.it, s.epoch = s.it + 1, 0
        if s.it < self.n_iter:  # winning ticket: mask q(w) ≠ 0 of the selected model, rewind to the initial copy
            s.masks = {name: (_quantised(torch, self.params[name], cfg) != 0).to(self.params[name].dtype)
                       for name in self.weight_names}
            net.load_state_dict(s.init_state)
            with torch.no_grad():
                for name in self.weight_names:
                    self.params[name].mul_(s.masks[name])
            self.opt, self.sched = _make_optimiser(torch, net, cfg)
            s.best, s.best_state, s.best_epoch = None, None, -1
            s.average = self._fresh_average()
            self._save(0)

    def _result(self, wall: float) -> TrainResult:
        """Every iteration's selected model with its provenance; the last one is the result's model."""
        s, net = self.s, self.net
        models = []
        for k, sd in enumerate(s.selected):
            net.load_state_dict(sd)
            net.meta["provenance"] = self._provenance(s.iterations[k], k, wall)
            models.append(net.to_model())
        last = s.iterations[-1]
        accuracy = {k: float(last[k]) for k in ("train", "val", "test") if k in last}
        return TrainResult(model=models[-1], history=s.history, best_epoch=int(last["best_epoch"]), accuracy=accuracy,
                           wall_s=wall, iterations=s.iterations, models=models)

    def _provenance(self, summary: dict, k: int, wall: float) -> dict:
        job, cfg, has_test = self.job, self.cfg, self.job.has_test
        prov = dict(job.provenance or {})
        prov.update({
            "trainer": "lprnn_brian.training.classifier.train_lprnn",
            "seed": int(cfg.seed),
            "epochs": int(cfg.epochs),
            "best_epoch": int(summary["best_epoch"]),
            "selection": f"best validation accuracy (ties: lower validation loss) on {self.sets.selection_set}",
            "n_train": int(len(self.sets.tr_idx)), "n_val": int(len(self.sets.val_idx)),
            "n_test": int(len(job.y_test)) if has_test else 0,
            "train_accuracy": float(summary["train"]), "val_accuracy": float(summary["val"]),
            "test_accuracy": float(summary["test"]) if has_test else None,
            "prune_iteration": k, "prune_iterations": self.n_iter,
            "pruned_fraction": float(summary["pruned_fraction"]),
            "train_config": cfg.to_dict(),
            "torch_version": str(self.torch.__version__),
            "environment": environment(self.torch),
            "train_wall_s": round(wall, 1),
        })
        return prov


def _quantised(torch, w, cfg: TrainConfig):
    from ..ann.torch_model import quantise_ste

    with torch.no_grad():
        return quantise_ste(w, int(cfg.int_bits), int(cfg.frac_bits))


def _pruned_fraction(torch, net, weight_names: list[str], cfg: TrainConfig) -> float:
    """Fraction of weight-matrix entries (W, U) whose quantised value is 0."""
    params = dict(net.named_parameters())
    zero = sum(int((_quantised(torch, params[n], cfg) == 0).sum()) for n in weight_names)
    return zero / sum(params[n].numel() for n in weight_names)


def pruned_paths(out: str | Path, n_iterations: int) -> list[Path]:
    """Files of the winning-ticket iterations next to ``out``: ``<stem>_nWTH_<k><suffix>``
    (docs/method.md#quantisation-export-and-pruning)."""
    out = Path(out)
    return [out.with_name(f"{out.stem}_nWTH_{k}{out.suffix}") for k in range(n_iterations)]


def train_digits(config: TrainConfig | None = None, out: str | Path | None = None, *, force: bool = False,
                 n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
                 script: str = "lprnn_brian.training.classifier", checkpoint: str | Path | None = None,
                 resume: bool = False, progress: bool = False,
                 log: Callable[[str], None] | None = print) -> TrainResult:
    """Train on the bundled spoken digits (:func:`lprnn_brian.tasks.digits.load_digits`) and optionally save.

    The model is selected (and the plateau schedule driven) on the validation split: the clips of seven speakers
    held out of both training and test, so that selection measures what the test measures, generalisation to
    unseen voices. ``n_train``/``n_val``/``n_test`` take seeded, class-balanced-in-expectation subsets (for quick
    tests). The test accuracy stored in the provenance is the numpy reference forward's
    (:func:`lprnn_brian.ann.forward`).
    """
    from ..tasks.digits import CLASS_NAMES, digits_meta, load_digits

    cfg = config or DIGITS_CONFIG
    X, y, info = load_digits("train")
    Xva, yva, _ = load_digits("validation")
    Xte, yte, _ = load_digits("test")
    rng = np.random.default_rng(cfg.seed)
    (X, y), (Xva, yva), (Xte, yte) = (_subset(rng, a, b, n) for a, b, n in
                                      ((X, y, n_train), (Xva, yva, n_val), (Xte, yte, n_test)))
    dmeta = digits_meta()
    voices = dmeta["voices"]
    prov = {"script": script, "data": "lprnn_brian/data/digits_features.npz",
            "data_generator_version": dmeta.get("generator_version"),
            "train_voices": voices["train"], "validation_voices": voices["validation"], "test_voices": voices["test"]}
    if out is not None:
        check_outputs(out, cfg, force)
    res = train_lprnn(X, y, cfg, X_val=Xva, y_val=yva, X_test=Xte, y_test=yte, class_names=list(CLASS_NAMES),
                      features=info["feature_config"], task="digits", provenance=prov, checkpoint=checkpoint,
                      resume=resume, progress=progress, log=log,
                      validation_name=f"the {len(voices['validation'])} held-out validation speakers")
    _numpy_test_accuracy(res, Xte, yte)
    if out is not None:
        save_result(res, out, force=force)
    if log:
        log(json.dumps({"accuracy": res.accuracy, "best_epoch": res.best_epoch, "wall_s": round(res.wall_s, 1)}))
    return res


def train_digits_seeds(seeds: Sequence[int], config: TrainConfig | None = None, *, jobs: int = 1,
                       **kwargs) -> list[TrainResult]:
    """:func:`train_digits` once per seed (``config``'s other fields unchanged, no file written); the results in
    the order of ``seeds``. ``jobs`` > 1 trains that many seeds at once in separate processes (each with the
    configuration's own thread count, so the weights are those of a one-at-a-time run; without progress lines).
    ``kwargs`` go to :func:`train_digits` (``n_train``, ``log``, …; not ``out``)."""
    if not seeds:
        raise UserInputError("give at least one seed")
    if "out" in kwargs:
        raise UserInputError("train_digits_seeds writes no file; save the selected result with save_result")
    if int(jobs) < 1:
        raise UserInputError(f"jobs must be >= 1, got {jobs}")
    cfg = config or DIGITS_CONFIG
    configs = [dataclasses.replace(cfg, seed=int(seed)) for seed in seeds]
    if int(jobs) == 1 or len(configs) == 1:
        return [train_digits(c, None, **kwargs) for c in configs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    log = kwargs.pop("log", print)
    kwargs.update(log=None, progress=False)
    with ProcessPoolExecutor(max_workers=int(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(train_digits, c, None, **kwargs) for c in configs]
        results = []
        for c, fut in zip(configs, futures):
            results.append(fut.result())
            if log:
                log(f"seed {c.seed}: " + json.dumps({"accuracy": results[-1].accuracy,
                                                     "best_epoch": results[-1].best_epoch,
                                                     "wall_s": round(results[-1].wall_s, 1)}))
    return results


def select_by_validation(results: Sequence[TrainResult]) -> int:
    """Index of the result a recipe keeps: the highest validation accuracy, ties broken by the lower validation loss
    of its selected epoch, then by the earlier position (never by a test score)."""
    def key(k: int) -> tuple:
        res = results[k]
        best = [h for h in res.history if h["epoch"] == res.best_epoch and
                h["iteration"] == res.iterations[-1]["iteration"]]
        return (-res.accuracy["val"], best[-1]["val_loss"] if best else 0.0, k)

    if not results:
        raise UserInputError("no training results to select from")
    return min(range(len(results)), key=key)


def _subset(rng: np.random.Generator, X: np.ndarray, y: np.ndarray, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of (X, y) drawn without replacement, in their original order (all of them for None)."""
    if n is None:
        return X, y
    sel = np.sort(rng.permutation(len(y))[:int(n)])
    return X[sel], y[sel]


def _numpy_test_accuracy(res: TrainResult, Xte: np.ndarray, yte: np.ndarray) -> None:
    """The numpy reference forward decides the reported test accuracy: ``test_accuracy_numpy`` in every model's
    provenance and ``test_numpy`` in ``res.accuracy``."""
    for m in res.models:
        m.provenance["test_accuracy_numpy"] = float(np.mean(forward(m, Xte, keep_states=False).predictions == yte))
    res.accuracy["test_numpy"] = res.model.provenance["test_accuracy_numpy"]


def check_outputs(out: str | Path, config: TrainConfig, force: bool = False) -> None:
    """Fail before training (not after it) if an output model file exists and ``force`` is not set."""
    paths = [Path(out)] + (pruned_paths(out, int(config.prune_iterations)) if config.prune_iterations > 1 else [])
    for p in paths:
        check_writable(p, force)


def save_result(res: TrainResult, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write the selected model to ``out`` and, after pruning, every iteration to ``<stem>_nWTH_<k>``."""
    written = [save_model(res.model, out, force=force)]
    if len(res.models) > 1:
        for m, p in zip(res.models, pruned_paths(out, len(res.models))):
            written.append(save_model(m, p, force=force))
    return written


def train_spoken(task: str, data_dir: str | Path, config: TrainConfig | None = None, out: str | Path | None = None,
                 *, force: bool = False, version: int = 1, protocol: str = "35", pipeline: str = "paper",
                 hop_length: int | None = None, n_frames: int | str | None = None, limit: int | None = None,
                 cache_dir: str | Path | None = None, checkpoint: str | Path | None = None, resume: bool = False,
                 progress: bool = False, script: str = "lprnn_brian.training.classifier.train_spoken",
                 log: Callable[[str], None] | None = print) -> TrainResult:
    """Train on Heidelberg Digits audio (``task='shd'``, 20 classes) or Google Speech Commands (``'gsc'``).

    The data are read by :func:`lprnn_brian.tasks.spoken.load_shd` / :func:`~lprnn_brian.tasks.spoken.load_gsc`
    from ``data_dir`` (the datasets' own on-disk layout). SHD selects the model on whole training speakers held out
    (:func:`holdout_groups`, about ``val_fraction`` of the clips; decision A8 in docs/decisions.md); GSC on its
    official validation list. The test split gives the reported
    accuracy. ``limit`` reads only the first N files of every split (smoke runs). ``config`` defaults to the task's
    paper recipe (:func:`spoken_config`).
    """
    from ..tasks import spoken

    cfg = config or spoken_config(task, pipeline)
    if out is not None:
        check_outputs(out, cfg, force)
    if task == "shd":
        kw = dict(hop_length=hop_length, n_frames=n_frames, limit=limit, progress=progress, cache_dir=cache_dir)
        X, y, info = spoken.load_shd(data_dir, "train", **kw)
        if n_frames == "p90":  # T from the train split, reused for test
            kw["n_frames"] = int(info["n_frames"])
        Xte, yte, _ = spoken.load_shd(data_dir, "test", **kw)
        # SHD has no validation list: whole training speakers are held out (the test split holds unseen speakers);
        # a smoke run (--limit) whose files come from one speaker gets train_lprnn's own hold-out of clips
        val, val_name = (None, None), "the given validation set"
        if len(set(info["speaker"])) > 1:
            tr, va = holdout_groups(info["speaker"], cfg.val_fraction, cfg.seed)
            held = sorted({int(info["speaker"][k]) for k in va})
            val_name = f"the training split's speakers {held} held out ({len(va)} clips)"
            val, X, y = (X[va], y[va]), X[tr], y[tr]
    elif task == "gsc":
        if hop_length is not None or n_frames is not None:
            raise UserInputError("--hop and --frames apply to shd; GSC's frames follow its pipeline")
        kw = dict(version=version, protocol=protocol, pipeline=pipeline, limit=limit, progress=progress,
                  cache_dir=cache_dir)
        X, y, info = spoken.load_gsc(data_dir, split="train", **kw)
        val = spoken.load_gsc(data_dir, split="validation", **kw)[:2]
        val_name = "the official validation list"
        Xte, yte, _ = spoken.load_gsc(data_dir, split="test", **kw)
    else:
        raise UserInputError(f"unknown spoken task {task!r}; choose one of {SPOKEN_TASKS}")
    prov = {"script": script, "data_dir": str(info.get("data_dir", data_dir)), "source": info.get("source"),
            "limit": limit}
    if task == "gsc":
        prov.update(version=int(version), protocol=str(protocol), pipeline=pipeline)
    name = f"gsc_v{version}_{protocol}" if task == "gsc" else "shd"
    res = train_lprnn(X, y, cfg, X_val=val[0], y_val=val[1], X_test=Xte, y_test=yte,
                      class_names=list(info["class_names"]), features=info["feature_config"], task=name,
                      provenance=prov, frame_dt=float(info["frame_dt"]), checkpoint=checkpoint, resume=resume,
                      progress=progress, log=log, validation_name=val_name)
    _numpy_test_accuracy(res, Xte, yte)
    if out is not None:
        save_result(res, out, force=force)
    return res
