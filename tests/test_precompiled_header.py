"""The precompiled standard headers of cpp_standalone builds (lprnn_brian.targets.precompiled).

Oracle: the compiler itself. An object file compiled with the header must be byte for byte the one compiled without it
(GCC's precompiled header is the parsed text of the same headers under the same flags), and GCC's ``-H`` report must
show that it loaded the ``.gch`` (a ``!`` line) rather than parsing the headers again. Every spike test of a
cpp_standalone build (tests/test_batch.py, tests/test_targets.py, …) also runs with it.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import cxx_compiler
from lprnn_brian.targets import compile_args
from lprnn_brian.targets.precompiled import HEADER_NAME, include_args

#: A translation unit like the code objects Brian2 generates: its own includes first, the standard library's used.
SOURCE = """#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <vector>

double step(std::vector<double>& v, std::mt19937& rng)
{
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double s = 0.0;
    for (size_t i = 0; i < v.size(); i++)
    {
        v[i] = std::floor(v[i] * 0.96875 + u(rng));
        s += v[i];
    }
    std::ofstream out("never_written", std::ios::binary);
    return s;
}
"""


def _compile(flags: list[str], src: Path, out: Path) -> str:
    proc = subprocess.run([cxx_compiler(), "-c", *flags, "-H", str(src), "-o", str(out)], capture_output=True, text=True,
                          cwd=src.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_objects_are_the_same_bytes_and_the_header_is_loaded(mode, tmp_path, monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    flags = compile_args(mode)
    args = include_args(flags, root=tmp_path / "pch")
    assert len(args) == 1 and args[0].startswith("-include"), args
    header = Path(args[0][len("-include"):])
    assert header.name == HEADER_NAME and header.with_name(HEADER_NAME + ".gch").is_file()
    assert include_args(flags, root=tmp_path / "pch") == args  # built once, then found
    src = tmp_path / "unit.cpp"
    src.write_text(SOURCE)
    report = _compile(flags + args, src, tmp_path / "with.o")
    assert report.splitlines()[0] == f"! {header}.gch", report[:500]  # loaded, not parsed
    _compile(flags, src, tmp_path / "without.o")
    assert (tmp_path / "with.o").read_bytes() == (tmp_path / "without.o").read_bytes()
    # another flag set (Loihi mode adds -ffinite-math-only) has a header of its own
    other = include_args(compile_args("float" if mode == "loihi" else "loihi"), root=tmp_path / "pch")
    assert other and other != args


def test_builds_go_on_without_it_where_it_cannot_be_built(tmp_path, monkeypatch):
    flags = compile_args("float")
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    assert include_args(flags, root=tmp_path / "pch") == []
    monkeypatch.delenv("CXX")
    assert include_args(flags, root=tmp_path / "with space") == []  # a makefile would split the path
    assert include_args(flags + ["-no-such-flag"], root=tmp_path / "pch") == []  # the compiler refuses
    assert not list((tmp_path / "pch").glob("*"))  # and leaves nothing behind


def test_cpp_standalone_builds_use_it_and_cuda_does_not(tmp_path, monkeypatch):
    from conftest import random_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.targets import RunConfig
    from lprnn_brian.targets.cuda import CudaStandaloneBackend
    from lprnn_brian.targets.standalone import CppStandaloneBackend

    monkeypatch.setenv("LPRNN_BRIAN_CACHE", str(tmp_path / "cache"))
    spec = to_snn_spec(random_model(np.random.default_rng(0)), mode="loihi")
    flags = CppStandaloneBackend(RunConfig(spec, "cpp_standalone", ()), tmp_path).compiler_flags()
    assert flags[:-1] == compile_args("loihi") and flags[-1].startswith(f"-include{tmp_path / 'cache' / 'pch'}")
    cuda = CudaStandaloneBackend(RunConfig(spec, "cuda_standalone", ()), tmp_path).compiler_flags()
    assert cuda == compile_args("loihi")
