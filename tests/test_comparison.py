"""The encoder comparison (`analysis.comparison`): the cross-validated linear read-out against signals with a known
noise level, and the measured SNR-vs-rate slopes against theory (first-order noise shaping vs a Poisson code)."""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.analysis.comparison import (TAU_LPRNN, bandlimited_signal, linear_decoding, rate_sweep,
                                             resample_time, rising_part)
from lprnn_brian.errors import UserInputError

BAND = 2.0


@pytest.fixture(scope="module")
def signal():
    """30 s of the comparison's band-limited signal, read at the ΣΔ step of τ_S = 64 (0.56 ms)."""
    rng = np.random.default_rng(0)
    x = bandlimited_signal(300_000, 1e-4, BAND, rng)
    dt = TAU_LPRNN / 64
    return resample_time(x, 1e-4, dt, int((len(x) - 1) * 1e-4 / dt)), dt


@pytest.mark.parametrize("sigma", [0.01, 0.1, 1.0])
def test_linear_readout_snr_equals_the_in_band_noise_level(signal, sigma):
    """A train carrying x + τ dx/dt (what a ΣΔ train carries) plus white noise of s.d. σ: the in-band noise power
    is σ²·2·dt·B (one-sided PSD 2σ²dt over B = 2 Hz), so SNR = var(x)/(2σ²dt B); the derivative term must be undone
    by the fitted kernel. Tolerance 1 dB: the FIR's ±0.5 s span gives its pass band a ~1 Hz transition, which lets
    in slightly more or less than the ideal band's noise (measured −0.1 to +0.7 dB), and the test half's noise
    power has a relative s.e. of √(2/(2·B·15 s)) ≈ 4 % (0.2 dB)."""
    x, dt = signal
    rng = np.random.default_rng(1)
    s = x + 64 * np.r_[np.diff(x), 0.0] + sigma * rng.standard_normal(len(x))
    expected = 10 * np.log10(x.var() / (sigma ** 2 * 2 * dt * BAND))
    assert linear_decoding(x, s, dt, BAND).snr_db == pytest.approx(expected, abs=1.0)


def test_linear_readout_of_a_poisson_code_matches_bernoulli_noise(signal):
    """Bernoulli spikes with p = p_max·x: white count noise of variance E[p(1 − p)] per step, so the in-band SNR is
    var(p)/(E[p(1 − p)]·2·dt·B) (the same formula as above); tolerance 1 dB as above."""
    from lprnn_brian.analysis.coding import poisson_encode

    x, dt = signal
    p_max = 0.3
    s = poisson_encode(x, p_max, np.random.default_rng(2)).astype(float)
    p = p_max * x
    expected = 10 * np.log10(p.var() / (np.mean(p * (1 - p)) * 2 * dt * BAND))
    got = linear_decoding(x, s, dt, BAND)
    assert got.snr_db == pytest.approx(expected, abs=1.0)
    assert got.rate_hz == pytest.approx(s.mean() / dt)
    assert got.bits_per_spike == pytest.approx(BAND * np.log2(1 + 10 ** (got.snr_db / 10)) / got.rate_hz)


def test_rising_part_excludes_floor_and_ceiling():
    snr = np.array([-2.0, 5.0, 15.0, 25.0, 26.0, 10.0])
    assert rising_part(snr).tolist() == [False, True, True, True, False, False]
    assert not rising_part(np.array([-3.0, -1.0])).any()


def test_too_short_a_signal_is_refused():
    with pytest.raises(UserInputError, match="too short"):
        linear_decoding(np.ones(100), np.ones(100), 1e-3, BAND)


def test_measured_slopes_match_theory():
    """Quick sweep (20 s signal, three rates per encoder). Theory: first-order noise shaping makes the in-band error
    power fall as rate⁻³, +30 dB/decade (the ΣΔ neuron, and a LIF reset by subtraction, which is itself a ΣΔ
    modulator); a Poisson code's count noise as rate⁻¹, +10 dB/decade, less at low SNR, where the best linear
    read-out scores 1 + SNR (``derive.affine_decoder_snr``). Tolerances: ±6 dB/decade for the shaped codes (three
    points over a decade, limit cycles make single points scatter by a few dB), and the Poisson slope in [5, 12]."""
    res = rate_sweep(duration=20.0, quick=True, encoders=("sigma_delta", "lif", "poisson"))
    assert res["sigma_delta"]["slope_db_per_decade"] == pytest.approx(30.0, abs=6.0)
    assert res["lif"]["slope_db_per_decade"] == pytest.approx(30.0, abs=6.0)
    assert 5.0 <= res["poisson"]["slope_db_per_decade"] <= 12.0
    # at comparable rates (~100–250 spikes/s) the shaped codes beat the Poisson code by > 15 dB
    best = {k: max(s for r, s in zip(v["rate_hz"], v["snr_db"]) if r < 600) for k, v in res.items()}
    assert best["sigma_delta"] > best["poisson"] + 15 and best["lif"] > best["poisson"] + 15
