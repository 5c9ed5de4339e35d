"""The figure gallery: one module per figure (``fig_<name>.py``), each runnable as a script.

Every module defines ``NAME`` (file stem), ``TITLE``, ``CAPTION`` and ``make(out, quick=False, seed=0)``, which
writes ``out/NAME.png`` and ``out/NAME.pdf`` and returns their paths. ``quick`` uses small settings (CI);
:func:`make_all` runs every figure and writes the gallery page.
"""
from __future__ import annotations

#: Gallery order.
FIGURES = (
    "fig_neuron_dynamics",
    "fig_reconstruction_bias",
    "fig_noise_shaping",
    "fig_snr_vs_rate",
    "fig_robustness",
    "fig_ann_vs_snn",
    "fig_accuracy_vs_bits",
    "fig_accuracy_vs_steps",
    "fig_sequence_tasks",
    "fig_energy",
)
