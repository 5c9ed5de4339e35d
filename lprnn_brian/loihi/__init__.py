"""Loihi integer representation: weight and bias mantissa/exponent (spec §6.2–6.3)."""
