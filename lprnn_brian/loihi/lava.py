"""Lava export of the mapped Loihi network: a Lava process network run on Lava's bit-accurate CPU models.

:func:`build_lava` turns a :class:`~lprnn_brian.loihi.params.LoihiNetwork` into Lava processes; :func:`run_lava`
runs them with ``Loihi1SimCfg(select_tag='fixed_pt')`` and returns every integer register at every step, to be
compared with :func:`lprnn_brian.loihi.emulator.emulate` (tests/test_lava.py). :func:`run_bundle` (also
``python -m lprnn_brian.loihi.lava``) does that for a bundle in the Lava environment; :func:`export_lava`
(``lprnn-brian export lava``, main environment) writes the bundle, runs it there and compares.

Per layer k:

- stock Lava ``Dense`` processes (weights = the integer mantissas, ``weight_exp``, ``num_weight_bits``,
  ``sign_mode``) for the feed-forward (layer k−1 → IC), recurrent (layer k → IC) and self-feedback (layer k →
  its own SC, a diagonal matrix) synapses;
- one :class:`~lprnn_brian.loihi.lava_neuron.SigmaDeltaNeuron` process (:mod:`.lava_neuron`, imported on first
  use): the two compartments of the ΣΔ neuron (docs/method.md#input-decoding-and-compartments) with in-ports ``a_ic``
  (ff + rec; Lava adds the inputs of several connections), ``a_sc`` (self-feedback) and ``x_in`` (layer-0 drive), an
  out-port ``s_out`` of binary spikes and the Vars ``u_ic``, ``v_ic``, ``u_sc``, ``v_sc`` and ``spiked`` (the last
  step's spikes); for recording, an out-port ``rec_out`` sends all five every step (to a Lava ``Extractor`` in
  :func:`run_lava`: ``Var.get`` sends one element at a time, ~10 µs each, and reading the registers that way after every
  step made an 85-step SHD run 6× slower, 8.8 s instead of 1.4 s). Its bit-accurate model calls Lava's own fixed-point
  LIF arithmetic (``AbstractPyLifModelFixed.scale_bias`` and ``.subthr_dynamics``: decays truncated toward zero,
  activation ``<< 6``, u wrapped and v clipped at 24 bits) once per compartment; the compartment join (the IC's
  v of the same step is the SC's bias), the IC's floor at ``v_min`` and the threshold ``v > vth_mant·2^6``
  with reset and floor are ours (Lava has no multi-compartment neuron);
- layer 0 only: a Lava ``RingBuffer`` (``fixed_pt``: int32) sending ``x_in[t]`` into the IC's ``x_in`` port,
  where it is added to the bias of that step (it enters v like a per-step bias, as in the contract).

Timing. Lava's ``Dense`` sends at step t the accumulation of the spikes it received at step t − 1 (its
``a_buff``: zero at the first step), and a neuron sends its spikes in the same step it computes them: a spike
of step t − 1 reaches u at step t, exactly the contract (``a = dense(s[t − 1])``). The RingBuffer sends
``data[(time_step − 1) % T]`` and its receiver reads it in the same step, so ``x_in[t]`` enters at step t.
Lava's pipeline adds no step; Lava's ``time_step`` is t + 1 (it counts from 1), and ``Var.get()`` after t + 1
steps is the emulator's record index t. Nothing is shifted in the builder.

Lava is imported lazily: this module imports without it; the functions raise
:class:`~lprnn_brian.errors.UserInputError` naming ``scripts/setup-lava`` where Lava (lava-nc 0.10.0 with the
Python 3.11 fix of that script) is not importable.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from ..errors import UserInputError
from .params import RECORDED, REGISTERS, V_LIMIT, LoihiNetwork, Projection

#: The script that creates the Lava environment (named by every "Lava missing" error).
SETUP = "scripts/setup-lava"
#: Steps per Lava run in :func:`run_lava`: the Extractors buffer this many steps between two reads.
CHUNK = 100

def _import_lava() -> SimpleNamespace:
    """Lava's classes used here and this package's neuron process and model (:mod:`.lava_neuron`), or a
    UserInputError saying how to get them."""
    try:
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi1SimCfg
        from lava.proc.dense.process import Dense
        from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel
        from lava.proc.io.source import RingBuffer
        from lava.utils.weightutils import SignMode, clip_weights, truncate_weights

        from .lava_neuron import PySigmaDeltaModelBitAcc, SigmaDeltaNeuron
    except ModuleNotFoundError as err:
        raise UserInputError(f"Lava is not installed in this Python ({err}): run {SETUP} and use the environment "
                             "it creates (<repo>/.venv-lava, or $LPRNN_BRIAN_LAVA_ENV)") from None
    except ValueError as err:  # the dataclass default that Python 3.11 rejects (see scripts/setup-lava)
        if "ByteEncoder" in str(err):
            raise UserInputError(f"this lava-nc lacks the Python 3.11 compatibility fix ({err}): create the "
                                 f"environment with {SETUP}, which applies it") from None
        raise
    return SimpleNamespace(
        RunSteps=RunSteps, Loihi1SimCfg=Loihi1SimCfg, Dense=Dense, Extractor=Extractor,
        PyLoihiExtractorModel=PyLoihiExtractorModel, RingBuffer=RingBuffer, SignMode=SignMode,
        clip_weights=clip_weights, truncate_weights=truncate_weights, SigmaDeltaNeuron=SigmaDeltaNeuron,
        PySigmaDeltaModelBitAcc=PySigmaDeltaModelBitAcc)


@lru_cache(maxsize=1)
def _lava() -> SimpleNamespace:
    """:func:`_import_lava`, once (a failed import is not cached: it raises again)."""
    return _import_lava()


@dataclass
class LavaNetwork:
    """The Lava processes of a mapped network: ``neurons[k]`` (SigmaDeltaNeuron), ``dense[k]`` (dict ff/rec/fb →
    list of Dense, one per weight exponent), ``source`` (the RingBuffer of layer 0's drive), ``recorders[k]`` (an Extractor of the neurons'
    ``rec_out``, or none) and the run configuration to use."""

    neurons: list
    dense: list[dict]
    source: object
    recorders: list
    run_cfg: object
    n_steps: int

    @property
    def processes(self) -> list:
        return [*self.neurons, *(d for ds in self.dense for group in ds.values() for d in group), self.source,
                *self.recorders]


def _dense(L, p: Projection, name: str) -> list:
    """Stock Dense processes of the projection, one per distinct weight exponent (a Dense has one; with per-row
    exponents each keeps its rows and zeros the others, and their outputs sum at the target port); the mantissas
    must survive Lava's clip and truncation unchanged."""
    mant = np.diag(p.mant) if p.kind == "fb" else np.asarray(p.mant)
    mode = getattr(L.SignMode, p.sign_mode.upper(), None)
    if mode is None or mode == L.SignMode.NULL:
        raise UserInputError(f"{name}: unknown sign mode {p.sign_mode!r} (Lava's are mixed, excitatory, inhibitory)")
    w = mant.astype(np.int32)
    kept = L.truncate_weights(L.clip_weights(w, mode, num_bits=8), mode, p.num_weight_bits)
    if not np.array_equal(kept, mant):
        raise UserInputError(f"{name}: {np.count_nonzero(kept != mant)} mantissas are not {p.num_weight_bits}-bit "
                             f"{p.sign_mode} Loihi weights (Lava's Dense would clip or truncate them): map the network "
                             "with lprnn_brian.loihi.params.to_loihi")
    exp = np.broadcast_to(np.asarray(p.exp, dtype=np.int64), (w.shape[0],))
    groups = p.exponents
    return [L.Dense(weights=np.where((exp == e)[:, None], w, 0).astype(np.int32), weight_exp=int(e),
                    num_weight_bits=int(p.num_weight_bits), sign_mode=mode,
                    name=name if len(groups) == 1 else f"{name}.exp{e}") for e in groups]


def _check_input(net: LoihiNetwork, x_in: np.ndarray) -> np.ndarray:
    x = np.asarray(x_in)
    n0 = net.layers[0].n
    if x.ndim != 2 or x.shape[1] != n0 or x.shape[0] < 1:
        raise UserInputError(f"x_in must be (n_steps, {n0}) integers (LoihiNetwork.input_integers of one sample's "
                             f"drive), got shape {x.shape}")
    if not np.all(np.isfinite(x)) or not np.array_equal(x, np.round(x)):
        raise UserInputError("x_in must hold integers (LoihiNetwork.input_integers rounds the drive)")
    if x.size and np.max(np.abs(x)) > V_LIMIT:
        raise UserInputError(f"x_in reaches {np.max(np.abs(x)):.0f}, beyond the 24-bit voltage (±{V_LIMIT})")
    return x.astype(np.int32)


def build_lava(net: LoihiNetwork, x_in: np.ndarray, *, record: bool = False) -> LavaNetwork:
    """The Lava process network of ``net`` driven by ``x_in``.

    Parameters
    ----------
    net : LoihiNetwork
        From :func:`lprnn_brian.loihi.params.to_loihi` (or :func:`lprnn_brian.loihi.bundle.load_bundle`).
    x_in : ndarray
        Layer 0's integer input per step, (n_steps, n0), in v units: ``net.input_integers(drive)`` of one
        sample. The RingBuffer repeats it after n_steps steps.
    record : bool
        Connect each layer's ``rec_out`` to a Lava ``Extractor`` (buffer of :data:`CHUNK` steps): the host
        receives one (5, n) array of u_ic, v_ic, u_sc, v_sc, spikes per step (:func:`run_lava` does).

    Returns
    -------
    LavaNetwork
        Not yet run: :func:`run_lava`, or ``neurons[0].run(condition, run_cfg=run_cfg)`` and ``.stop()``.
    """
    L = _lava()
    x = _check_input(net, x_in)
    neurons, dense, recorders = [], [], []
    for layer in net.layers:
        ic, sc = layer.ic, layer.soma
        neurons.append(L.SigmaDeltaNeuron(
            n=layer.n, du_ic=ic.du, dv_ic=ic.dv, bias_mant=ic.bias_mant, bias_exp=ic.bias_exp, du_sc=sc.du,
            dv_sc=sc.dv, vth_mant=sc.vth_mant, v_min_ic=ic.v_min, v_min_sc=sc.v_min, name=layer.name))
    for k, layer in enumerate(net.layers):
        d = {}
        for p in layer.projections:
            if p.kind == "ff" and k == 0:
                raise UserInputError(f"{layer.name}: layer 0 takes its input from x_in, not a feed-forward synapse")
            d[p.kind] = _dense(L, p, f"{layer.name}.{p.kind}")
            for proc in d[p.kind]:
                (neurons[k - 1] if p.kind == "ff" else neurons[k]).s_out.connect(proc.s_in)
                proc.a_out.connect(neurons[k].a_sc if p.kind == "fb" else neurons[k].a_ic)
        dense.append(d)
        if record:
            recorders.append(L.Extractor(shape=(len(RECORDED), layer.n), buffer_size=CHUNK))
            neurons[k].rec_out.connect(recorders[-1].in_port)
    source = L.RingBuffer(data=np.ascontiguousarray(x.T))  # (n0, n_steps): Lava's last axis is time
    source.s_out.connect(neurons[0].x_in)
    # models given directly, keyed by instance (Lava's compiler checks that first): Lava would otherwise search
    # for our neuron's by importing (and executing) every module beside this one, and the Extractor's one model
    # has no tag, so that select_tag='fixed_pt' would find none
    model = {p: L.PySigmaDeltaModelBitAcc for p in neurons}
    model.update({p: L.PyLoihiExtractorModel for p in recorders})
    run_cfg = L.Loihi1SimCfg(select_tag="fixed_pt", exception_proc_model_map=model)
    return LavaNetwork(neurons, dense, source, recorders, run_cfg, x.shape[0])


def run_lava(net: LoihiNetwork, x_in: np.ndarray, n_steps: int | None = None) -> dict:
    """Run the mapped network on Lava's bit-accurate CPU models and return every register at every step.

    ``Loihi1SimCfg(select_tag='fixed_pt')``, in runs of :data:`CHUNK` steps; the per-step registers come through
    the layers' Extractors, and the last step's are checked against ``Var.get()`` of the registers themselves
    (Lava's own read path).

    Parameters
    ----------
    net, x_in
        As :func:`build_lava`.
    n_steps : int, optional
        Steps to run (default: ``len(x_in)``; at most that).

    Returns
    -------
    dict
        ``{layer name: {'u_ic', 'v_ic', 'u_sc', 'v_sc': (n_steps, n) int64, 'spikes': (n_steps, n) bool}}``;
        index t is the register at the end of step t (the emulator's ``record='steps'`` convention).
    """
    L = _lava()
    n_steps = len(x_in) if n_steps is None else int(n_steps)
    if not 1 <= n_steps <= len(x_in):
        raise UserInputError(f"n_steps must be 1…{len(x_in)} (the steps of x_in), got {n_steps}")
    lnet = build_lava(net, x_in, record=True)
    rows = [np.zeros((n_steps, len(RECORDED), layer.n), np.int64) for layer in net.layers]
    first = lnet.neurons[0]
    try:
        for start in range(0, n_steps, CHUNK):
            steps = min(CHUNK, n_steps - start)
            first.run(condition=L.RunSteps(num_steps=steps), run_cfg=lnet.run_cfg)
            for k, ex in enumerate(lnet.recorders):
                for t in range(start, start + steps):
                    rows[k][t] = ex.receive()  # float64 holds the 24-bit integers exactly
        for layer, proc, rec in zip(net.layers, lnet.neurons, rows):
            for i, r in enumerate(REGISTERS):
                if not np.array_equal(getattr(proc, r).get(), rec[-1, i]):
                    raise RuntimeError(f"{layer.name}.{r}: Var.get() after {n_steps} steps differs from the "
                                       "value sent on rec_out (a bug in PySigmaDeltaModelBitAcc)")
    finally:
        first.stop()
    return {layer.name: {**{r: rec[:, i] for i, r in enumerate(REGISTERS)}, "spikes": rec[:, -1].astype(bool)}
            for layer, rec in zip(net.layers, rows)}


# --- bundles and the export (lprnn-brian export lava) ------------------------------------------------------
#: Files of a Lava export directory beside the bundle's (``bundle.json``, ``bundle.npz``).
INPUTS_NAME, STATES_NAME, REPORT_NAME = "lava_inputs.npz", "lava_states.npz", "lava_report.json"


def lava_version() -> str:
    """The installed lava-nc version (after importing Lava's modules used here; UserInputError without them)."""
    from importlib.metadata import version

    _lava()
    return version("lava-nc")


def run_bundle(bundle, x_in: np.ndarray, out, *, n_steps: int | None = None, force: bool = False) -> dict:
    """Run every sample of ``x_in`` on the bundle's network in Lava and write the per-step registers (Lava env).

    Parameters
    ----------
    bundle : path
        Bundle directory (:func:`lprnn_brian.loihi.bundle.save_bundle`).
    x_in : ndarray
        (samples, n_steps, n0) integers, :meth:`LoihiNetwork.input_integers` of the drives.
    out : path
        ``.npz`` written atomically: ``LAYER/REG`` (samples, steps, n), REG in u_ic, v_ic, u_sc, v_sc (int64)
        and spikes (bool), and ``info`` (JSON).
    n_steps : int, optional
        Steps per sample (default: all of x_in).

    Returns
    -------
    dict
        Versions, samples, steps and the wall time of each sample's Lava build and run (s).
    """
    import json
    import sys
    import time

    from ..fileio import atomic_path
    from .bundle import load_bundle

    x_in = np.asarray(x_in)
    if x_in.ndim != 3:
        raise UserInputError(f"x_in must be (samples, n_steps, n0), got shape {x_in.shape}")
    info: dict = {"python": sys.version.split()[0], "lava_nc": lava_version(), "numpy": np.__version__,
                  "samples": int(x_in.shape[0]), "run_s": []}
    net = load_bundle(bundle).network
    runs = []
    for x in x_in:
        t0 = time.perf_counter()
        runs.append(run_lava(net, x, n_steps))
        info["run_s"].append(time.perf_counter() - t0)
    info["steps"] = int(runs[0][net.layers[0].name]["spikes"].shape[0]) if runs else 0
    arrays = {f"{L.name}/{r}": np.stack([run[L.name][r] for run in runs]) for L in net.layers for r in RECORDED}
    with atomic_path(out, force=force) as tmp:
        np.savez(tmp, info=json.dumps(info), **arrays)
    return info


def main(argv=None) -> int:
    """``python -m lprnn_brian.loihi.lava BUNDLE --inputs X_IN.npz --out STATES.npz`` in the Lava environment:
    :func:`run_bundle`; prints its info as one JSON line."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m lprnn_brian.loihi.lava",
                                description="Run a Loihi bundle on Lava's bit-accurate CPU models (in the "
                                f"environment of {SETUP}); every register at every step to --out.")
    p.add_argument("bundle", help="bundle directory")
    p.add_argument("--inputs", required=True, help=".npz with x_in (samples, n_steps, n0) integers")
    p.add_argument("--out", required=True, help="per-step registers and spikes (.npz)")
    p.add_argument("--steps", type=int, default=None, help="steps per sample (default: all)")
    p.add_argument("--force", action="store_true", help="replace --out")
    args = p.parse_args(argv)
    with np.load(args.inputs) as z:
        x_in = z["x_in"]
    print(json.dumps(run_bundle(args.bundle, x_in, args.out, n_steps=args.steps, force=args.force)))
    return 0


def lava_python():
    """The Python of the Lava environment: ``$LPRNN_BRIAN_LAVA_ENV/bin/python``, else ``<repo>/.venv-lava``'s
    (the repository this package is installed from, editable). UserInputError naming the setup script if absent."""
    import os
    from pathlib import Path

    env = os.environ.get("LPRNN_BRIAN_LAVA_ENV")
    env = Path(env) if env else Path(__file__).resolve().parents[2] / ".venv-lava"
    py = env / "bin" / "python"
    if not py.is_file():
        raise UserInputError(f"the Lava environment {env} does not exist: run {SETUP} (it creates it there; set "
                             "LPRNN_BRIAN_LAVA_ENV to use another directory)")
    return py


def compare_with_emulator(net: LoihiNetwork, drive: np.ndarray, lava: dict) -> dict:
    """Every register and spike of a Lava run (``LAYER/REG`` arrays, as :func:`run_bundle` writes them) against
    :func:`lprnn_brian.loihi.emulator.emulate` on the same drives: per layer and register, the number of values
    that differ and the first (sample, step, neuron) where they do; ``identical`` overall."""
    from .emulator import emulate

    steps = lava[f"{net.layers[0].name}/spikes"].shape[1]
    emu = emulate(net, drive, record="steps")
    out: dict = {"identical": True, "samples": int(drive.shape[0]), "steps": int(steps), "layers": {}}
    for k, layer in enumerate(net.layers):
        rows = {}
        for r in RECORDED:
            want = (emu.spikes[k] if r == "spikes" else emu.states[k][r])[:, :steps]
            got = lava[f"{layer.name}/{r}"]
            if got.shape != want.shape:
                rows[r] = {"differ": None, "shape": {"lava": list(got.shape), "emulator": list(want.shape)}}
                out["identical"] = False
                continue
            bad = np.argwhere(got != want)
            rows[r] = {"differ": int(len(bad)), "first": [int(i) for i in bad[0]] if len(bad) else None}
            out["identical"] &= not len(bad)
        rows["overflow"] = emu.overflow[k]
        out["layers"][layer.name] = rows
    return out


def export_lava(model, out, *, x: np.ndarray, samples: int = 2, n_steps: int | None = None, factors=None,
                force: bool = False, timeout: float | None = None, threshold: str | None = None) -> dict:
    """``lprnn-brian export lava``: the model mapped to Loihi, run on Lava's bit-accurate CPU models in the Lava
    environment (subprocess) and compared with the emulator step by step.

    Writes to the directory ``out``: the bundle (``bundle.json``, ``bundle.npz``), ``lava_inputs.npz`` (x_in of
    the first ``samples`` inputs), ``lava_states.npz`` (every register at every step, from Lava) and
    ``lava_report.json`` (:func:`compare_with_emulator` and the Lava run's info), which is also returned.

    Parameters
    ----------
    model : LpRNNModel
    x : ndarray
        Input frames (samples, frames, features); the network runs for all their frames.
    samples : int
        How many of them run on Lava (each is a fresh Lava network: ~6 ms per step for the SHD network).
    n_steps : int, optional
        Steps per sample (default: all).
    factors, force, threshold
        As :func:`lprnn_brian.loihi.export.export_loihi` (``threshold`` None: the default policy).
    timeout : float, optional
        Seconds the Lava run may take (default: none).
    """
    import json
    import subprocess

    from ..convert import DEFAULT_THRESHOLD, layer0_drive, to_snn_spec
    from ..fileio import atomic_path, prepare_output_dir, write_text_atomic
    from .bundle import JSON_NAME, NPZ_NAME, save_bundle
    from .params import to_loihi

    from ..ann.forward import check_inputs

    if samples < 1:
        raise UserInputError(f"samples must be ≥ 1, got {samples}")
    x = check_inputs(x, model.n_inputs, min_samples=samples).astype(np.float64)
    python = lava_python()
    prepare_output_dir(out, [JSON_NAME, NPZ_NAME, INPUTS_NAME, STATES_NAME, REPORT_NAME], force, "a Lava export",
                       create=False)
    spec = to_snn_spec(model, mode="loihi", factors=factors, n_frames=x.shape[1],
                       threshold=threshold or DEFAULT_THRESHOLD)
    out = prepare_output_dir(out, [JSON_NAME, NPZ_NAME, INPUTS_NAME, STATES_NAME, REPORT_NAME], force,
                             "a Lava export")
    net = to_loihi(spec)
    save_bundle(net, out, force=True)
    drive = layer0_drive(x[:samples], spec)
    with atomic_path(out / INPUTS_NAME, force=True) as tmp:
        np.savez(tmp, x_in=net.input_integers(drive))
    cmd = [str(python), "-m", "lprnn_brian.loihi.lava", str(out), "--inputs", str(out / INPUTS_NAME),
           "--out", str(out / STATES_NAME), "--force"]
    if n_steps is not None:
        cmd += ["--steps", str(int(n_steps))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise UserInputError(f"the Lava run failed in {python} (exit {proc.returncode}); is the environment up to "
                             f"date ({SETUP})?\n{tail}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(out / STATES_NAME) as z:
        lava = {k: z[k] for k in z.files if k != "info"}
    report = {"lava": info, **compare_with_emulator(net, drive, lava)}
    write_text_atomic(out / REPORT_NAME, json.dumps(report, indent=1), force=True)
    return report


if __name__ == "__main__":
    raise SystemExit(main())
