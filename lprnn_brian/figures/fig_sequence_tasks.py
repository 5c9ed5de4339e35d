"""Figure: the 2019 sequence tasks in spikes — the bundled adding and copying networks' scores against sequence
length (adding) and delay (copying), for the ANN and its ΣΔ network in both modes and under both threshold
policies."""
from __future__ import annotations

import sys
from pathlib import Path

from ._common import figure_main, figure_paths, loihi_first, write_numbers

NAME = "sequence_tasks"
TITLE = "Temporal adding and copying: ANN vs ΣΔ network against length"
CAPTION = (
    "The bundled sequence networks (`lprnn_brian/data/adding_lprnn.npz`, `copying_lprnn.npz`; one lpRNN layer with "
    "one retention a = 0.8, 1/8-grid weights, trained through the ΣΔ neuron's mean reconstruction with threshold "
    "policy 'unbiased', `lprnn-brian train adding|copying --preset snn`) scored on the same seeded test sequences "
    "at each length of a grid up to the model's longest and at that length itself (a curriculum network is tuned to "
    "its last length: its ANN is poor at shorter ones, and the SNN is held to the task only where the ANN is good) "
    "by the ANN (black) and by its ΣΔ network simulated with Brian2 (cpp_standalone) at the default "
    "step (τ_S = 64) in Loihi-integer mode (solid) and float mode (dashed), with the default threshold policy "
    "'unbiased' (blue) and the authors' threshold 0 (red), read out with the sequence tasks' decode `in` (the "
    "read-out's synaptic current: W_o times the hidden reconstruction). Left: temporal adding, MSE at the last "
    "frame (log scale; the 2019 pass mark 0.01 dotted, the ANN's 'good' mark 0.005 dash-dotted). Right: temporal "
    "copying (S = 8 symbols), recall-window accuracy of the per-frame argmax (pass mark 0.96). 200 sequences per length; "
    "with --quick 20 sequences, two lengths, Loihi mode only, numpy target."
)
LENGTHS = {"adding": (10, 25, 50, 100, 150, 200), "copying": (3, 5, 10, 15, 20, 25, 30)}
QUICK = {"adding": (10, 25), "copying": (3, 5)}


def compute(quick: bool = False, *, n: int | None = None, target: str | None = None, build_root=None) -> dict:
    """Scores of the bundled sequence models at each length (:func:`lprnn_brian.evaluate_sequences.task_curve`;
    target cpp_standalone, numpy with ``quick``)."""
    target = target or ("numpy" if quick else "cpp_standalone")
    from ..ann.model import load_model
    from ..bundled import bundled_sequence_model
    from ..evaluate_sequences import curve_lengths, longest_length, task_curve

    out = {}
    for task in ("adding", "copying"):
        path = bundled_sequence_model(task, required=False)
        if path is None:
            out[task] = None
            continue
        model = load_model(path)
        lengths = curve_lengths(model, task, (QUICK if quick else LENGTHS)[task], with_longest=not quick)
        modes = ("loihi",) if quick else loihi_first()
        out[task] = {"longest": longest_length(model, task),
                     "rows": task_curve(model, task, lengths, n=n or (20 if quick else 200), modes=modes,
                                        target=target, build_root=build_root)}
    return out


def make(out: Path, quick: bool = False, seed: int = 0) -> list[Path]:
    """Write the figure (``seed`` is unused: the test sequences are the models' own seeded streams)."""
    from ..analysis.plots import PALETTE, save_figure, subplots
    from ..tasks import adding as adding_task
    from ..tasks import copying as copying_task
    from ..evaluate_sequences import ANN_GOOD

    res = compute(quick)
    fig, axes = subplots(1, 2, figsize=(10, 4))
    colour = {"unbiased": PALETTE[0], "zero": PALETTE[1]}
    style = {"loihi": "-", "float": "--"}
    for ax, task in zip(axes, ("adding", "copying")):
        r = res[task]
        ax.set_title(f"temporal {task}", fontsize=9)
        if r is None:
            ax.text(0.5, 0.5, f"no bundled {task} model\n(lprnn-brian train {task} --preset snn)", ha="center",
                    va="center", transform=ax.transAxes, fontsize=8)
            ax.set_axis_off()
            continue
        rows = r["rows"]
        L = [row["length"] for row in rows]
        ax.plot(L, [row["ann"] for row in rows], "o-", color="k", lw=1.2, label="ANN")
        for mode in rows[0]["snn"]:
            for th in rows[0]["snn"][mode]:
                ax.plot(L, [row["snn"][mode][th] for row in rows], style[mode], marker=".", color=colour[th],
                        lw=1, label=f"SNN {mode}, {th}")
        if task == "adding":
            ax.set_yscale("log")
            ax.axhline(adding_task.PASS_MSE, color=PALETTE[7], ls=":", lw=0.8)
            ax.axhline(ANN_GOOD["adding"], color=PALETTE[7], ls="-.", lw=0.8)
            ax.set_xlabel("sequence length L (frames)")
            ax.set_ylabel("MSE")
        else:
            ax.axhline(copying_task.PASS_ACCURACY, color=PALETTE[7], ls=":", lw=0.8)
            ax.set_xlabel("delay T (frames), S = 8")
            ax.set_ylabel("recall-window accuracy")
            ax.set_ylim(0, 1.02)
        ax.legend(fontsize=6.5, frameon=False)
    fig.tight_layout()
    save_figure(fig, out / NAME)
    write_numbers(out, NAME, res)
    return figure_paths(out, NAME)


if __name__ == "__main__":
    sys.exit(figure_main(NAME, make, TITLE))
