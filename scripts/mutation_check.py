"""Mutation check: does the test suite notice when the core arithmetic is wrong?

    python scripts/mutation_check.py                                   # the default modules and their tests
    python scripts/mutation_check.py --module lprnn_brian/equations/fixed_point.py \
        --tests tests/test_loihi.py --limit 20 --out mutation.json
    python scripts/mutation_check.py --module lprnn_brian/convert.py --survivors-of mutation.json --out again.json

Each *mutant* is the module with one small change to its syntax tree (an operator swapped for its neighbour, a
comparison made strict or loose, a sign dropped, a number moved by one, ``and``/``or`` exchanged, a condition
negated); the module's tests are run against it in a copy of the checkout (beside it, so that ``../shared`` resolves
as it does for the checkout). A mutant is *killed* when a test fails (or the run exceeds ``--timeout``), *survives*
when every test passes. A surviving mutant is either a missing test or an equivalent program; equivalent ones are
listed, each with its reason, in ``tests/data/mutation_equivalent.json`` (key: the mutant's id printed below). The
kill rate, the survivors and which of them are explained go to stdout and, with every mutant's outcome, to ``--out``
(JSON, written atomically).

A mutant's id is ``path::function::original -> mutated#k`` (``k`` counts equal changes in one function), so that it
survives edits elsewhere in the file. Type annotations, docstrings and other strings are never mutated.
"""
from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EQUIVALENT = REPO / "tests" / "data" / "mutation_equivalent.json"

#: The modules the check covers by default and the tests that exercise them (fast ones: no C++ build per mutant
#: unless the module changes what is compiled).
DEFAULT_TARGETS = {
    "lprnn_brian/equations/sigma_delta.py": ["tests/test_equations.py", "tests/test_single_neuron.py"],
    "lprnn_brian/equations/fixed_point.py": ["tests/test_loihi.py", "tests/test_convert.py"],
    "lprnn_brian/convert.py": ["tests/test_convert.py", "tests/test_derive.py"],
    "lprnn_brian/loihi/emulator.py": ["tests/test_loihi.py"],
}

BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
          ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
          ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd}
COMPARES = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass(frozen=True)
class Mutant:
    path: str      # repository-relative
    index: int     # position among the module's mutation sites, in walk order
    ident: str     # path::function::original -> mutated#k
    line: int


class _Sites(ast.NodeVisitor):
    """Every mutation site of a module, in a fixed walk order: (node, field, new value, qualname)."""

    def __init__(self):
        self.sites: list[tuple[ast.AST, str, object, str]] = []
        self._scope: list[str] = []

    def _scoped(self, node):
        self._scope.append(node.name)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # defaults first: evaluated at definition
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                self.visit(default)
        for child in getattr(node, "decorator_list", []) + node.body:
            self.visit(child)
        self._scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_AnnAssign(self, node):  # the annotation is not code; the value is
        if node.value is not None:
            self.visit(node.value)

    def visit_Expr(self, node):  # a bare string is a docstring
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            self.generic_visit(node)

    def _add(self, node, field, value):
        self.sites.append((node, field, value, ".".join(self._scope) or "<module>"))

    def visit_BinOp(self, node):
        if type(node.op) in BINOPS:
            self._add(node, "op", BINOPS[type(node.op)]())
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if type(node.op) in BINOPS:
            self._add(node, "op", BINOPS[type(node.op)]())
        self.generic_visit(node)

    def visit_Compare(self, node):
        for k, op in enumerate(node.ops):
            if type(op) in COMPARES:
                ops = list(node.ops)
                ops[k] = COMPARES[type(op)]()
                self._add(node, "ops", ops)
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        self._add(node, "op", ast.Or() if isinstance(node.op, ast.And) else ast.And())
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.USub, ast.Not)):
            self._add(node, None, node.operand)  # the operand alone: sign or negation dropped
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            self._add(node, "value", node.value + 1)

    def visit_If(self, node):
        self._add(node, "test", ast.UnaryOp(op=ast.Not(), operand=node.test))
        self.generic_visit(node)


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, object, str]]:
    finder = _Sites()
    finder.visit(tree)
    return finder.sites


def _apply(tree: ast.AST, index: int) -> tuple[ast.AST, str, str, int]:
    """A copy of ``tree`` with site ``index`` mutated; the original and mutated source of the changed node."""
    tree = copy.deepcopy(tree)
    node, field, value, _ = _sites(tree)[index]
    before = ast.unparse(node)
    if field is None:  # replace the node by its operand, in its parent
        for parent in ast.walk(tree):
            for name, child in ast.iter_fields(parent):
                if child is node:
                    setattr(parent, name, value)
                elif isinstance(child, list) and any(c is node for c in child):
                    child[[c is node for c in child].index(True)] = value
        after = ast.unparse(value)
    else:
        setattr(node, field, value)
        after = ast.unparse(node) if not isinstance(node, ast.If) else ast.unparse(node.test)
        if isinstance(node, ast.If):
            before = ast.unparse(node.test.operand)
    ast.fix_missing_locations(tree)
    return tree, before, after, getattr(node, "lineno", 0)


def mutants(path: str, root: Path = REPO) -> list[Mutant]:
    """Every mutant of ``root/path``, in walk order."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = []
    for index, (_, _, _, scope) in enumerate(_sites(tree)):
        _, before, after, line = _apply(tree, index)
        base = f"{path}::{scope}::{before} -> {after}"
        seen[base] = seen.get(base, 0) + 1
        out.append(Mutant(path, index, f"{base}#{seen[base]}", line))
    return out


def _copy_checkout(dest: Path) -> None:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, names.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _run_tests(root: Path, tests: list[str], timeout: float) -> str:
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    if proc.returncode == 0:
        return "survived"
    if proc.returncode in (1, 2):  # a test failed, or the mutant broke the import (collection error)
        return "killed"
    return f"error (pytest exit {proc.returncode}): {proc.stdout[-300:]}{proc.stderr[-300:]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", action="append", help="module to mutate (repeat); default: the core modules")
    ap.add_argument("--tests", nargs="+", help="tests to run against every mutant (default: the module's own)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many mutants per module (0: all)")
    ap.add_argument("--timeout", type=float, default=0.0,
                    help="seconds per test run, longer counts as killed (default: 5 times the unmutated run, at "
                         "least 60: a mutant that loops forever costs that, not hours)")
    ap.add_argument("--out", default="mutation-report.json", help="JSON report (written atomically)")
    ap.add_argument("--functions", nargs="+", metavar="NAME",
                    help="mutate only these functions (qualified names as in the mutant ids, e.g. hold_steps)")
    ap.add_argument("--survivors-of", metavar="REPORT",
                    help="run only the mutants that survived in an earlier report (after adding tests for them)")
    args = ap.parse_args(argv)
    modules = args.module or list(DEFAULT_TARGETS)
    equivalent = json.loads(EQUIVALENT.read_text(encoding="utf-8")) if EQUIVALENT.exists() else {}
    results, t0 = [], time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".lprnn-mutation-", dir=REPO.parent))
    try:
        _copy_checkout(work)
        for path in modules:
            tests = args.tests or DEFAULT_TARGETS.get(path)
            if not tests:
                ap.error(f"no tests known for {path}: pass --tests")
            started = time.perf_counter()
            base = _run_tests(work, tests, args.timeout or 3600.0)
            if base != "survived":
                print(f"{path}: the unmutated tests do not pass ({base}); fix that first", file=sys.stderr)
                return 1
            timeout = args.timeout or max(60.0, 5 * (time.perf_counter() - started))
            original = (REPO / path).read_text(encoding="utf-8")
            tree = ast.parse(original)
            todo = mutants(path)[: args.limit or None]
            if args.survivors_of:
                earlier = json.loads(Path(args.survivors_of).read_text(encoding="utf-8"))["mutants"]
                survived = {r["id"] for r in earlier if r["outcome"] == "survived"}
                todo = [m for m in todo if m.ident in survived]
            if args.functions:
                todo = [m for m in todo if m.ident.split("::")[1] in args.functions]
            for k, m in enumerate(todo, 1):
                mutated, *_ = _apply(tree, m.index)
                (work / path).write_text(ast.unparse(mutated) + "\n", encoding="utf-8")
                outcome = _run_tests(work, tests, timeout)
                results.append({"id": m.ident, "line": m.line, "outcome": outcome,
                                "equivalent": equivalent.get(m.ident)})
                print(f"[{k}/{len(todo)}] {outcome:8s} {m.ident} (line {m.line})", flush=True)
            (work / path).write_text(original, encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = _summary(results)
    report = {"command": " ".join(["python", "scripts/mutation_check.py", *(argv or sys.argv[1:])]),
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "wall_s": time.perf_counter() - t0,
              "summary": summary, "mutants": results}
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(json.dumps(summary, indent=1))
    return 0


def _summary(results: list[dict]) -> dict:
    by_module: dict[str, dict] = {}
    for r in results:
        s = by_module.setdefault(r["id"].split("::", 1)[0], {"mutants": 0, "killed": 0, "survived": 0,
                                                              "equivalent": 0, "errors": 0})
        s["mutants"] += 1
        if r["outcome"] in ("killed", "timeout"):
            s["killed"] += 1
        elif r["outcome"] == "survived":
            s["survived"] += 1
            s["equivalent"] += r["equivalent"] is not None
        else:
            s["errors"] += 1
    for s in by_module.values():
        s["kill_rate"] = s["killed"] / s["mutants"] if s["mutants"] else None
        not_equivalent = s["mutants"] - s["equivalent"]
        s["kill_rate_of_non_equivalent"] = s["killed"] / not_equivalent if not_equivalent else None
    survivors = [r["id"] for r in results if r["outcome"] == "survived" and r["equivalent"] is None]
    return {"modules": by_module, "unexplained_survivors": survivors}


if __name__ == "__main__":
    sys.exit(main())
