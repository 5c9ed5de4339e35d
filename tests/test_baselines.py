"""Single-neuron tests of the comparison neurons, each run through Brian2 (:func:`simulate_neurons`) and
checked against its own analytic behaviour or a second implementation written from the published code."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

from lprnn_brian.encoding import rates, simulate_neurons, spike_steps
from lprnn_brian.equations import baselines as bl
from lprnn_brian.equations import derive
from lprnn_brian.equations.point import render_brian2, to_str
from lprnn_brian.errors import UserInputError


def _isi_bounds(x: float, theta: float, tau: float, u_lo: float, u_hi: float) -> tuple[float, float]:
    """Bounds on the inter-spike interval (steps) of the discrete LIF u ← α u + (1−α) x, α = e^{−1/τ},
    restarted after each spike from an effective reset value in [u_lo, u_hi].

    From u_r the membrane is x − (x − u_r) α^k after k steps; the first k with a value > θ is
    ⌊T(u_r)⌋ + 1 ∈ (T(u_r), T(u_r) + 1], T(u) = τ ln((x − u)/(x − θ)) the continuous crossing time."""
    T = lambda u: tau * math.log((x - u) / (x - theta))  # noqa: E731
    return T(u_hi), T(u_lo) + 1


# --- LIF -----------------------------------------------------------------------------------------------

def test_lif_first_spike_step_equals_exact_discrete_formula():
    """From u = 0 under constant I, u_n = R I (1 − α^n) after n steps; the first n with u_n > θ is
    ⌊ln(1 − θ/(R I))/ln α⌋ + 1 (strict >), i.e. step index n − 1. Drives chosen away from integer ties."""
    drives = np.array([1.05, 1.3, 2.0, 3.7, 11.0])
    run = simulate_neurons(bl.LIF, np.tile(drives, (200, 1)))
    alpha = math.exp(-1 / bl.LIF.params["tau_m"])
    for j, I in enumerate(drives):
        ratio = math.log(1 - 1.0 / I) / math.log(alpha)
        assert abs(ratio - round(ratio)) > 1e-6
        assert spike_steps(run)[j][0] == math.floor(ratio) + 1 - 1


def test_lif_rate_lies_within_derived_bounds_of_continuous_fI_curve():
    """Reset by subtraction restarts u at the overshoot u_r ∈ (0, (1−α)(RI − θ)] (u_{n−1} ≤ θ bounds it), so
    every ISI lies in (T(u_hi), T(0) + 1] (:func:`_isi_bounds`); T(0) = τ ln(RI/(RI − θ)) is the continuous
    LIF f–I curve. The mean ISI between first and last spike must lie in the same interval."""
    drives = np.array([1.2, 1.5, 2.0, 3.0, 5.0])
    run = simulate_neurons(bl.LIF, np.tile(drives, (20000, 1)))
    tau, alpha = bl.LIF.params["tau_m"], math.exp(-1 / bl.LIF.params["tau_m"])
    for j, x in enumerate(drives):
        k = spike_steps(run)[j]
        mean_isi = (k[-1] - k[0]) / (len(k) - 1)
        lo, hi = _isi_bounds(x, 1.0, tau, 0.0, (1 - alpha) * (x - 1.0))
        assert lo < mean_isi <= hi
        # and the continuous f–I curve itself is within one step of the measured ISI
        assert abs(mean_isi - tau * math.log(x / (x - 1))) < 1


def test_lif_without_leak_counts_floor_of_N_I_over_theta():
    """With τ_m → ∞ and R = 1/(1 − α) the neuron integrates I per step (IF); subtraction keeps the remainder,
    so after N steps the count is ⌊N I/θ⌋. The leak left at τ_m = 1e7 (u ≤ θ loses < N/τ_m = 5e-4 in all)
    can move one boundary crossing: ±1."""
    tau = 1e7
    R = 1 / (1 - math.exp(-1 / tau))
    drives = np.array([0.013, 0.1, 0.37, 0.9])
    N = 5000
    run = simulate_neurons(bl.LIF, np.tile(drives, (N, 1)), params={"tau_m": tau, "R": R})
    expected = np.floor(N * drives / 1.0)
    assert np.all(np.abs(run.spikes.sum(0) - expected) <= 1)


# --- ALIF ----------------------------------------------------------------------------------------------

def _authors_alif(inputs, mem, tau_m, tau_adp, b_j0=0.01, beta=1.8, R_m=1.0):
    """numpy transcription of ``mem_update_adp`` and its driving loop (byin-cwi/Efficient-spiking-networks,
    SHD/SHD_2layer_ALIF.py): b starts at b_j0, spike at 0, ``act_fun_adp`` is ``input.gt(0)``."""
    b = np.full(inputs.shape[1], b_j0)
    spike = np.zeros(inputs.shape[1])
    spikes, mems = [], []
    alpha, ro = np.exp(-1.0 / tau_m), np.exp(-1.0 / tau_adp)
    for x in inputs:
        b = ro * b + (1 - ro) * spike
        B = b_j0 + beta * b
        mem = mem * alpha + (1 - alpha) * R_m * x - B * spike * 1
        spike = (mem - B > 0).astype(float)
        spikes.append(spike.astype(bool))
        mems.append(mem)
    return np.array(spikes), np.array(mems)


def test_alif_matches_authors_mem_update_adp_spike_for_spike():
    """Random drive, per-neuron τ_m, τ_adp from their N(20, 5), N(150, 10) initialisations, u₀ ~ U(0, 1):
    identical spikes, membrane equal to rounding (1e-9: the two evaluate the same map in another order)."""
    rng = np.random.default_rng(0)
    n, steps = 6, 3000
    drive = rng.normal(0.3, 0.6, size=(steps, n))
    tau_m, tau_adp = rng.normal(20, 5, n).clip(5), rng.normal(150, 10, n)
    u0 = rng.uniform(0, 1, n)
    run = simulate_neurons(bl.ALIF, drive, params={"tau_m": tau_m, "tau_adp": tau_adp},
                           initial={"u": u0}, record=["u"])
    spikes, mems = _authors_alif(drive, u0.copy(), tau_m, tau_adp)
    assert spikes.sum() > 100
    np.testing.assert_array_equal(run.spikes, spikes)
    np.testing.assert_allclose(run.states["u"], mems, rtol=0, atol=1e-9)


def test_alif_without_adaptation_equals_sfa_without_ahp():
    """β = 0 (ALIF) and β_a = 0 (SFA) both reduce to u ← αu + (1−α)RI − θ s_{n−1}, spike u > θ: with
    θ = b₀ = v_th the two independently declared models must give identical spikes."""
    rng = np.random.default_rng(1)
    drive = rng.uniform(0, 0.8, size=(2000, 4))
    a = simulate_neurons(bl.ALIF, drive, params={"beta": 0.0})
    s = simulate_neurons(bl.SFA, drive, params={"beta_a": 0.0, "v_th": bl.ALIF.params["b0"]})
    assert a.spikes.sum() > 100
    np.testing.assert_array_equal(a.spikes, s.spikes)


def test_alif_interspike_intervals_grow_after_a_step():
    """Spike-frequency adaptation: under a step the threshold b₀ + βη rises with the rate, so the ISIs grow
    from onset to steady state; the steady ISI is longer than without adaptation (β = 0), whose ISIs stay
    within the LIF bounds of :func:`_isi_bounds` for reset θ s_{n−1} (effective reset u_r ∈
    (θ − θ/α, θ − θ/α + (1−α)(x − θ)])."""
    x = 0.5
    run = simulate_neurons(bl.ALIF, np.full((1500, 2), x), params={"beta": np.array([1.8, 0.0])})
    isi = np.diff(spike_steps(run)[0])
    assert isi[0] < isi[len(isi) // 2] <= isi[-1]
    assert isi[-1] >= 3 * isi[0]
    th, tau = bl.ALIF.params["b0"], bl.ALIF.params["tau_m"]
    alpha = math.exp(-1 / tau)
    lo, hi = _isi_bounds(x, th, tau, th - th / alpha, th - th / alpha + (1 - alpha) * (x - th))
    plain = np.diff(spike_steps(run)[1])
    assert np.all((plain > lo) & (plain <= hi))
    assert isi[-1] > plain.max()


# --- SFA -----------------------------------------------------------------------------------------------

def _spec_sfa(drive, tau_m=20.0, tau_ahp=2000.0, v_th=1.0, R=1.0, beta_a=0.01):
    """numpy transcription of docs/method.md#ahp-neuron-plank-et-al-2022: I_t = ρ_a I_{t−1} + β_a s_{t−1};
    V_t = αV_{t−1} + (1−α)(R x_t − I_t) − v_th s_{t−1}; s_t = [V_t > v_th]."""
    alpha, rho = math.exp(-1 / tau_m), math.exp(-1 / tau_ahp)
    V = np.zeros(drive.shape[1])
    I = np.zeros_like(V)
    s = np.zeros_like(V)
    out = []
    for x in drive:
        I = rho * I + beta_a * s
        V = alpha * V + (1 - alpha) * (R * x - I) - v_th * s
        s = (V > v_th).astype(float)
        out.append(s.astype(bool))
    return np.array(out)


def test_sfa_matches_spec_equations_spike_for_spike():
    rng = np.random.default_rng(2)
    drive = rng.uniform(0.5, 3.0, size=(4000, 5))
    beta_a = np.array([0.0, 0.005, 0.01, 0.02, 0.05])
    run = simulate_neurons(bl.SFA, drive, params={"beta_a": beta_a})
    ref = np.column_stack([_spec_sfa(drive[:, [j]], beta_a=b)[:, 0] for j, b in enumerate(beta_a)])
    assert ref.sum() > 500
    np.testing.assert_array_equal(run.spikes, ref)


def test_sfa_steady_rate_is_self_consistent_with_mean_ahp_current():
    """At steady rate p the AHP current averages Ī = β_a p/(1 − ρ_a) and swings by at most β_a (one jump);
    the membrane is then a LIF with effective drive x = RI − I_AHP ∈ [RI − Ī − β_a, RI − Ī + β_a] and reset
    v_th s_{n−1}, so the mean ISI must lie in the :func:`_isi_bounds` interval for those drives. Warm-up of
    6 τ_AHP leaves e^{−6}·Ī < β_a of the transient."""
    p0 = bl.SFA.params
    drives = np.array([1.5, 2.0, 3.0])
    warm, N = int(6 * p0["tau_ahp"]), 20000
    run = simulate_neurons(bl.SFA, np.tile(drives, (warm + N, 1)))
    tau, th, ba = p0["tau_m"], p0["v_th"], p0["beta_a"]
    alpha, rho = math.exp(-1 / tau), math.exp(-1 / p0["tau_ahp"])
    for j, RI in enumerate(drives):
        k = spike_steps(run)[j]
        k = k[k >= warm]
        mean_isi = (k[-1] - k[0]) / (len(k) - 1)
        I_bar = ba * (1 / mean_isi) / (1 - rho)
        x_lo, x_hi = RI - I_bar - ba, RI - I_bar + ba
        u_lo = th - th / alpha
        lo, _ = _isi_bounds(x_hi, th, tau, u_lo, u_lo + (1 - alpha) * (x_hi - th))
        _, hi = _isi_bounds(x_lo, th, tau, u_lo, u_lo + (1 - alpha) * (x_lo - th))
        assert lo < mean_isi <= hi
        # adaptation matters here: the same neuron without AHP fires faster than the bound allows
        assert _isi_bounds(RI, th, tau, u_lo, u_lo + (1 - alpha) * (RI - th))[1] < lo


# --- DPI (Nair & Indiveri 2019) ------------------------------------------------------------------------

def test_dpi_time_constant_is_1477_us_for_50_pA():
    """docs/method.md#the-2019-lprnn-cell: τ = C U_T/(κ I_τ) = 1.477 ms for C = 2 pF, T = 300 K, κ = 0.7,
    I_τ = 50 pA."""
    tau = bl.DPI.numeric(bl.dpi_tau(bl.I_tau_ip))
    assert tau == pytest.approx(1.477e-3, abs=0.5e-6)


def _dpi_constants(neuron):
    P = neuron.params
    e_fb = math.exp(-P["Ts"] / neuron.numeric(bl.dpi_tau(bl.I_tau_fb)))
    g_fb = P["I_th_fb"] / P["I_tau_fb"]
    e_err = math.exp(-P["Ts"] / neuron.numeric(bl.dpi_tau(bl.I_tau_err)))
    k_err = P["I_th_err"] / P["I_tau_err"] * (1 - e_err)
    return P, e_fb, g_fb, g_fb * (1 - e_fb) * P["I_in"], k_err


@pytest.mark.parametrize("mode", ["dm", "sd"])
def test_dpi_feedback_tracks_input_and_rate_follows_feedback_fixed_point(mode):
    """Constant input c (I_ip held at c from the start). A spike at n adds inc = g(1−e)I_in to I_fb at n+1.

    * ``dm`` fires iff I_fb < c − thresh, so in steady state I_fb ∈ [e(c − thresh), c − thresh + inc).
    * ``sd`` fires at n only if I_fb,n < c (else the error only decays below thresh), so I_fb < c + inc;
      and I_fb,n < c − thresh/k (k = g_err(1 − e_err)) forces a spike, so I_fb ≥ e(c − thresh/k).

    Summing the feedback map over the window gives count·inc = (1−e)ΣI_fb + I_fb,end − I_fb,start, i.e.
    p = mean(I_fb)/(g I_in) + O(1/N): the rate must lie in the band of I_fb divided by g I_in, ± 2/N."""
    neuron = bl.dpi(mode)
    P, e, g, inc, k_err = _dpi_constants(neuron)
    c = np.array([2e-9, 5e-9, 10e-9, 20e-9])
    warm, N = 2000, 18000
    run = simulate_neurons(neuron, np.tile(c, (warm + N, 1)), initial={"I_ip": c}, record=["I_fb", "I_ip"])
    fb = run.states["I_fb"][warm:]
    np.testing.assert_allclose(run.states["I_ip"], np.tile(c, (warm + N, 1)), rtol=1e-12)
    if mode == "dm":
        lo, hi = e * (c - P["thresh"]), c - P["thresh"] + inc
        assert np.all(np.abs(fb - c) <= P["thresh"] + inc)
    else:
        lo, hi = e * (c - P["thresh"] / k_err), c + inc
    assert np.all(fb.min(0) >= lo - 1e-18) and np.all(fb.max(0) < hi)
    p = run.spikes[warm:].mean(0)
    gI = g * P["I_in"]
    assert np.all(p >= lo / gI - 2 / N) and np.all(p <= hi / gI + 2 / N)
    if mode == "dm":  # the analytic steady state, to within the band (0.3 % of the rate at 10 nA)
        np.testing.assert_allclose(p, (c - P["thresh"]) / gI, rtol=0.02)


def test_dpi_integrate_and_fire_mode_fires_once_per_refractory_period():
    """In ``if`` mode the error DPI integrates I_ip (≥ 2 nA: k_err·I_ip ≫ thresh in one step), so each spike
    follows the end of the refractory period at once: ISI = t_refr/T_s = 1000 steps exactly."""
    neuron = bl.dpi("if")
    run = simulate_neurons(neuron, np.full((5000, 2), 5e-9))
    expected = round(neuron.params["t_refr"] / neuron.params["Ts"])
    for k in spike_steps(run):
        assert len(k) >= 4 and np.all(np.diff(k) == expected)


# --- the package's own ΣΔ neuron -----------------------------------------------------------------------

def test_sigma_delta_encoder_rate_and_reconstruction_follow_derive_oracle():
    """Oracle: :func:`derive.steady_state_rate` (p = c/Iin). Tracking: the neuron fires iff −i_fb < c
    (pre-step), so −i_fb stays in [c − kick, c + kick) after the first crossing (kick = Iin/τ_S, c ≤ Iin).
    Summing the i_fb map gives p = mean(−i_fb)/Iin + O(1/N), so |p − c/Iin| ≤ kick/Iin + 2/N."""
    c = np.array([0.1, 0.25, 0.5, 0.73, 0.9])
    P = bl.SIGMA_DELTA.params
    rate = sp.lambdify((derive.c, derive.Iin, derive.f), derive.steady_state_rate())
    expected = np.array([rate(ci, P["Iin_snn"], 1.0) for ci in c])
    warm, N = 1000, 20000
    run = simulate_neurons(bl.SIGMA_DELTA, np.tile(c, (warm + N, 1)), record=["i_fb"])
    kick = P["Iin_snn"] / P["tau_S"]
    recon = -run.states["i_fb"][warm:]
    assert np.all(recon >= c - kick - 1e-12) and np.all(recon < c + kick)
    p = run.spikes[warm:].mean(0)
    assert np.all(np.abs(p - expected) <= kick / P["Iin_snn"] + 2 / N)
    # symmetric drive c = Iin/2: alternate spikes, the mean is exact to the window edge
    assert abs(p[2] - 0.5) <= 1 / N


# --- rendering and input checks ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(bl.BASELINES))
def test_rendered_code_is_printed_from_the_sympy_declaration(name):
    """Every update/reset right-hand side appears in the Brian2 code as sympy_to_str of the declaration,
    and parses back (Brian2's parser) to the declared expression."""
    neuron = bl.BASELINES[name]
    code = render_brian2(neuron)
    drive_call = sp.Function("drive")(sp.Symbol("t"), sp.Symbol("i"))
    for block, mapping in ((code.update, neuron.update), (code.reset, neuron.reset), (code.pre, neuron.pre)):
        for x, expr in mapping.items():
            rhs = to_str(sp.sympify(expr).subs(neuron.drive, drive_call))
            assert f"{x}_next = {rhs}" in block.splitlines()
    assert code.threshold == sympy_to_str(neuron.threshold)
    back = str_to_sympy(code.threshold)
    names = {s.name for s in back.free_symbols}
    assert names == {s.name for s in neuron.threshold.free_symbols}


def test_bad_inputs_raise_user_input_error_with_a_hint():
    good = np.ones((10, 2))
    with pytest.raises(UserInputError, match="2-D"):
        simulate_neurons(bl.LIF, np.ones(10))
    with pytest.raises(UserInputError, match="non-finite"):
        simulate_neurons(bl.LIF, np.where(np.eye(10, 2) > 0, np.nan, 1.0))
    with pytest.raises(UserInputError, match="known: .*tau_m"):
        simulate_neurons(bl.LIF, good, params={"tau": 3.0})
    with pytest.raises(UserInputError, match="length 2"):
        simulate_neurons(bl.LIF, good, params={"theta": [1.0, 2.0, 3.0]})
    with pytest.raises(UserInputError, match="cannot record"):
        simulate_neurons(bl.LIF, good, record=["v"])


def test_per_neuron_parameters_and_rates_helper():
    """A per-neuron threshold array sweeps rates in one run: each column equals its own single-neuron run."""
    theta = np.array([0.5, 1.0, 1.5])
    run = simulate_neurons(bl.LIF, np.full((3000, 3), 2.0), params={"theta": theta})
    for j, th in enumerate(theta):
        alone = simulate_neurons(bl.LIF, np.full((3000, 1), 2.0), params={"theta": th})
        np.testing.assert_array_equal(run.spikes[:, j], alone.spikes[:, 0])
    r = rates(run)
    assert r[0] > r[1] > r[2] > 0
    assert r[1] == pytest.approx(run.spikes[:, 1].sum() / 3.0)
