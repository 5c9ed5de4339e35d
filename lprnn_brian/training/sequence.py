"""Curriculum training of the 2019 sequence tasks with the 2019 lpRNN cell (docs/method.md#the-2019-lprnn-cell,
docs/method.md#temporal-adding, docs/method.md#temporal-copying), in PyTorch.

torch is an extra (``pip install 'lprnn_brian[train]'``); it is imported only when training starts.

Model (both tasks): one lpRNN layer with a **fixed per-unit retention** a ~ U(0.1, 1) (seeded, stored in the
model file), the clamped ReLU with ceiling Iin = 6 (decision D1 in docs/decisions.md), clamp-then-filter
(docs/method.md#layers-and-time-constant; the ΣΔ network computes filter-then-clamp, option ``clamp``), Glorot W,
orthogonal U, zero b, and a linear dense read-out. Quantisation-aware training on the package's 1/8 grid (F = 3, every
forward pass rounds W, U, b with a straight-through estimator, docs/method.md#quantisation-export-and-pruning) keeps the
SNN mapping integer; ``frac_bits=32`` trains full precision.

- **Adding** (:func:`train_adding`): 32 units, Dense(1) on the last step, MSE. Paper budget
  (``ADDING_PAPER``): SGD lr 0.01, clipnorm 1000, batch 32, 10 epochs per stage on 10,000 training sequences,
  1,000 validation sequences per length (the paper validates on its test sequences; here a separate seeded stream
  of the same size, the test sequences only report), ReduceLROnPlateau(val, ×0.9, patience 2, min 1e-6),
  EarlyStopping(val, patience 25), stop at training loss < 1e-3.
- **Copying** (:func:`train_copying`): 128 units, Dense(n_symbols + 2) at every step, cross-entropy weighted 1
  on each sequence's recall window (decision D2 in docs/decisions.md). Paper budget (``COPYING_PAPER``): SGD lr 0.01,
  momentum 0.9, clipnorm 10, batch 8, 1000 batches per epoch (fresh sequences), up to 1000 epochs per
  stage, ReduceLROnPlateau(loss, ×0.5, patience 5), EarlyStopping(loss, patience 10), stop at recall
  accuracy > 0.99 or loss < 1e-5. Option ``readout_penalty``: adds w·mean(relu(o − Iin)² + relu(−o)²) over
  the recall window (averaged over classes), which keeps the read-out inside the fb decode's range [0, Iin].

The curriculum rules (:mod:`lprnn_brian.training.curriculum`) act on the final training metric of each stage,
as in the 2019 code. After every stage the model is also scored by the numpy reference forward on the
length's seeded validation sequences and, for the record, on its seeded test sequences
(:mod:`lprnn_brian.evaluate_sequences`, ``split``); the **longest length solved** is the longest whose validation
score meets the criterion (adding: MSE < 0.01; copying: recall-window accuracy ≥ 0.96), and the model returned and
saved is the one that solved it (``n_frames`` = its length). The 2019 code selected on its test sequences.

Every stage starts from the model file arrays of the previous one, with a fresh optimiser (the 2019 code
recompiles its model every stage) and random streams keyed by (seed, stage), so a run interrupted after any
stage and resumed from its checkpoint ends in exactly the state of an uninterrupted run.

The configurations and their presets live in :mod:`lprnn_brian.training.sequence_config`. The paper budgets
take days on a CPU; the **quick** presets (the defaults, ``ADDING_QUICK``, ``COPYING_QUICK``) are sized for a few
minutes on 2 cores (see their comments for what they reach); :func:`~lprnn_brian.training.sequence_config.preset`
returns any preset with fields replaced.

**Models for the ΣΔ network.** The SNN integrates the continuous-time, filter-then-clamp lpRNN
(:mod:`lprnn_brian.convert`). A model trained as in the paper (clamp-then-filter, one update per frame) with
fast units (a down to 0.1, τ < 1 frame) and recurrence computes something else there: its gating units rely
on the clamp before the filter and on a recurrence refreshed once per frame. The ``quick_snn`` presets train
with ``clamp="filter_then_clamp"`` and ``substeps=4`` (exponential-Euler sub-steps per frame: the same τ, the
recurrence refreshed 4 times per frame), whose dynamics the SNN reproduces; training is slower per stage and
the curriculum progresses more slowly.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..ann.model import LpRNNModel, reconstruction_meta, save_model
from ..errors import UserInputError
from ..fileio import check_writable
from ..machine import environment
from ..tasks import adding as adding_task
from ..tasks import copying as copying_task
from ..tasks.seeds import int_seed, rng_for
from .common import default_checkpoint, import_torch, seed_everything
from .curriculum import (CurriculumState, Decision, adding_decision, copying_decision, load_checkpoint,
                         save_checkpoint)
from .sequence_config import ADDING_QUICK, COPYING_QUICK, AddingConfig, CopyingConfig, preset

__all__ = ["CurriculumResult", "train_adding", "train_copying", "initial_model", "Plateau", "train_task_cli"]


@dataclass
class CurriculumResult:
    """What :func:`train_adding` / :func:`train_copying` return.

    Attributes
    ----------
    model : LpRNNModel
        The model that solved ``longest_solved`` (the last trained one if none), with the curriculum in
        its provenance.
    longest_solved : int or None
        Longest length (adding L, copying delay T) whose test criterion was met.
    state : CurriculumState
        The curriculum state (history, next length, stop reason); ``state.finished`` is False when the
        call stopped early (``max_stages``/``max_wall_s``) and can be resumed.
    config : AddingConfig or CopyingConfig
    wall_s : float
        Seconds of this call.
    """

    model: LpRNNModel
    longest_solved: int | None
    state: CurriculumState
    config: Any
    wall_s: float = 0.0
    history: list = field(default_factory=list)


class Plateau:
    """Keras ReduceLROnPlateau (mode 'min', cooldown 0) plus EarlyStopping, on one monitored value.

    :meth:`step` returns (new lr, stop): after ``patience`` epochs without an improvement of more than
    ``min_delta`` the lr is multiplied by ``factor`` (not below ``min_lr``); after ``stop_patience`` such
    epochs training stops.
    """

    def __init__(self, lr: float, factor: float, patience: int, min_delta: float, min_lr: float,
                 stop_patience: int, stop_min_delta: float) -> None:
        self.lr, self.factor, self.patience, self.min_delta, self.min_lr = lr, factor, patience, min_delta, min_lr
        self.stop_patience, self.stop_min_delta = stop_patience, stop_min_delta
        self.best = self.stop_best = math.inf
        self.wait = self.stop_wait = 0

    def step(self, value: float) -> tuple[float, bool]:
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.wait >= self.patience and self.lr > self.min_lr:
                self.lr, self.wait = max(self.lr * self.factor, self.min_lr), 0
        if value < self.stop_best - self.stop_min_delta:
            self.stop_best, self.stop_wait = value, 0
        else:
            self.stop_wait += 1
        return self.lr, self.stop_wait >= self.stop_patience

    @classmethod
    def from_config(cls, cfg, lr: float) -> "Plateau":
        """The schedule of a curriculum stage starting at ``lr``: the ``plateau_*`` and ``early_stop_*`` fields
        of an :class:`~lprnn_brian.training.sequence_config.AddingConfig` or ``CopyingConfig``."""
        return cls(lr, cfg.plateau_factor, cfg.plateau_patience, cfg.plateau_min_delta, cfg.plateau_min_lr,
                   cfg.early_stop_patience, cfg.early_stop_min_delta)


# --- model ------------------------------------------------------------------------------------------------

def initial_model(task: str, cfg, n_inputs: int, n_outputs: int, features: dict) -> LpRNNModel:
    """The untrained model of a curriculum: retentions a ~ U(retention_range) (seeded, float32, < 1; on the Loihi
    decay grid when ``retention_grid``), Glorot W,
    orthogonal U, zero b, linear read-out."""
    import_torch()  # the torch twin initialises the weights
    from ..ann.torch_model import TorchLpRNN

    lo, hi = (float(v) for v in cfg.retention_range)
    a = rng_for(cfg.seed, task, "init").uniform(lo, hi, int(cfg.units))
    if float(cfg.retention_grid):  # the retentions Loihi's 12-bit decays hold exactly (convert.loihi_retentions)
        from ..convert import loihi_retentions

        a = loihi_retentions(a, float(cfg.retention_grid))
    a = np.minimum(a.astype(np.float32), np.nextafter(np.float32(1.0), np.float32(0.0)))  # float32 must not reach 1
    meta = dict(n_frames=1, frame_dt=1 / 125, features=features, task=task, provenance={},
                reconstruction=reconstruction_meta(cfg.reconstruction, cfg.reconstruction_tau_S))
    net = TorchLpRNN(n_inputs, None, [int(cfg.units)], n_outputs, retention=[a], Iin=cfg.Iin,
                     int_bits=cfg.int_bits, frac_bits=cfg.frac_bits, readout_window="all", clamp=cfg.clamp,
                     meta=meta, seed=int_seed(cfg.seed, task, "init"), substeps=int(cfg.substeps))
    return net.to_model()


def _optimiser(torch, net, cfg, lr: float):
    if cfg.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=lr)
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=float(cfg.momentum))


def _set_lr(opt, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def _bar(progress: bool, total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not progress, leave=False, dynamic_ncols=True)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# --- stages ----------------------------------------------------------------------------------------------

def _net(model: LpRNNModel, cfg):
    """The torch twin of ``model`` for a stage, with the training-time ripple of the reconstruction (kicks → ANN
    units: Iin/τ_S each)."""
    from ..ann.torch_model import TorchLpRNN

    net = TorchLpRNN.from_model(model, clamp=cfg.clamp)
    net.ripple = float(cfg.reconstruction_ripple) * float(cfg.Iin) / float(cfg.reconstruction_tau_S)
    return net


def _adding_stage(torch, model: LpRNNModel, cfg: AddingConfig, state: CurriculumState, progress: bool):
    """One adding stage at L = ``state.length``: epochs until the plateau's early stop, a non-finite or small
    enough training MSE; returns the trained model, the stage record and the final training MSE."""
    from ..evaluate_sequences import adding_inputs

    L, lr = int(state.length), float(state.lr)
    net = _net(model, cfg)
    train = adding_task.adding_data(int(cfg.n_train), L, max_entries=cfg.max_entries, min_entries=cfg.min_entries,
                                    rng=rng_for(cfg.seed, "adding", "train", state.stage))
    # the validation sequences _stage scores the length on (one definition of the stream)
    val = adding_inputs(model, L, int(cfg.n_test), int(cfg.seed), split="validation")
    X, Y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    Xv, Yv = torch.from_numpy(val.x), torch.from_numpy(val.y)
    opt = _optimiser(torch, net, cfg, lr)
    sched = Plateau.from_config(cfg, lr)
    shuffle = torch.Generator().manual_seed(int_seed(cfg.seed, "adding", "shuffle", state.stage))
    n_batches = -(-len(train.y) // int(cfg.batch_size))
    epochs = []
    with _bar(progress, int(cfg.epochs) * n_batches, f"adding L={L}") as bar:
        for epoch in range(int(cfg.epochs)):
            train_mse = _adding_epoch(torch, net, opt, cfg, X, Y, shuffle, bar)
            net.eval()
            with torch.no_grad():
                val_mse = float(torch.mean((net(Xv)[:, -1, 0] - Yv) ** 2))
            epoch_lr = sched.lr
            new_lr, stop = sched.step(val_mse if math.isfinite(val_mse) else math.inf)
            _set_lr(opt, new_lr)
            epochs.append({"train_mse": _finite(train_mse), "val_mse": _finite(val_mse), "lr": epoch_lr})
            bar.set_postfix_str(f"mse {train_mse:.4f} val {val_mse:.4f} lr {epoch_lr:.2g}")
            if stop or not math.isfinite(train_mse) or train_mse < float(cfg.stop_loss):
                break
    rec = {"length": L, "lr": lr, "epochs": len(epochs), "train_mse": epochs[-1]["train_mse"],
           "val_mse": epochs[-1]["val_mse"], "epoch_log": epochs}
    return net.to_model(), rec, train_mse


def _adding_epoch(torch, net, opt, cfg: AddingConfig, X, Y, shuffle, bar) -> float:
    """One shuffled pass over the adding training set (MSE at the last step); its mean training MSE."""
    B, n = int(cfg.batch_size), len(Y)
    net.train()
    order = torch.randperm(n, generator=shuffle)
    total = 0.0
    for k in range(-(-n // B)):
        idx = order[k * B:(k + 1) * B]
        loss = torch.mean((net(X[idx])[:, -1, 0] - Y[idx]) ** 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), float(cfg.clip_norm))
        opt.step()
        total += float(loss.detach()) * len(idx)
        bar.update(1)
    return total / n


def _copying_stage(torch, model: LpRNNModel, cfg: CopyingConfig, state: CurriculumState, progress: bool):
    """One copying stage at (T, S) = (``state.length``, ``state.n_recall``), fresh sequences every epoch, until the
    plateau's early stop, a non-finite or small loss or a high enough recall accuracy; returns the trained
    model, the stage record and the final training recall-window accuracy."""
    T, S, lr = int(state.length), int(state.n_recall), float(state.lr)
    net = _net(model, cfg)
    opt = _optimiser(torch, net, cfg, lr)
    sched = Plateau.from_config(cfg, lr)
    B, nb = int(cfg.batch_size), int(cfg.batches_per_epoch)
    pen_w = float(cfg.readout_penalty)
    epochs = []
    with _bar(progress, int(cfg.max_epochs) * nb, f"copying T={T} S={S}") as bar:
        for epoch in range(int(cfg.max_epochs)):
            data = copying_task.copying_data(B * nb, T, n_recall=S, n_symbols=cfg.n_symbols,
                                             rng=rng_for(cfg.seed, "copying", "train", state.stage, epoch))
            ce_sum, pen_sum, hits, all_hits = _copying_epoch(torch, net, opt, cfg, data, bar)
            loss_ep = ce_sum / nb
            acc = hits / (B * nb * S)
            monitored = loss_ep + pen_w * pen_sum / nb
            epoch_lr = sched.lr
            new_lr, stop = sched.step(monitored if math.isfinite(monitored) else math.inf)
            _set_lr(opt, new_lr)
            epochs.append({"loss": _finite(loss_ep), "penalty": _finite(pen_sum / nb), "recall_accuracy": acc,
                           "all_step_accuracy": all_hits / data.y.size, "lr": epoch_lr})
            bar.set_postfix_str(f"loss {loss_ep:.4f} acc {acc:.3f} lr {epoch_lr:.2g}")
            if (stop or not math.isfinite(loss_ep) or acc > float(cfg.stop_accuracy)
                    or loss_ep < float(cfg.stop_loss)):
                break
    last = epochs[-1]
    rec = {"delay": T, "n_recall": S, "length": T, "lr": lr, "epochs": len(epochs), "train_loss": last["loss"],
           "train_recall_accuracy": last["recall_accuracy"], "train_all_step_accuracy": last["all_step_accuracy"],
           "epoch_log": epochs}
    return net.to_model(), rec, last["recall_accuracy"]


def _copying_epoch(torch, net, opt, cfg: CopyingConfig, data, bar) -> tuple[float, float, int, int]:
    """One pass over an epoch's copying sequences (cross-entropy on the recall window, plus the read-out range
    penalty if set): sums of the batch losses and penalties, recall-window and all-step hits."""
    F = torch.nn.functional
    B, nb = int(cfg.batch_size), int(cfg.batches_per_epoch)
    Iin, pen_w = float(cfg.Iin), float(cfg.readout_penalty)
    X, Y, W = (torch.from_numpy(a) for a in (data.x, data.y, data.weights))
    net.train()
    ce_sum = pen_sum = 0.0
    hits = all_hits = 0
    for k in range(nb):
        xb, yb, wb = X[k * B:(k + 1) * B], Y[k * B:(k + 1) * B], W[k * B:(k + 1) * B]
        o = net(xb)
        ce = F.cross_entropy(o.reshape(-1, o.shape[-1]), yb.reshape(-1), reduction="none").reshape(yb.shape)
        loss = (ce * wb).sum() / wb.sum()
        total = loss
        if pen_w:
            pen = ((F.relu(o - Iin) ** 2 + F.relu(-o) ** 2).mean(dim=-1) * wb).sum() / wb.sum()
            total = loss + pen_w * pen
            pen_sum += float(pen.detach())
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), float(cfg.clip_norm))
        opt.step()
        ce_sum += float(loss.detach())
        pred = o.detach().argmax(dim=-1)
        hits += int(((pred == yb) & (wb > 0)).sum())
        all_hits += int((pred == yb).sum())
        bar.update(1)
    return ce_sum, pen_sum, hits, all_hits


# --- the curriculum driver ---------------------------------------------------------------------------------

@dataclass
class _RunOptions:
    """How one call of :func:`train_adding` / :func:`train_copying` runs (their keyword arguments)."""

    out: str | Path | None = None
    checkpoint: str | Path | None = None
    resume: bool = False
    force: bool = False
    progress: bool = True
    log: Callable[[str], None] | None = print
    max_stages: int | None = None
    max_wall_s: float | None = None


def _run(task: str, cfg, opts: _RunOptions) -> CurriculumResult:
    """The curriculum of ``task`` from its start or its checkpoint, stage by stage, then the fine-tuning."""
    torch = import_torch()
    cfg.validate()
    cfg_dict = cfg.to_dict()
    ckpt = _checked_paths(opts)
    state, current, solved = _start(task, cfg, cfg_dict, ckpt, opts)
    t_call = time.time()
    prev = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(int(cfg.threads))
    torch.use_deterministic_algorithms(True)
    env = environment(torch)
    finetune = None
    try:
        while not state.finished:
            if opts.max_stages is not None and state.stage >= int(opts.max_stages):
                break
            if opts.max_wall_s is not None and time.time() - t_call >= float(opts.max_wall_s):
                break
            t0 = time.time()
            seed_everything(torch, int_seed(cfg.seed, task, "train", state.stage))
            current, rec, decision, better = _stage(torch, task, current, cfg, state, opts.progress)
            if better:
                solved = current.copy()
                state.longest_solved, state.solved_n_recall = int(state.length), state.n_recall
            _apply(state, rec, decision, time.time() - t0)
            if ckpt is not None:
                save_checkpoint(ckpt, state, cfg_dict, current, solved)
            if opts.log:
                opts.log(_stage_line(task, rec))
        if state.finished and solved is not None and int(cfg.final_substeps):
            solved, finetune = _finetune(torch, task, solved, cfg, state, opts.progress)
            if opts.log:
                opts.log(f"{task}: fine-tuned at {cfg.final_substeps} sub-steps per frame: {finetune}")
    finally:
        torch.set_num_threads(prev[0])
        torch.use_deterministic_algorithms(prev[1])
    model = _final_model(task, cfg_dict, state, current, solved, torch.__version__, env)
    if finetune is not None:
        model.provenance["curriculum"]["finetune"] = finetune
    if opts.out is not None:
        save_model(model, opts.out, force=opts.force)
    return CurriculumResult(model, state.longest_solved, state, cfg, time.time() - t_call, state.history)


def _checked_paths(opts: _RunOptions) -> Path | None:
    """Refuse an existing output file (without ``force``), a resume without a checkpoint and an existing
    checkpoint without ``resume`` or ``force``; the checkpoint path."""
    if opts.out is not None:
        check_writable(opts.out, opts.force)
    ckpt = Path(opts.checkpoint) if opts.checkpoint is not None else None
    if opts.resume and ckpt is None:
        raise UserInputError("resume needs the checkpoint file to resume from (checkpoint=...)")
    if ckpt is not None and ckpt.exists():
        if not opts.resume and not opts.force:
            raise UserInputError(f"checkpoint {ckpt} exists: pass resume=True (--resume) to continue that run or "
                                 "force=True (--force) to start over")
    return ckpt


def _start(task: str, cfg, cfg_dict: dict, ckpt: Path | None, opts: _RunOptions):
    """(state, current model, solved model): from the checkpoint when resuming one, else a new curriculum."""
    if opts.resume and ckpt.exists():
        state, saved_cfg, current, solved = load_checkpoint(ckpt)
        if state.task != task or saved_cfg != cfg_dict:
            diff = sorted(k for k in set(saved_cfg) | set(cfg_dict) if saved_cfg.get(k) != cfg_dict.get(k))
            raise UserInputError(f"checkpoint {ckpt} is a {state.task} run with another configuration (differs in "
                                 f"{diff or ['task']}); resume with the same configuration or start over")
        if opts.log:
            opts.log(f"{task}: resuming after stage {state.stage} (next length {state.length}, lr {state.lr:g})")
        return state, current, solved
    if task == "adding":
        features = {"task_input": "adding", "max_entries": int(cfg.max_entries),
                    "min_entries": int(cfg.min_entries), "readout": "last_frame"}
        current = initial_model(task, cfg, 2, 1, features)
        return CurriculumState(task, 0, int(cfg.start_length), None, float(cfg.lr)), current, None
    features = {"task_input": "copying", "n_symbols": int(cfg.n_symbols), "n_recall": int(cfg.n_recall),
                "readout": "every_frame"}
    n = copying_task.n_classes(int(cfg.n_symbols))
    current = initial_model(task, cfg, n, n, features)
    return CurriculumState(task, 0, int(cfg.start_delay), int(cfg.n_recall), float(cfg.lr)), current, None


def _stage(torch, task: str, current: LpRNNModel, cfg, state: CurriculumState, progress: bool):
    """One stage: train, score the model on the length's validation sequences (whether it solved the length: what
    selects the model) and on its test sequences (reported only), apply the curriculum rule to the final training
    metric. Returns (model, record, decision, whether it solved a length at least as long as before)."""
    from ..evaluate_sequences import evaluate_adding, evaluate_copying

    if task == "adding":
        current, rec, metric = _adding_stage(torch, current, cfg, state, progress)
        ev_val, ev = (evaluate_adding(current, state.length, int(cfg.n_test), int(cfg.seed), clamp=cfg.clamp,
                                      split=split) for split in ("validation", "test"))
        rec.update(validation_mse=_finite(ev_val.mse), test_mse=_finite(ev.mse), solved=ev_val.solved)
        decision = adding_decision(state.length, state.lr, metric, start_lr=float(cfg.lr),
                                   pass_mse=float(cfg.pass_mse), give_up_mse=float(cfg.give_up_mse),
                                   stop_lr=float(cfg.stop_lr), max_length=int(cfg.max_length))
        better = ev_val.solved and (state.longest_solved is None or state.length >= state.longest_solved)
        return current, rec, decision, better
    current, rec, metric = _copying_stage(torch, current, cfg, state, progress)
    ev_val, ev = (evaluate_copying(current, state.length, int(cfg.n_test), int(cfg.seed), n_recall=state.n_recall,
                                   clamp=cfg.clamp, split=split) for split in ("validation", "test"))
    rec.update(validation_recall_accuracy=ev_val.recall_accuracy, test_recall_accuracy=ev.recall_accuracy,
               test_all_step_accuracy=ev.all_step_accuracy, solved=ev_val.solved)
    decision = copying_decision(state.length, state.n_recall, state.lr, metric, start_lr=float(cfg.lr),
                                pass_accuracy=float(cfg.pass_accuracy), min_lr=float(cfg.min_lr),
                                max_delay=int(cfg.max_delay), max_recall=cfg.max_recall)
    better = ev_val.solved and (state.longest_solved is None or (state.n_recall, state.length)
                                >= (state.solved_n_recall, state.longest_solved))
    return current, rec, decision, better


#: Stage index of the fine-tuning phase's random streams (beyond any curriculum's stages).
FINETUNE_STAGE = 1_000_000


def _finetune(torch, task: str, model: LpRNNModel, cfg, state: CurriculumState, progress: bool):
    """``cfg.final_epochs`` epochs at the longest solved length with ``cfg.final_substeps`` sub-steps per frame and
    lr/10; returns the fine-tuned model, or the solved model's weights if fine-tuning made its validation score
    worse, both updating K times per frame (the record's scores are both measured at K), and the record (validation
    scores before and after, which was kept, and the kept model's test score)."""
    from ..evaluate_sequences import evaluate_adding, evaluate_copying

    K = int(cfg.final_substeps)
    before = model.copy()
    before.substeps = K
    length, S = int(state.longest_solved), state.solved_n_recall
    ft_state = CurriculumState(task, FINETUNE_STAGE, length, S, float(cfg.lr) / 10)
    seed_everything(torch, int_seed(cfg.seed, task, "train", FINETUNE_STAGE))
    t0 = time.time()
    if task == "adding":
        ft_cfg = dataclasses.replace(cfg, substeps=K, epochs=int(cfg.final_epochs))
        tuned, _, _ = _adding_stage(torch, before, ft_cfg, ft_state, progress)
        score = lambda m, split="validation": evaluate_adding(  # noqa: E731
            m, length, int(cfg.n_test), int(cfg.seed), clamp=cfg.clamp, split=split).mse
    else:
        ft_cfg = dataclasses.replace(cfg, substeps=K, max_epochs=int(cfg.final_epochs))
        tuned, _, _ = _copying_stage(torch, before, ft_cfg, ft_state, progress)
        score = lambda m, split="validation": evaluate_copying(  # noqa: E731
            m, length, int(cfg.n_test), int(cfg.seed), n_recall=S, clamp=cfg.clamp, split=split).recall_accuracy
    s_before, s_after = score(before), score(tuned)
    better = s_after <= s_before if task == "adding" else s_after >= s_before
    kept = tuned if better else before
    rec = {"substeps": K, "epochs": int(cfg.final_epochs), "length": length, "lr": float(cfg.lr) / 10,
           "validation_before": _finite(s_before), "validation_after": _finite(s_after),
           "test": _finite(score(kept, "test")),
           "kept": "fine-tuned" if better else "solved model (fine-tuning did not improve it)",
           "wall_s": round(time.time() - t0, 1)}
    return kept, rec


def _apply(state: CurriculumState, rec: dict, d: Decision, wall_s: float) -> None:
    rec.update(stage=state.stage, action=d.action, passed=d.passed, reason=d.reason, wall_s=round(wall_s, 2))
    state.history.append(rec)
    state.stage += 1
    state.length, state.lr, state.n_recall = int(d.length), float(d.lr), d.n_recall
    state.wall_s += wall_s
    if d.action in ("stop", "finish"):
        state.finished, state.stop_reason = True, d.reason


def _stage_line(task: str, rec: dict) -> str:
    def num(v) -> float:
        return float("nan") if v is None else float(v)

    if task == "adding":
        what = f"L {rec['length']:5d}  train MSE {num(rec['train_mse']):.4f}  test MSE {num(rec['test_mse']):.4f}"
    else:
        what = (f"T {rec['delay']:4d} S {rec['n_recall']}  train acc {rec['train_recall_accuracy']:.3f}  "
                f"test acc {rec['test_recall_accuracy']:.3f} (all steps {rec['test_all_step_accuracy']:.3f})")
    return (f"{task} stage {rec['stage']:3d}  {what}  lr {rec['lr']:.3g}  epochs {rec['epochs']}  "
            f"{rec['wall_s']:.0f} s  -> {rec['action']}{' (solved)' if rec['solved'] else ''}")


def _final_model(task: str, cfg_dict: dict, state: CurriculumState, current: LpRNNModel,
                 solved: LpRNNModel | None, torch_version: str, env: dict) -> LpRNNModel:
    model = (solved if solved is not None else current).copy()
    if solved is not None:
        length, S = state.longest_solved, state.solved_n_recall
    else:
        last = state.history[-1] if state.history else {}
        length, S = last.get("length", state.length), last.get("n_recall", state.n_recall)
    model.n_frames = int(length + 2 * S if task == "copying" else length)
    if task == "copying":
        model.features = dict(model.features, n_recall=int(S))
    # per-stage records; the per-epoch logs stay in the checkpoint (they would swell a paper-budget model file)
    history = [{k: v for k, v in rec.items() if k != "epoch_log"} for rec in state.history]
    model.provenance = {
        "trainer": f"lprnn_brian.training.sequence.train_{task}",
        "task": task,
        "seed": int(cfg_dict["seed"]),
        "train_config": cfg_dict,
        "torch_version": str(torch_version),
        "environment": env,
        "curriculum": {
            "longest_solved": state.longest_solved,
            "solved_n_recall": state.solved_n_recall,
            "solved_criterion": ("validation MSE < 0.01" if task == "adding" else
                                 "validation recall-window accuracy >= 0.96") +
                                " (fresh seeded validation sequences; the test sequences only report)",
            "model_is": ("the model after the stage that solved the longest length" if solved is not None
                         else "the last trained model (no length solved)"),
            "stages": state.stage,
            "finished": state.finished,
            "stop_reason": state.stop_reason,
            "next_length": state.length,
            "next_lr": state.lr,
            "train_wall_s": round(state.wall_s, 1),
            "history": history,
        },
    }
    model.validate()
    return model


def train_adding(config: AddingConfig | None = None, out: str | Path | None = None, *,
                 checkpoint: str | Path | None = None, resume: bool = False, force: bool = False,
                 progress: bool = True, log: Callable[[str], None] | None = print, max_stages: int | None = None,
                 max_wall_s: float | None = None) -> CurriculumResult:
    """Train the temporal adding curriculum (docs/method.md#temporal-adding) and return the model that solved the
    longest length.

    Parameters
    ----------
    config : AddingConfig, optional
        Curriculum, model and budget; default :data:`~lprnn_brian.training.sequence_config.ADDING_QUICK` (paper
        budget: :data:`~lprnn_brian.training.sequence_config.ADDING_PAPER`).
    out : path, optional
        Write the final model file there (``save_model``; refused if it exists unless ``force``).
    checkpoint : path, optional
        Curriculum checkpoint, rewritten atomically after every stage.
    resume : bool
        Continue from ``checkpoint`` (which must hold a run with the same configuration); if the file does
        not exist yet, start a new run.
    force : bool
        Replace an existing ``out`` file, and start over even if ``checkpoint`` exists.
    progress : bool
        A tqdm progress bar on stderr (stage, loss, MSE, lr).
    log : callable or None
        One line per stage.
    max_stages : int, optional
        Stop once the curriculum has run this many stages (counting resumed ones); resumable.
    max_wall_s : float, optional
        Start no new stage after this many seconds of this call; resumable.

    Returns
    -------
    CurriculumResult
        ``longest_solved``: the longest L with validation MSE < 0.01 (None if none).
    """
    cfg = dataclasses.replace(config) if config is not None else dataclasses.replace(ADDING_QUICK)
    return _run("adding", cfg, _RunOptions(out, checkpoint, resume, force, progress, log, max_stages, max_wall_s))


def train_copying(config: CopyingConfig | None = None, out: str | Path | None = None, *,
                  checkpoint: str | Path | None = None, resume: bool = False, force: bool = False,
                  progress: bool = True, log: Callable[[str], None] | None = print, max_stages: int | None = None,
                  max_wall_s: float | None = None) -> CurriculumResult:
    """Train the temporal copying curriculum (docs/method.md#temporal-copying) and return the model that solved the
    longest delay.

    Parameters as :func:`train_adding` (``config`` default
    :data:`~lprnn_brian.training.sequence_config.COPYING_QUICK`, paper budget
    :data:`~lprnn_brian.training.sequence_config.COPYING_PAPER`). ``longest_solved`` is the longest delay T whose
    test recall-window accuracy is ≥ 0.96 (S in ``state.solved_n_recall``); the history also records the all-step
    accuracy, the 2019 code's criterion, for comparison.
    """
    cfg = dataclasses.replace(config) if config is not None else dataclasses.replace(COPYING_QUICK)
    return _run("copying", cfg, _RunOptions(out, checkpoint, resume, force, progress, log, max_stages, max_wall_s))


def train_task_cli(args, log: Callable[[str], None] | None = print) -> CurriculumResult:
    """``lprnn-brian train adding|copying``: the preset (``--paper`` or quick) with the command-line overrides.

    Reads from ``args``: task, out, force, quiet, resume, checkpoint (default ``<out>.ckpt``),
    keep_checkpoint, paper, preset (optional: 'quick', 'quick_snn', 'paper'), epochs (adding: per stage;
    copying: the most per stage), seed, batch_size, threads, rnn (its first size: the units), max_length
    (adding L_max / copying T_max), max_stages. The checkpoint is removed after a finished curriculum unless
    ``keep_checkpoint``; a run stopped by ``--max-stages`` keeps it for ``--resume``.
    """
    task = args.task
    name = getattr(args, "preset", None) or ("paper" if getattr(args, "paper", False) else "quick")
    over: dict[str, Any] = {}
    epochs = getattr(args, "epochs", None)
    if epochs is not None:
        over["epochs" if task == "adding" else "max_epochs"] = int(epochs)
    for key in ("seed", "batch_size", "threads"):
        if getattr(args, key, None) is not None:
            over[key] = int(getattr(args, key))
    if getattr(args, "rnn", None):
        over["units"] = int(args.rnn[0])
    if getattr(args, "max_length", None) is not None:
        over["max_length" if task == "adding" else "max_delay"] = int(args.max_length)
    cfg = preset(task, name, **over)
    ckpt = default_checkpoint(args.out, getattr(args, "checkpoint", None))
    fn = train_adding if task == "adding" else train_copying
    res = fn(cfg, args.out, checkpoint=ckpt, resume=bool(getattr(args, "resume", False)),
             force=bool(getattr(args, "force", False)), progress=not getattr(args, "quiet", False), log=log,
             max_stages=getattr(args, "max_stages", None))
    if res.state.finished and ckpt.exists() and not getattr(args, "keep_checkpoint", False):
        ckpt.unlink()
    unit = "L" if task == "adding" else "T"
    what = "none" if res.longest_solved is None else f"{unit} = {res.longest_solved}"
    print(f"wrote {args.out}: longest length solved {what} ({res.state.stage} stages, "
          f"{'finished' if res.state.finished else f'resumable from {ckpt}'})", file=sys.stderr)
    return res
