"""Run one SNN spec on brian2lava, or probe what brian2lava cannot do; run by tests/test_brian2lava.py in the
brian2lava environment's Python.

brian2lava lives in the environment of ``scripts/setup-brian2lava`` (Python 3.11, lava-nc 0.10.0, brian2 2.9.0,
brian2lava 1.0.0b2), which the test suite's Python cannot import. Two commands::

    python tests/brian2lava_job.py run JOB.npz --build-root DIR --out result.npz [--batch B] [--record ...]
    python tests/brian2lava_job.py probe NAME --workdir DIR

``run``: ``JOB.npz`` holds ``summary`` (the JSON of :meth:`lprnn_brian.convert.SNNSpec.to_arrays`), the spec's
arrays under ``spec/``, ``digest`` and ``drives`` (samples, n_steps, n0). The job rebuilds the spec (its digest must
equal ``digest``), runs every sample with :class:`lprnn_brian.targets.Runner` (``target='lava'``), writes spikes and
recorded states to ``--out`` and prints one JSON object: versions, the digest, the seconds per batch and the last
batch's split (Brian2 objects, brian2lava generation + Lava run).

``probe``: builds one small Brian2 network that uses one feature the ``lava`` target had to work around
(:data:`PROBES`; docs/targets.md lists them), runs it on brian2lava in ``--workdir`` and prints one JSON object:
``outcome``: 'error' (the run failed: ``error`` = the exception, ``cause`` = the one at the root of its chain and
``process_errors`` = those raised inside Lava processes, which Lava only logs), 'unreadable' (the network ran, its
monitor cannot be read: ``error``) or 'ran' (``result`` = what the network computed).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import numpy as np


# --- run ----------------------------------------------------------------------------------------------
def run(args) -> dict:
    from importlib.metadata import version

    from job_runs import run_and_pack  # beside this script (its directory is on sys.path)

    from lprnn_brian.convert import SNNSpec
    from lprnn_brian.targets import Runner

    with np.load(args.job) as z:
        summary = json.loads(str(z["summary"]))
        spec = SNNSpec.from_arrays(summary, {k: z[k] for k in z.files if k.startswith("spec/")})
        drives = z["drives"]
        want = str(z["digest"])
    if spec.digest() != want:
        raise SystemExit(f"the spec rebuilt here has digest {spec.digest()}, the test's has {want}")
    record = tuple(v for v in args.record.split(",") if v)
    # brian2lava is imported by the runner, in its own working directory (the import deletes ./tmp)
    info: dict = {"python": sys.version.split()[0], "brian2lava": version("brian2lava"), "lava": version("lava-nc"),
                  "digest": spec.digest()}
    with Runner(spec, "lava", build_root=args.build_root, record=record, batch=args.batch) as r:
        info["build_dir"] = str(r.build_dir)
        info["run_s"], out = run_and_pack(r, drives, args.batch)
        info["last_batch"] = r.backend.timing
    np.savez(args.out, info=json.dumps(info), **out)
    return info


# --- probes -------------------------------------------------------------------------------------------
class _LavaErrors(logging.Handler):
    """Collects the tracebacks that Lava's runtime logs (at INFO) for exceptions raised inside its processes."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _probe_network(name: str):
    """The network of probe ``name`` under the active ``lava`` device: (objects, read, namespace), ``read``
    returning what it computed after the run. Each uses the default clock, synapse names with 'synapses' and short
    arrays, except for the one feature it probes."""
    from brian2 import (Clock, EventMonitor, NeuronGroup, StateMonitor, Synapses, TimedArray, defaultclock, ms)

    defaultclock.dt = 1 * ms
    if name == "timed_array":
        # a TimedArray in a run_regularly operation (the layer-0 input of build_network)
        values = TimedArray(np.array([[1.0], [2.0], [3.0]]), dt=1 * ms, name="stimulus")
        g = NeuronGroup(1, "x : 1", name="g")
        op = g.run_regularly("x = stimulus(t, i)", when="start", order=0, name="g_input")
        mon = StateMonitor(g, "x", record=True, name="g_x")
        return [g, op, mon], lambda: np.asarray(mon.x).tolist(), {"stimulus": values}
    if name == "named_clock":
        # every object on a named clock (build_network's snn_clock)
        clock = Clock(dt=1 * ms, name="snn_clock")
        g = NeuronGroup(1, "v : 1", threshold="v > 0.5", reset="v = 0", clock=clock, name="g")
        op = g.run_regularly("v = v + 1", when="start", order=0, name="g_drive")
        from brian2 import SpikeMonitor
        mon = SpikeMonitor(g, name="g_spikes")
        return [g, op, mon], lambda: np.asarray(mon.i).tolist(), {}
    if name == "synapses_name":
        # a projection whose name lacks the word 'synapses' (build_network's <layer>_ff)
        g1 = NeuronGroup(1, "v : 1", threshold="True", name="g1")
        g2 = NeuronGroup(1, "v : 1", name="g2")
        s = Synapses(g1, g2, "w : 1", on_pre="v_post += w", name="g2_ff")
        s.connect(i=[0], j=[0])
        s.w = 1.0
        mon = StateMonitor(g2, "v", record=True, name="g2_v")
        return [g1, g2, s, mon], lambda: np.asarray(mon.v).tolist(), {}
    if name == "inf":
        # the float variant's floor clip(x, 0, inf)
        g = NeuronGroup(1, "v : 1", name="g")
        g.v = -1.0
        op = g.run_regularly("v = clip(v, 0, inf)", when="start", order=0, name="g_clip")
        mon = StateMonitor(g, "v", record=True, name="g_v")
        return [g, op, mon], lambda: np.asarray(mon.v).tolist(), {}
    if name == "long_array":
        # an initial value array of more than 1,000 elements (numpy summarises it when printed)
        g = NeuronGroup(1001, "v : 1", name="g")
        g.v = np.arange(1001.0)
        mon = StateMonitor(g, "v", record=[1000], name="g_v")
        return [g, mon], lambda: np.asarray(mon.v).tolist(), {}
    if name == "float_digits":
        # per-neuron parameters that 8 significant digits do not hold (b_tilde = -2048/3 in the small test network)
        g = NeuronGroup(2, "v : 1\nb : 1 (constant)", name="g")
        g.b = [-2048.0 / 3.0, 0.0]
        op = g.run_regularly("v = b", when="start", order=0, name="g_copy")
        mon = StateMonitor(g, "v", record=[0], name="g_v")
        return [g, op, mon], lambda: [float(x) for x in np.asarray(mon.v)[0]], {}
    if name == "custom_event":
        # a custom event with an EventMonitor (sampling='frames')
        g = NeuronGroup(1, "v : 1", events={"frame_end": "v > 0.5"}, name="g")
        g.v = 1.0
        mon = EventMonitor(g, "frame_end", variables=["v"], name="g_frames")
        return [g, mon], lambda: np.asarray(mon.i).tolist(), {}
    if name == "state_rows":
        # what a StateMonitor holds after 3 steps of v = v + 1 from 0 (Brian2: 1, 2, 3 at when='end')
        g = NeuronGroup(1, "v : 1", name="g")
        op = g.run_regularly("v = v + 1", when="start", order=0, name="g_step")
        mon = StateMonitor(g, "v", record=True, when="end", name="g_v")
        return [g, op, mon], lambda: np.asarray(mon.v).tolist(), {}
    if name == "stock_network":
        # the package's own network (lprnn_brian.network.build_network, unchanged) of a tiny model: lpff 2 → 3,
        # dense 3 → 2, float variant
        from lprnn_brian.ann import Layer, LpRNNModel
        from lprnn_brian.convert import to_snn_spec
        from lprnn_brian.network import build_network

        model = LpRNNModel([Layer("lpff_1", "lpff", np.full((3, 2), 0.5, np.float32), np.zeros(3, np.float32),
                                  retention=0.8),
                            Layer("output", "dense", np.full((2, 3), 0.25, np.float32), np.zeros(2, np.float32))],
                           n_frames=3, frame_dt=1 / 20)
        bn = build_network(to_snn_spec(model, mode="float"))
        return list(bn.network.objects), lambda: [len(m.i) for m in bn.spike_monitors], bn.namespace
    if name == "preset_fixed":
        # the ΣΔ neuron of the Loihi variant (its model, threshold, reset and update) in brian2lava's fixed-point
        # mode, which maps each NeuronGroup onto a model of its library
        from lprnn_brian.equations.render import render

        eqs = render("loihi")
        g = NeuronGroup(2, eqs.model, threshold=eqs.threshold, reset=eqs.reset, name="g")
        op = g.run_regularly(eqs.update, when="groups", order=0, name="g_update")
        from brian2 import SpikeMonitor
        mon = SpikeMonitor(g, name="g_spikes")
        return [g, op, mon], lambda: np.asarray(mon.i).tolist(), {}
    raise SystemExit(f"unknown probe {name!r}; choose one of {PROBES}")


#: The probes, in the order of docs/targets.md.
PROBES = ("timed_array", "named_clock", "synapses_name", "inf", "long_array", "float_digits", "custom_event",
          "state_rows", "preset_fixed")
#: brian2lava's device options per probe (default: its CPU hardware in flexible mode, as the ``lava`` target).
PROBE_DEVICE = {"preset_fixed": {"hardware": "CPU", "mode": "preset", "num_repr": "fixed"}}


def probe(args) -> dict:
    import os

    os.chdir(args.workdir)  # brian2lava deletes ./tmp and ./lava_workspace of its working directory
    import brian2lava
    from brian2 import Network, ms, set_device

    options = PROBE_DEVICE.get(args.name, {"hardware": "CPU", "mode": "flexible"})
    set_device("lava", project_path=args.workdir, **options)
    lava_log = _LavaErrors()
    logging.getLogger("lava.magma.runtime.runtime").addHandler(lava_log)
    objects, read, namespace = _probe_network(args.name)
    info = {"probe": args.name, "brian2lava": brian2lava.__version__}
    try:
        Network(*objects).run(3 * ms, namespace=namespace)
    except Exception as e:  # the outcome under test: recorded, not raised
        inner = [m.strip().splitlines()[-1] for m in lava_log.messages if "Traceback" in m]
        root = e
        while root.__cause__ is not None:  # Brian2 wraps an object's error in BrianObjectException
            root = root.__cause__
        info.update(outcome="error", error=f"{type(e).__name__}: {e}", cause=f"{type(root).__name__}: {root}",
                    process_errors=inner)
    else:
        try:
            info.update(outcome="ran", result=read())
        except Exception as e:  # the network ran, its monitor cannot be read
            info.update(outcome="unreadable", error=f"{type(e).__name__}: {e}")
    return info


def _raise_lava_log_level() -> None:
    """Lava's runtime logs the tracebacks of its processes at INFO on a logger it sets to WARNING when it starts:
    keep that logger at INFO so that :class:`_LavaErrors` sees them."""
    import lava.magma.runtime.runtime as runtime

    init = runtime.Runtime.__init__

    def __init__(self, *a, **k):
        init(self, *a, **k)
        self.log.setLevel(logging.INFO)

    runtime.Runtime.__init__ = __init__


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a spec's drives on target 'lava'")
    r.add_argument("job", help="spec and drives (.npz)")
    r.add_argument("--build-root", required=True)
    r.add_argument("--out", required=True, help="spikes, states and run info (.npz)")
    r.add_argument("--batch", type=int, default=1)
    r.add_argument("--record", default="i_fb,i_ip,i_in", help="comma-separated states ('' for none)")
    q = sub.add_parser("probe", help="run one probe network on brian2lava")
    q.add_argument("name", choices=PROBES + ("stock_network",))
    q.add_argument("--workdir", required=True, help="brian2lava's working and project directory")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.command == "run":
        info = run(args)
    else:
        _raise_lava_log_level()
        info = probe(args)
    info["wall_s"] = time.perf_counter() - t0
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
