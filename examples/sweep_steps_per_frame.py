#!/usr/bin/env python
"""A parameter sweep on Dask: SNN accuracy against SNN steps per ANN frame, one line per weight-bit setting.

Runs a sweep config (default ``examples/sweep_steps_bits.toml``: τ_S ∈ {16, 32, 64} × weight bits ∈ {2, 3} on
64 bundled test clips) with :func:`lprnn_brian.sweep.run_sweep` on a local cluster of 2 worker processes (or
``--scheduler serial`` / a scheduler address), then plots the parquet table. Re-running resumes an interrupted
sweep; ``--force`` starts again.

    python examples/sweep_steps_per_frame.py --out sweep_out
    python examples/sweep_steps_per_frame.py --quick --scheduler serial --out sweep_out   # 4 clips, numpy
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from lprnn_brian.sweep import load_config, run_sweep
from lprnn_brian.sweep_table import read_table

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(HERE / "sweep_steps_bits.toml"))
    ap.add_argument("--out", default="sweep_out")
    ap.add_argument("--scheduler", default=None, help="'serial', a Dask scheduler address, or none (local cluster)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="4 clips on the numpy target, τ_S 16 and 32")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    if args.quick:
        grid = dict(cfg.grid, tau_S=[16.0, 32.0]) if "tau_S" in cfg.grid else cfg.grid
        cfg = dataclasses.replace(cfg, limit=4, target="numpy", chunk=2, batch=1, grid=grid)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = out / "sweep.parquet"
    run = run_sweep(cfg, table, scheduler=args.scheduler, workers=args.workers, force=args.force, progress=True,
                    log=print)
    rows, meta = read_table(table)
    print(f"{len(rows)} grid points in {run.wall_s:.0f} s ({run.computed_chunks} chunks run, {run.reused_chunks} "
          "re-used)")
    print("steps/frame  bits  ANN acc  SNN acc (fb)  agreement  spikes/clip")
    for r in rows:
        print(f"{r['steps_per_frame_effective']:10.2f}  {r.get('weight_bits', '-'):>4}  {r['ann_accuracy']:7.3f}"
              f"  {r['snn_accuracy_fb']:12.3f}  {r['class_agreement_fb']:9.3f}  {r['spikes_per_sample']:11.0f}")

    from lprnn_brian.analysis.plots import PALETTE, save_figure, subplots

    fig, ax = subplots(figsize=(4, 3))
    bits = sorted({r.get("weight_bits") for r in rows}, key=lambda b: -1 if b is None else b)
    for i, b in enumerate(bits):
        rs = sorted((r for r in rows if r.get("weight_bits") == b), key=lambda r: r["steps_per_frame_effective"])
        ax.plot([r["steps_per_frame_effective"] for r in rs], [r["snn_accuracy_fb"] for r in rs],
                ["o-", "s--", "^:", "d-."][i % 4], color=PALETTE[i], label=f"{b} bits" if b else "model")
    ax.set(xlabel="SNN steps per ANN frame", ylabel="SNN accuracy (fb decode)", xscale="log")
    ax.legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, out / "accuracy_vs_steps_per_frame")
    print(f"wrote {table} and {out}/accuracy_vs_steps_per_frame.(png|pdf)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
