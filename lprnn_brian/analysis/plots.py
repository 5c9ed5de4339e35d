"""Figures: ANN state against SNN decode, spike rasters. Each function takes arrays and an optional
``ax``, returns the Axes, and never shows anything; :func:`save_figure` writes PNG and PDF.

Figures are :class:`matplotlib.figure.Figure` objects on their own Agg canvas (:func:`new_figure`,
:func:`subplots`), never pyplot's: importing or using this package leaves pyplot's backend and its list of open
figures alone.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Okabe–Ito colour-blind-safe palette.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


def new_figure(**figure_kw) -> Figure:
    """A figure drawn on its own Agg canvas (no pyplot, no GUI); ``figure_kw`` as for
    :class:`matplotlib.figure.Figure` (e.g. ``figsize``)."""
    fig = Figure(**figure_kw)
    FigureCanvasAgg(fig)
    return fig


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, **subplot_kw):
    """(figure, axes) like :func:`matplotlib.pyplot.subplots`, on a :func:`new_figure`; ``subplot_kw``:
    ``sharex``, ``sharey``, ``squeeze``, ``gridspec_kw``, ... of :meth:`matplotlib.figure.Figure.subplots`."""
    fig = new_figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplot_kw)


def plot_state_vs_decode(ann_state: np.ndarray, snn_decode: np.ndarray, frame_dt: float, *,
                         units=None, ax=None, title: str = ""):
    """ANN state h_t (lines) and SNN fb decode −i_fb/f at frame ends (dots), for a few units.

    ``ann_state`` and ``snn_decode``: (frames, units) in ANN units; ``frame_dt`` in seconds.
    """
    ax = ax or new_figure(figsize=(6, 3)).gca()
    units = range(min(4, ann_state.shape[1])) if units is None else units
    t = (np.arange(ann_state.shape[0]) + 1) * frame_dt * 1e3
    for c, u in zip(PALETTE, units):
        ax.plot(t, ann_state[:, u], color=c, lw=1.5, label=f"unit {u}: ANN")
        ax.plot(t, snn_decode[:, u], "o", color=c, ms=2.5, label=f"unit {u}: SNN fb")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("state (ANN units)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=6, ncol=2, frameon=False)
    return ax


def plot_raster(neuron: np.ndarray, step: np.ndarray, dt: float, *, offset: int = 0, ax=None, color=None,
                label: str | None = None):
    """Spike raster: one dot per spike at time step·dt (ms), row ``offset + neuron``."""
    ax = ax or new_figure(figsize=(6, 4)).gca()
    ax.plot(step * dt * 1e3, neuron + offset, ".", ms=0.6, mew=0, color=color or PALETTE[0], label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    return ax


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` (each to a temporary file, then renamed: a crash leaves no half-written
    figure); close the figure (a pyplot figure is closed in pyplot). Replaces existing files: callers check for
    those first."""
    from ..fileio import atomic_path

    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.tight_layout()
    try:
        for p in paths:
            with atomic_path(p, force=True) as tmp:
                fig.savefig(tmp, dpi=150, format=p.suffix[1:])
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")  # only a figure pyplot made is open there
        if pyplot is not None:
            pyplot.close(fig)
    return paths
