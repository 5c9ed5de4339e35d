"""``lprnn-brian export standalone`` (:mod:`lprnn_brian.export.standalone`): generated projects that build with make and
run without Python, and the reader of their results.

Fast tests (no build of the network):

- **The input converter against the package.** ``lprnn_input`` (compiled alone, one small C++ file) turns frames into
  the drive in the project's form: per ANN frame in the row layout (:func:`lprnn_brian.convert.input_frames`, which
  the binary holds over each frame's steps), per SNN step otherwise (:func:`lprnn_brian.convert.layer0_drive`). Its
  hold and its per-unit scaling are exact, and its plain loop Σ_j x_j·w_ij differs from numpy's product (BLAS,
  another order of summation) by at most the error bound of two recursive sums of F products, 2·F·u·Σ_j|x_j·w_ij|
  (u = 2^−53, Higham, *Accuracy and Stability of Numerical Algorithms*, section 3.1: each computed sum lies within
  γ_F·Σ|terms| ≤ 1.01·F·u·Σ|terms| of the exact one), times f0 and the unit's scale, plus the roundings of the
  products by f0 and by the scale on both sides (u·|X| each). The ``--drive`` route regroups the package's own drive
  (:func:`write_drive`, in the project's form): identical bytes. Bad files are refused with one line and exit
  status 2.
- **The reader against a hand-worked batch.** Result files written here by hand (spikes in the row layout's per-copy
  recorder files or in SpikeMonitor arrays, frame-end samples, window sums of two batches) read back by
  :func:`read_standalone`: every spike's (sample, neuron, step) and every decode, recomputed here from the files'
  definitions (README.md of the project).
- **The project's files** name no path of this machine; the command refuses bad arguments the package way.

Slow tests (``-m slow``): the digits model's C++ project copied to another directory, built with make, run with
run.sh on three clips (frames and drive, two batch ranges at once), read back: spikes identical to ``simulate``'s
and decodes equal; the same for the C++ project of Brian2 synapses (a per-step drive on the command line, states
every step); the CUDA project of a two-layer network compiled by nvcc without a GPU (the digits model's run and
compared with ``simulate`` where one is lent, ``-m gpu``); the GeNN project built and run on GeNN's CPU backend,
identical to cpp_standalone (Loihi mode).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import env_python, environment_without_compiler_cache, per_unit_model, random_model
from lprnn_brian.ann.forward import check_inputs, readout_start
from lprnn_brian.ann.model import READOUT_WINDOWS, save_model
from lprnn_brian.cli import main
from lprnn_brian.convert import frame_end_steps, input_frames, layer0_drive, step_frames, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.export.standalone import (BATCH_DIR, INPUT_RECORD, MANIFEST, SAMPLES_FILE, SPEC_FILE,
                                           export_standalone, load_project_spec, read_standalone, write_drive)
from lprnn_brian.simulation import DECODES, decode_scale, load_result, simulate

REPO = Path(__file__).resolve().parents[1]
U = 2.0 ** -53


def _run(cmd, cwd, check=True, env=None, timeout=600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}", pytrace=False)
    return proc


@pytest.fixture(scope="module")
def small_spec():
    """lpff 40→8, lprnn 8, dense 3 (20 frames), Loihi mode: 40 features, so the order of the input sum matters."""
    return to_snn_spec(random_model(np.random.default_rng(5), sizes=(40, 8, 8, 3)), mode="loihi")


@pytest.fixture(scope="module")
def small_project(small_spec, tmp_path_factory) -> Path:
    """The small spec's cpp_standalone project, 2 samples per run (row layout: input per frame, spike recorders),
    with only its input converter built."""
    out = tmp_path_factory.mktemp("export") / "project"
    export_standalone(small_spec, out, batch=2, model_name="small")
    _run(["make", "lprnn_input"], cwd=out)
    return out


@pytest.fixture(scope="module")
def step_project(small_spec, tmp_path_factory) -> Path:
    """The small spec's cpp_standalone project with Brian2 synapses (input per step, SpikeMonitors), 2 per run."""
    out = tmp_path_factory.mktemp("export") / "project"
    export_standalone(small_spec, out, batch=2, propagation="synapses", model_name="small")
    _run(["make", "lprnn_input"], cwd=out)
    return out


def _package_drive(spec, x, per: str) -> np.ndarray:
    """The package's layer-0 drive of one sample of (float32-rounded) frames, in the project's form."""
    return input_frames(x.astype(np.float64), spec) if per == "frame" else layer0_drive(x, spec)


def _frames(spec, n: int, seed: int, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (n, spec.n_frames, spec.layers[0].W_ann.shape[1])).astype(dtype)


def _tool_batch(project: Path, kind: str, path: Path, k: int, out: Path) -> tuple[int, int, np.ndarray]:
    """Batch ``k`` of ``path`` through the project's lprnn_input: (first, count, drive (rows, batch, n0)), rows the
    frames or steps of the project's drive (manifest)."""
    proc = _run([project / "lprnn_input", "batch", kind, path, k, out], cwd=project)
    first, count = map(int, proc.stdout.split())
    m = json.loads((project / MANIFEST).read_text())
    rows = m["n_frames"] if m["drive"]["per"] == "frame" else m["n_steps"]
    drive = np.fromfile(out, dtype="<f8").reshape(rows, m["layout"]["batch"], m["n0"])
    return first, count, drive


@pytest.fixture(scope="module")
def float_weight_project(small_spec, tmp_path_factory) -> tuple:
    """The small spec with W0 drawn from a normal distribution (not on a grid): sums whose order matters."""
    import copy

    spec = copy.deepcopy(small_spec)
    spec.layers[0].W_ann = np.random.default_rng(11).normal(0, 0.3, spec.layers[0].W_ann.shape)
    out = tmp_path_factory.mktemp("export") / "project"
    export_standalone(spec, out, batch=2)
    _run(["make", "lprnn_input"], cwd=out)
    return spec, out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weights, per", [("grid", "frame"), ("grid", "step"), ("float", "frame")])
def test_input_tool_gives_the_package_drive(small_spec, request, float_weight_project, tmp_path, dtype, weights,
                                            per):
    """Grid weights (the random model's codes/8): every product x_j·w_ij is exact in double (24 + 3 bits) and so is
    every partial sum of these inputs (|x| within 2^−10 … 2^3: 13 + 27 + 6 bits < 53), in any order: the drive is
    the package's bit for bit, per frame (the row layout) and per step. Float weights: within the error bound of the
    module docstring."""
    if weights == "grid":
        spec, project = small_spec, request.getfixturevalue("small_project" if per == "frame" else "step_project")
    else:
        spec, project = float_weight_project
    assert json.loads((project / MANIFEST).read_text())["drive"]["per"] == per
    x = _frames(spec, 5, seed=1, dtype=dtype)
    x = np.clip(np.abs(x), 2.0 ** -10, 8.0) * np.sign(x)
    x[0, 3, 7] = 1.0 + 2.0 ** -40  # a float64 value that float32 rounds (check_inputs' rounding, in the tool too)
    np.save(tmp_path / "x.npy", x)
    assert _run([project / "lprnn_input", "batches", "--frames", tmp_path / "x.npy"], project).stdout.split() == \
        ["3", "5"]  # 5 samples, 2 per batch
    xs = check_inputs(x, 40)
    L0 = spec.layers[0]
    differ = 0
    for k in range(3):
        first, count, drive = _tool_batch(project, "--frames", tmp_path / "x.npy", k, tmp_path / "d.f64")
        assert (first, count) == (2 * k, min(2, 5 - 2 * k))
        for b in range(count):
            expected = _package_drive(spec, xs[first + b], per)
            assert drive.shape[0] == (spec.n_frames if per == "frame" else spec.n_steps)
            if weights == "grid":
                np.testing.assert_array_equal(drive[:, b, :], expected)
                continue
            # the error bound of two sums of 40 products and of the product by f0 (module docstring)
            terms = np.abs(xs[first + b].astype(np.float64)) @ np.abs(L0.W_ann.T)
            bound = 2 * 40 * U * abs(L0.factor) * terms * 1.01 + 2 * U * np.abs(expected)
            assert np.all(np.abs(drive[:, b, :] - expected) <= bound)
            differ += int(np.sum(drive[:, b, :] != expected))
        assert np.all(drive[:, count:, :] == 0.0)  # copies past the last sample: zero input
    print(f"{weights} weights: {differ} drive values differ from the package's")
    # the drive route: the package's own drive in the project's form, regrouped bit for bit
    write_drive(project, tmp_path / "x.npy", tmp_path / "drive.npy")
    assert np.load(tmp_path / "drive.npy").shape == (5,) + drive.shape[:1] + (8,)
    for k in range(3):
        first, count, drive = _tool_batch(project, "--drive", tmp_path / "drive.npy", k, tmp_path / "d.f64")
        for b in range(count):
            np.testing.assert_array_equal(drive[:, b, :], _package_drive(spec, xs[first + b], per))
        assert np.all(drive[:, count:, :] == 0.0)


@pytest.mark.parametrize("per", ["frame", "step"])
def test_input_tool_per_unit_scale(tmp_path, per):
    """Per-unit retention in layer 0: the drive of unit i is scaled by τ_U/τ_I,i (input_frames' rule)."""
    spec = to_snn_spec(per_unit_model(np.random.default_rng(3), [0.5, 0.8, 0.95], n_in=3), mode="float")
    assert isinstance(spec.layers[0].tau_I, np.ndarray)
    project = tmp_path / "p"
    export_standalone(spec, project, batch=1, propagation="rows" if per == "frame" else "synapses")
    _run(["make", "lprnn_input"], cwd=project)
    x = _frames(spec, 1, seed=2)
    np.save(tmp_path / "x.npy", x)
    _, _, drive = _tool_batch(project, "--frames", tmp_path / "x.npy", 0, tmp_path / "d.f64")
    expected = _package_drive(spec, x[0], per)
    L0 = spec.layers[0]
    terms = np.abs(x[0].astype(np.float64)) @ np.abs(L0.W_ann.T)
    if per == "step":
        terms = terms[step_frames(spec)]
    bound = 2 * 3 * U * abs(L0.factor) * terms * (L0.tau_U / L0.tau_I) * 1.01 + 4 * U * np.abs(expected)
    assert np.all(np.abs(drive[:, 0, :] - expected) <= bound)
    assert not np.allclose(L0.tau_U / L0.tau_I, 1.0)  # the scale is not the identity


def _write_npy_header(path: Path, descr: str, shape, fortran: bool = False) -> None:
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {tuple(shape)}, }}"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    with open(path, "wb") as fh:
        fh.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
        fh.write(np.zeros(int(np.prod(shape)), dtype=np.dtype(descr)).tobytes())


@pytest.mark.parametrize("case, needle", [
    ("shape", "has shape (2, 20, 39); this project takes (samples, 20 frames, 40 features)"),
    ("nan", "holds NaN or inf"),
    ("huge", "beyond float32's range"),
    ("int", "holds dtype <i4"),
    ("big_endian", "holds dtype >f8"),
    ("fortran", "Fortran order"),
    ("not_npy", "is not a .npy file"),
    ("truncated", "is truncated"),
    ("drive_f32", "a drive is float64"),
    ("drive_steps", "(samples, 20 frames, 8 layer-0 neurons), the drive per ANN frame, as "
                    "lprnn_brian.export.standalone.write_drive writes it (export with --propagation synapses"),
    ("batch", "batch 1 does not exist"),
])
def test_input_tool_refuses_bad_files(small_project, tmp_path, case, needle):
    project, path = small_project, tmp_path / "bad.npy"
    kind, k = "--frames", "0"
    good = np.zeros((2, 20, 40), np.float32)
    if case == "shape":
        np.save(path, np.zeros((2, 20, 39), np.float32))
    elif case in ("nan", "huge"):
        bad = good.astype(np.float64)
        bad[1, 4, 2] = np.nan if case == "nan" else 1e300
        np.save(path, bad)
    elif case == "int":
        np.save(path, good.astype(np.int32))
    elif case == "big_endian":
        np.save(path, good.astype(">f8"))
    elif case == "fortran":
        _write_npy_header(path, "<f4", (2, 20, 40), fortran=True)
    elif case == "not_npy":
        good.tofile(path)
    elif case == "truncated":
        np.save(path, good)
        path.write_bytes(path.read_bytes()[:-8])
    elif case in ("drive_f32", "drive_steps"):  # a project of the row layout takes its drive per frame
        kind = "--drive"
        m = json.loads((project / MANIFEST).read_text())
        np.save(path, np.zeros((1, m["n_steps"] if case == "drive_steps" else 20, m["n0"]),
                               np.float32 if case == "drive_f32" else np.float64))
    elif case == "batch":
        np.save(path, good)
        k = "1"
    proc = _run([project / "lprnn_input", "batch", kind, path, k, tmp_path / "d.f64"], project, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lprnn_input: ") and needle in lines[0], proc.stderr
    assert not (tmp_path / "d.f64").exists()


def test_project_is_relocatable_and_documented(small_spec, small_project, step_project, tmp_path):
    project = small_project
    forbidden = [str(project.parent), sys.prefix, os.path.realpath(sys.prefix), "site-packages", str(REPO)]
    for path in project.rglob("*"):
        if path.is_file() and "static_arrays" not in path.parts and path.name not in ("lprnn_input", "lprnn_spec.npz"):
            text = path.read_text()
            assert not [p for p in forbidden if p in text], path
    makefile = (project / "makefile").read_text()
    assert "ARCH ?= -march=native" in makefile and "-march=native -" not in makefile and "$(ARCH)" in makefile
    assert "-ffp-contract=off" in makefile and "fast-math" in makefile and "-ffast-math" not in makefile
    run = project / "run.sh"
    assert os.access(run, os.X_OK)
    _run(["sh", "-n", run], cwd=project)  # POSIX shell syntax
    manifest, spec = load_project_spec(project)
    assert spec.digest() == small_spec.digest() and manifest["layout"] == {"batch": 2, "sampling": "frames",
                                                                           "propagation": "rows", "threads": 0}
    # the row layout: the input per frame in the static array that run.sh puts where main reads it
    assert manifest["drive"] == {"per": "frame", "shape": [20, 16], "static_array": "stimulus_frames"}
    assert (project / "static_arrays" / "stimulus_frames").stat().st_size == 20 * 16 * 8
    assert not (project / "static_arrays" / "lprnn_input_frame_of_step").exists()
    assert "#define LPRNN_PER_FRAME 1" in (project / "lprnn_input_params.h").read_text()
    script = run.read_text()
    assert "static_arrays/stimulus_frames" in script and ".values=" not in script
    readme = (project / "README.md").read_text()
    for L in manifest["layers"]:  # every output file is documented, with its dtype
        assert L["spikes"] is None and L["spike_record"] == f"{L['name']}_record_spikes.spikes"
        for f in [L["spike_record"]] + list(L["frames"].values()):
            assert f"`{f}`" in readme
        for d in L["sums"].values():
            for f in d.values():
                assert f"`{f}` | float64 | ({L['group_size']},)" in readme
    assert "int64  count[B]" in readme and "static_arrays/stimulus_frames" in readme
    assert "(samples, 20, 40)" in readme and "(samples, 20, 8)" in readme and str(spec.n_steps) + " rows" not in readme
    # the Brian2 synapses layout: a drive per step on the command line, SpikeMonitors
    m = json.loads((step_project / MANIFEST).read_text())
    assert m["drive"] == {"per": "step", "shape": [spec.n_steps, 16], "timed_array": "stimulus"}
    assert (step_project / "static_arrays" / "lprnn_input_frame_of_step").stat().st_size == 4 * spec.n_steps
    assert '"stimulus.values=$d.tmp/input.f64"' in (step_project / "run.sh").read_text()
    step_readme = (step_project / "README.md").read_text()
    assert f"(samples, {spec.n_steps}, 8)" in step_readme and ".spikes" not in step_readme
    for L in m["layers"]:
        assert L["spike_record"] is None and f"`{L['spikes']['i']}` | int32" in step_readme
        assert f"`{L['spikes']['t']}` | float64" in step_readme
    # run.sh without a build says what to do
    np.save(tmp_path / "x.npy", np.zeros((1, 20, 40), np.float32))
    proc = _run([run, tmp_path / "x.npy", tmp_path / "results"], cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "build the project first: run make" in proc.stderr


# --- the reader, on result files written by hand ------------------------------------------------------------------
def _hand_results(project: Path, out: Path, n_samples: int, seed: int, spike_format: int = 2) -> dict:
    """A results directory as run.sh writes it, with random arrays in the documented formats (the recorder's files
    in its second format, or its first: ``spike_format``); returns the arrays that went in (per batch, per layer)
    for the expectation."""
    rng = np.random.default_rng(seed)
    manifest, spec = load_project_spec(project)
    B, dt, steps = manifest["layout"]["batch"], spec.dt, spec.n_steps
    out.mkdir()
    for f in (MANIFEST, SPEC_FILE):
        shutil.copy(project / f, out / f)
    n_batches = -(-n_samples // B)
    (out / INPUT_RECORD).write_text(f"{n_samples} {n_batches}\n")
    ends = np.unique(frame_end_steps(spec))
    written = []
    for k in range(n_batches):
        d = out / BATCH_DIR.format(k)
        d.mkdir()
        count = min(B, n_samples - k * B)
        (d / SAMPLES_FILE).write_text(f"{k * B} {count}\n")
        layers = []
        for L in manifest["layers"]:
            N = L["group_size"]
            n_spikes = int(rng.integers(0, 3 * N))
            step = np.sort(rng.integers(0, steps, n_spikes))
            i = rng.integers(0, N, n_spikes).astype(np.int32)
            if L["spike_record"] and spike_format == 1:  # int32 B, int64 counts, then per copy (indices, steps)
                copy = i // L["n"]
                with open(d / L["spike_record"], "wb") as fh:
                    fh.write(np.array([B], "<i4").tobytes())
                    fh.write(np.bincount(copy, minlength=B).astype("<i8").tobytes())
                    for c in range(B):
                        fh.write((i[copy == c] % L["n"]).astype("<i4").tobytes())
                        fh.write(step[copy == c].astype("<i4").tobytes())
            elif L["spike_record"]:  # "SPK2", B, n_steps, index width, int64 counts, int32 per_step[B][n_steps],
                # then per copy its indices, step by step (the steps are sorted)
                copy = i // L["n"]
                with open(d / L["spike_record"], "wb") as fh:
                    fh.write(b"SPK2" + np.array([B, steps, 2], "<i4").tobytes())
                    fh.write(np.bincount(copy, minlength=B).astype("<i8").tobytes())
                    for c in range(B):
                        fh.write(np.bincount(step[copy == c], minlength=steps).astype("<i4").tobytes())
                    for c in range(B):
                        fh.write((i[copy == c] % L["n"]).astype("<i2").tobytes())
            else:
                i.tofile(d / L["spikes"]["i"])
                (step * dt).astype(np.float64).tofile(d / L["spikes"]["t"])
            rows = {v: rng.normal(0, 1e5, (len(ends), N)) for v in manifest["record"]}
            np.tile(np.arange(N, dtype=np.int32), len(ends)).tofile(d / L["frames"]["i"])
            np.repeat(ends * dt, N).tofile(d / L["frames"]["t"])
            for v, a in rows.items():
                a.ravel().tofile(d / L["frames"][v])
            sums = {w: {v: rng.normal(0, 1e7, N) for v in manifest["record"]} for w in L["sums"]}
            for w, dv in L["sums"].items():
                for v, f in dv.items():
                    sums[w][v].tofile(d / f)
            layers.append({"i": i, "step": step, "rows": rows, "sums": sums})
        written.append(layers)
    return {"manifest": manifest, "spec": spec, "batches": written, "ends": ends}


@pytest.mark.parametrize("layout, spike_format", [("rows", 2), ("rows", 1), ("synapses", None)])
def test_reader_decodes_hand_written_results(request, tmp_path, layout, spike_format):
    """rows, 1: the recorder's first format, written by projects exported before the second, is read too."""
    project = request.getfixturevalue("small_project" if layout == "rows" else "step_project")
    w = _hand_results(project, tmp_path / "results", n_samples=3, seed=7, spike_format=spike_format)
    manifest, spec = w["manifest"], w["spec"]
    B = manifest["layout"]["batch"]
    result = read_standalone(tmp_path / "results")
    assert result.n_samples == 3 and result.layout["batch"] == 2 and result.target == "cpp_standalone"
    assert result.layout["propagation"] == layout
    row_of_frame = np.searchsorted(w["ends"], frame_end_steps(spec))
    frame_of_step = step_frames(spec)
    steps_per_frame = np.bincount(frame_of_step, minlength=spec.n_frames)
    for k, L in enumerate(spec.layers):
        expected_spikes = []
        for b, layers in enumerate(w["batches"]):
            got = layers[k]
            copy = got["i"] // L.n
            for c in range(min(B, 3 - b * B)):
                mine = copy == c
                s = b * B + c
                expected_spikes += [(s, int(i), int(n)) for i, n in zip(got["i"][mine] % L.n, got["step"][mine])]
                cols = slice(c * L.n, (c + 1) * L.n)
                for d in DECODES:
                    scale = decode_scale(d, L)
                    if d == "count":
                        counts = np.zeros((spec.n_frames, L.n))
                        np.add.at(counts, (frame_of_step[got["step"][mine]], got["i"][mine] % L.n), 1.0)
                        frames = counts / steps_per_frame[:, None] * spec.Iin
                        np.testing.assert_allclose(result.frame_decodes[d][k][s], frames, rtol=1e-6)
                        for win in READOUT_WINDOWS:
                            start = readout_start(spec.n_steps, win)
                            late = np.bincount(got["i"][mine][got["step"][mine] >= start] % L.n, minlength=L.n)
                            np.testing.assert_allclose(result.decodes[d][win][k][s],
                                                       late / (spec.n_steps - start) * spec.Iin, rtol=1e-12)
                        continue
                    state = {"fb": "i_fb", "ip": "i_ip", "in": "i_in"}[d]
                    frames = (scale * got["rows"][state][row_of_frame][:, cols]).astype(np.float32)
                    np.testing.assert_array_equal(result.frame_decodes[d][k][s], frames)
                    for win in READOUT_WINDOWS:
                        mean = got["sums"][win][state][cols] / (spec.n_steps - readout_start(spec.n_steps, win))
                        np.testing.assert_allclose(result.decodes[d][win][k][s], scale * mean, rtol=1e-15)
        got_spikes = sorted(map(tuple, result.spikes[k].tolist()))
        assert got_spikes == sorted(expected_spikes)


@pytest.mark.parametrize("layout", ["rows", "synapses"])
def test_reader_refuses_incomplete_results(request, tmp_path, layout):
    project = request.getfixturevalue("small_project" if layout == "rows" else "step_project")
    w = _hand_results(project, tmp_path / "r", n_samples=3, seed=8)
    L = w["manifest"]["layers"][1]
    spikes = tmp_path / "r" / BATCH_DIR.format(1) / (L["spike_record"] or L["spikes"]["t"])
    whole = spikes.read_bytes()
    redo = r"run `./run.sh INPUT .* 1 1` again"
    if layout == "rows":  # the recorder's file: a part of a value, one index less than its counts say, a header
        # cut short, another copy count, no file
        cuts = {"a part": (whole[:-1], r"lprnn_1_record_spikes\.spikes: \d+ bytes of indices for \d+ spikes"),
                "a spike": (whole[:-2], r"lprnn_1_record_spikes\.spikes: \d+ bytes of indices for \d+ spikes"),
                "header": (whole[:10], r"lprnn_1_record_spikes\.spikes: 10 bytes, shorter than the header"),
                "copies": (whole[:4] + np.array([3], "<i4").tobytes() + whole[8:],
                           r"a recording of 3 copies where 2 were run"),
                "file": (None, r"lprnn_1_record_spikes\.spikes is missing")}
    else:  # the SpikeMonitor's time array
        cuts = {"a part": (whole[:-3], r"_spikes_t_\d+ holds \d+ bytes, not a whole number of values"),
                "a spike": (whole[:-8], r"the arrays of a monitor of lprnn_1 have different lengths"),
                "file": (None, r"_spikes_t_\d+ is missing")}
    for content, needle in cuts.values():
        if content is None:
            spikes.unlink()
        else:
            spikes.write_bytes(content)
        with pytest.raises(UserInputError, match=rf"batch_00001 is incomplete or damaged .*{needle}.*{redo}"):
            read_standalone(tmp_path / "r")
    spikes.write_bytes(whole)
    read_standalone(tmp_path / "r")  # whole again
    shutil.rmtree(tmp_path / "r" / BATCH_DIR.format(1))
    with pytest.raises(UserInputError, match="lacks batch 1 of 0 .. 1"):
        read_standalone(tmp_path / "r")
    (tmp_path / "r" / MANIFEST).unlink()
    with pytest.raises(UserInputError, match="not an exported project or its results"):
        read_standalone(tmp_path / "r")


def test_import_standalone_command(small_project, tmp_path, capsys):
    _hand_results(small_project, tmp_path / "r", n_samples=3, seed=9)
    np.save(tmp_path / "y.npy", np.array([0, 2, 1]))
    assert main(["import-standalone", str(tmp_path / "r"), "--out", str(tmp_path / "run.npz"),
                 "--labels", str(tmp_path / "y.npy")]) == 0
    run = load_result(tmp_path / "run.npz")
    direct = read_standalone(tmp_path / "r")
    assert run.info["labels"] == [0, 2, 1] and run.n_samples == 3
    for a, b in zip(run.spikes, direct.spikes):
        np.testing.assert_array_equal(a, b)
    capsys.readouterr()
    assert main(["import-standalone", str(tmp_path / "r"), "--out", str(tmp_path / "run.npz")]) == 2
    assert "already exists" in capsys.readouterr().err
    # with the model and the frames: the comparison with the ANN that `simulate --out` saves
    model = save_model(random_model(np.random.default_rng(5), sizes=(40, 8, 8, 3)), tmp_path / "small.npz")
    np.save(tmp_path / "x.npy", _frames(direct.spec, 3, seed=4))
    out = ["--out", str(tmp_path / "run3.npz")]
    assert main(["import-standalone", str(tmp_path / "r"), *out, "--model", str(model), "--inputs",
                 str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")]) == 0
    ev = load_result(tmp_path / "run3.npz").info["evaluation"]
    assert ev["n_samples"] == 3 and ev["target"] == "cpp_standalone" and ev["mode"] == "loihi"
    assert ev["snn_predictions"]["fb"] == direct.predictions("fb").tolist()
    assert ev["ann_accuracy"] == np.mean(np.array(ev["ann_predictions"]) == [0, 2, 1])
    capsys.readouterr()
    other = save_model(random_model(np.random.default_rng(6), sizes=(40, 8, 8, 3)), tmp_path / "other.npz")
    for argv, needle in ((["--model", str(other), "--inputs", str(tmp_path / "x.npy")], "is not the model"),
                         (["--model", str(model)], "--model and --inputs go together"),
                         (["--labels", str(tmp_path / "y2.npy")], "does not exist")):
        assert main(["import-standalone", str(tmp_path / "r"), "--out", str(tmp_path / "run2.npz"), *argv]) == 2
        assert needle in capsys.readouterr().err
    np.save(tmp_path / "y2.npy", np.array([0, 2]))
    assert main(["import-standalone", str(tmp_path / "r"), "--out", str(tmp_path / "run2.npz"),
                 "--labels", str(tmp_path / "y2.npy")]) == 2
    assert "2 labels for 3 input samples" in capsys.readouterr().err
    assert not (tmp_path / "run2.npz").exists()


# --- the command's refusals --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return save_model(random_model(np.random.default_rng(5)), tmp_path_factory.mktemp("m") / "small.npz")


@pytest.mark.parametrize("extra, needle", [
    (["--target", "cpu"], "invalid choice: 'cpu'"),
    (["--frames", "0"], "must be ≥ 1"),
    (["--target", "genn", "--sampling", "frames"], "sampling='frames' records through a custom event"),
    (["--target", "cuda_standalone", "--propagation", "rows"], "propagation='rows' is a cpp_standalone kernel"),
    (["--target", "cuda_standalone"], "needs brian2cuda"),
    (["--inputs", "x.npy"], "--inputs and --labels apply to export loihi and lava"),
])
def test_export_standalone_refusals(model_file, tmp_path, capsys, extra, needle):
    code = main(["export", "standalone", str(model_file), "--out", str(tmp_path / "p"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary directory left


def test_export_standalone_output_rules(model_file, tmp_path, capsys):
    out = tmp_path / "p"
    (tmp_path / "file").write_text("mine")
    assert main(["export", "standalone", str(model_file), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err and (tmp_path / "file").read_text() == "mine"
    assert main(["export", "standalone", str(tmp_path / "missing.npz"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "nir", str(model_file), "--out", str(tmp_path / "n.nir"), "--target", "genn"]) == 2
    assert "--target applies to export standalone" in capsys.readouterr().err
    assert main(["export", "standalone", str(model_file), "--out", str(out), "--batch", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layout"]["batch"] == 3 and summary["target"] == "cpp_standalone" and summary["mode"] == "loihi"
    before = (out / MANIFEST).read_text()
    assert main(["export", "standalone", str(model_file), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and (out / MANIFEST).read_text() == before
    assert main(["export", "standalone", str(model_file), "--out", str(out), "--force", "--mode", "float"]) == 0
    assert json.loads((out / MANIFEST).read_text())["mode"] == "float"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["export", "standalone", str(model_file), "--out", str(mine), "--force"]) == 2
    assert "not an exported project" in capsys.readouterr().err and (mine / "notes.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "mine", "p"]  # no temporary directory left


# --- slow: build and run the projects -----------------------------------------------------------------------------
def _digits(n: int):
    from lprnn_brian import bundled_model_path
    from lprnn_brian.tasks.digits import load_digits

    x, y, _ = load_digits("test")
    return bundled_model_path(), x[:n], y[:n]


def _compare(got, want, exact_decodes: bool = True) -> None:
    """Spikes identical; decodes equal (bit for bit where ``exact_decodes``)."""
    assert got.n_samples == want.n_samples
    for a, b in zip(got.spikes, want.spikes):
        np.testing.assert_array_equal(a[np.lexsort(a.T[::-1])], b[np.lexsort(b.T[::-1])])
    for d in want.frame_decodes:
        for k in range(len(want.layer_names)):
            if want.frame_decodes[d][k] is None:
                continue
            np.testing.assert_array_equal(got.frame_decodes[d][k], want.frame_decodes[d][k])
            for w in READOUT_WINDOWS:
                np.testing.assert_array_equal(got.decodes[d][w][k], want.decodes[d][w][k])


def _built_copy(tmp_path: Path, model: Path, extra=()) -> Path:
    """The model's cpp_standalone project exported, copied to another place (a space in its path), the export
    removed, and built there with make."""
    exported = tmp_path / "exported"
    assert main(["export", "standalone", str(model), "--out", str(exported), "--batch", "2", *extra]) == 0
    project = tmp_path / "elsewhere" / "copy of project"
    shutil.copytree(exported, project)
    shutil.rmtree(exported)
    _run(["make", "-j", "2"], cwd=project, timeout=1200)
    return project


@pytest.mark.slow  # one make of the project (~40 sources) and one of simulate's build
def test_cpp_project_built_elsewhere_gives_simulate_spikes(tmp_path, build_root, capsys):
    """The row layout: the input per frame in a static array that run.sh writes in each batch's own directory, the
    spikes in the recorders' per-copy files."""
    model, x, y = _digits(3)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    project = _built_copy(tmp_path, model)
    stimulus = project / "static_arrays" / "stimulus_frames"
    before = stimulus.read_bytes()
    _, spec = load_project_spec(project)
    want = simulate(spec, x, build_root=build_root)  # simulate's own layout: 4 per run
    for route, inputs in (("frames", []), ("drive", ["--drive"])):
        source = tmp_path / "x.npy"
        if route == "drive":
            source = write_drive(project, tmp_path / "x.npy", tmp_path / "drive.npy")
            assert np.load(source).shape == (3, spec.n_frames, spec.layers[0].n)  # per frame: M times less
        results = tmp_path / f"results {route}"
        _run([project / "run.sh", *inputs, source, results], cwd=tmp_path)
        got = read_standalone(results)
        assert got.layout == {"batch": 2, "sampling": "frames", "propagation": "rows", "threads": 0}
        _compare(got, want)
        np.testing.assert_array_equal(got.predictions(), want.predictions())
        assert sorted(p.name for p in (results / BATCH_DIR.format(0)).iterdir() if p.is_dir()) == []  # run/ gone
    assert stimulus.read_bytes() == before  # run.sh never writes into the project
    # a cluster's array job: one batch per task, in any order, two at once in the one project directory; the reader
    # waits for all of them
    split = tmp_path / "split"
    _run([project / "run.sh", tmp_path / "x.npy", split, 1, 1], cwd=tmp_path)
    with pytest.raises(UserInputError, match="lacks batch 0 of 0 .. 1"):
        read_standalone(split)
    shutil.rmtree(split / BATCH_DIR.format(1))
    tasks = [subprocess.Popen([str(project / "run.sh"), str(tmp_path / "x.npy"), str(split), str(k), str(k)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in (1, 0)]
    for task in tasks:
        out, err = task.communicate(timeout=600)
        assert task.returncode == 0, err
    _compare(read_standalone(split), want)
    # another input into the same results directory is refused
    np.save(tmp_path / "x2.npy", x[:1])
    proc = _run([project / "run.sh", tmp_path / "x2.npy", split], cwd=tmp_path, check=False)
    assert proc.returncode == 2 and "results of another input" in proc.stderr
    # into the package's run file, which analyse reads
    capsys.readouterr()
    assert main(["import-standalone", str(split), "--out", str(tmp_path / "run.npz"), "--model", str(model),
                 "--inputs", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")]) == 0
    ev = load_result(tmp_path / "run.npz").info["evaluation"]
    assert ev["snn_predictions"]["fb"] == want.predictions("fb").tolist() and ev["n_samples"] == 3
    assert main(["analyse", str(tmp_path / "run.npz"), "--out", str(tmp_path / "analysis"), "--jitter", "0",
                 "--deletion", "0"]) == 0
    report = json.loads((tmp_path / "analysis" / "report.json").read_text())
    assert report["fidelity"]["snn_accuracy"]["fb"] == ev["snn_accuracy"]["fb"]


@pytest.mark.slow  # one make of the project and one of simulate's build
def test_cpp_synapses_project_gives_simulate_spikes(tmp_path, build_root):
    """Brian2 synapses: the input per step, a TimedArray's values named on main's command line; SpikeMonitors and
    every step's states."""
    model, x, _ = _digits(3)
    np.save(tmp_path / "x.npy", x)
    project = _built_copy(tmp_path, model, ["--propagation", "synapses", "--sampling", "steps"])
    _, spec = load_project_spec(project)
    _run([project / "run.sh", tmp_path / "x.npy", tmp_path / "results"], cwd=tmp_path)
    got = read_standalone(tmp_path / "results")
    assert got.layout == {"batch": 2, "sampling": "steps", "propagation": "synapses", "threads": 0}
    _compare(got, simulate(spec, x, build_root=build_root, sampling="steps"))


def _export_in(env: str, default: str, setup: str, what: str, model: Path, out: Path, target: str,
               extra=()) -> None:
    """``lprnn-brian export standalone`` in another environment's Python, this checkout's package first."""
    python = env_python(env, default, setup, what)
    envvars = environment_without_compiler_cache()
    envvars["PYTHONPATH"] = str(REPO)
    _run([python, "-m", "lprnn_brian.cli", "export", "standalone", model, "--target", target, "--out", out,
          *extra], cwd=REPO, env=envvars, timeout=900)


def _cuda_project(tmp_path: Path, model: Path) -> tuple[Path, dict]:
    """The model's CUDA project, exported in the CUDA environment, copied elsewhere and compiled by nvcc (no GPU
    needed) with the cuRAND of the nvidia-curand wheel (this machine's toolkit lacks it) through the makefile's
    variables; returns the project and the environment to run it in."""
    exported = tmp_path / "exported"
    _export_in("LPRNN_BRIAN_CUDA_ENV", ".venv-cuda", "scripts/setup-cuda", "brian2cuda", model, exported,
               "cuda_standalone", ["--batch", "2"])
    project = tmp_path / "elsewhere"
    shutil.copytree(exported, project)
    shutil.rmtree(exported)
    makefile = (project / "makefile").read_text()
    for path in (str(REPO), "site-packages", "/usr/local/cuda/", str(tmp_path)):
        assert path not in makefile
    assert "-arch=$(CUDA_ARCH)" in makefile and "$(CUDA_PATH)/bin/nvcc" in makefile and "--fmad=false" in makefile
    python = env_python("LPRNN_BRIAN_CUDA_ENV", ".venv-cuda", "scripts/setup-cuda", "brian2cuda")
    cuda, inc, lib = _run([python, "-c", "from lprnn_brian.targets.cuda import cuda_home, curand_dirs; "
                                         "print(cuda_home(), *curand_dirs())"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout.split()
    link = tmp_path / "curand"  # libcurand.so for the linker, the wheel's libcurand.so.<N> for the loader
    link.mkdir()
    for so in sorted(Path(lib).glob("libcurand.so*")):
        (link / so.name).symlink_to(so)
    if not (link / "libcurand.so").exists():
        (link / "libcurand.so").symlink_to(sorted(Path(lib).glob("libcurand.so.*"))[0])
    env = environment_without_compiler_cache()  # nvcc -ccbin takes one program
    _run(["make", "-j", str(os.cpu_count() or 1), f"CUDA_PATH={cuda}", f"CURAND_INCLUDE={inc}",
          f"CURAND_LIB={link}"], cwd=project, env=env, timeout=1800)
    assert os.access(project / "main", os.X_OK) and os.access(project / "lprnn_input", os.X_OK)
    return project, env


@pytest.mark.slow  # nvcc compiles the generated project: about 15 s per code object, minutes on 2 cores
def test_cuda_project_compiles_with_nvcc_without_a_gpu(tmp_path):
    """An lprnn layer fed by the input and a dense layer (the bundled model's four layers make twice the code
    objects): every kind of code object a layer has (an lpff layer's kinds are a subset of these:
    no recurrent synapses), compiled by nvcc in a copy of the exported project."""
    model = save_model(per_unit_model(np.random.default_rng(7), [0.8] * 6, n_in=4, n_out=3), tmp_path / "rec.npz")
    project, _ = _cuda_project(tmp_path, model)
    m = json.loads((project / MANIFEST).read_text())
    assert m["target"] == "cuda_standalone" and m["layout"]["propagation"] == "synapses"


@pytest.mark.gpu  # nvcc compiles the project first (minutes)
def test_cuda_project_runs_on_a_gpu_like_simulate(tmp_path, build_root):
    """Loihi mode: integer sums in any order, so the GPU's spikes and decodes equal cpp_standalone's (tests/test_cuda.py)."""
    model, x, _ = _digits(3)
    project, env = _cuda_project(tmp_path, model)
    np.save(tmp_path / "x.npy", x)
    _run([project / "run.sh", tmp_path / "x.npy", tmp_path / "results"], cwd=tmp_path, env=env)
    _, spec = load_project_spec(project)
    _compare(read_standalone(tmp_path / "results"), simulate(spec, x, build_root=build_root))


@pytest.mark.slow  # GeNN's code generator and a make of the generated project
def test_genn_project_built_elsewhere_gives_cpp_spikes(tmp_path, build_root):
    model, x, _ = _digits(3)
    exported = tmp_path / "exported"
    _export_in("LPRNN_BRIAN_GENN_ENV", ".venv-genn", "scripts/setup-genn", "brian2genn", model, exported, "genn",
               ["--batch", "2"])
    project = tmp_path / "elsewhere"
    shutil.copytree(exported, project)
    shutil.rmtree(exported)
    for path in project.rglob("*"):
        if path.is_file() and "static_arrays" not in path.parts and path.suffix in (".cc", ".h", ".cpp", ""):
            text = path.read_text(errors="replace")
            assert "genn-4.9.0" not in text and str(tmp_path) not in text and "site-packages" not in text, path
    _run(["make", "-j", "2"], cwd=project, timeout=1200)
    np.save(tmp_path / "x.npy", x)
    _run([project / "run.sh", tmp_path / "x.npy", tmp_path / "results"], cwd=tmp_path)
    got = read_standalone(tmp_path / "results")
    assert got.layout["sampling"] == "steps" and got.layout["batch"] == 2
    _, spec = load_project_spec(project)
    want = simulate(spec, x, build_root=build_root, sampling="steps")
    _compare(got, want)
