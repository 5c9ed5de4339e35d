"""Per-sample simulation time: cpp_standalone (compiled once, re-run per sample) against the numpy target,
measured in one run on the same network and the same inputs.

    python benchmarks/bench_targets.py [--model m.npz] [--samples 5]

Without ``--model`` it uses the authors' SHD checkpoint from ../shared/reference if present, else the
bundled digit model. Inputs: the bundled spoken-digit test clips (125 × 80 log-mel frames). Prints one
line per target and the ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


from lprnn_brian.ann.checkpoint import read_reference_checkpoint
from lprnn_brian.ann.model import load_model
from lprnn_brian.convert import layer0_drive, to_snn_spec
from lprnn_brian.demo import bundled_model_path
from lprnn_brian.targets import Runner
from lprnn_brian.tasks.digits import load_digits

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "shd_QlpRNN_128_2x512_ret0.8_mel80_hop256.pth"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--mode", default="loihi", choices=("float", "loihi"))
    args = ap.parse_args()
    if args.model:
        model = load_model(args.model)
    elif REFERENCE.exists():
        model = read_reference_checkpoint(REFERENCE, arch="shd")
    else:
        model = load_model(bundled_model_path())
    x, _, _ = load_digits("test")
    x = x[: args.samples]
    spec = to_snn_spec(model, mode=args.mode)
    drives = [layer0_drive(xi, spec) for xi in x]
    print(f"network: {[(L.name, L.n) for L in spec.layers]}, {spec.n_steps} steps, {len(drives)} samples")
    per_sample = {}
    with tempfile.TemporaryDirectory() as tmp:
        for target in ("numpy", "cpp_standalone"):
            t0 = time.perf_counter()
            with Runner(spec, target, build_root=tmp) as runner:
                t_build = time.perf_counter() - t0
                runner.run(drives[0])  # warm-up (numpy: code generation; standalone: first launch)
                t1 = time.perf_counter()
                spikes = 0
                for d in drives:
                    raw = runner.run(d)
                    spikes += sum(len(s) for s in raw.spike_i)
                per_sample[target] = (time.perf_counter() - t1) / len(drives)
            print(f"{target:>15}: build {t_build:6.1f} s, {per_sample[target] * 1e3:8.1f} ms per sample "
                  f"({spikes / len(drives):.0f} spikes per sample)")
    print(f"ratio numpy / cpp_standalone per sample: {per_sample['numpy'] / per_sample['cpp_standalone']:.2f}x")


if __name__ == "__main__":
    main()
