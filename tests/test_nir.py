"""NIR export and import (lprnn_brian.export.nir): lossless round trips, the node encoding re-derived, refused
tampering, and the exported file simulated by a second NIR consumer (norse 1.1.0 through nirtorch).

Oracles: the spec itself (round trips must be bit for bit), the encoding's formulas typed out here from the spec
fields (module docstring), the same nodes computed from the ANN model in float mode (independent of the spec's
arrays), and our own Brian2 simulation (numpy target) for norse.

norse 1.1.0 (the newest on PyPI) maps LIF, Linear, Affine, IF, CubaLIF (and convolutions) but no ``nir.LI``; its
main branch maps LI to its own ``LIBoxCell``, which the tests supply in the same way. norse treats a spike as a
one-step pulse of height 1 (area dt), NIR as a unit-area Dirac impulse: the spike-driven weights are divided by dt
after loading, the conversion the NIR authors' spike-representation note asks of discrete-time back ends.
"""
from __future__ import annotations

import dataclasses
import json
import os
import warnings

import nir  # the test extra installs nir==1.0.8
import numpy as np
import pytest

from conftest import per_unit_model, random_model
from lprnn_brian.ann import Layer, LpRNNModel
from lprnn_brian.convert import LayerParams, layer0_drive, resample_input, to_snn_spec
from lprnn_brian.errors import UserInputError
from lprnn_brian.export.nir import FORMAT, from_nir, read_nir, to_nir, write_nir


SPEC_SCALARS = ("mode", "dt", "frame_dt", "n_frames", "n_steps", "Iin", "readout_window", "resample", "class_names",
                "d")


def _per_unit_model() -> LpRNNModel:
    """lprnn 3 → 6 units with one retention per unit (the 2019 cell) → dense 2; weights on the 1/8 grid."""
    return per_unit_model(np.random.default_rng(7), [0.5, 0.6, 0.7, 0.8, 0.9, 0.95], class_names=["yes", "no"])


def _positive_model(seed: int) -> LpRNNModel:
    """lpff 6 → 8, lprnn 8, dense 3 with non-negative weights and biases: with inputs ≥ 0 no drive is ever
    negative, so the spec's floor i_ip ≥ 0 (which NIR cannot express) never acts."""
    rng = np.random.default_rng(seed)

    def codes(shape, top=4):
        return (rng.integers(0, top, size=shape) / 8).astype(np.float32)

    return LpRNNModel([Layer("lpff_1", "lpff", codes((8, 6)), codes(8), retention=0.8),
                       Layer("lprnn_1", "lprnn", codes((8, 8)), codes(8), U=codes((8, 8), top=2), retention=0.8),
                       Layer("output", "dense", codes((3, 8)), codes(3))], n_frames=40, frame_dt=1 / 20)


def assert_identical(a, b) -> None:
    """Every scalar (same type, same value; floats bit for bit through their JSON repr) and every array (dtype,
    shape, bytes) of two specs are equal, and so are their digests."""
    assert json.dumps(a.summary(), sort_keys=True) == json.dumps(b.summary(), sort_keys=True)
    for f in SPEC_SCALARS:
        va, vb = getattr(a, f), getattr(b, f)
        assert type(va) is type(vb) and va == vb, f
    assert len(a.layers) == len(b.layers)
    for La, Lb in zip(a.layers, b.layers):
        for f in dataclasses.fields(LayerParams):
            va, vb = getattr(La, f.name), getattr(Lb, f.name)
            if isinstance(va, np.ndarray):
                assert isinstance(vb, np.ndarray), (La.name, f.name)
                assert (va.dtype, va.shape) == (vb.dtype, vb.shape), (La.name, f.name)
                assert va.tobytes() == vb.tobytes(), (La.name, f.name)
            else:
                assert type(va) is type(vb) and va == vb, (La.name, f.name)
    assert a.digest() == b.digest()


# --- round trips ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["float", "loihi"])
@pytest.mark.parametrize("which", ["random_1", "random_2", "per_unit"])
def test_file_round_trip_is_lossless(tmp_path, which, mode):
    model = _per_unit_model() if which == "per_unit" else random_model(np.random.default_rng(int(which[-1])))
    spec = to_snn_spec(model, mode=mode)
    path = write_nir(spec, tmp_path / "net.nir")
    assert_identical(read_nir(path), spec)
    assert_identical(from_nir(to_nir(spec)), spec)  # in memory, without HDF5


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_shd_reference_round_trip_is_lossless(tmp_path, shd_model, mode):
    spec = to_snn_spec(shd_model, mode=mode)
    assert_identical(read_nir(write_nir(spec, tmp_path / "shd.nir")), spec)


def test_metadata_names_the_format_and_keeps_the_spec():
    spec = to_snn_spec(random_model(np.random.default_rng(3)), mode="loihi")
    meta = to_nir(spec).metadata
    assert meta["format"] == FORMAT == "lprnn_brian.nir" and meta["format_version"] == 2
    assert meta["dt"] == spec.dt and json.loads(meta["spec"]) == json.loads(json.dumps(spec.summary()))
    np.testing.assert_array_equal(meta["arrays"]["1"]["U_snn"], spec.layers[1].U_snn)


# --- the encoding ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["float", "loihi"])
@pytest.mark.parametrize("which", ["random", "per_unit"])
def test_nodes_follow_the_documented_encoding(which, mode):
    """The module docstring's table typed out from the spec fields (Δ = dt; τ in seconds; every r = 1):
    syn LI τ_U·Δ; ip LI τ_I·Δ, v_leak = τ_I·b̃; fb LI τ_S·Δ; soma LIF τ = Δ, threshold θ, reset 0;
    w_ff/w_rec = 64·W·τ_I (rows)·τ_U·Δ; w_self = diag(−kick·τ_S·Δ); w_x = f0·W_ann·τ_I/τ_U (per-unit:
    f0·W_ann). Float64, same operations up to order: 1e-12 relative."""
    model = _per_unit_model() if which == "per_unit" else random_model(np.random.default_rng(5))
    spec = to_snn_spec(model, mode=mode)
    g = to_nir(spec)
    dt = spec.dt
    close = dict(rtol=1e-12, atol=0)
    edges = {("input", f"{spec.layers[0].name}_w_x"), (f"{spec.layers[0].name}_w_x", f"{spec.layers[0].name}_ip"),
             (f"{spec.layers[-1].name}_soma", "output")}
    for k, L in enumerate(spec.layers):
        tau_I = np.broadcast_to(np.asarray(L.tau_I, dtype=float), (L.n,))
        node = lambda s: g.nodes[f"{L.name}_{s}"]  # noqa: E731
        ip, fb, soma = node("ip"), node("fb"), node("soma")
        assert isinstance(ip, nir.LI) and isinstance(fb, nir.LI) and isinstance(soma, nir.LIF)
        np.testing.assert_allclose(ip.tau, tau_I * dt, **close)
        np.testing.assert_allclose(ip.v_leak, tau_I * L.b_tilde, **close)
        np.testing.assert_allclose(fb.tau, np.full(L.n, L.tau_S * dt), **close)
        assert np.all(fb.v_leak == 0)
        np.testing.assert_allclose(soma.tau, np.full(L.n, dt), **close)
        assert np.all(soma.v_threshold == L.threshold) and np.all(soma.v_reset == 0) and np.all(soma.v_leak == 0)
        for n in (ip, fb, soma):
            assert np.all(n.r == 1)
        np.testing.assert_allclose(node("w_self").weight, np.diag(np.full(L.n, -L.kick * L.tau_S * dt)), **close)
        edges |= {(f"{L.name}_ip", f"{L.name}_soma"), (f"{L.name}_fb", f"{L.name}_soma"),
                  (f"{L.name}_soma", f"{L.name}_w_self"), (f"{L.name}_w_self", f"{L.name}_fb")}
        sources = ([("w_ff", L.W_snn, f"{spec.layers[k - 1].name}_soma")] if k else []) + \
                  ([("w_rec", L.U_snn, f"{L.name}_soma")] if L.U_snn is not None else [])
        assert (f"{L.name}_syn" in g.nodes) == bool(sources)
        for tag, W, src in sources:
            np.testing.assert_allclose(node(tag).weight, 64 * W * tau_I[:, None] * L.tau_U * dt, **close)
            edges |= {(src, f"{L.name}_{tag}"), (f"{L.name}_{tag}", f"{L.name}_syn")}
        if sources:
            np.testing.assert_allclose(node("syn").tau, np.full(L.n, L.tau_U * dt), **close)
            edges.add((f"{L.name}_syn", f"{L.name}_ip"))
    L0 = spec.layers[0]
    scale = 1.0 if L0.per_unit else L0.tau_I / L0.tau_U
    np.testing.assert_allclose(g.nodes[f"{L0.name}_w_x"].weight, L0.factor * L0.W_ann * scale, **close)
    assert set(g.edges) == edges
    assert list(g.nodes["input"].input_type["input"]) == [L0.W_ann.shape[1]]
    assert list(g.nodes["output"].output_type["output"]) == [spec.layers[-1].n]


def test_float_nodes_equal_the_ann_parameters():
    """Independent of the spec's arrays, from the quantised ANN (docs/method.md#mapping-formulas, float mode): a spike
    of layer k−1 adds W·Iin·f·Δ to the syn state's Dirac weight (64·W_snn·τ_I·τ_U·Δ = W·Iin_snn·Δ), an own spike
    −(1 − 1/τ_S)·Iin·f·Δ (−kick·τ_S·Δ with the default threshold policy's kick), the soma's threshold is half a
    nominal kick, Iin·f/(2τ_S), the bias sets v_leak = f·b (τ_I·b̃), lp filters have τ = −Δt_A/ln 0.8 s, the
    read-out's ip τ = Δ (τ_I = 1) and the input projection is f0·W0. Float64 rounding of the mapping: 1e-12
    relative."""
    model = random_model(np.random.default_rng(9))
    spec = to_snn_spec(model, mode="float")
    g = to_nir(spec)
    q = model.quantised()
    tau = -model.frame_dt / np.log(0.8)
    close = dict(rtol=1e-12, atol=0)
    for k, (A, L) in enumerate(zip(q.layers, spec.layers)):
        Iin_f = float(q.Iin) * L.factor
        if k:
            np.testing.assert_allclose(g.nodes[f"{L.name}_w_ff"].weight, A.W.astype(float) * Iin_f * spec.dt, **close)
        if A.U is not None and A.kind == "lprnn":
            np.testing.assert_allclose(g.nodes[f"{L.name}_w_rec"].weight, A.U.astype(float) * Iin_f * spec.dt,
                                       **close)
        tau_S = L.tau_S
        np.testing.assert_allclose(np.diag(g.nodes[f"{L.name}_w_self"].weight), -(1 - 1 / tau_S) * Iin_f * spec.dt,
                                   **close)
        np.testing.assert_allclose(g.nodes[f"{L.name}_soma"].v_threshold, Iin_f / (2 * tau_S), **close)
        np.testing.assert_allclose(g.nodes[f"{L.name}_ip"].v_leak, L.factor * A.b.astype(float), **close)
        np.testing.assert_allclose(g.nodes[f"{L.name}_fb"].tau, tau, **close)
        want_ip_tau = spec.dt if A.kind == "dense" else tau
        np.testing.assert_allclose(g.nodes[f"{L.name}_ip"].tau, want_ip_tau, **close)
    np.testing.assert_allclose(g.nodes["lpff_1_w_x"].weight, spec.layers[0].factor * q.layers[0].W.astype(float),
                               **close)


def test_bundled_loihi_export_has_the_published_registers():
    """Independent of the mapping code: the numbers docs/method.md states for the shipped models (τ_S = 64,
    I_in f = 2^21, Loihi mode, policy unbiased) — threshold 16384 = 256·2^6, kick 32256 = 252·2^(6+1)
    (#the-comparators-threshold), Δt_S = 0.5601775 ms and f = 349525.33 (#reproduced-numbers, 2^21/6) — appear in
    the graph as soma.v_threshold = 16384, w_self = −32256·64·Δt_S on the diagonal, fb τ = 64·Δt_S, hidden ip τ =
    −Δt_A/ln 0.8 = 35.85 ms, w_x = f·W0 for the lpff layer (float64 rounding: 1e-12), and ip v_leak = τ_I·b̃ = f·b
    up to the bias register's rounding (b̃ = f·b/τ_I rounded to an integer mantissa at exponent 0 for these models:
    at most τ_I/2 = 32). The digits model's read-out carries logits up to 12 = 2·Iin (#the-read-outs-range): its
    I_in f is 2^22, so its threshold and kick are twice the hidden layers' (32768 and 64512), at the same τ_S."""
    from lprnn_brian.ann.model import load_model
    from lprnn_brian.bundled import bundled_model_path

    model = load_model(bundled_model_path())
    assert model.readout_range == 12.0
    g = to_nir(to_snn_spec(model, mode="loihi"))
    dt = 0.5601775e-3
    f = 2 ** 21 / 6
    close = dict(rtol=1e-6, atol=0)  # Δt_S is published to 7 digits
    q = model.quantised()
    for A in q.layers:
        n, wide = A.W.shape[0], (2 if A.kind == "dense" else 1)
        assert np.all(g.nodes[f"{A.name}_soma"].v_threshold == 16384 * wide)
        np.testing.assert_allclose(np.diag(g.nodes[f"{A.name}_w_self"].weight), np.full(n, -32256 * wide * 64 * dt),
                                   **close)
        np.testing.assert_allclose(g.nodes[f"{A.name}_fb"].tau, np.full(n, 64 * dt), **close)
        if A.kind != "dense":
            np.testing.assert_allclose(g.nodes[f"{A.name}_ip"].tau, np.full(n, -0.008 / np.log(0.8)), rtol=1e-12)
            np.testing.assert_allclose(g.nodes[f"{A.name}_ip"].v_leak, f * A.b.astype(float), rtol=0, atol=32)
    np.testing.assert_allclose(g.nodes["lpff_1_w_x"].weight, f * q.layers[0].W.astype(float), rtol=1e-12)
    assert abs(f - 349525.33) < 0.01


@pytest.mark.parametrize("which", ["random", "per_unit"])
def test_input_projection_carries_the_layer0_drive(which):
    """w_x·x equals τ_I·X/τ_U with X = convert.layer0_drive (the injection X/τ_U of docs/method.md#per-step-order
    through the ip LI's gain τ_I), per unit also under per-unit retention. 1e-12 relative."""
    model = _per_unit_model() if which == "per_unit" else random_model(np.random.default_rng(11))
    spec = to_snn_spec(model, mode="float")
    L0 = spec.layers[0]
    x = np.random.default_rng(12).normal(size=(spec.n_frames, L0.W_ann.shape[1]))
    got = resample_input(x, spec) @ to_nir(spec).nodes[f"{L0.name}_w_x"].weight.T
    want = np.asarray(L0.tau_I) * layer0_drive(x, spec) / L0.tau_U
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9 * np.abs(want).max())


# --- refusals --------------------------------------------------------------------------------------------------

@pytest.fixture
def written(tmp_path):
    spec = to_snn_spec(random_model(np.random.default_rng(4)), mode="loihi")
    return spec, write_nir(spec, tmp_path / "net.nir")


def test_changed_node_weight_is_refused(written):
    spec, path = written
    g = nir.read(path)
    g.nodes["lprnn_1_w_ff"].weight[2, 3] *= 1.001
    with pytest.raises(UserInputError, match=r"node 'lprnn_1_w_ff' parameter 'weight'.*index \(2, 3\)"):
        from_nir(g)


@pytest.mark.parametrize("node, field", [("lprnn_1_ip", "tau"), ("output_ip", "v_leak"), ("lpff_1_soma", "v_threshold"),
                                         ("output_fb", "tau")])
def test_changed_neuron_parameter_is_refused(written, node, field):
    spec, path = written
    g = nir.read(path)
    getattr(g.nodes[node], field)[0] += 1.0
    with pytest.raises(UserInputError, match=rf"node '{node}' parameter '{field}'"):
        from_nir(g)


def test_removed_edge_or_node_is_refused(written):
    _, path = written
    g = nir.read(path)
    g.edges.remove(("lprnn_1_w_rec", "lprnn_1_syn"))
    with pytest.raises(UserInputError, match=r"edges disagree.*lprnn_1_w_rec"):
        from_nir(g)
    g = nir.read(path)
    del g.nodes["lprnn_1_w_rec"]
    with pytest.raises(UserInputError, match=r"missing \['lprnn_1_w_rec'\]"):
        from_nir(g)


def test_edited_metadata_is_refused(written):
    """A spec edited in the metadata (here one factor) no longer produces the graph's nodes."""
    _, path = written
    g = nir.read(path)
    meta = json.loads(g.metadata["spec"])
    meta["layers"][2]["kick"] *= 2
    g.metadata["spec"] = json.dumps(meta)
    with pytest.raises(UserInputError, match=r"node 'output_w_self' parameter 'weight'"):
        from_nir(g)


@pytest.mark.parametrize("damage", ["drop_array", "drop_spec", "bad_json"])
def test_damaged_metadata_is_refused(written, damage):
    _, path = written
    g = nir.read(path)
    if damage == "drop_array":
        del g.metadata["arrays"]["1"]["W_snn"]
    elif damage == "drop_spec":
        del g.metadata["spec"]
    else:
        g.metadata["spec"] = g.metadata["spec"][:-7]
    with pytest.raises(UserInputError, match="metadata is incomplete or damaged"):
        from_nir(g)


def test_layer_names_that_cannot_name_nodes_are_refused():
    spec = to_snn_spec(random_model(np.random.default_rng(4)), mode="float")
    spec.layers[1].name = "lprnn/1"
    with pytest.raises(UserInputError, match=r"layer names \['lprnn/1'\] cannot name NIR nodes"):
        to_nir(spec)
    spec.layers[1].name = spec.layers[0].name
    with pytest.raises(UserInputError, match="not unique"):
        to_nir(spec)


def test_float32_copy_of_the_graph_is_accepted(written):
    """Another tool may store the parameters in float32 (relative rounding 6e-8 < NODE_RTOL = 1e-6)."""
    spec, path = written
    g = nir.read(path)
    for node in g.nodes.values():
        for f in ("weight", "tau", "v_leak"):
            if hasattr(node, f):
                setattr(node, f, np.asarray(getattr(node, f), np.float32))
    assert_identical(from_nir(g), spec)


def test_graph_without_our_metadata_is_refused(tmp_path):
    g = nir.NIRGraph.from_list(nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)))
    nir.write(tmp_path / "other.nir", g)
    with pytest.raises(UserInputError, match="not written by lprnn_brian"):
        read_nir(tmp_path / "other.nir")


def test_newer_format_version_is_refused(written):
    _, path = written
    g = nir.read(path)
    g.metadata["format_version"] = 3
    with pytest.raises(UserInputError, match="newer lprnn_brian"):
        from_nir(g)


def test_missing_or_corrupt_file_is_refused(tmp_path, written):
    with pytest.raises(UserInputError, match="does not exist"):
        read_nir(tmp_path / "absent.nir")
    (tmp_path / "text.nir").write_text("not an HDF5 file\n")
    with pytest.raises(UserInputError, match="not a readable NIR file"):
        read_nir(tmp_path / "text.nir")
    _, path = written
    cut = tmp_path / "cut.nir"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserInputError, match="not a readable NIR file"):
        read_nir(cut)


def test_overwrite_needs_force_and_leaves_no_temporary_file(written):
    spec, path = written
    before = path.read_bytes()
    other = to_snn_spec(random_model(np.random.default_rng(5)), mode="float")
    with pytest.raises(UserInputError, match="already exists"):
        write_nir(other, path)
    assert path.read_bytes() == before
    write_nir(other, path, force=True)
    assert_identical(read_nir(path), other)
    assert os.listdir(path.parent) == [path.name]


# --- a second consumer: norse ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def norse_api():
    """norse 1.1.0's NIR node mapping, its leaky-integrator cell and nirtorch's graph executor."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # norse 1.1.0 uses torch.jit.script at import
            import nirtorch
            import torch
            from nirtorch.graph_executor import GraphExecutorState
            from norse.torch.functional.leaky_integrator_box import LIBoxParameters, LIBoxState
            from norse.torch.functional.lif_box import LIFBoxFeedForwardState
            from norse.torch.module.leaky_integrator_box import LIBoxCell
            from norse.torch.utils.import_nir import _import_norse_module
    except ImportError as e:
        pytest.fail(f"norse is missing ({e}): pip install -c constraints.txt nirtorch==2.6 && pip install --no-deps "
                    "norse==1.1.0", pytrace=False)
    return dict(nirtorch=nirtorch, torch=torch, State=GraphExecutorState, LIBoxParameters=LIBoxParameters,
                LIBoxState=LIBoxState, LIFState=LIFBoxFeedForwardState, LIBoxCell=LIBoxCell,
                node_map=_import_norse_module)


def _norse_module(api, graph, dt):
    """norse's own module for each node, its LIBoxCell for LI (as norse's main branch does), spike-driven
    weights ÷ dt (NIR's unit-area spike vs norse's one-step pulse of area dt)."""
    torch = api["torch"]

    def node_map(node):
        module = api["node_map"](node, dt=dt)
        if module is None and isinstance(node, nir.LI):
            p = api["LIBoxParameters"](tau_mem_inv=1 / torch.as_tensor(node.tau, dtype=torch.float32),
                                       v_leak=torch.as_tensor(node.v_leak, dtype=torch.float32))
            module = api["LIBoxCell"](p, dt=dt)
        return module

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # nirtorch.load, the loader norse 1.1.0 uses
        module = api["nirtorch"].load(graph, node_map)
    for src, dst in graph.edges:
        if isinstance(graph.nodes[src], nir.LIF):
            if isinstance(graph.nodes[dst], nir.Linear):
                module.get_submodule(dst).weight.data /= dt
    return module


def _norse_run(api, path, spec, x):
    """Run the written file in norse at dt = spec.dt from zero states (norse would start each LI at v_leak);
    the graph's output (spikes, (steps, n_out)) and every node's per-step output ((steps, n) each)."""
    torch = api["torch"]
    graph = nir.read(path)
    module = _norse_module(api, graph, spec.dt)
    state = api["State"]()
    for name, node in graph.nodes.items():
        if isinstance(node, nir.LI):
            state.state[name] = (api["LIBoxState"](v=torch.zeros(1, node.tau.size)),)
        elif isinstance(node, nir.LIF):
            state.state[name] = (api["LIFState"](v=torch.zeros(1, node.tau.size)),)
    xs = torch.as_tensor(resample_input(np.asarray(x, dtype=np.float64), spec), dtype=torch.float32)
    out, trace = [], {name: [] for name in graph.nodes}
    with torch.no_grad():
        for n in range(xs.shape[0]):
            y, state = module(xs[n][None], state)
            out.append(y[0].numpy().copy())
            for name in graph.nodes:
                if name in state.cache:
                    trace[name].append(state.cache[name][0].numpy().copy())
    return np.array(out), {k: np.array(v) for k, v in trace.items() if v}


def _free_ip0(spec, x):
    """Layer 0's i_ip as the graph defines it (no floor): i_n = α_I·i_{n−1} + b̃ + X_n/τ_U from i_{−1} = 0, the
    forward-Euler step of its LI at dt = Δ."""
    L0 = spec.layers[0]
    X = layer0_drive(np.asarray(x, dtype=np.float64), spec) / L0.tau_U
    alpha = 1 - 1 / np.asarray(L0.tau_I)
    out, i = np.zeros_like(X), np.zeros(L0.n)
    for n in range(X.shape[0]):
        i = alpha * i + L0.b_tilde + X[n]
        out[n] = i
    return out


def test_norse_maps_every_node_but_the_leaky_integrators(norse_api):
    """Exactly the LI nodes (syn, ip, fb) have no norse 1.1.0 mapping; LIF and Linear nodes are norse's own."""
    g = to_nir(to_snn_spec(random_model(np.random.default_rng(1)), mode="float"))
    unmapped = {name for name, node in g.nodes.items() if not isinstance(node, (nir.Input, nir.Output))
                and norse_api["node_map"](node, dt=1e-3) is None}
    assert unmapped == {name for name, node in g.nodes.items() if isinstance(node, nir.LI)}


def test_norse_simulates_the_export_like_our_network(tmp_path, norse_api):
    """Float mode, non-negative network and inputs (the floor i_ip ≥ 0 never acts), 40 frames = 571 steps.

    * Layer 0's i_ip in norse is our recorded i_ip plus b̃·α_I^n (norse adds the bias already in step 0, spec
      docs/method.md#per-step-order from step 1 on; no spike is involved), to float32 precision: 1e-5 of its largest
      value (norse runs in float32: 6e-8 per operation, accumulated over the ~τ_I = 64 steps the filter remembers).
      Measured 3e-7.
    * Every layer's decode −i_fb/f, time-averaged over the second half, within half a kick Iin/(2τ_S) = 0.047 ANN
      units of ours. Both ΣΔ loops track the same drive within a kick
      (docs/method.md#why-the-spikes-reproduce-the-rate-network); norse passes a spike along syn → ip → soma and on to
      the next layer within the step where docs/method.md#per-step-order takes a step per stage. During the start-up
      (the recurrent layer settles over a few τ) that lag biases the means (up to 0.09 over steps 142-285 of a 20-frame
      run); the window here starts 4.5 τ later, where only spike timing differs. Measured: 0.001, 0.019, 0.033 (lpff,
      lprnn, read-out; ≤ 0.033 over six seeds).
    * The graph's output is the read-out's spike train ((steps, 3), values 0/1); its spike count over the window
      within 3 of ours (half a kick of decode is 0.047·286/6 = 2.2 spikes, plus one for the window's edges).
    """
    from lprnn_brian.simulation import simulate

    spec = to_snn_spec(_positive_model(0), mode="float")
    x = np.random.default_rng(10).uniform(0, 1, size=(1, spec.n_frames, 6))
    out, trace = _norse_run(norse_api, write_nir(spec, tmp_path / "pos.nir"), spec, x[0])
    raw = simulate(spec, x, target="numpy", keep_raw=True).raw[0]
    assert out.shape == (spec.n_steps, 3) == (571, 3) and set(np.unique(out)) <= {0.0, 1.0}
    L0 = spec.layers[0]
    n = np.arange(spec.n_steps)[:, None]
    ours_ip0 = raw.states[0]["i_ip"]
    np.testing.assert_allclose(trace[f"{L0.name}_ip"], ours_ip0 + L0.b_tilde * (1 - 1 / L0.tau_I) ** n, rtol=0,
                               atol=1e-5 * np.abs(ours_ip0).max())
    half = spec.n_steps // 2
    for k, L in enumerate(spec.layers):
        ours = -raw.states[k]["i_fb"][half:].mean(axis=0) / L.factor
        theirs = -trace[f"{L.name}_fb"][half:].mean(axis=0) / L.factor
        assert np.abs(theirs - ours).max() <= spec.Iin / (2 * L.tau_S), (L.name, ours, theirs)
        assert ours.min() > 0.3  # every neuron is active: the comparison is not between silent layers
    last = len(spec.layers) - 1
    ours_count = np.bincount(raw.spike_i[last][raw.spike_step[last] >= half], minlength=3)
    assert np.all(np.abs(out[half:].sum(axis=0) - ours_count) <= 3)


def test_norse_follows_the_graph_without_the_floor(tmp_path, norse_api, small_model):
    """Mixed-sign weights (the small test network): the graph has no floor i_ip ≥ 0 (module docstring), so norse's
    layer-0 i_ip is the floor-free recursion of the graph's LI, computed here; 1e-5 of its largest value
    (float32, as above). Our Brian2 run floors i_ip: that is where the two differ."""
    spec = to_snn_spec(small_model, mode="float")
    x = np.random.default_rng(13).uniform(-1, 1, size=(spec.n_frames, 6))
    out, trace = _norse_run(norse_api, write_nir(spec, tmp_path / "small.nir"), spec, x)
    want = _free_ip0(spec, x)
    assert want.min() < 0  # the floor would have acted
    np.testing.assert_allclose(trace["lpff_1_ip"], want, rtol=0, atol=1e-5 * np.abs(want).max())
    assert out.shape == (spec.n_steps, 3) and set(np.unique(out)) <= {0.0, 1.0}


def test_norse_runs_the_shd_reference_export(tmp_path, norse_api, shd_model):
    """The authors' SHD network (1,172 neurons, loihi mode), exported and opened by norse: 8 frames (114 steps) of
    random mel-like inputs; layer 0's i_ip follows the graph's LI (as above) and the output is 20 spike trains."""
    spec = to_snn_spec(shd_model, mode="loihi", n_frames=8)
    x = np.random.default_rng(14).uniform(0, 2, size=(spec.n_frames, 80))
    out, trace = _norse_run(norse_api, write_nir(spec, tmp_path / "shd.nir"), spec, x)
    want = _free_ip0(spec, x)
    np.testing.assert_allclose(trace["lpff_1_ip"], want, rtol=0, atol=1e-5 * np.abs(want).max())
    assert out.shape == (spec.n_steps, 20) and set(np.unique(out)) <= {0.0, 1.0}


def test_export_nir_cli_round_trip(tmp_path, capsys):
    """``lprnn-brian export nir``: the file reads back to the spec that ``to_snn_spec`` gives for the same model
    and mode (digest equal), the JSON line names it, and an existing file is not replaced without --force."""
    from lprnn_brian.ann.model import save_model
    from lprnn_brian.cli import main

    model = random_model(np.random.default_rng(5))
    save_model(model, tmp_path / "m.npz")
    out = tmp_path / "net.nir"
    for mode in ("float", "loihi"):
        rc = main(["export", "nir", str(tmp_path / "m.npz"), "--out", str(out), "--mode", mode, "--json", "--force"])
        info = json.loads(capsys.readouterr().out)
        assert rc == 0 and info["mode"] == mode
        assert read_nir(out).digest() == to_snn_spec(model, mode=mode).digest() == info["digest"]
    assert main(["export", "nir", str(tmp_path / "m.npz"), "--out", str(out)]) == 2
