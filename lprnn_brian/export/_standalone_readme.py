"""The README.md of an exported standalone project (:mod:`lprnn_brian.export.standalone`): how to build and run it,
and the input and output formats, with this model's numbers and file names."""
from __future__ import annotations

import numpy as np

from ..convert import SNNSpec

_BUILD = {
    "cpp_standalone": "a C++11 compiler (g++ or clang++, as `$(CXX)`) and GNU make",
    "cuda_standalone": "the CUDA toolkit (12 or 13: nvcc, cuRAND), a C++17 host compiler (`$(CXX)`, g++) and GNU "
                       "make; running needs an NVIDIA GPU",
    "genn": "a C++11 compiler (g++ or clang++, as `$(CXX)`) and GNU make (not GeNN: its code generator already ran; "
            "this is the code of GeNN's single-threaded CPU backend)",
}


def _files_table(manifest: dict) -> str:
    """One row per output file of every layer: what it holds, its dtype and shape."""
    steps = manifest["n_steps"]
    rows = ["| layer | quantity | file | dtype | shape |", "|---|---|---|---|---|"]
    for L in manifest["layers"]:
        name, N = L["name"], L["group_size"]
        if L.get("spike_record"):
            rows.append(f"| {name} | spikes of each copy: neuron indices and spikes per step (format below) "
                        f"| `{L['spike_record']}` | int32, int64, int16 or int32 | (header, counts, indices) |")
        else:
            rows.append(f"| {name} | spikes: neuron index in the batch (copy = index // {L['n']}) "
                        f"| `{L['spikes']['i']}` | int32 | (spikes,) |")
            rows.append(f"| {name} | spikes: time in s (step = round(t / dt)) | `{L['spikes']['t']}` | float64 "
                        "| (spikes,) |")
        for v, f in (L["states"] or {}).items():
            rows.append(f"| {name} | `{v}` before every step's update | `{f}` | float64 | ({steps}, {N}) |")
        if L["frames"]:
            rows.append(f"| {name} | frame-end samples: neuron index | `{L['frames']['i']}` | int32 | (records,) |")
            rows.append(f"| {name} | frame-end samples: time in s | `{L['frames']['t']}` | float64 | (records,) |")
            for v in manifest["record"]:
                rows.append(f"| {name} | frame-end samples: `{v}` | `{L['frames'][v]}` | float64 | (records,) |")
            for w, d in L["sums"].items():
                for v, f in d.items():
                    rows.append(f"| {name} | sum of `{v}` over steps ≥ {manifest['windows'][w]} ({w}) | `{f}` "
                                f"| float64 | ({N},) |")
    return "\n".join(rows)


def _wrap(text: str) -> str:
    """A paragraph of the README: the words of ``text`` (its line breaks and indents dropped) in lines of at most
    115 characters."""
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=115, break_long_words=False, break_on_hyphens=False)


def _input_texts(manifest: dict, genn: bool) -> tuple[str, str, str, str]:
    """The README's text on the input, for a binary that reads it per ANN frame (the row layout) or per SNN step:
    what ``lprnn_input`` computes from the frames, its formula, the ``--drive`` paragraph and what ``./main`` reads."""
    drive, B, n0, steps = manifest["drive"], manifest["layout"]["batch"], manifest["n0"], manifest["n_steps"]
    rows = drive["shape"][0]
    columns = f"{B}·{n0} values (copy b: columns b·{n0} … b·{n0} + {n0 - 1})"
    T, F = manifest["n_frames"], manifest["n_features"]
    frames = f"""**Frames** (`./run.sh FRAMES.npy ...`): a `.npy` file (NumPy's format: `numpy.save`, or any writer of
        its documented header) of float32 or float64 values, little-endian, C order, shape (samples, {T}, {F}): {T}
        frames of {F} features per sample, the model's input. `lprnn_input` rounds every value to float32 (as
        lprnn_brian does)"""
    if drive["per"] == "frame":
        frames = _wrap(frames + " and computes the drive of layer-0 neuron i in frame t as")
        formula = "X[t][i] = f0 · Σ_j x[t][j] · W0[i][j]"
        reads = f"""raw float64, {rows} rows, one per ANN frame, of {columns}, written by `./lprnn_input batch
            --frames FRAMES.npy K FILE` to `static_arrays/{drive['static_array']}` of the directory that `./main`
            runs in, which loads it when it starts (the network holds frame ⌊n / M⌋ over step n). `run.sh` runs each
            batch in a directory of its own (`RESULTS/batch_<k>.tmp/run`, removed when the batch is done) whose
            `static_arrays/` links the project's arrays and holds the batch's input, so that it never writes into
            the project directory: several run.sh (the tasks of an array job) may share it."""
        per, function = "ANN frame", "`lprnn_brian.convert.input_frames`"
    else:
        frames = _wrap(frames + f""", holds frame ⌊n / M⌋ for step n
            (`static_arrays/lprnn_input_frame_of_step`, int32 ({steps},)) and computes the drive of layer-0 neuron i
            in step n as""")
        formula = "X[n][i] = f0 · Σ_j x[frame(n)][j] · W0[i][j]"
        passed = (f"`static_arrays/{drive['static_array']}`" if genn else
                  f"`{drive['timed_array']}.values=FILE` on its command line")
        reads = f"""raw float64, {rows} rows, one per SNN step, of {columns}, written by `./lprnn_input batch
            --frames FRAMES.npy K FILE` and passed as {passed}."""
        per, function = "SNN step", "`lprnn_brian.convert.layer0_drive`"
    drive_text = _wrap(f"""**Drive** (`./run.sh --drive DRIVE.npy ...`): the layer-0 drive itself in the form that
        this project's binary reads, per {per}: `.npy` float64 (samples, {rows}, {n0}), as lprnn_brian computes it
        ({function}). Runs on it give spikes identical to `lprnn-brian simulate` on the same frames. Write it on a
        machine with lprnn_brian:""")
    return frames, formula, drive_text, _wrap("What `./main` reads, per batch: " + reads)


def _record_note(manifest: dict) -> str:
    """The format of the row layout's spike files (:mod:`lprnn_brian.spike_record`), if the project writes them."""
    if not any(L.get("spike_record") for L in manifest["layers"]):
        return ""
    B, steps = manifest["layout"]["batch"], manifest["n_steps"]
    return (_wrap("""A `.spikes` file holds the spikes of every copy of its layer as the row layout's recorder writes
                  them (`lprnn_brian.spike_record`), little-endian:""") + f"""

    int32  magic                  0x324B5053 (the bytes "SPK2")
    int32  B                      network copies ({B})
    int32  n_steps                steps of the run ({steps})
    int32  w                      bytes per neuron index: 2 (int16, layers of at most 32,768 neurons) or 4 (int32)
    int64  count[B]               spikes of each copy
    int32  per_step[B][n_steps]   spikes of each copy at each step (copy-major; row c sums to count[c])
    then for each copy c:  int{{8w}} index[count[c]]   neuron within the copy (0 … n − 1), step by step, and within a
                                                     step in increasing order

""" + _wrap("""Copy c of batch k holds sample k·B + c; the copies past the last sample are recorded too (zero input,
                no sample).""") + "\n\n")


def _scale_text(value) -> str:
    if isinstance(value, list):
        a = np.asarray(value)
        return f"per neuron ({a.min():.6g} … {a.max():.6g}; `decode_scale` in lprnn_project.json)"
    return f"{value:.17g}"


# long: the README's text, one f-string with this model's numbers and file names
def readme(spec: SNNSpec, manifest: dict) -> str:
    """The project's README.md."""
    target = manifest["target"]
    lay = manifest["layout"]
    B, F, n0, steps = lay["batch"], manifest["n_features"], manifest["n0"], manifest["n_steps"]
    L0 = spec.layers[0]
    per_unit = isinstance(L0.tau_I, np.ndarray)
    settings = manifest["settings"]
    tools = ", ".join(f"{k} {v}" for k, v in settings.items() if k in ("brian2cuda", "brian2genn", "genn"))
    cuda = target == "cuda_standalone"
    genn = target == "genn"
    make_vars = ["`ARCH` (default `-march=native`): the CPU the code is compiled for. Build on the kind of node that "
                 "runs it, or name the CPU (`make ARCH=-march=x86-64-v3`); the project is compiled without fast-math "
                 "and without FMA contraction, so the numbers do not depend on it.",
                 "`CXX`: the C++ compiler (make's default: g++)."]
    if cuda:
        make_vars += [f"`CUDA_PATH` (default `/usr/local/cuda`, or your environment's `CUDA_PATH`): the toolkit; "
                      f"`CUDA_ARCH` (default `{settings['cuda_arch']}`): the GPU architecture (`sm_80` A100, `sm_90` "
                      "H100/H200; the default's PTX also runs on newer GPUs); `CURAND_INCLUDE`, `CURAND_LIB` (default: "
                      "the toolkit's `include` and `lib64`): where `curand.h` and `libcurand.so` are."]
    layers = "\n".join(f"| {L['name']} | {L['kind']} | {L['n']} | {_scale_text(L['decode_scale']['fb'])} | "
                       f"{_scale_text(L['decode_scale']['count'])} |" for L in manifest["layers"])
    states = ", ".join(manifest["record"])
    sampling = {"frames": f"every layer's states ({states}) at the ANN frame ends and their sums over each read-out "
                          "window",
                "readout": f"the read-out layer's states ({states}) at the ANN frame ends and their sums over each "
                           "read-out window",
                "steps": f"every layer's states ({states}) at every step"}[lay["sampling"]]
    genn_note = ("\nA GeNN project reads its input from `static_arrays/stimulus_values` and writes `results/`, so "
                 "`run.sh` runs one batch at a time per project directory (it refuses a second one): copy the "
                 "directory for parallel jobs.\n") if genn else ""
    drive_note = (" (per-unit time constants: times `static_arrays/lprnn_input_unit_scale`, τ_U/τ_I,i)"
                  if per_unit else "")
    frames, formula, drive_text, reads = _input_texts(manifest, genn)
    record_note = _record_note(manifest)
    return f"""# ΣΔ network of {manifest['model'] or 'a model'}: a {target} project

Generated by lprnn_brian {manifest['lprnn_brian']} with Brian2 {manifest['brian2']}{', ' + tools if tools else ''}
(SNN spec digest `{manifest['spec_digest']}`, {spec.mode} arithmetic, threshold policy
`{spec.threshold_policy}`). The directory is self-contained: nothing in it names the machine that exported it, and
building and running it needs no Python.

## Build

Needs {_BUILD[target]}.

```sh
make -j 4        # builds ./main (the network) and ./lprnn_input (the input converter)
```

Variables (`make NAME=value`):

{chr(10).join('- ' + v for v in make_vars)}

## Run

```sh
./run.sh FRAMES.npy RESULTS            # every sample of FRAMES.npy, {B} per run of ./main
./run.sh FRAMES.npy RESULTS 3 5        # batches 3 to 5 only (e.g. one batch per task of an array job:
                                       #   ./run.sh FRAMES.npy RESULTS $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_ID)
./run.sh --drive DRIVE.npy RESULTS     # the layer-0 drive instead of the frames (below)
```

Each run of `./main` simulates {B} copies of the network side by side, sample k·{B} + b in copy b of batch k
(the copies do not interact; a batch past the last sample leaves its copies at zero input and unread), for
{steps} steps of dt = {spec.dt!r} s ({spec.steps_per_frame!r} steps per ANN frame). Batch k is written to
`RESULTS/batch_<k>` (five digits), which appears only when the batch is complete; run.sh refuses a RESULTS
directory of another project or of another input. Each batch holds the spikes of every layer and {sampling}.
{genn_note}
## Input

{frames}

    {formula}

with f0 = {float(L0.factor)!r} and W0 = `static_arrays/lprnn_input_W0` (float64, ({n0}, {F}), row-major){drive_note}.
The sum runs over j in order in double precision; lprnn_brian computes the same product with numpy (BLAS), in
another order. With few-bit weights on a power-of-two grid (lprnn_brian's 3-bit models) every product and partial
sum is exact for inputs of ordinary dynamic range, so the order does not matter and the drive is lprnn_brian's bit
for bit (measured on the bundled spoken digits); with arbitrary weights the two drives may differ in their last
bits and, rarely, a neuron exactly at its threshold may spike one step apart.

{drive_text}

```sh
python -c "from lprnn_brian.export.standalone import write_drive; write_drive('PROJECT', 'FRAMES.npy', 'DRIVE.npy')"
```

{reads}

## Output

`RESULTS/` holds `lprnn_project.json` (this project's manifest: layout, layers, every file below), `lprnn_spec.npz`
(the SNN spec), `input.txt` (the input's sample and batch counts) and one directory per batch: `samples.txt` (its
first sample and sample count), `main.log` (the binary's output), `last_run_info.txt` (run time in s, fraction
completed) and the files that the binary writes (Brian2's file names; little-endian, no header unless said):

{_files_table(manifest)}

{record_note}Neuron index i of a batch{' in the other files' if record_note else ''} belongs to copy i // n (sample
first + i // n) and is neuron i % n of its layer. The frame-end samples hold the state before the update of the
step that ends each ANN frame (`frame_ends` in lprnn_project.json; a step that ends two frames is recorded once).
The decodes in the ANN's units (method: docs/method.md#input-decoding-and-compartments of lprnn_brian) are fb =
scale_fb · i_fb, ip = i_ip / f, in = i_in · τ_I / f, count = scale_count · spikes per step; their scales, per layer
(all in lprnn_project.json, `decode_scale`):

| layer | kind | neurons n | fb scale | count scale |
|---|---|---|---|---|
{layers}

The predicted class is the argmax over the read-out layer of its fb decode's mean over the window
`{spec.readout_window}` (the sums above divided by the window's length).

## Back to lprnn_brian

```sh
lprnn-brian import-standalone RESULTS --out run.npz    # the run file of `lprnn-brian simulate --out`
lprnn-brian analyse run.npz --out analysis
```

or in Python `lprnn_brian.export.standalone.read_standalone('RESULTS')` (a `SimulationResult`).
"""
