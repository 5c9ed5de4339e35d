"""Sweep tables: one parquet row per grid point, the sweep's metadata (config, versions, seeds) as JSON in the
file's key-value metadata (``lprnn_brian``). Needs pyarrow (the ``sweep`` extra)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import UserInputError
from .fileio import atomic_path


def write_table(rows: list[dict], out: Path, meta: dict, force: bool = False) -> Path:
    """Rows → parquet (one row per grid point), ``meta`` as JSON in the file's key-value metadata
    (``lprnn_brian``), written atomically."""
    pa, pq = _pyarrow()
    columns = list(rows[0])
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    table = table.replace_schema_metadata({"lprnn_brian": json.dumps(meta, default=str)})
    with atomic_path(out, force=force) as tmp:
        pq.write_table(table, tmp)
    return out


def read_table(path: str | os.PathLike) -> tuple[list[dict], dict]:
    """A sweep table: (rows, metadata)."""
    _, pq = _pyarrow()
    try:
        t = pq.read_table(path)
    except (OSError, ValueError) as e:
        raise UserInputError(f"{path} is not a readable sweep table ({e})") from None
    meta = json.loads((t.schema.metadata or {}).get(b"lprnn_brian", b"{}"))
    return t.to_pylist(), meta


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UserInputError("sweep tables are parquet files: pip install 'lprnn_brian[sweep]' (pyarrow)") from None
    return pa, pq


