"""Run one SNN spec on GeNN for a few samples; run by tests/test_genn.py in the GeNN environment's Python.

brian2genn lives in the environment of ``scripts/setup-genn`` (Python 3.11, brian2 2.5.4, numpy < 2), which
the test suite's Python cannot import; the test writes the spec and the drives to one file and runs::

    python tests/genn_job.py JOB.npz --build-root DIR --out result.npz [--batch B]

``JOB.npz`` holds ``summary`` (the JSON of :meth:`lprnn_brian.convert.SNNSpec.to_arrays`), the spec's arrays
under ``spec/`` and ``drives`` (samples, n_steps, n0). The job rebuilds the spec (its digest must equal
``digest``), runs every sample with :class:`lprnn_brian.targets.Runner` (``target='genn'``), writes spikes and
recorded states to ``--out`` and prints one JSON object on stdout: the spec digest, the build directory, whether
it compiled, the GPU flag and the times (``build_s``: generation + compilation, ``run_s``: per batch).
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
    p.add_argument("job", help="spec and drives (.npz)")
    p.add_argument("--build-root", required=True)
    p.add_argument("--out", required=True, help="spikes, states and run info (.npz)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--record", default="i_fb,i_ip,i_in", help="comma-separated states ('' for none)")
    args = p.parse_args(argv)

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
    info: dict = {"python": sys.version.split()[0], "digest": spec.digest()}
    t0 = time.perf_counter()
    with Runner(spec, "genn", build_root=args.build_root, record=record, batch=args.batch) as r:
        info["build_s"] = time.perf_counter() - t0
        info["build_dir"] = str(r.build_dir)
        info["compiled"] = r.backend.compiled
        info["gpu"] = r.backend.use_gpu
        info["run_s"], out = run_and_pack(r, drives, args.batch)
    np.savez(args.out, info=json.dumps(info), **out)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
