"""The read-out's range (docs/method.md#the-read-outs-range): the conversion option ``readout_range`` R widens the
read-out neurons' clamp level from Iin to R (Iin_snn = R·f, kick and threshold with it) and leaves everything else
of the network as the paper's conversion makes it; the model file carries R (format version 4)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import random_model
from lprnn_brian.ann.model import FORMAT_VERSION, Layer, LpRNNModel, load_model, save_model
from lprnn_brian.convert import resolve_readout_range, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.simulation import simulate


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_only_the_readouts_clamp_level_changes(small_model, mode):
    """Oracle: the mapping of docs/method.md#the-read-outs-range. With R = 2·Iin the read-out's Iin_snn, kick and
    threshold are exactly twice the default conversion's (2 is a power of two: exact in Loihi's mantissa·2^exp
    registers too), its weights and bias are bit for bit the default's (they carry the hidden layers' [0, Iin]),
    and every hidden layer, the step and the factors are unchanged."""
    base = to_snn_spec(small_model, mode=mode)
    wide = to_snn_spec(small_model, mode=mode, readout_range=2 * small_model.Iin)
    assert base.readout_range == small_model.Iin and wide.readout_range == 2 * small_model.Iin
    assert wide.dt == base.dt and wide.n_steps == base.n_steps
    for k, (a, b) in enumerate(zip(base.layers, wide.layers)):
        last = k == len(base.layers) - 1
        assert b.factor == a.factor
        assert b.Iin_snn == (2 if last else 1) * a.Iin_snn
        assert b.kick == (2 if last else 1) * a.kick
        assert b.threshold == (2 if last else 1) * a.threshold
        assert b.kick_gain == a.kick_gain and b.tau_S == a.tau_S
        for name in ("W_snn", "b_tilde", "U_snn"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None and y is None) or np.array_equal(x, y), (k, name)
    assert wide.digest() != base.digest()


def test_the_models_range_is_the_default_and_an_explicit_one_wins(small_model):
    """The conversion takes the model's ``readout_range`` unless told otherwise; None means Iin (the paper)."""
    model = dataclasses.replace(small_model, readout_range=9.0)
    assert to_snn_spec(model).readout_range == 9.0
    assert to_snn_spec(model, readout_range=7.5).readout_range == 7.5
    assert to_snn_spec(small_model).readout_range == small_model.Iin
    assert resolve_readout_range(small_model) == small_model.Iin


@pytest.mark.parametrize("bad", [0.0, -6.0, float("nan"), float("inf"), True, "12"])
def test_a_range_that_is_not_a_positive_number_is_refused(small_model, bad):
    with pytest.raises(UserInputError, match="readout_range"):
        to_snn_spec(small_model, readout_range=bad)
    with pytest.raises(UserInputError, match="readout_range"):
        dataclasses.replace(small_model, readout_range=bad).validate()


def test_loihi_refuses_a_range_past_its_state_bound(small_model):
    """In Loihi mode the read-out's reconstruction −i_fb, up to Iin_snn = R·f, must fit the 24-bit state
    [−2^23, 2^23] (docs/method.md#the-read-outs-range): R·f above 2^23 is refused with the largest R that fits, and
    R·f = 2^23 converts; float mode has no such bound."""
    f = to_snn_spec(small_model, mode="loihi").layers[-1].factor
    assert to_snn_spec(small_model, mode="loihi", readout_range=2**23 / f).layers[-1].Iin_snn == 2**23
    too_wide = 1.01 * 2**23 / f
    with pytest.raises(UserInputError, match="2\\^23"):
        to_snn_spec(small_model, mode="loihi", readout_range=too_wide)
    assert to_snn_spec(small_model, mode="float", readout_range=too_wide).readout_range == too_wide


def test_model_file_round_trip(tmp_path, small_model):
    """A model with a range is written as format version 4 and read back equal; one without keeps its older version
    (files that older readers still read)."""
    wide = dataclasses.replace(small_model, readout_range=12.0)
    p = save_model(wide, tmp_path / "wide.npz")
    back = load_model(p)
    assert back.readout_range == 12.0 and back.equals(wide)
    with np.load(p) as z:
        assert '"format_version": 4' in str(z["meta"]) and FORMAT_VERSION == 4
    q = save_model(small_model, tmp_path / "plain.npz")
    assert load_model(q).readout_range is None
    with np.load(q) as z:
        assert '"readout_range"' not in str(z["meta"]) and '"format_version": 1' in str(z["meta"])


def _saturated_model() -> LpRNNModel:
    """One lpff unit driven far above Iin (input weight 0.875, input 12: its state settles at Iin = 6), read out by
    weights 1.5 and −0.125 (on the 1/8 grid): logits 9 (above Iin) and −0.75, constant once the state has settled."""
    return LpRNNModel([Layer("lpff_1", "lpff", np.array([[0.875]]), np.zeros(1), retention=0.8),
                       Layer("output", "dense", np.array([[1.5], [-0.125]]), np.zeros(2))],
                      n_frames=80, frame_dt=1 / 125)


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_the_fb_decode_carries_a_logit_above_iin_up_to_the_range(numpy_runtime, mode):
    """Oracle: the ANN's logits 9 and −0.75 (1.5·Iin and −Iin/8, exact) and the clamp of
    docs/method.md#the-read-outs-range. Over the last half of the run the read-out's fb decode averages
    clamp(9, 0, R): 6 = Iin with the paper's read-out, 9 with R = 12; the negative logit decodes to 0 in both. The
    hidden unit is saturated (it spikes every step), so its reconstruction is Iin exactly and the read-out's error
    is its own ΣΔ loop's: under the unbiased threshold its reconstruction stays in the band [c − Δ/2, c + Δ/2),
    Δ = R/τ_S (0.094 and 0.19 ANN units; docs/method.md#the-comparators-threshold), so its time mean is within
    Δ/2 (measured 0.003); the count decode (spike rate × R) within Δ, the rate's bound |p − c/R| ≤ 1/τ_S
    (measured 0.005)."""
    model = _saturated_model()
    x = np.full((1, model.n_frames, 1), 12.0, dtype=np.float32)
    for R, expected in ((None, 6.0), (12.0, 9.0)):
        spec = to_snn_spec(model, mode=mode, readout_range=R)
        res = simulate(spec, x, target="numpy", record=("i_fb",))
        kick = spec.readout_range / spec.layers[-1].tau_S
        fb = res.frame_decodes["fb"][-1][0, model.n_frames // 2:].mean(axis=0)
        assert fb[0] == pytest.approx(expected, abs=kick / 2), (R, fb)
        assert fb[1] == pytest.approx(0.0, abs=1e-12), (R, fb)
        count = res.decodes["count"]["second_half"][-1][0]
        assert count[0] == pytest.approx(expected, abs=kick) and count[1] == 0.0, (R, count)


def test_the_fidelity_reference_is_clamped_at_the_specs_range(numpy_runtime):
    """The fb counterpart of the read-out in :func:`~lprnn_brian.analysis.fidelity.ann_counterparts` is the ANN's
    logit clamped at the run's range (9 with R = 12, 6 = Iin without), so that fidelity compares like with like."""
    from lprnn_brian.analysis.fidelity import ann_counterparts
    from lprnn_brian.ann.forward import forward

    model = dataclasses.replace(_saturated_model(), readout_range=12.0)
    x = np.full((1, model.n_frames, 1), 12.0, dtype=np.float32)
    ann = forward(model, x)
    late = slice(model.n_frames // 2, None)
    np.testing.assert_allclose(ann.states[-1][0, late], np.tile([9.0, -0.75], (model.n_frames // 2, 1)), atol=1e-3)
    for R, top in ((None, 9.0), (12.0, 9.0), (6.0, 6.0)):
        ref = ann_counterparts(model, x, ann, readout_range=R)["fb"][-1][0, late]
        np.testing.assert_allclose(ref, np.tile([top, 0.0], (model.n_frames // 2, 1)), atol=1e-3)


def test_random_models_convert_with_a_wider_readout_in_both_modes():
    """Several random networks: conversion with R = 2·Iin succeeds in Loihi mode with the read-out's registers
    exact (the comparator's record says lossless, as for the default read-out)."""
    for seed in range(3):
        model = random_model(np.random.default_rng(seed))
        base = to_snn_spec(model, mode="loihi").layers[-1].quantisation
        wide = to_snn_spec(model, mode="loihi", readout_range=12.0).layers[-1].quantisation
        assert wide["kick"]["lossless"] == base["kick"]["lossless"]
        assert wide["threshold"]["lossless"] == base["threshold"]["lossless"]
