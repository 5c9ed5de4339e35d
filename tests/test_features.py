"""Tests of the log-mel and Kaldi fbank front ends (docs/method.md#heidelberg-digits-shd,
docs/method.md#google-speech-commands, decisions A1/A2/A4/A6/A7 in docs/decisions.md), against definitions and second
implementations (librosa; a per-frame Kaldi reference written here)."""
from __future__ import annotations

import json
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
    """Oracle: definition of step 4 (decision A2 in docs/decisions.md). For a tone burst after silence: dB features lie
    in [−80, 0], reach exactly 0 (the per-file maximum, not in the dropped first frame) and exactly −80 (the
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
    """Oracle: arithmetic of decision A1 in docs/decisions.md. With centring, L = T·hop samples give 1 + L/hop frames;
    dropping the first leaves T, whatever the input length (fix_length makes it L). SHD: L = 32,000, T = 125
    (docs/method.md#what-the-tests-check)."""
    assert cfg.clip_samples == cfg.n_frames * cfg.hop_length
    if cfg.name == "shd":
        assert cfg.clip_samples == 32000
    rng = np.random.default_rng(0)
    for n in (cfg.clip_samples, cfg.clip_samples // 3, cfg.clip_samples * 2):
        assert F.log_mel(rng.standard_normal(n), cfg).shape == (cfg.n_frames, cfg.n_mels)
    p = F.power_spectrogram(rng.standard_normal(cfg.clip_samples), cfg.n_fft, cfg.hop_length)
    assert p.shape[1] == 1 + cfg.clip_samples // cfg.hop_length


def test_fix_length_keep_last_left_pad():
    """Oracle: definition (step 2 of docs/method.md#heidelberg-digits-shd). pad='left' keeps the last L samples /
    left-pads with zeros; pad='right' keeps the first / right-pads. Exact."""
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
    """Oracle: to_dict/from_dict round-trip exactly; bad values are UserInputErrors; presets match
    docs/method.md#heidelberg-digits-shd and docs/method.md#google-speech-commands."""
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


# ---------------------------------------------------------------------------------------------- second implementation
def _librosa():
    return pytest.importorskip("librosa")


_MEL_CASES = [F.shd(), F.gsc_paper(), F.FeatureConfig(sample_rate=22050, n_fft=512, n_mels=40, fmin=0.0, fmax=None)]


@pytest.mark.parametrize("cfg", _MEL_CASES, ids=["shd", "gsc_paper", "22k_512_40"])
@pytest.mark.parametrize("norm, lnorm", [("l1", 1), ("slaney", "slaney")], ids=["l1", "slaney"])
def test_mel_filterbank_matches_librosa(cfg, norm, lnorm):
    """Oracle: librosa.filters.mel (second implementation, htk=False, dtype float64). librosa ≥ 0.8 reads a
    numeric norm as the p-norm of each filter (norm=1: every filter sums to 1, our 'l1'), and norm='slaney'
    as area normalisation 2/(f_{m+2} − f_m) (our 'slaney'), per its filters.mel docstring. Both build the same
    float64 triangles, so the tolerance is float64 rounding: 1e-12 of the largest weight."""
    lr = _librosa()
    ours = F.mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.f_max, norm)
    ref = lr.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.f_max,
                         htk=False, norm=lnorm, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12 * ref.max())


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
def test_power_spectrogram_matches_librosa_stft(pad_mode):
    """Oracle: |librosa.stft(center=True, window='hann', pad_mode=…)|² on float64 input (complex128 output).
    Same periodic Hann window and centring, so only FFT rounding differs: tolerance 1e-9 of the maximum."""
    lr = _librosa()
    x = np.random.default_rng(4).standard_normal(16000)
    for n_fft, hop in ((1024, 128), (1024, 256), (512, 160)):
        ours = F.power_spectrogram(x, n_fft, hop, pad_mode=pad_mode)
        ref = np.abs(lr.stft(x, n_fft=n_fft, hop_length=hop, window="hann", center=True, pad_mode=pad_mode)) ** 2
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9 * ref.max())


@pytest.mark.parametrize("cfg", [F.gsc_paper(normalise=False), F.shd(normalise=False),
                                 F.gsc_paper(normalise=False, mel_norm="slaney")],
                         ids=["gsc_paper", "shd", "gsc_paper_slaney"])
def test_log_mel_db_matches_librosa(cfg):
    """Oracle: librosa up to the dB step: power_to_db(sqrt(melspectrogram(power=2, center=True,
    pad_mode='reflect', htk=False, norm=…)), ref=np.max, amin=1e-10, top_db=80), first frame dropped, which is
    exactly step 4 of docs/method.md#heidelberg-digits-shd (10·log10 of the magnitude minus the per-file maximum, floor
    −80 dB). Tolerance 1e-5 dB: librosa's melspectrogram builds its mel basis in float32 (relative rounding ≤ 6e-8,
    i.e. ≤ 3e-7 dB after the square root); observed ≈ 2e-7 dB."""
    lr = _librosa()
    rng = np.random.default_rng(7)
    n = cfg.clip_samples
    t = np.arange(n) / cfg.sample_rate
    x = rng.standard_normal(n) * np.hanning(n) + np.sin(2 * np.pi * 700 * t) * (t > t[-1] / 2)
    ours = F.log_mel_db(x, cfg)
    S = lr.feature.melspectrogram(y=x, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                  power=2.0, center=True, pad_mode="reflect", n_mels=cfg.n_mels, fmin=cfg.fmin,
                                  fmax=cfg.f_max, htk=False, norm=1 if cfg.mel_norm == "l1" else "slaney")
    ref = lr.power_to_db(np.sqrt(S), ref=np.max, amin=1e-10, top_db=80.0)[:, 1:].T
    assert ours.shape == ref.shape == (cfg.n_frames, cfg.n_mels)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_features_of_a_clip_do_not_depend_on_other_clips():
    """Oracle: decision A2 in docs/decisions.md (per-file dB reference, per-file z-score). A clip's features are the
    same whether it is computed alone or after/among louder and quieter clips (exact equality)."""
    rng = np.random.default_rng(11)
    clips = [g * rng.standard_normal(16000) for g in (0.01, 1.0, 30.0)]
    for cfg in (F.gsc_paper(), F.gsc_head(), F.gsc_head(normalise=True)):
        alone = F.compute_features(clips[1], cfg)
        batch = [F.compute_features(c, cfg) for c in clips]
        np.testing.assert_array_equal(batch[1], alone)


# ---------------------------------------------------------------------------------------------- Kaldi fbank
def _kaldi_reference(x, sr=16000, n_mels=40, frame_ms=25.0, shift_ms=10.0, low=20.0, high=0.0, k=0.97):
    """Straightforward per-frame Kaldi fbank (compute-fbank-feats, written after Kaldi's C++ loops rather than
    the vectorised library code): frame mean removal, in-place backwards pre-emphasis with
    x[0] -= k·x[0], povey window pow(0.5 − 0.5·cos(2πi/(N−1)), 0.85), zero-padding to a power of two,
    power spectrum, mel triangles evaluated on 1127·ln(1 + f/700), log with float32-epsilon floor."""
    size, shift = int(sr * frame_ms / 1000), int(sr * shift_ms / 1000)
    nfft = 1
    while nfft < size:
        nfft *= 2
    win = [math.pow(0.5 - 0.5 * math.cos(2 * math.pi * i / (size - 1)), 0.85) for i in range(size)]

    def mel(f):
        return 1127.0 * math.log(1.0 + f / 700.0)

    hi = high + sr / 2 if high <= 0 else high
    mlo, mhi = mel(low), mel(hi)
    d = (mhi - mlo) / (n_mels + 1)
    banks = np.zeros((n_mels, nfft // 2 + 1))
    for b in range(n_mels):
        left, centre, right = mlo + b * d, mlo + (b + 1) * d, mlo + (b + 2) * d
        for j in range(nfft // 2):
            m = mel(j * sr / nfft)
            if left < m < right:
                banks[b, j] = (m - left) / (centre - left) if m <= centre else (right - m) / (right - centre)
    n_frames = 1 + (len(x) - size) // shift
    out = np.empty((n_frames, n_mels))
    for t in range(n_frames):
        fr = [float(v) for v in x[t * shift:t * shift + size]]
        mean = sum(fr) / size
        fr = [v - mean for v in fr]
        for i in range(size - 1, 0, -1):
            fr[i] -= k * fr[i - 1]
        fr[0] -= k * fr[0]
        padded = np.zeros(nfft)
        padded[:size] = [v * w for v, w in zip(fr, win)]
        spec = np.fft.fft(padded)[:nfft // 2 + 1]
        out[t] = np.log(np.maximum(banks @ (spec.real ** 2 + spec.imag ** 2), np.finfo(np.float32).eps))
    return out


def test_kaldi_fbank_matches_per_frame_reference():
    """Oracle: the independent per-frame Kaldi implementation above (torchaudio cannot be installed next to the
    pinned torch). Both are float64; tolerance 1e-8 in log units (FFT and summation-order rounding). Input:
    a 16 kHz noise burst plus a tone, shorter than 1 s so that left padding is exercised via kaldi_features."""
    rng = np.random.default_rng(5)
    t = np.arange(12000) / 16000
    x = 0.3 * rng.standard_normal(12000) + 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05
    cfg = F.gsc_head()
    xp = np.concatenate([np.zeros(16000 - x.size), x])
    ref = _kaldi_reference(xp)
    ours = F.kaldi_fbank(xp, cfg)
    assert ours.shape == ref.shape == (98, 40)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-8)
    full = F.kaldi_features(x, cfg)  # keep-last / left-pad to 16,000 samples, float32
    assert full.dtype == np.float32 and full.shape == (98, 40)
    np.testing.assert_allclose(full, ref, rtol=1e-6, atol=1e-5)


def test_kaldi_fbank_frame_count_and_defaults():
    """Oracle: docs/method.md#google-speech-commands arithmetic and torchaudio defaults. 25 ms / 10 ms at 16 kHz = 400 /
    160 samples, FFT 512, T = 1 + (16,000 − 400)//160 = 98; Δt_A = 1/98; mel edge 20 Hz to 8 kHz; no normalisation.
    Without snip_edges T = (N + 80)//160 = 100. The config round-trips through to_dict/config_from_dict."""
    cfg = F.gsc_head()
    assert (cfg.window_size, cfg.window_shift, cfg.padded_window_size) == (400, 160, 512)
    assert cfg.n_frames == 98 == 1 + (16000 - 400) // 160
    assert cfg.frame_dt == pytest.approx(1 / 98) and cfg.hop_seconds == pytest.approx(0.010)
    assert (cfg.low_freq, cfg.f_high, cfg.n_mels, cfg.preemphasis, cfg.window_type) == (20.0, 8000.0, 40, 0.97,
                                                                                      "povey")
    assert cfg.remove_dc_offset and cfg.snip_edges and not cfg.normalise and cfg.pad == "left"
    x = np.random.default_rng(0).standard_normal(16000)
    assert F.kaldi_fbank(x, cfg).shape == (98, 40)
    assert F.kaldi_fbank(x, F.gsc_head(snip_edges=False)).shape == (100, 40)
    assert F.compute_features(x[:5000], cfg).shape == (98, 40)
    d = cfg.to_dict()
    assert d["front_end"] == "kaldi_fbank" and F.config_from_dict(d) == cfg
    assert F.config_from_dict(F.gsc_paper().to_dict()) == F.gsc_paper()
    json_ok = json.loads(json.dumps(d))
    assert F.KaldiFbankConfig.from_dict(json_ok) == cfg
    z = F.compute_features(x, F.gsc_head(normalise=True)).astype(np.float64)
    assert abs(z.mean()) < 1e-5 and z.std(ddof=1) == pytest.approx(1.0, abs=1e-5)


def test_kaldi_banks_and_window_shape():
    """Oracle: Kaldi definitions. Filter m peaks (value 1) at the FFT bin nearest its centre
    700·(exp(mel_c/1127) − 1), centres equally spaced in Kaldi mel from mel(20 Hz) to mel(8 kHz); the Nyquist
    column is zero; the povey window is 0 at both ends and 1 in the middle (odd length) and equals the
    symmetric Hann window to the power 0.85."""
    b = F.kaldi_mel_banks(40, 512, 16000, 20.0, 0.0)
    assert b.shape == (40, 257) and np.all(b[:, -1] == 0) and b.max() <= 1.0
    lo, hi = F.kaldi_mel_scale(20.0), F.kaldi_mel_scale(8000.0)
    centres = F.kaldi_mel_to_hz(lo + (np.arange(40) + 1) * (hi - lo) / 41)
    assert np.all(np.abs(np.argmax(b, axis=1) - np.round(centres / 31.25)) <= 1)
    assert F.kaldi_mel_scale(700.0) == pytest.approx(1127 * math.log(2))
    w = F.kaldi_window("povey", 401)
    assert w[0] == 0.0 and w[-1] == pytest.approx(0.0, abs=1e-12) and w[200] == pytest.approx(1.0)
    np.testing.assert_allclose(w, np.hanning(401) ** 0.85, atol=1e-12)


@pytest.mark.parametrize("band", [3, 12, 25, 36])
def test_kaldi_pure_tone_peaks_in_its_bin(band):
    """Oracle: a pure tone at the centre frequency of fbank bin b (Kaldi mel) has its largest time-averaged
    fbank output in bin b exactly: that triangle is 1 there and both neighbours are 0 at that frequency."""
    cfg = F.gsc_head()
    lo, hi = F.kaldi_mel_scale(cfg.low_freq), F.kaldi_mel_scale(cfg.f_high)
    f0 = float(F.kaldi_mel_to_hz(lo + (band + 1) * (hi - lo) / (cfg.n_mels + 1)))
    t = np.arange(16000) / 16000
    fb = F.compute_features(0.5 * np.sin(2 * np.pi * f0 * t), cfg)
    assert int(np.argmax(fb.mean(axis=0))) == band


def test_kaldi_config_errors():
    """Oracle: validation rules; bad values are UserInputErrors."""
    for bad in (dict(n_mels=3), dict(window_type="blackmanharris"), dict(low_freq=9000.0), dict(high_freq=9000.0),
                dict(preemphasis=1.5), dict(pad="middle"), dict(n_samples=100), dict(normalise="yes"),
                dict(front_end="other")):
        with pytest.raises(UserInputError):
            F.gsc_head(**bad)
    with pytest.raises(UserInputError):
        F.KaldiFbankConfig.from_dict({"n_mels": 40, "bogus": 1})
    with pytest.raises(UserInputError):
        F.compute_features(np.zeros(16000), F.gsc_head(), sample_rate=8000)
    with pytest.raises(UserInputError):
        F.kaldi_fbank(np.zeros(100), F.gsc_head())
    with pytest.raises(UserInputError):
        F.compute_features(np.zeros(16000), {"name": "x"})
