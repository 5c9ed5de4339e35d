"""ANN model → SNN spec: the parameter mapping (docs/method.md#parameter-mapping) as formulas.

The SNN step Δt_S and the factor f of every layer come from :func:`find_params`
(docs/method.md#choosing-the-step-and-the-factors), with one Δt_S per network (chosen for layer 0) and f per layer
from the fixed-Δt_S search (decision B5 in docs/decisions.md). Explicit factors, including the preset
``'shd_reference'`` (docs/method.md#reference-factor-presets), reproduce the reference code.

**Per-unit retention** (the 2019 cell, docs/method.md#the-2019-lprnn-cell: one a_i per unit,
τ_i = −Δt_A/ln a_i). The method (docs/method.md#mapping-formulas) gives every layer one τ, with
τ_I = τ_V = τ_S = τ/Δt_S and τ_U = τ_prev/Δt_S. The mapping generalises as follows, and reduces exactly (bit
for bit) to that one when all units of a layer share one retention:

- **state filter per neuron**: τ_I,i = τ_V,i = τ_i/Δt_S (per-neuron vectors; the dense read-out keeps
  τ_I = 1), so that α_I,i^M ≈ a_i;
- **one reconstruction (feedback) time constant per layer**, that of its fastest unit:
  τ_S = min_i τ_i/Δt_S, kick = Iin_snn/τ_S, w_fb = −Iin_snn/(64 τ_S). Every neuron's spikes then encode
  its own filtered state h_i: tracking needs τ_I,i ≥ τ_S (true by construction,
  docs/method.md#why-the-spikes-reproduce-the-rate-network), and the ripple stays ≈ Iin/τ_S ANN units;
- **synaptic current** with the sending layer's τ_S, τ_U = τ_S of the previous layer (layer 0: its own
  τ_S, for its input), so that i_in decodes the presynaptic spikes with the same filter as the sender's
  reconstruction. A neuron has one i_in, so recurrent synapses share it: they are decoded with the same τ_U
  (exact when the previous layer's τ_S equals the layer's own, as in every one-lpRNN-layer net and every
  net with one retention; otherwise their DC gain is exact and their filter is the previous layer's);
- **weights and bias scale with the receiving neuron's τ_I,i**: W_snn = W·Iin·f/(64 τ_I,i τ_U) (row i;
  U_snn likewise; Iin the sending layer's clamp level, f the receiving layer's factor) and b̃_i = f·b_i/τ_I,i;
- **Δt_S** comes from :func:`find_params` on the fastest unit of layer 0, τ_min, so that τ_S = 4096/d;
- **layer-0 input** X_i = f0·(W0 x)_i·τ_U/τ_I,i (:func:`layer0_drive`), injected as X_i/τ_U as before.

What the network integrates is the continuous-time lpRNN τ_i dh_i/dt = −h_i + z_i(t) (filter-then-clamp,
docs/method.md#one-update-per-frame-or-many), with the recurrent input refreshed every SNN step. The paper's ANN
updates once per frame; the two agree while every τ_i spans several frames (a = 0.8: τ = 4.5 frames), but a
2019 cell with fast units (a = 0.1: τ = 0.43 frames) and recurrence computes something else in the SNN. Models
trained with ``substeps`` K > 1 (:class:`lprnn_brian.ann.model.LpRNNModel`) and filter-then-clamp approach the SNN's
dynamics (K → ∞ is its limit); the mapping itself does not depend on K.

In Loihi mode every τ is snapped to a 12-bit decay, τ = 4096/max(1, round(4096/τ)), which caps τ at 4096
steps: units slower than that forget faster than the ANN. :attr:`LayerParams.retention` reports, per layer,
the retention range and the largest per-frame error max_i |(1 − 1/τ_I,i)^M − a_i| (M = Δt_A/Δt_S steps per
frame; also the Euler error of float mode; :func:`loihi_retentions` gives the retentions the grid holds exactly).
Rows scaled by 1/τ_I,i differ in size by the ratio of the units' time constants, so one weight exponent per
matrix would round the slow units' rows away: in Loihi mode such a layer's matrices get one exponent per row
(receiving neuron; on Loihi one synapse group per exponent), and the quantisation dict reports the per-row
largest rounding error relative to the row's largest weight.

**Read-out range** (``readout_range``, beyond the paper; docs/method.md#the-read-outs-range). Every neuron of the
paper reconstructs clamp(·, 0, Iin), the read-out's too, although the ANN's logits are not clamped: where a logit
leaves [0, Iin] the fb decode cuts it and can pick another class. A wider range R > Iin for the read-out alone
(Iin_snn = R·f, kick R·f/τ_S; its weights and bias unchanged, since they carry the hidden layers' [0, Iin]
activity) lets its neurons carry logits up to R, at a ripple R/τ_S ANN units. The default is the model's own
:attr:`~lprnn_brian.ann.model.LpRNNModel.readout_range`, and Iin (the paper's neuron) for a model without one.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from .ann.model import LpRNNModel, is_readout_range
from .equations import derive
from .equations.fixed_point import DECAY_UNITY as DECAY_DENOMINATOR  # Loihi's 12-bit decays: τ_S = 4096/d steps
from .equations.fixed_point import bias_mant_exp, weight_mant_exp, weight_mant_exp_rows
from .equations.sigma_delta import ACTIVATION_SHIFT, STATE_LIMIT, VARIANTS
from .errors import UserInputError

#: Conversion modes: the neuron's arithmetic variants (float, Loihi integer) of the ΣΔ declaration.
MODES = VARIANTS
RESAMPLE = ("hold", "fft")
#: Threshold policies of the comparator (:func:`lprnn_brian.equations.derive.policy_parameters`).
THRESHOLD_POLICIES = derive.THRESHOLD_POLICIES
#: The policy every conversion uses unless told otherwise: the one that measures best
#: (docs/method.md#the-comparators-threshold).
DEFAULT_THRESHOLD = "unbiased"
#: Reference factors for the SHD network (lp layers, lp layers, lp layers, read-out;
#: docs/method.md#reference-factor-presets).
FACTOR_PRESETS = {"shd_reference": (2**21 / 6, 2**21 / 6, 2**21 / 6, 2.0**15)}


@dataclass(frozen=True)
class FactorChoice:
    """Result of :func:`find_params`: decay d (τ_S = 4096/d), |w_fb| = wfb, factor f, Δt_S (s)."""

    d: float
    wfb: float
    f: float
    dt: float
    tau_S: float


def _integral(x: float, tol: float) -> bool:
    return abs(x - round(x)) <= tol and x >= 1


def find_params(
    tau_prev: float,
    Iin: float,
    w_min: float,
    *,
    lp_net: bool = True,
    mode: str = "loihi",
    dt: float | None = None,
) -> FactorChoice:
    """Choose Δt_S and f so that decays are exact 12-bit fractions and weights integers
    (docs/method.md#choosing-the-step-and-the-factors).

    Parameters
    ----------
    tau_prev : float
        Filter time constant of the previous layer, in seconds.
    Iin : float
        ANN clamp level (6).
    w_min : float
        Smallest nonzero |W| of the layer's feed-forward matrix.
    lp_net : bool
        Whether the network contains an lp layer (lp branch) or not (dense branch).
    mode : {'float', 'loihi'}
        Float mode accepts the first candidate (no integrality, no range limit).
    dt : float, optional
        Fixed Δt_S in seconds: only the feedback weight is searched.
    """
    floatmode = mode == "float"
    if not (w_min > 0 or floatmode):
        raise UserInputError("a layer has only zero weights: nothing to convert")
    f_of = lambda wfb, tau_S: wfb * tau_S * ACTIVATION_SHIFT / Iin  # noqa: E731
    if dt is not None:
        tau_S = tau_prev / dt
        d = DECAY_DENOMINATOR / tau_S
        wfbs = range(100, 4096) if lp_net else range(200, 4096)
        for wfb in wfbs:
            f = f_of(wfb, tau_S)
            if floatmode:
                return FactorChoice(d, wfb, f, dt, tau_S)
            if f >= STATE_LIMIT / Iin or f < 1:
                continue
            wsn = wfb * w_min / tau_S if lp_net else wfb * w_min
            if _integral(wsn, 1e-3):
                return FactorChoice(d, wfb, f, dt, tau_S)
    elif lp_net:
        for d in range(1, 100):
            dt_S = d * tau_prev / DECAY_DENOMINATOR
            tau_S = DECAY_DENOMINATOR / d
            for wfb in range(100, 4096):
                f = f_of(wfb, tau_S)
                if floatmode:
                    return FactorChoice(d, wfb, f, dt_S, tau_S)
                if f > STATE_LIMIT / (2 * Iin):
                    continue
                if _integral(wfb * w_min / tau_S, 1e-5):
                    return FactorChoice(d, wfb, f, dt_S, tau_S)
    else:
        for d in range(5, 100):
            dt_S = d * tau_prev / DECAY_DENOMINATOR
            tau_S = DECAY_DENOMINATOR / d
            for wfb in range(100, 4048):
                f = f_of(wfb, tau_S)
                if floatmode:
                    return FactorChoice(d, wfb, f, dt_S, tau_S)
                if f >= STATE_LIMIT / Iin:
                    continue
                if _integral(wfb * w_min, 1e-3):
                    return FactorChoice(d, wfb, f, dt_S, tau_S)
    raise UserInputError(
        f"no SNN step and factor make weights with smallest magnitude {w_min:g} integer on Loihi; "
        "quantise the model (frac_bits ≤ 8) or use --mode float"
    )


@dataclass
class LayerParams:
    """SNN parameters of one layer (time constants in SNN steps; weights in Loihi weight units: a spike
    adds 64·w to the target's i_in).

    ``tau_I`` and ``tau_V`` are floats when every neuron of the layer has the same value, else float64
    (n,) vectors (per-unit retention); ``tau_U`` and ``tau_S`` are always one float per layer.
    ``retention`` (lp layers): ``min``/``max`` of the ANN retention and ``max_abs_error``, the largest
    per-frame retention error max_i |(1 − 1/τ_I,i)^M − a_i|.
    """

    name: str
    kind: str
    n: int
    tau_I: float | np.ndarray
    tau_U: float
    tau_V: float | np.ndarray
    tau_S: float
    factor: float
    Iin_snn: float
    kick: float
    W_snn: np.ndarray  # (n, n_in): synapses from the previous layer (layer 0: unused, see input_W)
    b_tilde: np.ndarray  # (n,)
    U_snn: np.ndarray | None = None  # (n, n): recurrent synapses (lpRNN only)
    W_ann: np.ndarray | None = None  # quantised ANN weight (layer 0: projects the input)
    quantisation: dict = field(default_factory=dict)  # Loihi mant/exp and rounding errors (loihi mode)
    retention: dict = field(default_factory=dict)  # ANN retention range and per-frame error (lp layers)
    threshold: float = 0.0  # θ: the comparator spikes when v > θ (= 64·vth_mant), integer units

    @property
    def per_unit(self) -> bool:
        """True if the neurons have their own τ_I/τ_V (per-unit retention)."""
        return isinstance(self.tau_I, np.ndarray) or isinstance(self.tau_V, np.ndarray)

    @property
    def w_fb(self) -> float:
        """Self-feedback weight, −kick/64."""
        return -self.kick / ACTIVATION_SHIFT

    @property
    def vth_mant(self) -> float:
        """Threshold mantissa of the declaration's spike condition v > 64·vth_mant."""
        return self.threshold / ACTIVATION_SHIFT

    @property
    def clamp_level(self) -> float:
        """The largest value the layer's reconstruction carries, in ANN units: Iin_snn/f (Iin, or the read-out's
        range)."""
        return self.Iin_snn / self.factor

    @property
    def kick_gain(self) -> float:
        """κ = kick·τ_S/Iin_snn: the kick relative to the nominal Iin_snn/τ_S. The reconstruction −i_fb averages
        κ·Iin_snn times the spike rate, so the fb decode in ANN units is −i_fb/(κ f)."""
        return self.kick * self.tau_S / self.Iin_snn


@dataclass
class SNNSpec:
    """Everything needed to build and run the ΣΔ network of a model (docs/method.md#parameter-mapping)."""

    layers: list[LayerParams]
    mode: str
    dt: float  # Δt_S in seconds
    frame_dt: float  # Δt_A in seconds
    n_frames: int
    n_steps: int
    Iin: float
    readout_window: str
    resample: str = "hold"
    class_names: list[str] = field(default_factory=list)
    d: float = 0.0
    threshold_policy: str = "zero"

    @property
    def steps_per_frame(self) -> float:
        return self.frame_dt / self.dt

    @property
    def n_neurons(self) -> int:
        return sum(layer.n for layer in self.layers)

    @property
    def readout_range(self) -> float:
        """The read-out's range in ANN units: its fb decode carries clamp(logit, 0, readout_range)."""
        return self.layers[-1].clamp_level

    def summary(self) -> dict:
        """Scalars of the spec (JSON-serialisable). A per-neuron τ_I/τ_V appears as
        ``{"per_unit": true, "min": …, "max": …}``; its values are among :meth:`to_arrays`' arrays."""
        out = {k: v for k, v in asdict(self).items() if k != "layers"}
        out["steps_per_frame"] = self.steps_per_frame
        out["layers"] = []
        for L in self.layers:
            d = {k: _tau_summary(getattr(L, k)) for k in ("name", "kind", "n", "tau_I", "tau_U", "tau_V", "tau_S",
                                                          "factor", "Iin_snn", "kick", "w_fb",
                                                          "threshold")}
            d["quantisation"] = L.quantisation
            if L.retention:
                d["retention"] = L.retention
            out["layers"].append(d)
        return out

    _ARRAYS = ("W_snn", "b_tilde", "U_snn", "W_ann")
    _TAU_ARRAYS = ("tau_I", "tau_V")

    def _named_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        names = self._ARRAYS + self._TAU_ARRAYS
        return {f"{prefix}{L.name}/{a}": getattr(L, a) for L in self.layers for a in names
                if isinstance(getattr(L, a), np.ndarray)}

    def to_arrays(self, prefix: str = "spec/") -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able scalars, named arrays): a pickle-free serialisation, inverse of :meth:`from_arrays`."""
        return self.summary(), self._named_arrays(prefix)

    @classmethod
    def from_arrays(cls, summary: dict, arrays, prefix: str = "spec/") -> "SNNSpec":
        layers = []
        for Ls in summary["layers"]:
            kw = {k: Ls[k] for k in ("name", "kind", "n", "tau_I", "tau_U", "tau_V", "tau_S", "factor", "Iin_snn",
                                     "kick", "quantisation")}
            kw["retention"] = Ls.get("retention", {})
            kw["threshold"] = float(Ls.get("threshold", 0.0))  # results written before thresholds existed: 0
            for a in cls._ARRAYS:
                key = f"{prefix}{Ls['name']}/{a}"
                kw[a] = np.asarray(arrays[key]) if key in arrays else None
            for a in cls._TAU_ARRAYS:
                if isinstance(kw[a], dict):
                    kw[a] = np.asarray(arrays[f"{prefix}{Ls['name']}/{a}"], dtype=np.float64)
            layers.append(LayerParams(**kw))
        scalars = {k: summary[k] for k in ("mode", "dt", "frame_dt", "n_frames", "n_steps", "Iin", "readout_window",
                                           "resample", "class_names", "d")}
        scalars["threshold_policy"] = summary.get("threshold_policy", "zero")
        return cls(layers=layers, **scalars)

    def digest(self) -> str:
        """Content hash of the spec: names the build directory of its compiled network."""
        h = hashlib.sha256(json.dumps(self.summary(), sort_keys=True, default=str).encode())
        for L in self.layers:
            for arr in (L.W_snn, L.b_tilde, L.U_snn, L.W_ann):
                if arr is not None:
                    h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
            for arr in (L.tau_I, L.tau_V):  # per-neuron time constants
                if isinstance(arr, np.ndarray):
                    h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]


def _tau_summary(value):
    if isinstance(value, np.ndarray):
        return {"per_unit": True, "min": float(value.min()), "max": float(value.max())}
    return value


def _find(tau_prev: float, Iin: float, w_min: float, lp_net: bool, mode: str, dt: float | None) -> FactorChoice:
    """:func:`find_params` for a network. Float mode takes the integer (Loihi) choice when one exists, so the
    two modes run the same network in time and differ only in arithmetic (in float mode f only scales
    every state); otherwise it falls back to the float branch of the search (d = 1;
    docs/method.md#choosing-the-step-and-the-factors)."""
    if mode == "float":
        try:
            return find_params(tau_prev, Iin, w_min, lp_net=lp_net, mode="loihi", dt=dt)
        except UserInputError:
            pass
    return find_params(tau_prev, Iin, w_min, lp_net=lp_net, mode=mode, dt=dt)


def _steps(tau_steps: float, mode: str) -> float:
    """A time constant in SNN steps; in Loihi mode snapped to a 12-bit decay, τ = 4096/round(4096/τ), so
    that 1 − 1/τ is exact (it already is for every network whose layers share one retention)."""
    if mode != "loihi":
        return float(tau_steps)
    decay = max(1, round(DECAY_DENOMINATOR / tau_steps))
    return DECAY_DENOMINATOR / decay


def _w_min(W: np.ndarray) -> float:
    nz = np.abs(W[W != 0])
    return float(nz.min()) if nz.size else 0.0


def to_snn_spec(
    model: LpRNNModel,
    *,
    mode: str = "loihi",
    factors: Sequence[float] | str | None = None,
    dt: float | None = None,
    resample: str = "hold",
    n_frames: int | None = None,
    threshold: str = DEFAULT_THRESHOLD,
    readout_range: float | None = None,
) -> SNNSpec:
    """Convert a (latent-float) ANN model into an :class:`SNNSpec` (docs/method.md#mapping-formulas).

    Parameters
    ----------
    model : LpRNNModel
        The ANN; its weights are passed through the model's quantiser first.
    mode : {'float', 'loihi'}
        ``loihi`` rounds weights and biases to Loihi mantissa·2^exponent and runs 24-bit integer states.
    factors : sequence of float or {'shd_reference'}, optional
        Explicit factor f per layer (reproduction of the reference code); by default derived
        (docs/method.md#choosing-the-step-and-the-factors).
    dt : float, optional
        SNN step Δt_S in seconds; by default the one :func:`find_params` picks for layer 0.
    resample : {'hold', 'fft'}
        Input resampling to SNN steps (decision B8 in docs/decisions.md).
    n_frames : int, optional
        Frames per input (default: the model's ``n_frames``).
    threshold : {'unbiased', 'zero'}
        Threshold policy of the comparator (:func:`comparator`): ``'unbiased'`` (default) centres every
        neuron's reconstruction band on its drive; ``'zero'`` is the authors' neuron (threshold 0), whose
        reconstruction sits about half a kick above the drive (docs/method.md#the-comparators-threshold).
    readout_range : float, optional
        Largest logit the read-out's neurons carry, in ANN units (docs/method.md#the-read-outs-range): its fb
        decode is clamp(logit, 0, readout_range). Default: the model's ``readout_range``, else Iin (the paper).
    """
    _check_options(mode, resample, threshold)
    model.validate()
    q = model.quantised()
    R = resolve_readout_range(q, readout_range)
    factors = _resolve_factors(factors, len(q.layers))
    unit_taus, tau_min = _layer_time_constants(q)
    Iin = float(q.Iin)
    lp_net = any(L.kind in ("lpff", "lprnn") for L in q.layers)
    first = _find(tau_min[0], Iin, _w_min(q.layers[0].W), lp_net, mode, dt)
    grid = _StepGrid(mode=mode, threshold=threshold, Iin=Iin, dt=first.dt, M=q.frame_dt / first.dt)
    layers: list[LayerParams] = []
    for k, L in enumerate(q.layers):
        tau_prev = tau_min[k - 1] if k else tau_min[0]
        if factors is not None:
            f = float(factors[k])
        elif k == 0:
            f = first.f
        else:
            f = _find(tau_prev, Iin, _w_min(L.W), lp_net, mode, grid.dt).f
        clamp_level = R if k == len(q.layers) - 1 else Iin
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused just below
            P = _layer_params(L, k, f, tau_min[k], tau_prev, unit_taus[k], grid, clamp_level)
        if mode == "loihi" and clamp_level != Iin and P.Iin_snn > STATE_LIMIT:
            raise UserInputError(f"readout_range {R:g} needs the read-out's Iin_snn = {R:g}·f = {P.Iin_snn:.6g}, above "
                                 f"the 2^23 of Loihi's 24-bit states, which its reconstruction must fit "
                                 f"(docs/method.md#the-read-outs-range); choose readout_range <= {STATE_LIMIT / f:.6g} "
                                 "or --mode float")
        values = [P.Iin_snn, P.kick, P.W_snn, P.b_tilde] + ([] if P.U_snn is None else [P.U_snn])
        if not all(np.all(np.isfinite(v)) for v in values):
            raise UserInputError(f"layer {L.name}: factor f = {f:g} makes its currents overflow (not finite); "
                                 "use smaller factors")
        layers.append(P)
    T = int(n_frames if n_frames is not None else q.n_frames)
    return SNNSpec(
        layers=layers, mode=mode, dt=grid.dt, frame_dt=q.frame_dt, n_frames=T,
        n_steps=int(math.floor(T * grid.M)), Iin=Iin, readout_window=q.readout_window, resample=resample,
        class_names=list(q.class_names), d=DECAY_DENOMINATOR * grid.dt / tau_min[0], threshold_policy=threshold,
    )


@dataclass(frozen=True)
class _StepGrid:
    """What every layer of one conversion shares: the arithmetic ``mode``, the ``threshold`` policy, the ANN
    clamp ``Iin``, the SNN step ``dt`` (s) and M = Δt_A/Δt_S SNN steps per frame."""

    mode: str
    threshold: str
    Iin: float
    dt: float
    M: float


def resolve_readout_range(model: LpRNNModel, readout_range: float | None = None) -> float:
    """The read-out range a conversion uses (ANN units): ``readout_range`` if given, else the model's, else its
    Iin; refused unless finite and > 0."""
    R = readout_range if readout_range is not None else model.readout_range
    if R is None:
        return float(model.Iin)
    if not is_readout_range(R):
        raise UserInputError(f"readout_range must be a positive number of ANN units (the model's Iin is "
                             f"{float(model.Iin):g}; docs/method.md#the-read-outs-range), got {R!r}")
    return float(R)


def _check_options(mode: str, resample: str, threshold: str) -> None:
    if mode not in MODES:
        raise UserInputError(f"unknown mode {mode!r}; choose one of {MODES}")
    if resample not in RESAMPLE:
        raise UserInputError(f"unknown resample {resample!r}; choose one of {RESAMPLE}")
    if threshold not in THRESHOLD_POLICIES:
        raise UserInputError(f"unknown threshold policy {threshold!r}; choose one of {THRESHOLD_POLICIES}")


def _resolve_factors(factors, n_layers: int):
    """Explicit factors (a preset name resolved), one per layer, or None (derived)."""
    if isinstance(factors, str):
        if factors not in FACTOR_PRESETS:
            raise UserInputError(f"unknown factor preset {factors!r}; choose one of {sorted(FACTOR_PRESETS)}")
        factors = FACTOR_PRESETS[factors]
    if factors is not None and len(factors) != n_layers:
        raise UserInputError(f"got {len(factors)} factors for {n_layers} layers; give one per layer")
    if factors is not None:
        try:
            values = [float(f) for f in factors]
        except (TypeError, ValueError):
            raise UserInputError(f"factors must be numbers, got {list(factors)!r}") from None
        bad = [f for f in values if not (math.isfinite(f) and f > 0)]
        if bad:
            raise UserInputError(f"every factor f must be a positive finite number, got {bad[0]!r}; give one f > 0 "
                                 "per layer, or 'derived'")
        factors = values
    return factors


def _layer_time_constants(q: LpRNNModel) -> tuple[list[np.ndarray | None], list[float]]:
    """(τ of every unit (s) of each lp layer, None for the dense read-out; τ_min of each layer, its fastest
    unit). The dense read-out has no filter of its own (τ_I = 1): its feedback and synaptic filters are its
    predecessor's (τ_min of it)."""
    unit_taus: list[np.ndarray | None] = []
    tau_min: list[float] = []
    for L in q.layers:
        if L.retention is not None:
            unit_taus.append(_unit_taus(L, q.frame_dt))
            tau_min.append(float(unit_taus[-1].min()))
        elif tau_min:
            unit_taus.append(None)
            tau_min.append(tau_min[-1])
        else:
            raise UserInputError(f"layer {L.name} has no retention and no low-pass predecessor; the ΣΔ neuron "
                                 "needs a filter time constant")
    return unit_taus, tau_min


def _state_filters(L, unit_taus: np.ndarray | None, grid: _StepGrid):
    """(τ_I, τ_V, retention record) of a layer: per-neuron filters of an lp layer (a scalar when all agree),
    1 for the dense read-out."""
    if L.kind == "dense":
        return 1.0, 1.0, {}
    tau_I = np.array([_steps(t / grid.dt, grid.mode) for t in unit_taus])
    a = L.retention_vector()
    a_eff = (1.0 - 1.0 / tau_I) ** grid.M
    retention = {"min": float(a.min()), "max": float(a.max()), "max_abs_error": float(np.max(np.abs(a_eff - a)))}
    tau_I = float(tau_I[0]) if np.all(tau_I == tau_I[0]) else tau_I  # one value: a scalar, as before
    return tau_I, tau_I, retention


def _layer_params(L, k: int, f: float, tau_min: float, tau_prev: float, unit_taus, grid: _StepGrid,
                  clamp_level: float) -> LayerParams:
    """The SNN parameters of layer ``k`` (quantised ANN layer ``L``) with factor ``f`` and clamp level
    ``clamp_level`` (ANN units: Iin, or the read-out's range)."""
    mode = grid.mode
    tau_S = _steps(tau_min / grid.dt, mode)
    tau_U = _steps(tau_prev / grid.dt, mode)
    tau_I, tau_V, retention = _state_filters(L, unit_taus, grid)
    Iin_snn = clamp_level * f
    kick, theta, cmp_quant = comparator(grid.threshold, tau_S, Iin_snn, mode)
    if theta == 0 and L.kind == "dense":
        tau_V = tau_S  # the authors' registers (v never outlives a step at θ = 0: τ_V plays no part)
    elif theta > 0:
        tau_V = 1.0  # v must not carry a sub-threshold margin into the next step (a memoryless comparator)
    # rows scale with the receiving neuron's τ_I (a column vector when per-unit); a spike of the sending layer
    # carries its clamp level Iin (not this layer's, which differs for a widened read-out)
    scale = grid.Iin * f / (ACTIVATION_SHIFT * tau_I * tau_U)
    row_scale = scale[:, None] if isinstance(scale, np.ndarray) else scale
    W_snn = L.W.astype(np.float64) * row_scale
    U_snn = L.U.astype(np.float64) * row_scale if (L.kind == "lprnn" and L.U is not None) else None
    b_tilde = L.b.astype(np.float64) * f / tau_I
    quant: dict = {}
    if mode == "loihi":
        W_snn, U_snn, b_tilde, quant = _loihi_values(L.name, W_snn if k else None, U_snn, b_tilde,
                                                     per_row=isinstance(tau_I, np.ndarray))
        W_snn = W_snn if k else L.W.astype(np.float64) * row_scale  # layer 0's W_snn is unused (input drive)
        quant.update(cmp_quant)
    return LayerParams(
        name=L.name, kind=L.kind, n=L.n_out, tau_I=tau_I, tau_U=tau_U, tau_V=tau_V, tau_S=tau_S,
        factor=f, Iin_snn=Iin_snn, kick=kick, W_snn=W_snn, b_tilde=b_tilde, U_snn=U_snn,
        W_ann=L.W.astype(np.float64), quantisation=quant, retention=retention, threshold=theta,
    )


def _loihi_values(name: str, W, U, b, per_row: bool):
    """Weights (None: not mapped) and biases as Loihi mantissa·2^exponent values, with their rounding record.
    ``per_row``: one weight exponent per receiving neuron (rows scaled by per-neuron τ_I,i; the record's ``exp`` is
    then a list)."""
    quant: dict = {}
    out = {}
    try:
        for key, mat in (("W", W), ("U", U)):
            if mat is None:
                out[key] = None
                continue
            me = weight_mant_exp_rows(mat) if per_row else weight_mant_exp(mat)
            quant[key] = {"exp": np.asarray(me.exp).tolist(), "max_abs_error": me.max_abs_error, "rms_error": me.rms_error,
                          "lossless": me.lossless, **_row_errors(mat, me.value, per_row=per_row)}
            out[key] = me.value
        be = bias_mant_exp(b)
    except ValueError as err:
        raise UserInputError(f"layer {name}: {err}; use smaller factors or --mode float") from None
    quant["b"] = {"exp": be.exp, "max_abs_error": be.max_abs_error, "rms_error": be.rms_error, "lossless": be.lossless}
    return out["W"], out["U"], be.value, quant


def comparator(policy: str, tau_S: float, Iin_snn: float, mode: str) -> tuple[float, float, dict]:
    """(kick, threshold θ, quantisation record) of a layer's comparator under a threshold ``policy``.

    θ and the kick come from :func:`lprnn_brian.equations.derive.policy_values`. In Loihi mode the kick must be
    a self-synapse weight mant·2^(6+exp) and θ a multiple of 64 (vth_mant·2^6): the kick is rounded first and θ
    is then the centring threshold for the kick that was kept (:func:`lprnn_brian.equations.derive.
    centring_threshold`); the record gives both roundings and the residual mean error they leave, as a gain on the
    drive and an offset in units of the nominal kick Iin_snn/τ_S. A kick no self-synapse weight holds is refused;
    θ ≈ kick/2 then always fits the 17-bit vth_mant: the largest weight, −256·2^7, gives vth_mant ≤ 16,644.
    """
    theta, kick = derive.policy_values(policy, tau_S, Iin_snn)
    if mode != "loihi":
        return kick, theta, {}
    try:
        me = weight_mant_exp(np.array([-kick / ACTIVATION_SHIFT]))
    except ValueError as err:
        raise UserInputError(f"the feedback kick {kick:g} is no Loihi self-synapse weight ({err}); use smaller "
                             "factors or --mode float") from None
    kick_q = float(-me.value[0] * ACTIVATION_SHIFT)
    if kick_q == 0:
        raise UserInputError(f"the feedback kick {kick:g} rounds to 0 on Loihi's self-synapse weight grid (factor "
                             "too small); use larger factors or --mode float")
    theta_q = theta if theta == 0 else derive.centring_threshold(tau_S, Iin_snn, kick_q)
    theta_q = float(ACTIVATION_SHIFT * np.round(theta_q / ACTIVATION_SHIFT))
    gain, offset = derive.mean_error_coefficients(tau_S, Iin_snn, kick_q, theta_q)
    record = {"kick": {"exp": me.exp, "max_abs_error": abs(kick_q - kick), "lossless": kick_q == kick},
              "threshold": {"vth_mant": int(theta_q / ACTIVATION_SHIFT), "max_abs_error": abs(theta_q - theta),
                            "lossless": theta_q == theta},
              "mean_error": {"gain": gain, "offset_kicks": offset}}
    return kick_q, theta_q, record


def loihi_retentions(a: np.ndarray, tau_S: float = 64.0) -> np.ndarray:
    """Per-unit retentions moved onto the 12-bit decay grid of a layer whose fastest unit gets τ_S = 4096/d steps.

    The conversion gives unit i τ_I,i = τ_S·ln a_min/ln a_i steps, and Loihi mode snaps it to 4096/k_i. Retentions
    a_i = a_min^(k_i/d), k_i = round(d·ln a_i/ln a_min) clipped to 1…d, are the ones that survive the snapping
    exactly: a model trained with them loses nothing to the decay registers (units slower than a_min^(1/d), which
    no register holds, become that slow). a_min and a single retention are unchanged."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0 or np.all(a == a.flat[0]):
        return a.copy()
    if not (np.all(a > 0) and np.all(a < 1)):
        raise UserInputError("retentions must lie in (0, 1)")
    d = DECAY_DENOMINATOR / float(tau_S)
    if d != round(d) or d < 1:
        raise UserInputError(f"tau_S = {tau_S:g} is not 4096/d steps for an integer d")
    a_min = float(a.min())
    k = np.clip(np.round(d * np.log(a) / np.log(a_min)), 1, d)
    return a_min ** (k / d)


def _unit_taus(layer, frame_dt: float) -> np.ndarray:
    """τ_i = −Δt_A/ln a_i (seconds) of every unit of an lp layer (one value repeated for a scalar retention)."""
    values = layer.retention_vector() if layer.per_unit_retention else np.array([float(layer.retention)])
    try:
        taus = np.array([derive.tau_seconds(float(a), frame_dt) for a in values])
    except ValueError:
        raise UserInputError(f"layer {layer.name}: a retention of 0 has no filter time constant, so it has no "
                             "ΣΔ equivalent; use retentions in (0, 1)") from None
    return np.full(layer.n_out, taus[0]) if taus.size == 1 else taus


def _row_errors(requested: np.ndarray, got: np.ndarray, per_row: bool) -> dict:
    """Loihi weight rounding per row (receiving neuron): the largest |error| over the row's largest |weight|."""
    err = np.max(np.abs(got - requested), axis=1) if requested.size else np.zeros(0)
    top = np.max(np.abs(requested), axis=1) if requested.size else np.zeros(0)
    rel = np.divide(err, top, out=np.zeros_like(err), where=top > 0)
    out = {"row_max_rel_error": float(rel.max()) if rel.size else 0.0}
    if per_row:
        out["row_rel_error"] = [float(r) for r in rel]
    return out


def hold_steps(n_frames: int, spec: SNNSpec) -> np.ndarray:
    """The input frame each SNN step holds under the zero-order hold, ⌊n/M⌋ capped at the last frame, for inputs of
    ``n_frames`` frames: n_steps steps for the spec's own frame count, ⌊T·M⌋ for another
    (docs/method.md#input-decoding-and-compartments)."""
    T = int(n_frames)
    return np.minimum(np.floor(np.arange(steps_for_frames(T, spec)) / spec.steps_per_frame).astype(int), T - 1)


def steps_for_frames(n_frames: int, spec: SNNSpec) -> int:
    """SNN steps of an input of ``n_frames`` frames: the spec's n_steps for its own frame count, ⌊T·M⌋ for another."""
    return spec.n_steps if n_frames == spec.n_frames else int(math.floor(n_frames * spec.steps_per_frame))


def resample_input(x: np.ndarray, spec: SNNSpec) -> np.ndarray:
    """Frames (..., T, F) → SNN steps (..., n_steps, F): zero-order hold x[⌊n/M⌋] (:func:`hold_steps`) or FFT
    (docs/method.md#input-decoding-and-compartments)."""
    T = x.shape[-2]
    if spec.resample == "fft":
        from scipy.signal import resample

        return resample(x, steps_for_frames(T, spec), axis=-2)
    return x[..., hold_steps(T, spec), :]


def input_frames(x: np.ndarray, spec: SNNSpec) -> np.ndarray:
    """Layer 0's drive per ANN frame, (..., T, n0): f0·W0·x[t], scaled by τ_U/τ_I,i with per-unit retention
    (:func:`layer0_drive`). Under the zero-order hold the drive of step n is row :func:`hold_steps` [n] of this:
    a network can take its input per frame, M times less data than per step."""
    L0 = spec.layers[0]
    X = L0.factor * (np.asarray(x, dtype=np.float64) @ L0.W_ann.T)
    if isinstance(L0.tau_I, np.ndarray):
        X = X * (L0.tau_U / L0.tau_I)
    return X


def layer0_drive(x: np.ndarray, spec: SNNSpec) -> np.ndarray:
    """X = f0·W0·x_res per SNN step, shape (..., n_steps, n0) (docs/method.md#input-decoding-and-compartments).

    Layer 0 adds X/τ_U to i_ip every step, so its steady state is i_ip = (τ_I/τ_U)·X. With per-unit
    retention (τ_I,i ≠ τ_U) each unit's drive is scaled by τ_U/τ_I,i, like the rows of W_snn, so that
    i_ip,i settles at f0·(W0 x)_i; with one τ per layer nothing is scaled (exactly the layer-0 input of
    docs/method.md#input-decoding-and-compartments). Under the zero-order hold it is :func:`input_frames` held
    over each frame's steps (the same doubles, whichever of the two a simulator takes)."""
    x = np.asarray(x, dtype=np.float64)
    if spec.resample == "hold":
        return input_frames(x, spec)[..., hold_steps(x.shape[-2], spec), :]
    return input_frames(resample_input(x, spec), spec)


# --- the SNN's time grid in ANN frames ------------------------------------------------------------------
def frame_end_steps(spec: SNNSpec, n_frames: int | None = None) -> np.ndarray:
    """Record index holding the state at the end of each ANN frame: ⌊(t+1)·M⌋, capped at n_steps − 1.

    Monitors record at ``start``, so index n holds the state after step n − 1.
    """
    T = spec.n_frames if n_frames is None else n_frames
    return np.minimum(np.floor((np.arange(T) + 1) * spec.steps_per_frame).astype(int), spec.n_steps - 1)


def step_frames(spec: SNNSpec) -> np.ndarray:
    """ANN frame of each SNN step under the zero-order hold, ⌊n/M⌋."""
    return np.minimum(np.floor(np.arange(spec.n_steps) / spec.steps_per_frame).astype(int), spec.n_frames - 1)
