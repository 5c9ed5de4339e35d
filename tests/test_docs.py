"""The documentation builds without a warning, and what it shows comes from the code.

One Sphinx build (``-W --keep-going``, HTML, into a temporary directory; about 45 s on one core, 20 of them
executing the notebooks) is shared by the tests of this file. Oracles, each computed here independently of the docs' generators:

- the equations page: ``sympy.latex`` of the declared objects themselves (``sigma_delta.UPDATE``, its ``latex()``,
  derived expressions, every comparison neuron's ``PointNeuron.latex()``) must appear verbatim in the generated
  source: it is generated at build time, never typed; so must the method page's neuron snippets be, which the
  method page includes instead of typing the update rules;
- the API reference: the package's module tree walked with ``pkgutil`` here; every public module must have its
  entry, and a few key functions their anchors;
- the docstring preprocessor: hand-written inputs and expected outputs;
- the commands of the tutorial, sweeps, command-line and analysis pages: each ``lprnn-brian`` line must parse with
  the current command-line parser (a renamed option fails here, not in a reader's shell).
"""
from __future__ import annotations

import importlib.util
import pkgutil
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


#: The tests that read the built pages: one whole Sphinx build with the notebooks executed (about a minute), so they
#: run under ``-m slow`` (CI runs them after the suite); the page sources are checked in the default run below.
SPHINX = pytest.mark.slow


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """Build the documentation once, with warnings as errors; return the HTML directory."""
    missing = [m for m in ("sphinx", "myst_parser", "myst_nb", "furo") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: pip install -c constraints.txt -e '.[docs]' (the test extra "
                    "has them)")
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return out


@SPHINX
def test_docs_build_without_warnings_and_every_page_is_written(html):
    """Exit status 0 under -W (asserted in the fixture) and every page of the toctree rendered."""
    for page in ("index", "method", "tutorial", "card_to_code", "decisions", "loihi", "sweeps", "_generated/equations",
                 "_generated/api/index", "results", "accuracy", "analysis", "targets", "cli", "testing",
                 "notebooks/exploring"):
        assert (html / f"{page}.html").is_file(), page


@SPHINX
def test_notebooks_are_executed_by_the_build(html):
    """MyST-NB ran the text notebooks: their outputs (the printed fidelity, the figures) are on the page."""
    page = (html / "notebooks" / "exploring.html").read_text(encoding="utf-8")
    assert "fb-decode correlation with the ANN state" in page
    assert page.count("<img") >= 2


@SPHINX
def test_equations_page_is_the_latex_of_the_current_declarations(html):
    import sympy as sp

    from lprnn_brian.equations import baselines, derive
    from lprnn_brian.equations import sigma_delta as sd

    page = (DOCS / "_generated" / "equations.md").read_text(encoding="utf-8")
    assert sp.latex(sd.UPDATE[sd.i_ip]) in page
    assert sd.latex() in page  # the package's own rendering of the per-step map and threshold
    for x, expr in {**sd.RESET, **sd.ON_SPIKE_SELF, **sd.ON_SPIKE_TARGET, **sd.INPUT}.items():
        assert rf"{sp.latex(x)} &\leftarrow {sp.latex(expr)}" in page, x
    for variant in sd.VARIANTS:
        for x, expr in {**sd.CLIP[variant], **sd.TRUNCATE[variant]}.items():
            assert rf"{sp.latex(x)} &\leftarrow {sp.latex(expr)}" in page, (variant, x)
    for op in sd.SCHEDULE:
        assert f"| {op.name} | `{op.when}` | {op.order} |" in page, op.name
    for fact in (derive.steady_state_rate(), derive.tracking_error_bound(), derive.error_power_gain(),
                 derive.filter_noise_gain()):
        assert sp.latex(fact) in page
    assert f"{derive.tau_seconds(0.8, 1 / 125) * 1e3:.4f} ms" in page  # 35.8514 ms: decision A3 (docs/decisions.md)
    for neuron in baselines.BASELINES.values():
        assert neuron.latex() in page, neuron.name
    # MathJax renders it: the HTML carries the math, and the page loads MathJax
    rendered = (html / "_generated" / "equations.html").read_text(encoding="utf-8")
    assert "mathjax" in rendered.lower() and r"\leftarrow" in rendered


@SPHINX
def test_method_page_shows_the_declared_neuron(html):
    """The method page's update rules, per-variant conditioning and schedule are the generated snippets of the
    declaration, included at build time, never typed: method.md includes each snippet and states no update rule of
    the neuron itself; each snippet holds the declaration's own LaTeX (or its schedule table); the page renders it."""
    import sympy as sp

    from lprnn_brian.equations import sigma_delta as sd

    method = (DOCS / "method.md").read_text(encoding="utf-8")
    snippets = DOCS / "_generated" / "snippets"
    for name in ("neuron_update.md", "neuron_conditioning.md", "neuron_schedule.md"):
        assert f"```{{include}} _generated/snippets/{name}\n```" in method, name
    for x in sd.STATE:
        assert rf"{sp.latex(x)} &\leftarrow" not in method and rf"{sp.latex(x)} \leftarrow" not in method, x
    assert sd.latex() in (snippets / "neuron_update.md").read_text(encoding="utf-8")
    conditioning = (snippets / "neuron_conditioning.md").read_text(encoding="utf-8")
    for variant in sd.VARIANTS:
        for x, expr in {**sd.CLIP[variant], **sd.TRUNCATE[variant]}.items():
            assert rf"{sp.latex(x)} &\leftarrow {sp.latex(expr)}" in conditioning, (variant, x)
    schedule = (snippets / "neuron_schedule.md").read_text(encoding="utf-8")
    for op in sd.SCHEDULE:
        assert f"| {op.name} | `{op.when}` | {op.order} |" in schedule, op.name
    rendered = (html / "method.html").read_text(encoding="utf-8")
    assert r"\leftarrow" in rendered and all(f"<td><p>{op.name}</p></td>" in rendered for op in sd.SCHEDULE)


def _public_modules() -> list[str]:
    import lprnn_brian

    names = ["lprnn_brian"] + [m.name for m in pkgutil.walk_packages(lprnn_brian.__path__, "lprnn_brian.")]
    return [n for n in names if not any(part.startswith("_") for part in n.split("."))]


@SPHINX
def test_api_reference_has_every_public_module_and_the_key_functions(html):
    api = "".join(p.read_text(encoding="utf-8") for p in (html / "_generated" / "api").glob("*.html"))
    modules = _public_modules()
    assert len(modules) > 40  # the walk found the package (it has ~70 modules)
    missing = [m for m in modules if f'id="module-{m}"' not in api]
    assert not missing, f"modules without an API entry: {missing}"
    for name in ("convert.to_snn_spec", "convert.find_params", "simulation.simulate", "evaluate.evaluate",
                 "loihi.emulator.emulate", "loihi.params.to_loihi", "loihi.bundle.load_bundle",
                 "export.nir.write_nir", "sweep.run_sweep", "analysis.fidelity.fidelity",
                 "equations.derive.steady_state_rate", "encoding.simulate_neurons", "ann.forward.forward"):
        assert f'id="lprnn_brian.{name}"' in api, name


@SPHINX
def test_tutorial_figure_and_loihi_constants_are_generated(html):
    from lprnn_brian.equations import fixed_point as q
    from lprnn_brian.loihi import params

    assert (html / "_images" / "neuron_dynamics.png").is_file()
    loihi = (html / "loihi.html").read_text(encoding="utf-8")
    assert f"{q.BIAS_MANT_MAX}" in loihi and f"{params.V_LIMIT:,}" in loihi


def test_docstring_bars_are_escaped_in_prose_only():
    sys.path.insert(0, str(DOCS))
    try:
        from _docstrings import escape_bars
    finally:
        sys.path.remove(str(DOCS))
    lines = [
        "Exponent from max|w| and |round(b/2^e)| ≤ 4095.",         # prose: escaped
        "Uses ``|x|`` and :math:`|E(e^{i\\omega})|^2` inline.",      # literal and role: kept
        "The update::",
        "",
        "    decay: sgn(x·k)(|x·k| >> 12)",                          # literal block: kept
        "",
        "Back to prose |a − b|.",                                    # after the block: escaped
        ".. math::",
        "",
        "   |z| = 1",                                                # math directive: kept
        "| a line block",                                            # reST syntax: kept
    ]
    assert escape_bars(lines) == [
        "Exponent from max\\|w\\| and \\|round(b/2^e)\\| ≤ 4095.",
        "Uses ``|x|`` and :math:`|E(e^{i\\omega})|^2` inline.",
        "The update::",
        "",
        "    decay: sgn(x·k)(|x·k| >> 12)",
        "",
        "Back to prose \\|a − b\\|.",
        ".. math::",
        "",
        "   |z| = 1",
        "| a line block",
    ]


def _cli_commands(page: Path) -> list[list[str]]:
    """The ``lprnn-brian`` command lines in the page's ``bash`` blocks (continuations joined, comments cut)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part)
                if words[:1] == ["lprnn-brian"]:
                    commands.append(words[1:])
    return commands


def test_commands_on_the_pages_parse_with_the_current_command_line():
    from lprnn_brian.cli import build_parser

    parser = build_parser()
    seen = 0
    for page in ("tutorial.md", "sweeps.md", "cli.md", "analysis.md"):
        for argv in _cli_commands(DOCS / page):
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"docs/{page}: `lprnn-brian {' '.join(argv)}` does not parse")
            seen += 1
    assert seen >= 15  # tutorial, sweeps (8 at least), the command-line page (5), analysis (3)
