"""Writes the equations page (``_generated/equations.md``) and the method page's snippets of the neuron
(``_generated/snippets/neuron_*.md``) from the sympy declarations; called by conf.py.

Every formula on the page is ``sympy.latex`` of an object of :mod:`lprnn_brian.equations` (or the string one of
its functions returns), every number is computed from those objects when the documentation is built, and the
Brian2 code strings are those :mod:`lprnn_brian.equations.render` produces. Nothing is typed twice: change a
declaration and the page follows at the next build.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import sympy as sp

#: Zero-argument functions of :mod:`lprnn_brian.equations.derive` returning one sympy expression, in the order
#: shown. A new function there that is not listed here (or in :data:`DERIVED_ELSEWHERE`) fails the build:
#: see :func:`_check_derive_covered`.
DERIVED = ("filter_time_constant", "steps_per_frame", "retention_per_frame", "feedback_fixed_point",
           "steady_state_rate", "tracking_error_bound", "reconstruction_transfer", "error_transfer",
           "error_power_gain", "error_corner_frequency", "error_corner_frequency_asymptote", "error_shaping_slope",
           "error_asymptotic_slope", "filter_noise_gain", "rate_code_snr", "affine_decoder_snr")
#: Public functions of derive shown in their own section below (numeric forms, coefficient lists).
DERIVED_ELSEWHERE = ("tau_seconds", "n_steps", "reconstruction_filter_coefficients", "coding_functions",
                     "comparator_loop", "reconstruction_band", "reconstruction_error_mean", "policy_parameters",
                     "locking_interval", "centring_threshold", "mean_error_coefficients", "policy_values",
                     "mean_transfer", "reconstruction_step_range")

#: Values at which the numeric forms are shown: the bundled digits model's retention and frame step
#: (a = 0.8, Δt_A = 1/125 s) and the Loihi-mode feedback time constant of the examples (τ_S = 64 steps).
EXAMPLE_RETENTION, EXAMPLE_FRAME_DT, EXAMPLE_TAU_S = 0.8, 1 / 125, 64.0


def _math(body: str) -> str:
    """A displayed equation (MyST ``dollarmath``); multi-line bodies go into an ``aligned`` block."""
    if "\\\\" in body or "&" in body:
        body = "\\begin{aligned}\n" + body + "\n\\end{aligned}"
    return "$$\n" + body + "\n$$\n"


def _assign(mapping: dict, op: str = r"\leftarrow") -> str:
    return " \\\\\n".join(rf"{sp.latex(k)} &{op} {sp.latex(v)}" for k, v in mapping.items())


def _first_line(obj) -> str:
    """The first paragraph of a docstring, its reStructuredText roles and literals turned into MyST."""
    doc = inspect.getdoc(obj) or ""
    text = doc.split("\n\n")[0].replace("\n", " ")
    return re.sub(r":(\w+):`", r"{\1}`", text).replace("``", "`")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _attr_docs(module) -> dict[str, str]:
    """The ``#:`` comments of a module's attributes (what autodoc shows), read with Sphinx's own analyzer."""
    from sphinx.pycode import ModuleAnalyzer

    docs = ModuleAnalyzer.for_module(module.__name__).find_attr_docs()
    return {name: " ".join(lines).strip() for (scope, name), lines in docs.items() if not scope}


def _check_derive_covered(derive) -> None:
    public = {n for n, f in vars(derive).items() if inspect.isfunction(f) and f.__module__ == derive.__name__
              and not n.startswith("_")}
    missing = public - set(DERIVED) - set(DERIVED_ELSEWHERE)
    if missing:
        raise RuntimeError(f"docs/_equations.py: lprnn_brian.equations.derive has functions the equations page "
                           f"does not show: {sorted(missing)}; add them to DERIVED or DERIVED_ELSEWHERE")


def sigma_delta_section() -> list[str]:
    from lprnn_brian.equations import sigma_delta as sd

    docs = _attr_docs(sd)
    out = ["## The adaptive ΣΔ neuron", "",
           "Declared in {mod}`lprnn_brian.equations.sigma_delta`. All variables are in Loihi integer units; one "
           "SNN step Δt_S is one unit step.", "",
           "### Symbols", "", "| symbol | name in the code | meaning |", "|---|---|---|"]
    for x in sd.STATE:
        out.append(f"| ${sp.latex(x)}$ | `{x}` | state; leaks with ${sp.latex(sd.TAU_OF[x])}$ |")
    params = [sd.tau_I, sd.tau_U, sd.tau_V, sd.tau_S, sd.b_tilde, sd.kick, sd.vth_mant, sd.w, sd.X, sd.dt_S]
    names = {id(v): k for k, v in vars(sd).items() if isinstance(v, sp.Symbol)}
    for p in params:
        name = names.get(id(p), str(p))
        meaning = docs.get(name, "")
        if not meaning and p in sd.TAU_OF.values():
            meaning = docs.get("tau_I", "") + " (one of the four)"
        per_neuron = " Per neuron." if p in sd.PER_NEURON else ""
        out.append(f"| ${sp.latex(p)}$ | `{name}` | {_md_cell(meaning)}{per_neuron} |")
    out += ["", f"Constants: `ACTIVATION_SHIFT` = {sd.ACTIVATION_SHIFT} ({_md_cell(docs.get('ACTIVATION_SHIFT', ''))}); "
            f"`STATE_LIMIT` = 2^{sd.STATE_LIMIT.bit_length() - 1} = {sd.STATE_LIMIT:,} "
            f"({_md_cell(docs.get('STATE_LIMIT', ''))}).", ""]

    out += ["### One SNN step", ""] + neuron_update_lines()
    out += ["### Float and Loihi variants", ""] + conditioning_lines()
    out += ["### Per-step schedule", "",
            "`SCHEDULE`: every operation has an explicit Brian2 slot (`when`, `order`); nothing relies on Brian2 "
            "sorting objects by name ([decision S1](../decisions.md#snn)).", ""] + schedule_lines()
    return out


def neuron_update_lines() -> list[str]:
    """The one-step map, threshold, reset, spike effects, layer-0 input and continuous form, as LaTeX of the
    declaration (the equations page and the snippet ``neuron_update.md`` of the method page)."""
    from lprnn_brian.equations import sigma_delta as sd

    return ["The per-step map and spike condition as {func}`lprnn_brian.equations.sigma_delta.latex` prints them "
            "(`UPDATE` and `THRESHOLD`; right-hand sides at pre-step values):", "", _math(sd.latex()),
            "Reset (`RESET`), the spike's effect on its own feedback current (`ON_SPIKE_SELF`, the self-synapse) "
            "and on every target neuron (`ON_SPIKE_TARGET`), applied where $s_n = 1$:", "",
            _math(_assign(sd.RESET) + " \\\\\n" + _assign(sd.ON_SPIKE_SELF) + " \\\\\n"
                  + _assign(sd.ON_SPIKE_TARGET)),
            "Layer 0 receives the network input at `start` (`INPUT`):", "", _math(_assign(sd.INPUT)),
            "The continuous-time form whose forward-Euler step at $\\Delta t_S$ is the update "
            "({func}`~lprnn_brian.equations.sigma_delta.continuous_form`):", "",
            _math(_assign({sp.Derivative(x, sp.Symbol("t")): sp.expand(v * sd.dt_S) / sd.dt_S
                           for x, v in sd.continuous_form().items()}, "="))]


def conditioning_lines() -> list[str]:
    """The per-variant conditioning at ``start`` (``CLIP``, then ``TRUNCATE``) as LaTeX of the declaration."""
    from lprnn_brian.equations import sigma_delta as sd

    out = ["The two variants share the update and differ only in the conditioning of the state at the start of "
           "each step (`CLIP`, then `TRUNCATE`; `int` truncates toward zero):", ""]
    for variant in sd.VARIANTS:
        body = _assign(sd.CLIP[variant])
        if sd.TRUNCATE[variant]:
            body += " \\\\\n" + _assign(sd.TRUNCATE[variant])
        out += [f"Variant `{variant}`:", "", _math(body)]
    return out


def schedule_lines() -> list[str]:
    """``SCHEDULE`` as a table, in order of execution."""
    from lprnn_brian.equations import sigma_delta as sd

    out = ["| order of execution | operation | `when` | `order` | what |", "|---|---|---|---|---|"]
    out += [f"| {k} | {op.name} | `{op.when}` | {op.order} | {_md_cell(op.description)} |"
            for k, op in enumerate(sd.SCHEDULE, 1)]
    out.append("")
    return out


def rendered_section() -> list[str]:
    from lprnn_brian.equations import render
    from lprnn_brian.equations import sigma_delta as sd

    out = ["### What Brian2 runs", "",
           "{func}`lprnn_brian.equations.render.render` prints the Brian2 strings from the declaration above "
           "(with Brian2's own `sympy_to_str`); `stimulus` is the layer-0 input `TimedArray`.", ""]
    first = render.render(sd.VARIANTS[0])
    out += ["Shared by both variants: model, update, threshold, reset, synapse.", "", "```text",
            "# model", first.model, "", "# update (groups)", first.update, "", "# threshold", first.threshold, "",
            "# reset", first.reset, "", "# synapse model / on_pre", first.synapse_model, first.on_pre, "",
            "# input (layer 0, start)", first.input, "```", ""]
    for variant in sd.VARIANTS:
        r = render.render(variant)
        out += [f"Variant `{variant}`, conditioning at `start`:", "", "```text", "# clip", r.clip or "(none)",
                "# truncate", r.truncate or "(none)", "```", ""]
    return out


def derive_section() -> list[str]:
    from lprnn_brian.equations import derive

    _check_derive_covered(derive)
    out = ["## Derived facts", "", "```{py:currentmodule} lprnn_brian.equations.derive", "```", "",
           "{mod}`lprnn_brian.equations.derive` solves these from the declaration with sympy (conversion, tests and "
           "the analysis use them instead of typed constants). Symbols beyond the neuron's: retention $a$, ANN "
           "frame step $\\Delta t_A$, ANN ceiling $I_{in}$, factor $f$, drive $c$ (ANN units), spike probability "
           "per step $p$, $z$ (one-step delay $z^{-1}$), $\\omega$ (rad/step).", "",
           f"$I_{{in}}^{{snn}}$ = `IIN_SNN` = ${sp.latex(derive.IIN_SNN)}$ and the feedback kick `KICK` = "
           f"${sp.latex(derive.KICK)}$.", ""]
    for name in DERIVED:
        f = getattr(derive, name)
        out += [f"**{{func}}`~lprnn_brian.equations.derive.{name}`**: {_first_line(f)}", "",
                _math(sp.latex(f()))]
    b, a = derive.reconstruction_filter_coefficients()
    out += ["**{func}`~lprnn_brian.equations.derive.reconstruction_filter_coefficients`**: "
            f"{_first_line(derive.reconstruction_filter_coefficients)}", "",
            _math(rf"b = \left[{', '.join(sp.latex(c) for c in b)}\right], \quad "
                  rf"a = \left[{', '.join(sp.latex(c) for c in a)}\right]")]

    a_, dt_a, tau_s = EXAMPLE_RETENTION, EXAMPLE_FRAME_DT, EXAMPLE_TAU_S
    tau = derive.tau_seconds(a_, dt_a)
    fns = derive.coding_functions()
    out += ["### Numeric forms", "",
            f"Computed at build time for $a = {a_}$, $\\Delta t_A = 1/{round(1 / dt_a)}$ s (the bundled digits "
            f"model) and $\\tau_S = {tau_s:g}$ steps:", "",
            "| call | value |", "|---|---|",
            f"| `tau_seconds({a_}, 1/{round(1 / dt_a)})` | {tau * 1e3:.4f} ms (τ = −Δt_A/ln a; "
            "[decision A3](../decisions.md#ann-and-data)) |",
            f"| `n_steps(125, {a_}, {tau_s:g})` | {derive.n_steps(125, a_, tau_s)} SNN steps for 125 frames |"]
    values = {"filter_b": (tau_s,), "filter_a": (tau_s,), "error_power_gain": (3.141592653589793, tau_s),
              "error_corner": (tau_s,), "filter_noise_gain": (tau_s,), "rate_code_snr": (0.01, 0.2, tau_s),
              "affine_snr": (10.0,)}
    for key, fn in fns.items():
        args = values.get(key)
        if args is None:  # a new entry: show that it exists, without guessing its arguments
            out.append(f"| `coding_functions()['{key}']` | (see its docstring) |")
            continue
        val = fn(*args)
        shown = ", ".join(f"{float(v):.6g}" for v in val) if isinstance(val, (list, tuple)) else f"{float(val):.6g}"
        out.append(f"| `coding_functions()['{key}']{tuple(args)}` | {shown} |")
    out += ["", "`coding_functions()` returns these lambdified forms (numpy); the arguments are those of the "
            "symbolic function of the same name above, in the order shown.", ""]
    return out + threshold_section()


def threshold_section() -> list[str]:
    """The comparator loop, its reconstruction band and mean error, and the threshold policies (derive.py)."""
    from lprnn_brian.equations import derive

    margin, next_r = derive.comparator_loop()
    low, high = derive.reconstruction_band()
    r, s = sp.symbols("r s")
    out = ["### The comparator's threshold", "",
           r"With the drive held at $c f$ and $r = -i_{fb}$, threshold $\theta$ and kick gain $\kappa$ (the kick is "
           r"$\kappa I_{in}^{snn}/\tau_S$, the fb decode $r/(\kappa f)$; the {doc}`method page <../method>` "
           "explains them):", "",
           "**{func}`~lprnn_brian.equations.derive.comparator_loop`**: " + _first_line(derive.comparator_loop), "",
           _math(rf"s_n &= \left[{sp.latex(margin.subs(r, sp.Symbol('r_n')))} > 0\right] \\ "
                 rf"r_{{n+1}} &= {sp.latex(next_r.subs({r: sp.Symbol('r_n'), s: sp.Symbol('s_n')}))}"),
           "**{func}`~lprnn_brian.equations.derive.reconstruction_band`**: "
           + _first_line(derive.reconstruction_band), "",
           _math(rf"\hat h &\in \left[{sp.latex(low)},\; {sp.latex(high)}\right)"),
           "**{func}`~lprnn_brian.equations.derive.reconstruction_error_mean`**: "
           + _first_line(derive.reconstruction_error_mean), "",
           _math(sp.latex(derive.reconstruction_error_mean()))]
    for policy in derive.THRESHOLD_POLICIES:
        p = derive.policy_parameters(policy)
        out += [f"**{{func}}`~lprnn_brian.equations.derive.policy_parameters`\\('{policy}')**: mean error "
                f"${sp.latex(sp.simplify(derive.reconstruction_error_mean().subs(p)))}$", "",
                _math(rf"\theta = {sp.latex(p[derive.theta])}, \quad \kappa = {sp.latex(p[derive.kappa])}")]
    step_lo, step_hi = derive.reconstruction_step_range()
    out += ["**{func}`~lprnn_brian.equations.derive.reconstruction_step_range`**: "
            + _first_line(derive.reconstruction_step_range), "",
            _math(rf"\hat h_{{n+1}} \in \left[{sp.latex(step_lo)},\; {sp.latex(step_hi)}\right]"),
            "**{func}`~lprnn_brian.equations.derive.mean_transfer`**: " + _first_line(derive.mean_transfer), ""]
    lo, hi = derive.locking_interval(2)
    out += ["**{func}`~lprnn_brian.equations.derive.locking_interval`** (2): " + _first_line(derive.locking_interval),
            "", _math(rf"c \in \left({sp.latex(lo)},\; {sp.latex(hi)}\right]")]
    tau_s, iin_snn = EXAMPLE_TAU_S, 2.0**21
    out += [f"Numeric forms at $\\tau_S = {tau_s:g}$, $I_{{in}}^{{snn}} = 2^{{21}}$ (the shipped models' Loihi "
            "registers):", "", "| call | value |", "|---|---|"]
    for policy in derive.THRESHOLD_POLICIES:
        th, kick = derive.policy_values(policy, tau_s, iin_snn)
        gain, offset = derive.mean_error_coefficients(tau_s, iin_snn, kick, th)
        out += [f"| `policy_values('{policy}', {tau_s:g}, 2**21)` | θ = {th:g} (vth_mant {th / 64:g}), "
                f"kick = {kick:g} |",
                f"| `mean_error_coefficients({tau_s:g}, 2**21, {kick:g}, {th:g})` | gain {gain:+.6g}, offset "
                f"{offset:+.6g} kicks |"]
    kick_u = derive.policy_values("unbiased", tau_s, iin_snn)[1]
    out += [f"| `centring_threshold({tau_s:g}, 2**21, {kick_u:g})` | "
            f"{derive.centring_threshold(tau_s, iin_snn, kick_u):g} |", ""]
    return out


def baselines_section() -> list[str]:
    from lprnn_brian.equations import baselines

    neurons = dict(baselines.BASELINES)
    for mode in baselines.DPI_MODES:  # the DPI neuron's other spike modes, beside the default in BASELINES
        n = baselines.dpi(mode)
        neurons.setdefault(n.name, n)
    out = ["## Comparison neurons", "",
           "Declared in {mod}`lprnn_brian.equations.baselines` as {class}`~lprnn_brian.equations.point.PointNeuron` "
           "one-step maps (`pre`: conditioning before the update; update at pre-step values and the drive; "
           "threshold on the updated state; reset where $s_n = 1$), each printed by "
           "{meth}`PointNeuron.latex() <lprnn_brian.equations.point.PointNeuron.latex>` and rendered to Brian2 by "
           "{func}`lprnn_brian.equations.point.render_brian2`.", ""]
    tau_dpi = baselines.DPI.numeric(baselines.dpi_tau(baselines.I_tau_ip))
    for name, n in neurons.items():
        params = ", ".join(f"`{k}` = {v:.4g}" for k, v in n.params.items())
        units = ", ".join(f"`{k}` [{u}]" for k, u in n.units.items())
        out += [f"### `{name}`: {n.title}", "", _math(n.latex()),
                f"Step Δt = {n.dt:g} s; drive `{n.drive}` [{n.drive_unit}]; states {units}. Defaults: {params}.", ""]
    out += [f"DPI filter time constant $\\tau = {sp.latex(baselines.dpi_tau(baselines.I_tau_ip))}$ "
            f"({{func}}`~lprnn_brian.equations.baselines.dpi_tau`) at the defaults: {tau_dpi * 1e3:.4g} ms.", ""]
    return out


def equations_markdown() -> str:
    """The whole page, as MyST Markdown."""
    out = ["# Equations", "",
           "```{note}",
           "This page is generated when the documentation is built (`docs/_equations.py`), from the sympy objects "
           "that every simulator, exporter and analysis of the package is derived from "
           "({mod}`lprnn_brian.equations`). Nothing on it is typed by hand.",
           "```", ""]
    out += sigma_delta_section() + rendered_section() + derive_section() + baselines_section()
    return "\n".join(out) + "\n"


#: The snippets of the method page (``docs/method.md`` includes them from ``_generated/snippets/``): the
#: neuron's update, its per-variant conditioning and its per-step schedule, each the same text as on the equations
#: page, so the method page shows the declaration, not a hand-typed copy of it.
SNIPPETS = {"neuron_update.md": neuron_update_lines, "neuron_conditioning.md": conditioning_lines,
            "neuron_schedule.md": schedule_lines}


def _write_if_changed(path: Path, text: str) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a concurrent build never reads half a page
    return True


def write_snippets(directory: Path) -> None:
    """Write the method page's snippets (:data:`SNIPPETS`) into ``directory``, each only if its text changed."""
    for name, lines in SNIPPETS.items():
        _write_if_changed(directory / name, "\n".join(lines()) + "\n")


def write_equations_page(path: Path) -> bool:
    """Write the page to ``path`` if its text changed (an unchanged file keeps Sphinx's cache valid).
    Returns whether it was written."""
    return _write_if_changed(path, equations_markdown())
