"""Writes the equations page from the sympy declarations (called by conf.py at every build)."""
from __future__ import annotations

from pathlib import Path

import sympy as sp


#: The derived facts shown (zero-argument functions of lprnn_brian.equations.derive returning sympy expressions).
DERIVED = ("steady_state_rate", "tracking_error_bound", "steps_per_frame", "retention_per_frame",
           "filter_time_constant", "feedback_fixed_point", "reconstruction_transfer", "error_transfer",
           "error_power_gain", "error_corner_frequency", "error_corner_frequency_asymptote", "error_asymptotic_slope",
           "filter_noise_gain", "rate_code_snr", "affine_decoder_snr")


def _map(mapping: dict, op: str = r"\leftarrow") -> str:
    return "\n".join(rf"{sp.latex(k)} &{op} {sp.latex(sp.simplify(v) if op == '=' else v)} \\"
                     for k, v in mapping.items()).rstrip(" \\")


def _block(body: str) -> str:
    return "$$\n\\begin{aligned}\n" + body + "\n\\end{aligned}\n$$\n"


def equations_markdown() -> str:
    from lprnn_brian.equations import baselines, derive
    from lprnn_brian.equations import sigma_delta as sd

    out = ["# Equations", "",
           "This page is generated when the documentation is built, from the sympy objects that every simulator, "
           "exporter and analysis of the package is derived from (`lprnn_brian.equations`). Nothing here is typed "
           "by hand.", "",
           "## The adaptive ΣΔ neuron (`lprnn_brian.equations.sigma_delta`)", "",
           "One SNN step (right-hand sides at pre-step values, `UPDATE`):", "", _block(_map(sd.UPDATE)),
           "Threshold (`THRESHOLD`), reset (`RESET`), a spike's effect on its own feedback (`ON_SPIKE_SELF`) and on "
           "every target (`ON_SPIKE_TARGET`), and the layer-0 input (`INPUT`):", "",
           _block(rf"s_n &= \left[{sp.latex(sd.THRESHOLD)}\right] \\" + "\n" + _map(sd.RESET) + r" \\" + "\n"
                  + _map(sd.ON_SPIKE_SELF) + r" \\" + "\n" + _map(sd.ON_SPIKE_TARGET) + r" \\" + "\n"
                  + _map(sd.INPUT)),
           "The continuous form whose forward-Euler step at Δt_S is the update (`continuous_form()`):", "",
           _block(_map({sp.Derivative(x, sp.Symbol("t")): v for x, v in sd.continuous_form().items()}, "="))]
    for variant in sd.VARIANTS:
        out += [f"Per-step conditioning at `start`, variant `{variant}` (`CLIP`, `TRUNCATE`):", "",
                _block(_map({**sd.CLIP[variant], **sd.TRUNCATE[variant]}))]
    out += ["### Per-step schedule (`SCHEDULE`: explicit Brian2 `when`/`order`)", "",
            "| operation | when | order | what |", "|---|---|---|---|"]
    out += [f"| {op.name} | `{op.when}` | {op.order} | {op.description} |" for op in sd.SCHEDULE]
    out += ["", "## Derived facts (`lprnn_brian.equations.derive`)", "",
            "Each one is computed symbolically from the declaration above (first line of its docstring, then the "
            "expression):", ""]
    for name in DERIVED:
        f = getattr(derive, name, None)
        if f is None:
            continue
        expr = f()
        if isinstance(expr, tuple):
            continue
        doc = (f.__doc__ or "").strip().split("\n")[0]
        out += [f"**`{name}`**: {doc}", "", "$$" + sp.latex(expr) + "$$", ""]
    out += ["## Comparison neurons (`lprnn_brian.equations.baselines`)", ""]
    for name, neuron in baselines.BASELINES.items():
        out += [f"### `{name}`: {neuron.title}", "", _block(neuron.latex())]
    return "\n".join(out) + "\n"


def write_equations_page(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = equations_markdown()
    if not path.is_file() or path.read_text() != text:  # unchanged: keep the file (and Sphinx's cache) as is
        path.write_text(text)
