"""Run every figure script and write the gallery page (``README.md``: each figure embedded, its caption and the
command that made it). ``python -m lprnn_brian.figures.make_all --out DIR`` or ``lprnn-brian figures --out DIR``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from ..errors import UserInputError
from ..fileio import write_text_atomic
from . import FIGURES
from ._common import prepare_out

GALLERY = "README.md"
#: Per-figure records (module, files, seconds, settings) next to the gallery, so that re-making one figure
#: keeps the others on the page.
RECORDS = "gallery.json"


def _module(name: str):
    return importlib.import_module(f"{__package__}.{name}")


def select(only: str | list[str] | None) -> list[str]:
    """The figure modules to run: all, or those named (module name ``fig_x`` or figure name ``x``)."""
    if only is None:
        return list(FIGURES)
    wanted = only.split(",") if isinstance(only, str) else list(only)
    if not any(str(w).strip() for w in wanted):
        raise UserInputError(f"--only {only!r} names no figure; give names from "
                             f"{', '.join(m[4:] for m in FIGURES)} (or leave --only out for every figure)")
    chosen = []
    for w in wanted:
        w = w.strip()
        mod = w if w.startswith("fig_") else f"fig_{w}"
        if mod not in FIGURES:
            raise UserInputError(f"unknown figure {w!r}; choose from {', '.join(m[4:] for m in FIGURES)}")
        chosen.append(mod)
    return chosen


def make_all(out: str | Path, *, quick: bool = False, seed: int = 0, only=None, force: bool = False,
             progress: bool = True) -> list[dict]:
    """Make the figures in ``out`` and write ``out/README.md``; return one record per figure (name, files, seconds).

    Existing figures in ``out`` are refused unless ``force`` (every file is written atomically)."""
    mods = [_module(m) for m in select(only)]
    out = prepare_out(out, [m.NAME for m in mods], force)
    records = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(mods), desc="figures", unit="figure", file=sys.stderr)
    for m in mods:
        if bar is not None:
            bar.set_postfix_str(m.NAME)
        t0 = time.perf_counter()
        paths = m.make(out, quick=quick, seed=seed)
        records.append({"module": m.__name__.rsplit(".", 1)[1], "name": m.NAME, "title": m.TITLE,
                        "caption": m.CAPTION, "files": [p.name for p in paths],
                        "seconds": time.perf_counter() - t0})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for r in records:
        r.update(quick=quick, seed=seed)
    kept = []
    if (out / RECORDS).is_file():  # figures made earlier into this directory and not re-made now
        made = {r["module"] for r in records}
        try:
            kept = [r for r in json.loads((out / RECORDS).read_text())
                    if r.get("module") in FIGURES and r["module"] not in made
                    and all((out / f).is_file() for f in r.get("files", []))]
        except (ValueError, KeyError, TypeError):
            kept = []
    order = {m: k for k, m in enumerate(FIGURES)}
    page = sorted(records + kept, key=lambda r: order[r["module"]])
    for r in page:  # captions and titles always from the current code
        m = _module(r["module"])
        r.update(title=m.TITLE, caption=m.CAPTION)
    write_text_atomic(out / RECORDS, json.dumps(page, indent=1), force=True)
    extra = ["snn_scaling"] if (out / "snn_scaling.png").is_file() else []
    write_text_atomic(out / GALLERY, gallery_markdown(page, extra), force=True)
    return records


#: Figures made elsewhere that may share the gallery directory: (title, command).
OTHER_FIGURES = {"snn_scaling": ("SNN throughput and memory vs network size (benchmark)",
                                 "python benchmarks/snn_throughput.py --scaling")}


def gallery_markdown(records: list[dict], extra: list[str] = ()) -> str:
    """The gallery page: every figure embedded with its caption and the command behind it."""
    lines = ["# lprnn_brian figure gallery", "",
             "Made by `lprnn-brian figures --out DIR` (every figure; `--only NAME,...` re-makes some and keeps the "
             "others on this page) or one figure at a time with the commands below; each is written as PNG and PDF, "
             "most with the plotted numbers as JSON beside them.", ""]
    for r in records:
        flags = (" --quick" if r.get("quick") else "") + (f" --seed {r['seed']}" if r.get("seed") else "")
        lines += [f"## {r['title']}", "", f"![{r['title']}]({r['name']}.png)", "", r["caption"], "",
                  f"`python -m lprnn_brian.figures.{r['module']} --out DIR{flags}` ({r['seconds']:.0f} s on 2 cores"
                  f"{', quick settings: CI size, noisier than the full run' if r.get('quick') else ''}; "
                  f"[PDF]({r['name']}.pdf))", ""]
    for name in extra:
        title, command = OTHER_FIGURES[name]
        lines += [f"## {title}", "", f"![{title}]({name}.png)", "", f"Made by `{command}` (see the README's throughput section).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Make every figure and the gallery page")
    p.add_argument("--out", default="figures_out")
    p.add_argument("--quick", action="store_true", help="small settings (CI)")
    p.add_argument("--only", default=None, help="comma-separated figure names")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    try:
        make_all(args.out, quick=args.quick, seed=args.seed, only=args.only, force=args.force)
    except UserInputError as e:
        print(f"make_all: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
