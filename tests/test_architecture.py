"""The package's structure (docs/architecture.md) checked, so that it cannot quietly decay.

* the layering contract in ``setup.cfg`` holds (import-linter: layers, every top-level module in a layer,
  no cycle between sibling packages);
* independently of import-linter, the module import graph read from the source with :mod:`ast` (imports inside
  functions included) has no cycle and no private name imported across modules;
* the public API resolves, ``import lprnn_brian`` loads neither Brian2 nor matplotlib, and importing every module
  changes no global state of matplotlib (no ``matplotlib.use`` at import);
* old module paths of :data:`lprnn_brian.compat.MOVED` give the module at its new path, with a warning, and no
  module of the package imports through one;
* each named constant is defined once: no two module-level constants of the package hold the same tuple of names;
* no function is longer than :data:`MAX_FUNCTION_LINES` without a ``# long:`` comment saying why.
"""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import lprnn_brian
from lprnn_brian import compat

ROOT = Path(lprnn_brian.__file__).parent
REPO = ROOT.parent
#: the function length (lines from ``def`` to its last line, docstring excluded) above which a reason is asked for.
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = list(p.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()
TREES = {m: ast.parse(p.read_text(), filename=str(p)) for m, p in MODULES.items()}


def _imports(module: str):
    """(imported module, imported name or None, line) of every import of the package in ``module``."""
    tree = TREES[module]
    is_pkg = MODULES[module].name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "lprnn_brian":
                    yield a.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_pkg else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "lprnn_brian":
                continue
            for a in node.names:
                if f"{source}.{a.name}" in MODULES:
                    yield f"{source}.{a.name}", None, node.lineno
                else:
                    yield source, a.name, node.lineno


def _owner(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _graph() -> dict[str, set[str]]:
    edges = defaultdict(set)
    for m in MODULES:
        for target, _, _ in _imports(m):
            t = _owner(target)
            if t != m:
                edges[m].add(t)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(MODULES):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_layering_contract_holds():
    """The import-linter contracts of setup.cfg (layers, exhaustive; acyclic siblings) are kept."""
    from importlinter.cli import lint_imports  # a test dependency: missing, the test fails loudly

    assert lint_imports(config_filename=str(REPO / "setup.cfg")) == 0, "lint-imports failed (output above)"


def test_cycle_finder_finds_a_cycle():
    """The cycle finder below is not blind: a made-up graph with a 3-cycle and a tail gives that cycle."""
    names = sorted(MODULES)[:4]
    a, b, c, d = names
    assert _cycles({a: {b}, b: {c}, c: {a, d}}) == [sorted([a, b, c])]


def test_no_import_cycle_between_modules():
    """Read from the source (imports inside functions too): no module reaches itself again through imports."""
    assert _cycles(_graph()) == []


def test_every_package_import_resolves():
    """Each ``lprnn_brian`` module an import names exists (a module moved without its importers fails here, not
    at run time in the one function that imports it)."""
    missing = [f"{m}:{line} imports {target}" for m in MODULES for target, name, line in _imports(m)
               if target not in MODULES]
    assert missing == []


def test_no_private_name_crosses_modules():
    crossings = [f"{m}:{line} imports {name} from {target}"
                 for m in MODULES for target, name, line in _imports(m)
                 if name and name.startswith("_") and not name.startswith("__") and _owner(target) != m]
    assert crossings == []


def test_package_never_imports_an_old_path():
    old_names = {(m, n) for m, n in compat.MOVED_NAMES}
    used = [f"{m}:{line} imports {target}{'.' + name if name else ''}" for m in MODULES
            for target, name, line in _imports(m)
            if target in compat.MOVED or (target, name) in old_names]
    assert used == []


@pytest.mark.parametrize("old", sorted(compat.MOVED))
def test_old_module_path_reads_through_to_the_new_module(old):
    new = importlib.import_module(compat.MOVED[old])
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=compat.MOVED[old].replace(".", r"\.")):
        got = importlib.import_module(old)
    public = [n for n in vars(new) if not n.startswith("_")]
    assert public and all(getattr(got, n) is getattr(new, n) for n in public)
    assert new.__name__ == compat.MOVED[old]  # the real module keeps its name


@pytest.mark.parametrize("old,new", sorted(compat.MOVED_NAMES.items()), ids=lambda v: ".".join(v))
def test_moved_name_answers_at_its_old_place(old, new):
    expected = getattr(importlib.import_module(new[0]), new[1])
    module = importlib.import_module(old[0])  # outside pytest.warns: Brian2's first import reroutes warnings
    with pytest.warns(DeprecationWarning, match=f"{new[0]}.{new[1]}".replace(".", r"\.")):
        got = getattr(module, old[1])
    assert got is expected
    assert not hasattr(importlib.import_module(new[0]), "_no_such_name_")  # unknown names still fail


def test_public_api_resolves():
    for name in lprnn_brian.__all__:
        obj = getattr(lprnn_brian, name)
        assert obj is not None, name
        if name != "__version__" and callable(obj):
            assert obj.__doc__, f"lprnn_brian.{name} has no docstring"


def _fresh_python(code: str) -> str:
    env_clean = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_clean, cwd=REPO,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_package_is_light():
    """``import lprnn_brian`` loads neither Brian2 nor matplotlib (the public names are imported on first use)."""
    got = _fresh_python("import sys, lprnn_brian; print(sorted(m for m in ('brian2', 'matplotlib', 'torch') "
                        "if m in sys.modules))")
    assert got == "[]"


def test_importing_every_module_leaves_matplotlib_alone():
    """No module selects a matplotlib backend (or otherwise changes rcParams) when imported."""
    code = ("import importlib, pkgutil, matplotlib, lprnn_brian\n"
            "raw = lambda: {k: str(matplotlib.rcParams._get(k)) for k in matplotlib.rcParams}\n"  # no backend resolution
            "before = raw()\n"
            "for m in pkgutil.walk_packages(lprnn_brian.__path__, 'lprnn_brian.'):\n"
            "    try:\n"
            "        importlib.import_module(m.name)\n"
            "    except ImportError:\n"  # an optional extra (torch, nir, lava) missing here: not this test's job
            "        pass\n"
            "after = raw()\n"
            "print(sorted(k for k in set(before) | set(after) if str(before.get(k)) != str(after.get(k))))\n"
            "print(matplotlib.rcParams._get_backend_or_none())")
    changed, backend = _fresh_python(code).splitlines()[-2:]
    assert changed == "[]"
    assert backend == "None"


def _constants():
    """(module, name, value) of module-level UPPER_CASE constants that are tuples of two or more strings."""
    for m, tree in TREES.items():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else [])
            for t in targets:
                if isinstance(t, ast.Name) and t.id.isupper() and isinstance(node.value, ast.Tuple):
                    elts = node.value.elts
                    if len(elts) >= 2 and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in elts):
                        yield m, t.id, tuple(e.value for e in elts)


def test_each_named_tuple_of_names_is_defined_once():
    """The names of decodes, targets, modes, windows, … are written once; other modules import them."""
    where = defaultdict(list)
    for m, name, value in _constants():
        where[frozenset(value)].append(f"{m}.{name}")
    assert {tuple(sorted(v)): sorted(k) for v, k in where.items() if len(k) > 1} == {}


def _long_functions():
    for m, tree in TREES.items():
        lines = MODULES[m].read_text().splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            start = body[1].lineno if (len(body) > 1 and isinstance(body[0], ast.Expr)
                                       and isinstance(body[0].value, ast.Constant)) else body[0].lineno
            n = node.end_lineno - start + 1
            if n <= MAX_FUNCTION_LINES:
                continue
            head = "\n".join(lines[node.lineno - 3: start + 2])
            if "# long:" not in head:
                yield f"{m}.{node.name} ({n} lines, line {node.lineno})"


def test_functions_are_short_or_say_why():
    """Functions longer than MAX_FUNCTION_LINES (docstring excluded) carry a ``# long: <reason>`` comment
    within two lines before the ``def`` or at the start of the body."""
    assert list(_long_functions()) == []
