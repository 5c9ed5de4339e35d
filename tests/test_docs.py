"""The documentation builds without a warning, and its equations come from the sympy declarations.

Oracle for the equations page: ``sympy.latex`` of the declared objects themselves, computed here; the page
must contain them verbatim (it is generated at build time, never typed).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings_from_the_declarations(tmp_path):
    import importlib.util

    import sympy as sp

    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_parser") is None:
        pytest.fail("Sphinx and myst-parser are missing: pip install -e '.[docs]' (the test extra has them)")

    from lprnn_brian.equations import baselines
    from lprnn_brian.equations import sigma_delta as sd

    proc = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-b", "html", "-q", str(DOCS),
                           str(tmp_path / "html")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    page = (DOCS / "_generated" / "equations.md").read_text()
    for x, expr in sd.UPDATE.items():
        assert rf"{sp.latex(x)} &\leftarrow {sp.latex(expr)}" in page
    assert sp.latex(sd.THRESHOLD) in page
    for neuron in baselines.BASELINES.values():
        assert neuron.latex() in page
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("to_snn_spec", "simulate", "emulate", "to_loihi", "run_sweep", "write_nir", "fidelity"):
        assert f'id="lprnn_brian.' in api and f">{name}<" in api, name
    assert (tmp_path / "html" / "_generated" / "equations.html").is_file()
