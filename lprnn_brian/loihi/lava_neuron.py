"""The ΣΔ neuron as a Lava process with its bit-accurate process model (imported by :mod:`.lava`, Lava env only).

This module imports Lava at the top: it is importable only in the environment of ``scripts/setup-lava``;
:mod:`.lava` imports it on first use and turns a missing Lava into an error naming that script. The process model
calls Lava's own fixed-point LIF arithmetic once per compartment (:class:`LifCompartment`); the join of the two
compartments, the IC's floor and the soma's threshold, reset and floor are ours (Lava has no multi-compartment
neuron). The contract is :data:`lprnn_brian.loihi.emulator.LOIHI_STEP`.
"""
from __future__ import annotations

import lava.magma.core.model.py.model as pymodel
import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed

from ..equations.fixed_point import BIAS_EXP_RANGE, BIAS_MANT_MAX, DECAY_SHIFT, STATE_BITS, VTH_MANT_MAX
from .params import RECORDED, REGISTERS

#: Lava precisions (bits) of the registers: 24-bit states, 12-bit decays, the bias mantissa (signed) and exponent,
#: the threshold mantissa.
STATE_TYPE = dict(precision=STATE_BITS)
DECAY_TYPE = dict(precision=DECAY_SHIFT)
BIAS_MANT_BITS = BIAS_MANT_MAX.bit_length() + 1
BIAS_EXP_BITS = BIAS_EXP_RANGE[1].bit_length()
VTH_MANT_BITS = VTH_MANT_MAX.bit_length()


def _per_neuron(x, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.int32), (n,)).copy()


class SigmaDeltaNeuron(AbstractProcess):
    """The two-compartment ΣΔ neuron of a layer (n neurons); registers as in LoihiLayer.ic / .soma.

    Decays ``du_*`` and ``dv_*`` are Lava's 12-bit registers (the u decay adds Lava's ``ds_offset`` 1),
    ``bias_mant``·2^``bias_exp`` the IC's bias, ``vth_mant``·2^6 the SC's threshold, ``v_min_*`` the floor
    of each compartment's v (vMin)."""

    def __init__(self, *, n: int, du_ic, dv_ic, bias_mant, bias_exp, du_sc, dv_sc, vth_mant: int,
                 v_min_ic: int = 0, v_min_sc: int = 0, name: str | None = None):
        super().__init__(n=n, name=name)
        self.a_ic = InPort(shape=(n,))
        self.a_sc = InPort(shape=(n,))
        self.x_in = InPort(shape=(n,))
        self.s_out = OutPort(shape=(n,))
        for reg in REGISTERS:
            setattr(self, reg, Var(shape=(n,), init=np.zeros(n, np.int32)))
        self.spiked = Var(shape=(n,), init=np.zeros(n, bool))
        for reg, value in (("du_ic", du_ic), ("dv_ic", dv_ic), ("bias_mant", bias_mant), ("bias_exp", bias_exp),
                           ("du_sc", du_sc), ("dv_sc", dv_sc)):
            setattr(self, reg, Var(shape=(n,), init=_per_neuron(value, n)))
        self.vth_mant = Var(shape=(1,), init=np.array([vth_mant], np.int32))
        self.v_min = Var(shape=(2,), init=np.array([v_min_ic, v_min_sc], np.int32))
        # every step's registers and spikes, rows in RECORDED order, for an Extractor (lava.run_lava): Var.get
        # sends an array one element at a time (~10 µs each), too slow to read 5·n values every step
        self.rec_out = OutPort(shape=(len(RECORDED), n))


class LifCompartment(AbstractPyLifModelFixed):
    """One compartment seen through Lava's fixed-point LIF model: ``u``, ``v``, ``du``, ``dv``, the bias
    registers and ``effective_bias`` are set by :class:`PySigmaDeltaModelBitAcc` before each call, so
    that Lava's ``scale_bias`` and ``subthr_dynamics`` (and the constants its ``__init__`` sets:
    ds_offset 1, dm_offset 0, 24-bit u/v, 12-bit decays, activation shift 6) do the arithmetic."""


@implements(proc=SigmaDeltaNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PySigmaDeltaModelBitAcc(pymodel.PyLoihiProcessModel):
    """Bit-accurate model of :class:`SigmaDeltaNeuron` (the contract of lprnn_brian.loihi.emulator)."""

    a_ic = LavaPyType(PyInPort.VEC_DENSE, np.int32, **STATE_TYPE)
    a_sc = LavaPyType(PyInPort.VEC_DENSE, np.int32, **STATE_TYPE)
    x_in = LavaPyType(PyInPort.VEC_DENSE, np.int32, **STATE_TYPE)
    s_out = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    u_ic = LavaPyType(np.ndarray, np.int32, **STATE_TYPE)
    v_ic = LavaPyType(np.ndarray, np.int32, **STATE_TYPE)
    u_sc = LavaPyType(np.ndarray, np.int32, **STATE_TYPE)
    v_sc = LavaPyType(np.ndarray, np.int32, **STATE_TYPE)
    spiked = LavaPyType(np.ndarray, bool, precision=1)
    du_ic = LavaPyType(np.ndarray, np.int32, **DECAY_TYPE)
    dv_ic = LavaPyType(np.ndarray, np.int32, **DECAY_TYPE)
    bias_mant = LavaPyType(np.ndarray, np.int32, precision=BIAS_MANT_BITS)
    bias_exp = LavaPyType(np.ndarray, np.int32, precision=BIAS_EXP_BITS)
    du_sc = LavaPyType(np.ndarray, np.int32, **DECAY_TYPE)
    dv_sc = LavaPyType(np.ndarray, np.int32, **DECAY_TYPE)
    vth_mant = LavaPyType(np.ndarray, np.int32, precision=VTH_MANT_BITS)
    v_min = LavaPyType(np.ndarray, np.int32, **STATE_TYPE)
    rec_out = LavaPyType(PyOutPort.VEC_DENSE, np.int32, **STATE_TYPE)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._ic = LifCompartment(proc_params)
        self._sc = LifCompartment(proc_params)

    def run_spk(self):
        a_ic, a_sc, x_in = self.a_ic.recv(), self.a_sc.recv(), self.x_in.recv()
        # input compartment: u += a_IC << 6 (wrap), v = decay(v) + u + bias + x_in (clip); Lava's code
        ic = self._ic
        ic.u, ic.v, ic.du, ic.dv = self.u_ic, self.v_ic, self.du_ic, self.dv_ic  # updated in place
        ic.bias_mant, ic.bias_exp = self.bias_mant, self.bias_exp
        ic.scale_bias()
        ic.effective_bias = ic.effective_bias + x_in  # the drive enters v like a bias of this step
        ic.subthr_dynamics(activation_in=a_ic)
        np.maximum(self.v_ic, self.v_min[0], out=self.v_ic)  # vMin of the IC (it never spikes)
        # soma: u += a_SC << 6 (wrap), v = decay(v) + u + v_IC (clip): the join is the soma's bias
        sc = self._sc
        sc.u, sc.v, sc.du, sc.dv = self.u_sc, self.v_sc, self.du_sc, self.dv_sc
        sc.effective_bias = self.v_ic
        sc.subthr_dynamics(activation_in=a_sc)
        s = self.v_sc > np.left_shift(self.vth_mant[0], sc.vth_shift)
        self.v_sc[s] = 0
        np.maximum(self.v_sc, self.v_min[1], out=self.v_sc)
        self.spiked[:] = s
        self.s_out.send(s)
        self.rec_out.send(np.stack([self.u_ic, self.v_ic, self.u_sc, self.v_sc, s.astype(np.int32)]))
