"""Sphinx configuration of the lprnn_brian documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -c constraints.txt -e ".[docs]"``).

At every build, before any page is read (``builder-inited``), these are written to ``docs/_generated/``
(git-ignored): the equations page and the method page's neuron snippets from the sympy declarations
(``_equations.py``), the API reference pages from
the package's module tree (``_api.py``), the Loihi constants table (``_loihi.py``) and the tutorial's figure with
its declared caption (``fig_neuron_dynamics``, numpy target, a few seconds; remade when its code changes).
Docstrings pass through ``_docstrings.py`` (absolute values ``|x|`` in plain text). The text notebooks of
``docs/notebooks/`` are executed by MyST-NB at every build (``nb_execution_mode``).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "_generated"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # the checkout's package, also when it is not installed

import lprnn_brian  # noqa: E402

project = "lprnn_brian"
author = "lprnn_brian developers"
copyright = "lprnn_brian developers"
release = version = lprnn_brian.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon",
              "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}  # plain MyST pages, and text notebooks
exclude_patterns = ["_build", "**/*.tmp", "_generated/snippets"]  # snippets are included in pages
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# MyST-NB (it brings the MyST parser): a page with a kernelspec in its front matter (docs/notebooks/*.md, text
# notebooks) is executed at every build, and a cell that raises fails the build. The kernel imports the checkout's
# package (PYTHONPATH, set below) and draws its figures inline.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p])

html_theme = "furo"
html_title = f"lprnn_brian {release}"

# numpydoc-style docstrings through napoleon. Parameters and Attributes are rendered as field lists whose types are
# text, not cross-references: the types are free text ("(samples, n) array", "list of LayerParams"), and Sphinx
# would try to link every word in them (an "n" or "layers" matches attributes of several classes and warns).
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_param = False
napoleon_use_rtype = False
napoleon_use_ivar = False
napoleon_custom_sections = [("Attributes", "params_style")]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"  # the docstrings describe the parameters; the hints stay in the signature
# members with a docstring (an option given False would switch it on: absent means off)
autodoc_default_options = {"members": True}
autosummary_generate = False  # the summary tables link to automodule's entries: no stub pages
# torch is an extra: without it, the torch-dependent modules (ann.torch_model, training, ...) are documented
# against a mock so that the reference is complete in an environment with only the docs extra; so is Lava (its
# own environment, scripts/setup-lava) for loihi.lava_neuron.
autodoc_mock_imports = [m for m in ("torch", "lava") if not importlib.util.find_spec(m)]

nitpicky = False
suppress_warnings: list[str] = []


def _write_tutorial_figure(out: Path) -> None:
    """The tutorial's figure, made by the same code as ``python -m lprnn_brian.figures.fig_neuron_dynamics``
    (kept while the figure module and the neuron declaration are unchanged)."""
    from lprnn_brian.equations import sigma_delta
    from lprnn_brian.figures import fig_neuron_dynamics as fig

    png = out / "neuron_dynamics.png"
    sources = [Path(fig.__file__), Path(sigma_delta.__file__)]
    if png.is_file() and all(png.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fig.make(Path(tmp), quick=True)
        shutil.move(str(Path(tmp) / png.name), str(png.with_suffix(".tmp")))
    png.with_suffix(".tmp").replace(png)


def _write_figure_snippet(out: Path) -> None:
    """The figure directive with the caption the figure module declares (``CAPTION``), for the tutorial."""
    from lprnn_brian.figures import fig_neuron_dynamics as fig

    text = (f"```{{figure}} /_generated/figures/{fig.NAME}.png\n:width: 100%\n:alt: {fig.TITLE}\n\n"
            f"**{fig.TITLE}.** {fig.CAPTION}\n```\n")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{fig.NAME}.md"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate(app) -> None:
    from _api import write_api_pages
    from _equations import write_equations_page, write_snippets
    from _loihi import write_constants

    write_equations_page(GENERATED / "equations.md")
    write_snippets(GENERATED / "snippets")
    write_api_pages(GENERATED / "api", app.config.autodoc_mock_imports)
    _write_tutorial_figure(GENERATED / "figures")
    _write_figure_snippet(GENERATED / "snippets")
    write_constants(GENERATED / "snippets" / "loihi_constants.md")


def _disconnect(app, event: str, handler) -> None:
    """Disconnect ``handler`` (an extension's own) from ``event``, so that a wrapper can take its place."""
    for listener in list(app.events.listeners.get(event, [])):
        if listener.handler is handler:
            app.disconnect(listener.id)


def _napoleon_except_attributes(app) -> None:
    """Run napoleon on every docstring but those of module data, attributes and properties.

    napoleon reads the first line of those as ``type: description`` (Google style). The package's ``#:``
    comments and property docstrings are prose ("Loihi's activation shift: a synaptic weight ..."), which napoleon
    would split at the first colon and render as a type. They have no sections, so napoleon has nothing else to do
    for them."""
    from sphinx.ext import napoleon

    _disconnect(app, "autodoc-process-docstring", napoleon._process_docstring)

    def process(app, what, name, obj, options, lines):
        if what not in ("data", "attribute", "property"):
            napoleon._process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process, priority=400)


def _napoleon_skip_except_templaters(app) -> None:
    """Leave out Brian2 code-generation templaters (``BranchFreeThreshold.templater``): machinery, not API.

    A templater answers every attribute it lacks by looking up a template of that name, so it raises jinja2's
    ``TemplateNotFound``, not ``AttributeError``, when napoleon's skip handler asks it for ``__qualname__``. Sphinx
    calls every skip handler before it takes the first answer, so napoleon's is replaced by one that answers for
    templaters itself and asks napoleon about everything else."""
    from brian2.codegen.templates import Templater
    from sphinx.ext import napoleon

    _disconnect(app, "autodoc-skip-member", napoleon._skip_member)

    def skip(app, what, name, obj, skip, options):
        if isinstance(obj, Templater):
            return True
        return napoleon._skip_member(app, what, name, obj, skip, options)

    app.connect("autodoc-skip-member", skip)


def setup(app):
    from _docstrings import process_docstring

    _napoleon_skip_except_templaters(app)

    app.connect("builder-inited", _generate)
    _napoleon_except_attributes(app)
    app.connect("autodoc-process-docstring", process_docstring, priority=600)  # after napoleon's rewrite
    return {"parallel_read_safe": True}
