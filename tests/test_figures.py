"""The figure gallery: every figure script runs on quick settings and writes a non-empty PNG and PDF, the gallery
page embeds each figure with its command, and existing figures are never replaced without ``--force``.

The figures' numbers are checked where they are computed (tests of the analysis modules); here a few quantities a
reader takes from a figure are checked against the derived values of docs/method.md.
"""
from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

from lprnn_brian.cli import main
from lprnn_brian.figures import FIGURES
from lprnn_brian.figures.make_all import make_all

#: Figures with their own test module (they need a trained model or a long run); the rest are run here.
ELSEWHERE = {"fig_ann_vs_snn", "fig_accuracy_vs_bits", "fig_accuracy_vs_steps"}


def _nonempty(path) -> bool:
    return path.is_file() and path.stat().st_size > 1000


def _check_reconstruction_bias(d):
    """docs/method.md#the-comparators-threshold, with c the drive and Δ = Iin/τ_S = 6/64: the derived band is one
    kick wide around its centre; the centre is Δ(1/2 − c/Iin) at threshold 0 and 0 under 'unbiased' (float64:
    1e-12); the registers are the published ones (threshold 0 / 16384, kick 2^21/64 = 32768 / 32256). A time mean of
    a reconstruction that never leaves the band lies inside it: every measured per-drive error, float and Loihi
    mode, inside [low, high] (measured ≥ 0.298Δ from either edge)."""
    c, D = np.asarray(d["drive"]), d["delta"]
    assert D == 6 / 64 and c.min() == pytest.approx(2 * D) and c.max() == pytest.approx(6 - 3 * D)
    for pol, theta, kick, mean in (("zero", 0.0, 32768.0, D * (0.5 - c / 6)), ("unbiased", 16384.0, 32256.0, 0 * c)):
        p = d["policies"][pol]
        assert (p["threshold"], p["kick"]) == (theta, kick)
        lo, hi = np.asarray(p["derived"]["low"]), np.asarray(p["derived"]["high"])
        np.testing.assert_allclose(hi - lo, D, rtol=0, atol=1e-12)
        np.testing.assert_allclose((lo + hi) / 2, mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(p["derived"]["mean"], mean, rtol=0, atol=1e-12)
        for mode in ("float", "loihi"):
            e = np.asarray(p[mode])
            assert np.all(e >= lo) and np.all(e <= hi), (pol, mode)


def _check_energy(d):
    """The Loihi estimate recomputed from its own counts and the published constants (Davies et al. 2018, Table 2:
    23.6 pJ per synaptic op, 81 / 52 pJ per active / inactive compartment update, 1.7 pJ per tile message):
    each term N·E, the total their sum; compartment updates per inference = neurons × 2 compartments × steps per
    layer, split into
    active + inactive; layer counts sum to the totals; the Cortex-M4/Loihi ratio is the quotient of the two
    energies (float64: 1e-12)."""
    r = d["digits (bundled)"]
    L, counts = r["loihi"], r["counts"]
    k = {name: c["value"] for name, c in L["inputs"]["constants"].items()}
    assert (k["e_synop"], k["e_update_active"], k["e_update_inactive"], k["e_spike_tile"]) == \
        (23.6e-12, 81e-12, 52e-12, 1.7e-12)
    n = L["inputs"]
    want = {"synaptic": n["N_syn"] * 23.6e-12, "update_active": n["N_act"] * 81e-12,
            "update_inactive": n["N_inact"] * 52e-12, "spike_messages": n["N_msg"] * 1.7e-12}
    assert L["terms_j"] == pytest.approx(want, rel=1e-12)
    assert L["energy_per_inference_j"] == pytest.approx(sum(want.values()), rel=1e-12)
    tot = counts["total"]
    for key in ("spikes", "synaptic_events", "compartment_updates", "active_updates", "inactive_updates"):
        assert tot[key] == pytest.approx(sum(layer[key] for layer in counts["layers"]), rel=1e-12), key
    for layer in counts["layers"]:
        assert layer["compartment_updates"] == layer["neurons"] * counts["n_steps"] * 2  # 2 compartments a neuron
        assert layer["active_updates"] + layer["inactive_updates"] == layer["compartment_updates"]
    assert (n["N_syn"], n["N_act"], n["N_inact"]) == (tot["synaptic_events"], tot["active_updates"],
                                                      tot["inactive_updates"])
    m4 = r["cortex_m4"]["energy_per_inference_j"]
    ratio = r["ratio"]["cortex_m4_over_loihi"]
    for side in ("low", "high"):
        assert ratio[side] == pytest.approx(m4[side] / L["energy_per_inference_j"], rel=1e-12)


def _check_noise_shaping(d):
    """First-order ΣΔ noise shaping: the error spectrum rises as |1 − e^(−iω)|² ∝ f², +20 dB/decade; a Poisson
    train's error is white, 0 dB/decade. Tolerance ±5 dB/decade for ΣΔ (the quick figure's short spectrum;
    measured 23.3) and ±3 for Poisson (measured 0.06)."""
    assert abs(d["sigma_delta"]["slope_db_per_decade"] - 20) <= 5
    assert abs(d["poisson"]["slope_db_per_decade"]) <= 3


def _check_snr_vs_rate(d):
    """SNR against rate: first-order ΣΔ in-band noise power falls as OSR^−3, +30 dB of SNR per decade of rate; a
    Poisson count's SNR grows as the count, +10 dB/decade. Tolerance ±3 dB/decade (measured 30.06 and 10.57, three
    rates in the quick figure); the ΣΔ SNR rises with the rate at every point."""
    sd = d["sigma_delta"]
    assert abs(sd["slope_db_per_decade"] - 30) <= 3
    assert abs(d["poisson"]["slope_db_per_decade"] - 10) <= 3
    assert np.all(np.diff(sd["rate_hz"]) > 0) and np.all(np.diff(sd["snr_db"]) > 0)


def _check_neuron_dynamics(d):
    """The step response's spike probability is c/Iin = 4/6 (docs/method.md#what-the-tests-check; the figure's
    own run, within 1/τ_S = 1/64 as in test_neuron_dynamics_rate_follows_the_drive); the kick is Iin/τ_S."""
    assert d["step_expected"] == pytest.approx(4 / 6, abs=1e-15)
    assert abs(d["step_rate_per_step"] - 4 / 6) <= 1 / d["tau_S"]
    assert d["kick"] == 6 / d["tau_S"] == 6 / 64


#: Content checks on the numbers each figure writes beside itself (``out/<NAME>.json``), against values derived
#: or published independently of the figure's code.
CONTENT = {"fig_reconstruction_bias": _check_reconstruction_bias, "fig_energy": _check_energy,
           "fig_noise_shaping": _check_noise_shaping, "fig_snr_vs_rate": _check_snr_vs_rate,
           "fig_neuron_dynamics": _check_neuron_dynamics}


#: figures whose quick run takes about 10 s or more (each a network sweep): ``slow`` (the reconstruction bias figure's
#: own test below runs in the default run)
SLOW_FIGURES = {"fig_snr_vs_rate", "fig_robustness", "fig_noise_shaping", "fig_reconstruction_bias"}


@pytest.mark.parametrize("module", [pytest.param(m, marks=[pytest.mark.slow] if m in SLOW_FIGURES else [])
                                    for m in FIGURES if m not in ELSEWHERE])
def test_quick_figure_writes_png_and_pdf(module, tmp_path):
    """PNG and PDF written, and the plotted numbers (the JSON beside them) checked where CONTENT has a check."""
    mod = importlib.import_module(f"lprnn_brian.figures.{module}")
    paths = mod.make(tmp_path, quick=True, seed=0)
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    assert all(_nonempty(p) for p in paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].read_bytes()[:5] == b"%PDF-"
    if module in CONTENT:
        CONTENT[module](json.loads((tmp_path / f"{mod.NAME}.json").read_text()))


def test_neuron_dynamics_rate_follows_the_drive():
    """docs/method.md#what-the-tests-check (p = c/Iin, `derive.steady_state_rate`) on the figure's own run: over the
    last 600 ms of the step (drive c = 4, Iin = 6) the spike probability is 2/3 within the ripple bound, i.e. the mean
    reconstruction is within one kick Iin/τ_S of c, so |p − c/Iin| ≤ (Iin/τ_S)/Iin = 1/τ_S = 1/64; and the
    reconstruction never leaves i_ip ± one kick after the first 50 steps
    (docs/method.md#why-the-spikes-reproduce-the-rate-network; Loihi truncation adds < 1e-4)."""
    from lprnn_brian.figures.fig_neuron_dynamics import simulate_neurons

    d = simulate_neurons()
    late = slice(int(0.4 / d["dt"]), d["n_steps"])
    p = d["spikes"][late, 0].mean()
    assert abs(p - 4 / 6) <= 1 / d["tau_S"]
    err = np.abs(d["fb"] - d["ip"])[50:]
    assert err.max() <= d["bound"] + 1e-4


def test_make_all_writes_a_gallery_and_refuses_to_overwrite(tmp_path):
    records = make_all(tmp_path, quick=True, only="neuron_dynamics", progress=False)
    page = (tmp_path / "README.md").read_text()
    assert [r["name"] for r in records] == ["neuron_dynamics"]
    assert "![" in page and "neuron_dynamics.png" in page
    assert "python -m lprnn_brian.figures.fig_neuron_dynamics --out DIR --quick" in page
    before = (tmp_path / "neuron_dynamics.png").stat().st_mtime_ns
    assert main(["figures", "--out", str(tmp_path), "--only", "neuron_dynamics", "--quick", "--quiet"]) == 2
    assert (tmp_path / "neuron_dynamics.png").stat().st_mtime_ns == before


def test_unknown_figure_name_is_a_clear_error(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path), "--only", "nonsense", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown figure 'nonsense'" in err and "noise_shaping" in err


def test_reconstruction_bias_figure_shows_the_derived_bias_and_its_removal():
    """The numbers behind the figure, against the hand-derived mean (docs/method.md#the-comparators-threshold): at
    threshold 0 the mean error is Δ(1/2 − c/Iin) (Δ = Iin/τ_S = 6/64), under 'unbiased' 0; the measured error averaged
    over ±1 kick of drive (the figure's thick line) stays within Δ/20 of it in both modes (quick grid of 5 drives per
    kick: measured within 0.04Δ), and the derived band is one kick wide around the mean."""
    from lprnn_brian.figures.fig_reconstruction_bias import compute

    res = compute(quick=True)
    c, delta = res["drive"], 6.0 / 64
    assert res["delta"] == delta
    hand = {"zero": delta * (0.5 - c / 6.0), "unbiased": np.zeros_like(c)}
    for policy, r in res["policies"].items():
        d = r["derived"]
        np.testing.assert_allclose(d["mean"], hand[policy], atol=1e-12)
        np.testing.assert_allclose(d["high"] - d["low"], delta, rtol=1e-12)
        for mode in ("float", "loihi"):
            smoothed = r[f"{mode}_smoothed"]
            ok = ~np.isnan(smoothed)
            assert ok.sum() > len(c) // 2
            assert np.max(np.abs(smoothed[ok] - hand[policy][ok])) <= delta / 20, (policy, mode)
    assert res["policies"]["zero"]["max_abs_smoothed_kicks"]["loihi"] > 0.4  # the bias the policy removes
