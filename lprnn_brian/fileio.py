"""File input and output: checked reading of user arrays; atomic, non-destructive writing.

User inputs (``X.npy`` features, ``y.npy`` labels) are read without pickles and checked, each mistake a
:class:`UserInputError` that says what to do. Every output is written to a temporary file in the destination
directory and renamed into place, so a crash never leaves a half-written file, and an existing file is never
replaced unless ``force`` is set.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import UserInputError


def check_writable(path: str | os.PathLike, force: bool = False) -> Path:
    """Return ``path`` as a Path, raising :class:`UserInputError` if it exists and ``force`` is False."""
    path = Path(path)
    if path.exists() and not force:
        raise UserInputError(f"output {path} already exists; choose another path or pass --force to replace it")
    if path.exists() and path.is_dir():
        raise UserInputError(f"output {path} is a directory; give a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserInputError(f"directory {parent} does not exist; create it first")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps the suffix of ``path`` (numpy's ``savez`` appends ``.npz`` otherwise).
    """
    path = check_writable(path, force)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as e:
        raise UserInputError(f"cannot write {path}: {e.strerror or e}; choose a writable path") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions a plain open() would
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_text_atomic(path: str | os.PathLike, text: str, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, force) as tmp:
        tmp.write_text(text)
    return Path(path)


def prepare_output_dir(out: str | os.PathLike, files, force: bool = False, what: str = "output",
                       create: bool = True) -> Path:
    """Create directory ``out`` for the named ``files``; refuse (:class:`UserInputError`) if ``out`` is a file or
    already holds one of them and ``force`` is not set. Nothing is written or removed on refusal. ``create=False``
    only checks (call it before the inputs are checked, and again with ``create=True`` when writing starts)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"--out {out} is a file; give a directory")
    existing = [f for f in files if (out / f).exists()]
    if existing and not force:
        shown = ", ".join(existing[:4]) + (" …" if len(existing) > 4 else "")
        raise UserInputError(f"{out} already holds {what} ({shown}); choose another --out or pass --force to "
                             "replace it")
    if create:
        out.mkdir(parents=True, exist_ok=True)
    return out


def numpy_file_kind(path: str | os.PathLike) -> str | None:
    """What ``np.load`` would take ``path`` for, from its first bytes: ``'npy'`` (``np.save``), ``'npz'``
    (``np.savez``, a zip archive) or None, anything else, which ``np.load`` would try to read as a pickle (and,
    refused, advise loading unsafely). ``path`` must be a readable file."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        return "npy"
    return "npz" if magic[:4] == b"PK\x03\x04" else None


def load_inputs(path: str | Path) -> np.ndarray:
    """Read ``X.npy`` (samples, frames, features) of floats, refusing pickles, NaN and wrong shapes."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"inputs file {path} does not exist; give a .npy array (samples, frames, features)")
    kind = numpy_file_kind(path)
    if kind == "npz":
        raise UserInputError(f"{path} is an .npz archive; give a single .npy array (samples, frames, features)")
    if kind != "npy":
        raise UserInputError(f"{path} is not a readable .npy file; save inputs with np.save")
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise UserInputError(f"{path} holds Python objects, not a numeric array; save a float array with np.save")
        raise UserInputError(f"{path} is not a readable .npy file ({e}); save inputs with np.save")
    except Exception as e:  # noqa: BLE001 - any parse failure is a user file problem
        raise UserInputError(f"{path} is not a readable .npy file ({type(e).__name__}); save inputs with np.save")
    if x.dtype.kind != "f":
        raise UserInputError(f"inputs in {path} have dtype {x.dtype}; expected floating point features "
                             "(convert with x.astype(np.float32))")
    if x.ndim != 3:
        raise UserInputError(f"inputs in {path} have shape {x.shape}; expected 3 axes (samples, frames, features)")
    if x.shape[0] < 1:
        raise UserInputError(f"inputs in {path} hold 0 samples (shape {x.shape}); give at least one sample")
    if x.shape[1] < 1:
        raise UserInputError(f"inputs in {path} hold 0 frames (shape {x.shape}); give at least one frame")
    if not np.all(np.isfinite(x)):
        raise UserInputError(f"inputs in {path} contain NaN or infinite values; clean them before simulating")
    return x


def load_labels(path: str | Path) -> np.ndarray:
    """Read ``y.npy`` (samples,) of class indices, refusing pickles, archives, non-numeric dtypes and other shapes
    than one axis (the caller checks range and length against the model and the inputs:
    :func:`lprnn_brian.ann.forward.check_labels`)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"labels file {path} does not exist; give a .npy array of class indices")
    if numpy_file_kind(path) != "npy":
        raise UserInputError(f"{path} is not a .npy file; save labels with np.save(path, y.astype(np.int64))")
    try:
        y = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise UserInputError(f"{path} is not a numeric .npy file ({type(e).__name__}); save labels with np.save")
    if y.dtype.kind not in "iuf":
        raise UserInputError(f"labels in {path} have dtype {y.dtype}; expected integer class indices "
                             "(save them with np.save(path, y.astype(np.int64)))")
    if y.ndim != 1:
        raise UserInputError(f"labels in {path} have shape {y.shape}; expected one axis (samples,): one class index "
                             "per sample")
    return y
