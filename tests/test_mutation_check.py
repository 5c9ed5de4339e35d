"""scripts/mutation_check.py makes the mutants it promises: each one changes one thing, annotations, docstrings and
strings are left alone, and the ids are stable and unique. Expected mutants written out by hand for a toy module."""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("mutation_check", REPO / "scripts" / "mutation_check.py")
mutation_check = importlib.util.module_from_spec(_spec)
sys.modules["mutation_check"] = mutation_check  # dataclasses look their module up
_spec.loader.exec_module(mutation_check)

TOY = '''"""Docstring 1 + 1."""
from __future__ import annotations


def f(x: int | None, y=2) -> float:
    """Not code: a < b."""
    if x > 0 and y:
        return -x * y
    return x + 1
'''


def test_toy_module_mutants(tmp_path):
    (tmp_path / "toy.py").write_text(TOY)
    got = [m.ident.split("::", 2)[2] for m in mutation_check.mutants("toy.py", root=tmp_path)]
    assert got == [
        "2 -> 3#1",                        # the default
        "x > 0 and y -> not (x > 0 and y)#1",   # the if's condition negated
        "x > 0 and y -> x > 0 or y#1",
        "x > 0 -> x >= 0#1",
        "0 -> 1#1",
        "-x * y -> -x / y#1",
        "-x -> x#1",
        "x + 1 -> x - 1#1",
        "1 -> 2#1",
    ], got


def test_every_mutant_of_a_core_module_parses_and_differs():
    path = "lprnn_brian/equations/sigma_delta.py"
    original = (REPO / path).read_text(encoding="utf-8")
    tree = ast.parse(original)
    ms = mutation_check.mutants(path)
    assert len(ms) > 20 and len({m.ident for m in ms}) == len(ms)
    plain = ast.unparse(tree)
    for m in ms:
        mutated, before, after, _ = mutation_check._apply(tree, m.index)
        src = ast.unparse(mutated)
        assert src != plain and before != after, m.ident
        ast.parse(src)
    assert ast.unparse(tree) == plain, "the original tree was modified"


@pytest.mark.slow  # ~20 s: every mutant of the core modules generated
def test_every_equivalence_reason_names_a_mutant_of_todays_code():
    """tests/data/mutation_equivalent.json explains survivors by id: each id must still be a mutant of the module as
    it is now (an edit that removes or renames it leaves a stale reason, which fails here), with a reason in words."""
    import json

    reasons = json.loads(mutation_check.EQUIVALENT.read_text(encoding="utf-8"))
    assert reasons, "no equivalent mutants listed"
    ids = {}
    for ident in reasons:
        path = ident.split("::", 1)[0]
        if path not in ids:
            ids[path] = {m.ident for m in mutation_check.mutants(path)}
        assert ident in ids[path], f"{ident}: no such mutant of today's {path}"
        assert len(reasons[ident].split()) >= 8, f"{ident}: give the reason in words"
