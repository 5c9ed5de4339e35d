"""scripts/gpu-check, the prepared GPU check (scripts/gpu_check.py).

Default run (fast): without a GPU the check stops at once with one line and exit code 1, before writing anything;
with a GPU but no prepared folder it says how to make one (exit code 2); the pins it carries are those of the setup
scripts; and its pure parts against hand-worked cases: wheel tags, the clip choice, the batch filling, the time
prediction, the manifest check (a missing or changed file is caught), and the spike comparison (a GPU's order
within a step is no difference, a moved spike is).

Slow: ``--prepare`` into a temporary folder (downloads from PyPI, builds brian2 2.5.4's cp312 wheel, installs both
sites and imports them with a Python 3.12), and the CPU dry run of the whole harness on the SHD network (the GPU
targets replaced by cpp_standalone in another layout and GeNN's CPU backend), twice: with time to spare, and with a
budget already spent, where the timing points are skipped and said so while the identity check still runs.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from lprnn_brian.errors import UserInputError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.py"
_spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(_spec)
sys.modules["gpu_check"] = gpu_check  # dataclasses look their module up
_spec.loader.exec_module(gpu_check)


def fake_smi(directory: Path, script: str | None) -> dict:
    """An environment whose PATH holds only ``directory``, with an ``nvidia-smi`` running ``script`` (none when
    ``script`` is None)."""
    directory.mkdir(parents=True, exist_ok=True)
    if script is not None:
        smi = directory / "nvidia-smi"
        smi.write_text("#!/bin/sh\n" + script + "\n")
        smi.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("OUT",)}
    env["PATH"] = str(directory)
    return env


@pytest.mark.parametrize("smi, reason", [
    (None, "nvidia-smi is not on the PATH"),
    ("echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' >&2; exit 9",
     "nvidia-smi -L exited with 9: NVIDIA-SMI has failed"),
    ("echo 'No devices found.'; exit 0", "nvidia-smi -L lists no GPU"),
])
def test_without_a_gpu_one_line_and_exit_code_1(tmp_path, smi, reason):
    """Nothing is installed, built or written: one line on stderr naming why, before a second has passed."""
    out = tmp_path / "out"
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          env=fake_smi(tmp_path / "bin", smi), cwd=tmp_path)
    seconds = time.perf_counter() - t
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no NVIDIA GPU here (") and reason in lines[0], lines
    assert "--cpu-dry-run" in lines[0] and proc.stdout == ""
    assert not out.exists()
    assert seconds < 5, seconds


def test_wrapper_script_runs_the_check(tmp_path):
    """``scripts/gpu-check`` (bash) runs gpu_check.py with $PYTHON: the same no-GPU line and exit code."""
    env = fake_smi(tmp_path / "bin", "exit 9")
    env["PYTHON"] = sys.executable
    proc = subprocess.run(["/bin/bash", str(REPO / "scripts" / "gpu-check"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and proc.stderr.startswith("gpu-check: no NVIDIA GPU here (nvidia-smi -L exited with 9")


def test_with_a_gpu_but_no_prepared_folder_it_says_what_to_do(tmp_path):
    """The prepared folder is checked before anything slow: exit code 2, one line naming --prepare and the carry."""
    env = fake_smi(tmp_path / "bin", "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--prepared", str(tmp_path / "none")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "no prepared folder" in lines[0] and "--prepare" in lines[0] and "carry" in lines[0]
    assert not out.exists()


def test_setup_script_arrays_are_read_as_written(tmp_path):
    """A REQUIREMENTS array with quotes, comments and blank lines, written by hand, and its expected reading."""
    script = tmp_path / "setup-x"
    script.write_text('#!/usr/bin/env bash\nX=1\nREQUIREMENTS=(\n  "brian2==2.10.1"\n\n'
                      '  "nvidia-curand>=10.4,<10.5"   # a comment, with "quotes"\n  \'numpy>=2.0,<2.4\'\n'
                      '  cython\n)\nOTHER=(\n  "not-this"\n)\n')
    assert gpu_check.setup_requirements(script) == ["brian2==2.10.1", "nvidia-curand>=10.4,<10.5",
                                                    "numpy>=2.0,<2.4", "cython"]
    assert [gpu_check.requirement_name(r) for r in ("Brian2GeNN==1.7.0", "numpy>=2.0,<2.4", "setuptools<81",
                                                    "nvidia_curand")] == ["brian2genn", "numpy", "setuptools",
                                                                          "nvidia-curand"]


def test_sites_carry_the_setup_scripts_pins_but_curand_and_cython():
    """What the two sites carry is what scripts/setup-cuda and scripts/setup-genn install, less the two packages
    that the GPU machine has and that would not fit (nvidia-curand) or are not used (cython)."""
    sites = gpu_check.site_requirements()
    for site, script in (("cuda", "setup-cuda"), ("genn", "setup-genn")):
        pins = gpu_check.setup_requirements(REPO / "scripts" / script)
        assert sites[site] == [r for r in pins if gpu_check.requirement_name(r) not in ("nvidia-curand", "cython")]
    assert {gpu_check.requirement_name(r) for r in sites["cuda"]} == {"brian2", "brian2cuda", "numpy"}
    assert {gpu_check.requirement_name(r) for r in sites["genn"]} == {"brian2", "brian2genn", "numpy", "setuptools"}


@pytest.mark.parametrize("name, fits", [
    ("numpy-2.3.5-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", True),
    ("Brian2GeNN-1.7.0-py3-none-any.whl", True),
    ("Brian2-2.5.4-cp312-cp312-linux_x86_64.whl", True),  # built here from the sdist
    ("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", False),
    ("numpy-1.26.4-cp312-cp312-macosx_11_0_arm64.whl", False),
    ("numpy-1.26.4-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", False),
])
def test_wheel_tags(name, fits):
    assert gpu_check.wheel_fits_cp312(name) is fits


def test_identity_clips_are_the_hidden_layers_busiest():
    """Hidden layers: all but the first and the last. Sums 11, 6, 14, 14: clips 2 and 3 (the tie to the lower)."""
    counts = {0: [5, 10, 1, 2], 1: [100, 3, 3, 100], 2: [0, 7, 7, 0], 3: [1, 14, 0, 9]}
    assert gpu_check.pick_identity_clips(counts, 2) == [2, 3]
    assert gpu_check.pick_identity_clips(counts, 3) == [2, 3, 0]


def test_batch_clips():
    assert gpu_check.batch_clips([3, 1], 5, 6) == [3, 1, 0, 2, 4, 0]
    assert gpu_check.batch_clips([], 3, 4) == [0, 1, 2, 0]
    assert gpu_check.batch_clips([0, 1, 2], 3, 2) == [0, 1]


def test_run_time_prediction_scales_the_largest_point():
    assert gpu_check.predict_run_s([(32, 1.0), (256, 2.0)], 1024) == 8.0
    assert gpu_check.predict_run_s([(32, 1.0), (256, 2.0)], 128) == 2.0  # never below a measured larger batch
    assert gpu_check.predict_run_s([], 1024) is None


def test_manifest_catches_missing_and_changed_files(tmp_path):
    folder = tmp_path / "prep"
    (folder / "wheels-x").mkdir(parents=True)
    (folder / "wheels-x" / "a.whl").write_bytes(b"wheel bytes")
    (folder / "b.tar.gz").write_bytes(b"tarball")
    files = gpu_check.folder_files(folder)
    assert files["b.tar.gz"] == {"bytes": 7, "sha256": hashlib.sha256(b"tarball").hexdigest()}
    assert sorted(files) == ["b.tar.gz", "wheels-x/a.whl"]
    gpu_check.write_json_atomic(folder / gpu_check.MANIFEST, {"format": gpu_check.MANIFEST_FORMAT, "files": files})
    assert gpu_check.load_manifest(folder)["files"] == files
    (folder / "b.tar.gz").write_bytes(b"tarbalL")  # same size, other bytes
    with pytest.raises(UserInputError, match=r"incomplete \(b.tar.gz changed\).*--prepare"):
        gpu_check.load_manifest(folder)
    (folder / "wheels-x" / "a.whl").unlink()
    with pytest.raises(UserInputError, match="wheels-x/a.whl missing"):
        gpu_check.load_manifest(folder)
    with pytest.raises(UserInputError, match="no prepared folder"):
        gpu_check.load_manifest(tmp_path / "elsewhere")


def test_spike_comparison(tmp_path):
    """The reference's spikes of clip 7 (two layers); a run with the same spikes, each step's listed in another
    order (as a GPU's threads finish), is identical; one spike moved by a step is two differing (neuron, step)."""
    ref_i = [np.array([3, 1, 2, 1]), np.array([0])]
    ref_step = [np.array([0, 1, 1, 4]), np.array([2])]
    np.savez(tmp_path / "ref.npz", **{f"i_7_{k}": ref_i[k] for k in range(2)},
             **{f"step_7_{k}": ref_step[k] for k in range(2)})
    gpu = SimpleNamespace(spike_i=[np.array([3, 2, 1, 1]), np.array([0])],
                          spike_step=[np.array([0, 1, 1, 4]), np.array([2])])
    other = SimpleNamespace(spike_i=[np.array([0]), np.array([0])], spike_step=[np.array([9]), np.array([9])])
    same = gpu_check.compare_identity([7], [5, 7], [other, gpu], tmp_path / "ref.npz")
    assert same == {"identical": True, "clips": 1, "spikes": 5, "differing": 0, "layers_differing": []}
    moved = SimpleNamespace(spike_i=gpu.spike_i, spike_step=[np.array([0, 1, 1, 4]), np.array([3])])
    diff = gpu_check.compare_identity([7], [7], [moved], tmp_path / "ref.npz")
    assert diff == {"identical": False, "clips": 1, "spikes": 5, "differing": 2, "layers_differing": [[7, 1]]}


def test_genn_cuda13_patch_is_applied_once_and_refuses_other_sources(tmp_path):
    """The original cuCtxCreate call becomes the CUDA-version switch, once; a file without it is refused."""
    patches = gpu_check.genn_patches()
    rel, old, new = patches.PATCHES[0]
    src = tmp_path / "genn" / rel
    src.parent.mkdir(parents=True)
    src.write_text("void f() {\n" + old + "}\n")
    assert patches.apply(tmp_path / "genn") == [rel]
    text = src.read_text()
    assert text == "void f() {\n" + new + "}\n"
    assert "cuCtxCreate(&cuContext, nullptr, 0, cuDevice)" in text and "#if CUDA_VERSION >= 13000" in text
    assert patches.apply(tmp_path / "genn") == [] and src.read_text() == text
    src.write_text("void f() {}\n")
    with pytest.raises(RuntimeError, match="not there once"):
        patches.apply(tmp_path / "genn")


# --- slow: the prepared folder and the dry run ------------------------------------------------------------------
SHARED = REPO.parent / "shared"


@pytest.mark.slow  # downloads about 40 MB from PyPI and builds brian2 2.5.4's wheel (about 2 minutes)
def test_prepare_fills_a_folder_that_installs_and_fits(tmp_path):
    """--prepare into a temporary folder: the wheels of each site at the setup scripts' pins, all installable on
    CPython 3.12 for x86-64 Linux; byte-identical copies of the checkpoint and the GeNN tarball; a manifest whose
    check passes; both sites installed and imported with a Python 3.12 here; folder and working tree under the
    64 MiB that travel, with room to spare."""
    if not (SHARED / "vendor" / "genn-4.9.0.tar.gz").is_file():
        pytest.skip("../shared/vendor (the GeNN tarball) is not available")
    folder = tmp_path / "prep"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--prepare", "--prepared", str(folder)], capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "PYTHONUNBUFFERED=1 scripts/gpu-check --out $OUT" in proc.stdout and "carry:" in proc.stdout
    m = gpu_check.load_manifest(folder)
    wheels = {site: [Path(w["wheel"]).name for w in entry["wheels"]] for site, entry in m["sites"].items()}
    for site, names in wheels.items():
        assert all(gpu_check.wheel_fits_cp312(n) for n in names), names
        assert sorted(gpu_check.wheel_name(n) for n in names) == sorted(
            gpu_check.requirement_name(r) for r in gpu_check.site_requirements()[site])
    assert any(n.startswith("brian2-2.10.1-cp312") for n in wheels["cuda"])
    assert any(n.lower().startswith("brian2-2.5.4-cp312") for n in wheels["genn"])
    assert any(n.startswith("numpy-2.") for n in wheels["cuda"])
    assert any(n.startswith("numpy-1.26") for n in wheels["genn"])
    for rel, original in ((m["reference"], SHARED / "reference" / Path(m["reference"]).name),
                          (m["genn_tarball"], SHARED / "vendor" / "genn-4.9.0.tar.gz")):
        assert (folder / rel).read_bytes() == original.read_bytes()
    assert "brian2 2.10.1, brian2cuda 1.0b1, numpy 2.3" in m["checked_with"]["imports"]["cuda"]
    assert "brian2 2.5.4, brian2genn 1.7.0, numpy 1.26" in m["checked_with"]["imports"]["genn"]
    total = m["bytes"]["folder"] + m["bytes"]["working_tree"]
    assert total <= (gpu_check.TRAVEL_LIMIT_MIB - gpu_check.HEADROOM_MIB) * 2 ** 20
    print(f"\nprepared folder {m['bytes']['folder'] / 2**20:.1f} MiB, working tree "
          f"{m['bytes']['working_tree'] / 2**20:.1f} MiB")


def _dry_run(tmp_path: Path, work: Path, *extra) -> tuple[dict, subprocess.CompletedProcess]:
    out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cpu-dry-run", "--out", str(out), "--work", str(work),
                           "--max-clips", "3", "--clips", "2", *extra], capture_output=True, text=True, timeout=1800)
    reports = sorted(out.glob("gpu_check-*.json"))
    assert len(reports) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(list(out.glob("gpu_check-*.log"))) == 1
    return json.loads(reports[0].read_text()), proc


@pytest.mark.slow  # five builds of the SHD network on the CPU (about 5 minutes on 2 cores)
def test_cpu_dry_run_checks_identity_times_and_skips_what_the_budget_cannot_hold(tmp_path, monkeypatch):
    """The harness end to end without a GPU. (1) Time to spare: the stand-in of cuda_standalone (cpp_standalone,
    read-out sampling, Brian2 synapses) and GeNN's CPU backend give spikes identical to the reference on the chosen
    clips (the two of three whose hidden layers spike most on the fast path), the read-out sums equal the fast
    path's, every lane has samples/s, exit code 0. (2) The same work directory (builds re-used) with the budget
    already spent and a second batch size: the identity check still runs (cold runs only), the batch-4 lanes are
    skipped with the budget named, exit code 0. (3) A failing lane and an extra batch (below)."""
    if not (SHARED / "reference").is_dir():
        pytest.skip("the authors' SHD checkpoint (../shared/reference) is not available")
    work = tmp_path / "work"
    d, proc = _dry_run(tmp_path, work)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert d["mode"] == "cpu-dry-run" and d["exit_code"] == 0 and not d["errors"]
    assert d["network"]["clips"] == 3 and d["network"]["n_steps"] == 1785 and len(d["identity_clips"]) == 2
    fast = d["lanes"]["cpu-fast"]["result"]
    hidden = {int(c): sum(v["spikes"][1:-1]) for c, v in fast["per_clip"].items()}
    assert sorted(hidden, key=lambda c: (-hidden[c], c))[:2] == d["identity_clips"]
    targets = d["targets"]
    assert "cuda_standalone" in targets
    for target in targets:
        ident = d["identity"][target]
        assert ident["identical"] and ident["clips"] == 2 and ident["spikes"] > 1000 and ident["differing"] == 0
    assert d["decodes"]["cuda_standalone"]["identical_readout_sums"] and d["decodes"]["cuda_standalone"]["clips"] == 2
    for name, lane in d["lanes"].items():
        assert lane["result"]["samples_per_s"] > 0, name
    assert "IDENTICAL" in proc.stdout and "samples/s" in proc.stdout
    print(proc.stdout[-2500:])

    d2, proc2 = _dry_run(tmp_path, work, "--budget", "1", "--grace", "1800", "--batches", "2,4")
    assert proc2.returncode == 0, proc2.stdout[-4000:] + proc2.stderr[-2000:]
    skipped = {s["what"]: s["why"] for s in d2["skipped"]}
    for target in targets:
        ident = d2["identity"][target]
        assert ident["identical"] and ident["clips"] == 2
    for lane in ["cuda-b4"] + (["genn-b4"] if "genn" in targets else []):
        assert "budget" in skipped[lane], skipped
    for name in ("cpu-fast", "cuda-b2"):
        assert d2["lanes"][name]["result"]["cold_only"] and d2["lanes"][name]["result"]["runs"] == 1
    assert "skipped: cuda-b4" in proc2.stdout

    # (3) a lane that fails (this environment, without brian2genn, as the GeNN one), and a batch tried after the
    # main points: the failure is recorded with its message, the other lanes run, the extra batch is built and
    # compared, exit code 3
    if importlib.util.find_spec("brian2genn") is not None:
        return  # (3) needs an environment without brian2genn
    monkeypatch.setenv("LPRNN_BRIAN_GENN_ENV", sys.prefix)
    d3, proc3 = _dry_run(tmp_path, work, "--extra-batches", "4")
    assert proc3.returncode == 3 and d3["exit_code"] == 3
    (error,) = d3["errors"]
    assert error["where"] == "build genn-b2" and "needs brian2genn" in error["error"]
    assert not d3["identity"]["genn"]["identical"] and "NOT CHECKED" in proc3.stdout
    cuda = d3["identity"]["cuda_standalone"]
    assert cuda["identical"] and sorted(cuda["lanes"]) == ["cuda-b2", "cuda-b4"] and cuda["clips"] == 4
    assert d3["lanes"]["cuda-b4"]["result"]["samples_per_s"] > 0
    assert "no smaller batch of genn" in {s["what"]: s["why"] for s in d3["skipped"]}["genn-b4"]


@pytest.mark.slow  # compiles GeNN's libGeNN and CUDA backend (about 2 minutes on 2 cores); no GPU needed
def test_genn_cuda_backend_compiles_with_this_cuda_toolkit(tmp_path):
    """GeNN 4.9.0 from the tarball, patched by scripts/genn_patches.py, builds libGeNN and its CUDA backend with
    this machine's CUDA toolkit (13 here: unpatched, optimiser.cc does not compile), as gpu-check does on the GPU
    machine before any model is built."""
    from lprnn_brian.targets.cuda import cuda_home, nvcc_release

    tarball = SHARED / "vendor" / "genn-4.9.0.tar.gz"
    if not tarball.is_file():
        pytest.skip("../shared/vendor (the GeNN tarball) is not available")
    try:
        cuda = cuda_home()
    except UserInputError:
        pytest.skip("no CUDA toolkit on this machine")
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tmp_path)], check=True)
    genn = tmp_path / "genn-4.9.0"
    assert gpu_check.genn_patches().apply(genn) == ["src/genn/backends/cuda/optimiser.cc"]
    env = dict(os.environ, CUDA_PATH=str(cuda))
    env.pop("CXX", None)
    proc = subprocess.run(["make", "-C", str(genn), "-j", str(os.cpu_count() or 2), "libgenn", "cuda"],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert (genn / "lib" / "libgenn_cuda_backend.a").is_file() and (genn / "lib" / "libgenn.a").is_file()
    print(f"\nGeNN's CUDA backend built with CUDA {nvcc_release(cuda)} at {cuda}")
