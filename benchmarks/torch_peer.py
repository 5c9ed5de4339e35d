"""Target (f) of ``snn_throughput.py``: the ΣΔ network as a batched, time-stepped PyTorch simulation on CPU.

What a user would write instead of the compiled Brian2 path: every layer stepped together, the batch as the leading
dimension of every state, and each step's synaptic input as a dense float64 matmul of the presynaptic spikes with the
weight matrix (zero weights included), one per projection. No Brian2 runs here.

The formulas are not typed again. Each block of the neuron's declaration (:mod:`lprnn_brian.equations.sigma_delta`),
in the Brian2 form that :mod:`lprnn_brian.equations.numeric` lambdifies for numpy, is printed as that module's numpy
functions are and compiled to run on torch tensors (``clip`` → :func:`torch.clamp`, ``int`` → :func:`torch.trunc`),
so the float64 operations are those of Brian2's generated code in its order (``b_tilde + i_in + i_ip*(1 - 1/tau_I)``,
left to right). As a user would, the parameter-only sub-expressions (the decay factors ``1 - 1/tau_I``, the threshold
``64*vth_mant``) are computed once per layer rather than every step: the same values. The schedule is
docs/method.md#per-step-order, as :class:`lprnn_brian.loihi.emulator._BrianStep` (``semantics='brian2'``) runs it::

    start      every layer: clip (Loihi: 24 bits), then truncate toward zero; layer 0: i_ip += X_t/τ_U; record
    groups     every layer: the one-step update (right-hand sides at pre-step values); s = v > 64·vth_mant
    synapses   every layer: i_in += 64·(s_{k−1} @ Wᵀ) (feed-forward), then i_in += 64·(s_k @ Uᵀ) (recurrent)
    resets     every neuron that spiked: i_fb −= kick, v = 0

In Loihi mode the weights are mantissa·2^exp values, so each matmul's sum of them is exact in float64 whatever order
BLAS adds in, and the peer's ``i_in + 64*w`` is the emulator's own operation: the peer computes what
:func:`lprnn_brian.loihi.emulator.emulate` computes with ``semantics='brian2'``, operation for operation, and that
reproduces the Brian2 Loihi-mode network bit for bit (tests/test_loihi.py). tests/test_torch_peer.py checks the peer's
spikes against both. In float mode the peer runs the same formulas, but its sums of non-integer weights come in BLAS's
order, not Brian2's synapse by synapse, so a state may differ from Brian2's in its last bits and a spike may move.

torch is an extra (``lprnn_brian[train]``); it is imported where a peer is built, not when this module is.

    from torch_peer import TorchPeer              # with benchmarks/ on sys.path
    peer = TorchPeer(spec)                         # spec: lprnn_brian.convert.to_snn_spec(model, mode="loihi")
    run = peer.run(drives)                         # (batch, n_steps, n0): lprnn_brian.convert.layer0_drive per sample
    run.spikes[k], run.readout_fb_sum, run.spike_trains(b)
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType

import numpy as np

from lprnn_brian.ann.forward import readout_start
from lprnn_brian.convert import SNNSpec
from lprnn_brian.equations import numeric
from lprnn_brian.equations import sigma_delta as sd
from lprnn_brian.errors import UserInputError

#: The state variables of the declaration (each a (batch, n) float64 tensor per layer).
STATES = tuple(str(x) for x in sd.STATE)


@dataclass(frozen=True)
class TorchAssignment:
    """``target = expr`` of one block as compiled Python code over torch tensors.

    ``code`` is the expression as the numpy oracle prints it, with every sub-expression that reads parameters only
    (``1 - 1/tau_I``, ``64*vth_mant``) replaced by a name of ``constants`` (name → code), which a peer evaluates
    once per layer: the same float64 operations in the same order, the per-step ones left per step."""

    target: str
    code: CodeType
    namespace: dict
    constants: dict[str, CodeType]

    def __call__(self, values: dict):
        return eval(self.code, self.namespace, values)  # noqa: S307 (code printed from the declaration)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Hoist(ast.NodeTransformer):
    """Replace each largest sub-expression whose variables are all parameters (and which is not a bare name) by a
    new name, collecting the sub-expressions."""

    def __init__(self, parameters: set[str], variables: set[str], prefix: str):
        self.parameters, self.variables, self.prefix = parameters, variables, prefix
        self.found: dict[str, ast.Expression] = {}

    def visit(self, node):
        if isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Constant)):
            read = _names(node) & self.variables
            if read and read <= self.parameters:
                name = f"{self.prefix}{len(self.found)}"
                self.found[name] = ast.fix_missing_locations(ast.Expression(node))
                return ast.copy_location(ast.Name(name, ast.Load()), node)
        return super().visit(node)


@lru_cache(maxsize=None)
def torch_blocks(variant: str) -> tuple[dict[str, dict[str, TorchAssignment]], TorchAssignment]:
    """The declaration's blocks of ``variant`` ('loihi' or 'float') as torch code, and its threshold (cached).

    Each expression is that of :func:`lprnn_brian.equations.numeric.neuron` (already in Brian2's form) printed as
    its numpy functions are (sympy's NumPyPrinter, with ``clip`` and ``int`` as functions), and run with torch in
    place of numpy: ``clip`` → :func:`torch.clamp`, ``int`` → :func:`torch.trunc`, any other function by its torch
    name (``greater`` → :func:`torch.greater`)."""
    import torch
    from sympy.printing.numpy import NumPyPrinter

    own = {"clip": torch.clamp, "int": torch.trunc, "inf": math.inf}
    printer = NumPyPrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                            "user_functions": {name: name for name in numeric.NUMPY_FUNCTIONS}})
    not_parameters = {str(x) for x in (*sd.STATE, sd.X, sd.w)}

    def compiled(a: numeric.Assignment, prefix: str) -> TorchAssignment:
        variables = set(a.args)
        tree = ast.parse(printer.doprint(a.expr), mode="eval")
        namespace = {}
        for name in _names(tree) - variables:
            if name in own:
                namespace[name] = own[name]
            elif hasattr(torch, name):
                namespace[name] = getattr(torch, name)
            else:
                raise ValueError(f"the declaration's {a.target} = {a.expr} uses {name!r}, which has no torch "
                                 f"counterpart here: add it to torch_peer.torch_blocks")
        hoist = _Hoist(variables - not_parameters, variables, prefix)
        tree = ast.fix_missing_locations(hoist.visit(tree))
        constants = {n: compile(e, f"<{n}>", "eval") for n, e in hoist.found.items()}
        return TorchAssignment(a.target, compile(tree, f"<{prefix}>", "eval"), namespace, constants)

    nn = numeric.neuron(variant)
    blocks = {name: {x: compiled(a, f"_{name}_{x}_") for x, a in block.items()} for name, block in nn.blocks.items()}
    return blocks, compiled(nn.threshold, "_threshold_")


@dataclass
class PeerRun:
    """What :meth:`TorchPeer.run` returns for a batch.

    ``spikes[k]``: (batch, n_steps, n_k) bool, the spikes of layer k at each step. ``readout_fb_sum``: (batch, n_out)
    float64, the read-out layer's i_fb (integer units) summed over the spec's read-out window at the record slot
    (start of step n, after clipping, truncation and input; the steps n ≥ ``readout_start``), as Brian2's
    window sums record it: the fb decode's class is argmax of it times
    :func:`lprnn_brian.simulation.decode_scale` ('fb')."""

    spikes: list[np.ndarray]
    readout_fb_sum: np.ndarray

    def spike_trains(self, b: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Sample ``b``'s spikes per layer in a Brian2 SpikeMonitor's order (by step, then by neuron index):
        (neuron indices int64, steps int32), one pair of arrays per layer."""
        idx, steps = [], []
        for s in self.spikes:
            t, i = np.nonzero(s[b])
            idx.append(i.astype(np.int64))
            steps.append(t.astype(np.int32))
        return idx, steps


class TorchPeer:
    """The ΣΔ network of ``spec`` as a batched, time-stepped torch simulation (CPU, float64).

    Parameters
    ----------
    spec : SNNSpec
        From :func:`lprnn_brian.convert.to_snn_spec`; its mode picks the declaration's variant (``'loihi'``: 24-bit
        clipping and truncation, spikes identical to Brian2's; ``'float'``: see the module docstring).

    Weights are held transposed, (n_pre, n_post) float64, zeros included; time constants, biases and kicks as
    float64 tensors of the shape the spec gives them (per layer, or per neuron). torch's thread count is the
    process's (``torch.set_num_threads``; the benchmark sets it).
    """

    def __init__(self, spec: SNNSpec):
        import torch

        self.spec = spec
        self.blocks, self.threshold = torch_blocks(spec.mode)
        f64 = dict(dtype=torch.float64)
        self.env = []  # per layer: parameters and the declaration's parameter-only sub-expressions
        self.weights = []  # per layer: (feed-forward Wᵀ or None, recurrent Uᵀ or None)
        for k, L in enumerate(spec.layers):
            params = {"tau_I": torch.as_tensor(np.asarray(L.tau_I, np.float64)),
                      "tau_U": torch.as_tensor(float(L.tau_U), **f64),
                      "tau_V": torch.as_tensor(np.asarray(L.tau_V, np.float64)),
                      "tau_S": torch.as_tensor(float(L.tau_S), **f64),
                      "b_tilde": torch.as_tensor(np.asarray(L.b_tilde, np.float64)),
                      "kick": torch.as_tensor(float(L.kick), **f64),
                      "vth_mant": float(L.vth_mant)}
            env = dict(params)
            for a in [self.threshold, *(a for block in self.blocks.values() for a in block.values())]:
                env.update({n: eval(code, a.namespace, params) for n, code in a.constants.items()})  # noqa: S307
            self.env.append(env)
            ff = torch.as_tensor(np.ascontiguousarray(np.asarray(L.W_snn, np.float64).T)) if k > 0 else None
            rec = (torch.as_tensor(np.ascontiguousarray(np.asarray(L.U_snn, np.float64).T))
                   if L.U_snn is not None else None)
            self.weights.append((ff, rec))

    def run(self, drive: np.ndarray) -> PeerRun:
        """Simulate a batch: ``drive`` (batch, n_steps, n0) or (n_steps, n0), the layer-0 drive X of every sample
        (:func:`lprnn_brian.convert.layer0_drive`, integer units per step). Returns its :class:`PeerRun`."""
        import torch

        spec = self.spec
        drive = np.asarray(drive, dtype=np.float64)
        given = drive.shape
        if drive.ndim == 2:
            drive = drive[None]
        n0, T = spec.layers[0].n, spec.n_steps
        if drive.ndim != 3 or drive.shape[1:] != (T, n0) or drive.shape[0] == 0:
            raise UserInputError(f"drive must be (samples, {T} steps, {n0} units) or ({T}, {n0}), with at least one "
                                 f"sample (lprnn_brian.convert.layer0_drive per sample); got shape {given}")
        B = drive.shape[0]
        X = torch.from_numpy(drive)
        first = readout_start(T, spec.readout_window)
        clip, trunc, inp, update = (self.blocks[b] for b in ("clip", "truncate", "input", "update"))
        target, own, reset = (self.blocks[b] for b in ("on_spike_target", "on_spike_self", "reset"))
        with torch.inference_mode():
            st = [{x: torch.zeros((B, L.n), dtype=torch.float64) for x in STATES} for L in spec.layers]
            fb_sum = torch.zeros((B, spec.layers[-1].n), dtype=torch.float64)
            spikes = [torch.zeros((B, T, L.n), dtype=torch.bool) for L in spec.layers]
            for t in range(T):
                for s in st:  # start: the conditioning of every layer, then layer 0's input
                    s.update({x: a(s) for x, a in clip.items()})
                    s.update({x: a(s) for x, a in trunc.items()})
                values = {**st[0], **self.env[0], "X": X[:, t]}
                st[0].update({x: a(values) for x, a in inp.items()})
                if t >= first:  # the record slot: the read-out's window sum
                    fb_sum += st[-1]["i_fb"]
                fired = []
                for s, env in zip(st, self.env):  # groups, then thresholds
                    values = {**s, **env}
                    s.update({x: a(values) for x, a in update.items()})
                    fired.append(self.threshold({**s, **env}))
                for k, s in enumerate(st):  # synapses: feed-forward, then recurrent
                    for W, pre in zip(self.weights[k], (k - 1, k)):
                        if W is not None:
                            values = {**s, "w": fired[pre].to(torch.float64) @ W}
                            s.update({x: a(values) for x, a in target.items()})
                for k, (s, env) in enumerate(zip(st, self.env)):  # resets: own feedback, then v, where fired
                    for block in (own, reset):
                        values = {**s, **env}
                        s.update({x: torch.where(fired[k], a(values), s[x]) for x, a in block.items()})
                    spikes[k][:, t] = fired[k]
        return PeerRun([s.numpy() for s in spikes], fb_sum.numpy())
