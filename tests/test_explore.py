"""lb.explore: one input's network as Brian2 objects, run by the user's own ``network.run()``, on numpy and
cpp_standalone.

Oracles, each independent of the exploration code:

- ``lb.simulate`` on the same spec, input and target: the spikes and every decode of the user's run must equal it
  element for element (the same network, only who calls ``run()`` differs);
- the package's own ``<layer>_states`` monitor for a StateMonitor the user adds in the record slot;
- the method's ripple (docs/method.md): the reconstruction −i_fb moves in a band one kick wide around its drive
  i_ip, kick = κ·Iin·f/τ_S, so the fb decode's deviation from the ip decode, over a band the phase spreads evenly
  over, has RMS Iin/(τ_S·√12) in ANN units: doubling τ_S halves it. Checked at τ_S = 16 and 32 steps in the first
  layer (whose i_ip depends on the input alone), below its τ_I = 64: the method's tracking condition τ_I ≥ τ_S
  holds there (at τ_S ≥ τ_I the reconstruction can no longer fall as fast as a falling drive, and the lag adds to
  the error: the tutorial notebook shows it);
- a constant current into one neuron: its spike rate is its drive over Iin, so a positive current raises its
  count, and the layers before it cannot change.

Every network of a target is built with the same objects (a StateMonitor included), so that cpp_standalone
compiles once for them and each variant recompiles only ``main.cpp``; ``lb.simulate`` compiles the plain network
once more (the same build directory: only the files that differ).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import lprnn_brian as lb
from lprnn_brian.convert import comparator
from lprnn_brian.equations.sigma_delta import STATE
from lprnn_brian.errors import UserInputError
from lprnn_brian.simulation import DECODES

N_FRAMES = 40  # 571 SNN steps of the bundled digits network
#: cpp_standalone builds five networks (about a minute): it runs under ``-m slow``, numpy in the default run
TARGETS = ["numpy", pytest.param("cpp_standalone", marks=pytest.mark.slow)]
WATCHED = [0, 5, 17]  # neurons of lprnn_1 under the user's StateMonitor
INJECTED_LAYER = "lprnn_2"  # layer of the injected current (the neuron: the ``injected`` fixture)
INJECTED_CURRENT = 1.0  # ANN units
RIPPLE_TAUS = (16, 32)


@pytest.fixture(scope="module")
def model():
    return lb.load_model(lb.bundled_model_path())


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    from lprnn_brian.tasks.digits import load_digits

    x, _, _ = load_digits("test")
    return x[0, :N_FRAMES]


@pytest.fixture(scope="module")
def spec(model, clip):
    return lb.to_snn_spec(model, n_frames=len(clip))


@pytest.fixture(scope="module")
def injected(model, clip) -> tuple[str, int, float]:
    """(layer, neuron, frames in range): the neuron of INJECTED_LAYER whose ANN state, and that state plus the
    injected current, stay inside (0, Iin) for the most frames of the clip: where the ΣΔ loop is linear."""
    from lprnn_brian.ann.forward import forward

    ann = forward(model, clip[None])
    h = ann.states[ann.layer_names.index(INJECTED_LAYER)][0]  # (frames, units)
    inside = ((h > 0) & (h + INJECTED_CURRENT < model.Iin)).mean(axis=0)
    j = int(np.argmax(inside))
    return INJECTED_LAYER, j, float(inside[j])


def _variants(dt, injected) -> dict:
    """What each network changes before the user's run."""
    layer, j, _ = injected
    return {
        "base": lambda ex: None,
        "tau16": lambda ex: ex.set_tau_S("lpff_1", 16),
        "tau32": lambda ex: ex.set_tau_S("lpff_1", 32 * dt),  # a Brian2 time: 32 steps
        "inject": lambda ex: ex.inject(layer, INJECTED_CURRENT, neurons=[j]),
    }


@pytest.fixture(scope="module", params=TARGETS)
def runs(request, spec, clip, build_root, injected):
    """Per target: per variant the user's run (result, raw run, the user's monitor), then lb.simulate's result.

    Nothing is closed by hand: on cpp_standalone each new exploration, and then lb.simulate, closes the one before
    (one standalone network per process); a closed exploration still gives its result."""
    from brian2 import second

    target = request.param
    out, explorations, wall = {"target": target}, {}, {}
    for name, change in _variants(spec.dt * second, injected).items():
        t0 = time.perf_counter()
        ex = explorations[name] = lb.explore(spec, clip, target=target, build_root=build_root)
        mon = ex.state_monitor("lprnn_1", record=WATCHED)
        change(ex)
        ex.network.run(ex.duration)  # the user's own run
        monitor = {v: np.array(getattr(mon, v)) for v in mon.record_variables}
        monitor["t"] = np.array(mon.t_)
        package = {v: np.array(getattr(ex["lprnn_1_states"], v)[WATCHED]) for v in ex.record}
        if target == "cpp_standalone":
            with pytest.raises(UserInputError, match="has run"):
                ex.set_tau_S("lpff_1", 64)
        out[name] = {"monitor": monitor, "package": package}
        wall[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["simulated"] = lb.simulate(spec, clip[None], target=target, build_root=build_root)
    wall["simulate"] = time.perf_counter() - t0
    for name, ex in explorations.items():
        assert ex.network is None if target == "cpp_standalone" else ex.network is not None  # closed: standalone
        out[name].update(result=ex.result(), raw=ex.raw())
    print(f"\n{target}: wall s {wall}")
    return out


def test_user_run_equals_simulate(runs):
    """The user's network.run() gives lb.simulate's spikes and decodes, element for element."""
    got, ref = runs["base"]["result"], runs["simulated"]
    assert got.layer_names == ref.layer_names and got.n_samples == 1
    for k in range(len(ref.layer_names)):
        assert len(ref.spikes[k]) > 100
        np.testing.assert_array_equal(got.spikes[k], ref.spikes[k])
    assert set(got.decodes) == set(ref.decodes) == set(DECODES)
    for d in ref.decodes:
        for k in range(len(ref.layer_names)):
            np.testing.assert_array_equal(got.frame_decodes[d][k], ref.frame_decodes[d][k])
            for w in ref.decodes[d]:
                np.testing.assert_array_equal(got.decodes[d][w][k], ref.decodes[d][w][k])


def test_added_state_monitor_records_every_declared_state(runs, spec):
    mon, package = runs["base"]["monitor"], runs["base"]["package"]
    assert set(mon) == {str(s) for s in STATE} | {"t"}
    for v in STATE:
        assert mon[str(v)].shape == (len(WATCHED), spec.n_steps)
    for v, values in package.items():  # the same slot as the package's monitor: the same numbers
        np.testing.assert_array_equal(mon[v], values)
    np.testing.assert_allclose(mon["t"], np.arange(spec.n_steps) * spec.dt, rtol=0, atol=1e-12)
    assert mon["v"].min() >= 0 and mon["v"].max() > 0  # clipped at 0, and the neurons do integrate


def _ripple(run) -> float:
    """RMS of the fb decode less the ip decode of layer 0, in ANN units, over the steps of the last 3/4 where the
    drive lies in [0.5, Iin − 0.5] (away from the floor and the clamp)."""
    spec, raw = run["result"].spec, run["raw"]
    L = spec.layers[0]
    fb = -raw.states[0]["i_fb"] / (L.kick_gain * L.factor)
    ip = raw.states[0]["i_ip"] / L.factor
    later = slice(spec.n_steps // 4, None)
    inside = (ip[later] > 0.5) & (ip[later] < spec.Iin - 0.5)
    assert inside.sum() > 1000
    return float(np.sqrt(np.mean((fb[later] - ip[later])[inside] ** 2)))


def test_larger_tau_S_gives_the_smaller_ripple_the_method_predicts(runs, spec):
    for tau in RIPPLE_TAUS:
        run = runs[f"tau{tau}"]
        L = run["result"].spec.layers[0]
        kick, theta, _ = comparator(spec.threshold_policy, tau, L.Iin_snn, spec.mode)
        assert (L.tau_S, L.kick, L.threshold) == (tau, kick, theta)  # what ran, read back from the group
        assert run["result"].spec.layers[1].tau_S == spec.layers[1].tau_S  # the other layers keep theirs
        # layer 0's drive is the input's alone: the same whatever its τ_S
        np.testing.assert_array_equal(run["raw"].states[0]["i_ip"], runs["base"]["raw"].states[0]["i_ip"])
    ripple = {tau: _ripple(runs[f"tau{tau}"]) for tau in RIPPLE_TAUS}
    predicted = {tau: spec.Iin / (tau * np.sqrt(12)) for tau in RIPPLE_TAUS}
    for tau in RIPPLE_TAUS:
        assert ripple[tau] == pytest.approx(predicted[tau], rel=0.25), (tau, ripple, predicted)
    assert 0.4 < ripple[32] / ripple[16] < 0.65, ripple


def test_injected_current_raises_the_neurons_spike_count(runs, injected, spec):
    """A constant current c raises the neuron's state by c, and the ΣΔ loop's spike probability per step by c/Iin
    (lprnn_brian.equations.derive.steady_state_rate) wherever the state stays inside (0, Iin): about c/Iin · n_steps · (that
    share of the clip) more spikes. Held to half of it (the recurrence and the first τ_S steps move it)."""
    from lprnn_brian.equations import derive

    layer, j, inside = injected
    base, inj = runs["base"]["result"], runs["inject"]["result"]
    k = base.layer_names.index(layer)

    def count(result):
        return int(np.sum(result.spikes[k][:, 1] == j))

    rate = float(derive.steady_state_rate().subs({derive.c: INJECTED_CURRENT, derive.Iin: spec.Iin}))
    expected = rate * spec.n_steps * inside
    assert rate == pytest.approx(INJECTED_CURRENT / spec.Iin)
    assert expected > 40, (j, inside)  # a neuron the test can see
    assert count(inj) - count(base) > 0.5 * expected, (j, count(base), count(inj), expected)
    for kk in range(k):  # upstream layers cannot know
        np.testing.assert_array_equal(inj.spikes[kk], base.spikes[kk])
    L = base.spec.layers[k]
    assert inj.spec.layers[k].b_tilde[j] == base.spec.layers[k].b_tilde[j] + round(L.factor / L.tau_I)


def test_runtime_network_runs_in_pieces_and_ignores_notebook_names(spec, clip):
    """On the runtime device the user can stop half way (and change things); two halves are the one run. Local
    variables named like the package's (``t``, ``v``, ``clip``) neither shadow them nor make Brian2 warn."""
    from brian2.utils.logger import catch_logs

    whole = lb.explore(spec, clip, target="numpy")
    whole.run()
    ex = lb.explore(spec, clip, target="numpy")
    t, v, clip, stimulus = 1.0, 2.0, 3.0, 4.0  # noqa: F841 - in the caller's namespace on purpose
    half = (ex.spec.n_steps // 2) * ex.dt
    with catch_logs() as logs:
        ex.network.run(half)
        with pytest.raises(UserInputError, match="ran 285 steps"):
            ex.result()
        ex.run(ex.duration - half)
    assert not [m for m in logs if "resolution_conflict" in m[1]], logs
    got, ref = ex.result(), whole.result()
    for k in range(len(ref.layer_names)):
        np.testing.assert_array_equal(got.spikes[k], ref.spikes[k])


def test_a_current_per_step_is_the_constant_current_in_loihi_integers(spec, clip, injected):
    """A current given per step runs as a run_regularly operation after the update; a constant one as a bias: in
    Loihi mode both add the same integers to i_ip, so the spikes are the same."""
    layer, j, _ = injected
    counts = []
    for current in (0.8, np.full((spec.n_steps, 1), 0.8)):
        ex = lb.explore(spec, clip, target="numpy")
        delta = ex.inject(layer, current, neurons=[j])
        assert np.all(delta == round(0.8 * spec.layers[2].factor / spec.layers[2].tau_I))
        ex.run()
        counts.append(ex.result())
    assert f"{layer}_inject_1" in ex.object_names()
    for k in range(len(spec.layers)):
        np.testing.assert_array_equal(counts[0].spikes[k], counts[1].spikes[k])


def test_explore_refuses_what_it_cannot_do(model, spec, clip):
    with pytest.raises(UserInputError, match="explore runs on"):
        lb.explore(spec, clip, target="genn")
    with pytest.raises(UserInputError, match="converted for 40"):
        lb.explore(spec, clip[:30])
    with pytest.raises(UserInputError, match="'loihi' mode"):
        lb.explore(spec, clip, mode="float")
    with pytest.raises(UserInputError, match="one input"):
        lb.explore(model, np.stack([clip, clip]))
    ex = lb.explore(spec, clip)
    with pytest.raises(UserInputError, match="no 12-bit decay"):
        ex.set_tau_S("lpff_1", 50)
    with pytest.raises(UserInputError, match="no layer"):
        ex.set_tau_S("lpff_9", 64)
    with pytest.raises(UserInputError, match="distinct indices"):
        ex.inject(0, 1.0, neurons=[48])
    with pytest.raises(UserInputError, match="ran 0 steps"):
        ex.result()


def test_float_mode_model_file_and_names(clip):
    """A model file converts for the clip's frames (float mode here); layers are groups named as the model's."""
    ex = lb.explore(lb.bundled_model_path(), clip[:10], mode="float")
    assert ex.spec.mode == "float" and ex.spec.n_frames == 10
    names = ex.object_names()
    for layer in ex.layer_names:
        assert ex[layer] is ex.group(layer) is ex.groups[ex.layer_names.index(layer)]
        assert {f"{layer}_update", f"{layer}_clip", f"{layer}_states", f"{layer}_spikes"} <= set(names)
    assert "lprnn_1_rec" in names and "lprnn_1_ff" in names and "lpff_1_input" in names
    ex.set_tau_S("lprnn_1", 40.5)  # any value in float mode
    ex.run()
    assert ex.result().spec.layers[1].tau_S == 40.5
