"""The README is a front page whose commands work, whose Python example runs, and whose numbers were measured.

Oracles, each independent of the README's own text:

- the command line's parser (:func:`lprnn_brian.cli.build_parser`): every ``lprnn-brian`` line of the README's
  ``bash`` blocks parses, and its command table names exactly the parser's sub-commands;
- a subprocess running the README's Python example as a user would paste it: its output must be the output the
  README shows under it;
- the benchmarks' JSON records in ``benchmarks/results/``: ``scripts/results_page.py`` regenerates docs/results.md
  from them into a temporary file, which must equal the committed page (a stale page fails), and every measured
  number the README states (decimals such as 0.967, ratios such as 82×) must be on that page or, for a decimal, be a
  value in a record rounded to the digits shown.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RESULTS_PAGE = REPO / "docs" / "results.md"
RECORDS = REPO / "benchmarks" / "results"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", flags=re.S | re.M)


def _blocks(text: str) -> list[tuple[str, str, int]]:
    """(language, body, start offset) of every fenced block."""
    return [(m[1], m[2], m.start()) for m in FENCE.finditer(text)]


def _example_and_output(text: str) -> tuple[str, str]:
    """The README's Python examples, in order, as one script (a later one uses the names an earlier one made), and
    what they print: each ```python block must be followed by the ```text block showing its output."""
    blocks = _blocks(text)
    code, shown = [], []
    for k, (lang, body, _) in enumerate(blocks):
        if lang == "python":
            assert k + 1 < len(blocks) and blocks[k + 1][0] == "text", "the example's output block must follow it"
            code.append(body)
            shown.append(blocks[k + 1][1].strip())
    if not code:
        pytest.fail("README.md has no ```python example")
    return "\n".join(code), "\n".join(shown)


def test_readme_is_a_front_page_that_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail to docs/"
    assert lines[0].startswith("# ") and lines[1] == "" and lines[2] == "```bash", "the commands come first"
    first = _blocks(text)[0][1]
    assert "lprnn-brian demo --out demo_out" in first and "pip install -c constraints.txt -e ." in first
    assert "python -m pytest" in first
    prose = FENCE.sub("", text)
    for pattern in (r"§", r"\bthe issue\b", r"\bdecision [A-Z]\d", r"\bspec\b"):
        assert not re.search(pattern, prose, flags=re.I), f"lab-report reference {pattern!r} in README.md"
    for link in re.findall(r"\]\(((?:docs|figures)/[^)#]+)", text):  # every page and figure it points to exists
        assert (REPO / link).is_file(), link


def test_readme_commands_parse_and_the_table_lists_every_command():
    from lprnn_brian.cli import build_parser

    parser = build_parser()
    text = README.read_text(encoding="utf-8")
    seen = 0
    for lang, body, _ in _blocks(text):
        if lang != "bash":
            continue
        for line in body.splitlines():
            for part in line.split(" #")[0].split("&&"):
                words = shlex.split(part)
                if words[:1] == ["lprnn-brian"]:
                    try:
                        parser.parse_args(words[1:])
                    except SystemExit:
                        pytest.fail(f"README.md: `{part.strip()}` does not parse")
                    seen += 1
    assert seen >= 1
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    table = set(re.findall(r"^\| `lprnn-brian ([\w-]+)", text, flags=re.M))
    assert table == set(sub.choices), f"command table {sorted(table)} vs parser {sorted(sub.choices)}"


def test_results_page_is_what_the_committed_records_give(tmp_path):
    out = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "results_page.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_text(encoding="utf-8") == RESULTS_PAGE.read_text(encoding="utf-8"), \
        "docs/results.md is stale: run `python scripts/results_page.py`"
    assert list(RECORDS.glob("demo-*.json")), "the demo's record (python benchmarks/demo.py) is missing"


def _measured_numbers(text: str) -> list[str]:
    """Decimals and ratios the README states in prose and in its text blocks (not in code, and not in the example's
    output, which the example test checks by running it)."""
    _, example_output = _example_and_output(text)
    kept = FENCE.sub(lambda m: m[2] if m[1] == "text" and m[2].strip() not in example_output else "", text)
    kept = re.sub(r"\]\([^)]*\)", "]", kept)  # link targets
    kept = re.sub(r"Python\s+\d+\.\d+(\s+to\s+\d+\.\d+)?", "Python", kept)  # versions, not measurements
    return re.findall(r"(?<![\w.=])(\d+\.\d+|\d+×)(?![\w.])", kept)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def test_every_number_in_the_readme_is_on_the_results_page_or_in_a_record():
    numbers = _measured_numbers(README.read_text(encoding="utf-8"))
    demo = json.loads(sorted(RECORDS.glob("demo-*.json"))[-1].read_text(encoding="utf-8"))
    run = next(r["report"] for r in demo["runs"] if r["threshold"] == "unbiased")  # what `lprnn-brian demo` prints
    headline = {f"{run['ann_accuracy']:.3f}", f"{run['snn_accuracy']['fb']:.3f}", f"{run['class_agreement']['fb']:.3f}"}
    assert headline <= set(numbers), (headline, numbers)  # the demo's three headline numbers are stated
    page = RESULTS_PAGE.read_text(encoding="utf-8")
    leaves = [v for path in RECORDS.glob("*.json") for v in _leaves(json.loads(path.read_text(encoding="utf-8")))]
    missing = []
    for n in numbers:
        if re.search(rf"(?<![\w.]){re.escape(n)}(?![\d])", page):
            continue
        if "." in n and any(round(v, len(n.split(".")[1])) == float(n) for v in leaves):
            continue
        missing.append(n)
    assert not missing, f"README numbers with no measurement behind them: {missing}"


def test_readme_python_example_runs_and_prints_what_the_readme_shows(tmp_path):
    code, shown = _example_and_output(README.read_text(encoding="utf-8"))
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == shown.strip()
