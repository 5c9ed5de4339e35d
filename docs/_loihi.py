"""Writes ``_generated/loihi_constants.md`` (included by loihi.md) from the package's Loihi constants.

The integer formats, limits and rounding rules are read from :mod:`lprnn_brian.equations.fixed_point`,
:mod:`lprnn_brian.loihi.params` and :mod:`lprnn_brian.loihi.cores` when the documentation is built, so the page
shows what the code does, not a copy of it.
"""
from __future__ import annotations

from pathlib import Path


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def constants_markdown() -> str:
    from lprnn_brian.equations import fixed_point as q
    from lprnn_brian.equations import sigma_delta as sd
    from lprnn_brian.loihi import cores, params

    lim = cores.LOIHI1
    rows = [
        ("weight mantissa per sign mode", ", ".join(f"{k}: {lo}…{hi}" for k, (lo, hi) in q.WEIGHT_MANT_RANGE.items()),
         "`fixed_point.WEIGHT_MANT_RANGE`"),
        ("weight exponent", f"{q.WEIGHT_EXP_RANGE[0]}…{q.WEIGHT_EXP_RANGE[1]}", "`fixed_point.WEIGHT_EXP_RANGE`"),
        ("weight LSB step (numWeightBits = 8)", ", ".join(f"{m}: {q.weight_step(8, m)}" for m in q.SIGN_MODES),
         "`fixed_point.weight_step`"),
        ("bias mantissa", f"±{q.BIAS_MANT_MAX}", "`fixed_point.BIAS_MANT_MAX`"),
        ("bias exponent", f"{q.BIAS_EXP_RANGE[0]}…{q.BIAS_EXP_RANGE[1]}", "`fixed_point.BIAS_EXP_RANGE`"),
        ("decay registers", f"0…{q.DECAY_REGISTER_MAX}, x ← x·({q.DECAY_UNITY} − d)/{q.DECAY_UNITY}",
         "`fixed_point.DECAY_REGISTER_MAX`, `DECAY_UNITY`"),
        ("decay offsets (Lava ds_offset, dm_offset)", f"u: {params.U_DECAY_OFFSET}, v: {params.V_DECAY_OFFSET}",
         "`params.U_DECAY_OFFSET`, `V_DECAY_OFFSET`"),
        ("threshold", f"vth_mant·2^{q.ACTIVATION_SHIFT_BITS}, vth_mant ≤ {q.VTH_MANT_MAX:,}",
         "`fixed_point.ACTIVATION_SHIFT_BITS`, `VTH_MANT_MAX`"),
        ("activation shift (a weight w adds w·2^6 to u)", sd.ACTIVATION_SHIFT, "`sigma_delta.ACTIVATION_SHIFT`"),
        ("state registers u, v", f"24-bit: v within ±{params.V_LIMIT:,}, u wraps beyond ±2^23", "`params.V_LIMIT`"),
        ("refractory period ([decision L1](decisions.md#loihi-mapping))", f"{params.REFRACTORY_STEPS} step",
         "`params.REFRACTORY_STEPS`"),
        ("compartments per core", f"{lim.compartments:,}", "`cores.LOIHI1`"),
        ("synaptic memory per core", f"{lim.synaptic_memory_bits:,} bits", "`cores.LOIHI1`"),
        ("input / output axons per core", f"{lim.input_axons:,} / {lim.output_axons:,}", "`cores.LOIHI1`"),
        ("cores per chip", lim.cores_per_chip, "`cores.LOIHI1`"),
    ]
    out = ["| quantity | value | in the code |", "|---|---|---|"]
    out += [f"| {_cell(a)} | {_cell(b)} | {c} |" for a, b, c in rows]
    out += ["", "Rounding rules, as every bundle records them (`params.ROUNDING`):", "",
            "| step | rule |", "|---|---|"]
    out += [f"| {k} | {_cell(v)} |" for k, v in params.ROUNDING.items()]
    return "\n".join(out) + "\n"


def write_constants(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = constants_markdown()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
