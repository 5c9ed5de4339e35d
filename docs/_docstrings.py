"""Docstring preprocessing for autodoc: absolute values written as ``|x|`` in plain text.

The package's docstrings write formulas in Unicode plain text (house style), including absolute values such as
``max|w|`` or ``|E(e^{iω})|²``. reStructuredText reads ``|...|`` as a substitution reference and fails
("Undefined substitution referenced"). :func:`escape_bars` escapes those bars in prose only: inline literals
(````...````), interpreted text and roles (``:math:`|x|```), literal blocks (after ``::``) and the bodies of
``math``/``code`` directives keep theirs, where a backslash would be shown or would change the formula.
"""
from __future__ import annotations

import re

#: Inline markup whose content is taken literally or handed to another parser (kept as is).
_PROTECTED = re.compile(r"``.+?``|(?::[\w:.+-]+:)?`[^`]+`(?::[\w:.+-]+:)?_{0,2}")
#: Directives whose body is not prose.
_VERBATIM_DIRECTIVES = re.compile(r"^\s*\.\.\s+(math|code|code-block|sourcecode|literalinclude|parsed-literal|"
                                  r"highlight|raw|csv-table|table)::")
#: Lines that are reStructuredText line blocks or grid/simple table borders (bars are syntax there).
_BAR_SYNTAX = re.compile(r"^\s*(\|\s|\|$|\+[-=+]+\+\s*$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape_line(line: str) -> str:
    if "|" not in line or _BAR_SYNTAX.match(line):
        return line
    out, pos = [], 0
    for m in _PROTECTED.finditer(line):
        out.append(line[pos:m.start()].replace("|", "\\|"))
        out.append(m.group(0))
        pos = m.end()
    rest = line[pos:]
    if "``" in rest or rest.count("`") % 2:  # inline markup continued on the next line: leave the line alone
        return "".join(out) + rest
    out.append(rest.replace("|", "\\|"))
    return "".join(out)


def escape_bars(lines: list[str]) -> list[str]:
    """Return ``lines`` with the bars of plain-text prose escaped (see the module docstring)."""
    result: list[str] = []
    verbatim_indent: int | None = None  # indentation of the line that opened a literal block or directive
    for line in lines:
        if verbatim_indent is not None:
            if not line.strip() or _indent(line) > verbatim_indent:
                result.append(line)
                continue
            verbatim_indent = None
        if _VERBATIM_DIRECTIVES.match(line):
            verbatim_indent = _indent(line)
            result.append(line)
            continue
        escaped = _escape_line(line)
        result.append(escaped)
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            verbatim_indent = _indent(line)  # "text::" or "::": an indented literal block follows
    return result


def process_docstring(app, what, name, obj, options, lines) -> None:
    """autodoc-process-docstring handler: escape in place."""
    lines[:] = escape_bars(lines)
