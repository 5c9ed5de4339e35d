r"""Comparison neurons (docs/method.md#comparison-neurons, docs/method.md#the-analog-antecedent) declared as
:class:`.point.PointNeuron` one-step maps.

LIF (rate code), ALIF (Yin 2021), SFA/AHP (Plank 2021), the 2019 analog DPI ΣΔ neuron (Nair & Indiveri) and
the package's own ΣΔ neuron as a single encoder; :data:`BASELINES` names them for the analysis.

Drive units (what :func:`lprnn_brian.encoding.simulate_neurons` expects per column):

* ``lif``, ``alif``, ``sfa``: dimensionless input current, membrane target R·I; the neuron fires once
  R·I exceeds its threshold (θ = 1, b₀ = 0.01, v_th = 1). Sweep the rate with the drive or a per-neuron
  gain ``R`` / ``R_m``.
* ``dpi``: input current in amperes (tens of pA … I_in·g = 40 nA); rate ≈ (I − thresh)/(g_fb I_in T_s).
* ``sigma_delta``: drive c ∈ [0, Iin_snn] (Iin_snn = 1); spike probability per step c/Iin_snn.
"""
from __future__ import annotations

import sympy as sp
from scipy import constants

from . import sigma_delta as sd
from .point import PointNeuron

I = sp.Symbol("I", real=True)  # noqa: E741 -- the physicists' name for an input current


def _p(*names: str) -> tuple[sp.Symbol, ...]:
    return sp.symbols(names, positive=True)


# --- LIF -----------------------------------------------------------------------------------------------
u = sp.Symbol("u", real=True)
tau_m, theta, R = _p("tau_m", "theta", "R")
alpha = sp.exp(-1 / tau_m)

#: Rate-coded leaky integrate-and-fire neuron, reset by subtraction (a textbook discrete LIF, e.g.
#: Gerstner et al. 2014 "Neuronal Dynamics", Sect. 1.3, with the exact exponential step; subtraction keeps the
#: overshoot, so the count is an unbiased rate code). Per step (τ_m in steps of 1 ms):
#: u ← α u + (1−α) R I, α = e^{−1/τ_m}; spike u > θ; u ← u − θ.
#: Defaults τ_m = 20, θ = 1, R = 1. Drive I dimensionless: for R I > θ the rate is ≈ 1/(τ_m ln(RI/(RI−θ)))
#: spikes per step, 0 for R I ≤ θ.
LIF = PointNeuron(
    name="lif",
    title="leaky integrate-and-fire, reset by subtraction (rate code)",
    state=(u,),
    drive=I,
    update={u: alpha * u + (1 - alpha) * R * I},
    threshold=sp.StrictGreaterThan(u, theta),
    reset={u: u - theta},
    params={"tau_m": 20.0, "theta": 1.0, "R": 1.0},
    dt=1e-3,
    units={"u": "1"},
)

# --- ALIF (Yin, Corradi, Bohté 2021) -------------------------------------------------------------------
eta, s = sp.symbols("eta s", real=True)
tau_adp, b0, R_m = _p("tau_adp", "b0", "R_m")
beta = sp.Symbol("beta", nonnegative=True)
rho = sp.exp(-1 / tau_adp)
eta_next = rho * eta + (1 - rho) * s
theta_t = b0 + beta * eta

#: Adaptive LIF of Yin, Corradi & Bohté, "Accurate and efficient time-domain classification with adaptive
#: spiking recurrent neural networks", Nat. Mach. Intell. 3:905 (2021), arXiv 2103.12593; transcribed from
#: ``mem_update_adp`` of ``byin-cwi/Efficient-spiking-networks`` (``SHD/SHD_2layer_ALIF.py``), dt = 1:
#:
#: η_t = ρ η_{t−1} + (1−ρ) s_{t−1};  θ_t = b₀ + β η_t;  u_t = α u_{t−1} + (1−α) R_m I_t − θ_t s_{t−1};
#: s_t = [u_t − θ_t > 0] (their ``act_fun_adp`` is ``input.gt(0)``: strict).
#:
#: Note the reset uses the *new* threshold θ_t and is applied in the step after the spike. ``s`` carries
#: s_{t−1}. SHD defaults: b₀ = 0.01, β = 1.8, τ_m = 20, τ_adp = 150 steps (the means of their N(20, 5)
#: and N(150, 10) initialisations), R_m = 1; η starts at b₀ as in their ``forward`` (``self.b_h1 = b_j0``).
#: Drive dimensionless; with b₀ = 0.01 almost any positive drive fires, and the adaptation sets the
#: rate: η averages the spike probability p per step, so the steady threshold is θ ≈ b₀ + β p.
ALIF = PointNeuron(
    name="alif",
    title="adaptive LIF (Yin, Corradi & Bohté 2021, arXiv 2103.12593)",
    state=(u, eta, s),
    drive=I,
    update={
        eta: eta_next,
        u: alpha * u + (1 - alpha) * R_m * I - theta_t.subs(eta, eta_next) * s,
        s: sp.Integer(0),
    },
    threshold=sp.StrictGreaterThan(u, theta_t),
    reset={s: sp.Integer(1)},
    params={"tau_m": 20.0, "tau_adp": 150.0, "b0": 0.01, "beta": 1.8, "R_m": 1.0},
    dt=1e-3,
    units={"u": "1", "eta": "1", "s": "1"},
    initial={eta: b0},
)

# --- SFA / AHP (Plank, Rao, Wild, Maass 2021) ----------------------------------------------------------
V, I_ahp = sp.symbols("V I_ahp", real=True)
v_th, tau_ahp = _p("v_th", "tau_ahp")
beta_a = sp.Symbol("beta_a", nonnegative=True)
rho_a = sp.exp(-1 / tau_ahp)
I_ahp_next = rho_a * I_ahp + beta_a * s

#: LIF with a slow after-hyperpolarising current, Plank, Rao, Wild & Maass, "A long short-term memory for AI
#: applications in spike-based neuromorphic hardware", Nat. Mach. Intell. 4:467 (2022), arXiv 2107.03992
#: (docs/method.md#ahp-neuron-plank-et-al-2022 form; per step of 1 ms, τ in steps):
#:
#: I^AHP_t = ρ_a I^AHP_{t−1} + β_a s_{t−1};  V_t = α V_{t−1} + (1−α)(R I_t − I^AHP_t) − v_th s_{t−1};
#: s_t = [V_t > v_th].
#:
#: Constants (verify against the paper's Methods, not checked here): τ_m = 20 ms, τ_AHP = 2 s (2000
#: steps; "hundreds of ms to seconds"), v_th = 1, R = 1, β_a = 0.01 (chosen so that the steady AHP
#: current β_a p τ_AHP roughly halves the rate of a neuron at R I = 2). Drive dimensionless like LIF.
SFA = PointNeuron(
    name="sfa",
    title="LIF with after-hyperpolarising current (Plank, Rao, Wild & Maass 2021, arXiv 2107.03992)",
    state=(V, I_ahp, s),
    drive=I,
    update={
        I_ahp: I_ahp_next,
        V: alpha * V + (1 - alpha) * (R * I - I_ahp_next) - v_th * s,
        s: sp.Integer(0),
    },
    threshold=sp.StrictGreaterThan(V, v_th),
    reset={s: sp.Integer(1)},
    params={"tau_m": 20.0, "tau_ahp": 2000.0, "v_th": 1.0, "R": 1.0, "beta_a": 0.01},
    dt=1e-3,
    units={"V": "1", "I_ahp": "1", "s": "1"},
)

# --- 2019 analog DPI ΣΔ neuron (Nair & Indiveri) -------------------------------------------------------
I_ip, I_fb, I_err, ref = sp.symbols("I_ip I_fb I_err ref", real=True)
Ts, C_mem, kappa, Temp, k_B, q_e = _p("Ts", "C_mem", "kappa", "Temp", "k_B", "q_e")
I_tau_ip, I_th_ip, I_tau_fb, I_th_fb, I_in, I_tau_err, I_th_err, thresh, t_refr = _p(
    "I_tau_ip", "I_th_ip", "I_tau_fb", "I_th_fb", "I_in", "I_tau_err", "I_th_err", "thresh", "t_refr")

#: Thermal voltage U_T = k T / q (volts).
U_T = k_B * Temp / q_e


def dpi_tau(I_tau: sp.Expr) -> sp.Expr:
    """Time constant of a DPI low-pass filter, τ = C U_T/(κ I_τ) (seconds)."""
    return C_mem * U_T / (kappa * I_tau)


def dpi_step(state: sp.Expr, inp: sp.Expr, I_tau: sp.Expr, I_th: sp.Expr) -> sp.Expr:
    """Exact one-step DPI update: state·e^{−Ts/τ} + g(1 − e^{−Ts/τ})·input, g = I_th/I_τ."""
    decay = sp.exp(-Ts / dpi_tau(I_tau))
    return state * decay + (I_th / I_tau) * (1 - decay) * inp


DPI_MODES = ("dm", "sd", "if")

_DPI_DEFAULTS = {
    "Ts": 1e-6, "C_mem": 2e-12, "kappa": 0.7, "Temp": 300.0, "k_B": constants.k, "q_e": constants.e,
    "I_tau_ip": 50e-12, "I_th_ip": 50e-12, "I_tau_fb": 50e-12, "I_th_fb": 50e-12, "I_in": 40e-9,
    "I_tau_err": 10e-12, "I_th_err": 50e-9, "thresh": 0.1e-9,
}


def dpi(mode: str = "dm") -> PointNeuron:
    r"""The 2019 analog adaptive ΣΔ neuron of Nair & Indiveri (arXiv 1905.10692; docs/method.md#the-analog-antecedent),
    transcribed from ``Neuron.upd_state`` of ``manuvn/sigma-delta-neural-networks`` with three DPI filters:

    * input DPI: I_ip ← DPI(I_ip; drive), the drive an input current in amperes;
    * feedback DPI: I_fb ← DPI(I_fb; I_in·s_{n−1}), a pulse of width T_p = T_s and amplitude I_in after each
      own spike (the reconstruction, at most g I_in);
    * error DPI: I_err ← DPI(I_err; max(0, I_ip − I_fb)) (``sd``) or DPI(I_err; I_ip) (``if``), with the
      updated I_ip, I_fb (as in their code), set to 0 at each spike.

    Spike conditions: ``dm`` (delta modulation) I_ip > I_fb + thresh; ``sd`` I_err > thresh; ``if``
    I_err > thresh outside a refractory period t_refr (a per-neuron counter ``ref`` in steps; their code
    uses one timer shared by all neurons and restarted at every check, which this does not copy).

    Defaults (docs/method.md#the-analog-antecedent): T_s = T_p = 1 µs, C = 2 pF, κ = 0.7, T = 300 K,
    input/feedback I_τ = I_th = 50 pA (τ = C U_T/(κ I_τ) = 1.477 ms), I_in = 40 nA, error I_τ = 10 pA, I_th = 50 nA,
    thresh = 0.1 nA, refractory 1 ms (``if`` only). k and q are CODATA (scipy.constants). The pulse width is one
    step: a wider T_p would need a pulse counter and is not declared.

    Rate: in ``dm`` the feedback tracks I_ip − thresh, so a constant drive I gives a spike probability per
    step p ≈ (I − thresh)/(g_fb I_in) (derived from the feedback filter's fixed point, mean I_fb =
    g_fb I_in p), i.e. (I − thresh)/(g_fb I_in T_s) spikes per second (≈ 250 kHz at 10 nA).
    """
    if mode not in DPI_MODES:
        raise ValueError(f"unknown DPI spike mode {mode!r}; choose one of {DPI_MODES}")
    ip_next = dpi_step(I_ip, I, I_tau_ip, I_th_ip)
    fb_next = dpi_step(I_fb, I_in * s, I_tau_fb, I_th_fb)
    err_input = sp.Max(ip_next - fb_next, 0) if mode == "sd" else ip_next
    update = {I_ip: ip_next, I_fb: fb_next, I_err: dpi_step(I_err, err_input, I_tau_err, I_th_err),
              s: sp.Integer(0)}
    state = (I_ip, I_fb, I_err, s)
    params = dict(_DPI_DEFAULTS)
    reset = {I_err: sp.Integer(0), s: sp.Integer(1)}
    if mode == "dm":
        threshold = sp.StrictGreaterThan(I_ip, I_fb + thresh)
    elif mode == "sd":
        threshold = sp.StrictGreaterThan(I_err, thresh)
    else:
        threshold = sp.And(sp.StrictGreaterThan(I_err, thresh), sp.StrictLessThan(ref, sp.Rational(1, 2)))
        update[ref] = sp.Max(ref - 1, 0)
        reset[ref] = t_refr / Ts
        state = state + (ref,)
        params["t_refr"] = 1e-3
    return PointNeuron(
        name="dpi" if mode == "dm" else f"dpi_{mode}",
        title=f"analog adaptive ΣΔ neuron, DPI filters, mode {mode!r} (Nair & Indiveri 2019, arXiv 1905.10692)",
        state=state,
        drive=I,
        update=update,
        threshold=threshold,
        reset=reset,
        params=params,
        dt=params["Ts"],
        units={**{str(x): "A" for x in (I_ip, I_fb, I_err)}, "s": "1", **({"ref": "1"} if mode == "if" else {})},
        drive_unit="A",
    )


#: The 2019 DPI neuron in delta-modulation mode (the default of :func:`dpi`).
DPI = dpi("dm")

# --- the package's own ΣΔ neuron as a single encoder ---------------------------------------------------
Iin_snn = sp.Symbol("Iin_snn", positive=True)
drive_c = sp.Symbol("c", real=True)
_sd_names = (sd.i_ip, sd.v, sd.i_fb)
_sd_subs = {sd.i_in: drive_c, sd.kick: Iin_snn / sd.tau_S}

#: The adaptive ΣΔ neuron of :mod:`.sigma_delta` (docs/method.md#the-adaptive-sigma-delta-neuron) driven directly: the
#: drive c replaces i_in in the i_ip update, with the float variant's floors (``sd.CLIP['float']``) as ``pre``, the
#: own-spike feedback ``sd.ON_SPIKE_SELF`` (kick = Iin_snn/τ_S) and ``sd.RESET`` at a spike, threshold
#: ``sd.THRESHOLD``. Defaults τ_I = 1 (i_ip = c: the comparator sees the drive, like the dense read-out),
#: τ_V = 1 (irrelevant: v is reset or floored every step), τ_S = 64, Iin_snn = 1, b̃ = 0, vth_mant = 0.
#: Drive c ∈ [0, Iin_snn]: spike probability per step c/Iin_snn (:func:`.derive.steady_state_rate`), and
#: −i_fb is the reconstruction of c in drive units, within one kick; the leaky feedback leaves a rate bias
#: of at most one kick, |p − c/Iin_snn| ≤ 1/τ_S (measured ≤ 0.4 kick at c = 0.1, 0 at c = 0.5).
#: ``dt`` = 1 ms is nominal: in a network Δt_S follows from the ANN mapping (docs/method.md#parameter-mapping).
SIGMA_DELTA = PointNeuron(
    name="sigma_delta",
    title="adaptive ΣΔ neuron (ΣΔ-lpRNN, arXiv 2407.13534), single encoder",
    state=_sd_names,
    drive=drive_c,
    update={x: sd.UPDATE[x].subs(_sd_subs) for x in _sd_names},
    threshold=sd.THRESHOLD,
    reset={x: e.subs(_sd_subs) for x, e in {**sd.RESET, **sd.ON_SPIKE_SELF}.items()},
    pre=dict(sd.CLIP["float"]),
    params={"tau_I": 1.0, "tau_V": 1.0, "tau_S": 64.0, "Iin_snn": 1.0, "b_tilde": 0.0, "vth_mant": 0.0},
    dt=1e-3,
    units={"i_ip": "1", "v": "1", "i_fb": "1"},
)

#: Every comparison neuron by name (the analysis sweeps these).
BASELINES = {"lif": LIF, "alif": ALIF, "sfa": SFA, "dpi": DPI, "sigma_delta": SIGMA_DELTA}
