"""The main job: `lprnn-brian demo` on the bundled data writes a report whose numbers match an independent
ANN forward pass, plus figures, and refuses to overwrite an existing report."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lprnn_brian.ann.forward import forward
from lprnn_brian.ann.model import load_model
from lprnn_brian.cli import main
from lprnn_brian.demo import REPORT_FILES, bundled_model_path
from lprnn_brian.tasks.digits import load_digits

N_CLIPS = 12


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, build_root):
    out = tmp_path_factory.mktemp("demo")
    rc = main(["demo", "--out", str(out), "--limit", str(N_CLIPS), "--quiet", "--force", "--build-dir", str(build_root)])
    assert rc == 0
    return out


def test_bundled_model_is_3bit():
    """The shipped model's quantised weights use at most the 3-bit codes −4…3 on the 1/8 grid (paper setup)."""
    model = load_model(bundled_model_path())
    assert model.frac_bits == 3
    for L in model.quantised().layers:
        for t in L.tensors().values():
            codes = np.unique(t * 8)
            assert np.all(codes == np.round(codes)) and codes.min() >= -4 and codes.max() <= 3


def test_demo_report_matches_ann(demo_dir):
    """report.json's ANN accuracy equals the numpy forward pass on the same clips (same arithmetic: exact);
    SNN accuracies are fractions of N_CLIPS; the fb decode tracks the ANN in every hidden layer."""
    s = json.loads((demo_dir / "report.json").read_text())
    x, y, _ = load_digits("test")
    ann = forward(load_model(bundled_model_path()), x[:N_CLIPS])
    assert s["n_samples"] == N_CLIPS
    assert s["ann_predictions"] == ann.predictions.tolist()
    assert s["ann_accuracy"] == pytest.approx(float(np.mean(ann.predictions == y[:N_CLIPS])))
    for acc in s["snn_accuracy"].values():
        assert acc * N_CLIPS == pytest.approx(round(acc * N_CLIPS))
    # ΣΔ tracking: hidden-layer fb decodes correlate with the ANN state (> 0.98 in
    # docs/method.md#what-the-tests-check)
    assert min(s["layer_correlation"]["fb"][:-1]) > 0.98
    assert s["class_agreement"]["fb"] >= 0.75
    assert min(s["spikes_per_sample"]) > 0


def test_demo_writes_figures_and_markdown(demo_dir):
    for name in REPORT_FILES:
        assert (demo_dir / name).stat().st_size > 0, name
    md = (demo_dir / "report.md").read_text()
    assert "ANN" in md and "state_vs_decode.png" in md


def test_demo_refuses_to_overwrite(demo_dir, capsys):
    before = (demo_dir / "report.json").read_bytes()
    assert main(["demo", "--out", str(demo_dir), "--limit", "1", "--quiet"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (demo_dir / "report.json").read_bytes() == before
