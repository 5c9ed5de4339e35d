"""`lprnn-brian analyse RUN.npz`: the report of a saved run (fidelity saved by `simulate --out`, spike statistics,
robustness, energy), checked against numbers computed independently from the run's own arrays."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lprnn_brian.ann.model import save_model
from lprnn_brian.cli import main
from lprnn_brian.simulation import load_result

from test_cli import tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyse")
    model = save_model(tiny_model(), d / "m.npz")
    x = np.random.default_rng(1).normal(0, 1, (3, 12, 4)).astype(np.float32)
    np.save(d / "X.npy", x)
    np.save(d / "y.npy", np.array([0, 1, 2]))
    assert main(["simulate", str(model), "--inputs", str(d / "X.npy"), "--labels", str(d / "y.npy"),
                 "--target", "numpy", "--quiet", "--out", str(d / "run.npz")]) == 0
    return d / "run.npz"


def test_run_file_carries_the_comparison_with_the_ann(run_file):
    res = load_result(run_file)
    ev = res.info["evaluation"]
    assert res.info["labels"] == [0, 1, 2]
    assert ev["n_samples"] == 3 and set(ev["layer_correlation"]) == {"fb", "ip", "in", "count"}


def test_analyse_report_numbers(run_file, tmp_path):
    out = tmp_path / "rep"
    assert main(["analyse", str(run_file), "--out", str(out), "--jitter", "0,2", "--deletion", "0,0.5"]) == 0
    for f in ("report.md", "report.json", "spiking.png", "spiking.pdf", "robustness.png", "energy.pdf"):
        assert (out / f).stat().st_size > 0
    r = json.loads((out / "report.json").read_text())
    res = load_result(run_file)
    spec = res.spec
    # spike statistics against the run's raw event arrays
    for k, s in enumerate(r["spiking"]):
        ev = res.spikes[k]
        assert s["spikes_per_sample"] == pytest.approx(ev.shape[0] / res.n_samples)
        assert s["rate_hz"] == pytest.approx(ev.shape[0] / (res.n_samples * spec.layers[k].n * spec.n_steps * spec.dt))
    # the unperturbed replay agrees with itself; the accuracy uses the saved labels; deletion keeps ~half the spikes
    rows = {(row["perturbation"], row["level"]): row for row in r["robustness"]}
    assert rows[("jitter", 0.0)]["agreement"] == 1.0 and rows[("jitter", 0.0)]["rmse"] == 0.0
    assert rows[("jitter", 0.0)]["accuracy"] == pytest.approx(np.mean(res.predictions("in") == np.array([0, 1, 2])))
    n_last = res.spikes[-2].shape[0]
    assert abs(rows[("delete", 0.5)]["spikes"] - n_last / 2) <= 4 * np.sqrt(n_last / 4) + 1
    # energy: synaptic events equal spikes × (non-zero out-weights + self synapse), counted here from the weights
    events = 0
    for k, L in enumerate(spec.layers):
        fan = 1 + (np.count_nonzero(spec.layers[k + 1].W_snn, axis=0) if k + 1 < len(spec.layers) else 0)
        if L.U_snn is not None:
            fan = fan + np.count_nonzero(L.U_snn, axis=0)
        events += np.sum(np.broadcast_to(fan, (L.n,))[res.spikes[k][:, 1]])
    got = sum(row["synaptic_events"] for row in r["energy"]["counts"]["layers"])
    assert got == pytest.approx(events / res.n_samples)
    md = (out / "report.md").read_text()
    assert "## Energy per inference" in md and "E = N_syn·E_syn" in md and "class agreement" in md


def test_analyse_refuses_to_overwrite_and_checks_flags(run_file, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["analyse", str(run_file), "--out", str(out), "--jitter", "0", "--deletion", "0"]) == 0
    before = (out / "report.md").read_text()
    assert main(["analyse", str(run_file), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "report.md").read_text() == before
    assert main(["analyse", str(run_file), "--out", str(tmp_path / "x"), "--deletion", "0,1.5"]) == 2
    assert "--deletion" in capsys.readouterr().err
    assert main(["analyse", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "y")]) == 2
