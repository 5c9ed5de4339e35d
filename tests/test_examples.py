"""The scripts in examples/ run from a fresh install (``--quick``) and print what the package computes.

Each script runs in a subprocess like a user would start it; its written numbers are then recomputed here
with the package's functions on the same inputs (an independent path through the API: equality is exact,
the same deterministic arithmetic).
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, *args: str, timeout: float = 300) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _figure_written(stem: Path) -> None:
    for ext in (".png", ".pdf"):
        assert stem.with_suffix(ext).stat().st_size > 1000


@pytest.mark.slow  # ~15 s
def test_custom_neuron_parameters(tmp_path):
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.equations import derive
    from lprnn_brian.simulation import simulate
    from lprnn_brian.tasks.digits import load_digits

    _run("custom_neuron_parameters.py", "--quick", "--out", str(tmp_path))
    rows = json.loads((tmp_path / "custom_neuron_parameters.json").read_text())
    assert [(r["mode"], r["tau_S"]) for r in rows] == [("float", 32), ("float", 64), ("loihi", 32), ("loihi", 64)]
    model = load_model(bundled_model_path())
    x, y, _ = load_digits("test")
    spec = to_snn_spec(model, mode="loihi", dt=derive.tau_seconds(0.8, model.frame_dt) / 32)
    res = simulate(spec, x[:4], target="numpy")
    row = rows[2]
    assert row["accuracy_fb"] == np.mean(res.predictions("fb") == y[:4])
    assert row["spikes_per_clip"] == pytest.approx(res.spikes_per_sample().mean())
    assert row["steps_per_frame"] == pytest.approx(spec.steps_per_frame)
    _figure_written(tmp_path / "custom_neuron_parameters")


@pytest.mark.slow  # ~8 s
def test_own_dataset(tmp_path):
    from lprnn_brian.ann.forward import forward
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.simulation import simulate

    _run("own_dataset.py", "--quick", "--out", str(tmp_path))
    summary = json.loads((tmp_path / "own_dataset.json").read_text())
    spec_ = importlib.util.spec_from_file_location("own_dataset", EXAMPLES / "own_dataset.py")
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    x, y = mod.toy_sweeps(120)
    x_test, y_test = x[:6], y[:6]  # the script's held-out samples in --quick mode
    model = load_model(tmp_path / "model.npz")
    snn = simulate(to_snn_spec(model, mode="loihi", n_frames=x.shape[1]), x_test, target="numpy")
    assert summary["snn_predictions"] == snn.predictions("fb").tolist()
    ann = forward(model, x_test).window_predictions[model.readout_window]
    assert summary["ann_accuracy"] == np.mean(ann == y_test)
    assert summary["ann_accuracy"] > 0.5  # the toy task is learnt beyond chance even in the quick run


@pytest.mark.slow  # ~20 s
def test_sweep_steps_per_frame(tmp_path):
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.simulation import simulate
    from lprnn_brian.sweep_table import read_table
    from lprnn_brian.sweep_tasks import point_model, point_spec
    from lprnn_brian.tasks.digits import load_digits

    out = _run("sweep_steps_per_frame.py", "--quick", "--scheduler", "serial", "--out", str(tmp_path))
    rows, meta = read_table(tmp_path / "sweep.parquet")
    assert [(r["tau_S"], r["weight_bits"]) for r in rows] == [(16, 2), (16, 3), (32, 2), (32, 3)]
    assert all(0 <= r["snn_accuracy_fb"] <= 1 for r in rows) and "4 grid points" in out
    x, y, _ = load_digits("test")
    point = {"tau_S": 32.0, "weight_bits": 3}
    model = point_model(load_model(bundled_model_path()), point)
    res = simulate(point_spec(model, point, "loihi", x.shape[1]), x[:4], target="numpy")
    assert rows[3]["snn_accuracy_fb"] == np.mean(res.predictions("fb") == y[:4])
    _figure_written(tmp_path / "accuracy_vs_steps_per_frame")
