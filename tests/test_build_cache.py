"""Standalone build directories: one per network content hash, re-used across runners, and repaired when a
killed process left it half-built."""
from __future__ import annotations

import numpy as np

from conftest import random_model
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.targets import Runner


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
