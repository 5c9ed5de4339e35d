r"""The adaptive sigma-delta (ΣΔ) neuron of the ΣΔ-lpRNN, declared once as sympy objects.

Every other form of the neuron (Brian2 code strings, the numpy oracle used in tests, LaTeX for the docs,
the Loihi integer parameters) is produced from the objects in this module
(docs/method.md#the-adaptive-sigma-delta-neuron).

All variables are dimensionless "Loihi integer units"; one SNN step is one unit step. Per step ``n``
(explicit Brian2 ``when``/``order`` in :data:`SCHEDULE`):

.. math::

    i_{ip} &\leftarrow (1 - 1/\tau_I)\, i_{ip} + i_{in} + \tilde b \\
    i_{in} &\leftarrow (1 - 1/\tau_U)\, i_{in} \\
    v      &\leftarrow (1 - 1/\tau_V)\, v + i_{ip} + i_{fb} \\
    i_{fb} &\leftarrow (1 - 1/\tau_S)\, i_{fb}

(right-hand sides at pre-step values: the Euler step of
:math:`\mathrm{d}x/\mathrm{d}t = (\mathrm{update}(x) - x)/\Delta t_S`), spike :math:`s_n = [v > v_{th}]`,
reset :math:`v \leftarrow 0`, own feedback :math:`i_{fb} \mathrel{-}= I_{in}^{snn}/\tau_S`, and on every
target :math:`i_{in} \mathrel{+}= 64\, w`.

Two variants share these updates and differ only in the per-step conditioning at ``start``
(docs/method.md#simulation-modes):

* ``float``: :math:`v, i_{ip} \leftarrow \max(\cdot, 0)`;
* ``loihi``: 24-bit clipping of every state, then truncation toward zero (``int``).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

#: Loihi's activation shift: a synaptic weight ``w`` adds ``64 w`` to the target's current.
ACTIVATION_SHIFT = 64
#: 24-bit signed state registers: states are clipped to ±2**23 in Loihi mode.
STATE_LIMIT = 2**23

# --- symbols -------------------------------------------------------------------------------------------
i_ip, i_in, v, i_fb = sp.symbols("i_ip i_in v i_fb", real=True)
#: Time constants in SNN steps (docs/method.md#notation): integrated input, synaptic current, soma, feedback.
tau_I, tau_U, tau_V, tau_S = sp.symbols("tau_I tau_U tau_V tau_S", positive=True)
#: Bias in integer units, added to i_ip every step (b̃ = f·b/τ_I, docs/method.md#state-and-update).
b_tilde = sp.Symbol("b_tilde", real=True)
#: Feedback kick per own spike, Iin_snn/τ_S (positive; subtracted from i_fb).
kick = sp.Symbol("kick", positive=True)
#: Threshold mantissa; the threshold is θ = 64·vth_mant, set per layer by the conversion's threshold policy
#: (``derive.policy_parameters``: half a nominal kick under 'unbiased', 0 for the authors' neuron).
vth_mant = sp.Symbol("vth_mant", nonnegative=True)
#: Synaptic weight of one connection (integer units before the activation shift).
w = sp.Symbol("w", real=True)
#: External input to layer 0 at this step (X_n = f0·W0·x_res, docs/method.md#input-decoding-and-compartments).
X = sp.Symbol("X", real=True)
#: SNN time step Δt_S (only used for the continuous-time form).
dt_S = sp.Symbol("Delta_t_S", positive=True)

#: Brian2/sympy function symbols: ``clip(x, lo, hi)`` and ``int(x)`` (truncation toward zero).
clip = sp.Function("clip")
trunc = sp.Function("int")

#: Parameters that may differ between the neurons of one layer (besides the bias b̃): the state filters
#: τ_I and τ_V follow each unit's own retention (per-unit retention, docs/method.md#the-2019-lprnn-cell); τ_U and τ_S
#: are per layer.
PER_NEURON = (tau_I, tau_V)

#: State variables in declaration order.
STATE = (i_ip, i_in, v, i_fb)
#: Time constant governing each state variable's leak.
TAU_OF = {i_ip: tau_I, i_in: tau_U, v: tau_V, i_fb: tau_S}

# --- dynamics ------------------------------------------------------------------------------------------
#: Exact one-step update (docs/method.md#state-and-update), right-hand sides evaluated at pre-step values.
UPDATE = {
    i_ip: (1 - 1 / tau_I) * i_ip + i_in + b_tilde,
    i_in: (1 - 1 / tau_U) * i_in,
    v: (1 - 1 / tau_V) * v + i_ip + i_fb,
    i_fb: (1 - 1 / tau_S) * i_fb,
}
#: Spike condition: v above 64·vth_mant.
THRESHOLD = sp.StrictGreaterThan(v, ACTIVATION_SHIFT * vth_mant)
#: Reset after a spike (no refractory period).
RESET = {v: sp.Integer(0)}
#: A spike's effect on its own feedback current (the self-synapse of weight w_fb = −kick/64).
ON_SPIKE_SELF = {i_fb: i_fb - kick}
#: A spike's effect on every target neuron (feed-forward and recurrent synapses).
ON_SPIKE_TARGET = {i_in: i_in + ACTIVATION_SHIFT * w}
#: Layer-0 input injection at ``start`` (X_n/τ_U into i_ip).
INPUT = {i_ip: i_ip + X / tau_U}

#: Per-step conditioning at ``start``, per variant (docs/method.md#per-step-order, order 0 and 1).
CLIP = {
    "float": {v: sp.Max(v, 0), i_ip: sp.Max(i_ip, 0)},
    "loihi": {
        v: clip(v, 0, STATE_LIMIT),
        i_fb: clip(i_fb, -STATE_LIMIT, STATE_LIMIT),
        i_ip: clip(i_ip, 0, STATE_LIMIT),
        i_in: clip(i_in, -STATE_LIMIT, STATE_LIMIT),
    },
}
TRUNCATE = {"float": {}, "loihi": {x: trunc(x) for x in STATE}}
VARIANTS = tuple(CLIP)


def continuous_form() -> dict[sp.Symbol, sp.Expr]:
    """Return dx/dt for each state: the ODE whose forward-Euler step at Δt_S is :data:`UPDATE`."""
    return {x: (UPDATE[x] - x) / dt_S for x in STATE}


@dataclass(frozen=True)
class Operation:
    """One scheduled operation of the per-step order (docs/method.md#per-step-order)."""

    name: str
    when: str
    order: int
    description: str


#: The per-step order with explicit Brian2 slots; nothing relies on Brian2 sorting objects by name.
SCHEDULE = (
    Operation("clip", "start", 0, "clip (loihi: 24-bit) / floor v, i_ip at 0 (float)"),
    Operation("truncate", "start", 1, "truncate toward zero (loihi only)"),
    Operation("input", "start", 2, "layer 0: i_ip += X_n/tau_U"),
    Operation("record", "start", 3, "state monitors record"),
    Operation("update", "groups", 0, "one-step update of i_ip, i_in, v, i_fb"),
    Operation("threshold", "thresholds", 0, "s_n = [v > 64 vth_mant]"),
    Operation("synapses", "synapses", 0, "targets: i_in += 64 w"),
    Operation("reset", "resets", 0, "v = 0; own feedback i_fb -= kick"),
)
SLOT = {op.name: (op.when, op.order) for op in SCHEDULE}


def latex() -> str:
    """The per-step map as LaTeX (for documentation and reports)."""
    lines = [rf"{sp.latex(x)} &\leftarrow {sp.latex(UPDATE[x])}" for x in STATE]
    lines.append(rf"s_n &= \left[{sp.latex(THRESHOLD)}\right]")
    return " \\\\\n".join(lines)
