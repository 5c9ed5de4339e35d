"""Configurations of the adding and copying curricula (docs/method.md#temporal-adding, docs/method.md#temporal-copying)
and their presets: the paper budgets, the quick ones (a few minutes on 2 CPU cores) and those whose ΣΔ network
reproduces the model. The trainer is
:mod:`lprnn_brian.training.sequence` (see its docstring for the model, the training and the presets' purpose).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..ann.forward import CLAMPS
from ..ann.model import reconstruction_meta
from ..errors import UserInputError
from ..tasks import adding as adding_task
from ..tasks import copying as copying_task

__all__ = ["AddingConfig", "CopyingConfig", "ADDING_PAPER", "ADDING_QUICK", "ADDING_QUICK_SNN", "ADDING_SNN",
           "COPYING_PAPER", "COPYING_QUICK", "COPYING_QUICK_SNN", "COPYING_SNN", "PRESETS", "preset"]

OPTIMISERS = ("sgd", "adam")


@dataclass
class _SequenceConfig:
    """Fields shared by both tasks (see :class:`AddingConfig` and :class:`CopyingConfig`)."""

    units: int = 32
    retention_range: tuple = (0.1, 1.0)
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    clip_norm: float = 1000.0
    batch_size: int = 32
    plateau_factor: float = 0.9
    plateau_patience: int = 2
    plateau_min_delta: float = 1e-4
    plateau_min_lr: float = 1e-6
    early_stop_patience: int = 25
    early_stop_min_delta: float = 0.0
    Iin: float = 6.0
    int_bits: int = 32
    frac_bits: int = 3
    clamp: str = "clamp_then_filter"
    substeps: int = 1
    retention_grid: float = 0.0
    reconstruction: str = ""
    reconstruction_tau_S: float = 64.0
    reconstruction_ripple: float = 0.0
    final_substeps: int = 0
    final_epochs: int = 0
    seed: int = 0
    threads: int = 1

    def _check_common(self) -> None:
        bad = self._bad
        if int(self.units) < 1 or int(self.batch_size) < 1 or int(self.threads) < 1:
            bad("units, batch_size and threads must be >= 1")
        lo, hi = (float(v) for v in self.retention_range)
        if not 0.0 < lo <= hi <= 1.0:
            bad(f"retention_range must satisfy 0 < low <= high <= 1, got {self.retention_range}")
        if self.optimizer not in OPTIMISERS:
            bad(f"optimizer must be one of {OPTIMISERS}, got {self.optimizer!r}")
        if float(self.lr) <= 0 or float(self.clip_norm) <= 0 or not 0 < float(self.plateau_factor) <= 1:
            bad("lr and clip_norm must be positive and plateau_factor in (0, 1]")
        if self.clamp not in CLAMPS:
            bad(f"clamp must be one of {CLAMPS}, got {self.clamp!r}")
        if int(self.substeps) < 1:
            bad(f"substeps must be >= 1, got {self.substeps}")
        grid = float(self.retention_grid)
        if grid != 0 and not (grid >= 1 and float(4096 / grid).is_integer()):
            bad(f"retention_grid must be 0 (off) or a feedback time constant 4096/d steps, got {self.retention_grid}")
        try:
            reconstruction_meta(self.reconstruction, self.reconstruction_tau_S)
        except UserInputError as err:
            bad(str(err))
        if not float(self.reconstruction_ripple) >= 0 or (float(self.reconstruction_ripple) and not self.reconstruction):
            bad("reconstruction_ripple must be >= 0 (kicks) and needs a reconstruction")
        if not float(self.reconstruction_tau_S) >= 2:
            bad(f"reconstruction_tau_S must be >= 2 steps, got {self.reconstruction_tau_S}")
        if int(self.final_substeps) < 0 or int(self.final_epochs) < 0 or (
                int(self.final_substeps) > 0) != (int(self.final_epochs) > 0):
            bad("final_substeps and final_epochs must both be 0 (no fine-tuning) or both >= 1")

    def _bad(self, msg: str) -> None:
        raise UserInputError(f"{type(self).__name__}: {msg}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (tuples as lists); equal dicts mean the same curriculum."""
        d = dataclasses.asdict(self)
        d["retention_range"] = [float(v) for v in self.retention_range]
        return d

    @classmethod
    def from_dict(cls, d: dict):
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "retention_range" in kw:
            kw["retention_range"] = tuple(kw["retention_range"])
        return cls(**kw)


@dataclass
class AddingConfig(_SequenceConfig):
    """Temporal adding curriculum (docs/method.md#temporal-adding). Defaults: the paper's values (:data:`ADDING_PAPER`).

    Model: ``units`` lpRNN units with a ~ U(retention_range) (moved onto the Loihi decay grid of a feedback time
    constant of ``retention_grid`` steps unless 0: :func:`lprnn_brian.convert.loihi_retentions`), Iin, quantiser
    bits (I, F), ``clamp``, and (``reconstruction``: a threshold policy) the ΣΔ neuron's mean reconstruction at a feedback
    time constant of ``reconstruction_tau_S`` steps (:attr:`lprnn_brian.ann.model.LpRNNModel.reconstruction`),
    with, in training only, uniform noise ``reconstruction_ripple`` kicks wide on what each layer passes on (the
    reconstruction's ripple).
    Fine-tuning: with ``final_substeps`` K and ``final_epochs`` E, a finished curriculum ends with E epochs at
    the longest solved length with K sub-steps per frame (lr/10), so that the model holds in the continuous time
    its ΣΔ network runs in; the model returned updates K times per frame.
    Data: ``max_entries``/``min_entries`` marked values per sequence (k uniform, inclusive), ``n_train``
    training sequences per stage (new ones every stage) and ``n_test`` test sequences per length.
    Budget: ``epochs`` per stage, ``batch_size``; optimiser ``optimizer`` ('sgd' or 'adam') with ``lr``,
    ``momentum`` (SGD), gradient-norm clip ``clip_norm``; ReduceLROnPlateau on the test (validation) MSE
    (``plateau_*``, Keras semantics: ×factor after ``patience`` epochs without an improvement above
    ``min_delta``, floor ``plateau_min_lr``); early stop on it (``early_stop_patience``); stage stop at a
    training MSE below ``stop_loss``.
    Curriculum: ``start_length``, ``max_length``, ``pass_mse``, ``give_up_mse``, ``stop_lr`` (see
    :func:`lprnn_brian.training.curriculum.adding_decision`).
    ``seed`` seeds everything (retentions, initial weights, data, shuffling); ``threads`` torch CPU threads
    (1 is fastest for these small networks).
    """

    max_entries: int = 2
    min_entries: int = 2
    n_train: int = 10_000
    n_test: int = 1_000
    epochs: int = 10
    stop_loss: float = 1e-3
    start_length: int = adding_task.START_LENGTH
    max_length: int = adding_task.MAX_LENGTH
    pass_mse: float = adding_task.PASS_MSE
    give_up_mse: float = 0.16
    stop_lr: float = 1e-4

    def validate(self) -> None:
        self._check_common()
        if not 1 <= int(self.min_entries) <= int(self.max_entries) <= int(self.start_length):
            self._bad("need 1 <= min_entries <= max_entries <= start_length")
        if min(int(self.n_train), int(self.n_test), int(self.epochs)) < 1:
            self._bad("n_train, n_test and epochs must be >= 1")
        if int(self.max_length) < int(self.start_length):
            self._bad("max_length must be >= start_length")


@dataclass
class CopyingConfig(_SequenceConfig):
    """Temporal copying curriculum (docs/method.md#temporal-copying). Defaults: the paper's values
    (:data:`COPYING_PAPER`).

    Model as :class:`AddingConfig` (128 units). Data: ``n_symbols`` symbols (classes = n_symbols + 2),
    ``n_recall`` = S, delays T from ``start_delay`` to ``max_delay`` (then S grows up to ``max_recall``);
    every epoch draws ``batches_per_epoch`` fresh batches; ``n_test`` test sequences score each stage.
    Budget: at most ``max_epochs`` epochs per stage; plateau and early stop on the training loss; stage stop
    at a training recall accuracy above ``stop_accuracy`` or a loss below ``stop_loss``. Curriculum:
    ``pass_accuracy``, ``min_lr`` (see :func:`lprnn_brian.training.curriculum.copying_decision`).
    ``readout_penalty``: weight of the read-out range penalty (0: off, the paper).
    """

    units: int = 128
    momentum: float = 0.9
    clip_norm: float = 10.0
    batch_size: int = 8
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    plateau_min_lr: float = 1e-7
    early_stop_patience: int = 10
    early_stop_min_delta: float = 1e-4
    n_symbols: int = 7
    n_recall: int = copying_task.N_RECALL
    start_delay: int = copying_task.START_DELAY
    max_delay: int = copying_task.MAX_DELAY
    max_recall: int | None = None
    batches_per_epoch: int = 1000
    max_epochs: int = 1000
    n_test: int = 1000
    stop_accuracy: float = 0.99
    stop_loss: float = 1e-5
    pass_accuracy: float = copying_task.PASS_ACCURACY
    min_lr: float = 1e-6
    readout_penalty: float = 0.0

    def validate(self) -> None:
        self._check_common()
        if min(int(self.n_symbols), int(self.n_recall), int(self.start_delay), int(self.batches_per_epoch),
               int(self.max_epochs), int(self.n_test)) < 1:
            self._bad("n_symbols, n_recall, start_delay, batches_per_epoch, max_epochs and n_test must be >= 1")
        if int(self.max_delay) < int(self.start_delay):
            self._bad("max_delay must be >= start_delay")
        if float(self.readout_penalty) < 0:
            self._bad("readout_penalty must be >= 0")


#: The 2019 paper's adding budget (docs/method.md#temporal-adding).
ADDING_PAPER = AddingConfig()
#: Quick adding budget (2 CPU cores, a few minutes): the paper's cell (clamp-then-filter, one update per frame,
#: F = 3 QAT), Adam lr 1e-3, 2,000 training sequences and 4 epochs per stage, 500 test sequences, L_max = 200.
#: SGD at the paper's lr 0.01 needs the paper budget (it reached only L = 30 in 5 minutes).
ADDING_QUICK = AddingConfig(optimizer="adam", lr=1e-3, n_train=2000, n_test=500, epochs=4, max_length=200)
#: The quick budget for a model whose ΣΔ network reproduces it: filter-then-clamp and 4 sub-steps per frame
#: (the continuous-time dynamics the SNN integrates, see lprnn_brian.convert); L_max = 100.
ADDING_QUICK_SNN = dataclasses.replace(ADDING_QUICK, clamp="filter_then_clamp", substeps=4, max_length=100)
#: The 2019 paper's copying budget (docs/method.md#temporal-copying).
COPYING_PAPER = CopyingConfig()
#: Quick copying budget: Adam lr 3e-3, 100 batches of 32 per epoch, at most 30 epochs per stage (a stage also
#: ends at a training recall accuracy > 0.97), 500 test sequences, T_max = 40, S fixed at 8. Full precision
#: (frac_bits = 32): with F = 3 QAT (or F = 4) the first stage (T = 3) stalls near 0.88 recall accuracy in
#: 5 minutes; float-mode SNN conversion works without the grid, Loihi mode needs quantised weights.
COPYING_QUICK = CopyingConfig(optimizer="adam", lr=3e-3, batch_size=32, batches_per_epoch=100, max_epochs=30,
                              stop_accuracy=0.97, frac_bits=32, n_test=500, max_delay=40, max_recall=8)
#: As ADDING_QUICK_SNN, for copying (T_max = 12).
COPYING_QUICK_SNN = dataclasses.replace(COPYING_QUICK, clamp="filter_then_clamp", substeps=4, max_delay=12)

#: A model its ΣΔ network reproduces in Loihi-integer mode: one retention (a = 0.8, τ_I = τ_S on Loihi: every
#: synaptic increment a multiple of 512 units), 1/8-grid weights, trained through the ΣΔ neuron's mean
#: reconstruction under the default threshold policy (filter-then-clamp, 4 sub-steps per frame, then 2 epochs at
#: 16, close to the SNN's 14.3 steps per frame), Adam 1e-3 with gradient-norm clip 1, 4,000 sequences and 6 epochs
#: per stage, up to L = 200 (docs/method.md#what-the-spikes-realise-and-training-for-it). Iin = 3: the ripple of
#: every decode is Iin/τ_S ANN units, half of ReLU6's, while the sum (at most 2) stays inside the read-out's fb range
#: [0, Iin].
ADDING_SNN = AddingConfig(Iin=3.0, optimizer="adam", lr=1e-3, clip_norm=1.0, n_train=4000, n_test=500, epochs=6,
                          max_length=200, retention_range=(0.8, 0.8), clamp="filter_then_clamp", substeps=4,
                          reconstruction="unbiased", reconstruction_tau_S=64.0, final_substeps=16, final_epochs=2)
#: As ADDING_SNN for copying, with 1/16-grid weights (the finest grid whose Loihi weights stay integer at τ_S = 64)
#: and the read-out range penalty (the fb decode reads [0, Iin]); T_max = 30, S = 8.
COPYING_SNN = dataclasses.replace(COPYING_QUICK, retention_range=(0.8, 0.8), clamp="filter_then_clamp", substeps=4,
                                  frac_bits=4, reconstruction="unbiased", reconstruction_tau_S=64.0,
                                  readout_penalty=1.0, max_delay=30, final_substeps=16, final_epochs=2)

PRESETS = {"adding": {"paper": ADDING_PAPER, "quick": ADDING_QUICK, "quick_snn": ADDING_QUICK_SNN,
                      "snn": ADDING_SNN},
           "copying": {"paper": COPYING_PAPER, "quick": COPYING_QUICK, "quick_snn": COPYING_QUICK_SNN,
                       "snn": COPYING_SNN}}


def preset(task: str, name: str = "quick", **overrides):
    """A copy of a preset configuration (``PRESETS[task][name]``) with fields replaced.

    Parameters
    ----------
    task : {'adding', 'copying'}
    name : {'quick', 'quick_snn', 'snn', 'paper'}
    **overrides
        Configuration fields to change (e.g. ``max_length=500``, ``seed=1``).
    """
    if task not in PRESETS or name not in PRESETS[task]:
        raise UserInputError(f"unknown preset {task!r}/{name!r}; choose a task in {sorted(PRESETS)} and a preset in "
                             f"{sorted(PRESETS['adding'])}")
    try:
        return dataclasses.replace(PRESETS[task][name], **overrides)
    except TypeError as exc:
        raise UserInputError(f"bad configuration field for {task}: {exc}") from None
