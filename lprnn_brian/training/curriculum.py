"""Curricula of the 2019 sequence tasks (docs/method.md#temporal-adding, docs/method.md#temporal-copying): the stage
rules as pure functions and the resumable curriculum state with its checkpoint file (the random stream of every stage:
:mod:`lprnn_brian.tasks.seeds`).

No torch here: the trainer (:mod:`lprnn_brian.training.sequence`) calls these rules after every stage,
and the tests check them on synthetic stage outcomes.

**Adding** (the 2019 ``add_task_curriculum.py``): a stage passes when its final training MSE is below
0.01; then L += max(10, min(2000, round(L/5))) and lr resets. Otherwise lr halves; if the MSE is below
0.16 (better than chance, k/12) and lr has fallen below 1e-4, L still advances (not passed); if lr is below
1e-4 and the MSE is not, training stops. The length never exceeds L_max, and a pass at L_max finishes.

**Copying** (the 2019 ``copy_task_curriculum.py``): a stage passes when its final training recall-window
accuracy is at least 0.96 (decision D3 in docs/decisions.md); then T += max(1, min(8, ⌊T/5⌋)) and lr resets; a delay
beyond T_max instead sets T = T_max and grows S += max(1, min(3, ⌊S/3⌋)), and finishes once S exceeds
S_max. Otherwise lr halves while it is above 1e-6; at or below 1e-6 training stops.

The checkpoint is one ``.npz`` written atomically (temporary file, then ``os.replace``): the curriculum
state and the configuration as JSON, the model after the last finished stage (``current/``) and the
model that solved the longest length so far (``solved/``), both in the model-file layout of
:func:`lprnn_brian.ann.model.model_arrays`.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..ann.model import LpRNNModel, model_arrays, model_from_arrays
from ..errors import UserInputError
from ..fileio import atomic_path
from ..tasks.adding import MAX_LENGTH, PASS_MSE, next_length
from ..tasks.copying import MAX_DELAY, PASS_ACCURACY, next_delay, next_recall

ACTIONS = ("advance", "retry", "stop", "finish")
CHECKPOINT_FORMAT = "lprnn_brian.curriculum"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Decision:
    """What a curriculum does after a stage.

    Attributes
    ----------
    action : {'advance', 'retry', 'stop', 'finish'}
        ``advance``: next length; ``retry``: same length, lower lr; ``stop``: give up (lr exhausted);
        ``finish``: the largest length was passed.
    length : int
        Length of the next stage (adding L, copying delay T); the current one for stop/finish.
    lr : float
        Learning rate of the next stage.
    passed : bool
        Whether the stage met the pass criterion.
    n_recall : int or None
        Copying: S of the next stage.
    reason : str
        One line for logs and the history.
    """

    action: str
    length: int
    lr: float
    passed: bool
    n_recall: int | None = None
    reason: str = ""


def adding_decision(length: int, lr: float, mse: float, *, start_lr: float, pass_mse: float = PASS_MSE,
                    give_up_mse: float = 0.16, stop_lr: float = 1e-4, max_length: int = MAX_LENGTH) -> Decision:
    """Adding-task curriculum rule after a stage at length ``length`` trained with ``lr``
    (docs/method.md#temporal-adding).

    Parameters
    ----------
    length : int
        L of the finished stage (steps).
    lr : float
        Learning rate the stage used.
    mse : float
        Final training MSE of the stage (NaN counts as a failure).
    start_lr : float
        Learning rate every new length starts with.
    pass_mse, give_up_mse, stop_lr : float
        0.01, 0.16 and 1e-4 in the 2019 code.
    max_length : int
        L_max (50,000).
    """
    passed = bool(mse < pass_mse)
    if passed:
        return _advance_adding(length, start_lr, max_length, True, f"MSE {mse:.4g} < {pass_mse}")
    new_lr = lr / 2
    if new_lr < stop_lr:
        if mse < give_up_mse:
            return _advance_adding(length, start_lr, max_length, False,
                                   f"MSE {mse:.4g} ≥ {pass_mse} but < {give_up_mse} with lr {new_lr:.3g} < {stop_lr}")
        return Decision("stop", length, new_lr, False, None,
                        f"MSE {mse:.4g} ≥ {give_up_mse} with lr {new_lr:.3g} < {stop_lr}: convergence stopped")
    return Decision("retry", length, new_lr, False, None, f"MSE {mse:.4g} ≥ {pass_mse}: lr halves")


def _advance_adding(length: int, start_lr: float, max_length: int, passed: bool, why: str) -> Decision:
    if length >= max_length:
        return Decision("finish", length, start_lr, passed, None, f"{why}; L_max = {max_length} reached")
    nxt = min(next_length(length), max_length)
    return Decision("advance", nxt, start_lr, passed, None, f"{why}: L {length} → {nxt}")


def copying_decision(delay: int, n_recall: int, lr: float, accuracy: float, *, start_lr: float,
                     pass_accuracy: float = PASS_ACCURACY, min_lr: float = 1e-6, max_delay: int = MAX_DELAY,
                     max_recall: int | None = None) -> Decision:
    """Copying-task curriculum rule after a stage with delay ``delay`` and ``n_recall`` symbols
    (docs/method.md#temporal-copying).

    Parameters
    ----------
    delay, n_recall : int
        T and S of the finished stage.
    lr : float
        Learning rate the stage used.
    accuracy : float
        Final training recall-window accuracy of the stage (NaN counts as a failure).
    start_lr : float
        Learning rate every new length starts with.
    pass_accuracy : float
        0.96.
    min_lr : float
        A failed stage with lr ≤ min_lr (1e-6) ends training; above it lr halves.
    max_delay : int
        T_max (200): beyond it S grows instead.
    max_recall : int or None
        S_max: the curriculum finishes when S would exceed it (None: no limit).
    """
    if not accuracy >= pass_accuracy:
        if lr > min_lr:
            return Decision("retry", delay, lr / 2, False, n_recall,
                            f"recall accuracy {accuracy:.4f} < {pass_accuracy}: lr halves")
        return Decision("stop", delay, lr, False, n_recall,
                        f"recall accuracy {accuracy:.4f} < {pass_accuracy} with lr {lr:.3g} ≤ {min_lr}")
    why = f"recall accuracy {accuracy:.4f} ≥ {pass_accuracy}"
    nxt = next_delay(delay)
    if nxt <= max_delay:
        return Decision("advance", nxt, start_lr, True, n_recall, f"{why}: T {delay} → {nxt}")
    s = next_recall(n_recall)
    if max_recall is not None and s > max_recall:
        return Decision("finish", delay, start_lr, True, n_recall, f"{why}; T_max = {max_delay} and S_max = "
                        f"{max_recall} reached")
    return Decision("advance", max_delay, start_lr, True, s, f"{why}: T {delay} → {max_delay}, S {n_recall} → {s}")


# --- state and checkpoint -----------------------------------------------------------------------------------

@dataclass
class CurriculumState:
    """Where a curriculum stands between stages (JSON-serialisable).

    Attributes
    ----------
    task : {'adding', 'copying'}
    stage : int
        Number of finished stages.
    length : int
        Length of the next stage (adding L, copying delay T).
    n_recall : int or None
        Copying: S of the next stage.
    lr : float
        Learning rate of the next stage.
    longest_solved : int or None
        Longest length whose criterion was met on the validation sequences (adding: MSE < 0.01; copying:
        recall-window accuracy ≥ 0.96), None before the first.
    solved_n_recall : int or None
        Copying: S at ``longest_solved``.
    finished : bool
        True once the curriculum stopped or finished (no further stage).
    stop_reason : str
    history : list of dict
        One record per finished stage (length, lr, epochs, losses, metrics, decision, wall time).
    wall_s : float
        Training seconds summed over all calls (resumed runs included).
    """

    task: str
    stage: int = 0
    length: int = 0
    n_recall: int | None = None
    lr: float = 0.0
    longest_solved: int | None = None
    solved_n_recall: int | None = None
    finished: bool = False
    stop_reason: str = ""
    history: list = field(default_factory=list)
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CurriculumState":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def save_checkpoint(path: str | os.PathLike, state: CurriculumState, config: dict, current: LpRNNModel,
                    solved: LpRNNModel | None = None) -> Path:
    """Write the checkpoint atomically (replacing an earlier one at ``path``)."""
    meta = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "state": state.to_dict(),
            "config": config}
    arrays = {"meta": np.array(json.dumps(meta, allow_nan=True, sort_keys=True))}
    arrays.update(model_arrays(current, "current/"))
    if solved is not None:
        arrays.update(model_arrays(solved, "solved/"))
    with atomic_path(path, force=True) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> tuple[CurriculumState, dict, LpRNNModel, LpRNNModel | None]:
    """Read a checkpoint written by :func:`save_checkpoint`: (state, config, current model, solved model)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"][()]))
            if meta.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
            if meta.get("format_version", 0) > CHECKPOINT_VERSION:
                raise UserInputError(f"{path} was written by a newer lprnn_brian; upgrade lprnn_brian to resume it")
            current = model_from_arrays(z, path, "current/")
            solved = model_from_arrays(z, path, "solved/") if "solved/meta" in z.files else None
    except UserInputError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UserInputError(f"{path} is not a curriculum checkpoint of lprnn_brian ({exc}); give the file that "
                             "train_adding/train_copying wrote, or start over without resume") from None
    return CurriculumState.from_dict(meta["state"]), meta["config"], current, solved
