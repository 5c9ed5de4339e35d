"""Render the sympy declaration of :mod:`.sigma_delta` into Brian2 model and code strings.

Two variants come from the same declaration: ``float`` and ``loihi`` (24-bit clipping, truncation).
Printing uses Brian2's own :func:`brian2.parsing.sympytools.sympy_to_str`, so what Brian2 parses back is
exactly the declared expression.

Two options serve code generators that cannot take every Brian2 expression (brian2lava,
:mod:`lprnn_brian.targets.lava_device`): ``ceiling`` prints the float variant's floor ``clip(x, 0, inf)`` with a
finite upper bound, and ``input_from`` makes the layer-0 input read a per-neuron variable instead of the TimedArray.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from brian2.parsing.sympytools import sympy_to_str

from . import sigma_delta as sd
from .numeric import brian_form
from ..compat import moved_names_of

#: Name of the TimedArray that carries the layer-0 input X (docs/method.md#input-decoding-and-compartments).
STIMULUS = "stimulus"
#: A finite upper bound for the float variant's floor, for generators that cannot name ``inf``: ``clip(x, 0, 1e308)``
#: equals ``clip(x, 0, inf)`` for every x up to 1e308 (a state beyond that has long lost every digit of meaning).
FINITE_CEILING = 1e308


def _check_variant(variant: str) -> None:
    if variant not in sd.VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sd.VARIANTS}")


def _assignments(mapping: dict[sp.Symbol, sp.Expr], ceiling: float | None = None) -> str:
    """Assignments ``x = expr`` in state declaration order (right-hand sides read pre-step values only
    when no earlier line of the block wrote them, which holds for every block rendered here); with ``ceiling``,
    the ``inf`` of Brian2's floor ``clip(x, 0, inf)`` is printed as that number."""
    order = [x for x in sd.STATE if x in mapping] + [x for x in mapping if x not in sd.STATE]

    def form(expr: sp.Expr) -> sp.Expr:
        expr = brian_form(expr)
        return expr if ceiling is None else expr.subs(sp.oo, sp.Float(ceiling))

    return "\n".join(f"{x} = {sympy_to_str(form(mapping[x]))}" for x in order)


def update_factors() -> dict[sp.Symbol, sp.Expr]:
    """The update's factors that depend on per-neuron constants only, 1 − 1/τ for τ ∈
    :data:`.sigma_delta.PER_NEURON`, by the names :func:`update_code` (``hoisted=True``) gives them.

    Brian2 moves per-layer constants out of its neuron loops but computes these two divisions for every neuron at
    every step; stored once per neuron they are the same doubles (the same IEEE division and subtraction), and the
    names keep each sum's terms in the declared order (a sum of floats depends on it)."""
    return {sp.Symbol(f"one_minus_inv_{tau}"): 1 - 1 / tau for tau in sd.PER_NEURON}


def update_code(hoisted: bool = False) -> str:
    """The one-step update as a Brian2 code block.

    Every right-hand side must see pre-step values, so the new values go to temporaries first (the same
    thing Brian2's Euler state updater does for the ODE of :func:`.sigma_delta.continuous_form`). With
    ``hoisted``, the factors of :func:`update_factors` are read from per-neuron variables of those names.
    """
    subs = {expr: name for name, expr in update_factors().items()} if hoisted else {}
    tmp = {x: sp.Symbol(f"{x}_next") for x in sd.STATE}
    lines = [f"{tmp[x]} = {sympy_to_str(sd.UPDATE[x].subs(subs))}" for x in sd.STATE]
    lines += [f"{x} = {tmp[x]}" for x in sd.STATE]
    return "\n".join(lines)


def clip_code(variant: str, ceiling: float | None = None) -> str:
    """``start``/order 0: clipping (loihi) or flooring of v and i_ip at 0 (float: ``clip(x, 0, inf)``, or
    ``clip(x, 0, ceiling)`` when ``ceiling`` is given)."""
    _check_variant(variant)
    return _assignments(sd.CLIP[variant], ceiling)


def truncate_code(variant: str) -> str:
    """``start``/order 1: truncation toward zero (loihi); empty for float."""
    _check_variant(variant)
    return _assignments(sd.TRUNCATE[variant])


def input_code(input_from: str | None = None) -> str:
    """``start``/order 2 (layer 0 only): ``i_ip += X_n/tau_U`` with X from the TimedArray ``stimulus``, or from
    the per-neuron variable ``input_from`` (which then has to hold X_n at that slot)."""
    x = sp.Function(STIMULUS)(sp.Symbol("t"), sp.Symbol("i")) if input_from is None else sp.Symbol(input_from)
    return _assignments({x_: e.subs(sd.X, x) for x_, e in sd.INPUT.items()})


def threshold_code() -> str:
    return sympy_to_str(sd.THRESHOLD)


def reset_code() -> str:
    """Reset and own feedback: both happen after the threshold and before the next step's ``start``,
    so applying the self-synapse here is identical to a ``synapses``-slot self-connection."""
    return _assignments({**sd.RESET, **sd.ON_SPIKE_SELF})


def on_pre_code() -> str:
    """Effect of a presynaptic spike on the target (feed-forward and recurrent synapses)."""
    target = {sp.Symbol("i_in_post"): sd.ON_SPIKE_TARGET[sd.i_in].subs(sd.i_in, sp.Symbol("i_in_post"))}
    return _assignments(target)


def neuron_model() -> str:
    """Brian2 model string: states, per-neuron and per-layer constants (no ODE: the update is an explicit map).

    τ_I and τ_V are per-neuron parameters (per-unit retention: each neuron filters with its own τ_i); τ_U,
    τ_S, the kick and the threshold are one value per layer (:data:`.sigma_delta.PER_NEURON`)."""
    states = "\n".join(f"{x} : 1" for x in sd.STATE)
    consts = "\n".join(f"{tau} : 1 ({'constant' if tau in sd.PER_NEURON else 'shared, constant'})"
                        for tau in (sd.tau_I, sd.tau_U, sd.tau_V, sd.tau_S))
    return "\n".join(
        [
            states,
            consts,
            f"{sd.b_tilde} : 1 (constant)",
            f"{sd.kick} : 1 (shared, constant)",
            f"{sd.vth_mant} : 1 (shared, constant)",
        ]
    )


def synapse_model() -> str:
    return f"{sd.w} : 1 (constant)"


@dataclass(frozen=True)
class RenderedNeuron:
    """Everything Brian2 needs for one variant, with its slot (when, order) per operation."""

    variant: str
    model: str
    threshold: str
    reset: str
    update: str
    clip: str
    truncate: str
    input: str
    on_pre: str
    synapse_model: str


def render(variant: str, *, ceiling: float | None = None, input_from: str | None = None) -> RenderedNeuron:
    """Render the neuron of :mod:`.sigma_delta` for ``variant`` ∈ {'float', 'loihi'}.

    ``ceiling`` (e.g. :data:`FINITE_CEILING`) replaces the ``inf`` of the float variant's floor; ``input_from``
    names a per-neuron variable that the layer-0 input reads instead of the TimedArray (:func:`input_code`)."""
    _check_variant(variant)
    return RenderedNeuron(
        variant=variant,
        model=neuron_model(),
        threshold=threshold_code(),
        reset=reset_code(),
        update=update_code(),
        clip=clip_code(variant, ceiling),
        truncate=truncate_code(variant),
        input=input_code(input_from),
        on_pre=on_pre_code(),
        synapse_model=synapse_model(),
    )


#: Names that moved out of this module still answer for one release, with a warning (:mod:`lprnn_brian.compat`).
__getattr__ = moved_names_of(__name__)
