"""The mapped Loihi network: every integer register of the two-compartment ΣΔ neurons and their synapses.

:func:`to_loihi` turns an SNN spec converted in Loihi mode into :class:`LoihiNetwork` and reports every lossy
step of the way (docs/method.md#loihi-integer-mode; decisions B2, B3, B7, L1, L2 in docs/decisions.md). Each ΣΔ neuron
is two compartments (docs/method.md#input-decoding-and-compartments):

========================  =====================================  ==========================================
register                  input compartment (IC)                 soma compartment (SC)
========================  =====================================  ==========================================
u (current, 24-bit)       i_in: feed-forward + recurrent input   i_fb: the neuron's own spikes (self-synapse)
v (voltage, 24-bit)       i_ip: integrates u, carries the bias   v: decayed v + u + the IC's v (join, ADD)
current decay du          4096/τ_U − 1 (Lava ds_offset = 1)      4096/τ_S − 1
voltage decay dv          4096/τ_I (per neuron if per-unit)      4096/τ_V (τ_V = 1 when θ > 0: 4095)
bias                      b_tilde = bias_mant·2^bias_exp         0
threshold                 none (no output axon; v floored at 0)  v > vth_mant·2^6 = θ, reset v = 0, floor 0
========================  =====================================  ==========================================

Synapses: feed-forward (previous layer → IC), recurrent (layer → IC) and self (neuron → its own SC), one
mantissa matrix and one exponent each; a spike adds ``(Σ mant) shifted by exp`` then ``<< 6`` to u.
Layer 0 receives the network input X (docs/method.md#input-decoding-and-compartments) as a per-step integer round(X/τ_U)
added to the IC's v (a time-varying bias: written by the host on Loihi 1, an input port in the Lava export).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..convert import SNNSpec
from ..equations import fixed_point as q
from ..equations.sigma_delta import ACTIVATION_SHIFT, STATE_LIMIT
from ..errors import UserInputError

#: The integer registers of a mapped neuron (two compartments: u and v each) and the Brian2 state each one holds.
REGISTERS = {"u_ic": "i_in", "v_ic": "i_ip", "u_sc": "i_fb", "v_sc": "v"}
#: What a run records per step: the registers, then the spikes (the rows of the Lava neuron's ``rec_out``).
RECORDED = (*REGISTERS, "spikes")
#: Largest magnitude of u and v (Lava: ±(2^23 − 1) for v; u wraps beyond 2^23).
V_LIMIT = STATE_LIMIT - 1
#: Offsets added to the u and v decay registers (Lava ``ds_offset``, ``dm_offset``).
U_DECAY_OFFSET, V_DECAY_OFFSET = 1, 0
#: The minimum refractory period is emitted (decision L1 in docs/decisions.md: whether Loihi 1 allows a spike every
#: step with it is unverified on hardware).
REFRACTORY_STEPS = 1
#: The rounding rules of the mapping, recorded in every bundle.
ROUNDING = {
    "weights": "one exponent per matrix from max|w| (mantissa in [128, 256)); mantissas rounded half-even to the "
               "sign mode's precision, 8 bits (mixed: even mantissas); converted with the SNN spec "
               "(docs/method.md#weights-as-mantissa-and-exponent)",
    "bias": "smallest exponent 0…7 with |round_half_even(b/2^e)| ≤ 4095 "
            "(docs/method.md#biases-as-mantissa-and-exponent)",
    "decays": "u: round(4096/τ) − 1 (ds_offset 1); v: round(4096/τ), 4095 at most (τ_I = 1: decision L2 in "
              "docs/decisions.md)",
    "input": "layer 0: round_half_even(X_n/τ_U) added to the input compartment's v each step",
    "arithmetic": "Lava PyLifModelBitAcc / PyDenseModelBitAcc (docs/method.md#compartment-arithmetic): decayed "
                  "products truncated toward zero, u wraps at 24 bits, v clipped to ±(2^23 − 1); v floored at 0 "
                  "(vMin) in both compartments",
}


@dataclass
class Projection:
    """One projection: ``mant`` (n_post, n_pre) int64, or (n,) for the self-synapse (its diagonal); ``exp`` one
    weight exponent, or one per receiving neuron ((n_post,) int64: per-unit retention, one synapse group per
    distinct exponent on Loihi)."""

    kind: str  # 'ff', 'rec' or 'fb'
    mant: np.ndarray
    exp: int | np.ndarray
    sign_mode: str
    num_weight_bits: int = 8

    @property
    def weights(self) -> np.ndarray:
        """Loihi weight units: a spike adds 64·weight to the target's u (exactly, without Dense's shift)."""
        return q.scaled(self.mant, self.exp)

    @property
    def exponents(self) -> list[int]:
        """The distinct weight exponents (one synapse group each)."""
        return sorted({int(e) for e in np.atleast_1d(self.exp)})

    @property
    def n_synapses(self) -> int:
        return int(np.count_nonzero(self.mant))


@dataclass
class Compartment:
    """Registers of one compartment type of a layer (per-neuron arrays where neurons differ)."""

    du: int
    dv: int | np.ndarray
    bias_mant: np.ndarray
    bias_exp: int
    vth_mant: int
    spikes: bool
    refractory: int = REFRACTORY_STEPS
    v_min: int = 0

    @property
    def bias(self) -> np.ndarray:
        """Effective bias, bias_mant·2^bias_exp (integer units of v)."""
        return self.bias_mant.astype(np.int64) << self.bias_exp


@dataclass
class LoihiLayer:
    name: str
    kind: str
    n: int
    ic: Compartment
    soma: Compartment
    fb: Projection
    ff: Projection | None = None
    rec: Projection | None = None

    @property
    def projections(self) -> list[Projection]:
        return [p for p in (self.ff, self.rec, self.fb) if p is not None]


@dataclass
class LoihiNetwork:
    """The mapped network, the SNN spec it came from (decodes, layer-0 drive) and the lossy-step report."""

    layers: list[LoihiLayer]
    spec: SNNSpec
    report: dict = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return self.spec.n_steps

    @property
    def n_compartments(self) -> int:
        return 2 * sum(L.n for L in self.layers)

    def input_integers(self, drive: np.ndarray) -> np.ndarray:
        """Per-step integer input of layer 0, round_half_even(X/τ_U), from the drive X (…, n_steps, n0) of
        :func:`lprnn_brian.convert.layer0_drive`. Raises if it does not fit the 24-bit v register."""
        x = np.rint(np.asarray(drive, dtype=np.float64) / self.spec.layers[0].tau_U)
        if x.size and np.max(np.abs(x)) > V_LIMIT:
            raise UserInputError(f"the layer-0 input reaches {np.max(np.abs(x)):.0f} per step, beyond Loihi's 24-bit "
                                 "voltage: scale the input down")
        return x.astype(np.int64)

    def discretisation(self) -> dict:
        """The record of how the float network became integers (dt, factors, time constants, rounding)."""
        s = self.spec
        return {
            "dt_s": s.dt, "frame_dt_s": s.frame_dt, "steps_per_frame": s.steps_per_frame, "n_steps": s.n_steps,
            "n_frames": s.n_frames, "decay_d": s.d, "Iin": s.Iin, "activation_shift": ACTIVATION_SHIFT,
            "threshold_policy": s.threshold_policy,
            "layers": [{"name": L.name, "factor": L.factor, "Iin_snn": L.Iin_snn, "kick": L.kick,
                        "threshold": L.threshold,
                        "tau_steps": {k: _tau_json(getattr(L, k)) for k in ("tau_I", "tau_U", "tau_V", "tau_S")}}
                       for L in s.layers],
            "rounding": dict(ROUNDING),
        }


def _tau_json(t):
    return [float(x) for x in t] if isinstance(t, np.ndarray) else float(t)


def _projection(kind: str, W: np.ndarray, sign_mode: str, per_row: bool = False) -> tuple[Projection, q.MantExp]:
    me = (q.weight_mant_exp_rows if per_row else q.weight_mant_exp)(W, 8, sign_mode)
    return Projection(kind, me.mant.astype(np.int64), me.exp, me.sign_mode), me


def _step(name: str, max_abs: float, rms: float, unit: str, note: str = "") -> dict:
    out = {"step": name, "max_abs_error": float(max_abs), "rms_error": float(rms), "unit": unit,
           "lossless": bool(max_abs == 0)}
    if note:
        out["note"] = note
    return out


def _dense_shift_step(p: Projection) -> dict:
    """Dense adds Σ mant and shifts by exp: with exp < 0 the sum is floored to a multiple of 2^−exp, exact only
    when every mantissa is such a multiple (per row for per-row exponents). Bound of the loss per u update, in u
    units."""
    exp = np.atleast_1d(np.asarray(p.exp))
    if np.all(exp >= 0) or not p.mant.size:
        return _step(f"{p.kind}: Σ mant >> −exp (Dense)", 0.0, 0.0, "u units")
    unit = 2.0 ** np.maximum(-exp, 0)
    rows = p.mant if p.mant.ndim == 2 else p.mant[:, None]
    unit_rows = unit[:, None] if unit.size > 1 else unit
    exact = bool(np.all(rows % unit_rows == 0))
    bound = 0.0 if exact else float(ACTIVATION_SHIFT * (1 - 1 / unit.max()))
    shift = int(-exp.min())
    return _step(f"{p.kind}: Σ mant >> {shift if exp.size == 1 else f'≤ {shift}'} (Dense)", bound,
                 bound / np.sqrt(3), "u units",
                 "exact: every mantissa is a multiple of the shift" if exact else
                 "bound: the sum's low bits are floored each step (RMS for a uniform remainder)")


def to_loihi(spec: SNNSpec) -> LoihiNetwork:
    """Map an SNN spec converted with ``mode='loihi'`` to Loihi registers.

    Weights, biases and kicks of a Loihi-mode spec are already mantissa·2^exponent values: their rounding
    (from the ideal float values) is taken from the spec's quantisation record; here they become mantissa
    arrays (lossless), decays become 12-bit registers and the report adds the steps the hardware arithmetic
    loses (Dense's shift, the read-out's τ_I = 1, the input rounding) and the 24-bit headroom.

    Raises
    ------
    UserInputError
        For a float-mode spec, or a value that no Loihi register holds.
    """
    if spec.mode != "loihi":
        raise UserInputError("the Loihi mapping needs integer weights: convert the model with mode='loihi' "
                             "(lprnn-brian export loihi does)")
    layers, report = [], {"layers": []}
    for k, L in enumerate(spec.layers):
        try:
            layer, steps = _map_layer(k, L)
            report["layers"].append({"name": L.name, "lossy_steps": steps, "headroom": headroom(L, first=k == 0)})
        except ValueError as err:
            if isinstance(err, UserInputError):
                raise
            raise UserInputError(f"layer {L.name}: {err}") from None
        layers.append(layer)
    return LoihiNetwork(layers, spec, report)


def _map_layer(k: int, L) -> tuple[LoihiLayer, list[dict]]:
    """Layer ``k`` of the spec as registers, and its lossy steps (synapses, kick, bias, decays, threshold, input)."""
    quant = L.quantisation or {}
    built, steps = _synapses(k, L, quant)
    fb, fb_steps = _feedback(L, quant)
    be, bias_steps = _bias(L, quant)
    decays, decay_steps = _decays(L)
    steps += fb_steps + bias_steps + decay_steps + _threshold_and_input_steps(k, L, quant)
    ic = Compartment(du=int(decays["IC du (τ_U)"].register), dv=decays["IC dv (τ_I)"].register,
                     bias_mant=be.mant.astype(np.int64), bias_exp=be.exp, vth_mant=q.VTH_MANT_MAX,
                     spikes=False)
    soma = Compartment(du=int(decays["SC du (τ_S)"].register), dv=decays["SC dv (τ_V)"].register,
                       bias_mant=np.zeros(L.n, np.int64), bias_exp=0, vth_mant=q.threshold_mant(L.threshold),
                       spikes=True)
    return LoihiLayer(L.name, L.kind, L.n, ic, soma, fb, built.get("ff"), built.get("rec")), steps


def _synapses(k: int, L, quant: dict) -> tuple[dict[str, Projection], list[dict]]:
    """The feed-forward (not layer 0: its input is X) and recurrent projections, and their lossy steps."""
    projections = {}
    if k:
        projections["ff"] = L.W_snn
    if L.U_snn is not None:
        projections["rec"] = L.U_snn
    built, steps = {}, []
    for kind, W in projections.items():
        rec = quant.get("W" if kind == "ff" else "U", {})
        p, me = _projection(kind, W, "mixed", isinstance(rec.get("exp"), list))
        if not me.lossless:
            raise UserInputError(f"layer {L.name}: the {kind} weights are not Loihi mantissa·2^exp values "
                                 "(was the spec edited after conversion?); convert again with mode='loihi'")
        built[kind] = p
        steps.append(_step(f"{kind}: weight → mant·2^{exp_text(p.exp)}", rec.get("max_abs_error", 0.0),
                           rec.get("rms_error", 0.0), "Loihi weight units"))
        steps.append(_dense_shift_step(p))
    return built, steps


def _feedback(L, quant: dict) -> tuple[Projection, list[dict]]:
    """The self-synapse of weight −kick/64, and its lossy steps."""
    fb, me_fb = _projection("fb", np.full(L.n, -L.kick / ACTIVATION_SHIFT), "mixed")
    kick_err = quant.get("kick", {}).get("max_abs_error", ACTIVATION_SHIFT * me_fb.max_abs_error)
    return fb, [_step(f"fb: kick → mant·2^{fb.exp}", kick_err, kick_err, "u units"), _dense_shift_step(fb)]


def _bias(L, quant: dict) -> tuple[q.MantExp, list[dict]]:
    be = q.bias_mant_exp(L.b_tilde)
    if not be.lossless:
        raise UserInputError(f"layer {L.name}: the bias is not a Loihi mantissa·2^exp value; convert again "
                             "with mode='loihi'")
    rec = quant.get("b", {})
    return be, [_step(f"bias → mant·2^{be.exp}", rec.get("max_abs_error", 0.0), rec.get("rms_error", 0.0),
                      "v units")]


def _decays(L) -> tuple[dict[str, q.Decay], list[dict]]:
    """The four 12-bit decay registers and their retention errors (τ = 1 on v: decision L2 in
    docs/decisions.md)."""
    decays = {"IC du (τ_U)": q.decay_register(L.tau_U, U_DECAY_OFFSET),
              "IC dv (τ_I)": q.decay_register(L.tau_I, V_DECAY_OFFSET),
              "SC du (τ_S)": q.decay_register(L.tau_S, U_DECAY_OFFSET),
              "SC dv (τ_V)": q.decay_register(L.tau_V, V_DECAY_OFFSET)}
    steps = []
    for name, dec in decays.items():
        note = ""
        if name.startswith("IC dv") and np.any(np.asarray(dec.tau) == 1):
            note = "τ_I = 1 needs dv = 4096: 4095 keeps 1/4096 per step (decision L2 in docs/decisions.md)"
        elif name.startswith("SC dv") and np.any(np.asarray(dec.tau) == 1):
            note = (f"τ_V = 1 needs dv = 4096: 4095 keeps ⌊v/4096⌋ of a sub-threshold v, at most "
                    f"{int(L.threshold) >> q.DECAY_SHIFT} units (θ = {L.threshold:g})")
        steps.append(_step(f"{name} → 12-bit register", dec.retention_error, dec.retention_error,
                           "retention per step", note))
    return decays, steps


def _threshold_and_input_steps(k: int, L, quant: dict) -> list[dict]:
    steps = []
    cq = quant.get("threshold")
    if cq is not None:
        steps.append(_step(f"threshold θ → vth_mant·2^6 (vth_mant {cq['vth_mant']})", cq["max_abs_error"],
                           cq["max_abs_error"], "v units",
                           "θ centres the band for the kick kept; residual mean error "
                           f"{quant['mean_error']['gain']:+.2e}·c {quant['mean_error']['offset_kicks']:+.2e}·Δ"))
    if k == 0:
        steps.append(_step("input: X/τ_U → integer", 0.5, 1 / np.sqrt(12), "v units",
                           "round half-even per step; RMS for a uniform remainder"))
    return steps


def exp_text(exp) -> str:
    """A weight exponent for reports: the number, or the range of per-row exponents ("−7…−4 per row")."""
    e = np.atleast_1d(np.asarray(exp))
    return str(int(e[0])) if e.size == 1 and np.ndim(exp) == 0 else f"({int(e.min())}…{int(e.max())} per row)"


def headroom(L, first: bool = False) -> dict:
    """Worst case of the 24-bit registers of a layer (``LayerParams``), every presynaptic neuron spiking every
    step with the sign that adds up: |u_IC| ≤ 64·τ_U·max_i Σ_j |w_ij| (ff + rec), |v_IC| ≤ τ_I·(|u_IC| + |b̃|),
    |u_SC| ≤ kick·τ_S = Iin_snn. Layer 0's input is not included (it depends on the data: the emulator counts
    the overflows of a run). ``bits`` = log2(limit/worst): negative means the worst case overflows (None for a register nothing
    drives, e.g. layer 0's u_IC)."""
    row = np.zeros(L.n)
    for W in (None if first else L.W_snn, L.U_snn):  # layer 0's W_snn is unused: its input is the drive X
        if W is not None:
            row = row + np.abs(W).sum(axis=1)
    u_ic = float(ACTIVATION_SHIFT * L.tau_U * row.max()) if L.n else 0.0
    tau_I = np.max(L.tau_I)
    v_ic = float(tau_I * (u_ic + np.max(np.abs(L.b_tilde), initial=0.0)))
    u_sc = float(L.kick * L.tau_S)
    out = {}
    for name, worst in (("u_ic", u_ic), ("v_ic", v_ic), ("u_sc", u_sc)):
        out[name] = {"worst": worst, "limit": V_LIMIT, "fits": worst <= V_LIMIT,
                     "bits": float(np.log2(V_LIMIT / worst)) if worst > 0 else None}  # None: never driven
    return out

