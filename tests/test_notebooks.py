"""The tutorial notebooks of ``docs/notebooks/`` (MyST-NB text notebooks) run from top to bottom without an error.

Each is read with jupytext and executed with nbclient in a fresh Python kernel that imports this checkout's
package (the documentation build executes them the same way, through MyST-NB); a cell that raises fails the test
with the cell's source and traceback. ``exploring.md`` runs the bundled digits network nine times on the numpy
target (about 20 s).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.md"))


def test_every_notebook_is_in_the_docs_toctree():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert NOTEBOOKS, "no notebook found"
    for path in NOTEBOOKS:
        assert f"\nnotebooks/{path.stem}\n" in index, path.name


@pytest.mark.slow  # ~20 s per notebook (a kernel, the notebook's simulations)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_without_error(path, tmp_path, monkeypatch):
    missing = [m for m in ("jupytext", "nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: pip install -c constraints.txt -e '.[test]'")
    import jupytext
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    # the kernel inherits the environment: this checkout's package, a build cache of this test's own
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    monkeypatch.setenv("LPRNN_BRIAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = jupytext.read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell failed\n{err}")
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figures were drawn
