"""Read a PyTorch zip checkpoint holding a state_dict of tensors, without torch and without running code.

``torch.save`` writes a zip archive ``<archive>/data.pkl`` (a pickle), ``<archive>/data/<key>`` (raw tensor
storages) and ``<archive>/byteorder``. The pickle names a handful of torch callables; here a restricted
unpickler maps exactly those names to small stand-ins written for this module and refuses every other
global, so a hostile file cannot execute anything (``os.system``, ``eval``, ...).
"""
from __future__ import annotations

import io
import math
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import UserInputError

#: torch storage class name -> numpy dtype (bfloat16 is widened to float32 on reading).
STORAGE_DTYPES = {
    "FloatStorage": np.dtype(np.float32),
    "DoubleStorage": np.dtype(np.float64),
    "HalfStorage": np.dtype(np.float16),
    "BFloat16Storage": np.dtype(np.uint16),
    "LongStorage": np.dtype(np.int64),
    "IntStorage": np.dtype(np.int32),
    "ShortStorage": np.dtype(np.int16),
    "CharStorage": np.dtype(np.int8),
    "ByteStorage": np.dtype(np.uint8),
    "BoolStorage": np.dtype(np.bool_),
}
#: Largest tensor (elements) accepted: far above any lpRNN, far below an accidental memory bomb.
MAX_ELEMENTS = 2**28
#: Largest data.pkl accepted (a state_dict's pickle is a few kB).
MAX_PICKLE_BYTES = 2**24
_PKL_RE = re.compile(r"^([^/]+)/data\.pkl$")


class _StorageType:
    """Stand-in for a torch ``<Type>Storage`` class: only carries the element dtype."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: np.dtype) -> None:
        self.name = name
        self.dtype = dtype

    def __reduce__(self):  # never pickled back
        raise TypeError("not picklable")

    def __setstate__(self, state):
        raise pickle.UnpicklingError("unexpected BUILD on a storage type")


class _Storage:
    """Stand-in for a loaded storage: a flat numpy array of its elements."""

    __slots__ = ("array", "storage_type")

    def __init__(self, array: np.ndarray, storage_type: _StorageType) -> None:
        self.array = array
        self.storage_type = storage_type

    def __setstate__(self, state):
        raise pickle.UnpicklingError("unexpected BUILD on a storage")


class _Tensor:
    """Stand-in for a rebuilt tensor: wraps the numpy array (converted after unpickling)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __setstate__(self, state):
        raise pickle.UnpicklingError("unexpected BUILD on a tensor")


def _int_tuple(value, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise pickle.UnpicklingError(f"tensor {what} must be a tuple of integers, got {value!r}")
    return tuple(value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: view the storage with offset, size and stride."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor storage is not a checkpoint storage record")
    if isinstance(storage_offset, bool) or not isinstance(storage_offset, int) or storage_offset < 0:
        raise pickle.UnpicklingError(f"bad storage offset {storage_offset!r}")
    size = _int_tuple(size, "size")
    stride = _int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise pickle.UnpicklingError(f"tensor size {size} and stride {stride} differ in length")
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise pickle.UnpicklingError(f"negative size or stride ({size}, {stride})")
    n = math.prod(size)
    if n > MAX_ELEMENTS:
        raise pickle.UnpicklingError(f"tensor of {n} elements is too large for an lpRNN checkpoint")
    flat = storage.array
    if n == 0:
        array = np.zeros(size, dtype=flat.dtype)
    else:
        last = storage_offset + sum((sz - 1) * st for sz, st in zip(size, stride))
        if last >= flat.size:
            raise pickle.UnpicklingError(
                f"tensor (offset {storage_offset}, size {size}, stride {stride}) reads beyond its storage of "
                f"{flat.size} elements")
        # bounds were checked above, so this view never leaves the storage buffer
        view = np.lib.stride_tricks.as_strided(
            flat[storage_offset:], shape=size, strides=tuple(st * flat.itemsize for st in stride),
            writeable=False)
        array = np.array(view, copy=True)
    if storage.storage_type.name == "BFloat16Storage":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return _Tensor(array)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its data."""
    if not isinstance(data, _Tensor):
        raise pickle.UnpicklingError("parameter data is not a tensor")
    return data


_ALLOWED_CALLABLES = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that knows only the globals of a torch state_dict and reads storages from the zip."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, byteorder: str, source: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive = archive
        self._prefix = prefix
        self._byteorder = "<" if byteorder == "little" else ">"
        self._source = source
        self._storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_CALLABLES:
            return _ALLOWED_CALLABLES[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name, STORAGE_DTYPES[name])
        raise UserInputError(f"{self._source} is not a PyTorch state_dict checkpoint of the lpRNN_loihi models: "
                             f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"persistent id names no known storage type: {storage_type!r}")
        if not isinstance(key, str) or isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"bad storage record {pid!r}")
        if key in self._storages:
            return self._storages[key]
        if numel > MAX_ELEMENTS:
            raise pickle.UnpicklingError(f"storage {key} of {numel} elements is too large for an lpRNN checkpoint")
        member = f"{self._prefix}/data/{key}"
        try:
            info = self._archive.getinfo(member)
        except KeyError:
            raise pickle.UnpicklingError(f"storage file {member} is missing from the archive") from None
        nbytes = numel * storage_type.dtype.itemsize
        if info.file_size < nbytes:
            raise pickle.UnpicklingError(f"storage file {member} holds {info.file_size} bytes, expected {nbytes}")
        with self._archive.open(info) as fh:  # read only what the record needs, whatever the header claims
            raw = fh.read(nbytes)
        if len(raw) != nbytes:
            raise pickle.UnpicklingError(f"storage file {member} is truncated")
        dtype = storage_type.dtype.newbyteorder(self._byteorder)
        array = np.frombuffer(raw, dtype=dtype, count=numel).astype(storage_type.dtype.newbyteorder("="))
        storage = _Storage(array, storage_type)
        self._storages[key] = storage
        return storage


def _to_plain(obj, source: str):
    """Replace tensor stand-ins by numpy arrays; refuse anything that is not a state_dict value."""
    if isinstance(obj, _Tensor):
        return obj.array
    raise UserInputError(f"{source}: state_dict entry of type {type(obj).__name__} is not a tensor; "
                         "expected a PyTorch state_dict of tensors")


def load_torch_state_dict(path: str | os.PathLike) -> "OrderedDict[str, np.ndarray]":
    """Read the state_dict of a PyTorch zip checkpoint as numpy arrays, without importing torch.

    Parameters
    ----------
    path : str or path-like
        A ``.pth``/``.pt`` file written by ``torch.save(model.state_dict(), path)`` (torch ≥ 1.6 zip format).

    Returns
    -------
    collections.OrderedDict of str to numpy.ndarray
        Tensors in file order, with their stored dtype, shape, offset and strides applied (C-contiguous
        copies), equal bit for bit to ``torch.load(path, weights_only=True)``.

    Raises
    ------
    UserInputError
        If the file is missing, not a zip, not a torch checkpoint, damaged, or references any global other
        than the few a state_dict needs (nothing in it is executed).
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist (or is not a file)")
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_archive(archive, source)
    except UserInputError:
        raise
    except zipfile.BadZipFile as exc:
        raise UserInputError(f"{source} is not a PyTorch zip checkpoint ({exc}); legacy (torch < 1.6) files are "
                             "not supported: re-save with torch.save in a newer torch") from None
    except Exception as exc:  # damaged archive or pickle: never let a hostile file surface as a crash
        raise UserInputError(f"{source} is not a readable PyTorch checkpoint ({type(exc).__name__}: {exc})") from None


def _read_archive(archive: zipfile.ZipFile, source: str) -> "OrderedDict[str, np.ndarray]":
    prefixes = [m.group(1) for m in map(_PKL_RE.match, archive.namelist()) if m]
    if len(prefixes) != 1:
        raise UserInputError(f"{source} is a zip file but not a PyTorch checkpoint (expected exactly one "
                             f"'<archive>/data.pkl', found {len(prefixes)})")
    prefix = prefixes[0]
    byteorder = "little"  # files from torch < 1.10 carry no byteorder record and are little-endian
    if f"{prefix}/byteorder" in archive.namelist():
        byteorder = archive.read(f"{prefix}/byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise UserInputError(f"{source}: unknown byte order {byteorder!r} in {prefix}/byteorder")
    pkl_info = archive.getinfo(f"{prefix}/data.pkl")
    if pkl_info.file_size > MAX_PICKLE_BYTES:
        raise UserInputError(f"{source}: its data.pkl ({pkl_info.file_size} bytes) is far larger than a "
                             "state_dict's; not an lpRNN checkpoint")
    with archive.open(pkl_info) as fh:
        data = fh.read(MAX_PICKLE_BYTES)
    unpickler = _RestrictedUnpickler(data, archive, prefix, byteorder, source)
    try:
        obj = unpickler.load()
    except UserInputError:
        raise
    except Exception as exc:
        raise UserInputError(f"{source}: cannot read the checkpoint's pickle ({type(exc).__name__}: {exc}); "
                             "the file is damaged or not a PyTorch state_dict") from None
    if isinstance(obj, dict) and set(obj) == {"state_dict"}:  # a common wrapper: {'state_dict': sd}
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise UserInputError(f"{source} holds a {type(obj).__name__}, not a state_dict; save the model with "
                             "torch.save(model.state_dict(), path)")
    out: OrderedDict[str, np.ndarray] = OrderedDict()
    for key, value in obj.items():
        if not isinstance(key, str):
            raise UserInputError(f"{source}: state_dict key {key!r} is not a string")
        out[key] = _to_plain(value, source)
    return out
