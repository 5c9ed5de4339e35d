"""What both trainers (:mod:`lprnn_brian.training.classifier`, :mod:`lprnn_brian.training.sequence`) share: the
torch import with an install hint, the seeding of the global generators and the default checkpoint path."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from ..errors import UserInputError

__all__ = ["import_torch", "seed_everything", "default_checkpoint"]


def import_torch():
    """Import torch or raise a :class:`UserInputError` that says how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserInputError("training needs PyTorch, which is not installed; install the training extra with: "
                             "pip install 'lprnn_brian[train]'") from None
    return torch


def seed_everything(torch, seed: int) -> None:
    """Seed python's, numpy's (modulo 2^32, its range) and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_checkpoint(out: str | Path, checkpoint: str | Path | None = None) -> Path:
    """The training checkpoint: ``checkpoint`` if given, else ``<out>`` with the suffix ``.ckpt``."""
    return Path(checkpoint) if checkpoint else Path(out).with_suffix(".ckpt")
