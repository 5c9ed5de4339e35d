"""Symbolic facts about the ΣΔ neuron (lprnn_brian.equations.derive) against the numbers of
docs/method.md#layers-and-time-constant, docs/method.md#reproduced-numbers and
docs/method.md#why-the-spikes-reproduce-the-rate-network.

Oracles: the derived values printed in docs/method.md (τ, Δt_S, M, n_steps, (1−1/64)^M), each also recomputed
here from its elementary formula with ``math``; geometric-series sums for the feedback fixed point.
Tolerances: the digits docs/method.md prints, or float64 rounding (1e-15 relative) for recomputed values.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lprnn_brian.equations import derive
from lprnn_brian.equations import sigma_delta as sd

A, FRAME_DT = 0.8, 1 / 125


def _num(expr, **values) -> float:
    subs = {getattr(derive, k, None) or getattr(sd, k): v for k, v in values.items()}
    return float(expr.subs(subs).evalf(30))


def test_filter_time_constant_shd():
    """τ(0.8, 1/125) = 0.035851360941796404 s (docs/method.md#layers-and-time-constant), to float64 precision; the sympy
    form evaluated at 30 digits agrees with −Δt_A/ln a from ``math``."""
    assert derive.tau_seconds(A, FRAME_DT) == pytest.approx(0.035851360941796404, rel=1e-15)
    assert _num(derive.filter_time_constant(), a=A, dt_A=FRAME_DT) == pytest.approx(-FRAME_DT / math.log(A),
                                                                                    rel=1e-15)
    assert derive.tau_seconds(A, 1.0) / 1.0 == pytest.approx(4.4814, abs=5e-5)  # τ = 4.4814 Δt_A


def test_snn_step_is_tau_over_64():
    """Δt_S = τ/64 = 0.5601775 ms (docs/method.md#reproduced-numbers, 7 significant digits as printed)."""
    dt_S = derive.tau_seconds(A, FRAME_DT) / 64
    assert round(dt_S * 1e3, 7) == 0.5601775


def test_steps_per_frame_and_run_lengths():
    """M = −τ_S ln a = 14.2812 (4 decimals, docs/method.md#reproduced-numbers); n_steps = ⌊T·M⌋ = 1785 (T 125) and
    1399 (T 98)."""
    M = _num(derive.steps_per_frame(), a=A, tau_S=64)
    assert round(M, 4) == 14.2812
    assert M == pytest.approx(-64 * math.log(A), rel=1e-15)
    assert derive.n_steps(125, A, 64) == 1785
    assert derive.n_steps(98, A, 64) == 1399


def test_retention_per_frame_matches_ann():
    """(1 − 1/64)^M = 0.79859 against a = 0.8 (docs/method.md#why-the-spikes-reproduce-the-rate-network), 5 decimals;
    exactly a in the limit τ_S → ∞."""
    r = _num(derive.retention_per_frame(), a=A, tau_S=64)
    assert round(r, 5) == 0.79859
    assert r == pytest.approx((63 / 64) ** (-64 * math.log(A)), rel=1e-14)
    assert sp.simplify(sp.limit(derive.retention_per_frame(), sd.tau_S, sp.oo) - derive.a) == 0


def test_feedback_fixed_point_is_geometric_sum():
    """Mean i_fb at spike probability p: each spike's kick decays as α^k, so the mean is −kick·p·Σ_k α^k =
    −kick·p/(1−α) = −Iin·f·p (exact, sympy); and numerically, a truncated sum at τ_S = 64 (1e-12)."""
    alpha = 1 - 1 / sd.tau_S
    closed = -derive.KICK * derive.p / (1 - alpha)
    assert sp.simplify(derive.feedback_fixed_point() - closed) == 0
    assert sp.simplify(derive.feedback_fixed_point() + derive.Iin * derive.f * derive.p) == 0
    kick, p = 6 * 1000.0 / 64, 0.3
    truncated = -kick * p * sum((1 - 1 / 64) ** k for k in range(5000))
    assert _num(derive.feedback_fixed_point(), Iin=6, f=1000.0, p=p) == pytest.approx(truncated, rel=1e-12)


def test_steady_state_rate_and_tracking_bound():
    """Spike probability per step for drive c is c/I_in (docs/method.md#what-the-tests-check) and the ripple bound is
    one kick, I_in/τ_S in ANN units (docs/method.md#why-the-spikes-reproduce-the-rate-network); exact (sympy)."""
    assert sp.simplify(derive.steady_state_rate() - derive.c / derive.Iin) == 0
    assert sp.simplify(derive.tracking_error_bound() - derive.Iin / sd.tau_S) == 0
    assert _num(derive.tracking_error_bound(), Iin=6, tau_S=64) == pytest.approx(0.09375, rel=1e-15)


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.01, 0.99), frame_dt=st.floats(1e-4, 1.0))
def test_tau_seconds_property(a, frame_dt):
    """For any a ∈ (0, 1) and Δt_A: τ = −Δt_A/ln a, so exp(−Δt_A/τ) returns a (float64, 1e-13 relative)."""
    tau = derive.tau_seconds(a, frame_dt)
    assert tau == pytest.approx(-frame_dt / math.log(a), rel=1e-14)
    assert math.exp(-frame_dt / tau) == pytest.approx(a, rel=1e-13)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5])
def test_tau_seconds_rejects_retention_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="retention"):
        derive.tau_seconds(bad, FRAME_DT)


# --- the comparator's threshold (docs/method.md#the-comparators-threshold) ------------------------------
# Hand derivation (independent of derive.py's sympy manipulations). With the drive held at c·f and r = −i_fb,
# one step is s = [c f − r > θ], r' = α r + K s (α = 1 − 1/τ_S, K = κ Iin f/τ_S). Let r* = c f − θ. From r ≥ r*
# (no spike) r' = α r ≥ α r*; from r < r* (spike) r' = α r + K < α r* + K: the band [α r*, α r* + K) is
# invariant, one kick wide. Its centre α r* + K/2, divided by κ f, is the phase-averaged decode.
TAU, IIN, F = sp.symbols("tau_S I_in f", positive=True)
C, THETA, KAPPA = derive.c, derive.theta, derive.kappa
ALPHA = 1 - 1 / TAU
BAND = (ALPHA * (C * F - THETA) / (KAPPA * F), (ALPHA * (C * F - THETA) + KAPPA * IIN * F / TAU) / (KAPPA * F))


def _same(a, b) -> bool:
    subs = {sd.tau_S: TAU, derive.Iin: IIN, derive.f: F}
    return sp.simplify(sp.sympify(a).subs(subs) - b) == 0


def test_reconstruction_band_is_one_kick_and_matches_the_hand_derivation():
    """derive.reconstruction_band equals the hand-derived [α(cf − θ), α(cf − θ) + K)/(κ f), exactly (sympy)."""
    low, high = derive.reconstruction_band()
    assert _same(low, BAND[0]) and _same(high, BAND[1])
    assert _same(high - low, IIN / TAU)  # one nominal kick in ANN units, whatever θ and κ


def test_zero_threshold_reconstruction_is_half_a_kick_high():
    """Policy 'zero' (θ = 0, κ = 1): mean error = Δ/2 − c/τ_S = Δ(1/2 − c/Iin), Δ = Iin/τ_S (exact)."""
    p = derive.policy_parameters("zero")
    assert p[THETA] == 0 and p[KAPPA] == 1
    err = derive.reconstruction_error_mean().subs(p)
    assert _same(err, IIN / TAU * (sp.Rational(1, 2) - C / IIN))
    assert derive.mean_error_coefficients(64.0, 2.0**21, 2.0**21 / 64, 0.0) == pytest.approx((-1 / 64, 0.5))


def test_unbiased_policy_is_half_a_kick_with_the_decayed_feedback():
    """Policy 'unbiased': κ = 1 − 1/τ_S and θ = Iin f/(2τ_S) make the band's centre c for every c (solving the
    hand band's centre = c: coefficient of c gives α/κ = 1, the constant gives θ = κ K/(2α κ) = Iin f/(2τ_S));
    the band is then exactly [c − Δ/2, c + Δ/2). SHD/digits registers (τ_S = 64, Iin_snn = 2^21): θ = 16384 =
    64·256, kick = 32256 = 504·64, both exact Loihi values."""
    p = derive.policy_parameters("unbiased")
    assert _same(p[KAPPA], ALPHA) and _same(p[THETA], IIN * F / (2 * TAU))
    low, high = (sp.simplify(b.subs({THETA: IIN * F / (2 * TAU), KAPPA: ALPHA})) for b in BAND)
    assert sp.simplify(low - (C - IIN / (2 * TAU))) == 0 and sp.simplify(high - (C + IIN / (2 * TAU))) == 0
    assert sp.simplify(derive.reconstruction_error_mean().subs(p)) == 0
    assert derive.policy_values("unbiased", 64.0, 2.0**21) == (16384.0, 32256.0)
    assert derive.policy_values("zero", 64.0, 2.0**21) == (0.0, 32768.0)
    assert derive.centring_threshold(64.0, 2.0**21, 32256.0) == 16384.0  # kick/(2α)
    assert derive.mean_error_coefficients(64.0, 2.0**21, 32256.0, 16384.0) == (0.0, 0.0)


def test_locking_interval_of_period_two():
    """A drive locked to every other step (hand derivation): the orbit is R = K/(1 − α²) right after the spike
    and αR one step later, where the neuron spikes again. Spiking at αR needs cf − θ > αR, staying silent at R
    needs cf − θ ≤ R: c ∈ ((θ + αR)/f, (θ + R)/f], width R(1 − α)/f = K/((1 + α) f), independent of θ, so no
    threshold removes the lock. Under 'unbiased' (K = α Iin f/τ_S) it measures αΔ/(1 + α) ≈ Δ/2 around Iin/2,
    where the mean decode is exactly Iin/2: mean errors up to about ±Δ/4 for a drive held exactly constant."""
    lo, hi = derive.locking_interval(2)
    K = KAPPA * IIN * F / TAU
    R = K / (1 - ALPHA**2)
    assert _same(lo, (THETA + ALPHA * R) / F) and _same(hi, (THETA + R) / F)
    p = {THETA: IIN * F / (2 * TAU), KAPPA: ALPHA}
    width = sp.simplify((hi - lo).subs({sd.tau_S: TAU, derive.Iin: IIN, derive.f: F}).subs(p))
    assert sp.simplify(width - ALPHA * IIN / TAU / (1 + ALPHA)) == 0
    with pytest.raises(ValueError):
        derive.locking_interval(1)


def test_unknown_threshold_policy_is_refused():
    with pytest.raises(ValueError, match="unknown threshold policy"):
        derive.policy_parameters("half")


def _loop_mean(c: float, theta: float, kick: float, tau_S: float, steps: int, settle: int, dither: float,
               period: int) -> float:
    """A second implementation of the comparator loop, one drive at a time in plain Python (r = −i_fb, the
    spike when the drive exceeds the reconstruction by more than θ, the kick arriving with the decay)."""
    r, total = 0.0, 0.0
    alpha = 1 - 1 / tau_S
    for n in range(settle + steps):
        drive = c + dither * math.sin(2 * math.pi * n / period)
        s = drive - r > theta
        if n >= settle:
            total += r
        r = alpha * r + kick * s
    return total / steps


def test_mean_transfer_is_the_loop_mean_and_the_band_centre():
    """derive.mean_transfer against (1) a plain-Python loop at four drives (same dither and window: equal to float
    rounding, 1e-9 relative) and (2) where the band holds (4Δ ≤ c ≤ Iin − 4Δ) the band's centre, c under
    'unbiased' and c + Δ(1/2 − c/Iin) at threshold 0, within Δ/16 (measured ≤ 0.053Δ, at the period-2 lock around
    Iin/2 that the dither does not fully spread, and from the decay's variation across the band); ĥ(0) = 0, non-decreasing; under 'unbiased' the low-activity end lies below c
    (a drive under half a kick spikes only when the dither lifts it)."""
    tau_S, iin = 64.0, 6.0
    delta = iin / tau_S
    for policy in derive.THRESHOLD_POLICIES:
        c, h = derive.mean_transfer(policy, tau_S, iin)
        assert h[0] == 0 and np.all(np.diff(h) >= 0) and c[0] == 0 and c[-1] == iin
        theta, kick = derive.policy_values(policy, tau_S, iin)
        for i in (5, 40, 100, 150):
            ref = _loop_mean(c[i], theta, kick, tau_S, derive.TRANSFER_STEPS, derive.TRANSFER_SETTLE,
                             derive.TRANSFER_DITHER * delta, derive.TRANSFER_DITHER_PERIOD) / (kick * tau_S / iin)
            assert h[i] == pytest.approx(max(ref, h[i - 1]), rel=1e-9)
        band = (c >= 4 * delta) & (c <= iin - 4 * delta)
        centre = c if policy == "unbiased" else c + delta * (0.5 - c / iin)
        assert np.max(np.abs(h[band] - centre[band])) <= delta / 16
    c, h = derive.mean_transfer("unbiased", tau_S, iin)
    low = (c > 0) & (c < delta)
    assert np.all(h[low] < c[low])
