"""Operations counted from a simulation (spikes, synaptic events, compartment updates) and the energy and time
per inference they imply on Loihi 1 and on a Cortex-M4, with every formula and input shown.

Both figures are estimates from published per-operation numbers, not measurements:

* **Loihi 1** (docs/method.md#energy-per-operation, Davies et al. 2018, Table 2; core limits docs/method.md#loihi-1):
  E = N_syn·E_syn + N_act·E_act + N_inact·E_inact + N_msg·E_tile, and a compute time per step bounded below by
  the most loaded core's synaptic operations × 3.5 ns. Static and idle power (Davies 2021), mesh hops,
  neuron-update and barrier-synchronisation time, and the host's cost of writing the layer-0 drive are left out.
* **Cortex-M4** (docs/method.md#nair-and-indiveri-2019, the 2019 back-of-envelope of
  ``manuvn/sigma-delta-neural-networks`` ``Cortex.md``): per ANN frame update one multiply and one add per weight plus
  the per-neuron filter, 26 clocks per multiply, 1 per add, 10 pJ per clock (10 µW/MHz), and the weights moved through
  DRAM at 6–25 pJ/bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Sequence

import numpy as np
from scipy import sparse

from ..equations.fixed_point import COMPARTMENTS_PER_NEURON
from ..errors import UserInputError
from ..simulation import SimulationResult

#: "At least 500× higher energy-efficiency … in comparison to Cortex-M4" (Nair & Indiveri 2019,
#: docs/method.md#nair-and-indiveri-2019).
CLAIM_2019 = 500.0
CLAIM_2019_SOURCE = ("Nair & Indiveri 2019, arXiv 1905.10692: ≥ 500× vs Cortex-M4, for their analog in-memory "
                     "chip (10 pJ/spike, 180 nm), not for Loihi")

_DAVIES = "Davies et al. 2018, IEEE Micro 38(1):82, Table 2 (verify)"
_LOIHI_LIMITS = "Davies et al. 2018; docs/method.md#loihi-1"
_CORTEX = "manuvn/sigma-delta-neural-networks Cortex.md (Nair & Indiveri 2019; docs/method.md#nair-and-indiveri-2019)"


def _const(value, unit: str, source: str, meaning: str):
    return field(default=value, metadata={"unit": unit, "source": source, "meaning": meaning})


def _describe(obj) -> dict:
    """Every field of a constants dataclass as {value, unit, meaning, source} (JSON-ready)."""
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = {"value": list(v) if isinstance(v, tuple) else v, "unit": f.metadata["unit"],
                       "meaning": f.metadata["meaning"], "source": f.metadata["source"]}
    return out


@dataclass(frozen=True)
class LoihiConstants:
    """Per-operation energy and time of Loihi 1 (SI units) and its core limits, each with its source."""

    e_synop: float = _const(23.6e-12, "J", _DAVIES, "synaptic spike operation (minimum)")
    e_update_active: float = _const(81e-12, "J", _DAVIES, "compartment update, active")
    e_update_inactive: float = _const(52e-12, "J", _DAVIES, "compartment update, inactive")
    e_spike_tile: float = _const(1.7e-12, "J", _DAVIES, "within-tile spike message")
    t_synop: float = _const(3.5e-9, "s", _DAVIES, "synaptic spike operation time (minimum)")
    compartments_per_core: int = _const(1024, "1", _LOIHI_LIMITS, "compartments per neuro-core")
    cores_per_chip: int = _const(128, "1", _LOIHI_LIMITS, "neuro-cores per chip")

    def describe(self) -> dict:
        return _describe(self)


@dataclass(frozen=True)
class CortexM4Constants:
    """The 2019 back-of-envelope for an ARM Cortex-M4 (SI units), each with its source.

    ``accesses_per_word = 2``: ``Cortex.md`` counts the 78,000 16-bit weight words read per second *and* a
    "write back of states = 78000 * 16 bits", i.e. 2 × 78,000 × 16 bit = 78,000 words × 32 bit per second;
    at 6–25 pJ/bit that is the published 15–60 µW (15.0–62.4 µW). Use 1 to count the weight reads only.
    """

    clocks_per_multiply: float = _const(26.0, "clock", _CORTEX, "clocks per multiply")
    clocks_per_add: float = _const(1.0, "clock", _CORTEX, "clocks per add (and per compare)")
    energy_per_clock: float = _const(10e-12, "J", _CORTEX, "10 µW/MHz, i.e. energy per clock")
    memory_energy_per_bit: tuple = _const((6e-12, 25e-12), "J/bit", _CORTEX, "DRAM access energy, low–high")
    word_bits: int = _const(16, "bit", _CORTEX, "bits per weight word")
    accesses_per_word: int = _const(2, "1", _CORTEX, "read + write-back, as Cortex.md counts the traffic")

    def describe(self) -> dict:
        return _describe(self)


DAVIES_2018 = LoihiConstants()
CORTEX_M4_2019 = CortexM4Constants()


# --- counting --------------------------------------------------------------------------------------------
@dataclass
class OperationCounts:
    """Operations of a multi-sample run, per sample (rows) and layer (columns); see :func:`count_operations`.

    Attributes
    ----------
    spikes, synaptic_events : ndarray, (samples, layers) int64
        Spikes of each layer; synaptic events caused by them (spikes × fan-out, by the *sending* layer).
    received_per_step : ndarray, (samples, layers, n_steps) int32
        Synaptic events arriving at each layer's neurons in each step (feed-forward, recurrent, self).
    compartment_updates, active_updates : ndarray, (samples, layers) int64
        2·n·n_steps compartment-steps, and those that are active (see :func:`count_operations`).
    input_injections : ndarray, (samples,) int64
        Layer-0 input compartment-steps receiving the injected drive (n0·n_steps; included in ``active_updates``).
    fan_out : list of ndarray
        Per layer, synapses of each neuron: feed-forward + recurrent + 1 (self-feedback).
    recurrent : list of bool
        Whether each layer has recurrent synapses.
    """

    layer_names: list[str]
    n_neurons: list[int]
    recurrent: list[bool]
    n_steps: int
    dt: float
    dense: bool
    fan_out: list[np.ndarray]
    spikes: np.ndarray
    synaptic_events: np.ndarray
    received_per_step: np.ndarray
    compartment_updates: np.ndarray
    active_updates: np.ndarray
    input_injections: np.ndarray

    @property
    def n_samples(self) -> int:
        return self.spikes.shape[0]

    @property
    def inactive_updates(self) -> np.ndarray:
        return self.compartment_updates - self.active_updates

    def per_sample(self) -> dict[str, np.ndarray]:
        """Whole-network totals per sample."""
        return {k: getattr(self, k).sum(axis=1) for k in
                ("spikes", "synaptic_events", "compartment_updates", "active_updates", "inactive_updates")}

    def means(self) -> dict:
        """Mean per sample, per layer and in total (JSON-ready)."""
        out = {"n_samples": self.n_samples, "n_steps": self.n_steps, "dense": self.dense,
               "input_injections": float(self.input_injections.mean()) if self.n_samples else 0.0, "layers": []}
        keys = ("spikes", "synaptic_events", "compartment_updates", "active_updates", "inactive_updates")
        for k, name in enumerate(self.layer_names):
            row = {"layer": name, "neurons": self.n_neurons[k], "mean_fan_out": float(self.fan_out[k].mean())}
            row.update({key: float(getattr(self, key)[:, k].mean()) for key in keys})
            out["layers"].append(row)
        out["total"] = {key: float(v.mean()) for key, v in self.per_sample().items()}
        return out


def _fan_outs(spec, dense: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer: feed-forward fan-out (into the next layer) and recurrent fan-out of every neuron."""
    ff, rec = [], []
    for k, L in enumerate(spec.layers):
        nxt = spec.layers[k + 1] if k + 1 < len(spec.layers) else None
        if nxt is None:
            ff.append(np.zeros(L.n, np.int64))
        else:
            W = np.asarray(nxt.W_snn)
            ff.append(np.full(L.n, W.shape[0], np.int64) if dense else np.count_nonzero(W, axis=0).astype(np.int64))
        if L.U_snn is None:
            rec.append(np.zeros(L.n, np.int64))
        else:
            U = np.asarray(L.U_snn)
            rec.append(np.full(L.n, L.n, np.int64) if dense else np.count_nonzero(U, axis=0).astype(np.int64))
    return ff, rec


def _check_result(result: SimulationResult) -> list[np.ndarray]:
    spec = result.spec
    names = [L.name for L in spec.layers]
    spikes = list(result.spikes) if result.spikes is not None else []
    if len(spikes) != len(names):
        raise UserInputError(f"the result holds spikes of {len(spikes)} layers but its network has {len(names)} "
                             f"({', '.join(names)}); re-run the simulation (every layer records its spikes)")
    out = []
    for k, (L, ev) in enumerate(zip(spec.layers, spikes)):
        if ev is None:
            raise UserInputError(f"the result has no spikes for layer {L.name}; re-run the simulation (every layer "
                                 "records its spikes)")
        ev = np.asarray(ev)
        if ev.ndim != 2 or ev.shape[1] != 3 or not np.issubdtype(ev.dtype, np.integer):
            raise UserInputError(f"spikes of layer {L.name} must be (n_spikes, 3) integer rows (sample, neuron, "
                                 f"step), got shape {ev.shape} of {ev.dtype}")
        for col, (what, top) in enumerate((("sample", result.n_samples), ("neuron", L.n), ("step", spec.n_steps))):
            if ev.shape[0] and (ev[:, col].min() < 0 or ev[:, col].max() >= top):
                raise UserInputError(f"spikes of layer {L.name}: {what} index outside [0, {top}); the result does "
                                     "not match its network")
        W = None if L.W_snn is None else np.asarray(L.W_snn)
        if k > 0 and (W is None or W.shape != (L.n, spec.layers[k - 1].n)):
            raise UserInputError(f"layer {L.name} has no feed-forward matrix of shape ({L.n}, "
                                 f"{spec.layers[k - 1].n}); the result's network is incomplete")
        out.append(ev.astype(np.int64))
    return out


def count_operations(result: SimulationResult, *, dense: bool = False) -> OperationCounts:
    """Count spikes, synaptic events and compartment updates of every sample of ``result``.

    Parameters
    ----------
    result : SimulationResult
        Spikes of every layer, (sample, neuron, step) rows, and the network (``result.spec``).
    dense : bool
        False (default, Loihi): a synapse exists only for a non-zero weight (Loihi stores non-zero synapses, and
        so does :func:`lprnn_brian.network.build_network` by default). True: all-to-all, zero weights included,
        as Brian2's full ``Synapses`` (``build_network(zero_weight_synapses=True)``) or the reference code.

    Notes
    -----
    * **Fan-out** of a neuron: its synapses into the next layer (column of the next layer's ``W_snn``) plus its
      recurrent synapses (column of its layer's ``U_snn``) plus 1 for its self-feedback synapse
      (docs/method.md#synapses). Synaptic events = Σ over spikes of the sender's fan-out, counted in the step of the
      spike (the synapse slot of that step; the event first acts on the target's update of the next step,
      docs/method.md#synapses).
    * **Compartment updates**: 2 compartments per neuron (docs/method.md#input-decoding-and-compartments), each updated
      every step: 2·n·n_steps.
    * **Active** compartment-step: the compartment receives input in that step. The input compartment (i_in,
      i_ip) is active when at least one feed-forward or recurrent synaptic event reaches it, and in layer 0 at
      every step, because the layer-0 drive X_n/τ_U is injected into i_ip every step like a bias (no spikes, no
      synaptic events; counted in ``input_injections``). The soma compartment (i_fb, v) is active when the
      neuron fires (its self-feedback event arrives in that step). Every other compartment-step (only decay)
      is inactive.
    """
    spec = result.spec
    events = _check_result(result)
    S, n_steps, n_layers = int(result.n_samples), int(spec.n_steps), len(spec.layers)
    ff, rec = _fan_outs(spec, dense)
    fan = [f + r + 1 for f, r in zip(ff, rec)]
    spikes = np.zeros((S, n_layers), np.int64)
    syn = np.zeros((S, n_layers), np.int64)
    received = np.zeros((S, n_layers, n_steps), np.int32)
    active = np.zeros((S, n_layers), np.int64)
    for k, (L, ev) in enumerate(zip(spec.layers, events)):
        s, i, n = ev[:, 0], ev[:, 1], ev[:, 2]
        spikes[:, k] = np.bincount(s, minlength=S)
        syn[:, k] = np.bincount(s, weights=fan[k][i], minlength=S).astype(np.int64)
        # events arrive at: this layer (recurrent + self) and the next (feed-forward)
        row = s * n_steps + n
        received[:, k, :] += np.bincount(row, weights=rec[k][i] + 1, minlength=S * n_steps).reshape(
            S, n_steps).astype(np.int32)
        if k + 1 < n_layers:
            received[:, k + 1, :] += np.bincount(row, weights=ff[k][i], minlength=S * n_steps).reshape(
                S, n_steps).astype(np.int32)
        # soma: one active step per (sample, neuron, step) with a spike
        fired = np.unique((s * L.n + i) * n_steps + n)
        active[:, k] += np.bincount(fired // (L.n * n_steps), minlength=S)
        if k == 0:
            active[:, k] += L.n * n_steps
        else:
            active[:, k] += _active_inputs(spec, k, events, S, dense)
    updates = np.tile([COMPARTMENTS_PER_NEURON * L.n * n_steps for L in spec.layers], (S, 1)).astype(np.int64)
    return OperationCounts(
        layer_names=[L.name for L in spec.layers], n_neurons=[int(L.n) for L in spec.layers],
        recurrent=[L.U_snn is not None for L in spec.layers], n_steps=n_steps,
        dt=float(spec.dt), dense=dense, fan_out=fan, spikes=spikes, synaptic_events=syn,
        received_per_step=received, compartment_updates=updates,
        active_updates=active, input_injections=np.full(S, spec.layers[0].n * n_steps, np.int64),
    )


def _active_inputs(spec, k: int, events: list[np.ndarray], S: int, dense: bool) -> np.ndarray:
    """Per sample, the (neuron, step) pairs of layer k ≥ 1 whose input compartment receives ≥ 1 feed-forward or
    recurrent event: the non-zeros of spikes(step, pre) @ connectivity(pre, post), rows (sample, step)."""
    L = spec.layers[k]
    n_steps = spec.n_steps
    sources = [(events[k - 1], np.asarray(L.W_snn), spec.layers[k - 1].n)]
    if L.U_snn is not None:
        sources.append((events[k], np.asarray(L.U_snn), L.n))
    reach = sparse.csr_matrix((S * n_steps, L.n), dtype=np.int64)
    for ev, W, n_pre in sources:
        spiking = sparse.csr_matrix((np.ones(ev.shape[0], np.int64), (ev[:, 0] * n_steps + ev[:, 2], ev[:, 1])),
                                    shape=(S * n_steps, n_pre))
        mask = np.ones_like(W, dtype=np.int64) if dense else (W != 0).astype(np.int64)
        reach = reach + spiking @ sparse.csr_matrix(mask.T)
    reach.eliminate_zeros()  # every entry is a positive count; drop structural zeros only
    per_row = np.diff(reach.indptr)
    return per_row.reshape(S, n_steps).sum(axis=1)


# --- Loihi ------------------------------------------------------------------------------------------------
@dataclass
class Estimate:
    """Energy (and time) per inference on one platform, with the formula and its inputs.

    ``energy_j`` is (low, high) in joules, mean per inference (equal for a point estimate); ``terms_j`` the
    contribution of each term (low, high); ``inputs`` every count and constant that entered the formula.
    """

    platform: str
    formula: str
    inputs: dict
    terms_j: dict
    energy_j: tuple[float, float]
    time_s: float | None = None
    time_formula: str | None = None
    per_sample_j: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {"platform": self.platform, "formula": self.formula, "inputs": self.inputs,
               "terms_j": {k: {"low": v[0], "high": v[1]} for k, v in self.terms_j.items()},
               "energy_per_inference_j": {"low": self.energy_j[0], "high": self.energy_j[1]},
               "notes": list(self.notes)}
        if self.time_s is not None:
            out["time_per_inference_s"] = self.time_s
            out["time_formula"] = self.time_formula
        return out


def loihi_cores(counts: OperationCounts, constants: LoihiConstants = DAVIES_2018) -> np.ndarray:
    """Cores per layer, ⌈2n/1024⌉, layers not sharing cores (an estimate: core mapping proper is done elsewhere)."""
    cpc = constants.compartments_per_core
    return np.array([math.ceil(COMPARTMENTS_PER_NEURON * n / cpc) for n in counts.n_neurons], np.int64)


def loihi_estimate(counts: OperationCounts, constants: LoihiConstants = DAVIES_2018,
                   cores: Sequence[int] | None = None) -> Estimate:
    """Energy and compute time per inference on Loihi 1 from per-operation figures (an estimate, not a measurement).

    E = N_syn·E_syn + N_act·E_act + N_inact·E_inact + N_msg·E_tile, per sample, then averaged, with

    * N_syn: synaptic events (:func:`count_operations`; use ``dense=False`` counts: Loihi stores non-zero
      synapses only);
    * N_act, N_inact: active and inactive compartment updates;
    * N_msg: spike messages, one per spike and destination core, each charged the within-tile spike energy
      (mesh hops are not counted: a lower bound for a multi-tile layout). A spike of layer k goes to the cores of
      layer k + 1 and to its own layer's cores (all of them when recurrent, one for the self-synapse otherwise).

    Time: layers get ⌈2n/1024⌉ cores each and a layer's arriving events are split evenly between them; a step
    takes at least the most loaded core's events × t_synop, and an inference is n_steps steps:
    T = Σ_n max_k (events into layer k at step n / cores_k) · t_synop. Neuron-update, routing and barrier times are
    left out (a lower bound). ``cores``: cores per layer from a core allocation
    (:func:`lprnn_brian.loihi.cores.allocate`); by default ⌈2n/1024⌉ (:func:`loihi_cores`).
    """
    cores = loihi_cores(counts, constants) if cores is None else np.asarray(cores, dtype=np.int64)
    own = np.where(counts.recurrent, cores, 1)
    destinations = own + np.r_[cores[1:], 0]
    messages = counts.spikes @ destinations
    c = constants
    N_syn = counts.synaptic_events.sum(axis=1)
    N_act = counts.active_updates.sum(axis=1)
    N_inact = counts.inactive_updates.sum(axis=1)
    terms = {"synaptic": N_syn * c.e_synop, "update_active": N_act * c.e_update_active,
             "update_inactive": N_inact * c.e_update_inactive, "spike_messages": messages * c.e_spike_tile}
    per_sample = sum(terms.values())
    load = counts.received_per_step / cores[None, :, None]
    step_time = load.max(axis=1) * c.t_synop  # (samples, steps)
    time = float(step_time.sum(axis=1).mean()) if counts.n_samples else 0.0
    mean = lambda a: float(np.mean(a)) if counts.n_samples else 0.0  # noqa: E731
    notes = [f"{int(cores.sum())} cores ({', '.join(f'{n}: {int(x)}' for n, x in zip(counts.layer_names, cores))})"
             + (f" exceed one chip's {c.cores_per_chip}" if cores.sum() > c.cores_per_chip else "")]
    notes.append("layer-0 drive: injected into i_ip every step (no spikes, no synaptic events); its compartment "
                 "updates are charged as active, the host's cost of writing it is not included")
    inputs = {"N_syn": mean(N_syn), "N_act": mean(N_act), "N_inact": mean(N_inact), "N_msg": mean(messages),
              "n_steps": counts.n_steps, "cores": [int(x) for x in cores],
              "destination_cores_per_spike": [int(x) for x in destinations], "dense_counts": counts.dense,
              "constants": c.describe()}
    return Estimate(
        platform="Loihi 1",
        formula="E = N_syn·E_syn + N_act·E_act + N_inact·E_inact + N_msg·E_tile",
        inputs=inputs, terms_j={k: (mean(v), mean(v)) for k, v in terms.items()},
        energy_j=(mean(per_sample), mean(per_sample)), time_s=time,
        time_formula="T = Σ_steps max_layer(events into layer / cores of layer)·t_synop (lower bound)",
        per_sample_j=np.asarray(per_sample, dtype=float), notes=notes,
    )


# --- Cortex-M4 --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class McuOperations:
    """Arithmetic and weight traffic of one ANN frame update on a microcontroller."""

    multiplies: int
    adds: int
    weight_words: int

    def clocks(self, c: CortexM4Constants = CORTEX_M4_2019) -> float:
        return self.multiplies * c.clocks_per_multiply + self.adds * c.clocks_per_add


def mcu_operations(matrices: Sequence[np.ndarray], *, dense: bool = True, filtered_neurons: int = 0) -> McuOperations:
    """Operations per ANN frame update of a network given its weight matrices.

    Each weight costs one multiply and one add (multiply–accumulate, the accumulator starting at the bias) and
    is one word read. ``dense``: every entry (the 2019 estimate; a dense matrix–vector product); otherwise only
    non-zero weights (a sparse product). Each of ``filtered_neurons`` runs the low-pass filter
    h ← a·h + (1 − a)·clamp(z, 0, Iin): 2 multiplies, 1 add and 2 compares (1 clock each, counted as adds).
    """
    n = sum(int(np.size(W)) if dense else int(np.count_nonzero(W)) for W in matrices)
    return McuOperations(multiplies=n + 2 * filtered_neurons, adds=n + 3 * filtered_neurons, weight_words=n)


def network_mcu_operations(spec, *, dense: bool = True, filter_ops: bool = True) -> McuOperations:
    """:func:`mcu_operations` of an SNN spec's ANN: each layer's feed-forward (``W_ann``) and recurrent weights,
    and (``filter_ops``) the filter of every lpff/lpRNN neuron (the dense read-out has none)."""
    mats = [np.asarray(L.W_ann if L.W_ann is not None else L.W_snn) for L in spec.layers]
    mats += [np.asarray(L.U_snn) for L in spec.layers if L.U_snn is not None]
    filtered = sum(L.n for L in spec.layers if L.kind != "dense") if filter_ops else 0
    return mcu_operations(mats, dense=dense, filtered_neurons=filtered)


def cortex_m4_estimate(ops: McuOperations, n_updates: int, constants: CortexM4Constants = CORTEX_M4_2019,
                       *, update_rate_hz: float | None = None) -> Estimate:
    """Energy per inference (``n_updates`` ANN frame updates) on a Cortex-M4, low–high (the DRAM range).

    E = T·[(N_mul·c_mul + N_add·c_add)·E_clk + N_words·b·k·E_bit], with c_mul = 26, c_add = 1 clocks,
    E_clk = 10 pJ (10 µW/MHz), b bits per word, k accesses per word (read + write-back: 2, as ``Cortex.md``)
    and E_bit = 6–25 pJ/bit. With ``update_rate_hz`` the inputs also give the power (W) at that rate.
    """
    if n_updates < 1:
        raise UserInputError(f"an inference needs at least one ANN frame update, got {n_updates}")
    c = constants
    clocks = ops.clocks(c)
    bits = ops.weight_words * c.word_bits * c.accesses_per_word
    compute = n_updates * clocks * c.energy_per_clock
    memory = tuple(n_updates * bits * e for e in c.memory_energy_per_bit)
    inputs = {"T": n_updates, "N_mul": ops.multiplies, "N_add": ops.adds, "N_words": ops.weight_words,
              "clocks_per_update": clocks, "bits_per_update": bits, "constants": c.describe()}
    if update_rate_hz is not None:
        inputs["update_rate_hz"] = update_rate_hz
        inputs["clocks_per_s"] = clocks * update_rate_hz
        inputs["power_w"] = {"compute": clocks * update_rate_hz * c.energy_per_clock,
                             "memory": [bits * update_rate_hz * e for e in c.memory_energy_per_bit]}
    return Estimate(
        platform="Cortex-M4",
        formula="E = T·[(N_mul·c_mul + N_add·c_add)·E_clk + N_words·b·k·E_bit]",
        inputs=inputs, terms_j={"compute": (compute, compute), "memory": memory},
        energy_j=(compute + memory[0], compute + memory[1]),
        notes=["2019 back-of-envelope: ideal caching hides memory latency; no ADC, no static power"],
    )


# --- report ----------------------------------------------------------------------------------------------
def energy_report(result: SimulationResult, *, dense: bool = False, mcu_dense: bool = True,
                  loihi: LoihiConstants = DAVIES_2018, cortex: CortexM4Constants = CORTEX_M4_2019,
                  cores: Sequence[int] | None = None) -> dict:
    """Counts, formulas, inputs and energy per inference on Loihi 1 and a Cortex-M4, and their ratio (JSON-ready).

    ``dense``: synapse counting for Loihi (:func:`count_operations`); ``mcu_dense``: dense matrix–vector products
    on the MCU (as the 2019 estimate) or non-zero weights only.
    """
    spec = result.spec
    counts = count_operations(result, dense=dense)
    est_l = loihi_estimate(counts, loihi, cores)
    ops = network_mcu_operations(spec, dense=mcu_dense)
    est_m = cortex_m4_estimate(ops, spec.n_frames, cortex, update_rate_hz=1.0 / spec.frame_dt)
    e_l = est_l.energy_j[0]
    ratio = {"low": est_m.energy_j[0] / e_l, "high": est_m.energy_j[1] / e_l} if e_l > 0 else None
    loihi_d = est_l.to_dict()
    loihi_d["energy_per_inference_j"] = e_l
    loihi_d["terms_j"] = {k: v[0] for k, v in est_l.terms_j.items()}
    loihi_d["real_time_per_inference_s"] = spec.n_steps * spec.dt
    return {
        "counts": counts.means(),
        "loihi": loihi_d,
        "cortex_m4": est_m.to_dict(),
        "ratio": {"cortex_m4_over_loihi": ratio, "claim_2019": CLAIM_2019, "claim_source": CLAIM_2019_SOURCE,
                  "meets_claim": None if ratio is None else bool(ratio["low"] >= CLAIM_2019)},
    }


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= scale or scale == 1e-15:
            return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:g} {unit}"


def _value(d: dict) -> str:
    """A constant's value for the Markdown tables (a range as low–high; SI prefixes for J and s)."""
    vals = d["value"] if isinstance(d["value"], list) else [d["value"]]
    if d["unit"] in ("J", "s", "J/bit"):
        return "–".join(_si(v, d["unit"]) for v in vals)
    return "–".join(f"{v:g}" for v in vals)


def energy_markdown(report: dict) -> str:
    """A Markdown section of :func:`energy_report`'s dict: formulas, inputs and results."""
    L, M, R, C = report["loihi"], report["cortex_m4"], report["ratio"], report["counts"]
    lines = ["## Energy per inference (estimate, not a measurement)", "",
             f"Counts per sample (mean of {C['n_samples']}; synapses {'all-to-all' if C['dense'] else 'non-zero weights only'}):",
             "", "| layer | neurons | spikes | mean fan-out | synaptic events | compartment updates | active | inactive |",
             "|---|---|---|---|---|---|---|---|"]
    for row in C["layers"]:
        lines.append(f"| {row['layer']} | {row['neurons']} | {row['spikes']:.1f} | {row['mean_fan_out']:.2f} | "
                     f"{row['synaptic_events']:.1f} | {row['compartment_updates']:.0f} | {row['active_updates']:.1f} | "
                     f"{row['inactive_updates']:.1f} |")
    lines += ["", f"### Loihi 1: {L['formula']}", ""]
    lines += ["| input | value | unit | source |", "|---|---|---|---|"]
    for key in ("N_syn", "N_act", "N_inact", "N_msg"):
        lines.append(f"| {key} | {L['inputs'][key]:.1f} | 1 | counted |")
    for key, d in L["inputs"]["constants"].items():
        lines.append(f"| {key} ({d['meaning']}) | {_value(d)} | {d['unit']} | {d['source']} |")
    lines += ["", "| term | energy |", "|---|---|"]
    lines += [f"| {k} | {_si(v, 'J')} |" for k, v in L["terms_j"].items()]
    lines += [f"| **total** | **{_si(L['energy_per_inference_j'], 'J')}** |", "",
              f"Compute time per inference ≥ {_si(L['time_per_inference_s'], 's')} ({L['time_formula']}); the input "
              f"spans {_si(L['real_time_per_inference_s'], 's')} of real time.", ""]
    lines += [f"- {n}" for n in L["notes"]]
    mi = M["inputs"]
    lines += ["", f"### Cortex-M4: {M['formula']}", "",
              "| input | value | unit | source |", "|---|---|---|---|"]
    for key, unit in (("T", "frame updates"), ("N_mul", "per update"), ("N_add", "per update"),
                      ("N_words", "per update")):
        lines.append(f"| {key} | {mi[key]:g} | {unit} | counted |")
    for key, d in mi["constants"].items():
        lines.append(f"| {key} ({d['meaning']}) | {_value(d)} | {d['unit']} | {d['source']} |")
    lo, hi = M["energy_per_inference_j"]["low"], M["energy_per_inference_j"]["high"]
    if "clocks_per_s" in mi:
        lines += ["", f"In real time ({mi['update_rate_hz']:g} updates/s) the MCU needs {mi['clocks_per_s'] / 1e6:.4g} M "
                  "clocks/s (the 2019 estimate assumes a 20 MHz Cortex-M4)."]
    lines += ["", f"Energy per inference: {_si(lo, 'J')} – {_si(hi, 'J')} (compute "
              f"{_si(M['terms_j']['compute']['low'], 'J')}, memory {_si(M['terms_j']['memory']['low'], 'J')} – "
              f"{_si(M['terms_j']['memory']['high'], 'J')}).", ""]
    if R["cortex_m4_over_loihi"] is not None:
        r = R["cortex_m4_over_loihi"]
        lines += [f"**Ratio Cortex-M4 / Loihi: {r['low']:.3g}× – {r['high']:.3g}×** (2019 claim: ≥ {R['claim_2019']:g}×; "
                  f"{R['claim_source']}).", ""]
    return "\n".join(lines)
