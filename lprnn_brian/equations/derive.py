"""Symbolic facts about the ΣΔ neuron, derived from the declaration in :mod:`.sigma_delta`.

Used elsewhere (conversion, tests, reports) instead of hand-typed constants (spec §4, §5):

* :func:`feedback_fixed_point` / :func:`steady_state_rate`: firing probability per step for a constant drive;
* :func:`filter_time_constant`, :func:`steps_per_frame`, :func:`retention_per_frame`: a ↔ τ ↔ τ_S ↔ M;
* :func:`tracking_error_bound`: the ripple of the feedback reconstruction.
"""
from __future__ import annotations

import functools
import math

import sympy as sp

from . import sigma_delta as sd

#: Retention ratio a, ANN frame step Δt_A, SNN step Δt_S, ANN clamp Iin, factor f, drive c (ANN units),
#: mean spike probability per step p.
a = sp.Symbol("a", positive=True)
dt_A = sp.Symbol("Delta_t_A", positive=True)
dt_S = sd.dt_S
Iin = sp.Symbol("I_in", positive=True)
f = sp.Symbol("f", positive=True)
c = sp.Symbol("c", nonnegative=True)
p = sp.Symbol("p", nonnegative=True)

#: Iin_snn = Iin·f; the feedback kick is Iin_snn/τ_S (spec §3.2).
IIN_SNN = Iin * f
KICK = IIN_SNN / sd.tau_S


def filter_time_constant() -> sp.Expr:
    """τ of the lpRNN filter: a = exp(−Δt_A/τ) ⇒ τ = −Δt_A/ln a (seconds)."""
    tau = sp.Symbol("tau", positive=True)
    (sol,) = sp.solve(sp.Eq(a, sp.exp(-dt_A / tau)), tau)
    return sp.simplify(sol)


def steps_per_frame() -> sp.Expr:
    """M = Δt_A/Δt_S with τ_S = τ/Δt_S: M = −τ_S ln a."""
    tau = filter_time_constant()
    return sp.simplify((dt_A / dt_S).subs(dt_S, tau / sd.tau_S))


def retention_per_frame() -> sp.Expr:
    """Retention of the SNN filter over one frame, (1 − 1/τ_S)^M (→ a as τ_S → ∞)."""
    return (1 - 1 / sd.tau_S) ** steps_per_frame()


def feedback_fixed_point() -> sp.Expr:
    """Mean i_fb for a mean spike probability p per step: the fixed point of the i_fb update plus kicks,
    i* = (1 − 1/τ_S) i* − kick·p."""
    i_star = sp.Symbol("i_star")
    update = sd.UPDATE[sd.i_fb].subs(sd.i_fb, i_star) - KICK * p
    (sol,) = sp.solve(sp.Eq(i_star, update), i_star)
    return sp.simplify(sol)


def steady_state_rate() -> sp.Expr:
    """Spike probability per step for constant drive c ∈ [0, Iin] (i_ip held at c·f).

    The ΣΔ loop makes the reconstruction −i_fb track the drive on average, −E[i_fb] = c·f; solving with
    :func:`feedback_fixed_point` gives p = c/Iin (spec §12 oracle 8).
    """
    (sol,) = sp.solve(sp.Eq(-feedback_fixed_point(), c * f), p)
    return sp.simplify(sol.subs(sd.kick, KICK))


def tracking_error_bound() -> sp.Expr:
    """Ripple bound of the reconstruction in ANN units: one kick, Iin/τ_S (spec §5.2)."""
    return sp.simplify(KICK / f)


# --- numeric forms (plain SI floats) ------------------------------------------------------------------

def tau_seconds(retention: float, frame_dt: float) -> float:
    """τ = −Δt_A/ln a in seconds."""
    if not 0 < retention < 1:
        raise ValueError(f"retention must lie in (0, 1), got {retention}")
    return float(_tau_function()(retention, frame_dt))


@functools.lru_cache(maxsize=None)
def _tau_function():
    """τ(a, Δt_A) as a plain-math function, lambdified once (per-unit retentions call it per unit)."""
    return sp.lambdify((a, dt_A), filter_time_constant(), "math")


def n_steps(n_frames: int, retention: float, tau_S: float) -> int:
    """Number of SNN steps for ``n_frames`` ANN frames: ⌊T·M⌋ (spec §4.3)."""
    M = sp.lambdify((a, sd.tau_S), steps_per_frame(), "math")(retention, tau_S)
    return int(math.floor(n_frames * M))
