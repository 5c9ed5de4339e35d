"""The row layout's spike threshold (lprnn_brian.threshold_kernel, template lprnn_brian/templates/threshold.cpp).

The template's event space is checked end to end by tests/test_batch.py (row layout against Brian2's own
``Synapses`` network: every spike identical, batches whose neuron counts are and are not multiples of 64). Here:
the template's helpers, compiled on their own under each instruction set they have a path for (AVX-512, AVX2,
portable) that this CPU runs: the bit mask of 64 conditions (bytes with AVX-512, 64-bit lanes elsewhere; 0 or all
ones, as the threshold writes them), the index of its lowest set bit (the builtin and the portable loop) and the
appending of its set bits to the event space, against numpy on the same conditions; and the refusal of
refractoriness.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import lprnn_brian
from conftest import cxx_compiler

TEMPLATE = Path(lprnn_brian.__file__).parent / "templates" / "threshold.cpp"

#: Compiler flags selecting each path of the helper, and the CPU flag (``/proc/cpuinfo``) it needs to run.
PATHS = {"avx512": (["-mavx512f", "-mavx512bw"], "avx512bw"),
         "avx2": (["-mavx2", "-mno-avx512f"], "avx2"),
         "portable": (["-mno-avx2", "-mno-avx512f"], None)}


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def _runnable_paths() -> list[str]:
    flags = _cpu_flags()
    return [name for name, (_, need) in PATHS.items() if need is None or need in flags]


def _helper_source() -> str:
    """The C++ of the template's ``extra_headers`` block (plain C++, no template tags)."""
    block = re.search(r"\{% block extra_headers %\}(.*?)\{% endblock %\}", TEMPLATE.read_text(), re.S)
    assert block, f"{TEMPLATE} has no extra_headers block"
    assert "{{" not in block.group(1) and "{%" not in block.group(1)
    return block.group(1)


def _compile_with_helpers(main: str, path: str, exe: Path) -> Path:
    """The template's helpers and ``main`` compiled into ``exe`` with the flags of instruction-set ``path``."""
    src = exe.with_suffix(".cpp")
    src.write_text(_helper_source() + main)
    subprocess.run([cxx_compiler(), "-O2", "-std=c++11", *PATHS[path][0], str(src), "-o", str(exe)], check=True,
                   capture_output=True)
    return exe


#: C++ reading 64 condition bytes (0 or 1) from stdin into the threshold's buffer of conditions, as it writes them.
CONDITIONS = r"""
#include <cstdio>
static uint64_t _conditions_mask(const unsigned char* b) {
    _lprnn_cond_t c[64];
    for (int k = 0; k < 64; k++)
        c[k] = b[k] ? (_lprnn_cond_t)-1 : (_lprnn_cond_t)0;
    return _lprnn_condition_mask(c);
}
"""

MAIN = CONDITIONS + r"""
int main() {
    unsigned char b[64];
    while (fread(b, 1, 64, stdin) == 64) {
        const uint64_t m = _conditions_mask(b);
        printf("%llu %d %d\n", (unsigned long long)m, m ? _lprnn_lowest_bit(m) : -1,
               m ? _lprnn_lowest_bit_portable(m) : -1);
    }
    return 0;
}
"""


@pytest.mark.parametrize("path", _runnable_paths())
def test_condition_mask_on_every_instruction_set(path, tmp_path):
    exe = _compile_with_helpers(MAIN, path, tmp_path / "mask")
    rng = np.random.default_rng(3)
    blocks = [np.zeros(64, np.uint8), np.ones(64, np.uint8), np.eye(64, dtype=np.uint8)[0],
              np.eye(64, dtype=np.uint8)[63], np.eye(64, dtype=np.uint8)[31] + np.eye(64, dtype=np.uint8)[32]]
    blocks += [(rng.random(64) < p).astype(np.uint8) for p in (0.01, 0.05, 0.3, 0.9) for _ in range(25)]
    out = subprocess.run([str(exe)], input=np.concatenate(blocks).tobytes(), capture_output=True, check=True).stdout
    got = [tuple(int(v) for v in line.split()) for line in out.decode().splitlines()]
    expected = []
    for b in blocks:
        on = np.flatnonzero(b)
        lowest = int(on[0]) if on.size else -1
        expected.append((sum(1 << int(k) for k in on), lowest, lowest))
    assert got == expected


APPEND_MAIN = CONDITIONS + r"""
int main() {
    unsigned char b[64];
    int32_t out[100];
    size_t start = 1000;
    while (fread(b, 1, 64, stdin) == 64) {
        for (int k = 0; k < 100; k++)
            out[k] = -1;  // a sentinel in every entry: any write shows
        const long count = _lprnn_append_bits(out, 7, start, _conditions_mask(b));  // after 7 entries
        for (long k = 7; k < count; k++)
            printf("%d ", out[k]);
        int untouched = 1;
        for (int k = 0; k < 100; k++)
            untouched &= (k >= 7 && k < count) || out[k] == -1;
        printf("| %d\n", untouched);
        start += 64;
    }
    return 0;
}
"""


@pytest.mark.parametrize("path", _runnable_paths())
def test_set_bits_are_appended_lowest_first_on_every_instruction_set(path, tmp_path):
    """``_lprnn_append_bits`` (AVX-512: compressed sixteen at a time under a store mask; elsewhere bit by bit) appends
    start + k for the set bits k in increasing order after the entries already there, and writes nothing beyond
    them; against numpy's ``flatnonzero`` of the same bytes."""
    exe = _compile_with_helpers(APPEND_MAIN, path, tmp_path / "append")
    rng = np.random.default_rng(5)
    blocks = [np.zeros(64, np.uint8), np.ones(64, np.uint8), np.eye(64, dtype=np.uint8)[15],
              np.eye(64, dtype=np.uint8)[16], np.eye(64, dtype=np.uint8)[63]]
    blocks += [(rng.random(64) < p).astype(np.uint8) for p in (0.02, 0.1, 0.5) for _ in range(10)]
    out = subprocess.run([str(exe)], input=np.concatenate(blocks).tobytes(), capture_output=True, check=True).stdout
    lines = out.decode().splitlines()
    assert len(lines) == len(blocks)
    for b, line, start in zip(blocks, lines, range(1000, 1000 + 64 * len(blocks), 64)):
        appended, untouched = line.split("|")
        assert [int(v) for v in appended.split()] == (np.flatnonzero(b) + start).tolist()
        assert int(untouched) == 1  # nothing written before or past the appended entries


def test_refractory_groups_are_refused():
    import gc

    import brian2
    from brian2.utils.logger import catch_logs

    from lprnn_brian.threshold_kernel import use_branch_free_threshold

    with catch_logs():  # the group is never run: Brian2 warns of it when it is collected
        group = brian2.NeuronGroup(3, "dv/dt = -v / (10*ms) : 1 (unless refractory)", threshold="v > 1",
                                   reset="v = 0", refractory=2 * brian2.ms)
        with pytest.raises(ValueError, match="refractoriness"):
            use_branch_free_threshold(group)
        del group
        gc.collect()
