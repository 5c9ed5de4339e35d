"""Symbolic facts about the ΣΔ neuron, derived from the declaration in :mod:`.sigma_delta`.

Used elsewhere (conversion, tests, reports) instead of hand-typed constants (docs/method.md#parameter-mapping,
docs/method.md#why-the-spikes-reproduce-the-rate-network):

* :func:`feedback_fixed_point` / :func:`steady_state_rate`: firing probability per step for a constant drive;
* :func:`filter_time_constant`, :func:`steps_per_frame`, :func:`retention_per_frame`: a ↔ τ ↔ τ_S ↔ M;
* :func:`tracking_error_bound`: the ripple of the feedback reconstruction;
* :func:`reconstruction_transfer`, :func:`error_transfer`, :func:`error_power_gain`,
  :func:`error_corner_frequency`, :func:`error_asymptotic_slope`: the feedback filter and the noise shaping of
  the spike train's coding error; :func:`rate_code_snr`: the Poisson rate code's SNR through the same filter.
"""
from __future__ import annotations

import functools
import math

import sympy as sp

from . import sigma_delta as sd

#: Retention ratio a, ANN frame step Δt_A, SNN step Δt_S, ANN clamp Iin, factor f, drive c (ANN units),
#: mean spike probability per step p.
a = sp.Symbol("a", positive=True)
dt_A = sp.Symbol("Delta_t_A", positive=True)
dt_S = sd.dt_S
Iin = sp.Symbol("I_in", positive=True)
f = sp.Symbol("f", positive=True)
c = sp.Symbol("c", nonnegative=True)
p = sp.Symbol("p", nonnegative=True)

#: Iin_snn = Iin·f; the feedback kick is Iin_snn/τ_S (docs/method.md#synapses).
IIN_SNN = Iin * f
KICK = IIN_SNN / sd.tau_S


def filter_time_constant() -> sp.Expr:
    """τ of the lpRNN filter: a = exp(−Δt_A/τ) ⇒ τ = −Δt_A/ln a (seconds)."""
    tau = sp.Symbol("tau", positive=True)
    (sol,) = sp.solve(sp.Eq(a, sp.exp(-dt_A / tau)), tau)
    return sp.simplify(sol)


def steps_per_frame() -> sp.Expr:
    """M = Δt_A/Δt_S with τ_S = τ/Δt_S: M = −τ_S ln a."""
    tau = filter_time_constant()
    return sp.simplify((dt_A / dt_S).subs(dt_S, tau / sd.tau_S))


def retention_per_frame() -> sp.Expr:
    """Retention of the SNN filter over one frame, (1 − 1/τ_S)^M (→ a as τ_S → ∞)."""
    return (1 - 1 / sd.tau_S) ** steps_per_frame()


def feedback_fixed_point() -> sp.Expr:
    """Mean i_fb for a mean spike probability p per step: the fixed point of the i_fb update plus kicks,
    i* = (1 − 1/τ_S) i* − kick·p."""
    i_star = sp.Symbol("i_star")
    update = sd.UPDATE[sd.i_fb].subs(sd.i_fb, i_star) - KICK * p
    (sol,) = sp.solve(sp.Eq(i_star, update), i_star)
    return sp.simplify(sol)


def steady_state_rate() -> sp.Expr:
    """Spike probability per step for constant drive c ∈ [0, Iin] (i_ip held at c·f).

    The ΣΔ loop makes the reconstruction −i_fb track the drive on average, −E[i_fb] = c·f; solving with
    :func:`feedback_fixed_point` gives p = c/Iin (docs/method.md#what-the-tests-check).
    """
    (sol,) = sp.solve(sp.Eq(-feedback_fixed_point(), c * f), p)
    return sp.simplify(sol.subs(sd.kick, KICK))


def tracking_error_bound() -> sp.Expr:
    """Ripple bound of the reconstruction in ANN units: one kick, Iin/τ_S
    (docs/method.md#why-the-spikes-reproduce-the-rate-network)."""
    return sp.simplify(KICK / f)


# --- numeric forms (plain SI floats) ------------------------------------------------------------------

def tau_seconds(retention: float, frame_dt: float) -> float:
    """τ = −Δt_A/ln a in seconds."""
    if not 0 < retention < 1:
        raise ValueError(f"retention must lie in (0, 1), got {retention}")
    return float(_tau_function()(retention, frame_dt))


@functools.lru_cache(maxsize=None)
def _tau_function():
    """τ(a, Δt_A) as a plain-math function, lambdified once (per-unit retentions call it per unit)."""
    return sp.lambdify((a, dt_A), filter_time_constant(), "math")


def n_steps(n_frames: int, retention: float, tau_S: float) -> int:
    """Number of SNN steps for ``n_frames`` ANN frames: ⌊T·M⌋ (docs/method.md#reproduced-numbers)."""
    M = sp.lambdify((a, sd.tau_S), steps_per_frame(), "math")(retention, tau_S)
    return int(math.floor(n_frames * M))


# --- coding: reconstruction filter, noise shaping, rate-code noise (issue 6, analysis/coding.py) ----------
#: z-transform variable (one SNN step: z⁻¹ is a one-step delay) and angular frequency ω in rad/step.
z = sp.Symbol("z")
omega = sp.Symbol("omega", positive=True)
#: Per-step spike probability variance var(p) and mean Bernoulli variance E[p(1 − p)] of a rate code.
var_p = sp.Symbol("sigma_p2", positive=True)
bern_var = sp.Symbol("m_pq", positive=True)


def reconstruction_transfer() -> sp.Expr:
    """R(z): spikes → normalised reconstruction −i_fb/Iin_snn, read off the declaration
    (docs/method.md#why-the-spikes-reproduce-the-rate-network).

    One step of i_fb is the leak :data:`.sigma_delta.UPDATE` followed by the own-spike kick
    :data:`.sigma_delta.ON_SPIKE_SELF`; in the z-domain z·I = α_S·I − kick·S. Solving gives
    R = (1/τ_S)/(z − α_S) = (1/τ_S) z⁻¹/(1 − α_S z⁻¹): a unit-DC-gain leaky average of past spikes.
    """
    I, S = sp.symbols("I S")
    leak = sp.diff(sd.UPDATE[sd.i_fb], sd.i_fb)  # α_S: the update is linear in i_fb
    jump = sp.diff(sd.ON_SPIKE_SELF[sd.i_fb], sd.kick)  # −1 per kick
    (sol,) = sp.solve(sp.Eq(z * I, leak * I + jump * sd.kick * S), I)
    return sp.simplify((-sol / (IIN_SNN * S)).subs(sd.kick, KICK))


def reconstruction_filter_coefficients() -> tuple[list[sp.Expr], list[sp.Expr]]:
    """(b, a) in powers of z⁻¹ of :func:`reconstruction_transfer`, as ``scipy.signal.lfilter`` takes them."""
    num, den = sp.fraction(sp.together(reconstruction_transfer()))
    q = sp.Symbol("q")  # q = z⁻¹
    deg = max(sp.degree(num, z), sp.degree(den, z))
    num_q, den_q = (sp.expand(e.subs(z, 1 / q) * q**deg) for e in (num, den))
    lead = den_q.subs(q, 0)
    b = sp.Poly(num_q / lead, q).all_coeffs()[::-1]
    a = sp.Poly(den_q / lead, q).all_coeffs()[::-1]
    return [sp.simplify(c) for c in b], [sp.simplify(c) for c in a]


def error_transfer() -> sp.Expr:
    """E(z) = 1/R(z) = τ_S(z − α_S): spike-train error (relative to the ideal rate) per unit of tracking error.

    With y = −i_fb/Iin_snn = x + e (x the normalised drive, e the bounded tracking error, |e| ≲ 1/τ_S),
    s = y/R = x/R + e/R: the first term is the ideal rate (with a lead that the decoder's R undoes), the second
    the spike train's coding error, i.e. the tracking error shaped by τ_S(z − 1 + 1/τ_S).
    """
    return sp.simplify(1 / reconstruction_transfer())


def error_power_gain() -> sp.Expr:
    """|E(e^{iω})|² normalised to 1 at ω = 0, a real function of ω (rad/step) and τ_S:
    1 + 2α_S(1 − cos ω)/(1 − α_S)² = 1 + 2τ_S(τ_S − 1)(1 − cos ω)."""
    E = error_transfer()
    on_circle = E.subs(z, sp.exp(sp.I * omega))
    power = sp.expand(on_circle * sp.conjugate(on_circle), complex=True)
    power = sp.simplify(sp.expand_complex(power).rewrite(sp.cos))
    return sp.simplify(power / power.subs(omega, 0))


def error_corner_frequency() -> sp.Expr:
    """Exact corner ω_c (rad/step) of the noise shaping: |E|² = 2·|E(0)|² (3 dB above the flat floor)."""
    # |E|² depends on ω only through cos ω (monotone on [0, π]): solve for cos ω, then take acos ∈ [0, π]
    c = sp.Symbol("c", real=True)
    (cos_c,) = sp.solve(sp.Eq(error_power_gain().subs(sp.cos(omega), c), 2), c)
    return sp.simplify(sp.acos(cos_c))


def error_corner_frequency_asymptote() -> sp.Expr:
    """τ_S·ω_c = 1 + 1/(2τ_S) + O(τ_S⁻²), i.e. f_c ≈ 1/(2π τ_S) cycles per step for slow feedback.

    Expanded in ε = 1/τ_S (``sympy.limit`` of this acos expression returns a wrong 0; the series is right)."""
    eps = sp.Symbol("epsilon", positive=True)
    scaled = (error_corner_frequency() * sd.tau_S).subs(sd.tau_S, 1 / eps)
    return sp.series(scaled, eps, 0, 2).removeO().subs(eps, 1 / sd.tau_S)


def error_shaping_slope() -> sp.Expr:
    """Local slope of 10·log10|E|² against log10 ω in dB/decade: 10·ω·d ln|E|²/dω."""
    return sp.simplify(10 * omega * sp.diff(sp.log(error_power_gain()), omega))


def error_asymptotic_slope() -> sp.Expr:
    """+20 dB/decade: the slope between the corner and Nyquist, lim_{ω→0} lim_{τ_S→∞} (first-order shaping)."""
    return sp.limit(sp.limit(error_shaping_slope(), sd.tau_S, sp.oo), omega, 0)


def filter_noise_gain() -> sp.Expr:
    """Σ_k h_k² of the reconstruction filter h_k = (1/τ_S)α_S^k: the variance a white unit-variance spike noise
    has after filtering (its noise bandwidth), 1/(2τ_S − 1)."""
    k = sp.Symbol("k", integer=True, nonnegative=True)
    r = sp.Symbol("r", positive=True)  # the ratio α_S², in (0, 1) for τ_S > 1
    alpha = sd.UPDATE[sd.i_fb].diff(sd.i_fb)
    total = sp.summation(r**k, (k, 0, sp.oo))
    if isinstance(total, sp.Piecewise):  # sympy returns the convergent branch first, valid for 0 < r < 1
        total = total.args[0][0]
    return sp.simplify(total.subs(r, alpha**2) / sd.tau_S**2)


def rate_code_snr() -> sp.Expr:
    """SNR (linear) of a Bernoulli rate code (p_n per step) read through the reconstruction filter:
    var(p)/(E[p(1 − p)]·Σh²) for a signal slow against τ_S (no filter distortion)."""
    return sp.simplify(var_p / (bern_var * filter_noise_gain()))


def affine_decoder_snr(snr: sp.Expr | None = None) -> sp.Expr:
    """SNR after a least-squares gain/offset fit of (signal + independent noise) onto the signal: 1 + SNR.

    The optimal gain σ_s²/(σ_s² + σ_n²) shrinks the estimate; its error variance is
    σ_s²σ_n²/(σ_s² + σ_n²)."""
    ss, sn = sp.symbols("sigma_s2 sigma_n2", positive=True)
    g = ss / (ss + sn)
    err = (1 - g) ** 2 * ss + g**2 * sn
    out = sp.simplify(ss / err)
    x = sp.Symbol("snr", positive=True)
    out = sp.simplify(out.subs(ss, x * sn))
    return out if snr is None else out.subs(x, snr)


@functools.lru_cache(maxsize=None)
def coding_functions() -> dict:
    """Plain-numpy forms of the coding facts above (lambdified once)."""
    tau = sd.tau_S
    b, a_coef = reconstruction_filter_coefficients()
    return {
        "filter_b": sp.lambdify(tau, b, "numpy"),
        "filter_a": sp.lambdify(tau, a_coef, "numpy"),
        "error_power_gain": sp.lambdify((omega, tau), error_power_gain(), "numpy"),
        "error_corner": sp.lambdify(tau, error_corner_frequency(), "numpy"),
        "filter_noise_gain": sp.lambdify(tau, filter_noise_gain(), "numpy"),
        "rate_code_snr": sp.lambdify((var_p, bern_var, tau), rate_code_snr(), "numpy"),
        "affine_snr": sp.lambdify(sp.Symbol("snr", positive=True), affine_decoder_snr(), "numpy"),
    }


# --- reconstruction bias and threshold policies (docs/method.md#the-comparators-threshold) -----------------
#: Comparator threshold θ (integer units: the spike condition is v > θ = 64·vth_mant) and kick gain κ: the kick
#: is κ·Iin_snn/τ_S, and the fb decode divides by it, ĥ = −i_fb/(κ f).
theta = sp.Symbol("theta", nonnegative=True)
kappa = sp.Symbol("kappa", positive=True)
#: Threshold policies: ``zero`` is the authors' neuron (θ = 0, κ = 1); ``unbiased`` chooses θ and κ so that the
#: reconstruction band is centred on the drive (:func:`policy_parameters`).
THRESHOLD_POLICIES = ("zero", "unbiased")


def comparator_loop() -> tuple[sp.Expr, sp.Expr]:
    """The loop of one neuron whose integrated input is held at c·f (a constant drive), read off the declaration.

    v enters each step at 0 (reset after a spike; otherwise floored at 0 below the threshold, and forgotten in
    one step when τ_V = 1, as every policy with θ > 0 sets it), so the spike condition of step n is
    :data:`.sigma_delta.THRESHOLD` with v = :data:`.sigma_delta.UPDATE`\\ [v] at v = 0; i_fb then decays
    (:data:`.sigma_delta.UPDATE`) and takes the kick (:data:`.sigma_delta.ON_SPIKE_SELF`) of that step, the
    loop's one-step delay. In the reconstruction r = −i_fb ≥ 0:

    s_n = [c f − r_n > θ],   r_{n+1} = (1 − 1/τ_S) r_n + κ (Iin f/τ_S) s_n.

    Returns
    -------
    (margin, next_r) : margin c f − r − θ (the neuron spikes iff it is > 0) and r_{n+1} as a function of r and the
    spike s (symbol ``s``), both with θ = 64·vth_mant and kick = κ·Iin_snn/τ_S substituted.
    """
    r, s = sp.symbols("r s")
    v_new = sd.UPDATE[sd.v].subs({sd.v: 0, sd.i_ip: c * f, sd.i_fb: -r})
    cond = sd.THRESHOLD.subs(sd.v, v_new)
    margin = sp.expand(cond.lhs - cond.rhs).subs(sd.ACTIVATION_SHIFT * sd.vth_mant, theta)
    margin = margin.subs(sd.vth_mant, theta / sd.ACTIVATION_SHIFT)
    jump = sd.ON_SPIKE_SELF[sd.i_fb] - sd.i_fb  # −kick per spike
    i_next = sd.UPDATE[sd.i_fb].subs(sd.i_fb, -r) + s * jump
    next_r = sp.expand(-i_next.subs(sd.kick, kappa * KICK))
    return margin, next_r


def reconstruction_band() -> tuple[sp.Expr, sp.Expr]:
    """The exact invariant band of the fb decode ĥ = r/(κ f) for a constant drive c, in ANN units: (low, high).

    The loop fires below the crossing point r* = c f − θ (where :func:`comparator_loop`'s margin is 0). A step
    without a spike from r ≥ r* lands at or above (1 − 1/τ_S) r*; a step with one from r < r* lands below
    (1 − 1/τ_S) r* + kick. So once inside, r stays in [(1 − 1/τ_S) r*, (1 − 1/τ_S) r* + kick): one kick wide
    (spec oracle: within one kick of the drive), whatever θ and κ.
    """
    margin, next_r = comparator_loop()
    r, s = sp.symbols("r s")
    (r_star,) = sp.solve(sp.Eq(margin, 0), r)
    low = next_r.subs({r: r_star, s: 0})
    high = next_r.subs({r: r_star, s: 1})
    return sp.simplify(low / (kappa * f)), sp.simplify(high / (kappa * f))


def reconstruction_error_mean() -> sp.Expr:
    """Mean error of the fb decode for a constant drive c (ANN units), the centre of :func:`reconstruction_band`
    less c: (1 − 1/τ_S)(c − θ/f)/κ + Iin/(2τ_S) − c.

    It is the time mean when the loop's phase is spread evenly over the band (a drive that moves by a fraction
    of a kick, as every drive in a network does); a drive held exactly constant locks the loop onto a periodic
    spike pattern, whose mean is Iin·p for a rational spike probability p (:func:`locking_interval`). At θ = 0,
    κ = 1 it is Δ/2 − c/τ_S = Δ(1/2 − c/Iin) with Δ = Iin/τ_S: half a kick above the drive, less a gain error
    from the loop's one-step delay (the reconstruction is compared before it decays).
    """
    low, high = reconstruction_band()
    return sp.simplify((low + high) / 2 - c)


@functools.lru_cache(maxsize=None)
def policy_parameters(policy: str) -> dict[sp.Symbol, sp.Expr]:
    """θ and κ of a threshold policy, as expressions in τ_S, Iin and f.

    * ``zero``: θ = 0, κ = 1 (the authors' neuron; its mean error is Δ(1/2 − c/Iin)).
    * ``unbiased``: the θ and κ for which :func:`reconstruction_error_mean` vanishes for every drive c (both of
      its coefficients in c are 0): κ = 1 − 1/τ_S and θ = Iin f/(2τ_S), half a nominal kick. The spike then
      moves the next reconstruction to whichever of (1 − 1/τ_S) r and (1 − 1/τ_S) r + kick is nearer the drive.
    """
    if policy == "zero":
        return {theta: sp.Integer(0), kappa: sp.Integer(1)}
    if policy == "unbiased":
        err = sp.Poly(sp.expand(reconstruction_error_mean() * kappa), c)
        (sol,) = sp.solve(err.all_coeffs(), [theta, kappa], dict=True)
        return {theta: sp.simplify(sol[theta]), kappa: sp.simplify(sol[kappa])}
    raise ValueError(f"unknown threshold policy {policy!r}; choose one of {THRESHOLD_POLICIES}")


def locking_interval(q: int) -> tuple[sp.Expr, sp.Expr]:
    """Drives c (ANN units) for which the loop locks to one spike every ``q`` steps: the half-open interval
    (low, high] of :func:`comparator_loop` with the periodic orbit r_j = (1 − 1/τ_S)^j R, R = kick/(1 − α^q):
    the spike at j = q − 1 needs a positive margin there, the silence at j = q − 2 a margin ≤ 0. On it the mean
    fb decode is exactly Iin/q whatever c is, so the mean error is Iin/q − c: the width (≈ Δ/q for q ≪ τ_S,
    Δ/(1 + α_S) for q = 2 under ``unbiased``) bounds what no choice of θ or κ can remove for a drive held exactly
    constant."""
    if int(q) < 2:
        raise ValueError("q must be >= 2")
    margin, next_r = comparator_loop()
    r, s = sp.symbols("r s")
    alpha = sp.diff(next_r, r)
    kick_ = next_r.subs({r: 0, s: 1})
    R = kick_ / (1 - alpha**q)
    fire_at = sp.solve(sp.Eq(margin.subs(r, alpha ** (q - 1) * R), 0), c)[0]
    quiet_at = sp.solve(sp.Eq(margin.subs(r, alpha ** (q - 2) * R), 0), c)[0]
    return sp.simplify(fire_at), sp.simplify(quiet_at)


def _error_in_integer_units() -> tuple[sp.Expr, sp.Expr]:
    """(gain − 1, offset) of the mean decode error as coefficients of c: error = (gain − 1)·c + offset."""
    err = sp.Poly(sp.expand(reconstruction_error_mean()), c)
    return err.coeff_monomial(c), err.coeff_monomial(1)


@functools.lru_cache(maxsize=None)
def _centring_function():
    _, offset = _error_in_integer_units()
    (sol,) = sp.solve(sp.Eq(offset, 0), theta)
    return sp.lambdify((sd.tau_S, Iin, f, kappa), sol, "math")


def centring_threshold(tau_S: float, Iin_snn: float, kick: float) -> float:
    """θ that zeroes the offset of :func:`reconstruction_error_mean` for a given kick (a Loihi-rounded one):
    θ = kick/(2(1 − 1/τ_S)). With the kick of ``unbiased`` it is that policy's θ."""
    return float(_centring_function()(tau_S, Iin_snn, 1.0, kick * tau_S / Iin_snn))


@functools.lru_cache(maxsize=None)
def _coefficient_functions():
    slope, offset = _error_in_integer_units()
    args = (sd.tau_S, Iin, f, kappa, theta)
    return sp.lambdify(args, slope, "math"), sp.lambdify(args, offset * sd.tau_S / Iin, "math")


def mean_error_coefficients(tau_S: float, Iin_snn: float, kick: float, threshold: float) -> tuple[float, float]:
    """(gain error, offset) of the mean fb-decode error for a layer's kick and θ: error = gain·c + offset·Δ,
    gain dimensionless, offset in nominal kicks Δ = Iin/τ_S (0, 0 for ``unbiased`` exactly; −1/τ_S, 1/2 for
    ``zero``)."""
    slope, offset = _coefficient_functions()
    k = kick * tau_S / Iin_snn
    return float(slope(tau_S, Iin_snn, 1.0, k, threshold)), float(offset(tau_S, Iin_snn, 1.0, k, threshold))


@functools.lru_cache(maxsize=None)
def _policy_functions(policy: str):
    p = policy_parameters(policy)
    args = (sd.tau_S, Iin, f)
    return sp.lambdify(args, p[theta], "math"), sp.lambdify(args, p[kappa], "math")


def policy_values(policy: str, tau_S: float, Iin_snn: float) -> tuple[float, float]:
    """(threshold θ, kick) in integer units for a layer with feedback time constant ``tau_S`` (steps) and
    Iin_snn = Iin·f, under ``policy`` (:func:`policy_parameters`)."""
    th, ka = _policy_functions(policy)
    # θ and κ depend on Iin and f only through Iin·f: evaluate with Iin = Iin_snn, f = 1
    return float(th(tau_S, Iin_snn, 1.0)), float(ka(tau_S, Iin_snn, 1.0)) * Iin_snn / tau_S


#: Steps of the loop run per drive by :func:`mean_transfer` (after :data:`TRANSFER_SETTLE` steps), and the
#: period (steps) and amplitude (nominal kicks) of the slow dither that spreads the loop's phase.
TRANSFER_STEPS, TRANSFER_SETTLE, TRANSFER_DITHER_PERIOD, TRANSFER_DITHER = 24000, 4000, 7919, 0.5


@functools.lru_cache(maxsize=None)
def mean_transfer(policy: str, tau_S: float, iin: float = 6.0) -> tuple:
    """The ΣΔ neuron's mean transfer: its time-mean fb decode ĥ(c) for drives c from 0 to Iin = ``iin`` (ANN
    units), by running :func:`comparator_loop` (threshold and kick of ``policy``) on a grid of drives.

    It is c + :func:`reconstruction_error_mean` where the band holds, and shows what the band analysis leaves out
    at low activity, where the loop fires rarely: at threshold 0 the reconstruction of a small drive overshoots
    it; under ``unbiased`` a drive below half a kick never fires (ĥ = 0) and the decode approaches c over the next
    kick or two. A network's drives move, so each drive carries a slow dither of ±``TRANSFER_DITHER`` kicks
    (period ``TRANSFER_DITHER_PERIOD`` steps) that spreads the loop's phase instead of letting it lock; the mean
    is taken over ``TRANSFER_STEPS`` steps. ĥ(0) = 0 (no drive, no spikes) and the table is made non-decreasing.
    Training through it (:class:`lprnn_brian.ann.model.LpRNNModel` ``transfer``) makes the rate network the one
    the spikes realise on average.

    Returns
    -------
    (c, h) : two float64 arrays (drives, 1/16 kick apart up to 4 kicks, then ½ kick apart; mean decodes).
    """
    import numpy as np

    if policy not in THRESHOLD_POLICIES:
        raise ValueError(f"unknown threshold policy {policy!r}; choose one of {THRESHOLD_POLICIES}")
    delta = iin / tau_S
    c_grid = np.unique(np.concatenate([np.arange(0.0, 4 * delta, delta / 16), np.arange(4 * delta, iin, delta / 2),
                                       [iin]]))
    margin, next_r = comparator_loop()
    r, s = sp.symbols("r s")
    numbers = {sd.tau_S: tau_S, Iin: iin, f: 1.0}
    policy_numbers = {k: v.subs(numbers) for k, v in policy_parameters(policy).items()}
    fire = sp.lambdify((c, r), margin.subs(policy_numbers).subs(numbers), "numpy")
    step = sp.lambdify((r, s), next_r.subs(policy_numbers).subs(numbers), "numpy")
    gain = float(policy_numbers[kappa])
    rr = np.zeros_like(c_grid)
    acc = np.zeros_like(c_grid)
    for n in range(TRANSFER_SETTLE + TRANSFER_STEPS):
        drive = c_grid + TRANSFER_DITHER * delta * np.sin(2 * np.pi * n / TRANSFER_DITHER_PERIOD)
        spike = (fire(drive, rr) > 0).astype(float)
        if n >= TRANSFER_SETTLE:
            acc += rr
        rr = step(rr, spike)
    h = np.maximum.accumulate(np.minimum(acc / TRANSFER_STEPS / gain, iin))
    h[0] = 0.0
    return c_grid, h


def reconstruction_step_range() -> tuple[sp.Expr, sp.Expr]:
    """Where the fb decode ĥ = r/(κ f) can be one step later, read off :func:`comparator_loop`: without a spike
    (1 − 1/τ_S) ĥ, with one (1 − 1/τ_S) ĥ + Iin/τ_S. Over m steps the range composes to [α^m ĥ, α^m ĥ + (1 − α^m)
    Iin] (α = 1 − 1/τ_S): the reconstruction falls no faster than its leak and rises no faster than towards Iin with
    the same time constant, whatever its drive does (a drive that jumps or drops faster, as a strongly inhibited
    unit's does, is followed with that lag)."""
    h = sp.Symbol("h_hat", nonnegative=True)
    r, s = sp.symbols("r s")
    _, next_r = comparator_loop()
    step = [sp.simplify(next_r.subs({r: h * kappa * f, s: spike}) / (kappa * f)) for spike in (0, 1)]
    return step[0], step[1]
