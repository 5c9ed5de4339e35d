"""Tests of the log-mel front end (spec §7.3/§7.4, §11 A1/A2/A6/A7)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lprnn_brian.errors import UserInputError
from lprnn_brian.tasks import features as F


def _slaney_mel(f):
    """Independent analytic Slaney mel: f/(200/3) below 1 kHz; 15 + 27·log(f/1000)/log(6.4) above."""
    return f / (200.0 / 3.0) if f < 1000.0 else 15.0 + 27.0 * math.log(f / 1000.0) / math.log(6.4)


@pytest.mark.parametrize("cfg", [F.shd(), F.gsc_paper()], ids=["shd", "gsc_paper"])
def test_filter_centres_on_slaney_scale(cfg):
    """Oracle: analytic Slaney mel formula. The peak frequency of each triangle (centre edge m+1) must be
    equally spaced in mel between mel(fmin) and mel(fmax), spacing (mel(fmax)−mel(fmin))/(n_mels+1);
    tolerance 1e-9 mel. Also each filter's support lies between its neighbouring edges (to one FFT bin)."""
    edges = F.mel_frequencies(cfg.n_mels + 2, cfg.fmin, cfg.f_max)
    m_lo, m_hi = _slaney_mel(cfg.fmin), _slaney_mel(cfg.f_max)
    step = (m_hi - m_lo) / (cfg.n_mels + 1)
    for k, f in enumerate(edges):
        assert _slaney_mel(f) == pytest.approx(m_lo + k * step, abs=1e-9)
    # linear region: 200/3 Hz per mel, exactly
    assert F.mel_to_hz(3.0) == pytest.approx(200.0)
    assert F.hz_to_mel(1000.0) == pytest.approx(15.0)
    assert F.hz_to_mel(6400.0) == pytest.approx(15.0 + 27.0)
    fb = F.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.f_max, "l1")
    hz = np.arange(fb.shape[1]) * cfg.sample_rate / cfg.n_fft
    for m in range(cfg.n_mels):
        nz = hz[fb[m] > 0]
        assert nz.size > 0
        assert nz.min() > edges[m] - 1e-9 and nz.max() < edges[m + 2] + 1e-9


@pytest.mark.parametrize("cfg", [F.shd(), F.gsc_paper()], ids=["shd", "gsc_paper"])
def test_l1_rows_sum_to_one_and_slaney_area(cfg):
    """Oracle: definitions. 'l1': every row sums to 1 (tol 1e-12). 'slaney': row m equals the unnormalised
    triangle times 2/(f_{m+2} − f_m), so the 'slaney' and 'l1' rows are proportional (ratio constant per row)."""
    fb1 = F.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.f_max, "l1")
    assert fb1.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
    np.testing.assert_allclose(fb1.sum(axis=1), 1.0, atol=1e-12)
    fbs = F.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.f_max, "slaney")
    edges = F.mel_frequencies(cfg.n_mels + 2, cfg.fmin, cfg.f_max)
    hz = np.arange(fb1.shape[1]) * cfg.sample_rate / cfg.n_fft
    for m in (0, cfg.n_mels // 2, cfg.n_mels - 1):
        tri = np.maximum(0, np.minimum((hz - edges[m]) / (edges[m + 1] - edges[m]),
                                       (edges[m + 2] - hz) / (edges[m + 2] - edges[m + 1])))
        np.testing.assert_allclose(fbs[m], tri * 2.0 / (edges[m + 2] - edges[m]), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("f0", [300.0, 1000.0, 2500.0, 6000.0])
def test_pure_tone_peaks_in_nearest_band(f0):
    """Oracle: a pure tone at f0 (an exact FFT bin, gsc_paper config) gives its largest mel output in the band
    whose centre frequency is nearest f0 (on the mel scale), or an adjacent band (tolerance ±1 band: l1 rows
    are normalised per filter width and the tone falls between two centres)."""
    cfg = F.gsc_paper(normalise=False)
    k = round(f0 * cfg.n_fft / cfg.sample_rate)
    f = k * cfg.sample_rate / cfg.n_fft
    t = np.arange(cfg.clip_samples) / cfg.sample_rate
    feats = F.log_mel_db(0.5 * np.sin(2 * np.pi * f * t), cfg)
    band = int(np.argmax(feats.mean(axis=0)))
    centres = F.mel_frequencies(cfg.n_mels + 2, cfg.fmin, cfg.f_max)[1:-1]
    nearest = int(np.argmin(np.abs(F.hz_to_mel(centres) - F.hz_to_mel(f))))
    assert abs(band - nearest) <= 1


def test_power_spectrogram_centred_reflect():
    """Oracle: direct DFT of one hand-built frame. Frame j covers reflect-padded samples j·hop … j·hop+n_fft−1
    (padding n_fft//2 each side), times the periodic Hann window; tol 1e-9 relative."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2000)
    n_fft, hop = 256, 64
    p = F.power_spectrogram(x, n_fft, hop)
    assert p.shape == (n_fft // 2 + 1, 1 + len(x) // hop)
    xp = np.concatenate([x[1:n_fft // 2 + 1][::-1], x, x[-n_fft // 2 - 1:-1][::-1]])
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    for j in (0, 5, p.shape[1] - 1):
        fr = xp[j * hop:j * hop + n_fft] * win
        dft = np.array([np.sum(fr * np.exp(-2j * np.pi * kk * np.arange(n_fft) / n_fft)) for kk in range(0, 129, 16)])
        np.testing.assert_allclose(p[::16, j], np.abs(dft) ** 2, rtol=1e-9, atol=1e-9)


def test_db_floor_and_max_before_zscore():
    """Oracle: definition of step 4 (spec §11 A2). For a tone burst after silence: dB features lie in
    [−80, 0], reach exactly 0 (the per-file maximum, not in the dropped first frame) and exactly −80 (the
    silent part, where 10·log10(1e-10) − max < −80)."""
    cfg = F.gsc_paper(normalise=False)
    t = np.arange(cfg.clip_samples) / cfg.sample_rate
    x = np.where(t > 0.5, np.sin(2 * np.pi * 440 * t), 0.0)
    db = F.log_mel_db(x, cfg)
    assert db.shape == (cfg.n_frames, cfg.n_mels)
    assert db.max() == 0.0
    assert db.min() == -80.0
    assert np.all(db >= -80.0)


def test_zscore_output_mean0_std1():
    """Oracle: definition of the per-file z-score (unbiased std + 1e-10). Output mean 0 (tol 1e-5) and
    ddof=1 std 1 (tol 1e-5), float32, shape (T, n_mels)."""
    cfg = F.gsc_paper()
    x = np.random.default_rng(0).standard_normal(12000) * np.hanning(12000)
    out = F.log_mel(x, cfg)
    assert out.dtype == np.float32 and out.shape == (125, 80)
    assert abs(float(out.mean())) < 1e-5
    assert float(out.astype(np.float64).std(ddof=1)) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("cfg", [F.shd(), F.gsc_paper(), F.gsc_paper(hop_length=256, n_frames=62)],
                         ids=["shd", "gsc_paper", "custom"])
def test_frame_count_is_T(cfg):
    """Oracle: arithmetic of spec §11 A1. With centring, L = T·hop samples give 1 + L/hop frames; dropping the
    first leaves T, whatever the input length (fix_length makes it L). SHD: L = 32,000, T = 125 (§12 item 7)."""
    assert cfg.clip_samples == cfg.n_frames * cfg.hop_length
    if cfg.name == "shd":
        assert cfg.clip_samples == 32000
    rng = np.random.default_rng(0)
    for n in (cfg.clip_samples, cfg.clip_samples // 3, cfg.clip_samples * 2):
        assert F.log_mel(rng.standard_normal(n), cfg).shape == (cfg.n_frames, cfg.n_mels)
    p = F.power_spectrogram(rng.standard_normal(cfg.clip_samples), cfg.n_fft, cfg.hop_length)
    assert p.shape[1] == 1 + cfg.clip_samples // cfg.hop_length


def test_fix_length_keep_last_left_pad():
    """Oracle: definition (spec §7.3 item 2). pad='left' keeps the last L samples / left-pads with zeros;
    pad='right' keeps the first / right-pads. Exact."""
    x = np.arange(1, 11, dtype=float)
    np.testing.assert_array_equal(F.fix_length(x, 4, "left"), [7, 8, 9, 10])
    np.testing.assert_array_equal(F.fix_length(x, 13, "left"), [0, 0, 0] + list(range(1, 11)))
    np.testing.assert_array_equal(F.fix_length(x, 4, "right"), [1, 2, 3, 4])
    np.testing.assert_array_equal(F.fix_length(x, 12, "right"), list(range(1, 11)) + [0, 0])
    # through the pipeline: a clip longer than L gives the features of its last L samples
    cfg = F.gsc_paper(pad="left")
    rng = np.random.default_rng(3)
    long = rng.standard_normal(cfg.clip_samples + 5000)
    np.testing.assert_array_equal(F.log_mel(long, cfg), F.log_mel(long[-cfg.clip_samples:], cfg))
    short = rng.standard_normal(6000)
    np.testing.assert_array_equal(F.log_mel(short, cfg),
                                  F.log_mel(np.concatenate([np.zeros(cfg.clip_samples - 6000), short]), cfg))


@settings(max_examples=20, deadline=None)
@given(st.floats(0.01, 100.0), st.integers(500, 20000))
def test_gain_invariance(gain, n):
    """Oracle: the per-file dB reference makes features invariant to a gain (a dB shift, subtracted);
    tolerance 1e-3 in z-scored units (float rounding of the log plus the −80 dB floor being a fixed level
    relative to the maximum)."""
    cfg = F.gsc_paper()
    x = np.random.default_rng(n).standard_normal(n)
    np.testing.assert_allclose(F.log_mel(gain * x, cfg), F.log_mel(x, cfg), atol=1e-3)


def test_config_roundtrip_and_errors():
    """Oracle: to_dict/from_dict round-trip exactly; bad values are UserInputErrors; presets match spec §7.3/7.4."""
    for cfg in (F.shd(), F.gsc_paper(), F.gsc_paper(mel_norm="slaney", pad="left")):
        assert F.FeatureConfig.from_dict(cfg.to_dict()) == cfg
    s, g = F.shd(), F.gsc_paper()
    assert (s.sample_rate, s.n_fft, s.hop_length, s.n_mels, s.fmin, s.f_max, s.n_frames) == \
        (48000, 1024, 256, 80, 0.0, 24000.0, 125)
    assert (g.sample_rate, g.n_fft, g.hop_length, g.n_mels, g.fmin, g.f_max, g.n_frames) == \
        (16000, 1024, 128, 80, 40.0, 8000.0, 125)
    assert g.frame_dt == pytest.approx(g.hop_seconds)  # paper-era GSC: Δt_A = hop exactly
    with pytest.raises(UserInputError):
        F.gsc_paper(mel_norm="htk")
    with pytest.raises(UserInputError):
        F.gsc_paper(fmax=9000.0)
    with pytest.raises(UserInputError):
        F.FeatureConfig.from_dict({"sample_rate": 16000, "bogus": 1})
    with pytest.raises(UserInputError):
        F.log_mel(np.zeros(16000), F.gsc_paper(), sample_rate=8000)
    with pytest.raises(UserInputError):
        F.log_mel(np.zeros((2, 16000)), F.gsc_paper())
