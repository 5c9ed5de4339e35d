"""SNN throughput: the reference way of running Brian2 against our compiled fast path, in one run.

    python benchmarks/snn_throughput.py                      # the SHD reference network, all targets
    python benchmarks/snn_throughput.py --scaling            # + cost vs hidden size, plot in figures/
    python benchmarks/snn_throughput.py --targets a,c,e --samples 64 --ref-samples 3

Network: the authors' SHD checkpoint (../shared/reference; 128 + 2 × 512 + 20 neurons, 1,785 SNN steps,
Loihi-integer mode). Inputs: the bundled spoken-digit test clips through the SHD front end (48 kHz, hop 256,
80 mel), the same clips for every target. Targets (issue 5):

(a) ``numpy``, the reference way: Brian2's numpy runtime, the network rebuilt for every sample, all-to-all
    ``Synapses`` (zero weights included, as the original research code connects them), every state recorded
    every step, the class decoded from the monitors;
(b) the same on ``cython`` (cold: an empty Cython cache, so the first sample includes compiling);
(c) ours: ``cpp_standalone`` compiled once, ``batch`` samples per run, read-out sampling, row propagation;
(d) GeNN's CPU backend through brian2genn (in the environment of ``scripts/setup-genn``; skipped with a
    note when that environment does not exist);
(e) the ANN: numpy forward pass and torch (CPU) forward pass, whole batch at once;
(f) the same network as a batched, time-stepped PyTorch simulation on CPU, what a user would write instead
    (``torch_peer.py``: dense float64 matmuls of spikes × weights every step, the batch as the leading dimension,
    the declaration's formulas; torch threads = ``--threads``, at least 1), timed at batch 32 and ``--batch``
    (not in the default targets: ``--targets ...,f``).

Every target runs in its own process, so the memory peak (``ru_maxrss`` of the process and of its children,
which includes the compiler for (b) and (c)) belongs to that target alone. Printed per target: time per
sample, samples/s, the cold first result (from an empty cache to the first decoded sample, compilation
included), the ratio to (a), and for (c) the synaptic events per sample against the dense-matvec bound
(the events at this machine's measured multiply-add rate). (c)'s spikes are checked against (a)'s on the
samples both ran (identical in Loihi mode), (f)'s against (a)'s and (c)'s, and (f)'s predictions against (c)'s.
Results are written to ``benchmarks/results/`` as JSON, with the command and the machine;
``python scripts/results_page.py`` turns them into docs/results.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine_info import describe

from lprnn_brian.ann.checkpoint import SHD_REFERENCE_FILE
from lprnn_brian.cli import _int_at_least

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REFERENCE = REPO.parent / "shared" / "reference" / SHD_REFERENCE_FILE
GENN_ENV = Path(os.environ.get("LPRNN_BRIAN_GENN_ENV", REPO / ".venv-genn"))
LABELS = {"a": "numpy, rebuilt per sample (reference)", "b": "cython, rebuilt per sample",
          "c": "cpp_standalone fast path (ours)", "d": "GeNN CPU (brian2genn)", "e-numpy": "ANN, numpy",
          "e-torch": "ANN, torch CPU", "f": "torch CPU time-stepped SNN (peer)"}


# --- models and inputs ---------------------------------------------------------------------------------
def load_model(hidden: int | None, seed: int = 0):
    """The SHD reference checkpoint, or (``hidden`` given) a network of its architecture with ``hidden``
    units per lpRNN layer whose weights are drawn from the reference's own weight values: each matrix keeps
    the reference's distribution of non-zero 3-bit codes, and its density is scaled by 512/hidden so that a
    neuron's expected number of inputs (and so its activity) stays that of the reference."""
    from lprnn_brian.ann.checkpoint import read_reference_checkpoint
    from lprnn_brian.ann.model import Layer

    ref = read_reference_checkpoint(REFERENCE, arch="shd")
    if hidden is None or hidden == 512:
        return ref
    rng = np.random.default_rng(seed)

    def like(W, shape, fan_in_ref):
        W = np.asarray(W)
        nz = W[W != 0]
        density = min(1.0, (nz.size / W.size) * fan_in_ref / shape[1])
        out = rng.choice(nz, size=shape) * (rng.random(shape) < density)
        return out.astype(np.float32)

    def bias(b, n):
        return rng.choice(np.asarray(b), size=n).astype(np.float32)

    L = {layer.name: layer for layer in ref.layers}
    ff, r1, r2, out = L["lpff_1"], L["lprnn_1"], L["lprnn_2"], L["output"]
    layers = [
        Layer("lpff_1", "lpff", np.asarray(ff.W), np.asarray(ff.b), retention=ff.retention),
        Layer("lprnn_1", "lprnn", like(r1.W, (hidden, ff.W.shape[0]), ff.W.shape[0]), bias(r1.b, hidden),
              U=like(r1.U, (hidden, hidden), 512), retention=_per_unit(r1.retention, hidden, rng)),
        Layer("lprnn_2", "lprnn", like(r2.W, (hidden, hidden), 512), bias(r2.b, hidden),
              U=like(r2.U, (hidden, hidden), 512), retention=_per_unit(r2.retention, hidden, rng)),
        Layer("output", "dense", like(out.W, (out.W.shape[0], hidden), 512), np.asarray(out.b)),
    ]
    return dataclasses.replace(ref, layers=layers)


def _per_unit(retention, n, rng):
    r = np.asarray(retention)
    return float(r) if r.ndim == 0 else rng.choice(r, size=n).astype(np.float32)


def load_inputs(n: int) -> np.ndarray:
    from lprnn_brian.tasks.digits import load_digits

    x, _, _ = load_digits("test", front_end="shd")
    if n > len(x):
        x = np.concatenate([x] * (n // len(x) + 1))
    return x[:n]


# --- workers (one process per target) -------------------------------------------------------------------
def _peak_rss_mb() -> dict:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(me, 1), "peak_rss_children_mb": round(kids, 1)}


def _decode(spec, fb_sum: np.ndarray) -> int:
    """Class from the read-out's summed i_fb over the read-out window (the fb decode, ANN units)."""
    from lprnn_brian.simulation import decode_scale

    return int(np.argmax(decode_scale("fb", spec.layers[-1]) * fb_sum))


def worker_reference(target: str, spec, x, n: int, tmp: Path) -> dict:
    """(a)/(b): per sample, build the Brian2 runtime network (all-to-all synapses, every state every step),
    run it, read the monitors and decode the class from the read-out's fb trace."""
    from brian2 import prefs, set_device

    from lprnn_brian.ann.forward import readout_start
    from lprnn_brian.convert import layer0_drive
    from lprnn_brian.network import build_network
    from lprnn_brian.targets import COMPILE_ARGS, read_runs

    set_device("runtime")
    prefs.codegen.target = target
    prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    if target == "cython":
        prefs.codegen.runtime.cython.cache_dir = str(tmp / "cython_cache")  # cold: an empty cache
    times, spikes, preds = [], [], []
    for s in range(n):
        t0 = time.perf_counter()
        bn = build_network(spec, stimulus_values=layer0_drive(x[s], spec), zero_weight_synapses=True)
        bn.network.run(bn.duration, namespace=bn.namespace)
        raw = read_runs(bn, spec.dt)[0]
        fb = raw.states[-1]["i_fb"][readout_start(spec.n_steps, spec.readout_window):]
        preds.append(_decode(spec, fb.sum(axis=0)))
        times.append(time.perf_counter() - t0)
        spikes.append(raw)
        del bn
    warm = times[1:] if len(times) > 1 else times
    return {"per_sample_s": float(np.mean(warm)), "cold_first_s": times[0], "samples": n, "times_s": times,
            "predictions": preds, "_spikes": spikes}


def worker_fast(spec, x, n: int, tmp: Path, batch: int, threads: int, sampling: str, passes: int) -> dict:
    """(c): one compiled binary, ``batch`` samples per run; ``passes`` passes over the ``n`` samples, timed each, the
    per-sample time their median (one pass takes well under a second: a burst of other work on a shared machine
    would move a single pass by tens of percent). Predictions and spikes come from the first pass."""
    from lprnn_brian.simulation import _DECODE_STATE
    from lprnn_brian.targets import Runner

    state = _DECODE_STATE["fb"]
    t0 = time.perf_counter()
    runner = Runner(spec, "cpp_standalone", build_root=tmp / "builds", batch=batch, sampling=sampling,
                    propagation="rows", threads=threads, record=(state,))
    t_build = time.perf_counter() - t0
    first = runner.run_inputs(x[:1])[0]
    cold = time.perf_counter() - t0
    preds, spikes, counts, pass_s = [], [], [], []
    for p in range(passes):
        t1 = time.perf_counter()
        for start in range(0, n, batch):
            for raw in runner.run_inputs(x[start:min(n, start + batch)]):
                pred = _decode(spec, raw.window_sums[-1][state][spec.readout_window])
                count = [len(i) for i in raw.spike_i]
                if p == 0:  # every pass does the same work; the first one's results are kept
                    preds.append(pred)
                    counts.append(count)
                    if len(spikes) < 8:
                        spikes.append(raw)
        pass_s.append((time.perf_counter() - t1) / n)
    per_sample = float(np.median(pass_s))
    runner.close()
    del first
    return {"per_sample_s": per_sample, "pass_per_sample_s": pass_s, "cold_first_s": cold, "build_s": t_build,
            "samples": n, "batch": batch,
            "threads": threads, "sampling": sampling, "predictions": preds,
            "spikes_per_layer": np.mean(counts, axis=0).tolist(), "_spikes": spikes}


def worker_genn(spec, x, n: int, tmp: Path) -> dict:
    """(d): brian2genn's CPU backend (GPU backend where a GPU exists), through the ``genn`` Runner target."""
    from lprnn_brian.convert import layer0_drive
    from lprnn_brian.targets import Runner

    t0 = time.perf_counter()
    runner = Runner(spec, "genn", build_root=tmp / "builds", record=("i_fb",))
    times, spikes = [], []
    for s in range(n):
        t1 = time.perf_counter()
        spikes.append(runner.run(layer0_drive(x[s], spec)))
        times.append(time.perf_counter() - t1)
        if s == 0:
            cold = time.perf_counter() - t0
    runner.close()
    warm = times[1:] if len(times) > 1 else times
    return {"per_sample_s": float(np.mean(warm)), "cold_first_s": cold, "samples": n, "times_s": times,
            "_spikes": spikes}


def worker_ann(kind: str, model, x, n: int) -> dict:
    """(e): the rate network on the whole batch at once (numpy float32 forward, or torch CPU)."""
    t0 = time.perf_counter()
    if kind == "numpy":
        from lprnn_brian.ann.forward import forward

        forward(model, x[:1])
        t1 = time.perf_counter()
        preds = forward(model, x[:n], keep_states=False).predictions
    else:
        import torch

        from lprnn_brian.ann.torch_model import TorchLpRNN

        torch.set_num_threads(1)
        net = TorchLpRNN.from_model(model).eval()
        with torch.no_grad():
            net(torch.as_tensor(x[:1], dtype=torch.float32))
            t1 = time.perf_counter()
            preds = net.logits(net(torch.as_tensor(x[:n], dtype=torch.float32))).argmax(-1).numpy()
    per = (time.perf_counter() - t1) / n
    return {"per_sample_s": per, "cold_first_s": t1 - t0 + per, "samples": n,
            "predictions": np.asarray(preds).tolist()}


def worker_torch(spec, x, n: int, batch: int, threads: int) -> dict:
    """(f): the network as a batched, time-stepped torch simulation (``torch_peer.py``), ``threads`` torch threads
    (at least 1); the time per sample at batch 32 and at ``batch``, predictions and spikes from the run at ``batch``.
    Cold: from importing torch to the first sample's result."""
    from types import SimpleNamespace

    from lprnn_brian.convert import layer0_drive

    t0 = time.perf_counter()
    import torch

    from torch_peer import TorchPeer

    torch.set_num_threads(max(1, threads))
    peer = TorchPeer(spec)
    peer.run(layer0_drive(x[0], spec))
    cold = time.perf_counter() - t0
    per_batch, preds, spikes, counts = {}, [], [], []
    for b in sorted({32, batch}, key=lambda b: b != batch):  # the run at ``batch`` (the one kept) first
        t1 = time.perf_counter()
        for start in range(0, n, b):
            run = peer.run(np.stack([layer0_drive(x[s], spec) for s in range(start, min(n, start + b))]))
            if b != batch:
                continue
            for i in range(run.readout_fb_sum.shape[0]):
                preds.append(_decode(spec, run.readout_fb_sum[i]))
                counts.append([int(s[i].sum()) for s in run.spikes])
                if len(spikes) < 8:
                    spike_i, spike_step = run.spike_trains(i)
                    spikes.append(SimpleNamespace(spike_i=spike_i, spike_step=spike_step))
        per_batch[str(b)] = (time.perf_counter() - t1) / n
    return {"per_sample_s": per_batch[str(batch)], "per_sample_by_batch_s": per_batch, "cold_first_s": cold,
            "samples": n, "batch": batch, "threads": torch.get_num_threads(), "predictions": preds,
            "spikes_per_layer": np.mean(counts, axis=0).tolist(), "_spikes": spikes}


def run_worker(args) -> None:
    from lprnn_brian.convert import to_snn_spec

    if args.worker == "matvec":
        Path(args.json_out).write_text(json.dumps({"matvec_mac_per_s": matvec_rate()}))
        return
    model = load_model(args.hidden)
    x = load_inputs(args.samples)
    spec = to_snn_spec(model, mode=args.mode)
    with tempfile.TemporaryDirectory(prefix="lprnn_bench_") as tmp:
        tmp = Path(tmp)
        if args.worker in ("a", "b"):
            out = worker_reference("numpy" if args.worker == "a" else "cython", spec, x, args.samples, tmp)
        elif args.worker == "c":
            out = worker_fast(spec, x, args.samples, tmp, args.batch, args.threads, args.sampling, args.passes)
        elif args.worker == "d":
            out = worker_genn(spec, x, args.samples, tmp)
        elif args.worker == "f":
            out = worker_torch(spec, x, args.samples, args.batch, args.threads)
        else:
            out = worker_ann(args.worker.split("-")[1], model, x, args.samples)
    spikes = out.pop("_spikes", None)
    if spikes is not None:
        arrays = {f"s{s}_l{k}_{f}": getattr(raw, f"spike_{f}")[k] for s, raw in enumerate(spikes)
                  for k in range(len(spec.layers)) for f in ("i", "step")}
        np.savez(args.spikes_out, **arrays)
        out["spikes_file"] = args.spikes_out
    out.update(_peak_rss_mb())
    Path(args.json_out).write_text(json.dumps(out))


# --- driver ---------------------------------------------------------------------------------------------
def launch(worker: str, samples: int, hidden: int | None, args, tmp: Path | None, batch: int | None = None) -> dict | None:
    """Run one worker in its own process (one BLAS/OpenMP thread, so every figure is one core's), at ``batch``
    (default ``--batch``)."""
    if tmp is None:
        with tempfile.TemporaryDirectory(prefix="lprnn_bench_") as t:
            return launch(worker, samples, hidden, args, Path(t), batch)
    python = sys.executable
    if worker == "d":
        python = str(GENN_ENV / "bin" / "python")
        if not Path(python).exists():
            print(f"  (d) skipped: no GeNN environment at {GENN_ENV}; create it with scripts/setup-genn")
            return None
    js, sp = tmp / f"{worker}-{hidden}-{batch}.json", tmp / f"{worker}-{hidden}-{batch}.npz"
    cmd = [python, __file__, "--worker", worker, "--samples", str(samples), "--mode", args.mode,
           "--batch", str(args.batch if batch is None else batch), "--threads", str(args.threads), "--sampling", args.sampling,
           "--passes", str(args.passes), "--json-out", str(js), "--spikes-out", str(sp)] + (["--hidden", str(hidden)] if hidden else [])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  ({worker}) failed after {time.perf_counter() - t0:.0f} s:\n{proc.stderr[-3000:]}")
        return None
    return json.loads(js.read_text())


def same_spikes(file_a: str, file_b: str) -> tuple[int, bool]:
    a, b = np.load(file_a), np.load(file_b)
    common = sorted(set(a.files) & set(b.files))
    return len({k.split("_")[0] for k in common}), all(np.array_equal(a[k], b[k]) for k in common)


def matvec_rate(n: int = 512, steps: int = 1785) -> float:
    """Multiply-adds per second of a dense (steps × n)·(n × n) product on one core (BLAS)."""
    rng = np.random.default_rng(0)
    s, W = rng.random((steps, n)), rng.random((n, n))
    s @ W
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        s @ W
        reps += 1
    return reps * steps * n * n / (time.perf_counter() - t0)


def synaptic_events(spec, spikes_per_layer) -> tuple[float, float]:
    """Synaptic events per sample: spikes × non-zero fan-out, and spikes × all-to-all fan-out."""
    nnz = full = 0.0
    for k, L in enumerate(spec.layers):
        if k > 0:
            nnz += spikes_per_layer[k - 1] * np.count_nonzero(L.W_snn) / L.W_snn.shape[1]
            full += spikes_per_layer[k - 1] * L.W_snn.shape[0]
        if L.U_snn is not None:
            nnz += spikes_per_layer[k] * np.count_nonzero(L.U_snn) / L.U_snn.shape[1]
            full += spikes_per_layer[k] * L.U_snn.shape[0]
    return nnz, full


def build_parser() -> argparse.ArgumentParser:
    """The command line (also read by scripts/results_page.py to write a stored run's command)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="a,b,c,d,e", help="comma list of a,b,c,d,e,f (default a,b,c,d,e; f, the "
                    "torch peer, on request)")
    ap.add_argument("--samples", type=int, default=128, help="samples for (c), (e) and (f)")
    ap.add_argument("--ref-samples", type=int, default=5, help="samples for (a), (b) and (d) (the first, cold, is "
                    "not in the per-sample mean)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--passes", type=_int_at_least(1), default=3, help="timed passes of (c) over its samples; its per-sample time "
                                                           "is their median (default 3)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--sampling", default="readout", choices=("readout", "frames"))
    ap.add_argument("--mode", default="loihi", choices=("float", "loihi"))
    ap.add_argument("--scaling", action="store_true", help="also the cost against hidden size (targets a, c, f, e) "
                    "and against batch (c, f; GPU lanes from --gpu-json) and a plot")
    ap.add_argument("--sizes", default="128,256,512,1024,2048,4096")
    ap.add_argument("--ref-max-hidden", type=int, default=2048, help="largest hidden size (a) runs at (it needs "
                    "about 1 min and 1 GB per sample at 2,048)")
    ap.add_argument("--batches", default="1,8,32,128", help="batches of the cost-against-batch panel (hidden 512)")
    ap.add_argument("--gpu-json", help="a scripts/gpu-check record: its GPU lanes join the cost-against-batch panel")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--plot-from", help="redraw the scaling figure from a results JSON and exit")
    # worker mode (internal)
    ap.add_argument("--worker")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--json-out")
    ap.add_argument("--spikes-out")
    return ap


def main() -> int:
    args = build_parser().parse_args()
    if args.worker:
        run_worker(args)
        return 0
    if args.plot_from:
        saved = json.loads(Path(args.plot_from).read_text())
        _plot_scaling(saved["scaling"], argparse.Namespace(**saved["args"]))
        return 0
    if not REFERENCE.exists():
        print(f"the SHD reference checkpoint is missing: {REFERENCE}", file=sys.stderr)
        return 2
    chosen = [t.strip() for t in args.targets.split(",") if t.strip()]
    workers = [w for t in chosen for w in (("e-numpy", "e-torch") if t == "e" else (t,))]
    rate = launch("matvec", 0, None, args, None)["matvec_mac_per_s"]
    report = {"command": shlex.join(["python", "benchmarks/snn_throughput.py", *sys.argv[1:]]),
              "machine": describe() | {"matvec_mac_per_s": rate},
              "args": vars(args), "shd": {}}
    with tempfile.TemporaryDirectory(prefix="lprnn_bench_") as tmp:
        tmp = Path(tmp)
        print(f"SHD reference network, {args.mode} mode; dense matvec rate on one core: {rate / 1e9:.2f} G "
              f"multiply-adds/s")
        results = {}
        for w in workers:
            n = args.ref_samples if w in ("a", "b", "d") else args.samples
            print(f"running {w}: {LABELS[w]} ({n} samples) …", flush=True)
            results[w] = launch(w, n, None, args, tmp)
        report["shd"] = _print_table(results, args)
        if "a" in results and "c" in results and results["a"] and results["c"]:
            n_cmp, ok = same_spikes(results["a"]["spikes_file"], results["c"]["spikes_file"])
            print(f"spikes of (c) vs (a) on {n_cmp} samples: {'identical' if ok else 'DIFFERENT'}")
            report["shd"]["c_vs_a_identical_spikes"] = ok
        if "d" in results and results["d"] and results.get("c"):
            n_cmp, ok = same_spikes(results["d"]["spikes_file"], results["c"]["spikes_file"])
            print(f"spikes of (d) vs (c) on {n_cmp} samples: {'identical' if ok else 'DIFFERENT'}")
            report["shd"]["d_vs_c_identical_spikes"] = ok
        if results.get("f"):
            report["shd"].update(_compare_peer(results))
        if results.get("c"):
            from lprnn_brian.convert import to_snn_spec

            spec = to_snn_spec(load_model(None), mode=args.mode)
            nnz, full = synaptic_events(spec, results["c"]["spikes_per_layer"])
            bound = nnz / rate
            c = results["c"]["per_sample_s"]
            print(f"synaptic events per sample: {nnz / 1e6:.1f} M non-zero ({full / 1e6:.1f} M all-to-all); "
                  f"dense-matvec bound {bound * 1e3:.2f} ms per sample; (c) takes {c * 1e3:.1f} ms, "
                  f"{c / bound:.1f}× the bound ({bound / c:.0%} of its speed)")
            report["shd"].update({"events_nonzero": nnz, "events_all_to_all": full, "matvec_bound_s": bound})
        if args.scaling:
            report["scaling"] = scaling(args, tmp)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"snn_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(report, indent=1, default=float))
    os.replace(tmp_path, path)
    print(f"wrote {path}")
    return 0


def _compare_peer(results: dict) -> dict:
    """(f)'s spikes and predictions against (a)'s and (c)'s on the samples each pair ran, and its time per sample
    against (c)'s at the same batch; printed, and returned for the record."""
    f, out = results["f"], {}
    for w in ("a", "c"):
        if results.get(w):
            n_cmp, ok = same_spikes(results[w]["spikes_file"], f["spikes_file"])
            print(f"spikes of (f) vs ({w}) on {n_cmp} samples: {'identical' if ok else 'DIFFERENT'}")
            out[f"f_vs_{w}_identical_spikes"] = ok
            theirs = results[w]["predictions"]
            n = min(len(theirs), len(f["predictions"]))
            same = int(np.sum(np.equal(theirs[:n], f["predictions"][:n])))
            print(f"predictions of (f) equal ({w})'s on {same} of {n} samples")
            out[f"f_{w}_same_predictions"] = [same, n]
    c = results.get("c")
    if c:
        if c["batch"] == f["batch"]:
            ratio = f["per_sample_s"] / c["per_sample_s"]
            faster = "(c) is faster" if ratio > 1 else "(f), the torch peer, is FASTER"
            print(f"per sample at batch {c['batch']}: (c) {c['per_sample_s'] * 1e3:.1f} ms, (f) "
                  f"{f['per_sample_s'] * 1e3:.1f} ms; (f)/(c) = {ratio:.2f}: {faster}")
            out["f_over_c_same_batch"] = ratio
    print(f"(f) predictions: {f['predictions']}")
    return out


def _print_table(results: dict, args) -> dict:
    base = results.get("a")
    print(f"\n{'target':<42} {'per sample':>11} {'samples/s':>10} {'cold first':>11} {'vs (a)':>8} "
          f"{'peak RSS':>9} {'children':>9}")
    table = {}
    for w, r in results.items():
        if not r:
            continue
        ratio = base["per_sample_s"] / r["per_sample_s"] if base else None  # None: (a) not run
        shown = f"{ratio:>7.1f}×" if ratio is not None else f"{'—':>8}"
        print(f"({w}) {LABELS[w]:<38} {r['per_sample_s'] * 1e3:>8.1f} ms {1 / r['per_sample_s']:>10.2f} "
              f"{r['cold_first_s']:>9.1f} s {shown} {r['peak_rss_mb']:>6.0f} MB {r['peak_rss_children_mb']:>6.0f} MB")
        table[w] = {k: v for k, v in r.items() if k != "spikes_file"} | {"ratio_to_a": ratio}
    if results.get("c"):
        c = results["c"]
        passes = ", ".join(f"{t * 1e3:.1f}" for t in c.get("pass_per_sample_s", []))
        print(f"(c) batch {c['batch']}, {c['sampling']} sampling, {c['threads']} OpenMP threads; build "
              f"{c['build_s']:.1f} s; per sample in each pass: {passes} ms (the median is shown)")
    if results.get("f"):
        f = results["f"]
        print(f"(f) {f['threads']} torch thread(s); per sample at batch " + ", ".join(
            f"{b}: {t * 1e3:.1f} ms" for b, t in f["per_sample_by_batch_s"].items()))
    print()
    return table


def scaling(args, tmp: Path) -> dict:
    """Cost per sample against hidden size for (a) (up to ``--ref-max-hidden``), (c), (f) and the numpy ANN, and
    against batch for (c) and (f) at the checkpoint's size; plot to figures/snn_scaling.{png,pdf}."""
    sizes = [int(s) for s in args.sizes.split(",")]
    keys = ("per_sample_s", "cold_first_s", "peak_rss_mb", "peak_rss_children_mb")
    rows = {}
    for h in sizes:
        print(f"hidden {h}:", flush=True)
        row = {}
        plan = ([("a", 1 if h > 512 else 2)] if h <= args.ref_max_hidden else []) + \
            [("c", args.batch), ("f", args.batch), ("e-numpy", args.samples)]
        for w, n in plan:
            r = launch(w, n, h, args, tmp, batch=args.batch)
            if r:
                row[w] = {k: r[k] for k in keys}
                print(f"  ({w}) {r['per_sample_s'] * 1e3:9.1f} ms per sample, cold {r['cold_first_s']:.1f} s, "
                      f"peak RSS {r['peak_rss_mb']:.0f} MB (children {r['peak_rss_children_mb']:.0f} MB)")
        if "a" in row and "c" in row:
            row["ratio_a_over_c"] = row["a"]["per_sample_s"] / row["c"]["per_sample_s"]
            print(f"  (a)/(c) = {row['ratio_a_over_c']:.0f}×")
        rows[h] = row
    batches = {}
    for b in [int(b) for b in args.batches.split(",")]:
        print(f"batch {b} (hidden 512):", flush=True)
        batches[b] = {}
        for w in ("c", "f"):
            r = launch(w, min(256, max(8, 2 * b)), None, args, tmp, batch=b)
            if r:
                batches[b][w] = {k: r[k] for k in keys}
                print(f"  ({w}) {r['per_sample_s'] * 1e3:9.1f} ms per sample, peak RSS "
                      f"{max(r['peak_rss_mb'], r['peak_rss_children_mb']):.0f} MB")
    out = {"hidden": rows, "batch": batches, "gpu": gpu_lanes(args.gpu_json) if args.gpu_json else {}}
    _plot_scaling(out, args)
    return out


def gpu_lanes(path) -> dict:
    """Samples/s of the GPU lanes of a ``scripts/gpu-check`` record, by target and batch (hidden 512)."""
    rec = json.loads(Path(path).read_text())
    out: dict = {}
    for lane in rec.get("lanes", {}).values():
        res = lane.get("result") or {}
        if lane.get("target") in ("cuda_standalone", "genn") and res.get("samples_per_s"):
            out.setdefault(lane["target"], {})[int(lane["batch"])] = {"per_sample_s": 1.0 / res["samples_per_s"]}
    return out


def _plot_scaling(out: dict, args) -> None:
    """Time and memory per sample against hidden size, and time per sample against batch (the GPU lanes of a
    gpu-check record where given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, batches, gpu = out.get("hidden", out), out.get("batch", {}), out.get("gpu", {})
    rows = {int(h): r for h, r in rows.items()}
    # Okabe–Ito, colour-blind safe
    colours = {"a": "#0072B2", "c": "#D55E00", "f": "#CC79A7", "e-numpy": "#009E73", "cuda_standalone": "#E69F00",
               "genn": "#56B4E9"}
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
    sizes = sorted(rows)
    for w in ("a", "c", "f", "e-numpy"):
        hs = [h for h in sizes if w in rows[h]]
        if not hs:
            continue
        ax1.loglog(hs, [rows[h][w]["per_sample_s"] for h in hs], "o-", color=colours[w], label=LABELS[w])
        ax2.semilogx(hs, [max(rows[h][w]["peak_rss_mb"], rows[h][w]["peak_rss_children_mb"]) for h in hs], "o-",
                     color=colours[w], label=LABELS[w])
    ax1.set_ylabel("time per sample (s)")
    ax1.set_title(f"SHD-architecture network, {args.mode} mode, 1,785 steps", fontsize=9)
    ax2.set_ylabel("peak memory (MB, process or its children)")
    for ax in (ax1, ax2):
        ax.set_xlabel("hidden units per lpRNN layer")
        ax.set_xticks(sizes, [str(h) for h in sizes])
    bs = sorted(int(b) for b in batches)
    for w in ("c", "f"):
        xs = [b for b in bs if w in batches.get(b, batches.get(str(b), {}))]
        if xs:
            ys = [batches.get(b, batches.get(str(b)))[w]["per_sample_s"] for b in xs]
            ax3.loglog(xs, ys, "o-", color=colours[w], label=LABELS[w])
    for target, points in gpu.items():
        xs = sorted(int(b) for b in points)
        ax3.loglog(xs, [points[b if b in points else str(b)]["per_sample_s"] for b in xs], "s--",
                   color=colours.get(target, "k"), label=f"{target} (GPU, scripts/gpu-check)")
    ax3.set_xlabel("samples per run (batch)")
    ax3.set_ylabel("time per sample (s)")
    ax3.set_title("hidden 512 (the checkpoint)", fontsize=9)
    all_b = sorted(set(bs) | {int(b) for p in gpu.values() for b in p})
    if all_b:
        ax3.set_xticks(all_b, [str(b) for b in all_b])
    for ax in (ax1, ax2, ax3):
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig_dir = REPO / "figures"
    fig_dir.mkdir(exist_ok=True)
    for ext in ("png", "pdf"):
        tmp = fig_dir / f".snn_scaling.tmp.{ext}"
        fig.savefig(tmp)
        os.replace(tmp, fig_dir / f"snn_scaling.{ext}")
    plt.close(fig)
    print(f"wrote {fig_dir / 'snn_scaling.png'} and .pdf")


if __name__ == "__main__":
    sys.exit(main())
