"""Reference equivalence (docs/method.md#what-the-tests-check; issue thresholds): the authors' trained SHD checkpoint as
a ΣΔ network.

Loihi mode, the order of docs/method.md#per-step-order, T = 125, cpp_standalone. Oracle: the numpy float32 ANN forward
pass of the same checkpoint (lprnn_brian.ann.forward, clamp-then-filter, itself checked against torch elsewhere); the
SNN's fb decode −i_fb/f is sampled at every frame end and correlated with the ANN state of each layer over
samples × frames × units (for the read-out with clamp(o, 0, Iin), the range the feedback can encode;
lprnn_brian.analysis.fidelity).

Inputs: the 210 bundled test clips (7 held-out espeak-ng speakers) through the SHD front end of
docs/method.md#heidelberg-digits-shd (48 kHz, n_fft 1024, hop 256, 80 mel bands, T = 125): SHD-like speech features,
though not SHD recordings, so the checkpoint sees out-of-distribution words. Loihi mode is integer arithmetic and the
features are stored quantised, so the measured numbers are reproducible: fb correlation lpff_1 / lprnn_1 / lprnn_2 /
output = 0.9980 / 0.9940 / 0.9925 / 0.9806 (per clip the recurrent layers vary more: lprnn_2 median 0.9956,
≥ 0.99 on 81 % of clips, lowest 0.75 on a clip with little activity, which is why the issue's check is on
the whole set). The slow test repeats this on the 16 kHz front end of the bundled model (further out of
distribution), where the recurrent layers are held to the method's 0.98 (docs/method.md#what-the-tests-check).
"""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.analysis.fidelity import fidelity
from lprnn_brian.ann import forward
from lprnn_brian.convert import to_snn_spec
from lprnn_brian.simulation import DECODES, simulate
from lprnn_brian.tasks.digits import load_digits

HIDDEN = ("lpff_1", "lprnn_1", "lprnn_2")
ISSUE_HIDDEN = 0.99  # issue requirement for every hidden layer
METHOD_HIDDEN = 0.98  # the reference-equivalence bound of docs/method.md#what-the-tests-check


def _run(shd_model, x, build_root):
    spec = to_snn_spec(shd_model, mode="loihi")
    res = simulate(spec, x, target="cpp_standalone", build_root=build_root)
    ann = forward(shd_model, x)
    return spec, res, ann, fidelity(shd_model, x, res, ann=ann)


@pytest.fixture(scope="module")
def shd_clips(shd_model, build_root):
    X, _, info = load_digits("test", front_end="shd")
    assert X.shape == (210, 125, 80) and info["feature_config"]["hop_length"] == 256
    return _run(shd_model, X, build_root)


def _fb(fid) -> dict[str, float]:
    return dict(zip(fid.layer_names, fid.correlation["fb"]))


def test_runs_the_full_length_and_spikes(shd_clips):
    """1,785 steps (docs/method.md#reproduced-numbers) and spikes in every layer of every clip."""
    spec, res, _, _ = shd_clips
    assert spec.n_steps == 1785 and res.frame_decodes["fb"][0].shape == (210, 125, 128)
    assert np.all(res.spikes_per_sample() > 0)
    assert all(s.shape[0] > 0 for s in res.spikes)


def test_hidden_layers_track_the_ann(shd_clips):
    """Issue: fb correlation ≥ 0.99 for each of the three hidden layers. Measured 0.9980, 0.9940, 0.9925."""
    corr = _fb(shd_clips[3])
    assert all(corr[name] >= ISSUE_HIDDEN for name in HIDDEN), corr


def test_readout_tracks_clamped_logits(shd_clips):
    """Issue: read-out fb correlation ≥ 0.97 against clamp(o, 0, 6). Measured 0.9806."""
    corr = _fb(shd_clips[3])
    assert corr["output"] >= 0.97, corr


#: class agreement with the ANN per decode on the 210 clips, measured (Loihi mode: integer arithmetic, deterministic)
MEASURED_AGREEMENT = {"in": 0.900, "ip": 0.887, "fb": 0.720, "count": 0.680}


def test_class_agreement_of_every_decode(shd_clips):
    """Class agreement with the ANN on these out-of-distribution clips, per decode, at least the measured value less
    two clips (2/210 = 0.0095: the run is deterministic, so only a change of the arithmetic moves it, and a change
    that keeps every spike's meaning moves at most a near-tie clip or two). The fb and count decodes saturate at
    Iin = 6, and most of these clips drive several logits above 6, where they tie
    (docs/method.md#limits-of-the-equivalence, "Read-out range"); the misses of the unclamped `in` decode are clips
    whose top two ANN logits are close."""
    _, _, ann, fid = shd_clips
    window = "second_half"
    got = {d: fid.class_agreement[d][window] for d in DECODES}
    assert set(got) == set(MEASURED_AGREEMENT)
    for d, measured in MEASURED_AGREEMENT.items():
        assert got[d] >= measured - 2 / 210, (d, got)


@pytest.mark.slow
def test_16khz_front_end_fidelity_and_class_agreement(shd_model, build_root):
    """All bundled test clips through the 16 kHz front end of the bundled model (further out of
    distribution for an SHD model than the SHD front end). Hidden: lpff_1 ≥ 0.99 and every hidden layer > 0.98
    (docs/method.md#what-the-tests-check); read-out ≥ 0.97 against clamp(o, 0, 6); the best decode's class agreement
    with the ANN ≥ 0.9 (the fb decode alone cannot reach it on these clips: half their top logits exceed Iin = 6, where
    fb saturates and ties, docs/method.md#limits-of-the-equivalence). Measured: 0.9972,
    0.9921, 0.9876; 0.9797; agreement fb 0.78, ip 0.83, in 0.92, count 0.81."""
    X, _, _ = load_digits("test")
    _, res, _, fid = _run(shd_model, X, build_root)
    corr = _fb(fid)
    assert corr["lpff_1"] >= ISSUE_HIDDEN, corr
    assert all(corr[name] > METHOD_HIDDEN for name in HIDDEN), corr
    assert corr["output"] >= 0.97, corr
    best = max(fid.class_agreement[d][shd_model.readout_window] for d in DECODES)
    assert best >= 0.9, fid.class_agreement
    assert np.all(res.spikes_per_sample() > 0)
