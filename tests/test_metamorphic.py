"""Metamorphic relations: symmetries the equations imply, checked on random networks.

No expected number comes from the code under test: each test runs the package twice, on a network and on a
transformed copy whose answer the equations fix in terms of the first run.

- **Hidden units are interchangeable.** Every ΣΔ neuron integrates its own inputs; nothing in the update, the
  threshold or the synapses refers to a neuron's index (docs/method.md#state-and-update, docs/method.md#synapses).
  Reordering the units of a hidden layer (rows of W_k, b_k, U_k and the retention, the columns of U_k and W_k+1)
  reorders that layer's spikes and states the same way and changes nothing else.
- **Input channels are interchangeable**: reordering the columns of W_0 and the input features together changes
  nothing at all.
- **A unit that receives nothing and sends nothing is inert**: appending one (zero weights in and out, zero bias)
  leaves every other unit's spikes and states unchanged, and it never fires.

In Loihi mode these hold *exactly*: weights are integers times a power of two and the inputs below lie on a dyadic
grid, so every sum is exact whatever its order (float mode sums the same numbers in another order when units are
reordered, and a last-bit difference may move a spike: it is not checked here). The relations are checked on the
integer emulator in both of its semantics (Lava's, and the Brian2 mode's, which equals the Brian2 network bit for bit:
tests/test_loihi.py), over many random networks (hypothesis), and once on the Brian2 network itself (numpy target).
"""
from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import random_model
from lprnn_brian.ann import forward
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.loihi.emulator import emulate
from lprnn_brian.loihi.params import REGISTERS, to_loihi
from lprnn_brian.simulation import simulate

EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _permuted(model, perms: dict[int, np.ndarray], inputs: np.ndarray | None = None):
    """A copy of ``model`` with hidden layer k's units in the order ``perms[k]`` (new unit i is old unit perms[k][i])
    and, if given, the input channels in the order ``inputs``."""
    m = copy.deepcopy(model)
    if inputs is not None:
        m.layers[0].W = m.layers[0].W[:, inputs]
    for k, p in perms.items():
        L, nxt = m.layers[k], m.layers[k + 1]
        L.W, L.b = L.W[p], L.b[p]
        if L.U is not None:
            L.U = L.U[np.ix_(p, p)]
        if isinstance(L.retention, np.ndarray):
            L.retention = L.retention[p]
        nxt.W = nxt.W[:, p]
    return m


def _with_inert_unit(model, k: int):
    """A copy of ``model`` with one more unit at the end of hidden layer k: zero weights in, out and recurrent, zero
    bias."""
    m = copy.deepcopy(model)
    L, nxt = m.layers[k], m.layers[k + 1]
    n_in = L.W.shape[1]
    L.W = np.vstack([L.W, np.zeros((1, n_in), np.float32)])
    L.b = np.append(L.b, np.float32(0))
    if L.U is not None:
        U = np.zeros((L.U.shape[0] + 1,) * 2, np.float32)
        U[:-1, :-1] = L.U
        L.U = U
    if isinstance(L.retention, np.ndarray):
        L.retention = np.append(L.retention, L.retention[0])
    nxt.W = np.hstack([nxt.W, np.zeros((nxt.W.shape[0], 1), np.float32)])
    return m


def _dyadic_inputs(rng: np.random.Generator, model, n: int = 2) -> np.ndarray:
    """Inputs on the 1/16 grid in [0, 1): products with the 1/8-grid weights and their sums are exact in float64."""
    return rng.integers(0, 16, (n, model.n_frames, model.layers[0].W.shape[1])) / 16.0


def _convertible(model) -> None:
    """Skip (hypothesis ``assume``) the random networks Loihi mode cannot take: with Δt_S fixed by layer 0, a later
    layer whose smallest weight is finer may find no feedback weight that makes its weights integers below 2^23
    (:func:`lprnn_brian.convert.find_params` says so; e.g. layer 0's smallest |w| 1/4 and layer 1's 1/8)."""
    try:
        to_snn_spec(model, mode="loihi")
    except UserInputError as exc:
        assume("no SNN step and factor" not in str(exc))
        raise


def _run(model, x, semantics: str):
    spec = to_snn_spec(model, mode="loihi")
    net = to_loihi(spec)
    drive = np.stack([layer0_drive(xi, spec) for xi in x])
    return spec, emulate(net, drive, semantics=semantics, record="steps")


def _draw(net):
    """The random generator, layer sizes and convertible model of one drawn network."""
    seed, sizes = net
    rng = np.random.default_rng(seed)
    model = random_model(rng, sizes, n_frames=8)
    _convertible(model)
    return rng, sizes, model


def _assert_same_run(b, a, n_layers: int, pick) -> None:
    """Spikes and every register of run ``b`` equal run ``a``'s, layer k's units of ``b`` taken by ``pick(k)``."""
    for k in range(n_layers):
        np.testing.assert_array_equal(b.spikes[k][..., pick(k)], a.spikes[k], err_msg=f"spikes of layer {k}")
        for r in REGISTERS:
            np.testing.assert_array_equal(b.states[k][r][..., pick(k)], a.states[k][r], err_msg=f"{r} of layer {k}")


networks = st.builds(lambda seed, n_in, n_ff, n_rec, n_out: (seed, (n_in, n_ff, n_rec, n_out)),
                     st.integers(0, 2**31 - 1), st.integers(2, 5), st.integers(2, 7), st.integers(2, 7),
                     st.integers(2, 4))


@EXAMPLES
@given(net=networks, semantics=st.sampled_from(["loihi", "brian2"]))
def test_reordering_hidden_units_reorders_their_spikes_and_nothing_else(net, semantics):
    rng, sizes, model = _draw(net)
    perms = {0: rng.permutation(sizes[1]), 1: rng.permutation(sizes[2])}
    x = _dyadic_inputs(rng, model)
    spec, a = _run(model, x, semantics)
    assume(all(s.any() for s in a.spikes[:-1]))  # hidden layers that fire: reordering them is not trivially true
    spec_p, b = _run(_permuted(model, perms), x, semantics)
    assert spec_p.n_steps == spec.n_steps and spec_p.dt == spec.dt
    # new unit i is old unit perms[k][i]: old unit j is new unit argsort(perms[k])[j]
    _assert_same_run(b, a, len(model.layers), lambda k: np.argsort(perms[k]) if k in perms else slice(None))


@EXAMPLES
@given(net=networks, semantics=st.sampled_from(["loihi", "brian2"]))
def test_reordering_input_channels_with_the_inputs_changes_nothing(net, semantics):
    rng, sizes, model = _draw(net)
    q = rng.permutation(sizes[0])
    x = _dyadic_inputs(rng, model)
    _, a = _run(model, x, semantics)
    _, b = _run(_permuted(model, {}, inputs=q), x[..., q], semantics)
    _assert_same_run(b, a, len(model.layers), lambda k: slice(None))


@EXAMPLES
@given(net=networks, layer=st.sampled_from([0, 1]), semantics=st.sampled_from(["loihi", "brian2"]))
def test_an_inert_unit_never_fires_and_changes_nothing(net, layer, semantics):
    rng, _, model = _draw(net)
    x = _dyadic_inputs(rng, model)
    spec, a = _run(model, x, semantics)
    spec_i, b = _run(_with_inert_unit(model, layer), x, semantics)
    assert spec_i.dt == spec.dt and [L.factor for L in spec_i.layers] == [L.factor for L in spec.layers]
    _assert_same_run(b, a, len(model.layers), lambda k: slice(None, -1) if k == layer else slice(None))
    assert not b.spikes[layer][..., -1].any()


def test_the_ann_is_equivariant_under_reordering_hidden_units():
    """The rate network obeys the same relation, to float32 rounding: the recurrent and next layers' sums run in
    another order (measured differences 2e-9, 2e-7 relative)."""
    rng = np.random.default_rng(3)
    model = random_model(rng, (4, 6, 5, 3), n_frames=8)
    perms = {0: rng.permutation(6), 1: rng.permutation(5)}
    x = _dyadic_inputs(rng, model, 3)
    a, b = forward(model, x), forward(_permuted(model, perms), x)
    for k, p in perms.items():
        np.testing.assert_allclose(b.states[k], a.states[k][..., p], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b.states[-1], a.states[-1], rtol=1e-6, atol=1e-6)


def test_the_brian2_network_is_equivariant_under_reordering_hidden_units(numpy_runtime):
    """The relation on the Brian2 network itself (numpy target, Loihi mode): identical spikes, permuted."""
    rng = np.random.default_rng(7)
    model = random_model(rng, (4, 6, 5, 3), n_frames=8)
    perms = {0: rng.permutation(6), 1: rng.permutation(5)}
    x = _dyadic_inputs(rng, model, 1)
    runs = []
    for m in (model, _permuted(model, perms)):
        spec = to_snn_spec(m, mode="loihi")
        raw = simulate(spec, x, target="numpy", keep_raw=True).raw[0]
        dense = []
        for k, L in enumerate(m.layers):
            s = np.zeros((spec.n_steps, L.W.shape[0]), bool)
            s[raw.spike_step[k], raw.spike_i[k]] = True
            dense.append(s)
        runs.append(dense)
    (a, b) = runs
    assert sum(s.sum() for s in a) > 0
    for k in range(len(model.layers)):
        p = perms.get(k, np.arange(model.layers[k].W.shape[0]))
        np.testing.assert_array_equal(b[k], a[k][:, p], err_msg=f"spikes of layer {k}")
