"""Loihi's integer formats: weights and biases as mantissa·2^exponent, 12-bit decays, threshold mantissas.

The method's integer mode (docs/method.md#loihi-integer-mode) and Loihi's formats
(docs/method.md#compartment-arithmetic, docs/method.md#synaptic-weight-format), with decisions B2 (exponent from
max|w|, range checks, LSBs of the sign mode), B3 (13-bit bias mantissa with a 3-bit exponent) and L2 (τ = 1 needs a
decay of 4096) in docs/decisions.md. Plain numpy; nothing here
is ever wrapped silently: a value that does not fit raises, a value that fits only approximately is returned
with its rounding error. The u increment of a weight is ``mant·2^(6+exp)`` (activation shift 6).

The home of every Loihi register constant (the shifts beside the declaration's
:data:`~lprnn_brian.equations.sigma_delta.ACTIVATION_SHIFT`); in the equations layer because the conversion
(:mod:`lprnn_brian.convert`) quantises to these formats, below the Loihi mapping (:mod:`lprnn_brian.loihi`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .sigma_delta import ACTIVATION_SHIFT, STATE_LIMIT

WEIGHT_EXP_RANGE = (-8, 7)
#: 8-bit weight mantissas per sign mode (Lava ``clip_weights``: mixed −256…255, one-signed 0…255); the LSBs
#: below the precision are then zero (:func:`weight_step`).
WEIGHT_MANT_RANGE = {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}
SIGN_MODES = tuple(WEIGHT_MANT_RANGE)
BIAS_MANT_MAX = 4095
BIAS_EXP_RANGE = (0, 7)
#: Decays are 12-bit fractions of 4096: x ← x·(4096 − d)/4096 (docs/method.md#compartment-arithmetic), the product
#: shifted right by 12.
DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT
DECAY_REGISTER_MAX = DECAY_UNITY - 1
#: log2 of the declaration's activation shift (64 = 1 << 6): a weight w adds w << 6 to u, and the threshold is
#: vth_mant << 6 (the declaration's spike condition v > 64·vth_mant).
ACTIVATION_SHIFT_BITS = ACTIVATION_SHIFT.bit_length() - 1
#: Width of the signed state registers u and v (±2^23).
STATE_BITS = STATE_LIMIT.bit_length()
#: Threshold mantissa: unsigned 17-bit, threshold = vth_mant·2^6.
VTH_MANT_MAX = 2**17 - 1
#: Compartments per ΣΔ neuron on Loihi: input (u = i_in, v = i_ip) and soma (u = i_fb, v)
#: (docs/method.md#input-decoding-and-compartments).
COMPARTMENTS_PER_NEURON = 2


def scaled(mant: np.ndarray, exp) -> np.ndarray:
    """mant·2^exp, with ``exp`` one exponent or one per row (a (rows,) array for a (rows, cols) matrix)."""
    e = np.asarray(exp)
    return np.asarray(mant) * 2.0 ** (e[:, None] if e.ndim == 1 and np.ndim(mant) == 2 else e)


@dataclass(frozen=True)
class MantExp:
    """``value = mant·2**exp`` with the rounding error against the requested real values (max and RMS); ``exp`` is
    one exponent, or one per row (:func:`weight_mant_exp_rows`)."""

    mant: np.ndarray
    exp: int | np.ndarray
    max_abs_error: float
    rms_error: float
    sign_mode: str = "mixed"

    @property
    def value(self) -> np.ndarray:
        return scaled(self.mant, self.exp)

    @property
    def lossless(self) -> bool:
        return self.max_abs_error == 0.0


def sign_mode_of(w: np.ndarray) -> str:
    """The narrowest Loihi sign mode holding ``w``: 'excitatory' (all ≥ 0), 'inhibitory' (all ≤ 0), else 'mixed'.

    An all-zero matrix is 'excitatory' (as Lava's ``determine_sign_mode`` calls it)."""
    w = np.asarray(w)
    if not w.size or w.min() >= 0:
        return "excitatory"
    return "inhibitory" if w.max() <= 0 else "mixed"


def weight_step(num_weight_bits: int, sign_mode: str) -> int:
    """Mantissas are multiples of 2^(8 − (numWeightBits − isMixed)) (docs/method.md#synaptic-weight-format;
    decision B2 in docs/decisions.md)."""
    if not 1 <= num_weight_bits <= 8:
        raise ValueError(f"num_weight_bits must be 1…8, got {num_weight_bits}")
    if sign_mode not in WEIGHT_MANT_RANGE:
        raise ValueError(f"unknown sign mode {sign_mode!r}; choose one of {SIGN_MODES}")
    return 2 ** (8 - (num_weight_bits - int(sign_mode == "mixed")))


def _errors(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    if not want.size:
        return 0.0, 0.0
    err = np.abs(got - want)
    return float(err.max()), float(np.sqrt(np.mean(err**2)))


def weight_mant_exp(w: np.ndarray, num_weight_bits: int = 8, sign_mode: str = "mixed") -> MantExp:
    """One exponent per matrix (docs/method.md#weights-as-mantissa-and-exponent, package rule): e ∈ [−8, 7] with
    max|w|/2^e ∈ [128, 256); mantissas rounded half-even to the sign mode's precision (:func:`weight_step`); a mantissa
    out of the sign mode's range (:data:`WEIGHT_MANT_RANGE`) raises the exponent by one.

    Parameters
    ----------
    w : ndarray
        Weights in Loihi weight units (a spike adds 64·w to the target's current).
    num_weight_bits : int
        Loihi's numWeightBits (1…8).
    sign_mode : {'mixed', 'excitatory', 'inhibitory', 'auto'}
        ``'auto'``: :func:`sign_mode_of` (the narrowest mode, one bit more precision than mixed).

    Raises
    ------
    ValueError
        If the weights do not fit the sign mode (a negative weight in an excitatory matrix, …) or need an
        exponent above 7 (too large for Loihi). Nothing is ever clipped or wrapped.
    """
    w = np.asarray(w, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or infinity")
    if sign_mode == "auto":
        sign_mode = sign_mode_of(w)
    step = weight_step(num_weight_bits, sign_mode)
    lo_m, hi_m = WEIGHT_MANT_RANGE[sign_mode]
    if w.size and ((lo_m == 0 and w.min() < 0) or (hi_m == 0 and w.max() > 0)):
        raise ValueError(f"weights in [{w.min():g}, {w.max():g}] do not fit sign mode {sign_mode!r}")
    m = float(np.max(np.abs(w))) if w.size else 0.0
    lo_e, hi_e = WEIGHT_EXP_RANGE
    if m == 0.0:
        return MantExp(np.zeros_like(w), 0, 0.0, 0.0, sign_mode)
    e = int(np.clip(np.floor(np.log2(m)) - 7, lo_e, hi_e))
    while True:
        mant = np.round(w / (2.0**e) / step) * step
        if mant.min() >= lo_m and mant.max() <= hi_m:
            break
        e += 1
        if e > hi_e:
            raise ValueError(f"weights up to {m:g} need a Loihi weight exponent above {hi_e}: scale the layer "
                             "down (a smaller factor f)")
    mant = mant + 0.0  # no negative zeros
    return MantExp(mant, e, *_errors(mant * 2.0**e, w), sign_mode)


def weight_mant_exp_rows(w: np.ndarray, num_weight_bits: int = 8, sign_mode: str = "mixed") -> MantExp:
    """:func:`weight_mant_exp` with one exponent per row (receiving neuron): each row keeps the mantissa precision
    of its own largest weight. For layers whose rows are scaled by their neuron's own time constant (per-unit
    retention: W_snn ∝ 1/τ_I,i), where one exponent per matrix would round the slow units' rows away. On Loihi a
    projection with several exponents is one synapse group per exponent (Lava: one Dense each, summed at the
    target). An all-zero row gets exponent 0."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"per-row exponents need a matrix, got shape {w.shape}")
    if sign_mode == "auto":
        sign_mode = sign_mode_of(w)
    rows = [weight_mant_exp(row, num_weight_bits, sign_mode) for row in w]
    mant = np.stack([r.mant for r in rows]) if rows else np.zeros_like(w)
    exp = np.array([r.exp for r in rows], dtype=np.int64)
    return MantExp(mant, exp, *_errors(scaled(mant, exp), w), sign_mode)


def bias_mant_exp(b: np.ndarray) -> MantExp:
    """Smallest e ∈ [0, 7] with |round(b/2^e)| ≤ 4095 (13-bit signed mantissa,
    docs/method.md#biases-as-mantissa-and-exponent); one exponent per layer. Raises ValueError when even e = 7 does not
    fit."""
    b = np.asarray(b, dtype=np.float64)
    if not np.all(np.isfinite(b)):
        raise ValueError("biases contain NaN or infinity")
    for e in range(BIAS_EXP_RANGE[0], BIAS_EXP_RANGE[1] + 1):
        mant = np.round(b / 2.0**e) + 0.0
        if not mant.size or np.max(np.abs(mant)) <= BIAS_MANT_MAX:
            return MantExp(mant, e, *_errors(mant * 2.0**e, b))
    raise ValueError(f"bias up to {np.max(np.abs(b)):g} does not fit a 13-bit mantissa with exponent ≤ 7")


@dataclass(frozen=True)
class Decay:
    """A 12-bit decay register for a time constant of ``tau`` steps: the state keeps (4096 − effective)/4096 per
    step, effective = register + offset (offset 1 for u: Lava's ds_offset; 0 for v: dm_offset)."""

    register: np.ndarray | int
    offset: int
    tau: np.ndarray | float
    retention_error: float  # max |(4096 − effective)/4096 − (1 − 1/τ)|

    @property
    def effective(self):
        return np.asarray(self.register) + self.offset


def decay_register(tau_steps, offset: int) -> Decay:
    """Register for ``x ← x·(1 − 1/τ)``: round(4096/τ) − offset, within 0…4095. τ = 1 (the dense read-out) needs
    4096 on v, one more than the register holds: it gets 4095 and keeps 1/4096 per step (decision L2 in
    docs/decisions.md), reported in ``retention_error``. Raises ValueError for τ < 1 (not a decay)."""
    tau = np.asarray(tau_steps, dtype=np.float64)
    if np.any(~np.isfinite(tau)) or np.any(tau < 1):
        raise ValueError(f"time constants must be ≥ 1 step, got {tau.min() if tau.size else tau}")
    reg = np.clip(np.round(DECAY_UNITY / tau) - offset, 0, DECAY_REGISTER_MAX).astype(np.int64)
    kept = (DECAY_UNITY - (reg + offset)) / DECAY_UNITY
    err = float(np.max(np.abs(kept - (1 - 1 / tau))))
    if reg.ndim == 0:
        return Decay(int(reg), offset, float(tau), err)
    return Decay(reg, offset, tau, err)


def threshold_mant(threshold: float) -> int:
    """vth_mant with vth_mant·2^6 = threshold (exact multiples of 64 only; unsigned 17-bit)."""
    mant = threshold / 2**ACTIVATION_SHIFT_BITS
    if mant != int(mant) or not 0 <= mant <= VTH_MANT_MAX:
        raise ValueError(f"threshold {threshold:g} is not vth_mant·64 with vth_mant in 0…{VTH_MANT_MAX}")
    return int(mant)
