"""Shared plumbing of the figure scripts: the command line of one figure and the output directory rule."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from ..errors import UserInputError
from ..fileio import prepare_output_dir


def loihi_first() -> tuple[str, ...]:
    """The conversion modes (:data:`lprnn_brian.convert.MODES`) in the figures' order: the Loihi mode first."""
    from ..convert import MODES

    return tuple(sorted(MODES, key=lambda mode: mode != "loihi"))


def figure_paths(out: Path, name: str) -> list[Path]:
    """The files one figure writes: ``out/name.png`` and ``out/name.pdf``."""
    return [out / f"{name}.png", out / f"{name}.pdf"]


def _jsonable(value):
    """numpy arrays and scalars, paths and tuples as JSON values."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def write_numbers(out: Path, name: str, data: dict) -> Path:
    """Write the numbers a figure plots to ``out/name.json`` (atomically), for readers who want the values."""
    import json

    from ..fileio import write_text_atomic

    return write_text_atomic(Path(out) / f"{name}.json", json.dumps(data, indent=1, default=_jsonable), force=True)


def prepare_out(out: str | Path, names: list[str], force: bool) -> Path:
    """Create ``out``; refuse to replace an existing figure unless ``force`` (figures are written atomically)."""
    return prepare_output_dir(out, [p.name for n in names for p in figure_paths(Path(out), n)], force,
                              what="figures")


def figure_main(name: str, make: Callable[..., list[Path]], title: str, argv: list[str] | None = None) -> int:
    """``python -m lprnn_brian.figures.<module> [--out DIR] [--quick] [--seed N] [--force]``."""
    p = argparse.ArgumentParser(description=title)
    p.add_argument("--out", default="figures_out", help="output directory (PNG and PDF)")
    p.add_argument("--quick", action="store_true", help="small settings (seconds to a minute; used in CI)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    p.add_argument("--force", action="store_true", help="replace existing figure files")
    args = p.parse_args(argv)
    try:
        out = prepare_out(args.out, [name], args.force)
        for path in make(out, quick=args.quick, seed=args.seed):
            print(f"wrote {path}", file=sys.stderr)
    except UserInputError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    return 0
