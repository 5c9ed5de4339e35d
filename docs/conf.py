"""Sphinx configuration of the lprnn_brian documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e ".[docs]"``). The equations page
is generated at build time from the sympy declarations (``_equations.py``), never typed by hand.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import lprnn_brian  # noqa: E402

project = "lprnn_brian"
author = "lprnn_brian developers"
release = version = lprnn_brian.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"lprnn_brian {release}"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" sections as fields: dataclass fields are not described twice
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
# torch is an extra: the training modules import it lazily; nothing else here needs mocking
autodoc_mock_imports: list[str] = []
nitpicky = False
# napoleon turns the words of shape descriptions in "Parameters"/"Attributes" types ("(n, n_in) array", "layers")
# into cross-references; where several classes have an attribute of that name Sphinx warns about the ambiguity.
# Those are not links anyone wants: silence that one category.
suppress_warnings = ["ref.python"]


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values as |x| (never reStructuredText substitutions or grid tables): escape the
    bars."""
    for i, line in enumerate(lines):
        lines[i] = line.replace("|", "\\|")


def setup(app):
    from _equations import write_equations_page

    app.connect("builder-inited", lambda app: write_equations_page(HERE / "_generated" / "equations.md"))
    app.connect("autodoc-process-docstring", _escape_bars)
