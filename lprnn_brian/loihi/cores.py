"""Core allocation of the mapped network on Loihi 1, and the resource report a Loihi user reads.

Limits per neuro-core (docs/method.md#loihi-1): 1,024 compartments, 128 KB of synaptic memory, 4,096 input and 4,096
output axons; 128 cores per chip. Every ΣΔ neuron takes two compartments of one core. Layers do not share cores
(each layer's neurons are split evenly over the fewest cores that hold them), the usual layout for layered
networks and the one the energy estimate's message count assumes.

**Synaptic memory model** (an estimate: NxSDK picks among dense, sparse and run-length synapse formats and
its per-axon headers are not published in a form we could verify): a fully dense row costs ``numWeightBits``
bits per synapse, zeros included; a sparse one ``numWeightBits + ⌈log2 n_post⌉`` bits per non-zero synapse; each
projection takes the cheaper. **Axons**: a core needs one input axon per presynaptic neuron that projects into it
(the previous layer, the layer itself when recurrent, else its own neurons for the self-synapses), and one output
axon per (neuron, destination core) pair.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..equations.fixed_point import COMPARTMENTS_PER_NEURON
from ..errors import UserInputError
from .params import LoihiNetwork, Projection


@dataclass(frozen=True)
class CoreLimits:
    """Per-core limits of Loihi 1 (docs/method.md#loihi-1; the synaptic memory and axon counts are quoted, not
    checked against Intel's documentation)."""

    compartments: int = 1024
    synaptic_memory_bits: int = 128 * 1024 * 8
    input_axons: int = 4096
    output_axons: int = 4096
    cores_per_chip: int = 128


LOIHI1 = CoreLimits()


@dataclass
class LayerPlacement:
    """One layer's cores: ``first_core`` … ``first_core + cores − 1``, neurons split as evenly as possible."""

    name: str
    n: int
    first_core: int
    cores: int
    per_core: list[dict]  # usage of each of the layer's cores

    @property
    def neurons_per_core(self) -> list[int]:
        return [c["neurons"] for c in self.per_core]


def _bits(p: Projection, rows: slice) -> int:
    """Synaptic memory of the post-synaptic neurons ``rows`` of ``p`` (the cheaper of dense and sparse)."""
    if p.kind == "fb":
        return len(range(*rows.indices(p.mant.shape[0]))) * p.num_weight_bits
    m = p.mant[rows]
    dense = m.size * p.num_weight_bits
    index_bits = max(1, math.ceil(math.log2(max(2, m.shape[1]))))
    sparse = int(np.count_nonzero(m)) * (p.num_weight_bits + index_bits)
    return int(min(dense, sparse))


def _split(n: int, cores: int) -> list[int]:
    return [n // cores + (1 if i < n % cores else 0) for i in range(cores)]


def allocate(net: LoihiNetwork, limits: CoreLimits = LOIHI1) -> list[LayerPlacement]:
    """Place every layer on the fewest cores that respect ``limits`` (compartments, synaptic memory, input and
    output axons). Raises :class:`UserInputError` when a single neuron exceeds a core (fan-in too large)."""
    layers = net.layers
    placements: list[LayerPlacement] = []
    # cores per layer from the per-neuron limits first; output axons depend on the next layer's core count,
    # so iterate until no layer needs more cores (monotone: terminates)
    cores = [1] * len(layers)
    for _ in range(64):
        changed = False
        for k, L in enumerate(layers):
            while True:
                usage = _usage(net, k, cores, limits)
                if all(u["ok"] for u in usage):
                    break
                if cores[k] >= L.n:
                    bad = next(u for u in usage if not u["ok"])
                    raise UserInputError(f"layer {L.name}: one neuron needs {bad['why']}, beyond one Loihi core; "
                                         "prune or split the layer")
                cores[k] += 1
                changed = True
        if not changed:
            break
    first = 0
    for k, L in enumerate(layers):
        placements.append(LayerPlacement(L.name, L.n, first, cores[k], _usage(net, k, cores, limits)))
        first += cores[k]
    return placements


def _usage(net: LoihiNetwork, k: int, cores: list[int], limits: CoreLimits = LOIHI1) -> list[dict]:
    L = net.layers[k]
    nxt = cores[k + 1] if k + 1 < len(net.layers) else 0
    out = []
    start = 0
    for rows in _split(L.n, cores[k]):
        part = slice(start, start + rows)
        start += rows
        synapses = sum(rows if p.kind == "fb" else int(np.count_nonzero(p.mant[part])) for p in L.projections)
        bits = sum(_bits(p, part) for p in L.projections)
        in_axons = (L.ff.mant.shape[1] if L.ff is not None else 0) + (L.n if L.rec is not None else rows)
        own = cores[k] if L.rec is not None else 1  # recurrent: every core of the layer; else the self-synapse
        out_axons = rows * (own + nxt)
        use = {"neurons": rows, "compartments": COMPARTMENTS_PER_NEURON * rows, "synapses": synapses,
               "synaptic_memory_bits": bits, "input_axons": in_axons, "output_axons": out_axons}
        why = [f"{use[key]} {label} (limit {lim})" for key, label, lim in (
            ("compartments", "compartments", limits.compartments),
            ("synaptic_memory_bits", "bits of synaptic memory", limits.synaptic_memory_bits),
            ("input_axons", "input axons", limits.input_axons),
            ("output_axons", "output axons", limits.output_axons)) if use[key] > lim]
        use["ok"] = not why
        use["why"] = "; ".join(why)
        out.append(use)
    return out


def resource_report(net: LoihiNetwork, placements: list[LayerPlacement], limits: CoreLimits = LOIHI1) -> dict:
    """Cores, chips, compartments, synapses, synaptic memory, fan-in/out and axons, per layer and in total, and
    the placement: per core its layer, neuron range [start, stop) and usage (JSON-ready)."""
    layers = []
    for L, P in zip(net.layers, placements):
        fan_in = np.zeros(L.n, np.int64)
        for p in (L.ff, L.rec):
            if p is not None:
                fan_in += np.count_nonzero(p.mant, axis=1)
        fan_in += 1  # self-synapse
        fan_out = np.ones(L.n, np.int64)  # self
        if L.rec is not None:
            fan_out += np.count_nonzero(L.rec.mant, axis=0)
        k = net.layers.index(L)
        if k + 1 < len(net.layers) and net.layers[k + 1].ff is not None:
            fan_out += np.count_nonzero(net.layers[k + 1].ff.mant, axis=0)
        decay_profiles = len({(L.ic.du, int(dv)) for dv in np.broadcast_to(L.ic.dv, (L.n,))})
        layers.append({
            "name": L.name, "kind": L.kind, "neurons": L.n, "compartments": 2 * L.n, "cores": P.cores,
            "first_core": P.first_core, "neurons_per_core": P.neurons_per_core,
            "synapses": int(sum(c["synapses"] for c in P.per_core)),
            "synaptic_memory_bits_max_core": int(max(c["synaptic_memory_bits"] for c in P.per_core)),
            "input_axons_max_core": int(max(c["input_axons"] for c in P.per_core)),
            "output_axons_max_core": int(max(c["output_axons"] for c in P.per_core)),
            "fan_in_max": int(fan_in.max()), "fan_out_max": int(fan_out.max()),
            "weight_exponents": {p.kind: np.asarray(p.exp).tolist() for p in L.projections},  # per row: a list
            "input_compartment_decay_profiles": decay_profiles,
        })
    n_cores = sum(P.cores for P in placements)
    placement = []
    for P in placements:
        start = 0
        for i, c in enumerate(P.per_core):
            placement.append({"core": P.first_core + i, "layer": P.name, "neurons": [start, start + c["neurons"]],
                              **{k: c[k] for k in ("compartments", "synapses", "synaptic_memory_bits", "input_axons",
                                                   "output_axons")}})
            start += c["neurons"]
    return {
        "layers": layers,
        "placement": placement,
        "total": {"neurons": sum(L.n for L in net.layers), "compartments": net.n_compartments, "cores": n_cores,
                  "chips": math.ceil(n_cores / limits.cores_per_chip),
                  "synapses": sum(x["synapses"] for x in layers),
                  "synaptic_memory_used_fraction_max_core": max(x["synaptic_memory_bits_max_core"] for x in layers)
                  / limits.synaptic_memory_bits},
        "limits": {"compartments": limits.compartments, "synaptic_memory_bits": limits.synaptic_memory_bits,
                   "input_axons": limits.input_axons, "output_axons": limits.output_axons,
                   "cores_per_chip": limits.cores_per_chip},
        "model": "dense rows: numWeightBits/synapse; sparse: + ⌈log2 n_pre⌉ index bits per non-zero synapse; "
                 "the cheaper per projection; layers do not share cores",
    }
