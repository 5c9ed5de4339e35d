"""The demo's numbers, measured as a user gets them: ``lprnn-brian demo`` from an empty build cache.

    python benchmarks/demo.py                         # default threshold, then the authors' (zero)
    python benchmarks/demo.py --thresholds unbiased   # one run

Each run is the command line a user types (``lprnn-brian demo --out DIR [--threshold T]``), started as its own
process with an empty ``LPRNN_BRIAN_CACHE`` so that its wall time includes compiling the network. The demo's own
``report.json`` of every run is kept whole, with the wall time of a second, warm run on the build the first one made, beside the command, the process's wall time and the machine, in
``benchmarks/results/demo-<date>.json`` (written atomically). ``scripts/results_page.py`` turns it into
docs/results.md; the README's headline numbers are checked against it (tests/test_readme.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_info import describe

HERE = Path(__file__).resolve().parent


def run_once(threshold: str, tmp: Path) -> dict:
    """``lprnn-brian demo`` in its own process, from a cold cache; then once more on the cache the first run filled
    (warm: what every later run costs). The first run's report.json and both processes' wall times."""
    cold = _run_process(threshold, tmp, "cold")
    warm = _run_process(threshold, tmp, "warm")
    def numbers(printed):  # the printed line less its time
        return (printed or "").rsplit(";", 1)[0]

    if numbers(warm["printed"]) != numbers(cold["printed"]):
        raise SystemExit(f"the warm run printed {warm['printed']!r}, the cold one {cold['printed']!r}")
    return cold | {"process_wall_s_warm": warm["process_wall_s"], "printed_warm": warm["printed"]}


def _run_process(threshold: str, tmp: Path, which: str) -> dict:
    """One ``lprnn-brian demo`` in its own process on the cache ``tmp/cache-<threshold>``, into a new folder."""
    out = tmp / f"demo_out-{threshold}-{which}"
    argv = ["lprnn-brian", "demo", "--out", "demo_out"] + (["--threshold", threshold] if threshold != "unbiased"
                                                            else [])
    env = dict(os.environ, LPRNN_BRIAN_CACHE=str(tmp / f"cache-{threshold}"))
    cli = [sys.executable, "-m", "lprnn_brian.cli", *argv[1:]]
    cli[cli.index("demo_out")] = str(out)
    t0 = time.perf_counter()
    proc = subprocess.run(cli, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} failed:\n{proc.stderr[-3000:]}")
    headline = [ln for ln in proc.stderr.splitlines() if ln.startswith("ANN accuracy")]
    return {"command": shlex.join(argv), "threshold": threshold, "process_wall_s": wall,
            "printed": headline[-1] if headline else None,
            "report": json.loads((out / "report.json").read_text())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thresholds", default="unbiased,zero", help="comma list of threshold policies, one run each")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    report = {"benchmark": "demo", "command": shlex.join(["python", "benchmarks/demo.py", *(argv or sys.argv[1:])]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": describe(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="lprnn_demo_bench_") as tmp:
        for threshold in [t.strip() for t in args.thresholds.split(",") if t.strip()]:
            print(f"lprnn-brian demo, threshold {threshold} (cold cache) …", flush=True)
            run = run_once(threshold, Path(tmp))
            print(f"  {run['printed']}; process {run['process_wall_s']:.0f} s cold, "
                  f"{run['process_wall_s_warm']:.0f} s warm", flush=True)
            report["runs"].append(run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"demo-{time.strftime('%Y%m%d-%H%M%S')}.json"
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(report, indent=1, default=float) + "\n")
    os.replace(tmp_path, path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
