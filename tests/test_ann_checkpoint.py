"""Checkpoint import (lprnn_brian.ann.torch_pickle, .checkpoint) and the model file (lprnn_brian.ann.model).

Oracles: ``torch.load(..., weights_only=True)`` for tensor values; the documented file-format contract
(spec-free: design.md "Model file") for errors; round trips are bit for bit.
"""
from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lprnn_brian.ann import (Layer, LpRNNModel, import_reference, load_model, load_torch_state_dict,
                             read_reference_checkpoint, save_model)
from lprnn_brian.ann.checkpoint import SHD_CHECKPOINT_CLASS_NAMES
from lprnn_brian.ann.model import FORMAT_VERSION
from lprnn_brian.errors import UserInputError

from conftest import REFERENCE_CKPT as CKPT  # noqa: E402  (../shared beside the repository)
CKPT_SHA256 = "c2a85b3b31437361c7315e57c2f60dfbd7ab94d4cd9b74dc166439989eeffcd2"
needs_ckpt = pytest.mark.skipif(not CKPT.is_file(), reason="authors' SHD checkpoint not available")


@pytest.fixture(scope="module")
def shd_model():
    return read_reference_checkpoint(CKPT, "shd")


def _torch():
    return pytest.importorskip("torch")


def _save_torch(obj, path: Path) -> Path:
    _torch().save(obj, path)
    return path


def _shd_state_numpy():
    """The SHD state_dict as numpy arrays via torch (oracle side)."""
    torch = _torch()
    return {k: v.numpy() for k, v in torch.load(CKPT, weights_only=True, map_location="cpu").items()}


# --- restricted reader vs torch.load --------------------------------------------------------------------

@needs_ckpt
def test_reader_equals_torch_load_bit_for_bit():
    """Oracle: torch.load(weights_only=True): same keys in the same order, dtype, shape and bytes."""
    torch = _torch()
    theirs = torch.load(CKPT, weights_only=True, map_location="cpu")
    ours = load_torch_state_dict(CKPT)
    assert list(ours) == list(theirs)
    for k, t in theirs.items():
        assert ours[k].dtype == np.float32 and ours[k].shape == tuple(t.shape)
        assert ours[k].tobytes() == t.contiguous().numpy().tobytes(), k


def test_reader_handles_views_offsets_and_dtypes(tmp_path):
    """Oracle: torch.load(weights_only=True) on tensors that share storages with offsets and non-trivial
    strides (transposes, slices, stride-0 expansion), every storage dtype, empty and 0-d tensors; bfloat16
    is compared after widening to float32."""
    torch = _torch()
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 7, generator=g)
    sd = {
        "t": base.t(), "slice": base[2:5, 1:6:2], "row": base[3], "expand": torch.randn(3, 1, generator=g).expand(3, 4),
        "f64": torch.randn(4, generator=g, dtype=torch.float64), "f16": torch.randn(5, generator=g).half(),
        "bf16": torch.randn(5, generator=g).bfloat16(), "i64": torch.arange(-3, 5), "i32": torch.arange(4).int(),
        "i16": torch.arange(4).short(), "i8": torch.arange(-2, 2).to(torch.int8), "u8": torch.arange(4).byte(),
        "bool": torch.tensor([True, False, True]), "empty": torch.zeros(0, 3), "scalar": torch.tensor(2.5),
    }
    path = _save_torch(sd, tmp_path / "views.pth")
    theirs = torch.load(path, weights_only=True)
    ours = load_torch_state_dict(path)
    assert list(ours) == list(theirs)
    for k, t in theirs.items():
        ref = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        assert ours[k].dtype == ref.dtype and ours[k].shape == ref.shape, k
        assert ours[k].tobytes() == np.ascontiguousarray(ref).tobytes(), k


def _rewrite_zip(src: Path, dst: Path, edit) -> Path:
    """Copy the zip ``src`` to ``dst`` passing every (name, bytes) through ``edit`` (None drops it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            out = edit(info.filename, zin.read(info.filename))
            if out is not None:
                zout.writestr(info.filename, out)
    return dst


def test_reader_honours_big_endian_byteorder(tmp_path):
    """Oracle: the original little-endian file: the same tensors byte-swapped and marked 'big' read as the
    same values."""
    torch = _torch()
    sd = {"w": torch.randn(3, 4, generator=torch.Generator().manual_seed(1)), "i": torch.arange(5)}
    little = _save_torch(sd, tmp_path / "little.pth")
    itemsize = {"0": 4, "1": 8}

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        key = name.rsplit("/", 1)[-1]
        if "/data/" in name and key in itemsize:
            return np.frombuffer(data, f"<u{itemsize[key]}").astype(f">u{itemsize[key]}").tobytes()
        return data

    big = _rewrite_zip(little, tmp_path / "big.pth", swap)
    a, b = load_torch_state_dict(little), load_torch_state_dict(big)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert b[k].dtype.isnative


# --- hostile files --------------------------------------------------------------------------------------

class _Evil:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvilEval:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def _zip_with_pickle(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return path


@pytest.mark.parametrize("make", [
    lambda s: _Evil(f"touch {s}"),
    lambda s: _EvilEval(f"open({str(s)!r}, 'w').close()"),
    lambda s: {"lpff.linear.weight": _Evil(f"touch {s}")},
])
def test_malicious_pickle_is_refused_without_executing(tmp_path, make):
    """Oracle: a sentinel file that the payload would create (os.system / eval, at top level or nested in
    a state_dict) does not exist afterwards, and the error names the refused global."""
    sentinel = tmp_path / "pwned"
    path = _zip_with_pickle(tmp_path / "evil.pth", pickle.dumps(make(sentinel), protocol=2))
    refused = r"refusing to load global (posix|os|nt|builtins|__builtin__)\.(system|eval)"
    with pytest.raises(UserInputError, match=refused):
        load_torch_state_dict(path)
    with pytest.raises(UserInputError, match="not a PyTorch state_dict checkpoint of the lpRNN_loihi models"):
        read_reference_checkpoint(path, "shd")
    assert not sentinel.exists()


def test_pickle_of_non_tensor_values_is_refused(tmp_path):
    """Oracle: contract: a state_dict holds tensors; a plain value (here a list) is a UserInputError."""
    path = _zip_with_pickle(tmp_path / "odd.pth", pickle.dumps({"a": [1, 2, 3]}, protocol=2))
    with pytest.raises(UserInputError, match="not a tensor"):
        load_torch_state_dict(path)


def test_storage_beyond_bounds_is_refused(tmp_path):
    """Oracle: bounds arithmetic: a tensor whose size/stride reach past its storage (here the storage file is
    cut to half) is refused instead of reading foreign memory."""
    torch = _torch()
    src = _save_torch({"w": torch.ones(8, 8)}, tmp_path / "ok.pth")
    cut = _rewrite_zip(src, tmp_path / "cut.pth",
                       lambda name, data: data[: len(data) // 2] if "/data/" in name else data)
    with pytest.raises(UserInputError, match="bytes, expected"):
        load_torch_state_dict(cut)


# --- reference checkpoint mapping and errors ------------------------------------------------------------

@needs_ckpt
def test_reference_checkpoint_mapping(shd_model):
    """Oracle: docs/method.md#quantisation-export-and-pruning, docs/method.md#architectures-read-out-and-training and
    the authors' loader (shd_dataset.py: label = digit + 10·english): layer names/kinds/sizes, a = 0.8, Iin 6, F = 3,
    T = 125, Δt_A = 1/125 s, second-half read-out, German digits at outputs 0–9 and English at 10–19; provenance carries
    the file name and sha256 from the README."""
    m = shd_model
    assert [(l.name, l.kind, l.n_in, l.n_out) for l in m.layers] == [
        ("lpff_1", "lpff", 80, 128), ("lprnn_1", "lprnn", 128, 512), ("lprnn_2", "lprnn", 512, 512),
        ("output", "dense", 512, 20)]
    assert [l.retention for l in m.layers] == [0.8, 0.8, 0.8, None]
    assert (m.Iin, m.int_bits, m.frac_bits, m.n_frames, m.frame_dt, m.readout_window) == (
        6.0, 32, 3, 125, 1 / 125, "second_half")
    assert m.class_names == SHD_CHECKPOINT_CLASS_NAMES
    assert m.class_names[:2] == ["de_0", "de_1"] and m.class_names[10] == "en_0"
    assert m.features["n_mels"] == 80 and m.features["hop_length"] == 256
    assert m.provenance["sha256"] == CKPT_SHA256 and m.provenance["source"] == CKPT.name
    sd = _shd_state_numpy()
    assert m.layers[1].U.tobytes() == sd["rnn_layers.0.linear_hh.weight"].tobytes()
    assert m.layers[3].W.tobytes() == sd["out.linear.weight"].tobytes()


@needs_ckpt
def test_reference_features_fit_feature_config(shd_model):
    """Oracle: the feature front end's own config class accepts the imported feature dict unchanged."""
    features = pytest.importorskip("lprnn_brian.tasks.features")
    cfg = features.FeatureConfig.from_dict(shd_model.features)
    assert cfg == features.shd()


@needs_ckpt
@pytest.mark.parametrize("edit, msg", [
    (lambda sd: sd.pop("rnn_layers.1.linear_hh.weight"), "rnn_layers.1.linear_hh.weight' is missing"),
    (lambda sd: sd.pop("out.linear.weight"), "out.linear.weight' is missing"),
    (lambda sd: sd.__setitem__("rnn_layers.0.linear_hh.weight", sd["rnn_layers.0.linear_hh.weight"][:, :100]),
     r"rnn_layers.0.linear_hh.weight' has shape \(512, 100\), expected \(512, 512\)"),
    (lambda sd: sd.__setitem__("out.linear.bias", sd["out.linear.bias"][:5]), r"out.linear.bias' has shape \(5,\)"),
    (lambda sd: sd.__setitem__("extra.weight", sd["out.linear.bias"]), "unexpected keys"),
    (lambda sd: sd.__setitem__("lpff.linear.weight", sd["lpff.linear.weight"][:, :40]), "arch 'shd' expects 80"),
])
def test_bad_checkpoints_name_the_key(tmp_path, edit, msg):
    """Oracle: the contract: a missing key, a shape that does not chain or does not fit the arch, or an
    unknown key is a UserInputError naming the key and shape."""
    torch = _torch()
    sd = torch.load(CKPT, weights_only=True, map_location="cpu")
    edit(sd)
    path = _save_torch(sd, tmp_path / "bad.pth")
    with pytest.raises(UserInputError, match=msg):
        read_reference_checkpoint(path, "shd")


@needs_ckpt
def test_gsc_arch_accepts_80_input_model_with_gsc_classes(tmp_path):
    """Oracle: docs/method.md#google-speech-commands: a paper-era GSC model (80 inputs) with 12 outputs is read with the
    v2 12-command class order (unknown 0, silence 1, yes … go 2–11), T = 125 and second-half read-out; 20 outputs is
    refused."""
    torch = _torch()
    sd = torch.load(CKPT, weights_only=True, map_location="cpu")
    sd["out.linear.weight"], sd["out.linear.bias"] = sd["out.linear.weight"][:12], sd["out.linear.bias"][:12]
    m = read_reference_checkpoint(_save_torch(sd, tmp_path / "gsc.pth"), "gsc")
    assert m.class_names[:3] == ["unknown", "silence", "yes"] and m.n_frames == 125
    assert m.readout_window == "second_half" and m.task == "gsc"
    with pytest.raises(UserInputError, match="arch 'gsc'"):
        read_reference_checkpoint(CKPT, "gsc")


@needs_ckpt
def test_cpu_trained_checkpoint_with_retention_keys(tmp_path):
    """Oracle: the authors' layer code: trained on CPU, ``retention_ratio`` stays a registered parameter and
    is saved; a uniform float32 0.8 vector is read as retention 0.8, a non-uniform one is refused."""
    torch = _torch()
    sd = torch.load(CKPT, weights_only=True, map_location="cpu")
    sd["lpff.retention_ratio"] = torch.full((128,), 0.8)
    sd["rnn_layers.1.retention_ratio"] = torch.full((512,), 0.8)
    m = read_reference_checkpoint(_save_torch(sd, tmp_path / "cpu.pth"), "shd")
    assert [l.retention for l in m.layers] == [0.8, 0.8, 0.8, None]
    sd["rnn_layers.0.retention_ratio"] = torch.linspace(0.1, 0.9, 512)
    with pytest.raises(UserInputError, match="different retentions per unit"):
        read_reference_checkpoint(_save_torch(sd, tmp_path / "cpu2.pth"), "shd")


def test_not_a_checkpoint_is_user_error(tmp_path):
    """Oracle: the contract: missing file, text file, zip without data.pkl, unknown arch -> UserInputError."""
    with pytest.raises(UserInputError, match="does not exist"):
        read_reference_checkpoint(tmp_path / "nope.pth", "shd")
    text = tmp_path / "text.pth"
    text.write_text("hello")
    with pytest.raises(UserInputError, match="not a PyTorch zip checkpoint"):
        read_reference_checkpoint(text, "shd")
    plain_zip = tmp_path / "plain.pth"
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(UserInputError, match="data.pkl"):
        read_reference_checkpoint(plain_zip, "shd")
    with pytest.raises(UserInputError, match="arch"):
        read_reference_checkpoint(plain_zip, "mnist")


# --- model file -----------------------------------------------------------------------------------------

@needs_ckpt
def test_import_reference_round_trip_bit_exact(shd_model, tmp_path):
    """Oracle: bit equality of every array and field between the read checkpoint and the saved/loaded file."""
    out = import_reference(CKPT, "shd", tmp_path / "shd.npz")
    loaded = load_model(out)
    assert loaded.equals(shd_model)
    for a, b in zip(loaded.layers, shd_model.layers):
        for k in a.tensors():
            assert a.tensors()[k].tobytes() == b.tensors()[k].tobytes()
    with np.load(out, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    # scalar retentions only: written as version 1, byte-compatible with readers that predate version 2
    assert meta["format"] == "lprnn_brian.model" and meta["format_version"] == 1 < FORMAT_VERSION
    assert [l["name"] for l in meta["layers"]] == ["lpff_1", "lprnn_1", "lprnn_2", "output"]


def _tiny_model() -> LpRNNModel:
    rng = np.random.default_rng(0)
    return LpRNNModel(
        layers=[Layer("lpff_1", "lpff", rng.standard_normal((3, 2)), rng.standard_normal(3), retention=0.8),
                Layer("lprnn_1", "lprnn", rng.standard_normal((4, 3)), rng.standard_normal(4),
                      U=rng.standard_normal((4, 4)), retention=0.5),
                Layer("output", "dense", rng.standard_normal((2, 4)), rng.standard_normal(2))],
        class_names=["a", "b"], task="unit", provenance={"seed": 0})


def test_existing_output_is_not_overwritten_without_force(tmp_path):
    """Oracle: design.md: an existing user file is never replaced unless force; with force it is."""
    out = tmp_path / "m.npz"
    out.write_bytes(b"precious")
    with pytest.raises(UserInputError, match="already exists"):
        save_model(_tiny_model(), out)
    assert out.read_bytes() == b"precious"
    save_model(_tiny_model(), out, force=True)
    assert load_model(out).equals(_tiny_model())
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left behind


def _write_npz(path: Path, arrays: dict) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _arrays_of(model: LpRNNModel, tmp_path: Path) -> dict:
    p = save_model(model, tmp_path / "src.npz", force=True)
    with np.load(p, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _with_meta(arrays: dict, **changes) -> dict:
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    return {**arrays, "meta": np.array(json.dumps(meta))}


@pytest.mark.parametrize("mutate, msg", [
    (lambda a: _with_meta(a, format_version=FORMAT_VERSION + 1), "upgrade lprnn_brian"),
    (lambda a: _with_meta(a, format_version="one"), "unknown model format_version"),
    (lambda a: _with_meta(a, format="something.else"), "not an lprnn_brian model file"),
    (lambda a: {k: v for k, v in a.items() if k != "meta"}, "without 'meta'"),
    (lambda a: {k: v for k, v in a.items() if k != "lprnn_1/U"}, "'lprnn_1/U' is missing"),
    (lambda a: {**a, "lprnn_1/U": a["lprnn_1/U"][:2]}, r"'lprnn_1/U' has shape \(2, 4\), expected \(4, 4\)"),
    (lambda a: {**a, "output/b": np.array([np.nan, 1.0], np.float32)}, "NaN"),
    (lambda a: {**a, "output/b": a["output/b"].astype(np.float64)}, "float32"),
    (lambda a: _with_meta(a, readout_window="middle"), "readout_window"),
    (lambda a: _with_meta(a, class_names=["x"]), "class_names"),
    (lambda a: {**a, "meta": np.array(b"{}")}, "not a JSON string"),
])
def test_load_model_errors(tmp_path, mutate, msg):
    """Oracle: the file-format contract: each damaged or foreign file gives a UserInputError saying what."""
    path = _write_npz(tmp_path / "bad.npz", mutate(_arrays_of(_tiny_model(), tmp_path)))
    with pytest.raises(UserInputError, match=msg):
        load_model(path)


def test_load_model_rejects_non_npz(tmp_path):
    """Oracle: the contract: missing file, text, .npy and pickled files -> UserInputError; nothing unpickled."""
    with pytest.raises(UserInputError, match="does not exist"):
        load_model(tmp_path / "none.npz")
    text = tmp_path / "t.npz"
    text.write_text("not a model")
    with pytest.raises(UserInputError, match="not an lprnn_brian model file: not an .npz archive") as err:
        load_model(text)
    assert "allow_pickle" not in str(err.value)  # numpy's advice to load a foreign file unsafely is not passed on
    npy = tmp_path / "a.npz"
    np.save(open(npy, "wb"), np.zeros(3))
    with pytest.raises(UserInputError, match="single .npy"):
        load_model(npy)
    sentinel = tmp_path / "pwned"
    evil = tmp_path / "evil.npz"
    evil.write_bytes(pickle.dumps(_Evil(f"touch {sentinel}")))
    with pytest.raises(UserInputError, match="not an .npz archive") as err:
        load_model(evil)
    assert "allow_pickle" not in str(err.value)
    assert not sentinel.exists()


def test_validate_names_the_problem():
    """Oracle: the LpRNNModel contract: shape chain, kinds and values are checked with messages naming the
    layer and tensor."""
    m = _tiny_model()
    m.layers[1].W = np.zeros((4, 5), np.float32)
    with pytest.raises(UserInputError, match="lprnn_1: W has 5 inputs"):
        m.validate()
    m = _tiny_model()
    m.layers[0].U = np.zeros((3, 3), np.float32)
    with pytest.raises(UserInputError, match="lpff_1: a lpff layer has no recurrent matrix U"):
        m.validate()
    m = _tiny_model()
    m.layers[1].b[0] = np.inf
    with pytest.raises(UserInputError, match="lprnn_1: b contains NaN or inf"):
        m.validate()
    m = _tiny_model()
    m.layers[1].retention = 1.0
    with pytest.raises(UserInputError, match="retention"):
        m.validate()
    m = _tiny_model()
    m.layers = m.layers[::-1]
    with pytest.raises(UserInputError, match="dense read-out"):
        m.validate()
    m = _tiny_model()
    m.features = {"bad": float("nan")}
    with pytest.raises(UserInputError, match="finite"):
        m.validate()


def test_quantised_copy_leaves_latent_weights():
    """Oracle: quantise definition: quantised() returns the 1/8-grid copy; the original keeps its floats."""
    m = _tiny_model()
    W0 = m.layers[0].W.copy()
    q = m.quantised()
    assert np.all(q.layers[0].W * 8 == np.rint(q.layers[0].W * 8))
    assert m.layers[0].W.tobytes() == W0.tobytes()
    assert q.quantised().equals(q)


# --- property tests -------------------------------------------------------------------------------------

_finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
_json_scalar = (st.none() | st.booleans() | st.integers(-2**60, 2**60)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
_json = st.recursive(
    _json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=8)


@st.composite
def lprnn_models(draw):
    n_in = draw(st.integers(1, 5))
    sizes = []
    kinds = []
    if draw(st.booleans()):
        kinds.append("lpff")
        sizes.append(draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(0, 2))):
        kinds.append("lprnn")
        sizes.append(draw(st.integers(1, 5)))
    n_classes = draw(st.integers(1, 4))
    layers, prev = [], n_in
    for i, (kind, n) in enumerate(zip(kinds, sizes)):
        W = draw(hnp.arrays(np.float32, (n, prev), elements=_finite32))
        b = draw(hnp.arrays(np.float32, (n,), elements=_finite32))
        U = draw(hnp.arrays(np.float32, (n, n), elements=_finite32)) if kind == "lprnn" else None
        a = draw(st.floats(0.0, 1.0, exclude_max=True))
        layers.append(Layer(f"{kind}_{i + 1}", kind, W, b, U=U, retention=a))
        prev = n
    layers.append(Layer("output", "dense", draw(hnp.arrays(np.float32, (n_classes, prev), elements=_finite32)),
                        draw(hnp.arrays(np.float32, (n_classes,), elements=_finite32))))
    names = draw(st.one_of(st.just([]), st.lists(st.text(max_size=6), min_size=n_classes, max_size=n_classes)))
    return LpRNNModel(
        layers=layers, Iin=draw(st.floats(1e-3, 1e3)), int_bits=draw(st.integers(1, 40)),
        frac_bits=draw(st.integers(0, 40)), frame_dt=draw(st.floats(1e-6, 1.0)), n_frames=draw(st.integers(1, 500)),
        readout_window=draw(st.sampled_from(["second_half", "all"])), class_names=names,
        features=draw(st.dictionaries(st.text(max_size=5), _json, max_size=3)), task=draw(st.text(max_size=6)),
        provenance=draw(st.dictionaries(st.text(max_size=5), _json, max_size=3)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=lprnn_models())
def test_property_model_round_trip(model):
    """Oracle: bit equality: any valid model saved and loaded is the same model (arrays byte for byte, -0.0
    and subnormals included; metadata equal)."""
    with tempfile.TemporaryDirectory() as d:
        loaded = load_model(save_model(model, Path(d) / "m.npz"))
    assert loaded.equals(model)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2048))
def test_property_random_bytes_only_user_errors(data):
    """Oracle: the contract: arbitrary bytes as checkpoint or model file raise UserInputError, nothing else."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.pth"
        p.write_bytes(data)
        with pytest.raises(UserInputError):
            read_reference_checkpoint(p, "shd")
        with pytest.raises(UserInputError):
            load_model(p)


@needs_ckpt
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, CKPT.stat().st_size - 1 if CKPT.is_file() else 1))
def test_property_truncated_checkpoint_only_user_errors(cut):
    """Oracle: the contract: any strict prefix of the real checkpoint raises UserInputError, nothing else."""
    data = CKPT.read_bytes()[:cut]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "cut.pth"
        p.write_bytes(data)
        with pytest.raises(UserInputError):
            read_reference_checkpoint(p, "shd")


@needs_ckpt
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(0, 2047), value=st.integers(0, 255))
def test_property_corrupted_pickle_only_user_errors(pos, value):
    """Oracle: the contract: one corrupted byte in data.pkl either still reads as a valid model or raises
    UserInputError — never another exception, never code execution."""
    def corrupt(name, data):
        if name.endswith("/data.pkl") and pos < len(data):
            return data[:pos] + bytes([value]) + data[pos + 1:]
        return data

    with tempfile.TemporaryDirectory() as d:
        p = _rewrite_zip(CKPT, Path(d) / "c.pth", corrupt)
        try:
            read_reference_checkpoint(p, "shd").validate()
        except UserInputError:
            pass
