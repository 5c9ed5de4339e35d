"""Every command refuses every bad input: one line ``lprnn-brian <command>: error: …`` on stderr, exit code 2, no
traceback, and nothing written or overwritten (issue 19, part 1).

Two parts: explicit cases (each fault the issue lists, one by one, with the word the message must contain), and a
property-based fuzz (hypothesis) of each command's input files and option strings. The fuzz draws *bad* inputs
only (a drawn input that is in fact valid is skipped with ``assume``), so no example reaches a build or a
simulation: a refusal that came too late, after the work, would show as a slow test and a written output.
"""
from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lprnn_brian.ann.model import Layer, LpRNNModel, save_model
from lprnn_brian.cli import main

#: The tiny model's shape: 4 features, 12 frames, 3 classes.
N_FEATURES, N_FRAMES, N_CLASSES = 4, 12, 3
#: Examples per fuzz test (LPRNN_FUZZ_EXAMPLES=500 for a longer hunt); deadline None: the first call imports Brian2.
FUZZ = settings(max_examples=int(os.environ.get("LPRNN_FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow,
                                                                        HealthCheck.filter_too_much])


def tiny_model() -> LpRNNModel:
    rng = np.random.default_rng(0)
    q = lambda *s: (np.round(rng.normal(0, 0.4, s) * 8) / 8).astype(np.float32)  # noqa: E731
    return LpRNNModel(
        layers=[Layer("lpff_1", "lpff", q(6, N_FEATURES), q(6), retention=0.8),
                Layer("lprnn_1", "lprnn", q(5, 6), q(5), U=q(5, 5), retention=0.8),
                Layer("output", "dense", q(N_CLASSES, 5), q(N_CLASSES))],
        n_frames=N_FRAMES, frame_dt=1 / N_FRAMES, class_names=["a", "b", "c"],
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A model, valid inputs and labels (3 samples), and a valid run file (the bit-exact emulator's result: no
    Brian2 build), shared by the module's tests; every test writes its outputs elsewhere."""
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.loihi.export import emulate_inputs
    from lprnn_brian.loihi.params import to_loihi

    d = tmp_path_factory.mktemp("bad_inputs")
    model = tiny_model()
    save_model(model, d / "m.npz")
    x = np.random.default_rng(1).normal(0, 1, (3, N_FRAMES, N_FEATURES)).astype(np.float32)
    np.save(d / "X.npy", x)
    np.save(d / "y.npy", np.array([0, 1, 2]))
    result, _ = emulate_inputs(to_loihi(to_snn_spec(model, mode="loihi", n_frames=N_FRAMES)), x)
    result.info["labels"] = [0, 1, 2]
    result.save(d / "run.npz")
    return d


# --- the contract ------------------------------------------------------------------------------------------
def snapshot(path: Path):
    """None (absent), a file's bytes, or a directory's {relative path: bytes}."""
    if not path.exists():
        return None
    if path.is_file():
        return path.read_bytes()
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


def refused(capsys, argv: list[str], out: Path | None = None) -> str:
    """Run the command in-process and check the contract; return the error line."""
    before = None if out is None else snapshot(out)
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    lines = [line for line in cap.err.splitlines() if line.strip()]
    assert rc == 2, (rc, cap.err[-2000:])
    assert "Traceback" not in cap.err
    assert len(lines) == 1 and lines[0].startswith("lprnn-brian"), cap.err
    assert ": error: " in lines[0]
    assert cap.out == ""
    if out is not None:
        assert snapshot(out) == before, f"{out} was written or changed by a refused command"
    return lines[0]


def existing_output(path: Path, is_dir: bool) -> Path:
    """An output that exists already (replaced only by a command that succeeds with --force)."""
    if is_dir:
        path.mkdir(exist_ok=True)
        (path / "report.md").write_text("precious")
    else:
        path.write_bytes(b"precious")
    return path


# --- explicit cases: each fault of the issue --------------------------------------------------------------
def _save(d: Path, name: str, value) -> Path:
    np.save(d / name, value)
    return d / name


INPUT_CASES = {  # name → (array, a word of the message)
    "zero_samples": (np.zeros((0, N_FRAMES, N_FEATURES), np.float32), "0 samples"),
    "zero_frames": (np.zeros((2, 0, N_FEATURES), np.float32), "0 frames"),
    "nan": (np.full((2, N_FRAMES, N_FEATURES), np.nan, np.float32), "NaN"),
    "inf": (np.full((2, N_FRAMES, N_FEATURES), -np.inf, np.float64), "NaN or infinite"),
    "beyond_float32": (np.full((2, N_FRAMES, N_FEATURES), 1e300), "float32"),
    "beyond_24_bits": (np.full((2, N_FRAMES, N_FEATURES), 1e30, np.float32), "24-bit"),
    "two_axes": (np.zeros((N_FRAMES, N_FEATURES), np.float32), "3 axes"),
    "four_axes": (np.zeros((1, 2, N_FRAMES, N_FEATURES), np.float32), "3 axes"),
    "features": (np.zeros((2, N_FRAMES, N_FEATURES + 1), np.float32), "features"),
    "int_dtype": (np.zeros((2, N_FRAMES, N_FEATURES), np.int64), "dtype"),
    "str_dtype": (np.full((2, N_FRAMES, N_FEATURES), "a"), "dtype"),
    "complex": (np.zeros((2, N_FRAMES, N_FEATURES), np.complex64), "dtype"),
}


def _bad_input_file(d: Path, case: str) -> Path:
    if case == "pickle":
        p = d / "pickle.npy"
        np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return p
    if case == "not_npy":
        p = d / "text.npy"
        p.write_text("1,2,3\n")
        return p
    if case == "npz":
        p = d / "arch.npy"
        with open(p, "wb") as fh:
            np.savez(fh, x=np.zeros((2, N_FRAMES, N_FEATURES), np.float32))
        return p
    return _save(d, f"{case}.npy", INPUT_CASES[case][0])


ALL_INPUT_CASES = [*INPUT_CASES, "pickle", "not_npy", "npz"]
NEEDLE = {**{k: v[1] for k, v in INPUT_CASES.items()}, "pickle": "objects", "not_npy": "not a readable",
          "npz": ".npz"}


@pytest.mark.parametrize("case", [c for c in ALL_INPUT_CASES if c != "beyond_24_bits"])
def test_simulate_refuses_bad_inputs(env, tmp_path, capsys, case):
    out = tmp_path / "run.npz"
    err = refused(capsys, ["simulate", env / "m.npz", "--inputs", _bad_input_file(tmp_path, case), "--out", out,
                           "--target", "numpy"], out)
    assert NEEDLE[case] in err


@pytest.mark.parametrize("case", ALL_INPUT_CASES)
def test_export_loihi_refuses_bad_inputs(env, tmp_path, capsys, case):
    """(0 samples: the emulator crashed, after creating the bundle directory.)"""
    out = tmp_path / "bundle"
    err = refused(capsys, ["export", "loihi", env / "m.npz", "--inputs", _bad_input_file(tmp_path, case),
                           "--out", out], out)
    assert NEEDLE[case] in err


@pytest.mark.parametrize("case", ["zero_samples", "nan", "features", "pickle"])
def test_export_lava_refuses_bad_inputs(env, tmp_path, capsys, case):
    out = tmp_path / "lava"
    refused(capsys, ["export", "lava", env / "m.npz", "--inputs", _bad_input_file(tmp_path, case), "--out", out], out)


LABEL_CASES = {  # name → (labels for the 3 samples, a word of the message)
    "two_axes": (np.array([[0], [1], [2]]), "shape"),
    "above_range": (np.array([0, 1, 3]), "the model has 3 classes"),
    "negative": (np.array([0, -1, 2]), "the model has 3 classes"),
    "too_few": (np.array([0, 1]), "2 labels for 3 input samples"),
    "too_many": (np.array([0, 1, 2, 0]), "4 labels for 3 input samples"),
    "fraction": (np.array([0.0, 1.5, 2.0]), "whole class indices"),
    "nan": (np.array([0.0, np.nan, 2.0]), "NaN"),
    "strings": (np.array(["a", "b", "c"]), "dtype"),
    "bool": (np.array([True, False, True]), "dtype"),
    "scalar": (np.array(1), "shape"),
}


@pytest.mark.parametrize("case", LABEL_CASES)
@pytest.mark.parametrize("command", ["simulate", "export", "analyse", "sweep"])
def test_every_command_checks_labels(env, tmp_path, capsys, case, command):
    """Labels' shape, count, dtype and range against the inputs and the model's classes, in every command
    that takes labels (analyse and sweep checked only the count, export loihi nothing)."""
    labels, needle = LABEL_CASES[case]
    y = _save(tmp_path, "y_bad.npy", labels)
    if command == "simulate":
        out = tmp_path / "run.npz"
        argv = ["simulate", env / "m.npz", "--inputs", env / "X.npy", "--labels", y, "--out", out, "--target", "numpy"]
    elif command == "export":
        out = tmp_path / "bundle"
        argv = ["export", "loihi", env / "m.npz", "--inputs", env / "X.npy", "--labels", y, "--out", out]
    elif command == "analyse":
        out = tmp_path / "analysis"
        argv = ["analyse", env / "run.npz", "--labels", y, "--out", out]
    else:
        out = tmp_path / "sweep.parquet"
        cfg = tmp_path / "sweep.toml"
        cfg.write_text(f'model = "{env / "m.npz"}"\ninputs = "{env / "X.npy"}"\nlabels = "{y}"\ntarget = "numpy"\n'
                       "[grid]\nsteps_per_frame = [7.0]\n")
        argv = ["sweep", cfg, "--out", out, "--scheduler", "serial"]
    assert needle in refused(capsys, argv, out)
    assert not (tmp_path / "sweep.parquet.parts").exists()


@pytest.mark.parametrize("factors,needle", [
    ("nan,1,1", "positive finite"), ("0,1,1", "positive finite"), ("-1,1,1", "positive finite"),
    ("inf,1,1", "positive finite"), ("1,1", "2 factors for 3 layers"), ("1,1,1,1", "4 factors"),
    ("1,x,1", "comma-separated numbers"), ("bogus", "unknown factor preset"), ("1e-9,1,1", "rounds to 0"),
    ("1e300,1,1", "Loihi"),
])
def test_simulate_and_export_refuse_bad_factors(env, tmp_path, capsys, factors, needle):
    """(0 and small factors raised ZeroDivisionError; nan and negative ones a traceback or a late error.)"""
    out = tmp_path / "run.npz"
    assert needle in refused(capsys, ["simulate", env / "m.npz", "--inputs", env / "X.npy", f"--factors={factors}",
                                      "--out", out, "--target", "numpy"], out)
    out = tmp_path / "bundle"
    assert needle in refused(capsys, ["export", "loihi", env / "m.npz", f"--factors={factors}", "--out", out], out)


def test_export_nir_refuses_factors_that_overflow_in_float_mode(env, tmp_path, capsys):
    out = tmp_path / "net.nir"
    assert "not finite" in refused(capsys, ["export", "nir", env / "m.npz", "--mode", "float",
                                            "--factors=1e308,1e308,1e308", "--out", out], out)
    assert "positive finite" in refused(capsys, ["export", "nir", env / "m.npz", "--factors=0,1,1", "--out", out], out)


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", ""])
def test_demo_refuses_a_bad_limit(tmp_path, capsys, limit):
    """--limit 0 crashed after creating the report directory; --limit -1 ran every clip but one."""
    out = tmp_path / "demo"
    assert "--limit" in refused(capsys, ["demo", f"--limit={limit}", "--out", out], out)


@pytest.mark.parametrize("argv", [
    ["train", "shd", "--data-dir", ".", "--frames=abc"], ["train", "shd", "--data-dir", ".", "--frames=0"],
    ["train", "digits", "--epochs=0"], ["train", "digits", "--epochs=x"], ["train", "digits", "--seed=-1"],
    ["train", "digits", "--batch-size=0"], ["train", "digits", "--lpff=-1"], ["train", "digits", "--rnn", "0"],
    ["train", "digits", "--weight-bits=0"], ["train", "digits", "--prune=0"], ["train", "digits", "--threads=0"],
    ["train", "shd", "--data-dir", ".", "--limit=0"], ["train", "adding", "--max-length=0"],
    ["train", "adding", "--max-stages=-1"],
])
def test_train_refuses_bad_numbers(tmp_path, capsys, argv):
    """(--frames abc was a ValueError traceback; --max-stages -1 wrote a model of 0 stages.)"""
    out = tmp_path / "t.npz"
    refused(capsys, [*argv, "--out", out], out)
    assert not (tmp_path / "t.ckpt").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--jitter=inf"], "--jitter"), (["--jitter=nan"], "--jitter"), (["--jitter=-1"], "--jitter"),
    (["--deletion=1.5"], "--deletion"), (["--seed=-1"], "--seed"),
])
def test_analyse_refuses_bad_options(env, tmp_path, capsys, argv, needle):
    out = tmp_path / "analysis"
    assert needle in refused(capsys, ["analyse", env / "run.npz", *argv, "--out", out], out)


@pytest.mark.parametrize("argv", [["--threads=-1"], ["--workers=0", "--scheduler", "local"], ["--batch=0"]])
def test_simulate_refuses_bad_numbers(env, tmp_path, capsys, argv):
    """(--workers 0 with a local Dask cluster waited, then raised TimeoutError.)"""
    out = tmp_path / "run.npz"
    refused(capsys, ["simulate", env / "m.npz", "--inputs", env / "X.npy", *argv, "--out", out], out)


def _zip_without(src: Path, dst: Path, member: str) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name != member:
                zout.writestr(name, zin.read(name))
    return dst


def _run_members(env) -> list[str]:
    """Members whose absence makes a run file unusable: the metadata, the spec, every layer's spikes, the
    read-out's decodes (a hidden layer's decodes may be absent: ``sampling='readout'``)."""
    with zipfile.ZipFile(env / "run.npz") as z:
        names = z.namelist()
    return [n for n in names if n == "meta.npy" or n.startswith(("spikes/", "spec/")) or n.endswith("/output.npy")]


def test_analyse_refuses_damaged_run_files(env, tmp_path, capsys):
    """A member missing (was KeyError), zeroed or truncated bytes (was BadZipFile), not a run file at all."""
    out = tmp_path / "analysis"
    good = (env / "run.npz").read_bytes()
    members = _run_members(env)
    assert len(members) > 10
    for member in members:
        err = refused(capsys, ["analyse", _zip_without(env / "run.npz", tmp_path / "r.npz", member), "--out", out], out)
        assert "simulation result" in err, member
    bad = tmp_path / "bad.npz"
    for data in (good[: len(good) // 2], good[:100] + bytes(len(good) - 200) + good[-100:], bytes(len(good)), b""):
        bad.write_bytes(data)
        assert "simulation result" in refused(capsys, ["analyse", bad, "--out", out], out)
    for other in (env / "X.npy", env / "m.npz"):
        assert "simulation result" in refused(capsys, ["analyse", other, "--out", out], out)
    assert "does not exist" in refused(capsys, ["analyse", tmp_path / "missing.npz", "--out", out], out)


def test_the_run_file_fixture_is_valid(env, tmp_path, capsys):
    """Positive control: the undamaged run file is analysed (so the refusals above come from the damage)."""
    assert main(["analyse", str(env / "run.npz"), "--jitter", "0", "--deletion", "0",
                 "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "report.md").exists()


def test_other_frame_count_runs_with_a_note(env, tmp_path, capsys):
    """The decision of docs/cli.md: inputs of another frame count run, with one note saying what happens."""
    from lprnn_brian.ann.forward import frame_count_note

    assert frame_count_note(12, 12, "second_half") is None
    note = frame_count_note(12, 20, "second_half")
    assert "20 frames" in note and "12" in note and "10…19" in note
    x = np.random.default_rng(2).normal(0, 1, (1, 20, N_FEATURES)).astype(np.float32)
    out = tmp_path / "bundle"
    assert main(["export", "loihi", str(env / "m.npz"), "--inputs", str(_save(tmp_path, "x20.npy", x)),
                 "--out", str(out), "--quiet", "--compare-samples", "0"]) == 0
    err = capsys.readouterr().err
    assert "lprnn-brian export: note: inputs have 20 frames, the model was trained on 12" in err
    assert (out / "report.md").exists()


def test_library_functions_raise_user_input_error(env):
    """lb.evaluate / lb.simulate / export_loihi refuse what the commands refuse, with UserInputError."""
    import lprnn_brian as lb
    from lprnn_brian.evaluate import evaluate
    from lprnn_brian.loihi.export import export_loihi
    from lprnn_brian.simulation import simulate

    model = tiny_model()
    x = np.load(env / "X.npy")
    spec = lb.to_snn_spec(model, mode="float", n_frames=N_FRAMES)
    for bad in (x[:0], np.full_like(x, np.nan), x[..., :2], x.astype(np.int32), "abc"):
        with pytest.raises(lb.UserInputError):
            evaluate(model, bad, target="numpy")
        with pytest.raises(lb.UserInputError):
            simulate(spec, bad, target="numpy")
    for labels in ([0, 1, 3], [0, 1], [[0], [1], [2]], [0.5, 1, 2]):
        with pytest.raises(lb.UserInputError, match="label|class"):
            evaluate(model, x, np.array(labels), target="numpy")
    with pytest.raises(lb.UserInputError):
        export_loihi(model, env / "never", x=x[:0])
    assert not (env / "never").exists()
    with pytest.raises(lb.UserInputError):
        lb.to_snn_spec(model, factors=[math.nan, 1, 1])


def test_unreadable_paths_are_one_line(env, tmp_path, capsys):
    """An output path that cannot be written is named, in one line (was the temporary file's name)."""
    out = Path("/proc/lprnn_brian_cannot_write.npz")
    assert str(out) in refused(capsys, ["export", "nir", env / "m.npz", "--out", out])
    assert "is a file" in refused(capsys, ["export", "loihi", env / "m.npz", "--out", env / "m.npz"])
    assert "model file" in refused(capsys, ["simulate", tmp_path, "--inputs", env / "X.npy"])


@pytest.mark.parametrize("only", ["", ",", " , ", "bogus", "noise_shaping,bogus"])
def test_figures_refuses_an_empty_or_unknown_only(tmp_path, capsys, only):
    """(--only '' made every figure.)"""
    out = tmp_path / "figs"
    err = refused(capsys, ["figures", f"--only={only}", "--out", out], out)
    assert "names no figure" in err or "unknown figure" in err


def test_a_malformed_scheduler_address_is_one_line(env, tmp_path, capsys):
    out = tmp_path / "run.npz"
    assert "not a Dask scheduler address" in refused(
        capsys, ["simulate", env / "m.npz", "--inputs", env / "X.npy", "--scheduler", "bogus", "--out", out], out)


def test_an_internal_error_keeps_its_traceback(env, monkeypatch):
    """Only user errors become one line: a bug (here a RuntimeError inside the command) still raises."""
    import lprnn_brian.evaluate

    def broken(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(lprnn_brian.evaluate, "evaluate", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["simulate", str(env / "m.npz"), "--inputs", str(env / "X.npy"), "--target", "numpy"])


# --- the fuzz ----------------------------------------------------------------------------------------------
def _valid_inputs(a: np.ndarray) -> bool:
    """What a valid X.npy is (docs/cli.md), independent of the code under test."""
    if a.dtype.kind != "f" or a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] != N_FEATURES:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.all(np.isfinite(a)) and np.all(np.isfinite(a.astype(np.float32))))


_DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64, np.uint16, np.bool_,
                           np.complex64, np.dtype("U3"), np.dtype([("a", "f4")])])
_SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, 1.0])


@st.composite
def bad_input_bytes(draw) -> bytes:
    """The bytes of a bad inputs file: an array of the wrong shape, dtype or values, or no .npy at all."""
    kind = draw(st.sampled_from(["array", "array", "array", "garbage", "truncated", "pickle", "npz"]))
    if kind == "garbage":
        return draw(st.binary(max_size=200))
    if kind == "pickle":
        return pickle.dumps(draw(st.lists(st.floats(), max_size=4)))
    ok = np.zeros((2, N_FRAMES, N_FEATURES), np.float32)
    buf = io.BytesIO()
    if kind == "npz":
        np.savez(buf, x=ok)
        return buf.getvalue()
    if kind == "truncated":
        np.save(buf, ok)
        data = buf.getvalue()
        return data[: draw(st.integers(0, len(data) - 1))]
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    if len(shape) == 3 and draw(st.booleans()):
        shape = (shape[0], shape[1], N_FEATURES)  # often the right features, so that other faults are reached
    dtype = np.dtype(draw(_DTYPES))
    a = np.zeros(shape, dtype) if dtype.kind in "UV" else np.zeros(shape, dtype)
    if a.size and dtype.kind in "fc":
        flat = a.reshape(-1)
        for i in draw(st.lists(st.integers(0, a.size - 1), max_size=3)):
            with np.errstate(over="ignore", invalid="ignore"):
                flat[i] = dtype.type(draw(_SPECIAL))
    assume(not _valid_inputs(a))
    np.save(buf, a)
    return buf.getvalue()


@FUZZ
@given(data=bad_input_bytes(), command=st.sampled_from(["simulate", "export loihi", "export lava", "sweep"]),
       force=st.booleans())
def test_fuzz_bad_inputs_files(env, tmp_path_factory, capsys, data, command, force):
    """Bad inputs files are refused by every command that reads inputs; with --force an existing output stays."""
    d = tmp_path_factory.mktemp("fuzz_inputs")
    x = d / "X.npy"
    x.write_bytes(data)
    if command == "simulate":
        out, argv = d / "run.npz", ["simulate", env / "m.npz", "--inputs", x, "--target", "numpy"]
    elif command == "sweep":
        cfg = d / "s.toml"
        cfg.write_text(f'model = "{env / "m.npz"}"\ninputs = "{x}"\ntarget = "numpy"\n[grid]\nsteps_per_frame = [7.0]\n')
        out, argv = d / "s.parquet", ["sweep", cfg, "--scheduler", "serial"]
    else:
        out, argv = d / "bundle", [*command.split(), env / "m.npz", "--inputs", x]
    if force:
        existing_output(out, is_dir=command.startswith("export"))
        argv.append("--force")
    refused(capsys, [*argv, "--out", out], out)


def _valid_labels(y: np.ndarray) -> bool:
    if y.ndim != 1 or y.shape[0] != 3 or y.dtype.kind not in "iuf":
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all((y >= 0) & (y < N_CLASSES)))


@st.composite
def bad_labels(draw) -> np.ndarray:
    shape = draw(st.sampled_from([(3,), (3,), (3,), (2,), (4,), (0,), (), (3, 1), (1, 3)]))
    dtype = np.dtype(draw(st.sampled_from([np.int64, np.int8, np.uint8, np.float32, np.float64, np.bool_,
                                           np.dtype("U2"), np.complex64])))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = st.integers(int(info.min), int(info.max))
    elif dtype.kind == "f":
        values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-5, 8))
    elif dtype.kind == "b":
        values = st.booleans()
    elif dtype.kind == "c":
        values = st.integers(0, 2)
    else:
        values = st.text(max_size=2)
    y = np.array(draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                 dtype=dtype).reshape(shape)
    assume(not _valid_labels(y))
    return y


@FUZZ
@given(y=bad_labels(), command=st.sampled_from(["simulate", "export", "analyse", "sweep"]))
def test_fuzz_bad_labels(env, tmp_path_factory, capsys, y, command):
    d = tmp_path_factory.mktemp("fuzz_labels")
    path = d / "y.npy"
    np.save(path, y)
    if command == "simulate":
        out = d / "run.npz"
        argv = ["simulate", env / "m.npz", "--inputs", env / "X.npy", "--labels", path, "--target", "numpy"]
    elif command == "export":
        out = d / "bundle"
        argv = ["export", "loihi", env / "m.npz", "--inputs", env / "X.npy", "--labels", path]
    elif command == "analyse":
        out = d / "analysis"
        argv = ["analyse", env / "run.npz", "--labels", path]
    else:
        out = d / "s.parquet"
        cfg = d / "s.toml"
        cfg.write_text(f'model = "{env / "m.npz"}"\ninputs = "{env / "X.npy"}"\nlabels = "{path}"\n'
                       'target = "numpy"\n[grid]\nsteps_per_frame = [7.0]\n')
        argv = ["sweep", cfg, "--scheduler", "serial"]
    refused(capsys, [*argv, "--out", out], out)


@st.composite
def damaged_zip(draw, good: bytes, members: list[str], start_dir: int) -> bytes:
    """A run file with a member dropped, bytes before the central directory zeroed or garbled, the file truncated,
    or other bytes altogether."""
    kind = draw(st.sampled_from(["drop", "zero", "truncate", "garbage"]))
    if kind == "drop":
        member = draw(st.sampled_from(members))
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(buf, "w") as zout:
            for name in zin.namelist():
                if name != member:
                    zout.writestr(name, zin.read(name))
        return buf.getvalue()
    if kind == "truncate":
        return good[: draw(st.integers(0, len(good) - 1))]
    if kind == "garbage":
        return draw(st.binary(max_size=300))
    first = draw(st.integers(0, start_dir - 1))
    n = draw(st.integers(1, min(64, start_dir - first)))
    return good[:first] + bytes(n) + good[first + n:] if draw(st.booleans()) else \
        good[:first] + draw(st.binary(min_size=n, max_size=n)) + good[first + n:]


def _same_arrays(damaged: bytes, good: bytes) -> bool:
    """Whether numpy reads the same arrays from both files (then the "damage" did not touch the content)."""
    try:
        with np.load(io.BytesIO(damaged), allow_pickle=False) as a, np.load(io.BytesIO(good)) as b:
            return sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in b.files)
    except Exception:  # noqa: BLE001 - unreadable: damaged indeed
        return False


@FUZZ
@given(data=st.data())
def test_fuzz_damaged_run_files(env, tmp_path_factory, capsys, data):
    good = (env / "run.npz").read_bytes()
    with zipfile.ZipFile(env / "run.npz") as z:
        start_dir = z.start_dir
    damaged = data.draw(damaged_zip(good, _run_members(env), start_dir))
    assume(not _same_arrays(damaged, good))  # a zeroed version field or timestamp leaves the file intact
    d = tmp_path_factory.mktemp("fuzz_run")
    (d / "run.npz").write_bytes(damaged)
    out = d / "analysis"
    if data.draw(st.booleans(), label="existing output"):
        existing_output(out, is_dir=True)
        refused(capsys, ["analyse", d / "run.npz", "--out", out, "--force"], out)
    else:
        refused(capsys, ["analyse", d / "run.npz", "--out", out], out)


def _int_at_least(text: str, lo: int) -> bool:
    try:
        return int(text) >= lo
    except ValueError:
        return False


#: (command line before the option, option, smallest valid value, output, output is a directory)
INT_OPTIONS = [
    (["demo"], "--limit", 1, "demo", True),
    (["train", "digits"], "--epochs", 1, "t.npz", False),
    (["train", "digits"], "--seed", 0, "t.npz", False),
    (["train", "digits"], "--batch-size", 1, "t.npz", False),
    (["train", "digits"], "--weight-bits", 1, "t.npz", False),
    (["train", "adding"], "--max-stages", 1, "t.npz", False),
    (["train", "adding"], "--max-length", 1, "t.npz", False),
    (["export", "loihi", "{model}", "--inputs", "{x}"], "--compare-samples", 0, "bundle", True),
    (["export", "lava", "{model}", "--inputs", "{x}"], "--samples", 1, "lava", True),
    (["simulate", "{model}", "--inputs", "{x}", "--target", "numpy"], "--threads", 0, "run.npz", False),
]
_NUMBERISH = st.one_of(st.integers(-10**6, 0).map(str), st.floats().map(str), st.text(max_size=8),
                       st.sampled_from(["", "1.5", "1e3", "0x10", "one", " ", "-0", "nan", "inf"]))


@FUZZ
@given(option=st.sampled_from(INT_OPTIONS), text=_NUMBERISH)
def test_fuzz_bad_numbers(env, tmp_path_factory, capsys, option, text):
    prefix, flag, lo, out_name, _ = option
    assume(not _int_at_least(text, lo))
    d = tmp_path_factory.mktemp("fuzz_numbers")
    out = d / out_name
    argv = [a.format(model=env / "m.npz", x=env / "X.npy") for a in prefix]
    refused(capsys, [*argv, f"{flag}={text}", "--out", out], out)
    assert not (d / "t.ckpt").exists()


@FUZZ
@given(train_frames=st.one_of(st.text(max_size=6), st.integers(-5, 0).map(str)))
def test_fuzz_train_frames(tmp_path_factory, capsys, train_frames):
    assume(train_frames != "p90" and not _int_at_least(train_frames, 1))
    d = tmp_path_factory.mktemp("fuzz_frames")
    refused(capsys, ["train", "shd", "--data-dir", d, f"--frames={train_frames}", "--out", d / "t.npz"], d / "t.npz")


def _valid_factors(text: str) -> bool:
    if text in ("derived", "shd_reference"):
        return True
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        return False
    return len(values) == 3 and all(math.isfinite(v) and v > 0 for v in values)


@FUZZ
@given(text=st.one_of(
    st.lists(st.one_of(st.floats(), st.sampled_from([0.0, -1.0, math.nan, math.inf])), min_size=1, max_size=5)
    .map(lambda v: ",".join(map(str, v))),
    st.text(max_size=10)), command=st.sampled_from(["simulate", "export loihi", "export nir"]))
def test_fuzz_bad_factors(env, tmp_path_factory, capsys, text, command):
    assume(not _valid_factors(text))
    d = tmp_path_factory.mktemp("fuzz_factors")
    if command == "simulate":
        out, argv = d / "run.npz", ["simulate", env / "m.npz", "--inputs", env / "X.npy", "--target", "numpy"]
    else:
        out, argv = d / ("net.nir" if command.endswith("nir") else "bundle"), [*command.split(), env / "m.npz"]
    refused(capsys, [*argv, f"--factors={text}", "--out", out], out)


@FUZZ
@given(jitter=st.lists(st.one_of(st.floats(), st.text(max_size=3)), min_size=0, max_size=4),
       which=st.sampled_from(["--jitter", "--deletion"]))
def test_fuzz_bad_analyse_lists(env, tmp_path_factory, capsys, jitter, which):
    text = ",".join(map(str, jitter))
    hi = 1.0 if which == "--deletion" else math.inf

    def ok(v):
        try:
            return 0 <= float(v) <= hi and math.isfinite(float(v))
        except ValueError:
            return not str(v).strip()  # empty items are skipped

    assume(not (any(str(v).strip() for v in jitter) and all(ok(v) for v in jitter)))
    d = tmp_path_factory.mktemp("fuzz_lists")
    refused(capsys, ["analyse", env / "run.npz", f"{which}={text}", "--out", d / "a"], d / "a")


_BAD_CONFIG_VALUES = [
    ("limit", "0"), ("limit", "-3"), ("chunk", "0"), ("batch", "0"), ("limit", '"ten"'), ("target", '"gpu"'),
    ("mode", '"fixed"'), ("threshold", '"half"'), ("metrics", "[]"), ("metrics", '["speed"]'), ("seed", '"x"'),
    ("frobnicate", "1"), ("grid", "{}"), ("grid", "{ steps_per_frame = [] }"), ("grid", "{ steps_per_frame = [0] }"),
    ("grid", "{ steps_per_frame = [inf] }"), ("grid", "{ tau_S = [0.5] }"), ("grid", "{ weight_bits = [1.5] }"),
    ("grid", "{ retention = [1.0] }"), ("grid", "{ jitter = [-1] }"), ("grid", "{ mode = [\"x\"] }"),
    ("grid", "{ steps_per_frame = [7.0, 7.0] }"), ("grid", "{ steps_per_frame = [7.0], tau_S = [2] }"),
    ("grid", "{ speed = [1] }"), ("inputs", '"digits:nope"'), ("inputs", '"missing.npy"'),
    ("model", '"missing.npz"'), ("labels", '"missing.npy"'),
]


@FUZZ
@given(bad=st.sampled_from(_BAD_CONFIG_VALUES), garbage=st.one_of(st.none(), st.binary(max_size=80)))
def test_fuzz_bad_sweep_configs(env, tmp_path_factory, capsys, bad, garbage):
    """A config with one bad value (or bytes that are not a config) is refused before any chunk runs."""
    d = tmp_path_factory.mktemp("fuzz_sweep")
    cfg = d / "s.toml"
    if garbage is not None:
        cfg.write_bytes(garbage)
    else:
        keys = {"model": f'"{env / "m.npz"}"', "inputs": f'"{env / "X.npy"}"', "target": '"numpy"',
                "grid": "{ steps_per_frame = [7.0] }"}
        keys[bad[0]] = bad[1]
        cfg.write_text("".join(f"{k} = {v}\n" for k, v in keys.items()))
    out = d / "s.parquet"
    refused(capsys, ["sweep", cfg, "--scheduler", "serial", "--out", out], out)
    assert not (d / "s.parquet.parts").exists()


@FUZZ
@given(data=st.data(), command=st.sampled_from(["simulate", "export nir", "export loihi"]))
def test_fuzz_damaged_model_files(env, tmp_path_factory, capsys, data, command):
    """A model file truncated, zeroed, garbled or missing a member is refused by the commands that read one."""
    good = (env / "m.npz").read_bytes()
    with zipfile.ZipFile(env / "m.npz") as z:
        start_dir, members = z.start_dir, z.namelist()
    damaged = data.draw(damaged_zip(good, members, start_dir))
    assume(not _same_arrays(damaged, good))
    d = tmp_path_factory.mktemp("fuzz_model")
    (d / "m.npz").write_bytes(damaged)
    if command == "simulate":
        out, argv = d / "run.npz", ["simulate", d / "m.npz", "--inputs", env / "X.npy", "--target", "numpy"]
    else:
        out, argv = d / ("net.nir" if command.endswith("nir") else "bundle"), [*command.split(), d / "m.npz"]
    refused(capsys, [*argv, "--out", out], out)


@FUZZ
@given(data=st.binary(max_size=300), arch=st.sampled_from(["shd", "gsc"]))
def test_fuzz_import_reference_refuses_garbage(tmp_path_factory, capsys, data, arch):
    d = tmp_path_factory.mktemp("fuzz_ckpt")
    (d / "c.pt").write_bytes(data)
    refused(capsys, ["import-reference", d / "c.pt", "--arch", arch, "--out", d / "m.npz"], d / "m.npz")
