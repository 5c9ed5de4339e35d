"""Run a Loihi bundle on Lava's bit-accurate CPU models; run by tests/test_lava.py in the Lava environment.

Lava (lava-nc 0.10.0, numpy < 2) lives in the environment of ``scripts/setup-lava``, which the test suite's
Python cannot import; the test writes the mapped network as a bundle (:func:`lprnn_brian.loihi.bundle.save_bundle`)
and the layer-0 integer input to one file, and runs::

    python tests/lava_job.py BUNDLE_DIR --inputs XIN.npz --out result.npz [--steps N]

``XIN.npz`` holds ``x_in`` (samples, n_steps, n0) integers (:meth:`LoihiNetwork.input_integers`). Each sample
is a fresh Lava network (:func:`lprnn_brian.loihi.lava.run_bundle`, the function ``lprnn-brian export lava``
runs); ``result.npz`` gets ``LAYER/REG`` (samples, steps, n) for REG in u_ic, v_ic, u_sc, v_sc (int64) and
spikes (bool), the register at the end of each step. One JSON object on stdout: Python, lava-nc and numpy
versions, samples, steps, and the wall time of each sample (build, compile, run, read-out).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", help="bundle directory (lprnn_brian.loihi.bundle)")
    p.add_argument("--inputs", required=True, help="x_in (samples, n_steps, n0) integers (.npz)")
    p.add_argument("--out", required=True, help="per-step registers and spikes (.npz)")
    p.add_argument("--steps", type=int, default=None, help="steps to run (default: all of x_in)")
    args = p.parse_args(argv)

    from lprnn_brian.loihi.lava import run_bundle

    with np.load(args.inputs) as z:
        x_in = z["x_in"]
    info = run_bundle(args.bundle, x_in, args.out, n_steps=args.steps, force=True)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
