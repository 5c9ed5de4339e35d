"""Temporal adding task (Nair & Indiveri 2019; docs/method.md#temporal-adding): data generator, score and curriculum
rules.

Each sequence has two channels: channel 0 holds values ~ U(0, 1), channel 1 marks k distinct positions
(k uniform on [min_entries, max_entries], both ends inclusive: decision D4 in docs/decisions.md). The target is the sum
of the marked values. Predicting the mean scores MSE = k/12 (the variance of a sum of k uniforms).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError

#: Curriculum (docs/method.md#temporal-adding): start length, maximum length, pass criterion and growth cap.
START_LENGTH = 10
MAX_LENGTH = 50_000
PASS_MSE = 0.01


@dataclass(frozen=True)
class AddingData:
    """x: (n, length, 2) float32; y: (n,) float32 targets; k: (n,) marked entries per sequence."""

    x: np.ndarray
    y: np.ndarray
    k: np.ndarray


def adding_data(n: int, length: int, *, max_entries: int = 2, min_entries: int = 2,
                rng: np.random.Generator | int = 0) -> AddingData:
    """Draw ``n`` adding sequences of ``length`` steps.

    Parameters
    ----------
    n, length : int
        Number of sequences and their length (≥ max_entries).
    max_entries, min_entries : int
        k is uniform on [min_entries, max_entries], inclusive (default 2: the classic task).
    rng : numpy Generator or int seed
    """
    if not 1 <= min_entries <= max_entries:
        raise UserInputError(f"need 1 ≤ min_entries ≤ max_entries, got {min_entries}, {max_entries}")
    if length < max_entries:
        raise UserInputError(f"length {length} cannot hold {max_entries} distinct marked entries")
    if n < 0:
        raise UserInputError(f"n must be ≥ 0, got {n}")
    rng = np.random.default_rng(rng)
    values = rng.uniform(0.0, 1.0, (n, length))
    k = rng.integers(min_entries, max_entries + 1, size=n)
    # k distinct positions per row: the first k of a random permutation (argsort of uniform keys)
    order = np.argsort(rng.uniform(size=(n, length)), axis=1)
    marks = np.zeros((n, length))
    rows = np.repeat(np.arange(n), k)
    cols = np.concatenate([order[i, :k[i]] for i in range(n)]) if n else np.zeros(0, int)
    marks[rows, cols] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    y = (values * marks).sum(axis=1).astype(np.float32)
    return AddingData(x, y, k)


def chance_mse(k: float) -> float:
    """MSE of always predicting the mean target k/2: Var(sum of k U(0,1)) = k/12."""
    return k / 12.0


def adding_mse(pred: np.ndarray, data: AddingData) -> float:
    """Mean squared error of the predictions (n,) against the sums of the marked values (in float64)."""
    return float(np.mean((pred - data.y.astype(np.float64)) ** 2))


def adding_solved(mse: float) -> bool:
    """The 2019 success criterion: MSE < :data:`PASS_MSE` (0.01)."""
    return bool(mse < PASS_MSE)


def next_length(length: int) -> int:
    """Length after a passed stage: L + max(10, min(2000, round(L/5)))."""
    return length + max(10, min(2000, round(length / 5)))
