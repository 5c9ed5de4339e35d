r"""A single-compartment spiking neuron declared once in sympy, and its rendering to Brian2 code strings.

:class:`PointNeuron` holds an exact one-step map (like :data:`.sigma_delta.UPDATE`); :func:`render_brian2`
prints every Brian2 string from it with Brian2's own ``sympy_to_str``, so nothing is typed twice.

Per step ``n`` (the slots used by :func:`lprnn_brian.encoding.simulate_neurons`):

1. ``pre``: per-step conditioning of the pre-step state (e.g. flooring at 0);
2. ``update``: :math:`x \leftarrow f(x, I_n; p)` for every state, right-hand sides at the (conditioned)
   pre-step values, :math:`I_n` the drive of this step;
3. ``threshold``: :math:`s_n = [\mathrm{cond}(x)]` on the updated state;
4. ``reset``: applied where :math:`s_n = 1`, right-hand sides at post-update values. A model whose update
   uses :math:`s_{n-1}` carries it as a state set to 1 here and to 0 by the next update.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import sympy as sp
from brian2.parsing.sympytools import sympy_to_str

#: Name of the 2-D TimedArray (steps × neurons) carrying the drive; the code reads ``drive(t, i)``.
DRIVE = "drive"
#: Names Brian2 reserves for itself (a parameter or state of that name would be shadowed or rejected).
RESERVED = frozenset({"t", "dt", "i", "N", "xi", "lastspike", "not_refractory", "t_in_timesteps", DRIVE})


@dataclass(frozen=True)
class PointNeuron:
    """A spiking point neuron as an exact one-step map.

    Parameters
    ----------
    name : str
        Short identifier (``'lif'``, ``'alif'``, ...).
    title : str
        Human-readable name with its citation.
    state : tuple of sympy.Symbol
        State variables in declaration order.
    drive : sympy.Symbol
        The input of this step, the signal being encoded (units in ``drive_unit``).
    update : dict
        ``{state: expression}``, the one-step map; right-hand sides at pre-step values and the drive.
        States without an entry keep their value.
    threshold : sympy.Basic
        Spike condition on the updated state (a strict relation, or an ``And`` of relations).
    reset : dict
        ``{state: expression}`` applied at a spike, right-hand sides at post-update values.
    pre : dict
        ``{state: expression}`` applied before the update every step (may be empty).
    params : dict of str to float
        Published defaults, plain floats (dimensionless per step, or SI).
    dt : float
        The step the parameters refer to, in seconds.
    units : dict of str to str
        SI unit of each state's float value (``'1'`` for dimensionless). Inside Brian2 every variable is a
        dimensionless float holding the SI value: units stay at the documentation boundary.
    drive_unit : str
        SI unit of the drive (``'1'`` for dimensionless).
    initial : dict
        ``{state: expression in the parameters}``; states not named start at 0.
    """

    name: str
    title: str
    state: tuple[sp.Symbol, ...]
    drive: sp.Symbol
    update: dict[sp.Symbol, sp.Expr]
    threshold: sp.Basic
    reset: dict[sp.Symbol, sp.Expr]
    params: dict[str, float]
    dt: float
    units: dict[str, str]
    pre: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    drive_unit: str = "1"
    initial: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [str(x) for x in self.state]
        clash = (set(names) | set(self.params) | {str(self.drive)}) & RESERVED
        if clash:
            raise ValueError(f"{self.name}: names {sorted(clash)} are reserved by Brian2; rename them")
        if set(names) & set(self.params):
            raise ValueError(f"{self.name}: {sorted(set(names) & set(self.params))} are both state and parameter")
        known = set(names) | {str(self.drive)} | set(self.params)
        for block, mapping in (("update", self.update), ("reset", self.reset), ("pre", self.pre),
                               ("initial", self.initial)):
            for x, expr in mapping.items():
                if x not in self.state:
                    raise ValueError(f"{self.name}: {block} assigns {x}, which is not a state")
                free = {s.name for s in sp.sympify(expr).free_symbols}
                if not free <= known:
                    raise ValueError(f"{self.name}: {block}[{x}] uses undeclared symbols {sorted(free - known)}")
        if set(self.units) != set(names):
            raise ValueError(f"{self.name}: units must name every state {names}, got {sorted(self.units)}")

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(str(x) for x in self.state)

    def with_params(self, **overrides: float) -> "PointNeuron":
        """The same neuron with other default parameters (unknown names are an error)."""
        unknown = set(overrides) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {sorted(unknown)}; known: {sorted(self.params)}")
        return replace(self, params={**self.params, **{k: float(v) for k, v in overrides.items()}})

    def numeric(self, expr: sp.Expr, **overrides: float) -> float:
        """Evaluate a parameter-only expression at the defaults (with ``overrides``)."""
        expr = sp.sympify(expr)
        values = {**self.params, **overrides}
        return float(expr.subs({s: values[s.name] for s in expr.free_symbols}))

    def latex(self) -> str:
        """The per-step map, threshold and reset as LaTeX lines (for documentation and reports)."""
        lines = [rf"{sp.latex(x)} &\leftarrow {sp.latex(e)} \quad\text{{(pre)}}" for x, e in self.pre.items()]
        lines += [rf"{sp.latex(x)} &\leftarrow {sp.latex(self.update[x])}" for x in self.state if x in self.update]
        lines.append(rf"s_n &= \left[{sp.latex(self.threshold)}\right]")
        lines += [rf"{sp.latex(x)} &\leftarrow {sp.latex(e)} \quad\text{{if }} s_n"
                  for x, e in self.reset.items()]
        return " \\\\\n".join(lines)


# --- rendering -----------------------------------------------------------------------------------------

def brian_friendly(expr: sp.Expr) -> sp.Expr:
    """Rewrite sympy functions Brian2 lacks: ``Max(x, 0)`` → ``clip(x, 0, inf)``, ``Min(x, 0)`` →
    ``clip(x, -inf, 0)``; other Max/Min are refused (Brian2 has no generic max)."""
    clip = sp.Function("clip")

    def rewrite(e):
        if len(e.args) != 2 or 0 not in e.args:
            raise ValueError(f"cannot render {e} for Brian2: only Max/Min against 0 are supported")
        other = next(a for a in e.args if a != 0)
        return clip(other, 0, sp.oo) if isinstance(e, sp.Max) else clip(other, -sp.oo, 0)

    return sp.sympify(expr).replace(lambda e: isinstance(e, (sp.Max, sp.Min)), rewrite)


def to_str(expr: sp.Expr) -> str:
    """Brian2 code for one expression (drive symbol → ``drive(t, i)``)."""
    return sympy_to_str(brian_friendly(expr))


def _drive_call() -> sp.Expr:
    return sp.Function(DRIVE)(sp.Symbol("t"), sp.Symbol("i"))


def _simultaneous(neuron: PointNeuron, mapping: dict[sp.Symbol, sp.Expr]) -> str:
    """Assignments with every right-hand side at the values before the block: new values go to
    temporaries first (what Brian2's own Euler updater does)."""
    order = [x for x in neuron.state if x in mapping]
    if not order:
        return ""
    subs = {neuron.drive: _drive_call()}
    lines = [f"{x}_next = {to_str(sp.sympify(mapping[x]).subs(subs))}" for x in order]
    lines += [f"{x} = {x}_next" for x in order]
    return "\n".join(lines)


@dataclass(frozen=True)
class RenderedPoint:
    """Brian2 strings for one :class:`PointNeuron` (slots chosen by the simulator).

    ``model`` declares every state and parameter as a dimensionless per-neuron float (parameters
    ``(constant)``, so a per-neuron array sweeps them within one run)."""

    name: str
    model: str
    pre: str
    update: str
    threshold: str
    reset: str


def render_brian2(neuron: PointNeuron) -> RenderedPoint:
    """Render ``neuron`` to Brian2 model and code strings."""
    states = [f"{x} : 1" for x in neuron.state_names]
    consts = [f"{p} : 1 (constant)" for p in neuron.params]
    return RenderedPoint(
        name=neuron.name,
        model="\n".join(states + consts),
        pre=_simultaneous(neuron, neuron.pre),
        update=_simultaneous(neuron, neuron.update),
        threshold=to_str(neuron.threshold),
        reset=_simultaneous(neuron, neuron.reset),
    )
