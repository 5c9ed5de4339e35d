"""Encode signals with populations of independent single neurons of any declared point model, on Brian2.

One column of the drive per neuron; parameters may differ per neuron, so one run sweeps rates or gains.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .equations.point import DRIVE, PointNeuron, render_brian2
from .errors import UserInputError

#: Code generation targets of the Brian2 runtime device this module supports.
TARGETS = ("numpy", "cython")


@dataclass(frozen=True)
class NeuronRun:
    """Result of :func:`simulate_neurons`.

    Attributes
    ----------
    neuron : str
        Name of the model.
    spikes : ndarray of bool, shape (steps, n)
        ``spikes[k, j]``: neuron ``j`` spiked at step ``k`` (time ``k·dt``).
    states : dict of str to ndarray, shape (steps, n)
        Recorded states at the *end* of each step, after the threshold and the reset (float64, in the
        model's units, e.g. amperes for the DPI neuron).
    params : dict of str to ndarray, shape (n,)
        The parameter values each neuron ran with.
    dt : float
        Step in seconds.
    """

    neuron: str
    spikes: np.ndarray
    states: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    dt: float

    @property
    def n_steps(self) -> int:
        return self.spikes.shape[0]

    @property
    def duration(self) -> float:
        """Run length in seconds."""
        return self.n_steps * self.dt


def spike_steps(run: NeuronRun) -> list[np.ndarray]:
    """Step indices of each neuron's spikes (one int array per neuron)."""
    return [np.flatnonzero(run.spikes[:, j]) for j in range(run.spikes.shape[1])]


def spike_times(run: NeuronRun) -> list[np.ndarray]:
    """Spike times in seconds (step index × dt) per neuron."""
    return [k * run.dt for k in spike_steps(run)]


def rates(run: NeuronRun, start: int = 0) -> np.ndarray:
    """Spikes per second of each neuron over steps ``start:`` (shape (n,))."""
    window = run.spikes[start:]
    if window.shape[0] == 0:
        raise UserInputError(f"start={start} leaves no steps of the {run.n_steps}-step run")
    return window.sum(axis=0) / (window.shape[0] * run.dt)


def _check_drive(neuron: PointNeuron, drive) -> np.ndarray:
    values = np.asarray(drive, dtype=np.float64)
    if values.ndim == 1:
        raise UserInputError(f"drive must be 2-D (steps, neurons), got shape {values.shape}; "
                             "for one neuron pass drive[:, None]")
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise UserInputError(f"drive must be 2-D (steps, neurons) with at least one of each, "
                             f"got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(values))[0]
        raise UserInputError(f"drive has a non-finite value at step {bad[0]}, neuron {bad[1]}; "
                             f"{neuron.name} takes finite inputs in {neuron.drive_unit}")
    return values


def _check_values(neuron: PointNeuron, values: Mapping | None, n: int, what: str,
                  allowed: Sequence[str]) -> dict[str, np.ndarray]:
    out = {}
    for name, value in (values or {}).items():
        if name not in allowed:
            raise UserInputError(f"{neuron.name} has no {what} {name!r}; known: {', '.join(allowed)}")
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise UserInputError(f"{what} {name!r} must be a scalar or one value per neuron (length {n}), "
                                 f"got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise UserInputError(f"{what} {name!r} has non-finite values")
        out[name] = arr
    return out


def simulate_neurons(neuron: PointNeuron, drive, *, params: Mapping | None = None,
                     initial: Mapping | None = None, record: Sequence[str] = (),
                     target: str = "numpy") -> NeuronRun:
    """Run ``n`` independent copies of ``neuron`` on Brian2, neuron ``j`` driven by ``drive[:, j]``.

    Parameters
    ----------
    neuron : PointNeuron
        The model (e.g. ``BASELINES['lif']``); its step ``neuron.dt`` is Brian2's ``dt``.
    drive : array_like, shape (steps, n)
        Input of each step in the model's drive units (``neuron.drive_unit``).
    params : dict, optional
        Overrides of ``neuron.params``: a scalar or an array of length ``n`` per name.
    initial : dict, optional
        Initial state values (scalar or length ``n``) overriding ``neuron.initial`` (default 0).
    record : sequence of str
        States to record at the end of every step (after threshold and reset).
    target : {'numpy', 'cython'}
        Brian2 runtime code generation target.

    Returns
    -------
    NeuronRun

    Notes
    -----
    Per step, with explicit slots: ``groups``/0 runs ``pre`` then the one-step ``update``;
    ``thresholds``/0 the threshold; ``resets``/0 the reset; monitors record at ``end``/0. The Brian2 device
    and code generation target are restored afterwards.
    """
    import brian2 as b2
    from brian2.devices.device import RuntimeDevice, get_device, set_device

    if not isinstance(neuron, PointNeuron):
        raise UserInputError(f"neuron must be a PointNeuron (e.g. BASELINES['lif']), got {type(neuron).__name__}")
    if target not in TARGETS:
        raise UserInputError(f"unknown target {target!r}; choose one of {TARGETS}")
    values = _check_drive(neuron, drive)
    steps, n = values.shape
    p = _check_values(neuron, params, n, "parameter", tuple(neuron.params))
    p = {**{k: np.full(n, v) for k, v in neuron.params.items()}, **p}
    init = _check_values(neuron, initial, n, "state", neuron.state_names)
    record = tuple(record)
    unknown = [r for r in record if r not in neuron.state_names]
    if unknown:
        raise UserInputError(f"cannot record {unknown}: {neuron.name} has states {neuron.state_names}")

    code = render_brian2(neuron)
    old_device, old_target = get_device(), b2.prefs.codegen.target
    try:
        if not isinstance(old_device, RuntimeDevice):
            set_device("runtime")
        b2.prefs.codegen.target = target
        clock = b2.Clock(dt=neuron.dt * b2.second)
        stim = b2.TimedArray(values, dt=neuron.dt * b2.second, name=DRIVE)
        group = b2.NeuronGroup(n, code.model, threshold=code.threshold, reset=code.reset or "",
                               clock=clock, namespace={DRIVE: stim}, name=f"{neuron.name}_neurons*")
        group.thresholder["spike"].when, group.thresholder["spike"].order = "thresholds", 0
        group.resetter["spike"].when, group.resetter["spike"].order = "resets", 0
        for name, arr in p.items():
            setattr(group, name, arr)
        for x, expr in neuron.initial.items():
            setattr(group, str(x), np.array([neuron.numeric(expr, **{k: float(v[j]) for k, v in p.items()})
                                             for j in range(n)]))
        for name, arr in init.items():
            setattr(group, name, arr)
        step_code = "\n".join(c for c in (code.pre, code.update) if c)
        stepper = group.run_regularly(step_code, when="groups", order=0, name=f"{neuron.name}_step*")
        spikes = b2.SpikeMonitor(group, record=True, when="end", order=0, name=f"{neuron.name}_spikes*")
        objects = [group, stepper, spikes]
        if record:
            states = b2.StateMonitor(group, list(record), record=True, when="end", order=1,
                                     name=f"{neuron.name}_states*")
            objects.append(states)
        net = b2.Network(*objects)
        net.run(steps * neuron.dt * b2.second, namespace={})
        idx = np.asarray(spikes.i[:], dtype=np.int64)
        k = np.rint(np.asarray(spikes.t_[:]) / neuron.dt).astype(np.int64)
        raster = np.zeros((steps, n), dtype=bool)
        raster[k, idx] = True
        recorded = {r: np.asarray(getattr(states, r)[:], dtype=np.float64).T.copy() for r in record}
    finally:
        b2.prefs.codegen.target = old_target
        if get_device() is not old_device:
            set_device(old_device)
    return NeuronRun(neuron=neuron.name, spikes=raster, states=recorded, params=p, dt=neuron.dt)
