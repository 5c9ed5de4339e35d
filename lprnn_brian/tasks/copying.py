"""Temporal copying task (Nair & Indiveri 2019; docs/method.md#temporal-copying): data generator, loss weights and
scores.

A sequence has T + 2S steps, one-hot over ``n_symbols + 2`` classes (0 = blank, 1…n_symbols = symbols,
``n_symbols + 1`` = delimiter; decision D5 in docs/decisions.md). Steps 0…S−1 hold S random symbols, then T blanks, the
delimiter at step S+T, and blanks to the end. The target is blank except in the **recall window**
S+T … T+2S−1, which repeats the S symbols. Loss weights are 1 on each sequence's own recall window
(decision D2 in docs/decisions.md), and success is judged on the recall window (decision D3 in docs/decisions.md): an
all-blank output scores (T+S)/(T+2S) over all steps (≥ 0.96 once T ≥ 23·S) but 0 on the recall window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError

BLANK = 0
#: Curriculum (docs/method.md#temporal-copying).
N_RECALL = 8
START_DELAY = 3
MAX_DELAY = 200
PASS_ACCURACY = 0.96


@dataclass(frozen=True)
class CopyingData:
    """x: (n, T+2S, classes) one-hot float32; y: (n, T+2S) int64 targets; weights: (n, T+2S) float32."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    delay: int
    n_recall: int
    n_symbols: int

    @property
    def n_classes(self) -> int:
        return self.n_symbols + 2

    @property
    def recall_window(self) -> slice:
        return recall_window(self.delay, self.n_recall)


def n_classes(n_symbols: int) -> int:
    """Blank + symbols + delimiter."""
    return n_symbols + 2


def recall_window(delay: int, n_recall: int) -> slice:
    """Steps S+T … T+2S−1."""
    return slice(n_recall + delay, delay + 2 * n_recall)


def copying_data(n: int, delay: int, *, n_recall: int = N_RECALL, n_symbols: int = 7,
                 rng: np.random.Generator | int = 0) -> CopyingData:
    """Draw ``n`` copying sequences with a blank delay of ``delay`` steps and ``n_recall`` symbols."""
    if delay < 1 or n_recall < 1 or n_symbols < 1 or n < 0:
        raise UserInputError(f"need delay ≥ 1, n_recall ≥ 1, n_symbols ≥ 1 and n ≥ 0; got {delay}, {n_recall}, "
                             f"{n_symbols}, {n}")
    rng = np.random.default_rng(rng)
    length = delay + 2 * n_recall
    delimiter = n_symbols + 1
    symbols = rng.integers(1, n_symbols + 1, size=(n, n_recall))
    inputs = np.full((n, length), BLANK, dtype=np.int64)
    inputs[:, :n_recall] = symbols
    inputs[:, n_recall + delay] = delimiter
    y = np.full((n, length), BLANK, dtype=np.int64)
    window = recall_window(delay, n_recall)
    y[:, window] = symbols
    weights = np.zeros((n, length), dtype=np.float32)
    weights[:, window] = 1.0
    x = np.eye(n_classes(n_symbols), dtype=np.float32)[inputs]
    return CopyingData(x, y, weights, delay, n_recall, n_symbols)


def recall_accuracy(pred: np.ndarray, data: CopyingData) -> float:
    """Fraction of recall-window steps predicted correctly (the success criterion, decision D3 in docs/decisions.md)."""
    w = data.recall_window
    return float(np.mean(np.asarray(pred)[:, w] == data.y[:, w]))


def all_step_accuracy(pred: np.ndarray, data: CopyingData) -> float:
    """Fraction of all steps predicted correctly (the 2019 code's criterion, kept for comparison)."""
    return float(np.mean(np.asarray(pred) == data.y))


def copying_solved(recall: float) -> bool:
    """The success criterion: recall-window accuracy ≥ :data:`PASS_ACCURACY` (0.96)."""
    return bool(recall >= PASS_ACCURACY)


def all_blank_all_step_accuracy(delay: int, n_recall: int) -> float:
    """Score of an all-blank output over all steps, (T+S)/(T+2S) (docs/method.md#temporal-copying, derived)."""
    return (delay + n_recall) / (delay + 2 * n_recall)


def next_delay(delay: int) -> int:
    """Delay after a passed stage: T + max(1, min(8, ⌊T/5⌋))."""
    return delay + max(1, min(8, delay // 5))


def next_recall(n_recall: int) -> int:
    """Recall length after a passed stage beyond the largest delay: S + max(1, min(3, ⌊S/3⌋))
    (docs/method.md#temporal-copying)."""
    return n_recall + max(1, min(3, n_recall // 3))
