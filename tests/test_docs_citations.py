"""The repository cites its own documentation, and every such citation resolves.

The method is described in ``docs/method.md`` and the package's choices in ``docs/decisions.md``; code, tests and
docs point there (``docs/method.md#per-step-order``, "decision B7 in docs/decisions.md"), never to a document that
ships with nobody's copy. Checked over every file ``git ls-files`` lists (text files only: a file with a NUL byte or
that is not UTF-8 is skipped):

- no file cites a numbered section of an outside specification: no section sign followed by a number, no "spec"
  followed by a section sign, no file name of that specification, and no JSON-escaped section sign;
- every pointer ``<page>.md#<anchor>`` to a page of ``docs/`` (or to the top-level README) names a heading of that
  page. Oracle: MyST's own parser and slug function (:func:`myst_parser.mdit_to_docutils.base.compute_unique_slug`,
  the one ``myst_heading_anchors`` uses when Sphinx builds the page, GitHub-style), applied to the headings down to
  the level ``docs/conf.py`` sets; nothing here re-implements the slug;
- every decision id cited as "decision X1" or "decisions X1, X2" is a row of the decision table.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

SECTION_SIGN = chr(0xA7)
#: Citations of an outside specification: a section sign before a number or after "spec", the specification's
#: file name, and the section sign as JSON writes it with ensure_ascii.
FORBIDDEN = re.compile("|".join((
    re.escape(SECTION_SIGN) + r"\s*\d",
    r"\bspec\s*" + re.escape(SECTION_SIGN),
    r"\bspec\.md\b",
    re.escape("\\" + "u00a7"),
)), re.IGNORECASE)
#: A pointer to a heading of a documentation page: ``method.md#per-step-order``, ``docs/decisions.md#snn``,
#: ``../decisions.md#snn``.
POINTER = re.compile(r"(?<![\w.-])(?:[\w.-]+/)*([A-Za-z_][\w-]*)\.md#([\w-]+)")
#: A decision cited by id: "decision B7", "decisions A1/A8", "decisions D2–D5", "decisions B2, B3 and L1".
DECISION_IDS = re.compile(r"\b[Dd]ecisions? ((?:[A-Z]\d+)(?:(?:/|, | and |–|-)[A-Z]\d+)*)")


def decision_ids(cited: str) -> list[str]:
    """The ids of one citation: "A1/A8" → A1, A8; "D2–D5" → D2, D3, D4, D5; "B2, B3 and L1" → B2, B3, L1."""
    ids = []
    for part in re.split(r"/|, | and ", cited):
        span = re.fullmatch(r"([A-Z])(\d+)[–-]\1(\d+)", part)
        if span:
            ids += [f"{span.group(1)}{k}" for k in range(int(span.group(2)), int(span.group(3)) + 1)]
        else:
            ids += re.findall(r"[A-Z]\d+", part)
    return ids


def _tracked_text_files() -> dict[str, str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("not a git checkout: the tracked files are unknown, so the citations cannot be checked")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    texts = {}
    for name in names.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    files = _tracked_text_files()
    assert "docs/method.md" in files and "lprnn_brian/convert.py" in files, "git ls-files found no checkout"
    return files


def _anchor_depth() -> int:
    """``myst_heading_anchors`` as docs/conf.py sets it (headings deeper than this get no anchor)."""
    m = re.search(r"^myst_heading_anchors\s*=\s*(\d+)", (DOCS / "conf.py").read_text(encoding="utf-8"), re.M)
    assert m, "docs/conf.py sets no myst_heading_anchors: pointers to headings would not resolve in the HTML"
    return int(m.group(1))


def heading_anchors(markdown: str, depth: int) -> list[str]:
    """The anchors MyST gives the headings of a page, in order (MyST's parser and slug function)."""
    try:
        from markdown_it.renderer import RendererHTML
        from markdown_it.tree import SyntaxTreeNode
        from myst_parser.config.main import MdParserConfig
        from myst_parser.mdit_to_docutils.base import compute_unique_slug
        from myst_parser.parsers.mdit import create_md_parser
    except ImportError as exc:
        pytest.fail(f"{exc}: pip install -c constraints.txt -e '.[docs]' (the test extra has it)")
    md = create_md_parser(MdParserConfig(enable_extensions={"dollarmath", "amsmath", "colon_fence"}), RendererHTML)
    tree = SyntaxTreeNode(md.parse(markdown))
    slugs: list[str] = []
    for node in tree.walk():
        if node.type == "heading" and int(node.tag[1:]) <= depth:
            slug = compute_unique_slug(node, slugs)
            if slug:
                slugs.append(slug)
    return slugs


def _page(stem: str) -> Path | None:
    """The page a pointer names: a page of docs/ by its stem, or the top-level README."""
    if (DOCS / f"{stem}.md").is_file():
        return DOCS / f"{stem}.md"
    if stem == "README":
        return ROOT / "README.md"
    return None


def test_no_file_cites_an_outside_specification(texts):
    hits = [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for name, text in texts.items() for m in FORBIDDEN.finditer(text)]
    assert not hits, ("cite docs/method.md#<anchor> or docs/decisions.md instead of the specification:\n"
                      + "\n".join(hits))


def test_every_pointer_to_a_docs_heading_resolves(texts):
    depth = _anchor_depth()
    anchors: dict[Path, set[str]] = {}
    broken, checked = [], 0
    for name, text in texts.items():
        for m in POINTER.finditer(text):
            page = _page(m.group(1))
            if page is None:
                continue
            if page not in anchors:
                anchors[page] = set(heading_anchors(page.read_text(encoding="utf-8"), depth))
            checked += 1
            if m.group(2) not in anchors[page]:
                line = text.count("\n", 0, m.start()) + 1
                broken.append(f"{name}:{line}: {m.group(0)} (no such heading in {page.relative_to(ROOT)})")
    assert checked > 100, f"only {checked} pointers found: the pattern no longer matches how the code cites"
    assert not broken, "pointers to headings that do not exist:\n" + "\n".join(broken)


def test_every_cited_decision_is_a_row_of_the_decision_table(texts):
    table = (DOCS / "decisions.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| ([A-Z]\d+) \|", table, re.M))
    assert {"A1", "A11", "B7", "S1", "L3", "P2", "D5"} <= rows, sorted(rows)
    this_file = Path(__file__).relative_to(ROOT).as_posix()  # its docstring shows the pattern with made-up ids
    cited = [(name, m.group(0), i) for name, text in texts.items() if name != this_file
             for m in DECISION_IDS.finditer(text) for i in decision_ids(m.group(1))]
    assert len(cited) > 50, f"only {len(cited)} decision citations found: the pattern no longer matches"
    unknown = [f"{name}: {quote} ({i})" for name, quote, i in cited if i not in rows]
    assert not unknown, "decisions cited that docs/decisions.md does not list:\n" + "\n".join(unknown)


def test_decision_ids_of_a_citation():
    assert decision_ids("A1/A8/A9") == ["A1", "A8", "A9"]
    assert decision_ids("D2–D5") == ["D2", "D3", "D4", "D5"]
    assert decision_ids("B2, B3 and L1") == ["B2", "B3", "L1"]


def test_heading_anchors_are_myst_slugs():
    """The oracle itself, on a page written here: lowercase, spaces to hyphens, punctuation dropped, duplicates
    numbered, headings below the anchor depth ignored."""
    page = ("# The method\n\n## Per-step order\n\n### The comparator's threshold\n\n## Per-step order\n\n"
            "#### Too deep\n")
    assert heading_anchors(page, 3) == ["the-method", "per-step-order", "the-comparators-threshold",
                                        "per-step-order-1"]
