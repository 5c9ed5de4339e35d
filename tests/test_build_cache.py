"""Standalone build directories: one per network content hash, re-used across runners, and repaired when a
killed process left it half-built."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import random_model
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.targets import Runner, read_build_record


@pytest.mark.slow  # ~25 s: three builds
def test_half_built_cache_is_rebuilt(tmp_path):
    """Oracle: the first runner's own spikes. After corrupting object files and deleting the binary (what a
    build killed mid-way leaves), a new runner on the same directory rebuilds and reproduces them exactly."""
    spec = to_snn_spec(random_model(np.random.default_rng(5)))
    drive = layer0_drive(np.random.default_rng(6).normal(size=(spec.n_frames, 6)), spec)
    with Runner(spec, "cpp_standalone", build_root=tmp_path) as r:
        first = r.run(drive)
        build_dir = r.build_dir
    assert build_dir.name.startswith(spec.digest())
    objects = sorted(build_dir.rglob("*.o"))
    assert objects
    for o in objects[:3]:
        o.write_bytes(b"truncated by a killed compiler")
    (build_dir / "main").unlink()
    with Runner(spec, "cpp_standalone", build_root=tmp_path) as r:
        assert r.build_dir == build_dir
        again = r.run(drive)
    for a, b, c, d in zip(first.spike_i, again.spike_i, first.spike_step, again.spike_step):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(c, d)


def _spec(seed: int):
    return to_snn_spec(random_model(np.random.default_rng(seed)))


def test_unchanged_model_does_not_rebuild_and_changed_model_does(tmp_path):
    """Oracle: the build directory's own record (which object files make compiled, whether ``main`` was
    linked), not timing. A second runner of the same model compiles and links nothing; a model with one
    weight changed gets its own directory and a full build."""
    spec = _spec(5)
    with Runner(spec, "cpp_standalone", build_root=tmp_path) as r:
        first, build_dir = r.build_record, r.build_dir
    assert first["linked"] and len(first["compiled"]) >= 3  # main, network, objects, code objects …
    with Runner(spec, "cpp_standalone", build_root=tmp_path) as r:
        assert r.build_dir == build_dir
        assert r.build_record["compiled"] == [] and not r.build_record["linked"]
    record = read_build_record(build_dir)
    assert record["spec_digest"] == spec.digest() and len(record["builds"]) == 2

    changed = _spec(5)
    changed.layers[1].W_snn[0, 0] += 1.0 / 64  # one weight, one integer step in Loihi units
    assert changed.digest() != spec.digest()
    with Runner(changed, "cpp_standalone", build_root=tmp_path) as r:
        assert r.build_dir != build_dir
        assert r.build_record["linked"] and sorted(r.build_record["compiled"]) == sorted(first["compiled"])


_CHILD = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from conftest import random_model
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.targets import Runner, read_build_record
seed, root, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
spec = to_snn_spec(random_model(np.random.default_rng(seed)))
drive = layer0_drive(np.random.default_rng(6).normal(size=(spec.n_frames, 6)), spec)
with Runner(spec, "cpp_standalone", build_root=root) as r:
    raw = r.run(drive)
    np.savez(out, build_dir=str(r.build_dir), **{{f"i{{k}}": a for k, a in enumerate(raw.spike_i)}},
             **{{f"n{{k}}": a for k, a in enumerate(raw.spike_step)}})
"""


@pytest.mark.slow  # three processes compile at once on 2 cores: over a minute
def test_concurrent_processes_never_share_a_build_directory(tmp_path):
    """Three processes start at once on one build root: two models, one of them twice. Each gets a directory
    of its own (the second copy of a model builds beside the locked one), and each process's spikes equal
    those of the same model run alone afterwards (oracle: a serial run)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "child.py"
    script.write_text(_CHILD.format(tests=str(Path(__file__).parent)))
    root = tmp_path / "builds"
    seeds = [5, 7, 5]
    procs = [subprocess.Popen([sys.executable, str(script), str(s), str(root), str(tmp_path / f"out{k}.npz")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for k, s in enumerate(seeds)]
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out.decode()[-3000:]
    results = [np.load(tmp_path / f"out{k}.npz") for k in range(len(seeds))]
    dirs = [str(z["build_dir"]) for z in results]
    assert len(set(dirs)) == 3, dirs
    assert Path(dirs[0]).name.split("-")[0] != Path(dirs[1]).name.split("-")[0]  # different models, hashes
    for seed, z in zip(seeds, results):
        spec = _spec(seed)
        drive = layer0_drive(np.random.default_rng(6).normal(size=(spec.n_frames, 6)), spec)
        with Runner(spec, "cpp_standalone", build_root=tmp_path / "serial") as r:
            alone = r.run(drive)
        for k in range(len(spec.layers)):
            np.testing.assert_array_equal(z[f"i{k}"], alone.spike_i[k])
            np.testing.assert_array_equal(z[f"n{k}"], alone.spike_step[k])
