"""Rate vs temporal coding metrics (lprnn_brian.analysis.coding) and the coding facts of equations.derive.

Every metric is checked on a signal whose answer is known independently: a tone in Gaussian noise of known σ,
white noise (flat spectrum of known level), a textbook first-order ΣΔ modulator written here (+20 dB/decade
noise shaping), the Bernoulli rate code (analytic noise through the filter's noise bandwidth), the discrete
distribution of a rounded Gaussian shift, the binomial law of deletions, and, for the network read-out, the
SNN's own recorded decodes. Tolerances come from the sampling error of each estimate (stated per test).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from conftest import random_model
from scipy.stats import norm

from lprnn_brian.analysis import coding as C
from lprnn_brian.convert import to_snn_spec
from lprnn_brian.equations import derive
from lprnn_brian.equations import sigma_delta as sd
from lprnn_brian.errors import UserInputError
from lprnn_brian.simulation import simulate


# --- SNR and spectra ----------------------------------------------------------------------------------------

def test_snr_of_a_tone_in_gaussian_noise_is_signal_power_over_noise_variance():
    """Tone A = 1 (power A²/2, exact over whole periods) plus N(0, σ = 0.1): 10·log10(50) = 16.99 dB.

    The only error is the estimated noise power: mean of N = 200,000 squared Gaussians has relative sd
    sqrt(2/N) = 0.32 %, i.e. 0.0137 dB; tolerance 3 sd = 0.041 dB."""
    N, dt, f0, A, sigma = 200_000, 1e-3, 50.0, 1.0, 0.1  # 20 samples per period: whole periods
    t = np.arange(N) * dt
    tone = A * np.sin(2 * np.pi * f0 * t)
    noisy = tone + np.random.default_rng(0).normal(0.0, sigma, N)
    expected = 10 * math.log10((A**2 / 2) / sigma**2)
    tol = 3 * 10 / math.log(10) * math.sqrt(2 / N)
    assert C.snr_db(tone, noisy) == pytest.approx(expected, abs=tol)


def test_white_noise_has_a_flat_spectrum_at_two_sigma_squared_dt():
    """White N(0, σ = 0.5), dt = 1 ms, N = 2^17, Welch segments of 256 (≈ 1023 segments, 50 % overlap).

    Each bin's estimate has relative sd ≈ 1/sqrt(K_eff) ≈ 3.3 % (K_eff ≈ 0.9 K for Hann at 50 % overlap);
    the level is the mean over ~120 bins (adjacent Hann bins correlated, ≥ 40 independent): sd ≤ 0.6 %;
    tolerance 3 %. The slope: per-bin sd 0.14 dB over a log10-frequency spread sd ≈ 0.3 decade and ≥ 40
    independent bins gives a slope sd ≈ 0.08 dB/decade (seeds 0–2 gave 0.04, 0.09, −0.07); tolerance
    0.5 dB/decade."""
    sigma, dt, N = 0.5, 1e-3, 2**17
    w = np.random.default_rng(1).normal(0.0, sigma, N)
    freq, psd = C.error_spectrum(w, dt, nperseg=256)
    assert freq[-1] == pytest.approx(1 / (2 * dt))
    interior = (freq > 4) & (freq < 480)
    assert psd[interior].mean() == pytest.approx(2 * sigma**2 * dt, rel=0.03)
    assert C.spectral_slope(freq, psd, (8.0, 450.0)) == pytest.approx(0.0, abs=0.5)


def test_error_spectrum_averages_columns():
    """A 2-D error's spectrum is the mean of its columns' spectra (two columns of different variance)."""
    rng = np.random.default_rng(2)
    e = rng.normal(0.0, 1.0, (4096, 2)) * np.array([1.0, 3.0])
    f, p2 = C.error_spectrum(e, 0.01, nperseg=512)
    p_a = C.error_spectrum(e[:, 0], 0.01, nperseg=512)[1]
    p_b = C.error_spectrum(e[:, 1], 0.01, nperseg=512)[1]
    np.testing.assert_allclose(p2, (p_a + p_b) / 2, rtol=1e-12)


def test_first_order_sigma_delta_modulator_shapes_its_error_at_plus_20_db_per_decade():
    """Textbook first-order ΣΔ (integrator u, 1-bit quantiser; written here): y_n = [u_{n−1} + x_n ≥ ½],
    u_n = u_{n−1} + x_n − y_n, so y − x = −(u_n − u_{n−1}), the bounded u shaped by (1 − z⁻¹).

    Four channels of a slow sine (period 4096 steps, random phases), 2^16 steps, Welch 4096, band
    0.001–0.05 cycles/step (well below Nyquist, above the signal). Theory for white u: the slope of
    |1 − e^{−iω}|² fitted over that band, 19.9 dB/decade (the derived asymptote is +20). The quantisation
    error of a first-order modulator is tonal rather than white (single channels gave 19.6–20.5 over three
    seeds), hence a tolerance of 1.5 dB/decade."""
    N, K = 2**16, 4
    rng = np.random.default_rng(3)
    n = np.arange(N)[:, None]
    x = 0.5 + 0.4 * np.sin(2 * np.pi * n / 4096 + rng.uniform(0, 2 * np.pi, K))
    u = np.zeros(K)
    y = np.zeros((N, K))
    for k in range(N):
        v = u + x[k]
        y[k] = v >= 0.5
        u = v - y[k]
    assert np.max(np.abs(u)) <= 1  # the integrator stays bounded: the error is a first difference
    freq, psd = C.error_spectrum(y - x, 1.0, nperseg=4096)
    band = (0.001, 0.05)
    sel = (freq >= band[0]) & (freq <= band[1])
    shaped = 10 * np.log10(4 * np.sin(np.pi * freq[sel]) ** 2)
    theory = np.polyfit(np.log10(freq[sel]), shaped, 1)[0]
    assert theory == pytest.approx(float(derive.error_asymptotic_slope()), abs=0.3)
    assert C.spectral_slope(freq, psd, band) == pytest.approx(theory, abs=1.5)


def test_spectral_slope_refuses_a_band_without_frequencies():
    with pytest.raises(UserInputError, match="band"):
        C.spectral_slope(np.array([0.0, 1.0, 2.0]), np.ones(3), (5.0, 6.0))


# --- the Bernoulli rate code ------------------------------------------------------------------------------

def _slow_signal(N=51_000, period=5000):
    """ξ = ½ + ½ sin, 10 whole periods after a 1000-step warm-up of the filter."""
    n = np.arange(N)
    return 0.5 + 0.5 * np.sin(2 * np.pi * n / period)


WARMUP, K, TAU = 1000, 16, 32.0


def test_poisson_code_snr_after_affine_decoding_matches_the_analytic_value():
    """Bernoulli spikes p = p_max·ξ, 16 channels × 50,000 steps, read through filter_spikes (τ = 32) and the
    least-squares decoder. Oracle: SNR = var(p)/(E[p(1−p)]·Σh²), Σh² = 1/(2τ − 1), and 1 + SNR after the
    affine fit (derive.rate_code_snr, derive.affine_decoder_snr).

    Filter distortion: ωτ = 2π·32/5000 = 0.04, a (ωτ)² = 0.16 % signal error, ≤ 0.01 dB here. Sampling:
    over six seeds the per-point sd was 0.05–0.1 dB (above the Gaussian 0.04 dB: sparse filtered Bernoulli
    noise is heavy-tailed); tolerance 0.3 dB."""
    xi = _slow_signal()
    X = np.repeat(xi[:, None], K, axis=1)
    rng = np.random.default_rng(4)
    for p_max in (0.05, 0.2):
        r = C.filter_spikes(C.poisson_encode(X, p_max, rng), TAU)[WARMUP:]
        est, coef = C.affine_decode(r, xi[WARMUP:])
        assert coef.shape == (2, K)
        # gain: cov(ξ, r)/var(r) = (1/p_max)·SNR/(1 + SNR), the shrinkage of a least-squares fit (its
        # relative error is that of the noise variance, ~2 % per channel; tolerance 5 % on the median)
        snr = 10 ** (C.rate_code_snr_db(xi[WARMUP:], p_max, TAU, affine=False) / 10)
        assert np.median(coef[0]) == pytest.approx(snr / (1 + snr) / p_max, rel=0.05)
        got = np.mean(C.snr_db(xi[WARMUP:], est))
        assert got == pytest.approx(C.rate_code_snr_db(xi[WARMUP:], p_max, TAU), abs=0.3)


def test_poisson_code_snr_grows_ten_db_per_decade_of_rate():
    """Noise-only SNR of the filtered train (reference: the filtered ideal ξ, so no distortion at all) at
    p_max = 0.005…0.05. Analytic: SNR ∝ p_max/(1 − p_max·E[ξ²]/E[ξ]) → a slope of 10.15 dB/decade here,
    ≈ 10 for sparse spikes. Points have sd ≈ 0.07 dB over a 1-decade span: slope sd ≈ 0.1; tolerance 0.5."""
    xi = _slow_signal()
    X = np.repeat(xi[:, None], K, axis=1)
    ref = C.filter_spikes(X, TAU)[WARMUP:]
    rng = np.random.default_rng(5)
    dt = 1e-3
    p_maxes = np.array([0.005, 0.01, 0.02, 0.05])
    measured = [np.mean(C.snr_db(ref, C.filter_spikes(C.poisson_encode(X, p, rng), TAU)[WARMUP:] / p))
                for p in p_maxes]
    analytic = [C.rate_code_snr_db(xi[WARMUP:], p, TAU, affine=False) for p in p_maxes]
    rates = p_maxes * xi.mean() / dt  # spikes per second
    np.testing.assert_allclose(measured, analytic, atol=0.3)
    expected = C.rate_slope(rates, analytic)
    assert expected == pytest.approx(10.0, abs=0.3)
    assert C.rate_slope(rates, measured) == pytest.approx(expected, abs=0.5)


def test_affine_decode_recovers_an_exact_affine_map_and_handles_a_silent_neuron():
    """signal = (f − 3)/2 exactly: gain 0.5, offset −1.5; a constant feature decodes to the signal mean."""
    f = np.linspace(0, 10, 101)
    feats = np.stack([f, np.full_like(f, 7.0)], axis=1)
    est, coef = C.affine_decode(feats, (f - 3) / 2)
    np.testing.assert_allclose(coef[:, 0], [0.5, -1.5], atol=1e-12)
    np.testing.assert_allclose(est[:, 0], (f - 3) / 2, atol=1e-12)
    np.testing.assert_allclose(est[:, 1], np.mean((f - 3) / 2), atol=1e-12)


# --- latency ----------------------------------------------------------------------------------------------

def test_step_latency_of_an_exponential_approach():
    """d = T(1 − e^{−k/τ}) after the step at n0: within tol from k* = ⌈τ ln(T/tol)⌉ on (exact oracle);
    a trace that ends outside tolerance never settles."""
    n0, T, tol, dt = 100, 2.0, 0.05, 1e-3
    taus = np.array([5.0, 12.0, 30.0])
    n = np.arange(600)[:, None]
    d = np.where(n >= n0, T * (1 - np.exp(-(n - n0) / taus)), 0.0)
    expected = np.ceil(taus * np.log(T / tol)) * dt
    np.testing.assert_allclose(C.step_latency(d, T, n0, dt, tol), expected, rtol=1e-12)
    assert C.step_latency(d[:, 0], T, n0, dt, tol) == pytest.approx(expected[0])
    assert C.step_latency(d[:, 2] * 0.5, T, n0, dt, tol) == math.inf


# --- perturbations ----------------------------------------------------------------------------------------

def _rounded_gaussian_moments(sigma: float) -> tuple[float, float]:
    """Variance and 4th moment of round(N(0, σ)) from its exact discrete distribution."""
    k = np.arange(-int(12 * sigma) - 2, int(12 * sigma) + 3)
    prob = norm.cdf((k + 0.5) / sigma) - norm.cdf((k - 0.5) / sigma)
    return float(np.sum(k**2 * prob)), float(np.sum(k**4 * prob))


@pytest.mark.parametrize("sigma", [0.4, 3.0])
def test_jitter_keeps_the_spike_count_and_has_the_requested_spread(sigma):
    """50,000 spikes (one per neuron) at step 500 of 1000: no shift reaches an edge (> 100 σ away), so the
    count is exact. The shift variance equals that of round(N(0, σ)) (0.0625 for σ = 0.4, where rounding
    dominates; 9.083 for σ = 3); tolerance 4 sd of a sample variance, sqrt((m4 − var²)/N)."""
    N = 50_000
    ev = np.stack([np.zeros(N, int), np.arange(N), np.full(N, 500)], axis=1).astype(np.int32)
    out = C.jitter_events(ev, sigma, 1000, np.random.default_rng(6))
    assert out.shape == ev.shape and out.dtype == ev.dtype
    assert np.all(np.diff(out[:, 2]) >= 0)  # time order
    shift = out[np.argsort(out[:, 1]), 2].astype(float) - 500
    var, m4 = _rounded_gaussian_moments(sigma)
    assert np.mean(shift**2) == pytest.approx(var, abs=4 * math.sqrt((m4 - var**2) / N))
    assert abs(shift.mean()) <= 4 * math.sqrt(var / N)


def test_jitter_at_the_edges_clips_or_drops():
    """Spikes at step 0: 'clip' keeps all (moved into [0, n)); 'drop' loses those shifted below 0, a
    binomial fraction P(round(N(0, 5)) < 0) = Φ(−0.5/5); tolerance 4 binomial sd."""
    N, sigma = 20_000, 5.0
    ev = np.stack([np.arange(N), np.zeros(N, int)], axis=1)  # (neuron, step) rows
    clipped = C.jitter_events(ev, sigma, 100, np.random.default_rng(7), edge="clip")
    assert len(clipped) == N and clipped[:, 1].min() >= 0 and clipped[:, 1].max() < 100
    dropped = C.jitter_events(ev, sigma, 100, np.random.default_rng(7), edge="drop")
    q = norm.cdf(-0.5 / sigma)
    assert N - len(dropped) == pytest.approx(N * q, abs=4 * math.sqrt(N * q * (1 - q)))


def test_deletion_removes_a_binomial_fraction():
    """Each of 100,000 spikes dropped with probability 0.3: removed count within 4 sd = 4·sqrt(N f(1−f))."""
    N, frac = 100_000, 0.3
    ev = np.stack([np.zeros(N, int), np.arange(N) % 37, np.arange(N)], axis=1).astype(np.int32)
    rng = np.random.default_rng(8)
    kept = C.delete_events(ev, frac, rng)
    assert N - len(kept) == pytest.approx(N * frac, abs=4 * math.sqrt(N * frac * (1 - frac)))
    assert len(C.delete_events(ev, 0.0, rng)) == N and len(C.delete_events(ev, 1.0, rng)) == 0
    with pytest.raises(UserInputError):
        C.delete_events(ev, 1.5, rng)


def test_information_per_spike_is_shannon_hartley_over_rate():
    """30 dB (SNR 1000), B = 10 Hz, 20 spikes/s: 10·log2(1001)/20 = 4.98361 bits/spike (by hand:
    ln 1001 / ln 2 = 9.967226); 0 dB gives B/rate bits."""
    assert C.information_per_spike(30.0, 10.0, 20.0) == pytest.approx(4.983613, abs=1e-6)
    assert C.information_per_spike(0.0, 10.0, 20.0) == pytest.approx(0.5)


# --- the symbolic coding facts of equations.derive ---------------------------------------------------------

def _impulse_response(tau: float, L: int = 2**14) -> np.ndarray:
    delta = np.zeros(L)
    delta[0] = 1.0
    return C.filter_spikes(delta, tau)


@pytest.mark.parametrize("tau", [4.0, 64.0])
def test_reconstruction_transfer_equals_the_fft_of_filter_spikes_impulse_response(tau):
    """R(e^{iω}) from the declaration vs the FFT of the numeric filter's impulse response (truncated after
    2^14 steps: the tail α^L ≤ e^{−256} is nil); also the sum of squares Σh² = 1/(2τ − 1)."""
    h = _impulse_response(tau)
    fft = np.fft.rfft(h)
    w = 2 * np.pi * np.fft.rfftfreq(len(h))
    R = sp.lambdify((derive.z, sd.tau_S), derive.reconstruction_transfer(), "numpy")
    np.testing.assert_allclose(R(np.exp(1j * w), tau), fft, rtol=1e-9, atol=1e-12)
    assert float(derive.filter_noise_gain().subs(sd.tau_S, tau)) == pytest.approx(np.sum(h**2), rel=1e-12)
    assert np.sum(h) == pytest.approx(1.0, rel=1e-12)  # unit DC gain


def test_error_transfer_power_gain_corner_and_slope():
    """|E|² from derive vs |FFT([τ, −(τ − 1)])|² (E = τ(z − α_S), |E(1)| = 1); at the exact corner the gain
    is 2; τ·ω_c = 1 + 1/(2τ) + O(τ⁻²) (checked to 1/τ² at τ = 64); the local slope equals a finite
    difference of 10·log10|E|² over log10 ω, and approaches +20 dB/decade between corner and Nyquist."""
    fn = derive.coding_functions()
    tau, L = 64.0, 4096
    fir = np.zeros(L)
    fir[:2] = [tau, -(tau - 1)]
    w = 2 * np.pi * np.fft.rfftfreq(L)
    np.testing.assert_allclose(fn["error_power_gain"](w, tau), np.abs(np.fft.rfft(fir)) ** 2, rtol=1e-10)
    wc = fn["error_corner"](tau)
    assert fn["error_power_gain"](wc, tau) == pytest.approx(2.0, rel=1e-12)
    assert tau * wc == pytest.approx(float(derive.error_corner_frequency_asymptote().subs(sd.tau_S, tau)),
                                     abs=1 / tau**2)
    slope = sp.lambdify((derive.omega, sd.tau_S), derive.error_shaping_slope(), "numpy")
    gain_db = lambda om: 10 * np.log10(fn["error_power_gain"](om, tau))  # noqa: E731
    for om in (0.5 * wc, 3 * wc, 0.5):
        h = 1e-5
        fd = (gain_db(om * 10**h) - gain_db(om * 10**-h)) / (2 * h)
        assert slope(om, tau) == pytest.approx(fd, rel=1e-6)
    assert float(derive.error_asymptotic_slope()) == 20
    assert slope(0.02, 4096.0) == pytest.approx(20.0, abs=0.1)  # corner 2.4e-4 ≪ ω ≪ π


# --- the network read-out recomputed from spikes ------------------------------------------------------------

@pytest.fixture(scope="module")
def runs():
    """A tiny network (lpff 6→10, lprnn 12, dense 4; 20 frames, 285 steps) on six inputs whose read-out
    classes differ, simulated on the numpy target in both modes."""
    from brian2 import prefs, set_device

    set_device("runtime")
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        model = random_model(np.random.default_rng(5), sizes=(6, 10, 12, 4), bias_scale=1.0)
        rng = np.random.default_rng(1)
        x = rng.normal(0, 3, size=(6, 1, model.n_inputs)) + rng.normal(0, 1, size=(6, model.n_frames,
                                                                                   model.n_inputs))
        out = {mode: simulate(to_snn_spec(model, mode=mode), x, target="numpy") for mode in ("float", "loihi")}
    finally:
        prefs.codegen.target = old
        set_device("runtime")
    return out


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_offline_readout_reproduces_the_snn_decodes(mode, runs):
    """Replaying the read-out from the last hidden layer's spikes gives the SNN's own ``in`` and ``ip``
    predictions exactly and its decodes to float rounding (measured ≤ 3e-17 on decodes of ~0.2; tolerance
    1e-12 absolute). In Loihi mode the replay is exact too: every state is an integer, α_U = 1 − d/4096 is a
    binary fraction, so the products are exact and the truncation sees the same numbers."""
    r = runs[mode]
    assert len(set(r.predictions("in").tolist())) > 1  # the test can tell classes apart
    for decode in ("in", "ip"):
        for window in ("second_half", "all"):
            got = C.readout_from_spikes(r.spec, r.spikes[-2], r.n_samples, window, decode)
            np.testing.assert_allclose(got, r.decodes[decode][window][-1], rtol=0, atol=1e-12)
            np.testing.assert_array_equal(np.argmax(got, axis=1), r.predictions(decode, window))


def test_robustness_without_perturbation_agrees_and_jitter_keeps_counts(runs):
    """σ = 0 and fraction 0 reproduce the replay (agreement 1, RMSE 0, accuracy equal to the SNN's own
    against its labels); jitter keeps the spike count; deletion of half removes a binomial share
    (4 sd); decode error grows with deletion (the read-out is linear in the spikes: deleting a fraction f
    scales the spike-driven part of i_in by 1 − f on average)."""
    r = runs["float"]
    labels = r.predictions("in")
    rows = C.robustness(r, sigmas=(0, 2, 8), fractions=(0, 0.1, 0.5), seed=3, labels=labels)
    by = {(row["perturbation"], row["level"]): row for row in rows}
    n = len(r.spikes[-2])
    for key in (("jitter", 0.0), ("delete", 0.0)):
        assert by[key]["agreement"] == 1.0 and by[key]["rmse"] == 0.0 and by[key]["accuracy"] == 1.0
    assert all(by[("jitter", s)]["spikes"] == n for s in (0.0, 2.0, 8.0))
    assert by[("delete", 0.5)]["spikes"] == pytest.approx(n / 2, abs=4 * math.sqrt(n / 4))
    assert by[("delete", 0.1)]["rmse"] < by[("delete", 0.5)]["rmse"]


def test_readout_from_spikes_refuses_bad_input(runs):
    r = runs["float"]
    with pytest.raises(UserInputError, match="decode"):
        C.readout_from_spikes(r.spec, r.spikes[-2], r.n_samples, decode="fb")
    with pytest.raises(UserInputError, match="rows"):
        C.readout_from_spikes(r.spec, r.spikes[-2][:, 1:], r.n_samples)
