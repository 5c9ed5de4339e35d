"""Sweeps and whole-dataset evaluation on Dask (lprnn_brian.sweep).

Oracles: the same sweep run serially in this process (the Dask table must equal it: every task is deterministic
arithmetic on the same inputs, so equality is exact); the direct computation of each metric from a plain
``simulate`` run of the same network; the config's own file for the metadata.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ANN_BLAS_RTOL, random_model
from lprnn_brian.ann.model import save_model
from lprnn_brian.errors import UserInputError
from lprnn_brian.sweep import load_config, parse_config, run_sweep
from lprnn_brian.sweep_dask import simulate_distributed
from lprnn_brian.sweep_table import read_table

#: samples and frames per sample: small (numpy runs the network step by step), enough for every chunking below
N_SAMPLES = 4


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    model = random_model(np.random.default_rng(21), n_frames=10)
    save_model(model, d / "m.npz")
    rng = np.random.default_rng(3)
    np.save(d / "x.npy", rng.uniform(0, 1, (N_SAMPLES, model.n_frames, model.n_inputs)).astype(np.float32))
    np.save(d / "y.npy", rng.integers(0, 3, N_SAMPLES))
    return d


def _config(files: Path, **over) -> dict:
    cfg = {"name": "test", "model": str(files / "m.npz"), "inputs": str(files / "x.npy"),
           "labels": str(files / "y.npy"), "target": "numpy", "mode": "loihi", "chunk": 2, "batch": 1,
           "grid": {"tau_S": [32, 64], "weight_bits": [2, 3]}}
    cfg.update(over)
    return cfg


def _write_toml(path: Path, cfg: dict) -> Path:
    lines = []
    for k, v in cfg.items():
        if k != "grid":
            lines.append(f"{k} = {json.dumps(v)}")
    lines.append("[grid]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in cfg["grid"].items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _same_rows(a: list[dict], b: list[dict]) -> None:
    """Equal tables. Knobs, counts and accuracies exactly; the fb correlations to :data:`conftest.ANN_BLAS_RTOL`: the
    ANN runs in float32 (as the trained model does), and BLAS picks its kernel by the number of rows, so the same
    sample's ANN states in a chunk of 1, 2 or 4 samples may differ by a rounding or two."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and np.isnan(ra[k]):
                assert np.isnan(rb[k]), k
            elif k.startswith("layer_correlation"):
                assert ra[k] == pytest.approx(rb[k], rel=ANN_BLAS_RTOL), k
            else:
                assert ra[k] == rb[k], k


@pytest.fixture(scope="module")
def serial(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "t.parquet"
    run = run_sweep(parse_config(_config(files)), out, scheduler="serial", progress=False)
    return run, read_table(out)


def test_serial_table_equals_direct_computation(serial, files):
    """One row per grid point, metrics equal to a plain simulate() + forward() of that point's network, built here
    without the sweep's helpers: random_model's weights are 3-bit codes on the 1/8 grid, so weight_bits = 3 leaves
    the model as it is, and τ_S = 32 is the SNN step Δt_S = τ/32 with τ = −Δt_A/ln a
    (docs/method.md#reproduced-numbers: M = Δt_A/Δt_S = −τ_S ln a)."""
    import math

    from lprnn_brian.ann.forward import forward
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.simulation import simulate

    run, (rows, meta) = serial
    assert [(r["tau_S"], r["weight_bits"]) for r in rows] == [(32, 2), (32, 3), (64, 2), (64, 3)]
    x, y = np.load(files / "x.npy"), np.load(files / "y.npy")
    row = rows[1]
    model = load_model(files / "m.npz")
    a = float(model.layers[0].retention)
    spec = to_snn_spec(model, mode="loihi", dt=-model.frame_dt / math.log(a) / 32, n_frames=x.shape[1])
    assert spec.layers[0].tau_S == 32 and spec.steps_per_frame == pytest.approx(-32 * math.log(a), rel=1e-12)
    res = simulate(spec, x, target="numpy")
    ann = forward(model, x).window_predictions[spec.readout_window]
    for d in ("fb", "ip", "in", "count"):
        assert row[f"snn_accuracy_{d}"] == pytest.approx(np.mean(res.predictions(d) == y))
        assert row[f"class_agreement_{d}"] == pytest.approx(np.mean(res.predictions(d) == ann))
    assert row["ann_accuracy"] == pytest.approx(np.mean(ann == y))
    assert row["spikes_per_sample"] == pytest.approx(res.spikes_per_sample().mean())
    assert meta["config"]["grid"] == {"tau_S": [32.0, 64.0], "weight_bits": [2, 3]}
    assert meta["seed"] == 0 and "brian2" in meta["versions"] and "distributed" in meta["versions"]
    assert run.computed_chunks == 4 * (N_SAMPLES // 2) and run.reused_chunks == 0


def test_weight_bits_knob_requantises_the_deployed_weights():
    """b bits on [−1/2, 1/2), grid 2^−b: codes clip to −2^(b−1)…2^(b−1)−1; a 3-bit model (latent weights off the
    grid, as QAT leaves them) is deployed unchanged at b = 3 and b = 4 (weights, biases and ANN outputs), and
    coarsened at b = 2."""
    from lprnn_brian.ann.forward import forward
    from lprnn_brian.sweep_tasks import point_model

    model = random_model(np.random.default_rng(2))
    for L in model.layers:  # latent QAT weights: within half a grid step of the deployed codes
        L.W = L.W + np.float32(0.04)
    x = np.random.default_rng(0).uniform(0, 1, (2, model.n_frames, model.n_inputs)).astype(np.float32)
    want = forward(model, x).window_logits["all"]
    for b in (3, 4):
        same = point_model(model, {"weight_bits": b})
        for a, c in zip(model.quantised().layers, same.quantised().layers):
            np.testing.assert_array_equal(a.W, c.W)
            np.testing.assert_array_equal(a.b, c.b)
        np.testing.assert_array_equal(forward(same, x).window_logits["all"], want)
    two = point_model(model, {"weight_bits": 2}).quantised()
    for L, Lq in zip(two.layers, model.quantised().layers):
        assert set(np.unique(L.W * 4)) <= {-2, -1, 0, 1}
        # the 3-bit code c becomes the nearest 2-bit code, ties to even, clipped: c/8 → clip(round(c/2), −2, 1)/4
        want = np.clip(np.round(Lq.W.astype(np.float64) * 8 / 2), -2, 1) / 4
        np.testing.assert_array_equal(L.W, want)


def test_readout_range_knob_is_the_conversions_readout_range(files, tmp_path):
    """A grid over ``readout_range`` (docs/method.md#the-read-outs-range): each row equals a plain simulate() of
    to_snn_spec(model, readout_range=R), built here without the sweep's helpers; the knob is recorded in the
    table, and a non-positive range is refused before any work."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.simulation import simulate

    model = load_model(files / "m.npz")
    model.layers[-1].b[:] = 1.0  # a read-out that spikes (the random one stays below 0 on these inputs)
    save_model(model, tmp_path / "m.npz")
    out = tmp_path / "r.parquet"
    run_sweep(parse_config(_config(files, model=str(tmp_path / "m.npz"), grid={"readout_range": [6, 12]}, chunk=4)),
              out, scheduler="serial", progress=False)
    rows, meta = read_table(out)
    assert [r["readout_range"] for r in rows] == [6.0, 12.0]
    assert rows[0]["spikes_per_sample"] != rows[1]["spikes_per_sample"]  # the knob acts (the read-out's kick)
    x, y = np.load(files / "x.npy"), np.load(files / "y.npy")
    for row in rows:
        res = simulate(to_snn_spec(model, mode="loihi", n_frames=x.shape[1], readout_range=row["readout_range"]), x,
                       target="numpy")
        assert row["spikes_per_sample"] == pytest.approx(res.spikes_per_sample().mean())
        for d in ("fb", "count"):
            assert row[f"snn_accuracy_{d}"] == pytest.approx(np.mean(res.predictions(d) == y))
    with pytest.raises(UserInputError, match="readout_range"):
        parse_config(_config(files, grid={"readout_range": [0]}))


@pytest.mark.slow  # ~11 s (a Dask cluster); Dask runs in the default run in the interrupted and distributed tests
def test_local_cluster_table_equals_serial(serial, files, tmp_path):
    out = tmp_path / "t.parquet"
    run = run_sweep(parse_config(_config(files)), out, workers=2, progress=False)
    rows, meta = read_table(out)
    _same_rows(rows, serial[1][0])
    assert meta["scheduler"] == "LocalCluster(2)" and run.computed_chunks == 4 * (N_SAMPLES // 2)
    assert not out.with_name(out.name + ".parts").exists()  # parts removed after success


@pytest.mark.slow  # ~12 s (a Dask cluster); the interrupted sweep's resume runs in the default run
def test_killed_worker_loses_nothing_and_the_sweep_completes(serial, files, tmp_path):
    """A worker process killed (SIGKILL) while the sweep runs: its tasks are re-run elsewhere, the finished chunks
    stay on disk, and the table equals the serial one."""
    from distributed import Client, LocalCluster

    out = tmp_path / "t.parquet"
    parts = out.with_name(out.name + ".parts")
    cfg = parse_config(_config(files, chunk=1))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster):
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(run=run_sweep(cfg, out, scheduler=cluster.scheduler_address,
                                                                             progress=False)))
        thread.start()
        deadline = time.time() + 120
        while len(list(parts.glob("*-*-*.json"))) < 2 and time.time() < deadline:
            time.sleep(0.05)
        finished = {p.name: p.read_text() for p in parts.glob("*-*-*.json")}
        assert finished, "no chunk finished in time"
        nanny = next(iter(cluster.workers.values()))
        os.kill(nanny.process.process.pid, signal.SIGKILL)
        thread.join(300)
    assert "run" in result
    _same_rows(read_table(out)[0], serial[1][0])


def test_interrupted_sweep_resumes_without_redoing_finished_chunks(serial, files, tmp_path):
    """The whole `lprnn-brian sweep` process killed mid-sweep (its local cluster with it): a second run re-uses
    every chunk the first finished and computes only the rest; the table equals the serial one."""
    cfg_path = _write_toml(tmp_path / "s.toml", _config(files, chunk=1))
    out = tmp_path / "t.parquet"
    parts = out.with_name(out.name + ".parts")
    cmd = [sys.executable, "-m", "lprnn_brian.cli", "sweep", str(cfg_path), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while len(list(parts.glob("*-*-*.json"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name for p in parts.glob("*-*-*.json")}
    assert 0 < len(finished) < 4 * N_SAMPLES and not out.exists()
    run = run_sweep(load_config(cfg_path), out, scheduler="serial", progress=False)
    assert run.reused_chunks == len(finished) and run.computed_chunks == 4 * N_SAMPLES - len(finished)
    _same_rows(read_table(out)[0], serial[1][0])


@pytest.mark.parametrize("change,message", [
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"limit": "ten"}, "'limit'.*must be an integer"),
    ({"grid": {}}, "grid.*is empty"),
    ({"grid": {"tau_S": []}}, "non-empty list"),
    ({"grid": {"speed": [1]}}, "unknown grid knob 'speed'"),
    ({"grid": {"weight_bits": [2.5]}}, "weight_bits"),
    ({"grid": {"tau_S": [0.5]}}, "tau_S"),
    ({"grid": {"tau_S": [64], "steps_per_frame": [7]}}, "both set the SNN step"),
    ({"model": "/nonexistent/m.npz"}, "model file"),
    ({"inputs": "digits:validation"}, "is not one of"),
    ({"metrics": ["speed"]}, "metrics"),
    ({"target": "genn"}, "target"),
])
def test_malformed_configs_fail_before_any_work(files, tmp_path, change, message):
    cfg = _config(files, **change)
    with pytest.raises(UserInputError, match=message):
        load_config(_write_toml(tmp_path / "bad.toml", cfg))
    assert not list(tmp_path.glob("*.parts"))


def test_bundled_model_alias(files, tmp_path):
    from lprnn_brian.demo import BUNDLED_MODEL

    cfg = load_config(_write_toml(tmp_path / "a.toml", _config(files, model="bundled:digits")))
    assert Path(cfg.model).name == BUNDLED_MODEL and Path(cfg.model).is_file()


def test_missing_model_key_and_bad_toml(files, tmp_path):
    cfg = _config(files)
    del cfg["model"]
    with pytest.raises(UserInputError, match="missing key 'model'"):
        load_config(_write_toml(tmp_path / "a.toml", cfg))
    (tmp_path / "b.toml").write_text("model = [unclosed")
    with pytest.raises(UserInputError, match="not valid TOML"):
        load_config(tmp_path / "b.toml")


def test_cli_refuses_an_existing_table_and_bad_flags(serial, files, tmp_path):
    from lprnn_brian.cli import main

    cfg_path = _write_toml(tmp_path / "s.toml", _config(files))
    out = tmp_path / "t.parquet"
    out.write_text("user data")
    assert main(["sweep", str(cfg_path), "--out", str(out), "--scheduler", "serial", "--quiet"]) == 2
    assert out.read_text() == "user data"
    assert main(["sweep", str(cfg_path), "--out", str(tmp_path / "t.csv"), "--quiet"]) == 2
    assert main(["sweep", str(cfg_path), "--workers", "0", "--quiet"]) == 2


def test_distributed_simulation_equals_serial(files):
    """simulate --scheduler: chunks on a 2-worker LocalCluster, merged: the same spikes and decodes as one run."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.simulation import simulate

    spec = to_snn_spec(load_model(files / "m.npz"), mode="loihi")
    x = np.load(files / "x.npy")
    want = simulate(spec, x, target="numpy")
    got = simulate_distributed(spec, x, scheduler="local", workers=2, target="numpy", batch=1, chunk=2)
    assert got.n_samples == N_SAMPLES
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(got.spikes[k], want.spikes[k])
        for d in want.decodes:
            np.testing.assert_array_equal(got.decodes[d]["all"][k], want.decodes[d]["all"][k])


def test_simulate_cli_with_scheduler_equals_serial(files, capsys):
    """`lprnn-brian simulate --scheduler local`: the JSON summary's predictions, agreements and spike counts equal
    those of the serial command."""
    from lprnn_brian.cli import main

    args = ["simulate", str(files / "m.npz"), "--inputs", str(files / "x.npy"), "--labels", str(files / "y.npy"),
            "--target", "numpy", "--json", "--quiet"]
    assert main(args) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main(args + ["--scheduler", "local", "--workers", "2"]) == 0
    dask = json.loads(capsys.readouterr().out)
    for key in ("snn_predictions", "class_agreement", "spikes_per_sample", "layer_correlation", "snn_accuracy"):
        assert dask[key] == serial[key], key


def test_jitter_knob_replays_the_readout_from_jittered_spikes(files, tmp_path):
    """jitter σ > 0: the in/ip decodes come from the read-out replayed on the last hidden layer's jittered spikes
    (recomputed here with coding.jitter_events/readout_from_spikes and the sweep's documented seed), fb and
    count are not defined (NaN); σ = 0 is the plain run."""
    from lprnn_brian.analysis.coding import jitter_events, readout_from_spikes
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.simulation import simulate
    from lprnn_brian.sweep_tasks import _point_seed, point_spec

    cfg = parse_config(_config(files, chunk=N_SAMPLES, grid={"jitter": [0, 6.0]}))
    out = tmp_path / "j.parquet"
    rows = run_sweep(cfg, out, scheduler="serial", progress=False).rows
    x, y = np.load(files / "x.npy"), np.load(files / "y.npy")
    spec = point_spec(load_model(files / "m.npz"), {}, "loihi", x.shape[1])
    res = simulate(spec, x, target="numpy")
    assert rows[0]["snn_accuracy_fb"] == pytest.approx(np.mean(res.predictions("fb") == y))
    rng = np.random.default_rng([0, 0, _point_seed({"jitter": 6.0})])
    jittered = jitter_events(res.spikes[-2], 6.0, spec.n_steps, rng)
    pred = np.argmax(readout_from_spikes(spec, jittered, N_SAMPLES, spec.readout_window, decode="in"), axis=1)
    assert rows[1]["snn_accuracy_in"] == pytest.approx(np.mean(pred == y))
    assert np.isnan(rows[1]["snn_accuracy_fb"]) and np.isnan(rows[1]["class_agreement_count"])
