"""The comparator's strictness (s = [v > θ], not ≥) and the first steps from zero state, numerically, on the Brian2
runtime (numpy), cpp_standalone and the Loihi emulator, in both modes.

A hand-made two-layer spec (not from the conversion: every number is chosen so that the sequence is exact):
layer 0, three neurons, no input (X = 0), τ_I = 2, τ_U = 4, τ_V = 1, τ_S = 2, kick K = 32, θ = 64 (vth_mant 1),
biases b̃ = (0, 64, 65); layer 1, one neuron, θ = 0, b̃ = 0, fed by neuron 0 of layer 0 (which never spikes).

Derivation, from the update rules of docs/method.md#state-and-update and the SCHEDULE of
lprnn_brian/equations/sigma_delta.py (per step n: clip/floor, truncate (loihi), input, record, then
i_ip ← ½ i_ip + i_in + b̃, i_in ← ¾ i_in, v ← 0·v + i_ip + i_fb, i_fb ← ½ i_fb, all at pre-step values;
spike iff v > θ; reset v ← 0, i_fb −= K). Recorded (i_ip, v, i_fb) at the start of step n, i_in = 0 throughout:

neuron 1 (b̃ = 64): n=0 (0, 0, 0) → update v = 0, no spike; n=1 (64, 0, 0) → v = 64 = θ: NO spike (≥ would);
n=2 (96, 64, 0) → v = 96: spike, i_fb = −32; n=3 (112, 0, −32) → v = 80: spike, i_fb = −16 − 32 = −48;
n=4 (120, 0, −48) → v = 72: spike, i_fb = −56; n=5 (124, 0, −56) → v = 68: spike, i_fb = −60;
n=6 (126, 0, −60) → v = 66: spike, i_fb = −62; n=7 (127, 0, −62) → v = 65: spike, i_fb = −63;
i_ip after step 7 is ½·127 + 64 = 127.5: float keeps it, loihi truncates it to 127 at the start of step 8:
n=8 float (127.5, 0, −63) → v = 64.5: spike, i_fb = −31.5 − 32 = −63.5;
n=8 loihi (127, 0, −63) → v = 64 = θ: NO spike, i_fb = −31.5, then truncated toward zero: −31;
n=9 float (127.75, 0, −63.5) → v = 64.25: spike; loihi (127, 64, −31) → v = 0·64 + 127 − 31 = 96: spike.
So spikes at steps 2…9 (float) and 2…7, 9 (loihi).
neuron 2 (b̃ = 65): n=1 → v = 65 > θ: first spike at step 1.  neuron 0 (b̃ = 0): all zero, never spikes.
layer 1 (θ = 0, nothing drives it): v = 0 = θ at every step: never spikes (≥ would spike every step).
"""
from __future__ import annotations

import numpy as np
import pytest

from lprnn_brian.convert import LayerParams, SNNSpec
from lprnn_brian.targets import Runner

N = 10
RECORD = ("i_ip", "i_in", "v", "i_fb")
#: neuron 1's recorded (i_ip, v, i_fb) for n = 0…9, by hand (module docstring)
HAND = {
    "float": [(0, 0, 0), (64, 0, 0), (96, 64, 0), (112, 0, -32), (120, 0, -48), (124, 0, -56), (126, 0, -60),
              (127, 0, -62), (127.5, 0, -63), (127.75, 0, -63.5)],
    "loihi": [(0, 0, 0), (64, 0, 0), (96, 64, 0), (112, 0, -32), (120, 0, -48), (124, 0, -56), (126, 0, -60),
              (127, 0, -62), (127, 0, -63), (127, 64, -31)],
}
HAND_SPIKES = {"float": [2, 3, 4, 5, 6, 7, 8, 9], "loihi": [2, 3, 4, 5, 6, 7, 9]}


def _layer(name, kind, n, b, theta, W):
    return LayerParams(name=name, kind=kind, n=n, tau_I=2.0, tau_U=4.0, tau_V=1.0, tau_S=2.0, factor=1.0,
                       Iin_snn=64.0, kick=32.0, W_snn=np.asarray(W, float), b_tilde=np.asarray(b, float),
                       W_ann=np.zeros((n, 1)), threshold=float(theta))


def hand_spec(mode: str) -> SNNSpec:
    dt = 1e-3
    layers = [_layer("lpff_1", "lpff", 3, [0.0, 64.0, 65.0], 64.0, np.zeros((3, 1))),
              _layer("output", "dense", 1, [0.0], 0.0, [[1.0, 0.0, 0.0]])]
    return SNNSpec(layers=layers, mode=mode, dt=dt, frame_dt=dt, n_frames=N, n_steps=N, Iin=1.0,
                   readout_window="all")


def _check(mode, spikes0, spikes1, states0):
    """spikes0/1: per layer, the spike steps of each neuron; states0: layer 0's recorded states (N, 3)."""
    assert spikes0[0] == [] and spikes1[0] == [], "v = θ exactly must not spike (comparator is v > θ)"
    assert spikes0[1] == HAND_SPIKES[mode]
    assert spikes0[2][:1] == [1]
    if states0 is not None:
        got = np.stack([states0["i_ip"][:, 1], states0["v"][:, 1], states0["i_fb"][:, 1]], axis=1)
        np.testing.assert_array_equal(got, np.array(HAND[mode], float))
        np.testing.assert_array_equal(states0["i_in"], 0.0)
        for v in ("i_ip", "v", "i_fb"):
            np.testing.assert_array_equal(states0[v][:, 0], 0.0)


def _by_neuron(i, step, n):
    return [sorted(int(s) for s, j in zip(step, i) if j == k) for k in range(n)]


#: (mode, target): float mode on cpp_standalone (a build of its own, ~8 s) is ``slow``
THRESHOLD_CASES = [pytest.param(mode, target, marks=[pytest.mark.slow] if (mode, target) == ("float", "cpp_standalone")
                                else []) for target in ("numpy", "cpp_standalone") for mode in ("float", "loihi")]


@pytest.mark.parametrize("mode, target", THRESHOLD_CASES)
def test_brian2_targets_follow_the_hand_sequence(mode, target, build_root):
    spec = hand_spec(mode)
    with Runner(spec, target, build_root=build_root, record=RECORD) as r:
        raw = r.run(np.zeros((N, 3)))
    s0 = _by_neuron(raw.spike_i[0], raw.spike_step[0], 3)
    s1 = _by_neuron(raw.spike_i[1], raw.spike_step[1], 1)
    _check(mode, s0, s1, raw.states[0])


def test_emulator_follows_the_hand_sequence():
    """The emulator's Brian2 semantics gives the hand sequence of the loihi mode; under Lava's semantics (another
    order within a step) the strictness is pinned by the neurons that sit at v = θ: layer 1 and neuron 0 of
    layer 0 never spike, neuron 2 (v = 65 > 64 on its first update) does."""
    from lprnn_brian.loihi.emulator import emulate
    from lprnn_brian.loihi.params import to_loihi

    net = to_loihi(hand_spec("loihi"))
    run = emulate(net, np.zeros((N, 3)), semantics="brian2", record="steps")
    s0 = [list(np.nonzero(run.spikes[0][0][:, j])[0]) for j in range(3)]
    s1 = [list(np.nonzero(run.spikes[1][0][:, 0])[0])]
    _check("loihi", s0, s1, None)
    lava = emulate(net, np.zeros((N, 3)), semantics="loihi", record="steps")
    assert not lava.spikes[1][0].any() and not lava.spikes[0][0][:, 0].any()
    assert lava.spikes[0][0][:, 2].any()
