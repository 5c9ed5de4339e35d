"""Task scores of adding/copying models in the rate network and the ΣΔ network (lprnn_brian.evaluate_sequences).

Oracles: MSE and accuracies computed here directly from the generators' targets and from predictions
obtained independently (numpy forward; simulate() and its per-frame decodes, read by hand); the tracking
bound (docs/method.md) for the agreement of the SNN read-out with the ANN's read-out.
"""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.ann import Layer, LpRNNModel, forward
from lprnn_brian.convert import to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.evaluate_sequences import adding_inputs, copying_inputs, evaluate_adding, evaluate_copying, evaluate_snn
from lprnn_brian.simulation import simulate
from lprnn_brian.tasks import adding, copying
from lprnn_brian.tasks.seeds import rng_for

A = np.array([0.5, 0.7, 0.8, 0.9], np.float32)


def _adding_model() -> LpRNNModel:
    """lpRNN 2 → 4 (per-unit retention, nonnegative drive: z ∈ [0, Iin], both clamp conventions agree) →
    Dense(1) with positive weights."""
    W = np.array([[1, 2], [2, 1], [1, 1], [2, 2]], np.float32) / 8
    U = np.full((4, 4), 1 / 8, np.float32)
    np.fill_diagonal(U, 0)
    return LpRNNModel([Layer("lprnn_1", "lprnn", W, np.full(4, 0.25, np.float32), U=U, retention=A),
                       Layer("output", "dense", np.full((1, 4), 0.5, np.float32), np.array([0.125], np.float32))],
                      n_frames=8, task="adding", features={"max_entries": 2, "min_entries": 2},
                      provenance={"seed": 3, "train_config": {"n_test": 6, "clamp": "clamp_then_filter"}})


def test_adding_ann_score_is_the_mse_of_the_forward():
    """Defaults: L = n_frames, n = the training's n_test, seed = its seed: the trainer's test sequences."""
    m = _adding_model()
    ev = evaluate_adding(m)
    d = adding.adding_data(6, 8, rng=rng_for(3, "adding", "test", 8))
    pred = forward(m, d.x).output[:, -1, 0].astype(np.float64)
    assert (ev.length, ev.n) == (8, 6)
    np.testing.assert_array_equal(ev.targets, d.y.astype(np.float64))
    assert ev.mse == pytest.approx(np.mean((pred - d.y) ** 2), rel=1e-12)
    assert ev.chance_mse == pytest.approx(2 / 12) and ev.solved == (ev.mse < 0.01)
    assert ev.to_dict()["backend"] == "ann" and "predictions" not in ev.to_dict()


@pytest.mark.parametrize("kwargs, msg", [({"backend": "gpu"}, "backend"), ({"n": 0}, "n must be")])
def test_adding_bad_options(kwargs, msg):
    with pytest.raises(UserInputError, match=msg):
        evaluate_adding(_adding_model(), **kwargs)


def _by_hand(res, model, decode: str) -> np.ndarray:
    """The read-out's per-frame decode from simulate(): fb as recorded; in plus the read-out bias (W_o ĥ + b)."""
    out = res.frame_decodes[decode][-1].astype(np.float64)
    return out + model.quantised().layers[-1].b if decode == "in" else out


@pytest.mark.parametrize("decode", ["in", "fb"])
def test_adding_snn_prediction_is_the_readout_decode_at_the_last_frame(decode):
    """backend='snn': the prediction is the read-out's decode at the end of the last frame (simulate's
    frame_decodes, read here by hand), in ANN units ('in' by default); it agrees with the ANN's o_T (clamped to
    [0, Iin] for fb) within 3·Iin/τ_S (tracking ripple of the hidden layer's reconstruction through the
    read-out; the fb decode adds its own)."""
    m = _adding_model()
    kw = {} if decode == "in" else {"decode": decode}
    ev = evaluate_adding(m, n=3, backend="snn", target="numpy", mode="float", **kw)
    d = adding_inputs(m, 8, 3)
    spec = to_snn_spec(m, mode="float", n_frames=8)
    res = simulate(spec, d.x, target="numpy")
    np.testing.assert_array_equal(ev.predictions, _by_hand(res, m, decode)[:, -1, 0])
    ann = forward(m, d.x, clamp="filter_then_clamp").output[:, -1, 0]
    ann = np.clip(ann, 0, m.Iin) if decode == "fb" else ann
    assert np.max(np.abs(ev.predictions - ann)) <= 3 * m.Iin / spec.layers[0].tau_S
    assert ev.detail["decode"] == decode and ev.detail["n_steps"] == spec.n_steps


def test_evaluate_snn_scores_every_decode_from_one_run():
    """evaluate_snn: one simulation, one evaluation per decode, each identical to evaluate_adding with that
    decode alone (same sequences, same spikes)."""
    m = _adding_model()
    both = evaluate_snn(m, "adding", 8, ("in", "fb", "in"), n=3, target="numpy", mode="loihi")
    assert list(both) == ["in", "fb"]
    for decode, ev in both.items():
        alone = evaluate_adding(m, 8, n=3, backend="snn", target="numpy", mode="loihi", decode=decode)
        np.testing.assert_array_equal(ev.predictions, alone.predictions)
        assert ev.mse == alone.mse and ev.detail["decode"] == decode
    with pytest.raises(UserInputError, match="decode must be one of"):
        evaluate_snn(m, "adding", 8, ("fb", "rate"), n=1, target="numpy")
    with pytest.raises(UserInputError, match="task must be"):
        evaluate_snn(m, "parity", 8, n=1, target="numpy")


def _copying_model() -> LpRNNModel:
    """2 symbols (4 classes), S = 2: lpRNN 4 → 5 → Dense(4); random 1/8-grid weights."""
    rng = np.random.default_rng(11)

    def codes(shape):
        return (rng.integers(-4, 5, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lprnn_1", "lprnn", codes((5, 4)), np.full(5, 0.5, np.float32), U=codes((5, 5)),
                             retention=np.array([0.5, 0.6, 0.7, 0.8, 0.9], np.float32)),
                       Layer("output", "dense", codes((4, 5)), codes(4))],
                      n_frames=6, task="copying", features={"n_symbols": 2, "n_recall": 2},
                      provenance={"seed": 1, "train_config": {"n_test": 5}})


def test_copying_scores_both_windows():
    """Default delay n_frames − 2S = 2; recall-window and all-step accuracy of the ANN argmax, and of the
    clamped read-out."""
    m = _copying_model()
    ev = evaluate_copying(m)
    d = copying_inputs(m, 2, 5)
    o = forward(m, d.x).output
    pred = o.argmax(-1)
    assert (ev.delay, ev.n_recall, ev.n) == (2, 2, 5)
    assert ev.recall_accuracy == copying.recall_accuracy(pred, d)
    assert ev.all_step_accuracy == copying.all_step_accuracy(pred, d)
    assert ev.detail["recall_accuracy_clamped_readout"] == copying.recall_accuracy(np.clip(o, 0, 6).argmax(-1), d)
    with pytest.raises(UserInputError, match="2 inputs and 1 output"):
        evaluate_adding(m)


@pytest.mark.parametrize("decode", ["in", "fb"])
def test_copying_snn_predictions_are_the_argmax_of_the_frame_decodes(decode):
    m = _copying_model()
    ev = evaluate_copying(m, n=2, backend="snn", target="numpy", decode=decode)
    d = copying_inputs(m, 2, 2)
    res = simulate(to_snn_spec(m, mode="float", n_frames=6), d.x, target="numpy")
    np.testing.assert_array_equal(ev.predictions, _by_hand(res, m, decode).argmax(-1))
    assert ev.recall_accuracy == copying.recall_accuracy(ev.predictions, d)


def _bundled_adding():
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.bundled import bundled_sequence_model

    return load_model(bundled_sequence_model("adding"))


def test_bundled_adding_model_scores_what_its_training_recorded():
    """The bundled adding model (``lprnn-brian train adding --preset snn``, run to its L_max = 200) has the 'snn'
    recipe's arithmetic (Iin = 3, one retention 0.8, the 'unbiased' mean reconstruction at τ_S = 64) and scores, on
    its training's own test sequences at its longest solved length, the MSE its curriculum recorded then (the
    trainer's record vs the numpy forward now; identical code path, so equal to float rounding): under the 2019 mark."""
    m = _bundled_adding()
    cur = m.provenance["curriculum"]
    assert cur["finished"] and m.n_frames == cur["longest_solved"] == 200
    assert m.provenance["train_config"]["Iin"] == m.Iin == 3.0
    assert m.reconstruction == {"policy": "unbiased", "tau_S": 64.0}
    np.testing.assert_allclose(m.layers[0].retention_vector(), 0.8, rtol=1e-6)
    ft = cur.get("finetune")
    if ft is not None and ft["kept"] == "fine-tuned":
        want = ft["test"] if "test" in ft else ft["test_after"]  # "test_after": trainers that selected on test
    else:
        want = [h for h in cur["history"] if h["length"] == m.n_frames and h["solved"]][-1]["test_mse"]
    ev = evaluate_adding(m)
    assert ev.n == m.provenance["train_config"]["n_test"] and ev.length == m.n_frames
    assert ev.mse == pytest.approx(want, rel=1e-6) and ev.mse < 0.01


def test_no_bundled_copying_model_is_a_clear_error():
    from lprnn_brian.bundled import bundled_sequence_model

    assert bundled_sequence_model("copying", required=False) is None
    with pytest.raises(UserInputError, match="train copying --preset snn"):
        bundled_sequence_model("copying")
    with pytest.raises(UserInputError, match="no bundled model for task"):
        bundled_sequence_model("parity")


@pytest.mark.slow
def test_bundled_adding_network_passes_in_loihi_mode_where_its_ann_is_good(build_root):
    """The issue's criterion on the bundled model (200 seeded test sequences, cpp_standalone) at L = 50, where its
    ANN is good (MSE ≤ 0.005; measured 0.0050), and at its longest length L = 200 (ANN 0.0065, not "good"): where
    the ANN is good its ΣΔ network in Loihi-integer mode at the default step passes the 2019 mark (MSE < 0.01) with
    threshold 'unbiased' and the sequence decode 'in' (measured 0.0081); at L = 200 the float-mode network passes
    (0.0097) and the Loihi one stays within 0.006 of its ANN (0.0116); with the authors' threshold 0 both fail the
    mark (0.022 at L = 50: every stored value drifts by the reconstruction's half-kick bias)."""
    from lprnn_brian.evaluate_sequences import benchmark_row

    m = _bundled_adding()
    row = benchmark_row("adding", n=200, lengths=(50, m.n_frames), build_root=build_root)
    short, full = row["curve"]
    assert (short["length"], full["length"]) == (50, m.n_frames) and short["decode"] == full["decode"] == "in"
    assert short["ann_good"] and not full["ann_good"]
    assert short["snn"]["loihi"]["unbiased"] < 0.01 and short["snn"]["float"]["unbiased"] < 0.01
    assert full["snn"]["float"]["unbiased"] < 0.01 and full["snn"]["loihi"]["unbiased"] < full["ann"] + 0.006
    assert short["snn"]["loihi"]["zero"] > 0.01 and full["snn"]["loihi"]["zero"] > 0.01
    assert row["criterion"]["met"] and row["criterion"]["ann_good_at"] == [50]
