"""The ΣΔ neuron declaration (lprnn_brian.equations) and its Brian2 rendering, against
docs/method.md#the-adaptive-sigma-delta-neuron.

Oracles: the equations and per-step order of docs/method.md#the-adaptive-sigma-delta-neuron, typed out again here by
hand (as sympy expressions and as a plain numpy step function), never derived from the package's own sympy objects;
Brian2's own Euler integrator for the ODE form of docs/method.md#state-and-update; Brian2's scheduling summary for the
order.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from lprnn_brian.convert import LayerParams, SNNSpec, to_snn_spec
from lprnn_brian.equations import render as rd
from lprnn_brian.equations import sigma_delta as sd
from lprnn_brian.network import build_network

VARS = ("i_ip", "i_in", "v", "i_fb")
LIMIT = 2.0**23


# --- the sympy declaration against the method's tables (docs/method.md#state-and-update) ---------------

def test_update_matches_spec_table():
    """UPDATE equals the "exact one-step update" column of docs/method.md#state-and-update, typed here by hand; exact
    (sympy)."""
    a = lambda tau: 1 - 1 / tau  # noqa: E731
    by_hand = {
        sd.i_ip: a(sd.tau_I) * sd.i_ip + sd.i_in + sd.b_tilde,
        sd.i_in: a(sd.tau_U) * sd.i_in,
        sd.v: a(sd.tau_V) * sd.v + sd.i_ip + sd.i_fb,
        sd.i_fb: a(sd.tau_S) * sd.i_fb,
    }
    assert set(sd.UPDATE) == set(by_hand)
    for x, expr in by_hand.items():
        assert sp.simplify(sd.UPDATE[x] - expr) == 0, x


def test_continuous_form_euler_step_is_the_update():
    """continuous_form()·Δt_S + x == UPDATE (forward Euler at Δt_S is the exact map), and the ODE equals the
    "Brian2 ODE" column of docs/method.md#state-and-update typed by hand; exact (sympy simplification to 0)."""
    cf = sd.continuous_form()
    dt = sd.dt_S
    ode_by_hand = {
        sd.i_ip: (-sd.i_ip / sd.tau_I + sd.i_in + sd.b_tilde) / dt,
        sd.i_in: -sd.i_in / (sd.tau_U * dt),
        sd.v: (-sd.v / sd.tau_V + sd.i_ip + sd.i_fb) / dt,
        sd.i_fb: -sd.i_fb / (sd.tau_S * dt),
    }
    for x in sd.STATE:
        assert sp.simplify(cf[x] * dt + x - sd.UPDATE[x]) == 0, x
        assert sp.simplify(cf[x] - ode_by_hand[x]) == 0, x


def test_spike_reset_synapse_input_and_conditioning_match_spec():
    """Threshold, reset, spike effects, input and the per-variant clip/truncation of
    docs/method.md#the-adaptive-sigma-delta-neuron; exact."""
    assert sp.simplify(sd.THRESHOLD.lhs - sd.v) == 0 and sp.simplify(sd.THRESHOLD.rhs - 64 * sd.vth_mant) == 0
    assert isinstance(sd.THRESHOLD, sp.StrictGreaterThan)
    assert sd.RESET == {sd.v: 0}
    assert sp.simplify(sd.ON_SPIKE_SELF[sd.i_fb] - (sd.i_fb - sd.kick)) == 0
    assert sp.simplify(sd.ON_SPIKE_TARGET[sd.i_in] - (sd.i_in + 64 * sd.w)) == 0
    assert sp.simplify(sd.INPUT[sd.i_ip] - (sd.i_ip + sd.X / sd.tau_U)) == 0
    # float: only v and i_ip floored at 0; loihi: 24-bit clip of every state, then int() of every state
    assert sd.CLIP["float"] == {sd.v: sp.Max(sd.v, 0), sd.i_ip: sp.Max(sd.i_ip, 0)}
    bounds = {sd.v: (0, 2**23), sd.i_fb: (-(2**23), 2**23), sd.i_ip: (0, 2**23), sd.i_in: (-(2**23), 2**23)}
    assert sd.CLIP["loihi"] == {x: sd.clip(x, lo, hi) for x, (lo, hi) in bounds.items()}
    assert sd.TRUNCATE["float"] == {}
    assert sd.TRUNCATE["loihi"] == {x: sp.Function("int")(x) for x in sd.STATE}


def test_schedule_matches_spec_order():
    """SCHEDULE is the table of docs/method.md#per-step-order (when, order, operation), typed by hand; exact."""
    by_hand = [("clip", "start", 0), ("truncate", "start", 1), ("input", "start", 2), ("record", "start", 3),
               ("update", "groups", 0), ("threshold", "thresholds", 0), ("synapses", "synapses", 0),
               ("reset", "resets", 0)]
    assert [(op.name, op.when, op.order) for op in sd.SCHEDULE] == by_hand


def test_neuron_model_has_per_neuron_state_filters():
    """τ_I and τ_V are per-neuron parameters (per-unit retention), τ_U, τ_S, kick and threshold per layer."""
    lines = set(rd.neuron_model().splitlines())
    assert {"tau_I : 1 (constant)", "tau_V : 1 (constant)", "b_tilde : 1 (constant)"} <= lines
    assert {"tau_U : 1 (shared, constant)", "tau_S : 1 (shared, constant)", "kick : 1 (shared, constant)"} <= lines


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="variant"):
        rd.render("fixed_point")


# --- the rendered Brian2 code against a hand-written numpy step -----------------------------------------

def _spec(variant: str, rng: np.random.Generator) -> SNNSpec:
    """A 3-layer spec built by hand (not by to_snn_spec), so only rendering and network building are tested.

    loihi: integer weights, biases and kicks, and time constants that are powers of two (as every shipped
    model has, τ = 4096/64): every product and sum below 2^53 is then exact in float64, so a bit-for-bit
    comparison is meaningful whatever order either side evaluates its sums in.
    float: arbitrary real parameters (including the read-out's τ_I = 1).
    Both: the lp layers' τ_I = τ_V differ between neurons (per-unit retention, a per-neuron parameter).
    """
    sizes = (5, 7, 3)
    loihi = variant == "loihi"
    layers = []
    for k, (n, kind) in enumerate(zip(sizes, ("lpff", "lprnn", "dense"))):
        n_in = sizes[k - 1] if k else 4
        if loihi:
            tau_S, tau_U = 64.0, (64.0 if k == 0 else 32.0)
            Iin_snn = 2.0**21
            W = rng.integers(-4, 4, size=(n, n_in)) * 2.0**k * 64
            U = rng.integers(-4, 4, size=(n, n)) * 64.0 if kind == "lprnn" else None
            b = rng.integers(-800, 800, size=n).astype(float)
        else:
            tau_S, tau_U = rng.uniform(20, 90), rng.uniform(20, 90)
            Iin_snn = rng.uniform(1e5, 3e6)
            W = rng.normal(0, 0.3, size=(n, n_in)) * Iin_snn / 64 / tau_U
            U = rng.normal(0, 0.3, size=(n, n)) * Iin_snn / 64 / tau_U if kind == "lprnn" else None
            b = rng.normal(0, 0.1, size=n) * Iin_snn / tau_S
        # per-neuron state filters (per-unit retention), τ_I,i ≥ τ_S: loihi powers of two, float arbitrary
        if kind == "dense":
            tau_I = 1.0
        elif loihi:
            tau_I = 2.0 ** rng.integers(6, 9, size=n)
        else:
            tau_I = tau_S * rng.uniform(1, 4, size=n)
        layers.append(LayerParams(
            name=f"L{k}", kind=kind, n=n, tau_I=tau_I, tau_U=tau_U, tau_V=tau_I if kind != "dense" else tau_S,
            tau_S=tau_S, factor=Iin_snn / 6,
            Iin_snn=Iin_snn, kick=(2.0**15 if loihi else Iin_snn / tau_S), W_snn=W, b_tilde=b, U_snn=U,
            W_ann=np.zeros((n, n_in))))
    n_steps = 40
    return SNNSpec(layers=layers, mode=variant, dt=1e-3, frame_dt=14e-3, n_frames=3, n_steps=n_steps, Iin=6.0,
                   readout_window="all")


def _initial_states(spec: SNNSpec, rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    """Random non-integer states of both signs, a few beyond the 24-bit range (exercises clip and int())."""
    out = []
    for L in spec.layers:
        st = {x: rng.normal(0, 0.5, size=L.n) * L.Iin_snn for x in VARS}
        st["i_fb"] = -np.abs(st["i_fb"])
        st["i_ip"][0], st["i_in"][-1], st["i_fb"][-1], st["v"][0] = 1.5 * LIMIT, -1.25 * LIMIT, -1.1 * LIMIT, 2.5 * LIMIT
        out.append(st)
    return out


def handwritten_run(spec: SNNSpec, init, X: np.ndarray):
    """docs/method.md#per-step-order, step by step: clip (and truncate) every layer; layer-0 input; record; update
    (docs/method.md#state-and-update, all right-hand sides at pre-step values); s = [v > 0]; synapses (i_in += 64 W s,
    own i_fb −= kick s); reset."""
    loihi = spec.mode == "loihi"
    S = [{x: init[k][x].astype(np.float64).copy() for x in VARS} for k in range(len(spec.layers))]
    rec = [{x: np.empty((spec.n_steps, L.n)) for x in VARS} for L in spec.layers]
    spikes = [np.zeros((spec.n_steps, L.n), bool) for L in spec.layers]
    for n in range(spec.n_steps):
        for s in S:
            if loihi:
                s["v"] = np.clip(s["v"], 0, LIMIT)
                s["i_ip"] = np.clip(s["i_ip"], 0, LIMIT)
                s["i_fb"] = np.clip(s["i_fb"], -LIMIT, LIMIT)
                s["i_in"] = np.clip(s["i_in"], -LIMIT, LIMIT)
                for x in VARS:
                    s[x] = np.trunc(s[x])
            else:
                s["v"] = np.maximum(s["v"], 0.0)
                s["i_ip"] = np.maximum(s["i_ip"], 0.0)
        S[0]["i_ip"] = S[0]["i_ip"] + X[n] / spec.layers[0].tau_U
        for k, s in enumerate(S):
            for x in VARS:
                rec[k][x][n] = s[x]
        for L, s in zip(spec.layers, S):
            new = {
                "i_ip": (1 - 1 / L.tau_I) * s["i_ip"] + s["i_in"] + L.b_tilde,
                "i_in": (1 - 1 / L.tau_U) * s["i_in"],
                "v": (1 - 1 / L.tau_V) * s["v"] + s["i_ip"] + s["i_fb"],
                "i_fb": (1 - 1 / L.tau_S) * s["i_fb"],
            }
            s.update(new)
        fired = [s["v"] > 0 for s in S]
        for k, (L, s) in enumerate(zip(spec.layers, S)):
            if k:
                s["i_in"] = s["i_in"] + 64 * (L.W_snn @ fired[k - 1])
            if L.U_snn is not None:
                s["i_in"] = s["i_in"] + 64 * (L.U_snn @ fired[k])
        for k, (L, s) in enumerate(zip(spec.layers, S)):
            s["i_fb"] = s["i_fb"] - L.kick * fired[k]
            s["v"] = np.where(fired[k], 0.0, s["v"])
            spikes[k][n] = fired[k]
    return rec, spikes


def _brian_run(spec: SNNSpec, init, X: np.ndarray):
    bn = build_network(spec, record=VARS, stimulus_values=X)
    for g, st in zip(bn.groups, init):
        for x in VARS:
            setattr(g, x, st[x])
    bn.network.run(bn.duration, namespace=bn.namespace)
    rec = [{x: np.asarray(getattr(m, x)[:]).T.copy() for x in VARS} for m in bn.state_monitors]
    spikes = []
    for L, m in zip(spec.layers, bn.spike_monitors):
        s = np.zeros((spec.n_steps, L.n), bool)
        s[np.rint(np.asarray(m.t_[:]) / spec.dt).astype(int), np.asarray(m.i[:])] = True
        spikes.append(s)
    return rec, spikes


@pytest.mark.parametrize("variant", ["float", "loihi"])
def test_rendered_network_step_matches_handwritten_step(variant, numpy_runtime):
    """The Brian2 network (rendered code, numpy target) against the hand-written docs/method.md#per-step-order step,
    from random states, over 40 steps of a 3-layer network with input, feed-forward, recurrent and self synapses.

    loihi: bit for bit (every value is an integer or an exact dyadic fraction, see ``_spec``).
    float: relative 1e-12 of the layer's Iin_snn scale: the only differences allowed are float64 rounding
    from summing synaptic inputs in another order (≈ 1e-16 per operation, 40 steps).
    Spikes: identical in both (no state lands within 1e-12 of the threshold for this seed; checked below).
    """
    rng = np.random.default_rng(7 if variant == "float" else 8)
    spec = _spec(variant, rng)
    init = _initial_states(spec, rng)
    n0 = spec.layers[0].n
    if variant == "loihi":
        X = 64.0 * rng.integers(0, 2 * 2**15, size=(spec.n_steps, n0))  # X/τ_U integer: exact arithmetic
    else:
        X = rng.uniform(0, 2.0, size=(spec.n_steps, n0)) * spec.layers[0].Iin_snn
    want, want_spikes = handwritten_run(spec, init, X)
    got, got_spikes = _brian_run(spec, init, X)
    for k, L in enumerate(spec.layers):
        assert want_spikes[k].any() and not want_spikes[k].all(), "test network must spike, but not always"
        np.testing.assert_array_equal(got_spikes[k], want_spikes[k], err_msg=f"spikes of layer {k}")
        for x in VARS:
            if variant == "loihi":
                np.testing.assert_array_equal(got[k][x], want[k][x], err_msg=f"{x} of layer {k}")
            else:
                np.testing.assert_allclose(got[k][x], want[k][x], rtol=1e-12, atol=1e-12 * L.Iin_snn,
                                           err_msg=f"{x} of layer {k}")
    if variant == "float":  # the spike comparison above is only meaningful with a margin to the threshold
        v_pre = [want[k]["i_ip"] + want[k]["i_fb"] + (1 - 1 / L.tau_V) * want[k]["v"]
                 for k, L in enumerate(spec.layers)]
        assert min(np.min(np.abs(v)) for v in v_pre) > 1e-9 * max(L.Iin_snn for L in spec.layers)


def test_rendered_update_equals_brian2_euler_of_spec_ode(numpy_runtime):
    """The rendered explicit update equals Brian2's own forward-Euler integration of the ODE column of spec
    docs/method.md#state-and-update (typed here as Brian2 equations), for random states over 10 steps. Tolerance:
    relative 1e-12, since Euler computes x + dt·(f/Δt_S) with dt/Δt_S = 1 only up to one rounding per step."""
    from brian2 import Network, NeuronGroup, StateMonitor, defaultclock, ms

    rng = np.random.default_rng(3)
    n = 50
    ode = """
    di_ip/dt = (-i_ip/tau_I + i_in + b_tilde)/dt_S : 1
    di_in/dt = -i_in/(tau_U*dt_S) : 1
    dv/dt = (-v/tau_V + i_ip + i_fb)/dt_S : 1
    di_fb/dt = -i_fb/(tau_S*dt_S) : 1
    tau_I : 1 (constant)
    tau_U : 1 (constant)
    tau_V : 1 (constant)
    tau_S : 1 (constant)
    b_tilde : 1 (constant)
    dt_S : second (shared, constant)
    """
    eqs = rd.render("float")
    defaultclock.dt = 0.5 * ms
    g_ode = NeuronGroup(n, ode, method="euler", name="ode")
    g_map = NeuronGroup(n, eqs.model, name="map")
    g_map.run_regularly(eqs.update, when="groups", order=0)
    g_ode.dt_S = 0.5 * ms
    values = {x: rng.normal(0, 1e5, n) for x in VARS}
    # the rendered model has per-neuron τ_I, τ_V (per-unit retention) and shared τ_U, τ_S; per-neuron biases
    taus = {p: rng.uniform(1, 100, n) for p in ("tau_I", "tau_V")} | {p: rng.uniform(1, 100) for p in ("tau_U", "tau_S")}
    b_tilde = rng.normal(0, 1e3, n)
    for g in (g_ode, g_map):
        for x, val in {**values, **taus, "b_tilde": b_tilde}.items():
            setattr(g, x, val)
    mons = [StateMonitor(g, list(VARS), record=True, when="end") for g in (g_ode, g_map)]
    Network(g_ode, g_map, *mons).run(10 * defaultclock.dt)
    for x in VARS:
        a, b = getattr(mons[0], x)[:], getattr(mons[1], x)[:]
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max(), err_msg=x)


# --- explicit scheduling of every Brian2 object -------------------------------------------------------

def _operation(obj, group_names) -> str | None:
    """Which operation of docs/method.md#per-step-order a Brian2 object performs, judged by its type and name."""
    from brian2 import SpikeMonitor, StateMonitor
    from brian2.groups.neurongroup import Resetter, StateUpdater, Thresholder
    from brian2.synapses.synapses import SynapticPathway

    if isinstance(obj, Thresholder):
        return "threshold"
    if isinstance(obj, Resetter):
        return "reset"
    if isinstance(obj, SynapticPathway):
        return "synapses"
    if isinstance(obj, StateMonitor):
        return "record"
    if isinstance(obj, SpikeMonitor):
        return "spike_monitor"
    if isinstance(obj, StateUpdater):
        return "stateupdater"
    for suffix in ("clip", "truncate", "input", "update"):
        if any(obj.name == f"{g}_{suffix}" for g in group_names):
            return suffix
    return None


@pytest.mark.parametrize("mode", ["float", "loihi"])
def test_every_network_object_has_the_spec_slot(mode, small_model, numpy_runtime):
    """Every object that runs in the network built by build_network sits in its docs/method.md#per-step-order slot, and
    Brian2's actual execution order per layer is the order of docs/method.md#per-step-order (oracle:
    Network.scheduling_summary).

    Objects outside the table: the spike monitor must run in the threshold slot after the thresholder (it
    reads this step's spikes); the groups' own StateUpdater must be empty (no ODEs: the update is the
    explicit map of the ``update`` operation).
    """
    from brian2 import NeuronGroup, Synapses

    dt = to_snn_spec(small_model, mode="loihi").dt
    spec = to_snn_spec(small_model, mode=mode, dt=dt)
    bn = build_network(spec)
    names = [L.name for L in spec.layers]
    runnable = {}  # by name: run_regularly operations are both contained in their group and added directly
    for obj in bn.network.objects:
        for o in (obj.contained_objects if isinstance(obj, (NeuronGroup, Synapses)) else [obj]):
            runnable[o.name] = o
    runnable = list(runnable.values())
    seen = set()
    for obj in runnable:
        op = _operation(obj, names)
        assert op is not None, (f"object {obj.name} of type {type(obj).__name__} has no place in the per-step order "
                                "(docs/method.md#per-step-order)")
        seen.add(op)
        if op == "spike_monitor":
            assert (obj.when, obj.order) == ("thresholds", 1), obj.name
        elif op == "stateupdater":
            assert obj.group.equations.diff_eq_names == set(), obj.name
            assert (obj.when, obj.order) == sd.SLOT["update"], obj.name
        else:
            assert (obj.when, obj.order) == sd.SLOT[op], obj.name
    expected = {"clip", "input", "record", "update", "threshold", "synapses", "reset", "spike_monitor",
                "stateupdater"} | ({"truncate"} if mode == "loihi" else set())
    assert seen == expected
    # inputs only to layer 0, truncation in every layer (loihi) or none (float)
    assert [o.name for o in runnable if _operation(o, names) == "input"] == [f"{names[0]}_input"]
    n_trunc = sum(_operation(o, names) == "truncate" for o in runnable)
    assert n_trunc == (len(names) if mode == "loihi" else 0)

    # the order Brian2 will actually execute, read from its scheduling summary
    from brian2 import second

    bn.network.run(0 * second, namespace=bn.namespace)
    summary = bn.network.scheduling_summary()
    executed = [e.name for e in summary.entries]
    rank = {op.name: i for i, op in enumerate(sd.SCHEDULE)}
    ops = [(_operation(next(o for o in runnable if o.name == name), names), name) for name in executed]
    seq = [rank[op if op not in ("spike_monitor", "stateupdater") else
                ("threshold" if op == "spike_monitor" else "update")] for op, _ in ops]
    assert seq == sorted(seq), f"execution order {executed} differs from docs/method.md#per-step-order"


# --- the numeric form (lprnn_brian.equations.numeric) ---------------------------------------------------

def test_numeric_update_evaluates_in_the_rendered_brian2_order():
    """The lambdified update of every state prints exactly the right-hand side that Brian2 receives (render's
    update code), so numpy evaluates the same operations in the same order as the Brian2 network."""
    import inspect

    from lprnn_brian.equations import numeric

    rendered = dict(line.split(" = ", 1) for line in rd.update_code().splitlines() if "_next = " in line)
    for variant in sd.VARIANTS:
        for x, a in numeric.neuron(variant).blocks["update"].items():
            source = inspect.getsource(a.fn)
            assert f"return {rendered[f'{x}_next']}\n" in source, (x, source)


@pytest.mark.parametrize("variant", ["float", "loihi"])
def test_numeric_blocks_equal_the_handwritten_oracle_bit_for_bit(variant):
    """Every block of the numeric form against the formulas typed here by hand (an independent oracle, written
    in Brian2's order of operations: b̃ + i_in + (1 − 1/τ_I)·i_ip), on random states of both signs beyond the
    24-bit range: bit for bit; the threshold is strict; the cache returns one object per variant."""
    from lprnn_brian.equations import numeric

    rng = np.random.default_rng(3)
    nn = numeric.neuron(variant)
    assert numeric.neuron(variant) is nn
    st = {x: rng.normal(0, 2.0, 50) * LIMIT for x in VARS}
    p = {"tau_I": rng.uniform(1, 300, 50), "tau_U": 37.0, "tau_V": rng.uniform(1, 300, 50), "tau_S": 64.0,
         "b_tilde": rng.normal(0, 1e3, 50), "kick": 3.5e4, "X": rng.normal(0, 1e5, 50), "w": rng.normal(0, 9, 50)}
    a = lambda tau: 1 - 1 / tau  # noqa: E731
    if variant == "loihi":
        lo = {"i_ip": 0, "v": 0, "i_in": -LIMIT, "i_fb": -LIMIT}
        want_clip = {x: np.clip(st[x], lo[x], LIMIT) for x in VARS}
        want_trunc = {x: np.trunc(st[x]) for x in VARS}
    else:
        want_clip = {x: np.maximum(st[x], 0) for x in ("i_ip", "v")}
        want_trunc = {}
    want = {
        "clip": want_clip, "truncate": want_trunc,
        "input": {"i_ip": st["i_ip"] + p["X"] / p["tau_U"]},
        "update": {"i_ip": p["b_tilde"] + st["i_in"] + st["i_ip"] * a(p["tau_I"]),
                   "i_in": st["i_in"] * a(p["tau_U"]),
                   "v": st["i_fb"] + st["i_ip"] + st["v"] * a(p["tau_V"]),
                   "i_fb": st["i_fb"] * a(p["tau_S"])},
        "reset": {"v": 0}, "on_spike_self": {"i_fb": st["i_fb"] - p["kick"]},
        "on_spike_target": {"i_in": st["i_in"] + 64 * p["w"]},
    }
    for block, expected in want.items():
        got = nn.apply(block, {**st, **p})
        assert set(got) == set(expected), block
        for x in expected:
            np.testing.assert_array_equal(np.asarray(got[x]), np.asarray(expected[x]), err_msg=f"{block}: {x}")
    v = np.array([63.0, 64.0, 64.0 + 2**-40])
    np.testing.assert_array_equal(nn.spikes(v, 1.0), [False, False, True])
    assert nn.spike_factor == 64.0
    with pytest.raises(ValueError, match="variant"):
        numeric.neuron("fixed_point")


def _exec_block(code: str, values: dict) -> dict:
    """Run a rendered code block as Brian2's numpy target does (every line an assignment, numpy functions)."""
    ns = {"clip": np.clip, "inf": np.inf, "int": np.trunc, **{k: np.array(v, copy=True) for k, v in values.items()}}
    exec(code, ns)  # noqa: S102 (our own rendered code)
    return {k: ns[k] for k in values}


def test_render_options_for_brian2lava_compute_the_same_blocks():
    """``ceiling`` and ``input_from`` (lprnn_brian.targets.lava_device) against the default rendering, both run as
    numpy: the float floor ``clip(x, 0, 1e308)`` gives ``clip(x, 0, inf)``'s values on negatives, zeros, ordinary and huge
    states (the Loihi clip, which has finite bounds, is printed unchanged), and the input block reading ``x_in``
    gives what it gives reading the TimedArray of the same values."""
    x = np.array([-1e300, -5.0, -0.0, 0.0, 1e-300, 3.25, 682.6666666666666, 1e300, 1e308])
    values = {"v": x, "i_ip": x[::-1].copy(), "i_in": x, "i_fb": x}
    base = _exec_block(rd.render("float").clip, values)
    finite = rd.render("float", ceiling=rd.FINITE_CEILING)
    assert "inf" not in finite.clip
    got = _exec_block(finite.clip, values)
    for k in values:
        np.testing.assert_array_equal(got[k], base[k], err_msg=k)
    assert rd.render("loihi", ceiling=rd.FINITE_CEILING).clip == rd.render("loihi").clip
    drive = np.array([0.5, -2.0, 1e3])
    tau_U, i_ip = 64.0, np.array([1.0, 2.0, 3.0])
    ns_ta = {"stimulus": lambda t, i: drive[i], "t": 0.0, "i": np.arange(3), "tau_U": tau_U, "i_ip": i_ip.copy()}
    exec(rd.render("float").input, ns_ta)  # noqa: S102
    ns_var = {"x_in": drive, "tau_U": tau_U, "i_ip": i_ip.copy()}
    exec(rd.render("float", input_from="x_in").input, ns_var)  # noqa: S102
    np.testing.assert_array_equal(ns_var["i_ip"], ns_ta["i_ip"])
    np.testing.assert_array_equal(ns_var["i_ip"], i_ip + drive / tau_U)
