"""Build directories of the compiled targets: one :class:`BuildDirectory` per open runner.

A build directory is named by a tag (the SNN spec's content hash, the recorded states, the layout and the
target) under a root (:func:`default_build_root`) and locked for the runner's lifetime; a second process
that finds it locked builds in its own ``<tag>-pid<PID>`` directory (removed on release), so parallel runs never
share a half-built binary, and a later process with the same model re-uses the compiled objects.

Every build appends to the directory's record (:data:`BUILD_RECORD`, :func:`read_build_record`): which object
files make (re)compiled and whether the binary was (re)linked.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ..fileio import write_text_atomic

#: File in every standalone build directory recording what each build compiled (:func:`read_build_record`).
BUILD_RECORD = "lprnn_build_record.json"
#: Builds kept in a record (the last ones).
RECORD_LENGTH = 50


def default_build_root() -> Path:
    """``$LPRNN_BRIAN_CACHE`` or ``~/.cache/lprnn_brian`` / builds."""
    root = os.environ.get("LPRNN_BRIAN_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lprnn_brian")
    return Path(root) / "builds"


def read_build_record(build_dir: str | os.PathLike) -> dict | None:
    """The build record of a standalone build directory (None if it has none): the model digest and layout,
    and per build (the last 50) its time, process, the object files compiled and whether ``main`` was linked."""
    path = Path(build_dir) / BUILD_RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text())


class BuildDirectory:
    """The directory ``root/tag``, locked, or when another process holds its lock ``root/tag-pid<PID>``.

    :meth:`release` unlocks it (and removes a ``-pid`` directory, which no later process could re-use)."""

    def __init__(self, root: Path, tag: str):
        from filelock import FileLock, Timeout

        root.mkdir(parents=True, exist_ok=True)
        self.root, self.tag = root, tag
        path = root / tag
        lock = FileLock(str(path) + ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:  # another process holds this model's directory: build beside it
            path, lock = root / f"{tag}-pid{os.getpid()}", None
        self.path: Path = path
        self._lock = lock
        self._released = False

    @property
    def private(self) -> bool:
        """Whether this is a process's own ``-pid`` directory (the shared one was locked by another process)."""
        return self._lock is None

    def products(self) -> dict[str, int]:
        """Modification times (ns) of the build's object files and binary, by relative path."""
        if not self.path.is_dir():
            return {}
        paths = [p for p in self.path.rglob("*.o")] + [p for p in (self.path / "main",) if p.exists()]
        return {p.relative_to(self.path).as_posix(): p.stat().st_mtime_ns for p in paths}

    def has_products(self) -> bool:
        """Whether anything compiled is there (a binary or an object file)."""
        return (self.path / "main").exists() or any(self.path.glob("*.o"))

    def wipe(self) -> None:
        """Delete the directory's contents (a build left half-done by a killed process)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def record_build(self, header: dict, before: dict, after: dict) -> dict:
        """Append this build to the directory's record: which object files make (re)compiled and whether the
        binary was (re)linked (from :meth:`products` ``before`` and ``after``). A new record starts with
        ``header`` (model digest, layout, versions). Written atomically; returns this build's entry."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "pid": os.getpid(),
            "compiled": sorted(k for k, t in after.items() if k != "main" and before.get(k) != t),
            "linked": before.get("main") != after.get("main"),
        }
        record = read_build_record(self.path) or {**header, "builds": []}
        record["builds"] = (record["builds"] + [entry])[-RECORD_LENGTH:]
        write_text_atomic(self.path / BUILD_RECORD, json.dumps(record, indent=1), force=True)
        return entry

    def read_json(self, name: str) -> dict:
        """The JSON file ``name`` of the directory ({} when absent)."""
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, name: str, data: dict) -> None:
        """Write ``data`` to the JSON file ``name`` of the directory, atomically."""
        write_text_atomic(self.path / name, json.dumps(data), force=True)

    def release(self) -> None:
        """Remove a private ``-pid`` directory and release the lock; safe to call twice."""
        if self._released:
            return
        self._released = True
        if self._lock is None and self.path.name.endswith(f"pid{os.getpid()}"):
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.release()
            self._lock = None
