"""Configurations of the classifier trainer (:mod:`lprnn_brian.training.classifier`): the hyper-parameters of one
training (:class:`TrainConfig`) and the recipes of the bundled digits model and of the spoken-word tasks (SHD, GSC;
the authors' recipes, docs/method.md#architectures-read-out-and-training).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..ann.checkpoint import ARCHS
from ..ann.model import is_readout_range, reconstruction_meta
from ..errors import UserInputError

@dataclass
class TrainConfig:
    """Hyper-parameters (defaults: the authors' SHD recipe, docs/method.md#architectures-read-out-and-training, with a
    small network).

    ``prune_iterations`` is the authors' ``--wth``: 1 trains once; N > 1 runs N "winning ticket" iterations,
    iteration k > 0 restarting from a deep copy of the initial weights with the mask q(w) ≠ 0 of iteration
    k − 1's selected model on the weight matrices (W, U) and their gradients
    (docs/method.md#quantisation-export-and-pruning, decisions A5, A10 in docs/decisions.md). ``optimizer`` ``'adamw'``
    with ``weight_decay`` and ``plateau_mode`` ``'max_val_acc'`` give the GSC recipes. ``readout_penalty`` (off by
    default, beyond the paper) adds λ·mean(relu(o − Iin)² + relu(−o)²) over the read-out window, which keeps the
    read-out inside [0, Iin], the range of the SNN's fb decode (docs/method.md#input-decoding-and-compartments).
    ``readout_range`` (beyond the paper; None: Iin) is stored in the model
    (:attr:`lprnn_brian.ann.model.LpRNNModel.readout_range`) for its conversion: the range its spiking read-out
    carries (docs/method.md#the-read-outs-range); the training does not use it.
    ``substeps`` (beyond the paper; default (1,)): every training batch integrates each frame in K sub-steps, K drawn
    from this tuple, with retention a^(1/K) and the input held (:func:`substep_forward`). K = 1 is the ANN; large K
    approaches the continuous-time dynamics that the ΣΔ network follows (M ≈ 14 SNN steps per frame,
    docs/method.md#reproduced-numbers), in which the recurrent input is the current state rather than the previous
    frame's. Training on both keeps the per-frame ANN accurate and makes its ΣΔ network agree with it. Validation,
    selection and every reported accuracy use the model's own sub-steps, ``model_substeps`` (default 1: the ANN of
    docs/method.md#layers-and-time-constant). ``model_substeps`` K > 1 makes the trained model a network that updates K
    times per frame (:attr:`lprnn_brian.ann.model.LpRNNModel.substeps`, as the sequence models): the ANN whose
    continuous-time dynamics its ΣΔ network follows (docs/method.md#what-the-spikes-realise-and-training-for-it).
    ``weight_average`` (beyond the paper; 0 off): the decay d of an exponential moving average of the weights,
    updated after every optimiser step; validation, selection and the stored model use the average (the live
    weights keep training).
    ``reconstruction`` (beyond the paper; '' off): a threshold policy; every low-pass layer then passes on the ΣΔ
    neuron's mean reconstruction of its state at a feedback time constant of ``reconstruction_tau_S`` SNN steps
    (:attr:`lprnn_brian.ann.model.LpRNNModel.reconstruction`;
    docs/method.md#what-the-spikes-realise-and-training-for-it).
    """

    lpff: int = 32
    rnn: tuple = (64, 64)
    epochs: int = 40
    batch_size: int = 32
    eval_batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    plateau_mode: str = "min_val_loss"
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    plateau_threshold: float = 1e-4
    min_lr: float = 0.0
    clip_norm: float = 2.0
    clip_value: float = 2.0
    val_fraction: float = 0.1
    seed: int = 0
    retention: float = 0.8
    Iin: float = 6.0
    int_bits: int = 32
    frac_bits: int = 3
    readout_window: str = "second_half"
    clamp: str = "clamp_then_filter"
    freq_mask: int = 0
    time_shift: int = 0
    freq_warp: float = 0.0
    code_range: tuple | None = None
    readout_penalty: float = 0.0
    readout_range: float | None = None
    substeps: tuple = (1,)
    model_substeps: int = 1
    reconstruction: str = ""
    reconstruction_tau_S: float = 64.0
    prune_iterations: int = 1
    threads: int = 2
    weight_average: float = 0.0

    def validate(self) -> None:
        def bad(msg: str) -> None:
            raise UserInputError(f"training config: {msg}")

        if int(self.lpff) < 0 or not self.rnn or min(int(n) for n in self.rnn) < 1:
            bad(f"need lpff >= 0 and at least one lpRNN layer of >= 1 unit, got lpff={self.lpff}, rnn={self.rnn}")
        for k in ("epochs", "batch_size", "eval_batch_size", "threads", "prune_iterations"):
            if int(getattr(self, k)) < 1:
                bad(f"{k} must be >= 1, got {getattr(self, k)}")
        if not 0.0 < float(self.val_fraction) < 1.0:
            bad(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if float(self.lr) <= 0:
            bad(f"lr must be positive, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            bad(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.plateau_mode not in PLATEAU_MODES:
            bad(f"plateau_mode must be one of {PLATEAU_MODES}, got {self.plateau_mode!r}")
        if int(self.freq_mask) < 0 or int(self.time_shift) < 0:
            bad("freq_mask and time_shift must be >= 0")
        if not 0.0 <= float(self.weight_average) < 1.0:
            bad(f"weight_average is the decay of the weights' moving average, in [0, 1) (0: off); got "
                f"{self.weight_average}")
        if not 0.0 <= float(self.freq_warp) < 0.5:
            bad(f"freq_warp is a fraction in [0, 0.5), e.g. 0.1 for ±10 %; got {self.freq_warp}")
        if not self.substeps or min(int(k) for k in self.substeps) < 1:
            bad(f"substeps must be positive integers, e.g. (1,) or (1, 8); got {self.substeps}")
        if isinstance(self.model_substeps, bool) or int(self.model_substeps) != self.model_substeps or \
                int(self.model_substeps) < 1:
            bad(f"model_substeps must be an integer >= 1, got {self.model_substeps!r}")
        if self.clamp != "clamp_then_filter":
            bad(f"clamp must be 'clamp_then_filter' for a classifier, got {self.clamp!r}: the model file records no "
                "clamp convention and every forward pass of a stored model clamps, then filters, so a model trained "
                "filter-then-clamp would be scored as another network (docs/method.md#two-clamp-conventions)")
        if self.readout_range is not None and not (isinstance(self.readout_range, (int, float))
                                                   and is_readout_range(self.readout_range)):
            bad(f"readout_range must be None (Iin) or a positive number of ANN units, got {self.readout_range!r}")
        if float(self.readout_penalty) < 0 or float(self.weight_decay) < 0:
            bad("readout_penalty and weight_decay must be >= 0")
        try:
            reconstruction_meta(self.reconstruction, self.reconstruction_tau_S)
        except UserInputError as err:
            bad(str(err))
        if self.code_range is not None:
            if len(self.code_range) != 2 or int(self.code_range[0]) >= int(self.code_range[1]):
                bad(f"code_range must be (lowest code, highest code), e.g. (-4, 3); got {self.code_range}")
            if int(self.frac_bits) >= 32:
                bad("code_range needs quantisation (frac_bits < 32)")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["rnn"] = [int(n) for n in self.rnn]
        d["substeps"] = [int(k) for k in self.substeps]
        if self.code_range is not None:
            d["code_range"] = [int(c) for c in self.code_range]
        return d


OPTIMIZERS = ("adam", "adamw")
PLATEAU_MODES = ("min_val_loss", "max_val_acc")

#: The digits recipe (the shipped model lprnn_brian/data/digits_lprnn.npz is the seed of five it selects by
#: validation accuracy): 80 → lpff 48 → lpRNN 96 → lpRNN 96 → 10 (250 neurons, 37,306 parameters), the paper's
#: recipe (3-bit codes −4…3) plus frequency masking and time shifts (the test speakers are unseen; without
#: augmentation this net overfits), the read-out range penalty (the SNN's fb decode is clamped to [0, Iin]), 100
#: epochs, and a model that updates 4 times per frame (``model_substeps``), trained on 1 and 4 sub-steps: the ANN
#: that is selected and scored is then the continuous-time network its ΣΔ network follows (about 14 SNN steps per
#: frame), so the spikes agree with it to within a point (docs/accuracy.md#the-bundled-spoken-digits; scored at one
#: update per frame the same models are 1–2 points apart from their spikes). The weights' moving average (decay
#: 0.998: a time constant of 500 optimiser steps, about 15 epochs) is what is validated, selected and stored: it cut
#: the spread over five seeds from 94.4 ± 1.9 % to 95.4 ± 0.7 % (docs/accuracy.md#the-bundled-spoken-digits). The
#: read-out penalty's weight 0.3 (0.1 before) keeps the read-out inside the range the spikes can carry: with it the
#: five seeds' ANN went from 95.4 ± 0.7 % to 96.1 ± 0.9 % and their spikes closer to it (same page). The model's
#: spiking read-out carries logits up to 12 = 2·Iin (``readout_range``, docs/method.md#the-read-outs-range): the
#: penalty leaves a winning logit above Iin in some frames, where a read-out clamped at Iin cut it and lost up to 3
#: of the 210 test clips per seed. One thread: as fast as two for these small layers, and the thread count is part
#: of what a rerun must match.
DIGITS_CONFIG = TrainConfig(lpff=48, rnn=(96, 96), epochs=100, freq_mask=10, time_shift=10, readout_penalty=0.3,
                            code_range=(-4, 3), substeps=(1, 4), model_substeps=4, threads=1, weight_average=0.998,
                            readout_range=12.0)

#: The authors' SHD recipe (docs/method.md#architectures-read-out-and-training): 80 mel → lpff 128 → lpRNN 512 →
#: lpRNN 512 → 20; Adam 1e-3, plateau on the validation loss ×0.5 patience 3, 50 epochs, batch 64, clipping
#: 2.0/2.0, no pruning.
SHD_CONFIG = TrainConfig(lpff=128, rnn=(512, 512), epochs=50, batch_size=64, eval_batch_size=128)

#: Paper-era GSC (docs/method.md#architectures-read-out-and-training, docs/method.md#google-speech-commands):
#: lpff 80 → 512 → 512; AdamW 1e-3 (wd 1e-5); plateau on the validation loss ×0.7, threshold 0.1, patience 2, min
#: 1e-5; clipping 1.0/1.0; batch 128; frequency masking (on the mel features here, the authors mask ≤ 80
#: linear-spectrogram bins); two winning-ticket iterations (nWTH_0 and nWTH_1, decision P2 in docs/decisions.md).
GSC_CONFIG = TrainConfig(lpff=80, rnn=(512, 512), epochs=50, batch_size=128, eval_batch_size=256,
                         optimizer="adamw", weight_decay=1e-5, plateau_factor=0.7, plateau_threshold=0.1,
                         plateau_patience=2, min_lr=1e-5, clip_norm=1.0, clip_value=1.0, freq_mask=10,
                         prune_iterations=2)


#: GSC HEAD recipe (docs/method.md#architectures-read-out-and-training, docs/method.md#google-speech-commands):
#: 40 Kaldi fbank bins → lpff 128 → 512 → 512, all-frame read-out; AdamW 1e-3 (wd 1e-5), plateau on the validation
#: accuracy ×0.7 patience 1 (min 1e-6), clipping 1.0/1.0, two winning-ticket iterations. The authors'
#: FrequencyMasking(40) masks time on their (98, 40) matrix; decision A4 in docs/decisions.md masks frequency, and ≤ 40
#: of 40 bins would erase the input, so ≤ 10 bins are masked.
GSC_HEAD_CONFIG = dataclasses.replace(GSC_CONFIG, lpff=128, readout_window="all", plateau_mode="max_val_acc",
                                      plateau_factor=0.7, plateau_patience=1, plateau_threshold=1e-4, min_lr=1e-6)

#: The spoken-word tasks with a recipe: those of the authors' checkpoints (their architectures are named after them).
SPOKEN_TASKS = ARCHS


def spoken_config(task: str, pipeline: str = "paper") -> TrainConfig:
    """The paper recipe of a spoken-word task: SHD, GSC paper era or GSC HEAD."""
    if task == "shd":
        return SHD_CONFIG
    if task == "gsc":
        return GSC_HEAD_CONFIG if pipeline == "head" else GSC_CONFIG
    raise UserInputError(f"unknown spoken task {task!r}; choose one of {SPOKEN_TASKS}")
