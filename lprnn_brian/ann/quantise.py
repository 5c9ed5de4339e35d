"""Fixed-point weight quantiser of the lpRNN (docs/method.md#quantisation-export-and-pruning) and the integer codes it
produces.

q(w; I, F) = round_half_even(2^F · clip(w, −(2^{I−1}−1), 2^{I−1}−1)) / 2^F, the identity when F ≥ 32.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserInputError

#: Fractional bits at or above which the quantiser is the identity (the authors' "full precision").
FULL_PRECISION_BITS = 32


def _check_bits(int_bits: int, frac_bits: int) -> None:
    for name, value in (("int_bits", int_bits), ("frac_bits", frac_bits)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise UserInputError(f"{name} must be an integer, got {value!r}")
    if int_bits < 1:
        raise UserInputError(f"int_bits must be >= 1 (sign plus integer part), got {int_bits}")


def _as_float_array(w) -> np.ndarray:
    arr = np.asarray(w)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise UserInputError(f"weights must be a numeric array, got dtype {arr.dtype}")


def quantise(w, int_bits: int = 32, frac_bits: int = 3) -> np.ndarray:
    """Round weights onto the fixed-point grid 2^-F with I integer bits (sign included).

    Parameters
    ----------
    w : array_like
        Weights. Floating arrays keep their dtype; integer arrays become float64.
    int_bits : int, optional
        I, integer bits including the sign: values are clipped to ±(2^(I−1) − 1). The default 32
        never clips the weights of a trained lpRNN.
    frac_bits : int, optional
        F, fractional bits: the grid step is 2^-F. ``frac_bits >= 32`` returns ``w`` unchanged (a copy).

    Returns
    -------
    numpy.ndarray
        The quantised weights, same shape and (floating) dtype as ``w``. Ties round to even, as
        ``torch.round`` does, so this equals the authors' ``quantize_weight`` forward value.
    """
    _check_bits(int_bits, frac_bits)
    arr = _as_float_array(w)
    if frac_bits >= FULL_PRECISION_BITS:
        return arr.copy()
    limit = float(2 ** (int_bits - 1) - 1)
    scale = arr.dtype.type(2.0**frac_bits)  # a power of two: scaling is exact in any float type
    if limit < np.finfo(arr.dtype).max:
        clipped = np.clip(arr, -limit, limit).astype(arr.dtype, copy=False)
    else:  # the clip level is beyond this float type's range: clipping is a no-op
        clipped = arr
    # "+ 0" turns −0 into +0, as the authors' straight-through form (q − w) + w does
    return (np.rint(clipped * scale) / scale + arr.dtype.type(0)).astype(arr.dtype, copy=False)


def weight_codes(w, frac_bits: int = 3, int_bits: int = 32) -> np.ndarray:
    """Sorted integer codes k (weight = k·2^-F) that occur in ``quantise(w, int_bits, frac_bits)``.

    Parameters
    ----------
    w : array_like
        Latent or already quantised weights (quantising twice changes nothing).
    frac_bits : int, optional
        F, fractional bits of the grid; must be < 32 (full precision has no integer codes).
    int_bits : int, optional
        I, integer bits including the sign (clip level), as in :func:`quantise`.

    Returns
    -------
    numpy.ndarray
        int64 array of the distinct codes, ascending. For the SHD checkpoint and F = 3 every tensor's
        codes lie in {−4, …, 3} ("3-bit weights").
    """
    _check_bits(int_bits, frac_bits)
    if frac_bits >= FULL_PRECISION_BITS:
        raise UserInputError(
            f"frac_bits={frac_bits} means full precision: there are no integer codes; use frac_bits < 32"
        )
    q = quantise(w, int_bits, frac_bits)
    if q.size and not np.all(np.isfinite(q)):
        raise UserInputError("weights contain NaN or inf; integer codes are undefined")
    return np.unique(np.rint(q.astype(np.float64) * 2.0**frac_bits)).astype(np.int64)


def code_bits(codes) -> int:
    """Smallest two's-complement width b with −2^(b−1) ≤ min(codes) and max(codes) ≤ 2^(b−1) − 1.

    Parameters
    ----------
    codes : array_like of int
        Integer codes, e.g. from :func:`weight_codes`.

    Returns
    -------
    int
        Bit width (at least 1); codes {−4…3} give 3.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        return 1
    lo, hi = int(codes.min()), int(codes.max())
    bits = 1
    while not (-(2 ** (bits - 1)) <= lo and hi <= 2 ** (bits - 1) - 1):
        bits += 1
    return bits
