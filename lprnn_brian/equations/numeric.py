"""The ΣΔ neuron of :mod:`.sigma_delta` as numpy functions: the one numeric form of the declaration.

Every numpy re-implementation of the Brian2 network (the emulator's ``semantics='brian2'``, the offline read-out
replay of :mod:`lprnn_brian.analysis.coding`) evaluates these functions instead of typing the formulas again, so
a change to the declaration reaches them too. Each block of the declaration is lambdified once per variant
(cached) with ``modules='numpy'`` from the same expressions that :mod:`.render` prints for Brian2, so the
floating-point operations come in Brian2's order (sympy's canonical order, e.g. ``b_tilde + i_in +
i_ip*(1 - 1/tau_I)`` evaluated left to right), ``Max(x, 0)`` is ``clip(x, 0, inf)`` as Brian2 gets it,
Brian2's ``int()`` is :func:`numpy.trunc` and the threshold stays the strict ``>`` of the declaration.

API::

    nn = neuron("loihi")                      # or "float"; cached
    new = nn.apply("update", {"i_ip": ..., "i_in": ..., "v": ..., "i_fb": ..., "tau_I": ..., ...})
    nn.blocks["update"]["i_ip"].args          # ('b_tilde', 'i_in', 'i_ip', 'tau_I'): what it reads
    nn.spikes(v, vth_mant)                    # s = [v > 64·vth_mant]
    nn.spike_factor                           # c of a target's i_in += c·w (64)

Blocks (:data:`BLOCKS`): ``clip`` and ``truncate`` (the variant's per-step conditioning), ``input`` (layer 0's
X/τ_U into i_ip), ``update`` (the one-step map, every right-hand side at pre-step values), ``reset`` and
``on_spike_self`` (the spiking neuron's own v and i_fb), ``on_spike_target`` (a target's i_in). A block's
assignments all read the values *before* the block (:meth:`NumericNeuron.apply`), as in the Brian2 code of
:mod:`.render` (which writes through temporaries where that matters). Pure numpy and sympy; no Brian2.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp

from . import sigma_delta as sd

#: The declaration's blocks, by name.
BLOCKS = ("clip", "truncate", "input", "update", "reset", "on_spike_self", "on_spike_target")
#: numpy implementations of the Brian2 functions of the declaration (``clip``; ``int``: truncation toward zero).
NUMPY_FUNCTIONS = {"clip": np.clip, "int": np.trunc}


def brian_form(expr: sp.Expr) -> sp.Expr:
    """Replace sympy's ``Max(x, 0)`` by Brian2's ``clip(x, 0, inf)`` (what the Brian2 network evaluates)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Max) and len(e.args) == 2 and 0 in e.args,
        lambda e: sd.clip(next(a for a in e.args if a != 0), 0, sp.oo),
    )


def _block(name: str, variant: str) -> dict[sp.Symbol, sp.Expr]:
    return {
        "clip": sd.CLIP[variant],
        "truncate": sd.TRUNCATE[variant],
        "input": sd.INPUT,
        "update": sd.UPDATE,
        "reset": sd.RESET,
        "on_spike_self": sd.ON_SPIKE_SELF,
        "on_spike_target": sd.ON_SPIKE_TARGET,
    }[name]


@dataclass(frozen=True)
class Assignment:
    """``target = expr`` as a numpy function of the symbols it reads (``args``, sorted by name)."""

    target: str
    args: tuple[str, ...]
    fn: Callable
    expr: sp.Expr

    def __call__(self, values: dict):
        return self.fn(*(values[a] for a in self.args))


def _lambdify(target: sp.Symbol, expr: sp.Expr) -> Assignment:
    expr = brian_form(sp.sympify(expr))
    args = tuple(sorted(expr.free_symbols, key=str))
    fn = sp.lambdify(args, expr, modules=[NUMPY_FUNCTIONS, "numpy"])
    return Assignment(str(target), tuple(map(str, args)), fn, expr)


@dataclass(frozen=True)
class NumericNeuron:
    """The declaration of one variant as numpy functions (:func:`neuron`)."""

    variant: str
    blocks: dict[str, dict[str, Assignment]]
    threshold: Assignment
    spike_factor: float

    def apply(self, block: str, values: dict, targets=None) -> dict:
        """The new values of the block's targets, every right-hand side evaluated on ``values`` (pre-block).

        Returns only the assigned variables (the float variant's ``truncate`` assigns none); ``targets``
        restricts them to those named (a replay that tracks only some states, e.g. ``('i_ip', 'i_in')``)."""
        block_ = self.blocks[block]
        names = block_ if targets is None else [x for x in block_ if x in targets]
        return {x: block_[x](values) for x in names}

    def spikes(self, v, vth_mant):
        """The spike condition of the declaration, ``v > 64·vth_mant`` (boolean array)."""
        return self.threshold({"v": v, "vth_mant": vth_mant})


def spike_increment() -> tuple[str, float]:
    """The target variable of a presynaptic spike and the factor c of its increment ``target += c·w``, read off
    :data:`.sigma_delta.ON_SPIKE_TARGET` (for kernels that add whole weight rows at once)."""
    ((var, expr),) = sd.ON_SPIKE_TARGET.items()
    inc = sp.expand(expr - var)
    c = sp.diff(inc, sd.w)
    if sp.simplify(inc - c * sd.w) != 0 or c.free_symbols:
        raise ValueError(f"the spike effect {var} -> {expr} is not target += c·w with a constant c")
    return str(var), float(c)


@lru_cache(maxsize=None)
def neuron(variant: str) -> NumericNeuron:
    """The numpy functions of ``variant`` ∈ :data:`.sigma_delta.VARIANTS` (lambdified once, then cached)."""
    if variant not in sd.VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sd.VARIANTS}")
    blocks = {}
    for name in BLOCKS:
        mapping = _block(name, variant)
        order = [x for x in sd.STATE if x in mapping] + [x for x in mapping if x not in sd.STATE]
        blocks[name] = {str(x): _lambdify(x, mapping[x]) for x in order}
    threshold = _lambdify(sp.Symbol("spike"), sd.THRESHOLD)
    return NumericNeuron(variant, blocks, threshold, spike_increment()[1])
