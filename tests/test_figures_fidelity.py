"""The three figures that compare the bundled/trained digits models' ANN with their ΣΔ networks, on quick settings:
each writes a non-empty PNG and PDF, and the numbers it plots are checked against an independent computation.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from lprnn_brian.figures import fig_accuracy_vs_bits, fig_accuracy_vs_steps, fig_ann_vs_snn


def _check_files(paths, name):
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf"]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].read_bytes()[:5] == b"%PDF-"


def test_ann_vs_snn_traces_are_the_raw_feedback_state_and_track_the_ann(tmp_path):
    """The plotted SNN markers are the fb decode −i_fb/(κ f) of the recorded raw state at the frame-end steps
    ⌊(t+1)M⌋ (recomputed here from a second numpy run kept raw: Brian2's numpy target is deterministic, so equal
    up to the float32 the result stores, half an ulp); the plotted ANN lines are the torch twin's states
    (clamp(o, 0, R) for the read-out, R its range, docs/method.md#the-read-outs-range; 1e-5, the twin's agreement with the numpy forward; without torch the numpy
    forward, 1e-6); and the annotated r is the Pearson correlation of exactly those arrays (np.corrcoef, 1e-9).
    docs/method.md#why-the-spikes-reproduce-the-rate-network: the fb decode reconstructs h_t within a few kicks, so
    every layer's r on this clip exceeds 0.95 (measured 0.99–0.999) and lpff_1's RMSE is below two kicks 2·Iin/τ_S =
    0.19 (measured 0.03)."""
    from lprnn_brian.ann.forward import forward
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.convert import frame_end_steps
    from lprnn_brian.simulation import simulate
    from lprnn_brian.tasks.digits import load_digits

    d = {}
    paths = fig_ann_vs_snn.make(tmp_path, quick=True, seed=0, record=d)
    _check_files(paths, fig_ann_vs_snn.NAME)
    assert len(d["clips"]) == 1 and len(d["names"]) == 4
    model = load_model(bundled_model_path())
    X, y, _ = load_digits("test")
    x = X[d["clips"]]
    assert d["label"] == y[d["clips"][0]]
    Iin = float(model.Iin)
    try:  # a second implementation of the ANN: the torch twin (agrees with forward to 1e-5, test_ann_torch_model)
        import torch
        from lprnn_brian.ann.torch_model import TorchLpRNN

        net = TorchLpRNN.from_model(model)
        with torch.no_grad():
            o, hidden = net(torch.from_numpy(np.asarray(x, np.float32)), return_states=True)
        states, tol = [h.numpy() for h in hidden] + [o.numpy()], 1e-5
    except ImportError:  # without torch: the numpy forward the figure uses (float32 rounding)
        states, tol = forward(model, x).states, 1e-6
    for k in range(4):
        ref = states[k][0].astype(np.float64)
        if k == 3:  # the read-out's range: the model's readout_range (12 = 2·Iin for the bundled model), else Iin
            ref = np.clip(ref, 0.0, model.readout_range if model.readout_range is not None else Iin)
        np.testing.assert_allclose(d["ann"][k], ref, rtol=tol, atol=tol)
    spec = to_snn_spec(model, mode="loihi")
    raw = simulate(spec, x, target="numpy", record=("i_fb",), keep_raw=True).raw[0]
    idx = frame_end_steps(spec)
    for k, L in enumerate(spec.layers):
        expected = -raw.states[k]["i_fb"][idx] / (L.factor * L.kick * L.tau_S / L.Iin_snn)  # −i_fb/(κ f)
        # the figure's traces are the result's float32 frame decodes: equal to float32 rounding (half an ulp)
        np.testing.assert_allclose(d["snn"][k], expected, rtol=2.0**-24, atol=1e-12)
        r = np.corrcoef(d["snn"][k].ravel(), d["ann"][k].ravel())[0, 1]
        assert d["correlation"][k] == pytest.approx(r, rel=1e-9)
        assert r > 0.95
        # the units shown are the three with the largest mean ANN state
        assert set(d["units"][k]) == set(np.argsort(-d["ann"][k].mean(axis=0))[:3])
    assert d["rmse"][0] < 2 * Iin / spec.layers[0].tau_S


def test_accuracy_vs_steps_M_is_minus_tau_S_ln_a_and_default_point_is_the_default_conversion(tmp_path):
    """M of every point: the converted spec's Δt_A/Δt_S equals −τ_S ln a (docs/method.md#reproduced-numbers, analytic;
    float rounding: 1e-12); the τ_S = 64 point is the package's default conversion (same spec digest) at M = 14.28
    (docs/method.md#reproduced-numbers: 14.2812); the ANN line equals the accuracy of an independent implementation
    (the torch twin, where torch is installed) on the same clips. Pinned (measured; the run is deterministic: Loihi
    mode keeps every state an integer, no noise or seed enters the simulation, and the 8 clips are drawn with
    seed 0): on clips 3, 8, 15, 55, 63, 104, 129, 172 the ANN, and the SNN's fb and count decodes at both M = 3.57
    and M = 14.28, classify all 8 correctly and agree with the ANN on all 8 (the bundled SNN agrees with its ANN on
    99.5 % of all 210 clips at the default M)."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.bundled import bundled_model_path
    from lprnn_brian.tasks.digits import load_digits

    d = {}
    paths = fig_accuracy_vs_steps.make(tmp_path, quick=True, seed=0, record=d)
    _check_files(paths, fig_accuracy_vs_steps.NAME)
    assert d["tau_S"] == list(fig_accuracy_vs_steps.QUICK_TAU_S) and d["n_clips"] == 8
    for ts, M, p in zip(d["tau_S"], d["M"], d["points"]["loihi"]):
        assert M == pytest.approx(-ts * math.log(0.8), rel=1e-12)
        assert p["M"] == pytest.approx(M, rel=1e-12)
        assert {k: p[k] for k in ("fb", "count", "agree_fb", "agree_count")} == \
            {"fb": 1.0, "count": 1.0, "agree_fb": 1.0, "agree_count": 1.0}, ts
    model = load_model(bundled_model_path())
    default = d["points"]["loihi"][d["tau_S"].index(64)]
    assert default["digest"] == to_snn_spec(model, mode="loihi").digest()
    assert d["default_M"] == pytest.approx(14.2812, abs=1e-4)
    assert d["clips"].tolist() == [3, 8, 15, 55, 63, 104, 129, 172]
    assert d["ann_accuracy"] == 1.0
    try:
        import torch
        from lprnn_brian.ann.torch_model import TorchLpRNN
    except ImportError:
        return
    X, y, _ = load_digits("test")
    net = TorchLpRNN.from_model(model)
    with torch.no_grad():
        pred = net.logits(net(torch.from_numpy(np.asarray(X[d["clips"]], np.float32)))).argmax(-1).numpy()
    assert d["ann_accuracy"] == float(np.mean(pred == y[d["clips"]]))


@pytest.mark.slow  # ~12 s: a model trained per bit width
def test_accuracy_vs_bits_models_use_only_b_bit_codes_and_are_cached(tmp_path, monkeypatch):
    """Every cached model's quantised weight matrices hold integer codes (× 2^b) inside the signed b-bit range
    −2^(b−1) … 2^(b−1) − 1, i.e. b bits over [−1/2, 1/2); the plotted ANN accuracy (numpy forward, all 210 clips)
    equals the trainer's own torch evaluation of the same clips to one clip (1/210: float32 ties in the logits
    of two implementations); the SNN accuracy, the ANN accuracy on the simulated clips and the agreement equal
    the ones recomputed from the recorded predictions and the dataset's labels (16 clips). A second run with
    training disabled reads every model from the cache and plots the same numbers."""
    from lprnn_brian.training import classifier as T
    from lprnn_brian.ann.model import load_model

    pytest.importorskip("torch")
    d = {}
    cache = tmp_path / "cache"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = fig_accuracy_vs_bits.make(tmp_path / "a", quick=True, seed=0, cache=cache, record=d)
    _check_files(paths, fig_accuracy_vs_bits.NAME)
    assert d["bits"] == list(fig_accuracy_vs_bits.QUICK_BITS) and all(d["trained"])
    for b, path, acc, acc_torch in zip(d["bits"], d["paths"], d["ann_accuracy"], d["ann_accuracy_torch"]):
        q = load_model(path).quantised()
        lo, hi = -(2 ** (b - 1)), 2 ** (b - 1) - 1
        for L in q.layers:
            for M in (L.W, L.U):
                if M is None:
                    continue
                codes = M.astype(np.float64) * 2 ** b  # b bits on the 2^−b grid over [−1/2, 1/2)
                np.testing.assert_array_equal(codes, np.round(codes))
                assert codes.min() >= lo and codes.max() <= hi
        assert abs(acc - acc_torch) <= 1 / 210 + 1e-12
    from lprnn_brian.tasks.digits import load_digits

    _, y, _ = load_digits("test")
    labels = y[d["sim_clips"]]
    assert len(labels) == 16
    for acc, ann_acc, agree, snn, ann in zip(d["snn_accuracy"], d["ann_accuracy_sim"], d["agreement"],
                                             d["snn_predictions"], d["ann_predictions_sim"]):
        assert ann_acc == float(np.mean(np.asarray(ann) == labels))
        if snn is None:  # no integer weights in either mode: nothing simulated
            assert acc is None and agree is None
            continue
        assert acc == float(np.mean(np.asarray(snn) == labels))
        assert agree == float(np.mean(np.asarray(snn) == np.asarray(ann)))

    def no_training(*a, **k):
        raise AssertionError("the cached model should have been used")

    monkeypatch.setattr(T, "train_digits", no_training)
    again = {}
    fig_accuracy_vs_bits.make(tmp_path / "b", quick=True, seed=0, cache=cache, record=again)
    assert not any(again["trained"])
    for key in ("ann_accuracy", "snn_accuracy", "agreement"):
        assert again[key] == d[key]
