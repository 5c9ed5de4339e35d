"""Figure: energy per inference by platform (Loihi 1 per-operation estimate vs a Cortex-M4 estimate) for the bundled
digits model and, where ``../shared/reference`` is present, the authors' SHD checkpoint (:mod:`.analysis.energy`)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..bundled import reference_checkpoint
from ._common import figure_main, figure_paths, write_numbers

NAME = "energy"
TITLE = "Energy per inference by platform"
CAPTION = (
    "Energy per inference (one clip) estimated from the counted operations of a simulation "
    "(`lprnn_brian.analysis.energy`): Loihi 1 from Davies et al. 2018's per-operation energies (synaptic events on "
    "non-zero weights, active and inactive compartment updates, spike messages; stacked), a Cortex-M4 from the "
    "2019 back-of-envelope (26 clocks per multiply, 10 pJ per clock, one multiply-add per weight per ANN frame, "
    "weights read and states written at 6–25 pJ/bit; the bar spans that range). Models: the bundled 3-bit "
    "spoken-digit lpRNN (48/96/96 units) on test clips (quick: 2 clips, numpy target; full: 32 clips), and the "
    "authors' SHD checkpoint (128/512/512) on the bundled clips through the SHD front end when "
    "`../shared/reference` (or `$LPRNN_BRIAN_REFERENCE`) holds it. The ratio Cortex-M4/Loihi is printed on each "
    "group; Nair & Indiveri 2019 claimed ≥ 500× for their analog chip (not Loihi). Static and idle power, "
    "mesh hops and the host are not included: estimates, not measurements."
)

def _run(model, x, quick: bool):
    from ..convert import to_snn_spec
    from ..simulation import simulate

    spec = to_snn_spec(model, mode="loihi", n_frames=x.shape[1])
    if quick:
        return simulate(spec, x, target="numpy")
    return simulate(spec, x, target="cpp_standalone", batch=16, sampling="readout", propagation="rows")


def energy_by_model(quick: bool = False) -> dict:
    """``{model name: energy_report(...)}`` for the digits model and (if present) the SHD checkpoint."""
    from ..analysis.energy import energy_report
    from ..ann.model import load_model
    from ..bundled import bundled_model_path
    from ..tasks.digits import load_digits

    out = {}
    n = 2 if quick else 32
    x, _, _ = load_digits("test")
    out["digits (bundled)"] = energy_report(_run(load_model(bundled_model_path()), x[:n], quick))
    ckpt = None if quick else reference_checkpoint()
    if ckpt is not None:
        from ..ann.checkpoint import read_reference_checkpoint

        xs, _, _ = load_digits("test", front_end="shd")
        out["SHD (authors' checkpoint)"] = energy_report(_run(read_reference_checkpoint(ckpt, arch="shd"),
                                                              xs[:n], quick))
    return out


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    from ..analysis.plots import PALETTE, save_figure, subplots

    reports = energy_by_model(quick)
    fig, (ax, bx) = subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1.2, 1]})
    width = 0.35
    for g, (name, r) in enumerate(reports.items()):
        e_l = r["loihi"]["energy_per_inference_j"]
        m4 = r["cortex_m4"]["energy_per_inference_j"]
        ax.bar(g - width / 2, e_l, width, color=PALETTE[0], label="Loihi 1 (Davies 2018 per-operation)" if g == 0 else None)
        ax.bar(g + width / 2, m4["high"], width, color=PALETTE[1], alpha=0.45,
               label="Cortex-M4, memory at 25 pJ/bit" if g == 0 else None)
        ax.bar(g + width / 2, m4["low"], width, color=PALETTE[1], hatch="//", edgecolor="white",
               label="Cortex-M4, memory at 6 pJ/bit" if g == 0 else None)
        ratio = r["ratio"]["cortex_m4_over_loihi"]
        ax.annotate(f"M4 / Loihi: {ratio['low']:.0f}–{ratio['high']:.0f}×", (g, m4["high"] * 1.3), ha="center",
                    fontsize=8)
        # breakdowns (fractions of each platform's total)
        terms = {f"Loihi: {k}": v for k, v in r["loihi"]["terms_j"].items()}
        total_m4 = sum(v["high"] for v in r["cortex_m4"]["terms_j"].values())
        left = 0.0
        for j, (term, v) in enumerate(terms.items()):
            bx.barh(2 * g + 1, v / e_l, left=left, color=PALETTE[j % 4], edgecolor="white",
                    label=term if g == 0 else None)
            left += v / e_l
        left = 0.0
        for j, (term, v) in enumerate(r["cortex_m4"]["terms_j"].items()):
            bx.barh(2 * g, v["high"] / total_m4, left=left, color=PALETTE[4 + j % 4], edgecolor="white",
                    label=f"Cortex-M4: {term} (25 pJ/bit)" if g == 0 else None)
            left += v["high"] / total_m4
    ax.set_yscale("log")
    ax.set_xticks(range(len(reports)), list(reports))
    ax.set_ylabel("energy per inference (J)")
    ax.set_xlim(-0.7, len(reports) - 0.3)
    top = max(r["cortex_m4"]["energy_per_inference_j"]["high"] for r in reports.values())
    bottom = min(r["loihi"]["energy_per_inference_j"] for r in reports.values())
    ax.set_ylim(bottom / 10, top * 10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    bx.set_yticks([v for g in range(len(reports)) for v in (2 * g, 2 * g + 1)],
                  [f"{name}\n{p}" for name in reports for p in ("Cortex-M4", "Loihi 1")], fontsize=7)
    bx.set_xlabel("share of the platform's energy per inference")
    bx.set_xlim(0, 1)
    bx.legend(fontsize=6, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    save_figure(fig, out / NAME)
    write_numbers(out, NAME, reports)
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
