"""Bit-exact integer emulator of the mapped Loihi network, and the Brian2 Loihi mode's arithmetic beside it.

``semantics='loihi'`` (the export oracle, docs/method.md#simulation-modes) runs the registers of :class:`LoihiNetwork`
with Lava's bit-accurate arithmetic (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``), per timestep t, every layer in
parallel on the spikes s[t−1] of the previous step, as :data:`LOIHI_STEP` writes it (and every bundle carries, as
:data:`LOIHI_SEMANTICS`); its shifts and decay unity are those of :mod:`lprnn_brian.equations.fixed_point`.

``semantics='brian2'`` is the network of the Brian2 ``loihi`` mode (docs/method.md#per-step-order; the reference
emulation): float states clipped to 24 bits and truncated at the start of each step, the layer-0 input X/τ_U added to
i_ip before the update, every right-hand side at pre-step values: the declaration's own formulas, from
:func:`lprnn_brian.equations.numeric.neuron`. It reproduces the Brian2 network bit for bit
(tests/test_loihi.py) and is much faster than it, so the two modes can be compared on many samples.

They differ in four ways (decision B7 in docs/decisions.md), each switchable here so that :func:`divergence` can say how
much each costs: (1) u wraps instead of clipping (``overflow``); (2) the decayed product is truncated before the
integer input is added (``rounding``); (3) the soma adds the input compartment's v of the same step (the
join) where Brian2 uses i_ip of the previous step, and layer-0 input enters after the decay: spikes of layer k
lead by about one step per layer (timing, inherent to the semantics); (4) Dense floors Σ mant at negative
exponents (exact for every shipped model: see the lossy-step report).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ann.forward import readout_start
from ..ann.model import READOUT_WINDOWS
from ..convert import frame_end_steps
from ..equations import numeric
from ..equations.fixed_point import ACTIVATION_SHIFT_BITS, DECAY_SHIFT, DECAY_UNITY
from ..equations.sigma_delta import STATE_LIMIT
from ..errors import UserInputError
from ..targets import RawRun
from .params import REGISTERS, U_DECAY_OFFSET, V_DECAY_OFFSET, V_LIMIT, LoihiNetwork, Projection

#: One timestep of ``semantics='loihi'``, one line per register (Lava's integer arithmetic).
LOIHI_STEP = (
    "a_IC = dense(ff, s_prev_layer) + dense(rec, s_own)       dense: (Σ_j mant_ij s_j) << exp  (>> −exp: floor)",
    "u_IC = wrap24(decay(u_IC, du_IC + 1) + (a_IC << 6))       decay: sgn(x·k)(|x·k| >> 12), k = 4096 − d",
    "v_IC = max(clip(decay(v_IC, dv_IC) + u_IC + bias + x_in[t], ±(2^23 − 1)), 0)",
    "u_SC = wrap24(decay(u_SC, du_SC + 1) + (dense(fb, s_own) << 6))",
    "v_SC = clip(decay(v_SC, dv_SC) + u_SC + v_IC, ±(2^23 − 1));  s = v_SC > vth·2^6;  v_SC ← 0 if s;  floor 0",
)
#: The integer semantics every bundle is meant to be run with (``bundle.json``'s ``semantics``). Its bytes are part
#: of the written bundles: a change of wording changes every bundle written afterwards (and a golden-output check
#: across it, ``scripts/golden_outputs.py``), so it changes only with a reason.
LOIHI_SEMANTICS = (
    "Bit-exact integer emulator of the mapped Loihi network, and the Brian2 Loihi mode's arithmetic beside it.\n\n"
    "``semantics='loihi'`` (the export oracle, docs/method.md#simulation-modes and\n"
    "docs/method.md#compartment-arithmetic) runs the registers of :class:`LoihiNetwork` with Lava's bit-accurate\n"
    "arithmetic (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``), per timestep t, every layer in parallel on the\n"
    "spikes s[t−1] of the previous step::\n\n"
    + "\n".join(f"    {line}" for line in LOIHI_STEP)
)
SEMANTICS = ("loihi", "brian2")
OVERFLOW = ("wrap", "clip")
ROUNDING = ("decay", "sum")
RECORD = ("steps", "frames", "none")


@dataclass
class EmulatorRun:
    """Output of :func:`emulate` for a batch of samples.

    ``spikes[k]``: (samples, n_steps, n) bool. ``states[k][reg]`` (``record='steps'``): (samples, n_steps, n),
    ``reg`` in :data:`REGISTERS`; with ``semantics='loihi'`` index t holds the register at the end of step t (what
    Lava's ``Var.get()`` returns after t + 1 steps), with ``'brian2'`` what Brian2's StateMonitor records at step t
    (start of the step, after clipping, truncation and input). ``raw``: one :class:`lprnn_brian.targets.RawRun` per
    sample in the simulator's recording convention (index n: state before step n), for
    :func:`lprnn_brian.simulation.result_from_raw`. ``overflow[k]``: how often u wrapped (or was clipped) and v
    was clipped at ±(2^23 − 1), summed over samples and neurons.
    """

    semantics: str
    spikes: list[np.ndarray]
    states: list[dict[str, np.ndarray]] | None
    raw: list[RawRun]
    overflow: list[dict[str, int]] = field(default_factory=list)


def _decay(x: np.ndarray, keep) -> np.ndarray:
    """x·keep/4096 truncated toward zero, in integers (int64 product)."""
    p = x * keep
    return np.sign(p) * (np.abs(p) >> DECAY_SHIFT)


def _wrap24(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Lava's u overflow: one wrap by 2^24 above 2^23 or at/below −2^23."""
    over = x > STATE_LIMIT
    under = x <= -STATE_LIMIT
    n = int(over.sum() + under.sum())
    if n:
        x = np.where(over, x - 2 * STATE_LIMIT, np.where(under, x + 2 * STATE_LIMIT, x))
    return x, n


def _overflows(x: np.ndarray, hi) -> int:
    """How many values lie beyond ±hi (overflows; the floor at 0 of v is not one)."""
    return int(np.count_nonzero((x < -hi) | (x > hi)))


def _clip(x: np.ndarray, hi) -> tuple[np.ndarray, int]:
    """Clip to [−hi, hi]; counts the values beyond (:func:`_overflows`)."""
    n = _overflows(x, hi)
    return (np.clip(x, -hi, hi) if n else x), n


def dense(p: Projection, s: np.ndarray) -> np.ndarray:
    """Lava's bit-accurate Dense: Σ_j mant_ij s_j per target, shifted by the exponent (floor for exp < 0); with
    one exponent per target row, each row by its own (one Dense per exponent on Lava: the same sums).

    ``s``: (samples, n_pre) bool. The sum runs in float64 (BLAS), exact for integers below 2^53."""
    if p.kind == "fb":
        acc = s * p.mant[None, :]
    else:
        acc = (s.astype(np.float64) @ p.mant.T.astype(np.float64)).astype(np.int64)
    e = np.asarray(p.exp, dtype=np.int64)
    return (acc << np.maximum(e, 0)) >> np.maximum(-e, 0)


def _check(net: LoihiNetwork, drive: np.ndarray, semantics: str, overflow: str, rounding: str, record: str):
    for name, value, allowed in (("semantics", semantics, SEMANTICS), ("overflow", overflow, OVERFLOW),
                                 ("rounding", rounding, ROUNDING), ("record", record, RECORD)):
        if value not in allowed:
            raise UserInputError(f"unknown {name} {value!r}; choose one of {allowed}")
    drive = np.asarray(drive, dtype=np.float64)
    if drive.ndim == 2:
        drive = drive[None]
    n0 = net.layers[0].n
    if drive.ndim != 3 or drive.shape[1:] != (net.n_steps, n0):
        raise UserInputError(f"drive must be (samples, {net.n_steps} steps, {n0} units) (lprnn_brian.convert."
                             f"layer0_drive), got shape {drive.shape}")
    return drive


def emulate(net: LoihiNetwork, drive: np.ndarray, *, semantics: str = "loihi", overflow: str = "wrap",
            rounding: str = "decay", record: str = "frames") -> EmulatorRun:
    """Run the mapped network on layer-0 drives.

    Parameters
    ----------
    net : LoihiNetwork
        From :func:`lprnn_brian.loihi.params.to_loihi`.
    drive : ndarray
        X of :func:`lprnn_brian.convert.layer0_drive`, (samples, n_steps, n0) or (n_steps, n0); with
        ``semantics='loihi'`` it enters as :meth:`LoihiNetwork.input_integers`.
    semantics : {'loihi', 'brian2'}
        Lava's bit-accurate arithmetic, or the Brian2 ``loihi`` mode's (module docstring).
    overflow, rounding : str
        ``semantics='loihi'`` only, to attribute divergences: u ``'wrap'`` (Lava) or ``'clip'`` (Brian2) at
        24 bits; truncate the ``'decay'``ed product before adding the input (Lava) or the ``'sum'`` (Brian2).
    record : {'frames', 'steps', 'none'}
        ``'steps'`` keeps every register at every step (memory: samples × steps × 4 × neurons × 8 bytes);
        ``'frames'`` only the frame-end values and window sums the decodes need.
    """
    drive = _check(net, drive, semantics, overflow, rounding, record)
    step = _BrianStep(net, drive) if semantics == "brian2" else _LoihiStep(net, drive, overflow, rounding)
    S, T = drive.shape[0], net.n_steps
    layers = net.layers
    spikes = [np.zeros((S, T, L.n), bool) for L in layers]
    states = [{r: np.zeros((S, T, L.n), step.dtype) for r in REGISTERS} for L in layers] if record == "steps" else None
    # the simulator's convention (record index n = state before step n): frame ends and window sums
    ends = frame_end_steps(net.spec)
    starts = {w: readout_start(T, w) for w in READOUT_WINDOWS}
    frames = [{r: np.zeros((S, len(ends), L.n)) for r in REGISTERS} for L in layers]
    sums = [{r: {w: np.zeros((S, L.n)) for w in starts} for r in REGISTERS} for L in layers]
    frames_at: dict[int, list[int]] = {}  # record index → the frames ending there (the last ones may share one)
    for f, n in enumerate(ends):
        frames_at.setdefault(int(n), []).append(f)

    def sample(n: int) -> None:  # the state the simulator records at index n
        fs = frames_at.get(n, [])
        for k in range(len(layers)):
            regs = step.registers(k)
            for r in REGISTERS:
                for f in fs:
                    frames[k][r][:, f] = regs[r]
                for w, first in starts.items():
                    if n >= first:
                        sums[k][r][w] += regs[r]

    for t in range(T):
        if semantics == "brian2":
            step.start(t)
            sample(t)
            fired = step.update(t)
            if states is not None:
                for k in range(len(layers)):
                    for r, val in step.recorded[k].items():
                        states[k][r][:, t] = val
        else:
            if t > 0:
                sample(t)
            fired = step.update(t)
            if states is not None:
                for k in range(len(layers)):
                    for r, val in step.registers(k).items():
                        states[k][r][:, t] = val
        for k, s in enumerate(fired):
            spikes[k][:, t] = s
    raw = []
    for b in range(S):
        spike_i, spike_step, fstates, wsums = [], [], [], []
        for k in range(len(layers)):
            steps_, idx = np.nonzero(spikes[k][b])
            spike_i.append(idx.astype(np.int64))
            spike_step.append(steps_.astype(np.int32))
            fstates.append({REGISTERS[r]: frames[k][r][b] for r in REGISTERS})
            wsums.append({REGISTERS[r]: {w: sums[k][r][w][b] for w in starts} for r in REGISTERS})
        raw.append(RawRun(spike_i, spike_step, [{} for _ in layers], fstates, wsums))
    return EmulatorRun(semantics, spikes, states, raw, step.overflow)


class _LoihiStep:
    """Integer registers (int64, samples × n) of every layer, updated by Lava's arithmetic."""

    dtype = np.int64

    def __init__(self, net: LoihiNetwork, drive: np.ndarray, overflow: str, rounding: str):
        self.net, self.wrap, self.sum_rounding = net, overflow == "wrap", rounding == "sum"
        self.x_in = net.input_integers(drive)
        S = drive.shape[0]
        self.regs = [{r: np.zeros((S, L.n), np.int64) for r in REGISTERS} for L in net.layers]
        self.prev = [np.zeros((S, L.n), bool) for L in net.layers]
        self.overflow = [{"u_wraps" if self.wrap else "u_clips": 0, "v_clips": 0} for _ in net.layers]
        self.keep = [{"u_ic": DECAY_UNITY - (L.ic.du + U_DECAY_OFFSET),
                      "v_ic": DECAY_UNITY - (np.asarray(L.ic.dv) + V_DECAY_OFFSET),
                      "u_sc": DECAY_UNITY - (L.soma.du + U_DECAY_OFFSET),
                      "v_sc": DECAY_UNITY - (np.asarray(L.soma.dv) + V_DECAY_OFFSET)} for L in net.layers]

    def registers(self, k: int) -> dict[str, np.ndarray]:
        return self.regs[k]

    def _leaky(self, x: np.ndarray, keep, add: np.ndarray) -> np.ndarray:
        """decay(x) + add (Lava), or the truncated sum x·k/4096 + add (Brian2's rounding)."""
        if self.sum_rounding:
            return _decay(x * keep + (add << DECAY_SHIFT), 1)
        return _decay(x, keep) + add

    def _u(self, k: int, x: np.ndarray, keep, add: np.ndarray) -> np.ndarray:
        y = self._leaky(x, keep, add)
        if self.wrap:
            y, n = _wrap24(y)
            self.overflow[k]["u_wraps"] += n
        else:
            y, n = _clip(y, STATE_LIMIT)
            self.overflow[k]["u_clips"] += n
        return y

    def _v(self, k: int, y: np.ndarray) -> np.ndarray:
        y, n = _clip(y, V_LIMIT)
        self.overflow[k]["v_clips"] += n
        return y

    def update(self, t: int) -> list[np.ndarray]:
        fired = []
        for k, L in enumerate(self.net.layers):
            r, keep = self.regs[k], self.keep[k]
            a_ic = np.zeros_like(r["u_ic"])
            if L.ff is not None:
                a_ic = a_ic + dense(L.ff, self.prev[k - 1])
            if L.rec is not None:
                a_ic = a_ic + dense(L.rec, self.prev[k])
            r["u_ic"] = self._u(k, r["u_ic"], keep["u_ic"], a_ic << ACTIVATION_SHIFT_BITS)
            into_v = r["u_ic"] + L.ic.bias[None, :]
            if k == 0:
                into_v = into_v + self.x_in[:, t]
            r["v_ic"] = np.maximum(self._v(k, self._leaky(r["v_ic"], keep["v_ic"], into_v)), L.ic.v_min)
            r["u_sc"] = self._u(k, r["u_sc"], keep["u_sc"], dense(L.fb, self.prev[k]) << ACTIVATION_SHIFT_BITS)
            v = self._v(k, self._leaky(r["v_sc"], keep["v_sc"], r["u_sc"] + r["v_ic"]))
            s = v > (L.soma.vth_mant << ACTIVATION_SHIFT_BITS)
            r["v_sc"] = np.maximum(np.where(s, 0, v), L.soma.v_min)
            fired.append(s)
        self.prev = fired
        return fired


class _BrianStep:
    """Float states of the Brian2 ``loihi`` mode (docs/method.md#per-step-order), in register names; every formula is
    the declaration's (:func:`lprnn_brian.equations.numeric.neuron`), in Brian2's order of operations."""

    dtype = np.float64

    def __init__(self, net: LoihiNetwork, drive: np.ndarray):
        self.net, self.drive = net, drive
        self.nn = numeric.neuron("loihi")
        S = drive.shape[0]
        self.st = [{x: np.zeros((S, L.n)) for x in REGISTERS.values()} for L in net.layers]
        self.recorded = [dict() for _ in net.layers]
        self.overflow = [{"u_clips": 0, "v_clips": 0} for _ in net.layers]
        self.params = [{"tau_I": np.asarray(Ls.tau_I, dtype=np.float64), "tau_U": np.asarray(Ls.tau_U, np.float64),
                        "tau_V": np.asarray(Ls.tau_V, dtype=np.float64), "tau_S": np.asarray(Ls.tau_S, np.float64),
                        "b_tilde": L.ic.bias.astype(np.float64), "kick": Ls.kick, "vth_mant": Ls.vth_mant}
                       for L, Ls in zip(net.layers, net.spec.layers)]
        self.W = [(L.ff.weights if L.ff is not None else None, L.rec.weights if L.rec is not None else None)
                  for L in net.layers]

    def registers(self, k: int) -> dict[str, np.ndarray]:
        return {r: self.st[k][x] for r, x in REGISTERS.items()}

    def start(self, t: int) -> None:
        """Conditioning (24-bit clip, then truncation) of every layer, then layer 0's input; the record."""
        for k, s in enumerate(self.st):
            o = self.overflow[k]
            for r in ("v_sc", "v_ic", "u_sc", "u_ic"):  # values beyond ±2^23 (the floor of v at 0 is none)
                o["v_clips" if r.startswith("v") else "u_clips"] += _overflows(s[REGISTERS[r]], STATE_LIMIT)
            s.update(self.nn.apply("clip", s))
            s.update(self.nn.apply("truncate", s))
        s0 = self.st[0]
        s0.update(self.nn.apply("input", {**s0, "X": self.drive[:, t], "tau_U": self.params[0]["tau_U"]}))
        for k in range(len(self.st)):
            self.recorded[k] = {r: v.copy() for r, v in self.registers(k).items()}

    def update(self, t: int) -> list[np.ndarray]:
        """The one-step update and threshold of every layer, then the synapses, then reset and own feedback."""
        fired = []
        for k, s in enumerate(self.st):
            p = self.params[k]
            s.update(self.nn.apply("update", {**s, **p}))
            fired.append(self.nn.spikes(s["v"], p["vth_mant"]))
        for k, s in enumerate(self.st):
            for W, pre in zip(self.W[k], (k - 1, k)):  # feed-forward, then recurrent
                if W is not None:
                    s.update(self.nn.apply("on_spike_target", {**s, "w": fired[pre] @ W.T}))
        for k, s in enumerate(self.st):
            for block in ("on_spike_self", "reset"):
                new = self.nn.apply(block, {**s, **self.params[k]})
                s.update({x: np.where(fired[k], val, s[x]) for x, val in new.items()})
        return fired
