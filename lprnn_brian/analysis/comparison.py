"""The same signal encoded by each comparison neuron (ΣΔ, LIF, ALIF, SFA, and a Poisson rate code): decoding SNR
and information per spike against the spike rate, the spectrum of the encoding error, and robustness to jitter.

Decoding is the best linear read-out: a non-causal FIR kernel fitted by least squares on one half of the
signal and scored on the other (a cross-validated Wiener filter). This judges every code by what a linear
decoder can recover, so no neuron is handicapped by a filter chosen for another (a rate code's lag, the ΣΔ
neuron's own reconstruction filter, whose spike train carries x + τ dx/dt). A spectral (coherence) estimate was
tried first and dropped: Welch windowing biases 1 − C by about (τ/T_segment)², capping it near 30 dB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ..equations.derive import tau_seconds
from ..errors import UserInputError

#: Encoders compared, in plotting order.
ENCODERS = ("sigma_delta", "lif", "alif", "sfa", "poisson")
LABELS = {"sigma_delta": "ΣΔ (this package)", "lif": "LIF (rate code)", "alif": "ALIF (Yin 2021)",
          "sfa": "SFA / AHP (Plank 2021)", "poisson": "Poisson rate code"}
#: Low-pass time constant of the lpRNN used to time-scale the ΣΔ encoder: τ = −Δt_A/ln a, a = 0.8, Δt_A = 8 ms.
TAU_LPRNN = tau_seconds(0.8, 1 / 125)
#: Sampling step (s) of the comparison signal: fine enough to be read at the finest encoder step.
SIGNAL_DT = 1e-4


def bandlimited_signal(n: int, dt: float, cutoff_hz: float, rng: np.random.Generator, *, mean: float = 0.5,
                       sd: float = 0.15, lo: float = 0.02, hi: float = 0.98) -> np.ndarray:
    """Gaussian noise with a flat spectrum up to ``cutoff_hz`` (brick wall in the FFT), mean ``mean``, standard
    deviation ``sd``, clipped to [lo, hi] (clipping touches < 0.1 % of samples at the defaults)."""
    if cutoff_hz <= 0 or cutoff_hz >= 0.5 / dt:
        raise UserInputError(f"cutoff {cutoff_hz} Hz must lie in (0, Nyquist {0.5 / dt} Hz)")
    spec = np.fft.rfft(rng.standard_normal(n))
    spec[np.fft.rfftfreq(n, dt) > cutoff_hz] = 0.0
    z = np.fft.irfft(spec, n)
    z = (z - z.mean()) / z.std()
    return np.clip(mean + sd * z, lo, hi)


def comparison_signal(duration: float, rng: np.random.Generator, cutoff_hz: float = 2.0) -> np.ndarray:
    """The signal every encoder is given: :func:`bandlimited_signal` of ``duration`` seconds at :data:`SIGNAL_DT`."""
    return bandlimited_signal(int(duration / SIGNAL_DT), SIGNAL_DT, cutoff_hz, rng)


def signal_at(x: np.ndarray, dt: float, n: int) -> np.ndarray:
    """The comparison signal ``x`` read at ``n`` steps of ``dt`` (an encoder's own step)."""
    return resample_time(x, SIGNAL_DT, dt, n)


def resample_time(x: np.ndarray, dt_from: float, dt_to: float, n: int) -> np.ndarray:
    """``x`` (sampled at ``dt_from``) read at ``n`` steps of ``dt_to`` by linear interpolation (the signal is
    band-limited far below both sampling rates)."""
    t = np.arange(n) * dt_to
    if t[-1] > (len(x) - 1) * dt_from:
        raise UserInputError("the signal is too short for the requested resampling")
    return np.interp(t, np.arange(len(x)) * dt_from, x)


@dataclass
class LinearDecoding:
    """Best linear (FIR) read-out of a signal from a spike train, cross-validated (see :func:`linear_decoding`)."""

    rate_hz: float
    snr_db: float
    info_bits_per_s: float
    bits_per_spike: float
    kernel: np.ndarray = field(repr=False)


def _lowpass(v: np.ndarray, dt: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase brick-wall low-pass (FFT), for band-limiting before decimation."""
    F = np.fft.rfft(v)
    F[np.fft.rfftfreq(len(v), dt) > cutoff_hz] = 0.0
    return np.fft.irfft(F, len(v))


def linear_decoding(x: np.ndarray, spikes: np.ndarray, dt: float, band_hz: float, *, span_s: float = 0.5,
                    oversample: int = 10) -> LinearDecoding:
    """SNR (dB) of the best linear read-out of the band-limited signal ``x`` from ``spikes`` (1-D, step ``dt``).

    Both are low-passed (zero phase, brick wall) at ``band_hz`` and decimated to 2·``oversample``·``band_hz``
    samples/s: only the signal band is scored. A non-causal FIR kernel spanning ±``span_s`` plus an
    offset is fitted by least squares on the first half and the SNR = var(x)/mean((x − x̂)²) is measured on the
    second half (cross-validated: no reward for fitting noise). The information rate is the Gaussian-channel
    estimate ``band_hz``·log2(1 + SNR) (:func:`.coding.information_per_spike` per spike)."""
    from .coding import information_per_spike

    x = np.asarray(x, float)
    s = np.asarray(spikes, float)
    if x.shape != s.shape or x.ndim != 1:
        raise UserInputError(f"signal {x.shape} and spike train {s.shape} must be equal-length 1-D arrays")
    rate = float(s.mean() / dt)
    fs = 2 * oversample * band_hz
    q = max(1, int(round(1 / (dt * fs))))
    xd = _lowpass(x, dt, band_hz)[::q]
    sd = _lowpass(s, dt, band_hz)[::q]
    L = int(round(span_s / (q * dt)))
    if len(xd) < 8 * (2 * L + 2):
        raise UserInputError(f"signal of {len(x) * dt:.1f} s is too short to fit a ±{span_s} s decoder; give at "
                             f"least {8 * (2 * L + 2) * q * dt:.0f} s")
    lags = np.arange(-L, L + 1)
    rows = np.arange(L, len(xd) - L)
    A = np.column_stack([sd[rows + k] for k in lags] + [np.ones(len(rows))])
    half = len(rows) // 2
    # ridge: the band-limited lags are nearly collinear; a tiny penalty keeps the kernel out of the null space
    G = A[:half].T @ A[:half]
    G[np.diag_indices_from(G)] += 1e-9 * np.trace(G) / len(G)
    coef = np.linalg.solve(G, A[:half].T @ xd[rows[:half]])
    err = xd[rows[half:]] - A[half:] @ coef
    target = xd[rows[half:]]
    snr = target.var() / max(float(np.mean(err ** 2)), 1e-300)
    snr_db = float(10 * np.log10(snr))
    info = float(band_hz * np.log2(1 + snr))
    bps = float(information_per_spike(snr_db, band_hz, rate)) if rate > 0 else 0.0
    return LinearDecoding(rate, snr_db, info, bps, coef[:-1])


def encode(name: str, x: np.ndarray, knob: np.ndarray, *, rng: np.random.Generator | None = None
           ) -> tuple[list[np.ndarray], np.ndarray]:
    """Encode the signal with one neuron per knob value; return (one bool spike train per knob value, its step
    in seconds per knob value).

    The knob sets each encoder's rate the way that encoder allows:

    * ``sigma_delta``: τ_S in SNN steps at a fixed physical τ = :data:`TAU_LPRNN` (its step is τ/τ_S; the rate
      per step is fixed by the drive, c/Iin, so finer steps mean more spikes per second); drive ``x`` directly;
    * ``lif``, ``alif``, ``sfa``: the input gain (R, R_m), at the published step of 1 ms;
    * ``poisson``: the spike probability per step at full scale, at 1 ms.

    ``x``: the signal sampled at :data:`SIGNAL_DT` (:func:`comparison_signal`), values in [0, 1].
    """
    from ..encoding import simulate_neurons
    from ..equations.baselines import BASELINES

    knob = np.asarray(knob, float)
    if name == "sigma_delta":  # one run per step size: each covers the whole signal
        neuron = BASELINES[name]
        dts = TAU_LPRNN / knob
        trains = []
        for tau_S, d in zip(knob, dts):
            n = int(np.floor((len(x) - 1) * SIGNAL_DT / d))
            run = simulate_neurons(neuron, signal_at(x, d, n)[:, None], params={"tau_S": tau_S})
            # the comparator reads the previous step's drive (v uses the pre-step i_ip): align spikes with it
            trains.append(np.r_[run.spikes[1:, 0], False])
        return trains, dts
    dt = 1e-3
    xs = signal_at(x, dt, int(np.floor((len(x) - 1) * SIGNAL_DT / dt)))
    if name == "poisson":
        from .coding import poisson_encode

        rng = rng if rng is not None else np.random.default_rng(0)
        return [poisson_encode(xs, p, rng).astype(bool) for p in knob], np.full(len(knob), dt)
    if name not in BASELINES or name == "dpi":
        raise UserInputError(f"unknown encoder {name!r}; choose one of {ENCODERS}")
    gain = "R_m" if name == "alif" else "R"
    run = simulate_neurons(BASELINES[name], np.tile(xs[:, None], (1, len(knob))), params={gain: knob})
    return list(run.spikes.T), np.full(len(knob), dt)


#: Knob grids (quick, full) giving roughly 10–2,000 spikes/s for a drive of mean 0.5.
KNOBS = {
    "sigma_delta": (np.array([2.0, 8.0, 32.0]), np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])),
    "lif": (np.array([2.5, 10.0, 40.0]), np.array([2.2, 3.0, 5.0, 10.0, 20.0, 40.0, 80.0])),
    "alif": (np.array([0.2, 1.0, 5.0]), np.array([0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0])),
    "sfa": (np.array([2.5, 10.0, 40.0]), np.array([2.2, 3.0, 5.0, 10.0, 20.0, 40.0, 80.0])),
    "poisson": (np.array([0.02, 0.1, 0.5]), np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0])),
}


def rising_part(snr_db: np.ndarray, *, floor_db: float = 0.0, margin_db: float = 3.0) -> np.ndarray:
    """Mask of the points on which an SNR-vs-rate slope is fitted: from the first point above ``floor_db`` up to the
    first point within ``margin_db`` of the best SNR. This excludes an encoder's ceiling (one spike per step for
    a LIF, a nonlinearity a linear decoder cannot undo) and the points where nothing is decoded yet."""
    snr_db = np.asarray(snr_db, float)
    mask = np.zeros(len(snr_db), bool)
    above = np.flatnonzero(snr_db > floor_db)
    if above.size == 0:
        return mask
    top = int(np.flatnonzero(snr_db >= snr_db.max() - margin_db)[0])
    mask[above[0]:top + 1] = True
    return mask


def rate_sweep(*, duration: float = 60.0, cutoff_hz: float = 2.0, quick: bool = False, seed: int = 0,
               encoders=ENCODERS) -> dict:
    """Every encoder at every knob value on one band-limited signal: rate, SNR, information per spike.

    Returns ``{encoder: {"knob", "rate_hz", "snr_db", "bits_per_spike", "info_bits_per_s", "slope_db_per_decade",
    "fitted"}}``: the slope of SNR against log10(rate) is fitted by least squares over :func:`rising_part`."""
    from .coding import rate_slope

    rng = np.random.default_rng(seed)
    x = comparison_signal(duration, rng, cutoff_hz)
    out = {}
    for name in encoders:
        knobs = KNOBS[name][0 if quick else 1]
        spikes, dts = encode(name, x, knobs, rng=rng)
        rows = []
        for train, d in zip(spikes, dts):
            rows.append(linear_decoding(signal_at(x, d, len(train)), train, d, cutoff_hz))
        rate = np.array([r.rate_hz for r in rows])
        snr = np.array([r.snr_db for r in rows])
        fit = rising_part(snr)
        slope = rate_slope(rate[fit], snr[fit]) if fit.sum() >= 2 else None
        out[name] = {"knob": knobs.tolist(), "rate_hz": rate.tolist(), "snr_db": snr.tolist(),
                     "bits_per_spike": [r.bits_per_spike for r in rows],
                     "info_bits_per_s": [r.info_bits_per_s for r in rows], "slope_db_per_decade": slope,
                     "fitted": fit.tolist()}
    return out
