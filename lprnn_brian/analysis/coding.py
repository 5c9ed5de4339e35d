"""Rate vs temporal coding metrics on any spike train and the signal it encodes (issue 6).

Pure numpy/scipy over arrays: SNR, error spectra and their slope (noise shaping), latency, spike jitter and
deletion, information per spike, a Poisson reference code, and the network-level robustness of a simulation.

Conventions: dense spike trains are (steps, neurons) bool/int arrays (1-D for one neuron); event arrays are
(n_spikes, k) integer rows whose last column is the step (``SimulationResult.spikes[layer]``: k = 3 rows
(sample, neuron, step); (neuron, step) rows work too). ``dt`` is the step in seconds (a plain float).
Symbolic facts (the reconstruction filter, noise gains, shaping) come from :mod:`lprnn_brian.equations.derive`.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from ..ann.forward import readout_start
from ..equations import derive, numeric
from ..errors import UserInputError

EDGES = ("clip", "drop")
PERTURBATIONS = ("jitter", "delete")
READOUT_DECODES = ("in", "ip")
#: Memory bound of one replay's spike and drive arrays (bytes); larger runs are replayed in groups of samples.
_REPLAY_BYTES = 256e6


# --- reconstruction and decoding ------------------------------------------------------------------------

def filter_spikes(spikes, tau_steps: float) -> np.ndarray:
    r"""The ΣΔ neuron's reconstruction of a spike train (docs/method.md#why-the-spikes-reproduce-the-rate-network),
    causal and of unit DC gain.

    :math:`\bar r(n) = \frac1\tau \sum_{k\ge0} (1 - 1/\tau)^k s_{n-1-k}`: exactly −i_fb/Iin_snn of a neuron
    with τ_S = ``tau_steps`` (coefficients from :func:`lprnn_brian.equations.derive.reconstruction_transfer`).

    Parameters
    ----------
    spikes : array_like
        (steps,) or (steps, neurons) spike counts per step.
    tau_steps : float
        Filter time constant in steps (≥ 1).

    Returns
    -------
    ndarray
        float64, same shape: the filtered train in spikes per step.
    """
    if not tau_steps >= 1:
        raise UserInputError(f"tau_steps must be at least 1 step, got {tau_steps}")
    fn = derive.coding_functions()
    b = np.asarray(fn["filter_b"](float(tau_steps)), dtype=np.float64)
    a = np.asarray(fn["filter_a"](float(tau_steps)), dtype=np.float64)
    return sps.lfilter(b, a, np.asarray(spikes, dtype=np.float64), axis=0)


def affine_decode(features, signal) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares gain and offset, per neuron, mapping a decoded trace onto the signal it encodes.

    A generous decoder for codes whose gain is unknown (a rate code's rate per unit signal). For an estimate
    equal to signal + independent noise, the fitted decoder's SNR is 1 + SNR of the raw estimate
    (:func:`lprnn_brian.equations.derive.affine_decoder_snr`).

    Parameters
    ----------
    features : array_like
        (steps,) or (steps, neurons) decoded traces (e.g. :func:`filter_spikes`).
    signal : array_like
        (steps,) signal shared by every neuron, or (steps, neurons).

    Returns
    -------
    estimate : ndarray
        float64, the shape of ``features``: gain·feature + offset.
    coefficients : ndarray
        (2,) or (2, neurons): gain and offset.
    """
    X = np.asarray(features, dtype=np.float64)
    y = np.asarray(signal, dtype=np.float64)
    one_d = X.ndim == 1
    X2 = X[:, None] if one_d else X
    y2 = np.broadcast_to(y[:, None] if y.ndim == 1 else y, X2.shape)
    if y.shape[0] != X.shape[0]:
        raise UserInputError(f"features have {X.shape[0]} steps but the signal has {y.shape[0]}")
    xm, ym = X2.mean(axis=0), y2.mean(axis=0)
    dx = X2 - xm
    var = (dx**2).sum(axis=0)
    # a silent neuron (constant feature) gets gain 0: its best affine estimate is the signal mean
    gain = np.divide((dx * (y2 - ym)).sum(axis=0), var, out=np.zeros_like(var), where=var > 0)
    offset = ym - gain * xm
    est = gain * X2 + offset
    coef = np.stack([gain, offset])
    return (est[:, 0], coef[:, 0]) if one_d else (est, coef)


def snr_db(signal, estimate) -> float | np.ndarray:
    """10·log10(var(signal)/mean((signal − estimate)²)) in dB, per column for 2-D input.

    Parameters
    ----------
    signal, estimate : array_like
        (steps,) or (steps, neurons); a 1-D signal is shared by every column of ``estimate``.
    """
    s = np.asarray(signal, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    if e.ndim == 2 and s.ndim == 1:
        s = s[:, None]
    err = np.mean((s - e) ** 2, axis=0)
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(np.var(s, axis=0) / err)
    return float(out) if np.ndim(out) == 0 else out


# --- spectra ----------------------------------------------------------------------------------------------

def error_spectrum(error, dt: float, nperseg: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Welch power spectral density of a (reconstruction) error, averaged over neurons.

    Parameters
    ----------
    error : array_like
        (steps,) or (steps, neurons).
    dt : float
        Step in seconds.
    nperseg : int
        Welch segment length in steps (Hann window, 50 % overlap; capped at the number of steps).

    Returns
    -------
    freq : ndarray
        Frequencies in Hz, 0 … 1/(2 dt).
    psd : ndarray
        Power per Hz (units of ``error`` squared per Hz); white noise of variance σ² gives 2σ²·dt.
    """
    x = np.asarray(error, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise UserInputError(f"error must be (steps,) or (steps, neurons), got shape {x.shape}")
    freq, psd = sps.welch(x, fs=1.0 / dt, nperseg=min(nperseg, x.shape[0]), axis=0)
    return freq, (psd.mean(axis=1) if psd.ndim == 2 else psd)


def spectral_slope(freq, psd, band: tuple[float, float]) -> float:
    """Least-squares slope of 10·log10(psd) against log10(freq) within ``band`` (Hz), in dB/decade.

    White noise: 0; first-order ΣΔ noise shaping: +20
    (:func:`lprnn_brian.equations.derive.error_asymptotic_slope`)."""
    f = np.asarray(freq, dtype=np.float64)
    p = np.asarray(psd, dtype=np.float64)
    sel = (f >= band[0]) & (f <= band[1]) & (f > 0) & (p > 0)
    if sel.sum() < 3:
        raise UserInputError(f"band {band} Hz holds {int(sel.sum())} usable frequencies; widen it or use "
                             "longer segments (nperseg)")
    return float(np.polyfit(np.log10(f[sel]), 10 * np.log10(p[sel]), 1)[0])


def rate_slope(rates, snr_db_values) -> float:
    """Slope of SNR (dB) against log10(spikes per second), dB/decade (a Poisson rate code: ≈ 10)."""
    r = np.asarray(rates, dtype=np.float64)
    s = np.asarray(snr_db_values, dtype=np.float64)
    if r.shape != s.shape or r.size < 2 or np.any(r <= 0):
        raise UserInputError("rate_slope needs at least two positive rates and one SNR per rate")
    return float(np.polyfit(np.log10(r), s, 1)[0])


# --- latency ----------------------------------------------------------------------------------------------

def step_latency(decode, target, step_index: int, dt: float, tolerance: float) -> float | np.ndarray:
    """Time after a step in the input until the decode stays within ``tolerance`` of ``target``.

    Parameters
    ----------
    decode : array_like
        (steps,) or (steps, neurons) decoded trace.
    target : float or array_like
        Value after the step (scalar or per neuron).
    step_index : int
        First step with the new input.
    dt : float
        Step in seconds.
    tolerance : float
        Allowed |decode − target| (units of the decode).

    Returns
    -------
    float or ndarray
        Seconds from ``step_index`` to the first step from which the decode stays within tolerance to the
        end of the trace; ``inf`` where it is outside tolerance at the last step.
    """
    d = np.asarray(decode, dtype=np.float64)
    if not 0 <= step_index < d.shape[0]:
        raise UserInputError(f"step_index {step_index} outside the {d.shape[0]} steps of the decode")
    outside = np.abs(d[step_index:] - np.asarray(target, dtype=np.float64)) > tolerance
    n = outside.shape[0]
    # index of the last step outside tolerance, per column; the decode settles one step later
    last = n - 1 - np.argmax(outside[::-1], axis=0)
    settled = np.where(outside.any(axis=0), last + 1, 0)
    out = np.where(settled >= n, np.inf, settled * dt)
    return float(out) if np.ndim(out) == 0 else out


# --- perturbations of event arrays ---------------------------------------------------------------------

def _events(events) -> np.ndarray:
    ev = np.asarray(events)
    if ev.ndim != 2 or ev.shape[1] < 2 or not np.issubdtype(ev.dtype, np.integer):
        raise UserInputError(f"events must be (n_spikes, k ≥ 2) integer rows ending in the step, got "
                             f"{ev.dtype} {ev.shape}")
    return ev


def _sorted(ev: np.ndarray) -> np.ndarray:
    """Rows sorted by (sample, step, neuron): time order within each sample, as a spike monitor lists them."""
    keys = [ev[:, -2], ev[:, -1]] + [ev[:, c] for c in range(ev.shape[1] - 3, -1, -1)]
    return ev[np.lexsort(keys)]


def jitter_events(events, sigma_steps: float, n_steps: int, rng: np.random.Generator,
                  edge: str = "clip") -> np.ndarray:
    """Move every spike by round(N(0, σ)) steps.

    Parameters
    ----------
    events : array_like
        (n_spikes, k) integer rows, last column the step.
    sigma_steps : float
        Standard deviation of the shift in steps (before rounding; the rounded shift has variance
        Σ_k k²·P(round = k) ≈ σ² + 1/12 for σ ≳ 1).
    n_steps : int
        Length of the run: shifted steps must lie in [0, n_steps).
    rng : numpy.random.Generator
    edge : {'clip', 'drop'}
        Spikes moved outside the run are clipped to its first/last step (the spike count is unchanged: a
        pure timing perturbation) or dropped.

    Returns
    -------
    ndarray
        Same dtype and columns, rows sorted by (sample, step, neuron) as a spike monitor lists them.
    """
    ev = _events(events)
    if sigma_steps < 0:
        raise UserInputError(f"sigma_steps must be non-negative, got {sigma_steps}")
    if edge not in EDGES:
        raise UserInputError(f"edge must be one of {EDGES}, got {edge!r}")
    out = ev.copy()
    step = ev[:, -1].astype(np.int64) + np.rint(rng.normal(0.0, sigma_steps, ev.shape[0])).astype(np.int64)
    if edge == "clip":
        step = np.clip(step, 0, n_steps - 1)
    else:
        keep = (step >= 0) & (step < n_steps)
        out, step = out[keep], step[keep]
    out[:, -1] = step
    return _sorted(out)


def delete_events(events, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Drop each spike independently with probability ``fraction`` (in [0, 1])."""
    ev = _events(events)
    if not 0 <= fraction <= 1:
        raise UserInputError(f"fraction must lie in [0, 1], got {fraction}")
    return ev[rng.random(ev.shape[0]) >= fraction]


def dense_spikes(events, n_steps: int, n_neurons: int) -> np.ndarray:
    """(n_steps, n_neurons) spike counts of (neuron, step) event rows (the last two columns)."""
    ev = _events(events)
    out = np.zeros((n_steps, n_neurons), dtype=np.float64)
    np.add.at(out, (ev[:, -1], ev[:, -2]), 1.0)
    return out


# --- information and the reference rate code -----------------------------------------------------------

def information_per_spike(snr_db_value, bandwidth_hz: float, rate_hz):
    """Bits per spike: the Shannon–Hartley capacity B·log2(1 + SNR) of a Gaussian channel over spikes/s.

    An estimate, not a measurement of mutual information: it assumes the decode error is Gaussian and
    independent of the signal over the band B (then B·log2(1 + SNR) bounds the information the decode
    carries from below, since Gaussian noise is the worst case at a given power).

    Parameters
    ----------
    snr_db_value : float or array_like
        Decode SNR in dB.
    bandwidth_hz : float
        Signal bandwidth in Hz.
    rate_hz : float or array_like
        Spikes per second.
    """
    rate = np.asarray(rate_hz, dtype=np.float64)
    if np.any(rate <= 0) or bandwidth_hz <= 0:
        raise UserInputError("information_per_spike needs a positive bandwidth and a positive spike rate")
    snr = 10.0 ** (np.asarray(snr_db_value, dtype=np.float64) / 10)
    out = bandwidth_hz * np.log2(1 + snr) / rate
    return float(out) if np.ndim(out) == 0 else out


def poisson_encode(signal, p_max: float, rng: np.random.Generator) -> np.ndarray:
    """Reference rate code: a Bernoulli spike per step with probability p_max·signal (signal in [0, 1]).

    Its decode error is analytic (:func:`lprnn_brian.equations.derive.rate_code_snr`). Returns uint8 spikes
    of the shape of ``signal``.
    """
    x = np.asarray(signal, dtype=np.float64)
    if not 0 < p_max <= 1 or x.min() < 0 or x.max() > 1:
        raise UserInputError("poisson_encode needs p_max in (0, 1] and a signal in [0, 1]")
    return (rng.random(x.shape) < p_max * x).astype(np.uint8)


def rate_code_snr_db(signal, p_max: float, tau_steps: float, affine: bool = True) -> float:
    """Analytic SNR (dB) of :func:`poisson_encode` read through :func:`filter_spikes` (slow signal):
    var(p)/(E[p(1−p)]·Σh²); with ``affine`` the 1 + SNR of the least-squares decoder."""
    p = p_max * np.asarray(signal, dtype=np.float64)
    fn = derive.coding_functions()
    snr = fn["rate_code_snr"](np.var(p), np.mean(p * (1 - p)), float(tau_steps))
    return float(10 * np.log10(fn["affine_snr"](snr) if affine else snr))


# --- network level: the read-out recomputed from the last hidden layer's spikes -------------------------

def readout_from_spikes(spec, events_last_hidden, n_samples: int, window: str | None = None,
                        decode: str = "in") -> np.ndarray:
    """The dense read-out's time-mean decode recomputed offline from the last hidden layer's spikes.

    Replays the read-out's per-step order (docs/method.md#per-step-order) on the recorded value of each step n (Brian2
    monitors record at ``start``, after clipping/truncation, before the update):

    * i_in(n) = C(α_U·i_in(n−1) + 64·W_snn·s(n−1)), i.e. 64·W_snn·τ_U times the τ_U-filtered spike train
      (:func:`filter_spikes`) in float mode;
    * i_ip(n) = C(α_I·i_ip(n−1) + i_in(n−1) + b̃) (τ_I = 1 for the read-out: i_ip(n) = i_in(n−1) + b̃);

    with C the per-step conditioning of the mode: float floors i_ip at 0; loihi clips to 24 bits and
    truncates toward zero. The decode is in ANN units (``in``: i_in·τ_I/f, ``ip``: i_ip/f), averaged over the
    read-out window (n ≥ ⌊n_steps/2⌋ or all steps).

    Parameters
    ----------
    spec : lprnn_brian.convert.SNNSpec
    events_last_hidden : array_like
        (n_spikes, 3) int rows (sample, neuron, step) of the layer feeding the read-out.
    n_samples : int
    window : {'second_half', 'all'}, optional
        Default: the spec's read-out window.
    decode : {'in', 'ip'}

    Returns
    -------
    ndarray
        (n_samples, n_classes) float64 time-mean decodes; argmax gives the class.
    """
    if len(spec.layers) < 2:
        raise UserInputError("readout_from_spikes needs a hidden layer before the read-out")
    if decode not in READOUT_DECODES:
        raise UserInputError(f"decode must be one of {READOUT_DECODES}, got {decode!r}")
    L, pre = spec.layers[-1], spec.layers[-2]
    if L.U_snn is not None:
        raise UserInputError(f"the last layer {L.name!r} is recurrent; only a dense read-out is replayed")
    ev = _events(events_last_hidden)
    if ev.shape[1] != 3:
        raise UserInputError("events_last_hidden must be (n_spikes, 3) rows (sample, neuron, step)")
    chunk = max(1, int(_REPLAY_BYTES // (8 * spec.n_steps * max(pre.n, L.n))))
    if n_samples > chunk:  # bound the (steps, samples, neurons) arrays: replay groups of samples
        out = []
        for first in range(0, n_samples, chunk):
            m = min(chunk, n_samples - first)
            sel = (ev[:, 0] >= first) & (ev[:, 0] < first + m)
            part = ev[sel].copy()
            part[:, 0] -= first
            out.append(readout_from_spikes(spec, part, m, window, decode))
        return np.concatenate(out)
    N, window = spec.n_steps, window or spec.readout_window
    nn = numeric.neuron(spec.mode)
    S = np.zeros((N, n_samples, pre.n))
    np.add.at(S, (ev[:, 2], ev[:, 0], ev[:, 1]), 1.0)
    # i_in += c·w per spike (c = 64): each step's increments summed over the spiking neurons at once
    drive = S @ (nn.spike_factor * np.asarray(L.W_snn, dtype=np.float64)).T  # (N, samples, n)
    params = {"tau_I": np.asarray(L.tau_I, dtype=np.float64), "tau_U": L.tau_U,
              "b_tilde": np.asarray(L.b_tilde, dtype=np.float64)}
    st = {"i_in": np.zeros((n_samples, L.n)), "i_ip": np.zeros((n_samples, L.n))}
    start = readout_start(N, window)
    total = np.zeros((n_samples, L.n))
    for n in range(N):  # the value recorded at step n, then step n's update and synaptic input
        for block in ("clip", "truncate"):
            st.update(nn.apply(block, st, targets=st))
        if n >= start:
            total += st["i_in"] if decode == "in" else st["i_ip"]
        st.update(nn.apply("update", {**st, **params}, targets=st))
        st["i_in"] = st["i_in"] + drive[n]
    scale = (np.asarray(L.tau_I, dtype=np.float64) if decode == "in" else 1.0) / L.factor
    return scale * total / (N - start)


def robustness(result, sigmas=(0, 1, 2, 4, 8), fractions=(0, 0.1, 0.25, 0.5), seed: int = 0, labels=None,
               window: str | None = None, decode: str = "in") -> list[dict]:
    """Class agreement and decode error of the read-out when the last hidden layer's spikes are perturbed.

    The read-out is recomputed offline (:func:`readout_from_spikes`) from jittered (σ steps, clipped at the
    run's edges: spike counts unchanged) or deleted spikes. Only the last synaptic stage sees the
    perturbation (the hidden layers' own dynamics are not re-run): it isolates how the read-out decodes the
    spikes it receives. Jitter keeps the spike count per window, so a count code is immune to it and a
    timing code is not.

    Parameters
    ----------
    result : lprnn_brian.simulation.SimulationResult
    sigmas : sequence of float
        Jitter standard deviations in steps.
    fractions : sequence of float
        Deletion probabilities.
    seed : int
    labels : array_like, optional
        (samples,) true classes: adds ``accuracy``.
    window, decode :
        As in :func:`readout_from_spikes`.

    Returns
    -------
    list of dict
        One row per (perturbation, level): ``perturbation`` ('jitter' or 'delete'), ``level`` (σ in steps or
        the fraction), ``spikes`` (remaining), ``agreement`` (fraction of samples whose class equals the
        unperturbed replay's), ``rmse`` (RMS difference of the time-mean decode from the unperturbed replay,
        ANN units) and ``accuracy`` (with labels).
    """
    spec, events = result.spec, result.spikes[-2]
    rng = np.random.default_rng(seed)
    ref = readout_from_spikes(spec, events, result.n_samples, window, decode)
    ref_class = np.argmax(ref, axis=1)
    y = None if labels is None else np.asarray(labels)
    rows = []
    for kind, levels in (("jitter", sigmas), ("delete", fractions)):
        for level in levels:
            ev = (jitter_events(events, level, spec.n_steps, rng) if kind == "jitter"
                  else delete_events(events, level, rng))
            got = readout_from_spikes(spec, ev, result.n_samples, window, decode)
            cls = np.argmax(got, axis=1)
            row = {"perturbation": kind, "level": float(level), "spikes": int(ev.shape[0]),
                   "agreement": float(np.mean(cls == ref_class)),
                   "rmse": float(math.sqrt(np.mean((got - ref) ** 2)))}
            if y is not None:
                row["accuracy"] = float(np.mean(cls == y))
            rows.append(row)
    return rows
