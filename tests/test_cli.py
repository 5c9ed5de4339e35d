"""The command-line contract: --json output, bad input → one line and exit code 2, nothing overwritten."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lprnn_brian.ann.model import Layer, LpRNNModel, save_model
from lprnn_brian.cli import load_inputs, main
from lprnn_brian.errors import UserInputError

from conftest import REFERENCE_CKPT as REFERENCE  # noqa: E402


def tiny_model(seed: int = 0) -> LpRNNModel:
    rng = np.random.default_rng(seed)
    q = lambda *s: (np.round(rng.normal(0, 0.4, s) * 8) / 8).astype(np.float32)  # noqa: E731
    return LpRNNModel(
        layers=[Layer("lpff_1", "lpff", q(6, 4), q(6), retention=0.8),
                Layer("lprnn_1", "lprnn", q(5, 6), q(5), U=q(5, 5), retention=0.8),
                Layer("output", "dense", q(3, 5), q(3))],
        n_frames=12, frame_dt=1 / 12, class_names=["a", "b", "c"],
    )


def numpy_loop_predictions(model: LpRNNModel, x: np.ndarray) -> np.ndarray:
    """A second implementation of the ANN, written here from docs/method.md#layers-and-time-constant (clamp, then
    filter): h_t = a h_{t-1} + (1 − a) clamp(W x_t + U h_{t-1} + b, 0, Iin); o_t = W_o h_t + b_o; logits = mean of
    o over the second half, frames ⌊T/2⌋…T−1 (docs/method.md#architectures-read-out-and-training). tiny_model's
    weights are on the 1/8 grid already, so the quantiser is the identity; float64 throughout."""
    h = np.asarray(x, np.float64)
    for L in model.layers[:-1]:
        a, state, out = float(L.retention), np.zeros((len(h), L.W.shape[0])), []
        for t in range(h.shape[1]):
            z = h[:, t] @ L.W.T + L.b + (0 if L.U is None else state @ L.U.T)
            state = a * state + (1 - a) * np.clip(z, 0, model.Iin)
            out.append(state)
        h = np.stack(out, axis=1)
    o = h @ model.layers[-1].W.T + model.layers[-1].b
    return np.argmax(o[:, h.shape[1] // 2:].mean(axis=1), axis=1)


@pytest.fixture()
def model_file(tmp_path):
    return save_model(tiny_model(), tmp_path / "m.npz")


@pytest.fixture()
def inputs(tmp_path):
    x = np.random.default_rng(1).normal(0, 1, (3, 12, 4)).astype(np.float32)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2]))
    return tmp_path / "X.npy", tmp_path / "y.npy"


def test_simulate_json_contract(model_file, inputs, capsys, tmp_path):
    """stdout is exactly one JSON object with the keys design.md fixes; the ANN predictions equal the numpy
    loop written here from docs/method.md (a second implementation), and every accuracy and class agreement equals
    the one recomputed from the printed predictions and the labels file."""
    x, y = inputs
    rc = main(["simulate", str(model_file), "--inputs", str(x), "--labels", str(y), "--json", "--target", "numpy",
               "--quiet", "--out", str(tmp_path / "run.npz")])
    assert rc == 0
    out = capsys.readouterr().out
    s = json.loads(out)
    for key in ("n_samples", "ann_accuracy", "snn_accuracy", "ann_predictions", "snn_predictions",
                "class_agreement", "layer_correlation", "spikes_per_sample", "wall_s", "target", "mode"):
        assert key in s
    assert s["n_samples"] == 3 and s["target"] == "numpy" and s["mode"] == "loihi"
    assert s["ann_predictions"] == numpy_loop_predictions(tiny_model(), np.load(x)).tolist()
    assert set(s["snn_predictions"]) == {"fb", "ip", "in", "count"}
    assert all(len(v) == 3 for v in s["layer_correlation"].values())
    labels, ann = np.load(y), np.asarray(s["ann_predictions"])
    assert s["ann_accuracy"] == float(np.mean(ann == labels))
    for k, pred in s["snn_predictions"].items():
        assert s["snn_accuracy"][k] == float(np.mean(np.asarray(pred) == labels)), k
        assert s["class_agreement"][k] == float(np.mean(np.asarray(pred) == ann)), k
    assert len(s["spikes_per_sample"]) == 3 and min(s["spikes_per_sample"]) > 0
    # the result file records how the network ran: the default on numpy, 3 copies in one run sampled at frame ends
    from lprnn_brian.simulation import load_result

    assert load_result(tmp_path / "run.npz").layout == {"batch": 3, "sampling": "frames", "propagation": "synapses",
                                                        "threads": 0}


def test_simulate_ann_predictions_match_a_second_implementation(tmp_path, capsys):
    """A model and inputs whose ANN predictions differ between clips ([2, 0, 2] from the loop written here; the
    fixture's model predicts class 2 for every input, which a constant would match): the printed ANN predictions
    equal numpy_loop_predictions, and the ANN accuracy against labels [2, 0, 0] is the recomputed 2/3."""
    model = tiny_model(38)
    save_model(model, tmp_path / "m.npz")
    x = np.random.default_rng(1).normal(0, 2, (3, 12, 4)).astype(np.float32)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", np.array([2, 0, 0]))
    want = numpy_loop_predictions(model, x)
    assert want.tolist() == [2, 0, 2]
    assert main(["simulate", str(tmp_path / "m.npz"), "--inputs", str(tmp_path / "X.npy"), "--labels",
                 str(tmp_path / "y.npy"), "--json", "--target", "numpy", "--quiet"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["ann_predictions"] == want.tolist()
    assert s["ann_accuracy"] == pytest.approx(2 / 3, abs=1e-15)


def test_simulate_fast_path_gives_the_same_predictions(model_file, inputs, capsys, tmp_path, build_root):
    """--batch/--sampling readout/--propagation rows on cpp_standalone: the same SNN predictions and read-out
    correlation as the default numpy run (oracle: the numpy target, the same spikes by construction);
    hidden-layer correlations are null (not recorded), and the human summary prints them as a dash."""
    x, y = inputs
    runs = {}
    for name, extra in (("numpy", ["--target", "numpy"]),
                        ("fast", ["--batch", "2", "--sampling", "readout", "--propagation", "rows",
                                  "--build-dir", str(build_root)])):
        assert main(["simulate", str(model_file), "--inputs", str(x), "--labels", str(y), "--json", "--quiet",
                     *extra]) == 0
        runs[name] = json.loads(capsys.readouterr().out)
    assert runs["fast"]["snn_predictions"] == runs["numpy"]["snn_predictions"]
    assert runs["fast"]["spikes_per_sample"] == runs["numpy"]["spikes_per_sample"]
    assert runs["fast"]["layer_correlation"]["fb"][:-1] == [None, None]
    assert runs["fast"]["layer_correlation"]["fb"][-1] == pytest.approx(runs["numpy"]["layer_correlation"]["fb"][-1],
                                                                       rel=1e-12)
    assert main(["simulate", str(model_file), "--inputs", str(x), "--sampling", "readout", "--target", "numpy",
                 "--quiet"]) == 0
    assert "fb corr —, rmse —" in capsys.readouterr().out


def _fails(capsys, argv) -> str:
    """One line ``lprnn-brian <command>: error: ...`` on stderr and exit code 2."""
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"lprnn-brian {argv[0]}: error: "), err
    return err


@pytest.mark.parametrize("make,needle", [
    (lambda p: np.save(p, np.zeros((2, 12), np.float32)), "3 axes"),
    (lambda p: np.save(p, np.zeros((2, 12, 4), np.int64)), "dtype"),
    (lambda p: np.save(p, np.full((2, 12, 4), np.nan, np.float32)), "NaN"),
    (lambda p: np.save(p, np.zeros((2, 12, 7), np.float32)), "features"),
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), "objects"),
    (lambda p: p.write_bytes(b"not numpy at all"), "not a readable"),
])
def test_simulate_bad_inputs(model_file, tmp_path, capsys, make, needle):
    """Each malformed input gives exit 2 and one line naming the problem."""
    p = tmp_path / "bad.npy"
    make(p)
    err = _fails(capsys, ["simulate", str(model_file), "--inputs", str(p), "--target", "numpy", "--quiet"])
    assert needle in err


def test_existing_output_is_not_overwritten(model_file, inputs, tmp_path, capsys):
    """An existing --out file survives byte for byte without --force."""
    x, _ = inputs
    out = tmp_path / "keep.npz"
    out.write_bytes(b"precious")
    err = _fails(capsys, ["simulate", str(model_file), "--inputs", str(x), "--out", str(out), "--quiet"])
    assert "--force" in err
    assert out.read_bytes() == b"precious"


def test_bad_model_and_checkpoint_files(tmp_path, capsys, inputs):
    """Not-a-model and not-a-checkpoint files are refused with exit 2."""
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 broken")
    _fails(capsys, ["simulate", str(junk), "--inputs", str(inputs[0])])
    _fails(capsys, ["import-reference", str(junk), "--arch", "shd", "--out", str(tmp_path / "m.npz")])
    assert not (tmp_path / "m.npz").exists()


def test_labels_checked(model_file, inputs, tmp_path, capsys):
    x, _ = inputs
    np.save(tmp_path / "y_bad.npy", np.array([0, 1]))
    _fails(capsys, ["simulate", str(model_file), "--inputs", str(x), "--labels", str(tmp_path / "y_bad.npy"),
                    "--target", "numpy", "--quiet"])


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference not present")
def test_import_reference_then_refuse_overwrite(tmp_path, capsys):
    """import-reference writes a loadable model; a second call without --force leaves it untouched."""
    from lprnn_brian.ann.model import load_model

    out = tmp_path / "m.npz"
    assert main(["import-reference", str(REFERENCE), "--arch", "shd", "--out", str(out)]) == 0
    capsys.readouterr()
    before = out.read_bytes()
    assert load_model(out).n_parameters() == 873_620
    _fails(capsys, ["import-reference", str(REFERENCE), "--arch", "shd", "--out", str(out)])
    assert out.read_bytes() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_load_inputs_never_crashes_on_garbage(tmp_path, data):
    """Property: arbitrary bytes either load as a valid float array or raise UserInputError — nothing else."""
    p = tmp_path / "g.npy"
    p.write_bytes(data)
    try:
        x = load_inputs(p)
    except UserInputError:
        return
    assert x.ndim == 3 and x.dtype.kind == "f"


def test_result_file_round_trip(model_file, inputs, tmp_path):
    """A saved result reads back with identical spikes, decodes and SNN spec arrays (bit-exact: npz is lossless)."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.simulation import load_result, simulate

    spec = to_snn_spec(load_model(model_file))
    res = simulate(spec, np.load(inputs[0]), target="numpy")
    back = load_result(res.save(tmp_path / "r.npz"))
    assert back.layer_names == res.layer_names and back.n_samples == 3
    for a, b in zip(res.spikes, back.spikes):
        np.testing.assert_array_equal(a, b)
    for d in res.decodes:
        for w in res.decodes[d]:
            for a, b in zip(res.decodes[d][w], back.decodes[d][w]):
                np.testing.assert_array_equal(a, b)
    for La, Lb in zip(spec.layers, back.spec.layers):
        np.testing.assert_array_equal(La.W_snn, Lb.W_snn)
        assert La.kick == Lb.kick and La.tau_I == Lb.tau_I
    assert back.spec.digest() == spec.digest()
    np.testing.assert_array_equal(back.predictions("fb"), res.predictions("fb"))


def test_train_digits_writes_a_3bit_model(tmp_path, capsys):
    """`lprnn-brian train digits` (1 epoch, tiny layers) writes a loadable model whose quantised weights lie on
    the 1/8 grid with codes in −4…3, records its provenance, and refuses to overwrite without --force."""
    pytest.importorskip("torch")
    from lprnn_brian.ann.model import load_model

    out = tmp_path / "d.npz"
    argv = ["train", "digits", "--out", str(out), "--epochs", "1", "--lpff", "8", "--rnn", "8", "--quiet"]
    assert main(argv) == 0
    m = load_model(out)
    assert m.task == "digits" and [L.n_out for L in m.layers] == [8, 8, 10]
    assert m.provenance["script"] == "lprnn-brian train digits"
    for L in m.quantised().layers:
        for t in L.tensors().values():
            codes = t * 8
            assert np.all(codes == np.round(codes)) and codes.min() >= -4 and codes.max() <= 3
    capsys.readouterr()
    before = out.read_bytes()
    _fails(capsys, argv)
    assert out.read_bytes() == before


def test_threshold_policy_is_chosen_and_recorded(model_file, inputs, capsys, tmp_path):
    """--threshold picks the comparator's policy; --json, the result file and its spec record it (default
    'unbiased': θ = half a nominal kick Iin_snn/(2τ_S) per layer, hand formula; 'zero': θ = 0); the two runs differ
    in spikes (the policy acts), and an unknown policy is an argparse error (exit 2, one line)."""
    from lprnn_brian.simulation import load_result

    x, y = inputs
    runs = {}
    for policy in ("unbiased", "zero"):
        args = ["simulate", str(model_file), "--inputs", str(x), "--json", "--target", "numpy", "--quiet",
                "--out", str(tmp_path / f"{policy}.npz")]
        if policy == "zero":
            args += ["--threshold", "zero"]
        assert main(args) == 0
        s = json.loads(capsys.readouterr().out)
        assert s["threshold"] == policy and s["snn"]["threshold_policy"] == policy
        for L in s["snn"]["layers"]:
            want = 0.0 if policy == "zero" else L["Iin_snn"] / (2 * L["tau_S"])
            assert L["threshold"] == pytest.approx(want, rel=1e-12)
        back = load_result(tmp_path / f"{policy}.npz")
        assert back.spec.threshold_policy == policy
        assert [L.threshold for L in back.spec.layers] == [L["threshold"] for L in s["snn"]["layers"]]
        runs[policy] = s["spikes_per_sample"]
    assert runs["zero"] != runs["unbiased"]
    assert "invalid choice: 'half'" in _fails(capsys, ["simulate", str(model_file), "--inputs", str(x),
                                                         "--threshold", "half"])


def test_readout_range_is_chosen_and_recorded(model_file, inputs, capsys, tmp_path):
    """--readout-range R gives the read-out neurons the clamp level R·f (docs/method.md#the-read-outs-range): the
    summary's read-out Iin_snn is R/Iin times the default run's and every hidden layer's is unchanged; the result
    file's spec says R; the model file is not touched; a non-positive R is one clear error line (exit 2)."""
    from lprnn_brian.simulation import load_result

    x, _ = inputs
    before = model_file.read_bytes()
    layers = {}
    for R in (None, 9.0):
        args = ["simulate", str(model_file), "--inputs", str(x), "--json", "--target", "numpy", "--quiet",
                "--out", str(tmp_path / f"r{R}.npz")] + ([] if R is None else ["--readout-range", str(R)])
        assert main(args) == 0
        layers[R] = json.loads(capsys.readouterr().out)["snn"]["layers"]
        assert load_result(tmp_path / f"r{R}.npz").spec.readout_range == (6.0 if R is None else R)
    assert layers[9.0][-1]["Iin_snn"] == pytest.approx(1.5 * layers[None][-1]["Iin_snn"], rel=1e-12)
    assert [L["Iin_snn"] for L in layers[9.0][:-1]] == [L["Iin_snn"] for L in layers[None][:-1]]
    assert model_file.read_bytes() == before
    err = _fails(capsys, ["simulate", str(model_file), "--inputs", str(x), "--readout-range", "-1"])
    assert "--readout-range must be a positive number" in err


# --- the parser itself ----------------------------------------------------------------------------------------
def _parsers(parser):
    """``parser`` and every sub-command's parser."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_has_help_and_shows_its_default():
    """Every argument of every command has a help line; every option that takes a value and is not required
    shows its default (written out by the formatter, or in words where it is None), never "None" or "False"."""
    from lprnn_brian.cli import build_parser

    parsers = list(_parsers(build_parser()))
    assert len(parsers) == 10  # the root and its 9 commands
    for parser in parsers:
        formatter = parser._get_formatter()
        for action in parser._actions:
            where = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help.strip(), f"{where}: no help"
            if action.option_strings and action.nargs != 0 and not action.required:
                assert "(default" in formatter._expand_help(action), f"{where}: default not shown"
        text = parser.format_help()
        assert "default: None" not in text and "default: False" not in text, parser.prog


def test_version_prints_the_package_version(capsys):
    import lprnn_brian

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == lprnn_brian.__version__


def test_argparse_errors_are_one_line_with_exit_code_2(capsys, model_file, inputs):
    """A bad option value (argparse's check) ends like a bad file (the command's check): one line, exit 2."""
    err = _fails(capsys, ["simulate", str(model_file), "--inputs", str(inputs[0]), "--batch", "0"])
    assert "argument --batch" in err and "positive integer or 'auto'" in err
    assert "invalid choice: 'rows'" in _fails(capsys, ["demo", "--sampling", "rows"])
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lprnn-brian: error: ")


def test_layout_options_default_to_the_targets_choice():
    """--batch/--sampling/--propagation left at 'auto' reach the library as None (resolved per target)."""
    from lprnn_brian.cli import _auto, build_parser

    args = build_parser().parse_args(["simulate", "m.npz", "--inputs", "x.npy"])
    assert args.batch is None and _auto(args.sampling) is None and _auto(args.propagation) is None
    args = build_parser().parse_args(["demo", "--batch", "4", "--sampling", "steps", "--propagation", "synapses"])
    assert (args.batch, _auto(args.sampling), _auto(args.propagation)) == (4, "steps", "synapses")
