"""The random streams of the 2019 sequence tasks (adding, copying): one seed per (seed, task, purpose, keys…).

The trainers (:mod:`lprnn_brian.training.sequence`) draw their initial model, training data and shuffling from
these streams, and the evaluation (:mod:`lprnn_brian.evaluate_sequences`) finds a length's test sequences again
in the same stream, so a model's recorded test score can be reproduced from its seed alone.
"""
from __future__ import annotations

import numpy as np

__all__ = ["seed_sequence", "rng_for", "int_seed"]

#: Task codes mixed into the seeds, so that the tasks never share a random stream.
_TASK_CODE = {"adding": 1, "copying": 2}
_PURPOSE_CODE = {"train": 1, "test": 2, "shuffle": 3, "init": 4, "validation": 5}


def seed_sequence(seed: int, task: str, purpose: str, *keys: int) -> np.random.SeedSequence:
    """The seed of one random stream: (seed, task, purpose, keys…), e.g. ('train', stage) or ('test', L).

    'validation' sequences (keyed like the test ones) are what a training selects and stops on; they share no stream
    with the test sequences that report its score.

    Training data and shuffling are keyed by the stage index (a retry at the same length sees new data, as in
    the 2019 code); test data by the length, so every run with one seed scores a length on the same
    sequences (and :func:`lprnn_brian.evaluate_sequences.evaluate_adding` finds them again).
    """
    if task not in _TASK_CODE or purpose not in _PURPOSE_CODE:
        raise ValueError(f"unknown seed stream {task!r}/{purpose!r}")
    return np.random.SeedSequence([int(seed), _TASK_CODE[task], _PURPOSE_CODE[purpose], *(int(k) for k in keys)])


def rng_for(seed: int, task: str, purpose: str, *keys: int) -> np.random.Generator:
    """A numpy Generator on :func:`seed_sequence`."""
    return np.random.default_rng(seed_sequence(seed, task, purpose, *keys))


def int_seed(seed: int, task: str, purpose: str, *keys: int) -> int:
    """A 63-bit integer seed (for torch generators) from :func:`seed_sequence`."""
    return int(seed_sequence(seed, task, purpose, *keys).generate_state(2, np.uint64)[0] >> np.uint64(1))
