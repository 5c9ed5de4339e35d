"""Build (and optionally run) one model on a standalone target; run by tests/test_cuda.py in another Python.

The CUDA target lives in the environment of ``scripts/setup-cuda`` (Python 3.12, brian2 2.10.1, brian2cuda),
which the test suite's Python cannot import; the test runs this file there by subprocess::

    python tests/cuda_job.py --model M.npz --mode loihi --build-root DIR --out result.npz [--drives X.npy]

It converts the model file, builds it with :class:`lprnn_brian.targets.Runner` (``--target``, default
``cuda_standalone``), and without ``--drives`` stops after generating and compiling the project. With
``--drives`` (layer-0 drives, (samples, n_steps, n0)) it also runs every sample; with ``--check-no-gpu`` on a
machine without a GPU it checks that a run fails with the message saying so. It writes the spikes to
``--out`` and prints one JSON object on stdout: the build directory, the generated code objects, the
compute capability compiled for, the build record (objects compiled, binary linked) and the times
(``build_s``: generation + compilation, ``make_s``: the compiler alone, ``generate_s``: the difference,
``run_s``: per batch of samples).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from job_runs import run_and_pack  # beside this script (its directory is on sys.path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="model file (.npz)")
    p.add_argument("--mode", choices=("float", "loihi"), default="loihi")
    p.add_argument("--target", default="cuda_standalone")
    p.add_argument("--build-root", required=True)
    p.add_argument("--out", required=True, help="spikes and run info (.npz)")
    p.add_argument("--drives", help="layer-0 drives (.npy, (samples, n_steps, n0)); none: build only")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--sampling", default="steps")
    p.add_argument("--record", default="i_fb,i_ip,i_in", help="comma-separated states ('' for none)")
    p.add_argument("--check-no-gpu", action="store_true",
                   help="without a GPU, check that a run fails with a UserInputError (its message: no_gpu_error)")
    args = p.parse_args(argv)

    from brian2 import device

    from lprnn_brian.ann.model import load_model
    from lprnn_brian.convert import to_snn_spec
    from lprnn_brian.targets import Runner

    spec = to_snn_spec(load_model(args.model), mode=args.mode)
    record = tuple(v for v in args.record.split(",") if v)
    info: dict = {"python": sys.version.split()[0], "target": args.target}
    t0 = time.perf_counter()
    with Runner(spec, args.target, build_root=args.build_root, record=record, batch=args.batch,
                sampling=args.sampling) as r:
        info["build_s"] = time.perf_counter() - t0
        info["make_s"] = float(getattr(device, "timers", {}).get("compile", {}).get("make", float("nan")))
        info["generate_s"] = info["build_s"] - info["make_s"]
        info["build_dir"] = str(r.build_dir)
        info["build_record"] = r.build_record  # which objects make compiled, whether it linked
        info["code_objects"] = sorted(f.stem for f in (r.build_dir / "code_objects").glob("*.cu"))
        if args.target == "cuda_standalone":
            from lprnn_brian.targets.cuda import configure

            s = configure()
            info.update(arch=s.arch, nvcc_release=s.release, gpu=None if s.gpu is None else s.gpu.name)
        out: dict = {}
        if args.check_no_gpu and info.get("gpu") is None:
            from lprnn_brian.errors import UserInputError

            try:
                r.run(np.zeros((spec.n_steps, spec.layers[0].n)))
            except UserInputError as e:
                info["no_gpu_error"] = str(e)
            else:
                raise AssertionError("a cuda_standalone run without a GPU did not fail")
        if args.drives:
            info["run_s"], out = run_and_pack(r, np.load(args.drives), args.batch)
    np.savez(args.out, info=json.dumps(info), **out)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
