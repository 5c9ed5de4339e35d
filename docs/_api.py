"""Writes the API reference pages (``_generated/api/*.md``) at build time; called by conf.py.

Every module of the package is found by walking it (nothing listed by hand can fall behind the code), sorted
into the groups of :data:`GROUPS` by name (a module no rule matches lands in "Other modules"), and written as a
heading, a summary table of its public functions and classes (``autosummary``) and its full documentation
(``automodule``: the module docstring, then every documented member). The docstrings themselves are the only
text.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Sequence

#: (page, title, introduction, module-name prefixes), in the order of the reference. A module belongs to the first
#: group with a prefix it starts with (a prefix matches the module itself and its submodules; the top-level package
#: ``lprnn_brian`` only itself).
GROUPS = (
    ("public", "The public API",
     "What `import lprnn_brian as lb` gives: load a model, convert it, build and run its Brian2 network, simulate "
     "and evaluate, and the result types; each name links to the module that defines it (see "
     "{doc}`../../architecture`). `lb.explore` gives one input's network as Brian2 objects to change and run by "
     "hand (the {doc}`../../notebooks/exploring` notebook).",
     ("lprnn_brian", "lprnn_brian.explore")),
    ("conversion", "Conversion and simulation",
     "From an ANN model to a ΣΔ network and its spikes: the parameter mapping, the Brian2 network, the code "
     "generation targets, multi-sample runs and their decodes.",
     ("lprnn_brian.convert", "lprnn_brian.network", "lprnn_brian.targets", "lprnn_brian.propagation",
      "lprnn_brian.spike_record",
      "lprnn_brian.simulation", "lprnn_brian.evaluate", "lprnn_brian.evaluate_sequences",
      "lprnn_brian.encoding")),
    ("equations", "Equations",
     "The neurons declared once in sympy, their rendering to Brian2 and the facts derived from them (see also "
     "the generated {doc}`../equations` page).",
     ("lprnn_brian.equations",)),
    ("ann", "Rate network (ANN)",
     "The model file, the numpy reference forward, the quantiser, the reader of the authors' checkpoints, and "
     "the torch model (the `train` extra).",
     ("lprnn_brian.ann",)),
    ("training", "Training",
     "Quantisation-aware training in PyTorch (the `train` extra): the classifiers, and the curricula of the "
     "adding and copying tasks.",
     ("lprnn_brian.training",)),
    ("analysis", "Analysis",
     "Fidelity to the ANN, rate vs timing codes, the comparison neurons, energy estimates, reports and plots.",
     ("lprnn_brian.analysis",)),
    ("loihi", "Loihi, Lava and NIR",
     "The integer mapping, the bit-exact emulator, the bundle, the Lava builder and the NIR graph "
     "(see {doc}`../../loihi`).",
     ("lprnn_brian.loihi", "lprnn_brian.export")),
    ("sweep", "Sweeps on Dask", "Parameter sweeps and whole-dataset evaluation (see {doc}`../../sweeps`).",
     ("lprnn_brian.sweep", "lprnn_brian.sweep_tasks", "lprnn_brian.sweep_dask", "lprnn_brian.sweep_table")),
    ("tasks", "Tasks and data",
     "Feature front ends, the bundled digits, the spoken-word datasets and the 2019 sequence tasks.",
     ("lprnn_brian.tasks",)),
    ("cli", "Command line, figures, files",
     "The `lprnn-brian` command, the demo, the figure scripts, the file helpers, the bundled data, the version and "
     "the old import paths kept for one release.",
     ("lprnn_brian.cli", "lprnn_brian.demo", "lprnn_brian.figures", "lprnn_brian.fileio", "lprnn_brian.bundled",
      "lprnn_brian.errors", "lprnn_brian.version", "lprnn_brian.compat")),
)
OTHER = ("other", "Other modules", "Modules no group above claims.", ())


def package_modules(package: str = "lprnn_brian") -> list[str]:
    """Every public module of ``package`` (no name component starting with ``_``), the package first."""
    pkg = importlib.import_module(package)
    names = [package] + [m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=package + ".")]
    return [n for n in names if not any(part.startswith("_") for part in n.split("."))]


def group_of(module: str) -> tuple:
    """The first group of :data:`GROUPS` with a prefix that is ``module`` or a package holding it (the top-level
    package itself only matches itself), else :data:`OTHER`."""
    top = "lprnn_brian"
    for group in GROUPS:
        if any(module == p or (p != top and module.startswith(p + ".")) for p in group[3]):
            return group
    return OTHER


def public_members(module) -> list[str]:
    """Full names for the summary table: the documented public functions and classes of ``__all__`` if the module
    has one, else those the module defines (what autodoc documents), in source order. Names a package re-exports
    are given by their defining module, where their entry is."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]

        def line(n):
            try:
                return inspect.getsourcelines(getattr(module, n))[1]
            except (OSError, TypeError):
                return 0
        names = sorted(names, key=line)
    out = []
    for n in names:
        obj = getattr(module, n, None)
        if ((inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith("lprnn_brian")
                and obj.__doc__):  # autodoc shows documented members only
            out.append(f"{obj.__module__}.{obj.__qualname__}")
    return out


def module_block(name: str, mock_imports: Sequence[str] = ()) -> list[str]:
    """MyST text of one module: heading, summary table, then the module docstring and its members.

    A package is shown by its docstring and a table of what it re-exports (linked to the defining modules, which
    document them): documenting the re-exports again would give every object two entries."""
    from sphinx.ext.autodoc.mock import mock

    with mock(list(mock_imports)):  # as autodoc imports it (torch mocked where the extra is not installed)
        module = importlib.import_module(name)
    members = public_members(module)
    package = hasattr(module, "__path__")
    out = [f"## `{name}`", "", "```{eval-rst}"]
    if members:  # the table links to the entries that automodule creates (here or on the defining module)
        if package:  # re-exports, named by their defining modules
            out += [".. currentmodule:: None", "", ".. autosummary::", "   :nosignatures:", ""]
            out += [f"   ~{m}" for m in members] + [""]
        else:  # names relative to the module, so that the summaries' own cross-references resolve there too
            out += [f".. currentmodule:: {name}", "", ".. autosummary::", "   :nosignatures:", ""]
            out += [f"   {m.removeprefix(name + '.')}" for m in members] + [""]
    out += [f".. automodule:: {name}", "   :no-members:" if package else "   :members:", "```", ""]
    return out


def api_pages(mock_imports: Sequence[str] = ()) -> dict[str, str]:
    """{page name: MyST text} for ``_generated/api/``: one page per group and the index."""
    by_group: dict[str, list[str]] = {}
    groups = {g[0]: g for g in GROUPS + (OTHER,)}
    for name in package_modules():
        by_group.setdefault(group_of(name)[0], []).append(name)
    pages = {}
    order = [g[0] for g in GROUPS + (OTHER,) if g[0] in by_group]
    for key in order:
        page, title, intro, _ = groups[key]
        text = [f"# {title}", "", intro, ""]
        for name in by_group[key]:
            text += module_block(name, mock_imports)
        pages[page] = "\n".join(text)
    index = ["# API reference", "",
             "Generated from the docstrings (numpydoc style) when the documentation is built; every public module "
             "of the package is listed.", "", "```{toctree}", ":maxdepth: 2", ""] + order + ["```", ""]
    index += ["| group | modules |", "|---|---|"]
    index += [f"| {{doc}}`{key}` | " + ", ".join(f"`{n}`" for n in by_group[key]) + " |" for key in order]
    pages["index"] = "\n".join(index) + "\n"
    return pages


def write_api_pages(directory: Path, mock_imports: Sequence[str] = ()) -> None:
    """Write the pages whose text changed, remove pages of groups that no longer exist. ``mock_imports``: the
    modules autodoc mocks (``autodoc_mock_imports``)."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = api_pages(mock_imports)
    for page, text in pages.items():
        path = directory / f"{page}.md"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    for stale in directory.glob("*.md"):
        if stale.stem not in pages:
            stale.unlink()
