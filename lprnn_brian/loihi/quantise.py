"""Weights and biases as Loihi mantissa·2^exponent (spec §6.2, §6.3, §10.3; decisions §11 B2/B3).

Plain numpy; the u increment of a weight is ``mant·2^(6+exp)`` (activation shift 6).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WEIGHT_EXP_RANGE = (-8, 7)
BIAS_MANT_MAX = 4095
BIAS_EXP_RANGE = (0, 7)


@dataclass(frozen=True)
class MantExp:
    """``value = mant·2**exp`` with the largest rounding error against the requested real values."""

    mant: np.ndarray
    exp: int
    max_abs_error: float

    @property
    def value(self) -> np.ndarray:
        return self.mant * 2.0**self.exp

    @property
    def lossless(self) -> bool:
        return self.max_abs_error == 0.0


def weight_mant_exp(w: np.ndarray, num_weight_bits: int = 8, mixed_sign: bool = True) -> MantExp:
    """One exponent per matrix: m/2^e ∈ [128, 256) for m = max|w|; mantissas rounded half-even to the
    precision of the sign mode (multiples of 2^(8 − (numWeightBits − isMixed))), in range, else e += 1.

    Raises
    ------
    ValueError
        If the weights need an exponent above 7 (too large for Loihi).
    """
    w = np.asarray(w, dtype=np.float64)
    m = float(np.max(np.abs(w))) if w.size else 0.0
    lo_e, hi_e = WEIGHT_EXP_RANGE
    if m == 0.0:
        return MantExp(np.zeros_like(w), 0, 0.0)
    e = int(np.clip(np.floor(np.log2(m)) - 7, lo_e, hi_e))
    step = 2 ** (8 - (num_weight_bits - int(mixed_sign)))
    lo_m, hi_m = (-256, 256 - step) if mixed_sign else (0, 255)
    while True:
        mant = np.round(w / (2.0**e) / step) * step
        if mant.min() >= lo_m and mant.max() <= hi_m:
            break
        e += 1
        if e > hi_e:
            raise ValueError(f"weights up to {m:g} need a Loihi weight exponent above {hi_e}")
    return MantExp(mant, e, float(np.max(np.abs(mant * 2.0**e - w))))


def bias_mant_exp(b: np.ndarray) -> MantExp:
    """Smallest e ∈ [0, 7] with |round(b/2^e)| ≤ 4095 (13-bit signed mantissa, spec §6.3)."""
    b = np.asarray(b, dtype=np.float64)
    for e in range(BIAS_EXP_RANGE[0], BIAS_EXP_RANGE[1] + 1):
        mant = np.round(b / 2.0**e)
        if not mant.size or np.max(np.abs(mant)) <= BIAS_MANT_MAX:
            return MantExp(mant, e, float(np.max(np.abs(mant * 2.0**e - b))) if b.size else 0.0)
    raise ValueError(f"bias up to {np.max(np.abs(b)):g} does not fit a 13-bit mantissa with exponent ≤ 7")
