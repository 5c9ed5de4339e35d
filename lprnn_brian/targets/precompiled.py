"""A precompiled header of the C++ standard library for ``cpp_standalone`` builds: most of a build's compile time is
spent parsing the same headers again.

Every source file Brian2 generates for a network (about thirty code objects, the network and object files) includes
``<iostream>``, ``<fstream>``, ``<cmath>``, ``<vector>``, ``<random>``…; parsing them takes ~0.8 s of a code object's
~0.9 s. GCC can load them from a precompiled header instead (a ``.gch`` file next to the header, given to every
compilation by ``-include`` among the compiler flags): about 0.25 s per code object, so a cold build compiles in about
half the time. The objects are the same bytes as without it (GCC's precompiled header is the parsed header, built with
the build's own flags; ``tests/test_precompiled_header.py`` compares the object files).

The header is built once per compiler and flag set into ``<cache>/pch/<digest>/`` (:func:`default_build_root`'s
parent), atomically, by the first build that needs it. Where it cannot be built (no GCC, a compiler error, a cache
path with a space, which a makefile would split) builds go on without it, as before. A header GCC finds invalid for a
compilation (other flags) is ignored by GCC, which then parses the text.

With ccache, ``CCACHE_SLOPPINESS=pch_defines,time_macros`` lets it cache compilations that use the header (its own
documentation's condition); without it, ccache compiles them uncached.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from .build_dir import default_build_root

#: The standard headers Brian2's generated C++ includes (objects.h, code objects, brianlib), in the header.
STD_HEADERS = ("cmath", "climits", "cstdint", "cstring", "ctime", "fstream", "iostream", "map", "random", "string",
               "utility", "vector")
#: File name of the header (its precompiled form is ``<name>.gch`` beside it).
HEADER_NAME = "lprnn_std.h"


def compiler_command() -> list[str]:
    """The C++ compiler make uses for a Brian2 standalone build: ``$CXX`` (which may be a command such as
    ``ccache g++``), else ``g++``."""
    return shlex.split(os.environ.get("CXX") or "g++")


def _gcc_identity(compiler: list[str]) -> str | None:
    """``compiler --version`` where the compiler is GCC (clang's precompiled headers work differently), else None."""
    try:
        proc = subprocess.run([*compiler, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout
    if proc.returncode != 0 or "clang" in out.lower() or not ("GCC" in out or "g++" in out or "Free Software" in out):
        return None
    return out


def header_text() -> str:
    """The header: one ``#include`` per :data:`STD_HEADERS`."""
    return "".join(f"#include <{h}>\n" for h in STD_HEADERS)


def include_args(flags: list[str], root: Path | None = None) -> list[str]:
    """``['-include<header>']`` (one word: Brian2 checks each flag on its own) for a build compiled with ``flags`` (the
    compiler flags Brian2 puts in the makefile), the header precompiled for them under ``root`` (default
    ``<cache>/pch``) and built now if it is not there yet; ``[]`` where it cannot be (module docstring), so that the
    build goes on without it."""
    root = Path(root) if root is not None else default_build_root().parent / "pch"
    compiler = compiler_command()
    identity = _gcc_identity(compiler)
    if identity is None or " " in str(root.resolve()):
        return []
    flags = [f for f in flags if f != "-c"]
    digest = hashlib.sha256("\0".join([identity, header_text(), *flags]).encode()).hexdigest()[:16]
    directory = root / digest
    header = directory / HEADER_NAME
    if not (directory / (HEADER_NAME + ".gch")).is_file() and not _build(compiler, flags, directory):
        return []
    return [f"-include{header.resolve()}"]


def _build(compiler: list[str], flags: list[str], directory: Path) -> bool:
    """Precompile the header into ``directory`` (through a temporary directory renamed into place, so a process
    never sees half a header); True when it is there afterwards (built here or by another process meanwhile)."""
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=directory.name + ".tmp", dir=directory.parent))
    except OSError:
        return False
    try:
        (tmp / HEADER_NAME).write_text(header_text())
        proc = subprocess.run([*compiler, "-x", "c++-header", *flags, str(tmp / HEADER_NAME), "-o",
                               str(tmp / (HEADER_NAME + ".gch"))], capture_output=True, text=True, timeout=300)
        if proc.returncode == 0:
            try:
                os.rename(tmp, directory)
            except OSError:  # another process was first: its header is the same
                pass
    except (OSError, subprocess.SubprocessError):
        pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return (directory / (HEADER_NAME + ".gch")).is_file()
